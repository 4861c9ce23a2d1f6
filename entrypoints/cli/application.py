"""The Cleo application: lazily loaded commands, global --config/--set, one-line errors, negative
numbers as values, help for command groups, NO_COLOR."""

from __future__ import annotations

import gc
import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from cleo.application import Application
from cleo.commands.command import Command
from cleo.exceptions import CleoError
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.argv_input import ArgvInput
from cleo.io.inputs.definition import Definition
from cleo.io.inputs.input import Input
from cleo.io.inputs.option import Option
from cleo.io.io import IO
from cleo.io.outputs.output import Output
from cleo.loaders.factory_command_loader import FactoryCommandLoader

from entrypoints.cli.base import AppCommand, ContainerFactory, RemoteFactory
from gpt_trader_core import __version__
from gpt_trader_core.errors import GptTraderError

#: command name → "module:Class", imported only when the command is used (keeps --help fast).
COMMANDS: dict[str, str] = {
    "backtest": "entrypoints.cli.commands.backtest:BacktestCommand",
    "strategies": "entrypoints.cli.commands.strategies.list:StrategiesCommand",
    "config show": "entrypoints.cli.commands.config.show:ConfigShowCommand",
    "config get": "entrypoints.cli.commands.config.get:ConfigGetCommand",
    "config set": "entrypoints.cli.commands.config.set:ConfigSetCommand",
    "config validate": "entrypoints.cli.commands.config.validate:ConfigValidateCommand",
    "config path": "entrypoints.cli.commands.config.path:ConfigPathCommand",
    "cache stats": "entrypoints.cli.commands.cache.stats:CacheStatsCommand",
    "cache clear": "entrypoints.cli.commands.cache.clear:CacheClearCommand",
    "serve": "entrypoints.cli.commands.serve:ServeCommand",
    "status": "entrypoints.cli.commands.status:StatusCommand",
    "optimize": "entrypoints.cli.commands.optimize:OptimizeCommand",
    "run": "entrypoints.cli.commands.run:RunCommand",
    "sessions list": "entrypoints.cli.commands.sessions.list:SessionsListCommand",
    "sessions show": "entrypoints.cli.commands.sessions.show:SessionsShowCommand",
    "sessions stop": "entrypoints.cli.commands.sessions.stop:SessionsStopCommand",
    "workflow list": "entrypoints.cli.commands.workflow.list:WorkflowListCommand",
    "workflow execute": "entrypoints.cli.commands.workflow.execute:WorkflowExecuteCommand",
    "workflow status": "entrypoints.cli.commands.workflow.status:WorkflowStatusCommand",
    "workflow cancel": "entrypoints.cli.commands.workflow.cancel:WorkflowCancelCommand",
    "studies list": "entrypoints.cli.commands.studies.list:StudiesListCommand",
    "studies show": "entrypoints.cli.commands.studies.show:StudiesShowCommand",
    "studies delete": "entrypoints.cli.commands.studies.delete:StudiesDeleteCommand",
    "backtests prune": "entrypoints.cli.commands.backtests.prune:BacktestsPruneCommand",
    # issue 15: the slices without a command until now, and the live monitor
    "market data": "entrypoints.cli.commands.market.data:MarketDataCommand",
    "market regime": "entrypoints.cli.commands.market.regime:MarketRegimeCommand",
    "market analyze": "entrypoints.cli.commands.market.analyze:MarketAnalyzeCommand",
    "strategies recommend": "entrypoints.cli.commands.strategies.recommend:StrategiesRecommendCommand",
    "strategies compare": "entrypoints.cli.commands.strategies.compare:StrategiesCompareCommand",
    "portfolio size": "entrypoints.cli.commands.portfolio.size:PortfolioSizeCommand",
    "portfolio positions": "entrypoints.cli.commands.portfolio.positions:PortfolioPositionsCommand",
    "portfolio performance": "entrypoints.cli.commands.portfolio.performance:PortfolioPerformanceCommand",
    "portfolio risk": "entrypoints.cli.commands.portfolio.risk:PortfolioRiskCommand",
    "portfolio rebalance": "entrypoints.cli.commands.portfolio.rebalance:PortfolioRebalanceCommand",
    "monitor": "entrypoints.cli.commands.monitor.command:MonitorCommand",
    "completions": "entrypoints.cli.completions:CompletionsCommand",
    # auth (issue 13): users and API keys of the HTTP API
    "users add": "entrypoints.cli.commands.users.add:UsersAddCommand",
    "users list": "entrypoints.cli.commands.users.list:UsersListCommand",
    "users remove": "entrypoints.cli.commands.users.remove:UsersRemoveCommand",
    "users passwd": "entrypoints.cli.commands.users.passwd:UsersPasswdCommand",
    "keys create": "entrypoints.cli.commands.keys.create:KeysCreateCommand",
    "keys list": "entrypoints.cli.commands.keys.list:KeysListCommand",
    "keys revoke": "entrypoints.cli.commands.keys.revoke:KeysRevokeCommand",
    # remote (issue 15): log in to a server for --remote
    "login": "entrypoints.cli.commands.login:LoginCommand",
    "logout": "entrypoints.cli.commands.login:LogoutCommand",
}


