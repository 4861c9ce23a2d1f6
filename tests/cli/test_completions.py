"""`gpt-trader completions bash|zsh|fish`: the bash script is sourced into a real bash and asked
what a person's TAB would get; zsh/fish scripts are syntax-checked when those shells exist."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.support import Cli, assert_one_line_error

HARNESS = """
source "$1"
t() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
    _gpt_trader_complete; echo "${COMPREPLY[*]}"
}
"""


@pytest.fixture
def complete(cli: Cli, tmp_path: Path) -> Callable[..., list[str]]:
    proc = cli("completions", "bash")
    assert proc.returncode == 0, proc.stderr
    script = tmp_path / "gpt-trader.bash"
    script.write_text(proc.stdout)

    def tab(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in ("gpt-trader", *words))
        out = subprocess.run(
            ["bash", "-c", HARNESS + f"\nt {quoted}", "harness", str(script)],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.split()

    return tab


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_subcommands_options_and_values(complete: Callable[..., list[str]]) -> None:
    tab = complete
    assert {"backtest", "market", "portfolio", "monitor", "completions"} <= set(tab(""))
    assert tab("ma") == ["market"]
    assert tab("cache", "") == ["clear", "stats"]
    assert tab("portfolio", "") == ["performance", "positions", "rebalance", "risk", "size"]
    assert tab("strategies", "") == ["compare", "recommend"]
    assert tab("cache", "clear", "--k") == ["--kind"]
    assert tab("market", "data", "AAPL", "--la") == ["--last"]
    assert tab("backtest", "--format", "") == ["table", "json", "csv"]
    assert tab("backtest", "-s", "mo") == ["momentum"]
    assert "multi_strategy_ensemble" in tab("workflow", "execute", "")
    assert "--no-interaction" in tab("monitor", "--no")


def test_zsh_and_fish_scripts(cli: Cli, tmp_path: Path) -> None:
    zsh = cli("completions", "zsh").stdout
    assert zsh.startswith("#compdef gpt-trader") and "bashcompinit" in zsh and "_gpt_trader_complete" in zsh
    fish = cli("completions", "fish").stdout
    assert "complete -c gpt-trader -n '__fish_seen_subcommand_from cache; and not" in fish
    assert "-l format -x -a 'table json csv'" in fish
    for shell, text in (("zsh", zsh), ("fish", fish)):
        if shutil.which(shell):
            path = tmp_path / f"script.{shell}"
            path.write_text(text)
            subprocess.run([shell, "-n", str(path)], check=True)


def test_bad_shell(cli: Cli) -> None:
    assert_one_line_error(cli("completions", "powershell"), 1, "shell must be bash, zsh or fish, got 'powershell'")
    assert_one_line_error(cli("completions"), 1, "SHELL is required (bash, zsh or fish)")
