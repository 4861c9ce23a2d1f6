"""pandas DataFrames out of domain values (``Bars.to_frame``, ``BacktestResult.to_frame`` ...).

pandas is loaded lazily (``importlib``) only when a caller asks for a DataFrame: the core never imports
it at module level. DataFrames coming IN are read by ``gpt_trader_core.data.frames``, a layer above.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from gpt_trader_core.domain.trading import Trade
from gpt_trader_core.errors import GptTraderError


# The values below are described structurally: ``bars`` and ``results`` import this module (lazily), so
# importing them back would make a cycle.
class _OHLCV(Protocol):
    @property
    def timestamps(self) -> np.ndarray: ...
    @property
    def open(self) -> np.ndarray: ...
    @property
    def high(self) -> np.ndarray: ...
    @property
    def low(self) -> np.ndarray: ...
    @property
    def close(self) -> np.ndarray: ...
    @property
    def volume(self) -> np.ndarray: ...


class _EquityCurve(Protocol):
    @property
    def timestamps(self) -> np.ndarray: ...
    @property
    def equity(self) -> np.ndarray: ...
    @property
    def drawdown(self) -> np.ndarray: ...
    @property
    def position(self) -> np.ndarray: ...


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise GptTraderError("this needs pandas: pip install 'gpt-trader[pandas]'") from None


def bars_to_frame(bars: _OHLCV) -> Any:
    pd = _pandas()
    return pd.DataFrame(
        {"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close, "Volume": bars.volume},
        index=pd.DatetimeIndex(bars.timestamps, name="Time"),
    )


def result_to_frame(result: _EquityCurve) -> Any:
    pd = _pandas()
    return pd.DataFrame(
        {"Equity": result.equity, "DrawdownPct": result.drawdown, "Position": result.position},
        index=pd.DatetimeIndex(result.timestamps, name="Time"),
    )


def trades_to_frame(trades: Sequence[Trade]) -> Any:
    pd = _pandas()
    columns = (
        "size",
        "entry_bar",
        "exit_bar",
        "entry_price",
        "exit_price",
        "pnl",
        "return_pct",
        "commission",
        "entry_time",
        "exit_time",
    )
    frame = pd.DataFrame({c: [getattr(t, c) for t in trades] for c in columns})
    frame["duration"] = frame["exit_time"] - frame["entry_time"]
    frame["exit_reason"] = [t.exit_reason.value for t in trades]
    return frame
