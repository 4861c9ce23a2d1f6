"""State adapters: the ``StateStore`` port (saved backtests, executions) on SQLite or in memory.

``SqliteStateStore.from_url("sqlite:///~/.gpt-trader/state.db")``, then ``await store.open()`` (creates
the file and brings the schema up to date) and ``await store.close()`` at shutdown.
"""

from adapters.state.memory import InMemoryStateStore
from adapters.state.migrations import SCHEMA_VERSION
from adapters.state.sqlite import SqliteStateStore

__all__ = ["SCHEMA_VERSION", "InMemoryStateStore", "SqliteStateStore"]
