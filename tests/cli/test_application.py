"""What the application does for every command: negative numbers as values, help for command groups,
colours (cli.color_output, NO_COLOR, --no-ansi) and the default output format (cli.default_format)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cleo.testers.command_tester import CommandTester

from adapters.state.memory import InMemoryStateStore
from entrypoints.cli.application import GptTraderApplication
from tests.cli.support import Cli, assert_one_line_error, in_memory_graph

ESC = "\x1b["


def test_a_negative_number_is_an_option_value(cli: Cli) -> None:
    # Cleo read "-100" as an unknown option "-1": the command never saw the value.
    assert_one_line_error(cli("backtest", "-s", "sma_cross", "--cash", "-100", "--no-save"), 1, "got -100.0")
    assert_one_line_error(cli("backtest", "-s", "sma_cross", "--cash", "-1e3", "--no-save"), 1, "got -1000.0")


def test_a_negative_number_is_an_argument(cli: Cli) -> None:
    # The value reaches the settings validation, which names the key and the allowed range.
    assert_one_line_error(cli("config", "set", "api.port", "-1"), 2, "api.port: -1 is out of range 1..65535")


def test_a_dash_option_is_still_an_option(cli: Cli) -> None:
    assert_one_line_error(cli("backtest", "-s", "sma_cross", "-x"), 1, 'The option "-x" does not exist')


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (("config", "--help"), ("config show", "config get", "config set", "config validate", "config path")),
        (("help", "config"), ("config show", "config set")),
        (("config",), ("config show", "config set")),
        (("workflow", "--help"), ("workflow list", "workflow execute", "workflow status", "workflow cancel")),
        (("sessions", "--help"), ("sessions list", "sessions show", "sessions stop")),
        (("cache", "--help"), ("cache stats", "cache clear")),
        (("help", "cache"), ("cache stats", "cache clear")),
    ],
)
def test_a_command_group_has_help_listing_its_commands(
    cli: Cli, args: tuple[str, ...], listed: tuple[str, ...]
) -> None:
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "does not exist" not in proc.stdout + proc.stderr
    for name in listed:
        assert name in proc.stdout, proc.stdout


def test_help_of_a_command_and_unknown_commands_are_unchanged(cli: Cli) -> None:
    assert "--sources" in cli("config", "show", "--help").stdout
    assert "--strategy" in cli("help", "backtest").stdout
    assert cli("nope").returncode == 1 and 'The command "nope" does not exist' in cli("nope").stderr


def test_colours_follow_the_terminal_unless_turned_off(cli: Cli) -> None:
    assert ESC in cli("strategies", decorated=True).stdout
    assert ESC not in cli("strategies", "--set", "cli.color_output=false", decorated=True).stdout
    assert ESC not in cli("strategies", env={"GPT_TRADER__CLI__COLOR_OUTPUT": "false"}, decorated=True).stdout
    assert ESC not in cli("strategies", env={"NO_COLOR": "1"}, decorated=True).stdout
    assert ESC not in cli("strategies", "--no-ansi", decorated=True).stdout
    assert ESC in cli("strategies", "--ansi", "--set", "cli.color_output=false", decorated=True).stdout


def test_errors_obey_the_colour_setting_too(cli: Cli) -> None:
    proc = cli("backtest", "--set", "cli.color_output=false", decorated=True)
    assert "--strategy is required" in proc.stderr and ESC not in proc.stderr


def test_the_default_format_comes_from_settings(cli: Cli) -> None:
    specs = json.loads(cli("strategies", "--set", "cli.default_format=json").stdout)
    assert "sma_cross" in {s["name"] for s in specs}
    csv = cli("strategies", env={"GPT_TRADER__CLI__DEFAULT_FORMAT": "csv"}).stdout
    assert csv.startswith("strategy,parameter")
    assert "sma_cross" in cli("strategies", "--set", "cli.default_format=json", "--format", "table").stdout
    # A command without that format keeps its table rather than failing.
    status = cli("status", "--set", "cli.default_format=csv")
    assert status.returncode == 0 and "Components (ok)" in status.stdout, status.stderr


def test_command_tester_runs_one_command_on_the_in_memory_adapters(cli: Cli, store: InMemoryStateStore) -> None:
    # `cli` isolates HOME and the environment; the command itself runs through Cleo's CommandTester.
    application = GptTraderApplication(container_factory=in_memory_graph(store))
    tester = CommandTester(application.find("backtest"))
    assert tester.execute("-s sma_cross --symbol AAPL") == 0
    saved = tester.io.fetch_output().split("saved as ")[1].split()[0]

    async def stored() -> list[str]:
        await store.open()
        return [record.id for record in await store.list_backtests()]

    assert asyncio.run(stored()) == [saved]  # in the in-memory store, not in a SQLite file
    assert not (Path.home() / ".gpt-trader" / "state.db").exists()
