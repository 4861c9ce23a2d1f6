"""The Cleo application: lazily loaded commands, global --config/--set, one-line errors."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from cleo.application import Application
from cleo.commands.command import Command
from cleo.exceptions import CleoError
from cleo.io.inputs.argv_input import ArgvInput
from cleo.io.inputs.definition import Definition
from cleo.io.inputs.option import Option
from cleo.io.io import IO
from cleo.loaders.factory_command_loader import FactoryCommandLoader

from gpt_trader_core import __version__
from gpt_trader_core.errors import GptTraderError

#: command name → "module:Class", imported only when the command is used (keeps --help fast).
COMMANDS: dict[str, str] = {
    "backtest": "entrypoints.cli.commands.backtest:BacktestCommand",
    "strategies": "entrypoints.cli.commands.strategies:StrategiesCommand",
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
    # auth (issue 13): users and API keys of the HTTP API
    "users add": "entrypoints.cli.commands.users.add:UsersAddCommand",
    "users list": "entrypoints.cli.commands.users.list:UsersListCommand",
    "users remove": "entrypoints.cli.commands.users.remove:UsersRemoveCommand",
    "users passwd": "entrypoints.cli.commands.users.passwd:UsersPasswdCommand",
    "keys create": "entrypoints.cli.commands.keys.create:KeysCreateCommand",
    "keys list": "entrypoints.cli.commands.keys.list:KeysListCommand",
    "keys revoke": "entrypoints.cli.commands.keys.revoke:KeysRevokeCommand",
}


def _factory(target: str) -> Callable[[], Command]:
    def create() -> Command:
        module, _, name = target.partition(":")
        command: Command = getattr(importlib.import_module(module), name)()
        return command

    return create


class GptTraderApplication(Application):
    def __init__(self) -> None:
        super().__init__("gpt-trader", __version__)
        self.set_command_loader(FactoryCommandLoader({name: _factory(t) for name, t in COMMANDS.items()}))

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
        return definition

    def _run(self, io: IO) -> int:
        # `gpt-trader --help` with no command lists the commands (Cleo would describe `list` itself).
        if io.input.has_parameter_option(["--help", "-h"], True) and io.input.first_argument is None:
            io.set_input(ArgvInput(["gpt-trader", "list"]))
        try:
            code: int = super()._run(io)
        except KeyboardInterrupt:  # Cleo would report a plain 1
            io.write_error_line("<comment>interrupted</comment>")
            return 130
        return code

    def _run_command(self, command: Command, io: IO) -> int:
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
    code: int = GptTraderApplication().run()
    return code


if __name__ == "__main__":
    sys.exit(main())
