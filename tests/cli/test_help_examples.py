"""Every command's help ends with at least two examples, and each example works as written: run
in-process on in-memory adapters (ids such as ``ses_0123456789abcdef`` stand for a real one, which the
test creates and substitutes; ``users passwd|remove NAME`` find NAME added first; a password piped to
``--password-stdin`` is fed on stdin; commands that run until stopped — ``serve``, a live ``run`` or
``monitor``, ``--async`` — are checked to parse, since running them would not end; those that need a
running server, ``login``/``logout``/``--remote``, run against one in ``tests/e2e/test_cli_remote.py``)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from adapters.state.memory import InMemoryStateStore
from entrypoints.cli.application import COMMANDS, ArgvWithNegativeNumbers, GptTraderApplication
from gpt_trader_core.domain.records import Execution
from gpt_trader_core.services.auth import KEY_PREFIX
from tests.cli.support import Cli
from tests.e2e.test_session_data import write_csv

#: the command, after what may pipe into it (``printf '%s\n' "$PASSWORD" | gpt-trader users add …``)
EXAMPLE = re.compile(r"<comment>(?:[^<|]+\| )?(gpt-trader [^<]+)</comment>")
PLACEHOLDERS = {
    "ses_0123456789abcdef": "session",
    "wf_0123456789abcdef": "execution",
    "study_": "study",
    "0123456789ab": "key id",
    "$API_KEY": "key text",
}
PASSWORD = "correct-horse-battery"


def _examples() -> list[tuple[str, str]]:
    app = GptTraderApplication()
    names = list(COMMANDS)
    return [(name, example) for name in names for example in EXAMPLE.findall(app.find(name).help or "")]


def _needs_a_server(args: list[str]) -> bool:
    """``login``/``logout`` and ``--remote`` examples: run as written against a real server by
    ``tests/e2e/test_cli_remote.py::test_remote_help_examples_work_as_written``."""
    return args[0] in ("login", "logout") or "--remote" in args


def _runs_until_stopped(args: list[str]) -> bool:
    if _needs_a_server(args):
        return True
    if args[0] in ("serve",) or "--async" in args:
        return True
    if args[0] == "run" and "replay" not in args:
        return True  # a live synthetic feed (or resuming one) trades until Ctrl-C
    return args[0] == "monitor" and "--once" not in args


def test_every_command_ends_with_two_examples() -> None:
    app = GptTraderApplication()
    for name in COMMANDS:
        last_paragraph = (app.find(name).help or "").rstrip().split("\n\n")[-1]
        assert len(EXAMPLE.findall(last_paragraph)) >= 2, name


def _pending_execution(store: InMemoryStateStore) -> str:
    """A stored execution nobody runs (as after ``--async`` whose process has not started yet)."""

    async def seed() -> None:
        await store.open()
        try:
            await store.add_execution(Execution(id="wf_pendingexample", kind="workflow", name="simple_backtest"))
        finally:
            await store.close()

    asyncio.run(seed())
    return "wf_pendingexample"


def _add_user(cli: Cli, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    proc = cli("users", "add", name, "--password-stdin")
    assert proc.returncode == 0, proc.stderr


def _real_id(cli: Cli, kind: str) -> str:
    if kind in ("key id", "key text"):
        proc = cli("keys", "create", "--name", "example")
        assert proc.returncode == 0, proc.stderr
        key_id = re.search(r"API key ([0-9a-f]+) ", proc.stdout)
        text = [line for line in proc.stdout.splitlines() if line.startswith(KEY_PREFIX)]
        assert key_id and len(text) == 1, proc.stdout
        return key_id.group(1) if kind == "key id" else text[0]
    if kind == "session":
        proc = cli(
            "run", "-s", "sma_cross", "--symbol", "AAPL", "--feed", "replay", "--speed", "0", "--to", "2015-06-30"
        )
        assert proc.returncode == 0, proc.stderr
        return str(json.loads(cli("sessions", "list", "--format", "json").stdout)[0]["id"])
    if kind == "execution":
        proc = cli("workflow", "execute", "simple_backtest", "--format", "json")
        assert proc.returncode == 0, proc.stderr
        return str(json.loads(proc.stdout)["id"])
    proc = cli("optimize", "-s", "sma_cross", "--space", "fast=5:10:5", "--space", "slow=20:30:10", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return str(json.loads(proc.stdout)["study_id"])


@pytest.mark.parametrize(("name", "example"), _examples())
def test_example_works_as_written(
    cli: Cli, store: InMemoryStateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, example: str
) -> None:
    args = shlex.split(example)[1:]
    if _runs_until_stopped(args):
        command = GptTraderApplication().find(name)
        command.merge_application_definition()
        argv = ArgvWithNegativeNumbers(["gpt-trader", name, *args[len(name.split()) :]])
        argv.bind(command.definition)
        argv.validate()
        return
    (tmp_path / "csv").mkdir()
    for i, symbol in enumerate(("GOOG", "AAPL", "MSFT", "SPY")):
        write_csv(tmp_path / "csv", symbol, seed=i)
    for i, arg in enumerate(args):
        for placeholder, kind in PLACEHOLDERS.items():
            if arg.startswith(placeholder):
                cancel = args[:2] == ["workflow", "cancel"]
                args[i] = _pending_execution(store) if cancel else _real_id(cli, kind)
    if args[:2] in (["users", "passwd"], ["users", "remove"]):
        _add_user(cli, monkeypatch, args[2])
    if "--password-stdin" in args:
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    proc = cli(*args)
    assert proc.returncode == 0, f"{example}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
