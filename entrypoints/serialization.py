"""The JSON edge shared by the CLI's ``--format json`` and the HTTP/WebSocket API.

One cattrs converter turns domain values into JSON-ready data: datetimes as ISO 8601 strings,
durations as seconds (float), non-finite floats as ``null``, numpy scalars and arrays as numbers
and lists.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import math
import sys
from typing import TYPE_CHECKING, Any

import cattrs

if TYPE_CHECKING:
    from gpt_trader_core.domain.results import BacktestResult


@functools.cache
def json_converter() -> cattrs.Converter:
    """The JSON edge's converter (built once, on first use)."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    converter.register_unstructure_hook(dt.date, dt.date.isoformat)
    converter.register_unstructure_hook(dt.timedelta, dt.timedelta.total_seconds)
    converter.register_unstructure_hook(float, lambda v: float(v) if math.isfinite(v) else None)
    # numpy values exist only once numpy is imported: the hooks look for it then (a command that prints
    # no numbers from numpy never imports it)
    converter.register_unstructure_hook_func(
        lambda t: _numpy_type(t, "generic"), lambda v: converter.unstructure(v.item())
    )
    converter.register_unstructure_hook_func(
        lambda t: _numpy_type(t, "ndarray"), lambda v: [converter.unstructure(x) for x in v.tolist()]
    )
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda v: v.value
    )
    return converter


def _numpy_type(cls: Any, name: str) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(cls, type) and issubclass(cls, getattr(numpy, name))


def _plain(value: Any) -> Any:
    return json_converter().unstructure(value)


def result_to_dict(
    result: BacktestResult, *, trades: bool = True, equity: bool = False, record_id: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record_id,
        "strategy": result.strategy,
        "params": _plain(result.params),
        "symbol": result.symbol,
        "timeframe": result.timeframe,
        "source": result.source,
        "synthetic": result.synthetic,
        "data_fingerprint": result.data_fingerprint,
        "config": _plain(result.config),
        "stats": _plain(result.stats),
        "open_position": _plain(result.open_position),
        "exit_reasons": _plain(result.exit_reasons),
        "monthly_returns": [{"month": m, "return_pct": _plain(r)} for m, r in result.monthly_returns],
        "yearly_returns": [{"year": y, "return_pct": _plain(r)} for y, r in result.yearly_returns],
    }
    if trades:
        data["trades"] = [_plain(t) for t in result.trades]
    if equity:
        import numpy as np

        data["equity"] = {
            "timestamps": np.datetime_as_string(result.timestamps, unit="s").tolist(),
            "equity": _plain(result.equity),
            "drawdown": _plain(result.drawdown),
        }
    return data


def to_plain(value: Any) -> Any:
    return _plain(value)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(_plain(value), indent=indent, allow_nan=False)