#: A negative number (``-100``, ``-0.5``, ``-1e-3``): a value, never an option (no option is a digit).
_NEGATIVE_NUMBER = re.compile(r"-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class ArgvWithNegativeNumbers(ArgvInput):
    """Cleo's argv parsing, except that a negative number is a value: ``--cash -100`` gives the option
    ``-100`` and ``config set api.port -1`` the argument ``-1`` (Cleo reads both as unknown options)."""

    @classmethod
    def adopt(cls, source: ArgvInput) -> ArgvWithNegativeNumbers:
        """The same tokens, stream and interactivity (e.g. the ``StringInput`` of Cleo's testers)."""
        adopted = cls([source.script_name or "gpt-trader", *source._tokens])
        if source.stream is not None:
            adopted.set_stream(source.stream)
        adopted._interactive = source._interactive
        return adopted

    def _parse_short_option(self, token: str) -> None:
        if _NEGATIVE_NUMBER.fullmatch(token):
            self._parse_argument(token)
        else:
            super()._parse_short_option(token)

    def _add_long_option(self, name: str, value: Any) -> None:
        takes_a_value = self._definition.has_option(name) and self._definition.option(name).accepts_value()
        if value in ("", None) and takes_a_value and self._parsed and _NEGATIVE_NUMBER.fullmatch(self._parsed[0]):
            value = self._parsed.pop(0)
        super()._add_long_option(name, value)


def _factory(
    target: str, container_factory: ContainerFactory | None, remote_factory: RemoteFactory | None
) -> Callable[[], Command]:
    def create() -> Command:
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
        command: Command = cls(container_factory, remote_factory) if issubclass(cls, AppCommand) else cls()
        return command

    return create


class GptTraderApplication(Application):
    """``container_factory`` builds every command's container (default: the production graph); tests
    pass one that builds the graph on in-memory adapters and run commands in-process. ``remote_factory``
    builds the graph a server answers (``--remote URL``; default: the REST client of ``adapters/remote``)."""

    def __init__(
        self, container_factory: ContainerFactory | None = None, remote_factory: RemoteFactory | None = None
    ) -> None:
        super().__init__("gpt-trader", __version__)
        self.set_command_loader(
            FactoryCommandLoader({name: _factory(t, container_factory, remote_factory) for name, t in COMMANDS.items()})
        )

    @property
    def default_commands(self) -> list[Command]:
        """Cleo's help and list; our ``completions`` (in COMMANDS) replaces Cleo's."""
        return [c for c in super().default_commands if c.name != "completions"]

    def create_io(
        self, input: Input | None = None, output: Output | None = None, error_output: Output | None = None
    ) -> IO:
        if input is None:
            input = ArgvWithNegativeNumbers()
            input.set_stream(sys.stdin)
        elif isinstance(input, ArgvInput) and not isinstance(input, ArgvWithNegativeNumbers):
            input = ArgvWithNegativeNumbers.adopt(input)
        return super().create_io(input, output, error_output)

    def _configure_io(self, io: IO) -> None:
        super()._configure_io(io)
        # https://no-color.org: a non-empty NO_COLOR turns colours off; --ansi still forces them.
        if os.environ.get("NO_COLOR") and not io.input.has_parameter_option("--ansi", True):
            io.decorated(False)

    def _group(self, io: IO) -> str | None:
        """The command group asked about by ``GROUP``, ``GROUP --help`` or ``help GROUP`` (a name that
        only prefixes commands, such as ``config``), else ``None``."""
        if not isinstance(io.input, ArgvInput):
            return None
        probe = ArgvWithNegativeNumbers.adopt(io.input)
        definition = Definition([*self.definition.options, Argument("command", required=False)])
        definition.add_argument(Argument("name", required=False))
        try:
            probe.bind(definition)
        except CleoError:  # a sub-command's own options: not a question about a group
            return None
        command, name = probe.argument("command"), probe.argument("name")
        asked = name if command == "help" else (command if name is None else None)
        if asked is None or self.has(asked):
            return None
        return asked if any(key.startswith(f"{asked} ") for key in COMMANDS) else None

    @property
    def _default_definition(self) -> Definition:
        definition: Definition = super()._default_definition
        definition.add_option(
            Option(
                "--config",
                "-c",
                flag=False,
                requires_value=True,
                description="Config file (YAML or JSON); default ./gpt-trader.yaml, then ~/.gpt-trader/config.yaml",
            )
        )
        definition.add_option(
            Option(
                "--set",
                flag=False,
                requires_value=True,
                is_list=True,
                description="Override a setting for this run, e.g. --set api.port=9000 (repeatable)",
            )
        )
        definition.add_option(
            Option(
                "--remote",
                flag=False,
                requires_value=True,
                description="Run against the gpt-trader server at this URL (e.g. http://127.0.0.1:9000); "
                "log in first with `gpt-trader login URL` or set GPT_TRADER_API_KEY",
            )
        )
        return definition

    def _run(self, io: IO) -> int:
        # `gpt-trader --help` with no command lists the commands (Cleo would describe `list` itself).
        if io.input.has_parameter_option(["--help", "-h"], True) and io.input.first_argument is None:
            io.set_input(ArgvWithNegativeNumbers(["gpt-trader", "list"]))
        # `config`, `config --help`, `help config`: the group's sub-commands (Cleo: "does not exist").
        group = self._group(io)
        if group is not None:
            io.set_input(ArgvWithNegativeNumbers(["gpt-trader", "list", group]))
        try:
            code: int = super()._run(io)
        except KeyboardInterrupt:  # Cleo would report a plain 1
            io.write_error_line("<comment>interrupted</comment>")
            return 130
        return code

    def _run_command(self, command: Command, io: IO) -> int:
        if isinstance(io.input, ArgvInput) and not isinstance(io.input, ArgvWithNegativeNumbers):
            io.set_input(ArgvWithNegativeNumbers.adopt(io.input))  # Cleo rebuilds it for "group verb" names
        try:
            code: int = super()._run_command(command, io)
            return code
        except GptTraderError as error:
            io.write_error_line(f"<error>error:</error> {error}")
            return error.exit_code
        except KeyboardInterrupt:
            io.write_error_line("<comment>interrupted</comment>")
            return 130

    def render_error(self, error: Exception, io: IO) -> None:
        if io.is_very_verbose():
            super().render_error(error, io)
            return
        if isinstance(error, CleoError):  # usage mistakes: the message says it all
            io.write_error_line(f"<error>error:</error> {error}")
            return
        io.write_error_line(f"<error>error:</error> {type(error).__name__}: {error}")
        io.write_error_line("<comment>(run again with -vv for the full traceback)</comment>")


def main() -> int:
    """The console script. What the imports so far created (modules, classes, functions) lives as long as
    the process: ``gc.freeze()`` spares the collector's passes over it, the full ones while a command
    imports its use cases and the one at exit (callgrind: 2-5 % fewer instructions for every command)."""
    gc.freeze()
    code: int = GptTraderApplication().run()
    return code


if __name__ == "__main__":
    sys.exit(main())
