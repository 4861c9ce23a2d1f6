"""A backtest's trades, calendar tables, exit reasons and data fingerprint are built on first read
(``deferred``): what a reader gets must be what computing them eagerly gives, once, and a result
must still pickle and build from plain values."""

from __future__ import annotations

import datetime as dt
import pickle
from types import MappingProxyType

import attrs
import cattrs
import numpy as np
import pytest

import gpt_trader_core as gt
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import EXIT_REASONS
from gpt_trader_core.backtesting.stats import monthly_and_yearly_returns
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.results import BacktestResult, Deferred, deferred
from gpt_trader_core.domain.trading import Trade
from tests.conftest import make_bars


def _bars() -> Bars:
    rng = np.random.default_rng(7)
    return make_bars(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 700))), symbol="RND")


def test_deferred_fields_equal_their_eager_definitions() -> None:
    bars = _bars()
    res = gt.backtest(bars, "sma_cross", fast=5, slow=20, commission=0.002, stop_loss=0.03)
    assert res.data_fingerprint == bars.fingerprint()
    monthly, yearly = monthly_and_yearly_returns(bars.timestamps, res.equity, 10_000.0)
    assert res.monthly_returns == tuple(monthly) and res.yearly_returns == tuple(yearly)
    assert res.yearly_returns[0][0] == "2020" and len(res.monthly_returns) == 23
    trades = res.trades
    assert isinstance(trades, tuple) and len(trades) == res.stats["num_trades"] > 5
    assert {t.exit_reason for t in trades} == {EXIT_REASONS[0], EXIT_REASONS[1]}  # signal and stop-loss
    for t in trades:
        assert isinstance(t, Trade) and t.symbol == "RND"
        assert t.entry_time == bars.start + dt.timedelta(days=t.entry_bar)
        assert t.exit_time == bars.start + dt.timedelta(days=t.exit_bar)
        pnl = t.size * (t.exit_price - t.entry_price) - t.commission
        assert t.pnl == pytest.approx(pnl, rel=1e-12)
    assert sum(t.pnl for t in trades) == pytest.approx(sum(v["pnl"] for v in res.exit_reasons.values()), rel=1e-12)
    counts = {reason: sum(t.exit_reason.value == reason for t in trades) for reason in res.exit_reasons}
    assert counts == {reason: v["trades"] for reason, v in res.exit_reasons.items()}
    assert isinstance(res.exit_reasons, MappingProxyType)


def test_each_deferred_field_is_computed_once_and_kept() -> None:
    res = gt.backtest(_bars(), "momentum", lookback=10)
    assert res.trades is res.trades and res.monthly_returns is res.monthly_returns
    assert res.exit_reasons is res.exit_reasons and res.data_fingerprint is res.data_fingerprint
    calls = []

    def fingerprint() -> str:
        calls.append(1)
        return "abc"

    lazy = _rebuilt(res, data_fingerprint=deferred(fingerprint))
    assert calls == []
    assert lazy.data_fingerprint == "abc" and lazy.data_fingerprint == "abc"
    assert calls == [1]


def _rebuilt(res: BacktestResult, **changes: object) -> BacktestResult:
    values = {name: getattr(res, name) for name in _NAMES}
    values.update(changes)
    return BacktestResult(**values)  # type: ignore[arg-type]


_NAMES = [a.name for a in attrs.fields(BacktestResult)]


def test_plain_values_still_build_a_result_and_pickling_carries_the_computed_ones() -> None:
    res = gt.backtest(_bars(), "sma_cross", fast=5, slow=20, cash=5_000)
    plain = _rebuilt(res, trades=tuple(res.trades), exit_reasons={"signal": {"trades": 1.0}})
    assert plain.trades == res.trades and plain.exit_reasons == {"signal": {"trades": 1.0}}
    fresh = gt.backtest(_bars(), "sma_cross", fast=5, slow=20, cash=5_000)  # nothing read yet
    back = pickle.loads(pickle.dumps(fresh))
    assert back.trades == res.trades and back.monthly_returns == res.monthly_returns
    assert back.yearly_returns == res.yearly_returns and dict(back.exit_reasons) == dict(res.exit_reasons)
    assert back.data_fingerprint == res.data_fingerprint and back.stats["sharpe_ratio"] == res.stats["sharpe_ratio"]
    assert isinstance(back.exit_reasons, MappingProxyType) and isinstance(back.trades, tuple)


def test_a_result_does_not_change_when_read_late() -> None:
    """Deferred values read after other runs on the same bars (and after reading ``stats``) are those
    of their own run."""
    bars = _bars()
    first = gt.backtest(bars, "sma_cross", fast=5, slow=20, close_at_end=True)
    eager = gt.backtest(bars, "sma_cross", fast=5, slow=20, close_at_end=True)
    eager_trades, eager_months = eager.trades, eager.monthly_returns
    for fast in (3, 4, 6):
        gt.backtest(bars, "sma_cross", fast=fast, slow=20, close_at_end=True).trades  # noqa: B018
    assert first.trades == eager_trades and first.monthly_returns == eager_months
    assert first.trades[-1].exit_reason.value == "end_of_data"
    assert isinstance(first.config, BacktestConfig)


def test_generic_readers_never_see_a_deferred_value() -> None:
    """attrs.asdict/evolve and cattrs (the JSON edge) read fields by name: they get the values."""
    res = gt.backtest(_bars(), "sma_cross", fast=5, slow=20)
    plain = attrs.asdict(res, recurse=False)
    assert not any(isinstance(v, Deferred) for v in plain.values())
    assert plain["trades"] == res.trades and plain["data_fingerprint"] == res.data_fingerprint
    fresh = gt.backtest(_bars(), "sma_cross", fast=5, slow=20)
    copy = attrs.evolve(fresh, symbol="OTHER")
    assert copy.symbol == "OTHER" and copy.trades == res.trades and type(copy.exit_reasons) is MappingProxyType
    unstructured = cattrs.Converter().unstructure(gt.backtest(_bars(), "sma_cross", fast=5, slow=20))
    assert list(unstructured["yearly_returns"]) == list(res.yearly_returns)
    assert len(unstructured["trades"]) == len(res.trades) and "_trades" not in unstructured
