"""One backtest: a strategy's signals through the engine, then statistics, as a ``BacktestResult``."""

from __future__ import annotations

import functools
from itertools import repeat
from types import MappingProxyType

import numpy as np

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import EXIT_REASONS, Simulation, TradeLog, simulate
from gpt_trader_core.backtesting.stats import compute_stats, monthly_and_yearly_returns
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.domain.results import BacktestResult, deferred
from gpt_trader_core.domain.trading import Position, Trade
from gpt_trader_core.strategy.base import Signals, Strategy, check_signals


def simulate_signals(bars: Bars, signals: Signals, config: BacktestConfig) -> Simulation:
    return simulate(bars.open, bars.high, bars.low, bars.close, signals.target, signals.warmup, config, signals.reentry)


def run_backtest(bars: Bars, strategy: Strategy, config: BacktestConfig) -> BacktestResult:
    """Backtest ``strategy`` on ``bars`` under ``config``."""
    strategy.require_bars(bars)
    signals = check_signals(strategy.signals(bars), len(bars), strategy.name)
    sim = simulate_signals(bars, signals, config)
    return build_result(bars, strategy, config, sim, signals.warmup)


def _trades(bars: Bars, log: TradeLog) -> tuple[Trade, ...]:
    entry_times = bars.timestamps[log.entry_bar].astype("datetime64[us]").tolist()
    exit_times = bars.timestamps[log.exit_bar].astype("datetime64[us]").tolist()
    return tuple(
        map(  # positional, in the order of Trade's fields
            Trade,
            repeat(bars.symbol, len(log)),
            log.size.tolist(),
            log.entry_bar.tolist(),
            log.exit_bar.tolist(),
            entry_times,
            exit_times,
            log.entry_price.tolist(),
            log.exit_price.tolist(),
            log.pnl.tolist(),
            (log.return_pct * 100).tolist(),  # the log's fraction, in percent as every *_pct
            log.commission.tolist(),
            [EXIT_REASONS[code] for code in log.exit_reason.tolist()],
        )
    )


def _exit_reasons(log: TradeLog) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for code in np.unique(log.exit_reason).tolist():
        mask = log.exit_reason == code
        table[EXIT_REASONS[code].value] = {
            "trades": int(mask.sum()),
            "win_rate_pct": float(np.mean(log.pnl[mask] > 0) * 100),
            "pnl": float(log.pnl[mask].sum()),
        }
    return table


def build_result(
    bars: Bars, strategy: Strategy, config: BacktestConfig, sim: Simulation, warmup: int
) -> BacktestResult:
    first_trading_bar = min(warmup, len(bars) - 1)
    stats = compute_stats(bars.timestamps, bars.close, sim.equity, sim.trades, first_trading_bar)
    peak = np.maximum.accumulate(sim.equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, 1 - sim.equity / peak, 0.0)
    open_position = None
    if sim.open_position is not None:
        p = sim.open_position
        open_position = Position(
            bars.symbol, p.size, p.entry_price, p.entry_bar, to_datetime(bars.timestamps[p.entry_bar])
        )
    for array in (sim.equity, drawdown, sim.position):
        array.setflags(write=False)
    log, equity, cash = sim.trades, sim.equity, config.cash
    calendar = functools.cache(lambda: _calendar_returns(bars, equity, cash))  # months and years in one pass
    # What only some callers read is built on first read (see ``deferred``): the Trade objects, the
    # calendar tables, the exit-reason table and the data's hash. Their inputs are read-only or owned
    # by this result, so computing them later gives what computing them now would.
    return BacktestResult(
        strategy=strategy.name,
        params=MappingProxyType(dict(strategy.values)),
        symbol=bars.symbol,
        timeframe=bars.timeframe,
        source=bars.source,
        synthetic=bars.synthetic,
        data_fingerprint=deferred(bars.fingerprint),
        config=config,
        stats=MappingProxyType(stats),
        trades=deferred(lambda: _trades(bars, log)),
        timestamps=bars.timestamps,
        equity=equity,
        drawdown=drawdown,
        position=sim.position,
        open_position=open_position,
        monthly_returns=deferred(lambda: calendar()[0]),
        yearly_returns=deferred(lambda: calendar()[1]),
        exit_reasons=deferred(lambda: MappingProxyType(_exit_reasons(log))),
        rejected_orders=sim.rejected_orders,
    )


def _calendar_returns(
    bars: Bars, equity: np.ndarray, cash: float
) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]:
    monthly, yearly = monthly_and_yearly_returns(bars.timestamps, equity, cash)
    return tuple(monthly), tuple(yearly)
