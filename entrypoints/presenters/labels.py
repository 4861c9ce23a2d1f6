"""Human labels with units for the keys of our JSON shapes (``max_drawdown_pct`` → ``Max. drawdown [%]``).

One table for every driver: the CLI's report tables (``entrypoints.cli.render``), the dashboard (served as
``labels.js``, see ``dashboard_labels``) and the HTML reports. JSON, CSV and the Python API keep the keys.
"""

from __future__ import annotations

from typing import Any

#: Labels that the generic rule of ``human_label`` would get wrong or leave unclear.
LABELS = {
    "max_drawdown_pct": "Max. drawdown [%]",
    "avg_drawdown_pct": "Avg. drawdown [%]",
    "max_drawdown_duration": "Max. drawdown duration [days]",
    "avg_drawdown_duration": "Avg. drawdown duration [days]",
    "max_trade_duration": "Max. trade duration [days]",
    "avg_trade_duration": "Avg. trade duration [days]",
    "avg_trade_pct": "Avg. trade [%]",
    "num_trades": "Trades",
    "sharpe_ratio": "Sharpe ratio",
    "sortino_ratio": "Sortino ratio",
    "calmar_ratio": "Calmar ratio",
    "omega_ratio": "Omega ratio",
    "return_ann_pct": "Return (ann.) [%]",
    "volatility_ann_pct": "Volatility (ann.) [%]",
    "cagr_pct": "CAGR [%]",
    "buy_hold_return_pct": "Buy & hold return [%]",
    "equity_final": "Final equity [$]",
    "equity_peak": "Peak equity [$]",
    "commissions": "Commissions [$]",
    "commission": "Commission [$]",
    "sqn": "SQN",
    "pnl": "P&L [$]",
    "return_pct": "Return [%]",
    "entry_price": "Entry price [$]",
    "exit_price": "Exit price [$]",
    "equity": "Equity [$]",
    "unrealized_pnl": "Unrealised P&L [$]",
    "realized_pnl": "Realised P&L [$]",
    "duration": "Duration [days]",
    "var_95_pct": "VaR 95% [%]",
    "cvar_95_pct": "CVaR 95% [%]",
    "var_99_pct": "VaR 99% [%]",
    "cvar_99_pct": "CVaR 99% [%]",
    "rsi_14": "RSI (14)",
    "rsi": "RSI",
    "rsi_zone": "RSI zone",
    "macd_state": "MACD state",
    "plus_di": "+DI",
    "minus_di": "-DI",
    "atr_14": "ATR (14)",
    "obv": "OBV",
    "macd": "MACD",
    "adx": "ADX",
}
#: Key suffix → the unit shown after the label.
UNITS = (("_pct", "[%]"), ("_ms", "[ms]"), ("_mb", "[MiB]"), ("_days", "[days]"), ("_s", "[s]"))


def human_label(key: str) -> str:
    """``max_drawdown_pct`` → ``Max. drawdown [%]``; ``return_pct`` → ``Return [%]``."""
    if key in LABELS:
        return LABELS[key]
    unit = ""
    for suffix, text in UNITS:
        if key.endswith(suffix):
            key, unit = key[: -len(suffix)], f" {text}"
            break
    words = key.replace(".", " · ").replace("_", " ").strip()
    return (words[:1].upper() + words[1:] + unit) if words else key


def dashboard_labels() -> dict[str, Any]:
    """What the dashboard needs to label any key as the CLI does: every known key's label (the table
    plus the backtest statistics) and the unit suffixes for keys it has not seen."""
    from gpt_trader_core.backtesting.stats import STAT_KEYS

    keys = dict.fromkeys((*LABELS, *STAT_KEYS))
    return {"labels": {k: human_label(k) for k in keys}, "units": [list(u) for u in UNITS]}
