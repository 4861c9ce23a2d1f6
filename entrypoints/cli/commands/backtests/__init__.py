"""``gpt-trader backtests …``: saved backtest results."""
