"""The benchmarks' command lines, on Cleo like every command line of this project.

``parse`` turns ``sys.argv`` into a namespace of typed values; ``--help`` prints the options and exits.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

from cleo.application import Application
from cleo.commands.command import Command
from cleo.helpers import option
from cleo.io.inputs.argv_input import ArgvInput


class Opt(NamedTuple):
    name: str
    kind: Callable[[str], Any] | None  # None: a flag
    default: Any
    help: str
    choices: Sequence[str] = ()
    multiple: bool = False


def parse(name: str, description: str, options: Sequence[Opt], argv: Sequence[str] | None = None) -> SimpleNamespace:
    values: dict[str, Any] = {}

    def handle(self: Command) -> int:
        for opt in options:
            values[opt.name.replace("-", "_")] = _value(opt, self.option(opt.name))
        return 0

    cleo_options = [
        option(o.name, description=o.help, flag=o.kind is None, value_required=o.kind is not None, multiple=o.multiple)
        for o in options
    ]
    bench = type(
        "Bench", (Command,), {"name": name, "description": description, "options": cleo_options, "handle": handle}
    )()
    app = Application(name)
    app.auto_exits(False)
    app.add(bench)
    code = app.run(ArgvInput([sys.argv[0], name, *(sys.argv[1:] if argv is None else argv)]))
    if code or not values:  # a refused option (Cleo said why), or --help
        raise SystemExit(code)
    return SimpleNamespace(**values)


def _value(opt: Opt, raw: Any) -> Any:
    if opt.kind is None:
        return bool(raw)
    if raw is None or raw == []:
        return opt.default
    items = raw if opt.multiple else [raw]
    converted = []
    for item in items:
        if opt.choices and item not in opt.choices:
            raise SystemExit(f"--{opt.name} {item!r}: choose one of {', '.join(opt.choices)}")
        try:
            converted.append(opt.kind(item))
        except ValueError:
            raise SystemExit(f"--{opt.name} {item!r}: expected a {opt.kind.__name__}") from None
    return converted if opt.multiple else converted[0]
