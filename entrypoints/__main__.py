"""``python -m entrypoints``: the same Cleo application as ``gpt-trader``.

``python -m entrypoints serve --mode api|websocket|all`` runs the servers; any other command runs
in the terminal (the "cli" mode).
"""

from __future__ import annotations

import sys

from entrypoints.cli.application import main

if __name__ == "__main__":
    sys.exit(main())
