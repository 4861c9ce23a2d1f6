"""The `gpt-trader` command line run in-process (Cleo's ApplicationTester) on in-memory adapters."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.support import Cli, assert_one_line_error


def test_backtest_table_on_the_synthetic_default(cli: Cli) -> None:
    proc = cli(
        "backtest",
        "--strategy",
        "sma_cross",
        "--symbol",
        "AAPL",
        "--from",
        "2020-01-01",
        "--to",
        "2024-12-31",
        "--param",
        "fast=10",
        "--param",
        "slow=20",
    )
    assert proc.returncode == 0, proc.stderr
    assert "SYNTHETIC DATA" in proc.stdout
    assert "Sharpe ratio" in proc.stdout and "sma_cross(fast=10, slow=20) on AAPL" in proc.stdout  # issue 15: labels
    assert "saved as bt_" in proc.stdout


def test_backtest_json_is_deterministic_and_complete(cli: Cli) -> None:
    args = (
        "backtest",
        "-s",
        "breakout",
        "--symbol",
        "MSFT",
        "--from",
        "2019-01-01",
        "--to",
        "2021-12-31",
        "--format",
        "json",
        "--no-save",
        "--commission",
        "0.001",
    )
    first, second = cli(*args), cli(*args)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["synthetic"] is True and data["symbol"] == "MSFT" and data["id"] is None
    assert data["stats"]["num_trades"] == len(data["trades"]) > 0
    assert data["config"]["commission"] == 0.001
    assert first.stdout == second.stdout


def test_backtest_csv_trades(cli: Cli) -> None:
    proc = cli("backtest", "-s", "momentum", "--symbol", "SPY", "--format", "csv", "--trades", "--no-save")
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.strip().splitlines()
    assert header.startswith("size,entry_time,exit_time") and len(rows) > 0


def test_backtest_on_a_csv_directory(cli: Cli, tmp_path: Path) -> None:
    backtesting_test = pytest.importorskip("backtesting.test")
    data_dir = tmp_path / "csv"
    data_dir.mkdir()
    backtesting_test.GOOG.to_csv(data_dir / "GOOG.csv")
    proc = cli(
        "backtest",
        "-s",
        "sma_cross",
        "--symbol",
        "GOOG",
        "--data-dir",
        str(data_dir),
        "-p",
        "fast=10",
        "-p",
        "slow=20",
        "--commission",
        "0.002",
        "--format",
        "json",
        "--no-save",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["synthetic"] is False and data["stats"]["num_trades"] == 93  # as backtesting.py


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("-s", "nope"), 1, "unknown strategy 'nope'"),
        (
            ("-s", "sma_cross", "-p", "fast=30", "-p", "slow=20"),
            1,
            "fast (30) must be smaller than slow (20)",
        ),
        (("-s", "sma_cross", "-p", "speed=3"), 1, "unknown parameter 'speed'"),
        (("-s", "sma_cross", "-p", "fast"), 1, "--param expects key=value"),
        (("-s", "sma_cross", "--cash=-5"), 1, "cash must be a positive amount"),
        (("-s", "sma_cross", "--from", "2020-13-01"), 1, "is not a date"),
        (("-s", "sma_cross", "--from", "2021-01-01", "--to", "2020-01-01"), 1, "is before --from"),
        (("-s", "sma_cross", "--from", "2024-01-01", "--to", "2024-01-20"), 1, "needs at least 31 bars"),
        (("-s", "sma_cross", "--data-dir", "/nonexistent/dir"), 1, "/nonexistent/dir"),
        (("-s", "sma_cross", "--mode", "sideways"), 1, "mode must be one of"),
        ((), 1, "--strategy is required"),
        (("-s", "sma_cross", "--bogus"), 1, "--bogus"),
    ],
)
def test_bad_input_is_one_clear_line(cli: Cli, args: tuple[str, ...], code: int, message: str) -> None:
    assert_one_line_error(cli("backtest", "--no-save", *args), code, message)


def test_strategies_lists_parameter_specs(cli: Cli) -> None:
    proc = cli("strategies", "--format", "json")
    specs = {s["name"]: s for s in json.loads(proc.stdout)}
    assert {"sma_cross", "momentum", "mean_reversion", "volatility", "breakout"} <= set(specs)
    assert specs["sma_cross"]["params"][0] == {
        "name": "fast",
        "type": "int",
        "default": 10,
        "low": 2,
        "high": 200,
        "step": 5,
        "choices": None,
        "description": "Fast SMA window in bars",
    }
    assert "sma_cross" in cli("strategies").stdout


def test_help_lists_commands(cli: Cli) -> None:
    proc = cli("--help")
    assert proc.returncode == 0
    for name in ("backtest", "strategies", "config show", "cache stats", "serve"):
        assert name in proc.stdout


def test_config_set_get_and_validate(cli: Cli, tmp_path: Path) -> None:
    assert cli("config", "set", "api.port", "9100").returncode == 0
    config = tmp_path / "home" / ".gpt-trader" / "config.yaml"
    assert "port: 9100" in config.read_text()
    assert cli("config", "get", "api.port").stdout.strip() == "9100"
    assert cli("config", "get", "api.port", env={"GPT_TRADER__API__PORT": "9200"}).stdout.strip() == "9200"
    assert cli("config", "get", "api.port", "--set", "api.port=9300").stdout.strip() == "9300"
    assert_one_line_error(cli("config", "set", "api.port", "abc"), 2, "api.port")
    assert_one_line_error(cli("config", "validate", env={"GPT_TRADER__API__PORT": "70000"}), 2, "GPT_TRADER__API__PORT")
    assert "configuration is valid" in cli("config", "validate").stdout
    assert str(config) in cli("config", "path").stdout


def test_config_show_redacts_secrets(cli: Cli) -> None:
    proc = cli("config", "show", env={"GPT_TRADER__API__AUTH__JWT_SECRET": "s3cr3t-value"})
    assert proc.returncode == 0 and "s3cr3t-value" not in proc.stdout and "***" in proc.stdout
    sources = cli("config", "show", "--sources", env={"GPT_TRADER__API__PORT": "9001"}).stdout
    assert "GPT_TRADER__API__PORT" in sources


def test_cache_stats_and_clear(cli: Cli) -> None:
    stats = cli("cache", "stats", "--format", "json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["backend"] == "memory"
    assert "dropped 0 entries" in cli("cache", "clear").stdout


def test_config_show_sources_prints_each_value_with_its_source(cli: Cli) -> None:
    proc = cli("config", "show", "--sources", "--set", "cache.ttl.backtest=60", env={"GPT_TRADER__API__PORT": "9001"})
    lines = {line.split()[0]: line.split() for line in proc.stdout.splitlines()}
    assert lines["api.port"] == ["api.port", "9001", "GPT_TRADER__API__PORT"]
    assert lines["cache.ttl.backtest"] == ["cache.ttl.backtest", "60", "command", "line"]
    assert lines["api.host"] == ["api.host", "127.0.0.1", "default"]
    assert lines["api.cors_origins"] == ["api.cors_origins", '["http://localhost:3000"]', "default"]
    as_json = json.loads(cli("config", "show", "--sources", "--format", "json").stdout)
    assert as_json["backtest.cash"] == {"value": 10000.0, "source": "default"}


def test_config_show_sources_redacts_secrets(cli: Cli) -> None:
    env = {"GPT_TRADER__API__AUTH__JWT_SECRET": "s3cr3t-value"}
    proc = cli("config", "show", "--sources", env=env)
    assert "s3cr3t-value" not in proc.stdout
    assert proc.stdout.split("api.auth.jwt_secret", 1)[1].split()[:2] == ["***", "GPT_TRADER__API__AUTH__JWT_SECRET"]


def test_the_redis_backend_without_the_extra_is_a_configuration_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if the redis extra were not installed
    proc = cli("cache", "stats", "--set", "cache.backend=redis")
    assert_one_line_error(proc, 2, 'pip install "gpt-trader[redis]"')
