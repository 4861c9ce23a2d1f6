"""Backtest SmaCross on real GOOG data (shipped with the `backtesting` package) and on synthetic data.

pip install -e ".[test]" && python examples/backtest_goog.py
"""

from __future__ import annotations

from backtesting.test import GOOG

import gpt_trader_core as gt

result = gt.backtest(GOOG, "sma_cross", fast=10, slow=20, cash=10_000, commission=0.002)
print(result)
print("first trades:")
for trade in result.trades[:3]:
    print(f"  {trade.entry_time:%Y-%m-%d} → {trade.exit_time:%Y-%m-%d}  size {trade.size:+g}  pnl {trade.pnl:,.2f}")

synthetic = gt.synthetic("AAPL", "2015-01-01", "2024-12-31")
for name in gt.strategies():
    stats = gt.backtest(synthetic, name, commission=0.001).stats
    print(f"{name:<15} return {stats['return_pct']:8.2f} %   sharpe {stats['sharpe_ratio']:6.2f}   (SYNTHETIC)")
