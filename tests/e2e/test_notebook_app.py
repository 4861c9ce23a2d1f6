"""``gt.App`` through ``entrypoints.notebook.open_app``: save, list and reload results, even with a
running event loop (as in Jupyter)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gpt_trader_core as gt
from entrypoints.notebook import open_app


def test_run_save_list_and_reload(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with open_app(state__url=f"sqlite:///{db}") as app:
        run = app.backtest("AAPL", "sma_cross", fast=10, slow=30, commission=0.001, start="2018-01-01")
        assert run.record_id and run.result.synthetic
        own = gt.backtest(gt.synthetic("MSFT", "2019-01-01", "2021-12-31"), "breakout")
        saved_id = app.save(own)
        listed = app.results()
        assert {r.id for r in listed} == {run.record_id, saved_id}
        assert app.results(strategy="breakout")[0].id == saved_id
    with open_app(state__url=f"sqlite:///{db}") as app:  # a new process would see the same
        record = app.result(run.record_id)
        assert record.params == {"fast": 10, "slow": 30}
        assert len(record.trades) == len(run.result.trades)
        assert record.stats["sharpe_ratio"] == pytest.approx(run.result.stats["sharpe_ratio"])
        app.delete(saved_id)
        with pytest.raises(gt.GptTraderError):
            app.result(saved_id)


async def test_works_while_an_event_loop_is_running(tmp_path: Path) -> None:
    with open_app(state__url=f"sqlite:///{tmp_path / 's.db'}") as app:
        run = app.backtest("SPY", "momentum", save=False)
        assert run.record_id is None and run.result.stats["num_trades"] >= 0
    with pytest.raises(gt.GptTraderError, match="closed"):
        app.results()


def test_paper_sessions_from_python(tmp_path: Path) -> None:
    import time

    with open_app(state__url=f"sqlite:///{tmp_path / 'p.db'}") as app:
        feed = {"kind": "replay", "timeframe": "1d", "speed": 86_400 * 200.0}
        record = app.start_session("breakout", "SPY", capital=25_000, feed=feed, lookback=15)
        time.sleep(1.0)
        report = app.session(record.id)
        assert report.running and report.session.last_bar > 10 and "return_pct" in report.performance
        assert [s.id for s in app.sessions()] == [record.id]
        stopped = app.stop_session(record.id)
        assert stopped.status.value == "stopped"
