"""The JSON edge shared by the CLI's ``--format json`` and the HTTP/WebSocket API.

One cattrs converter turns domain values into JSON-ready data: datetimes as ISO 8601 strings,
durations as seconds (float), non-finite floats as ``null``, numpy scalars and arrays as numbers
and lists.

``fast_plain`` gives the same data for the values a backtest result is made of (mappings, sequences,
numbers, datetimes, numpy arrays) without the converter's dispatch per value: a 10-year backtest
answer is thousands of values, and converting them one dispatch at a time was a third of the
request. Any other type goes to the converter's own hook for it, so both always agree
(``tests/unit/test_backtest_json.py`` holds them to it).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import math
import sys
from collections.abc import Callable
from types import MappingProxyType
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


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _identity(value: Any) -> Any:
    return value


def _mapping(value: Any) -> dict[Any, Any]:
    return {fast_plain(k): fast_plain(v) for k, v in value.items()}


def _sequence(value: Any) -> list[Any]:
    return [fast_plain(v) for v in value]


def _array(value: Any) -> Any:
    if value.dtype.kind in "iub":
        return value.tolist()
    if value.dtype.kind == "f":
        import numpy as np

        if np.isfinite(value).all():  # the usual case: tolist() already holds what the converter gives
            return value.tolist()
    return _plain(value)  # NaN/inf to null, datetimes, objects: element by element


#: Exact type → conversion (exact, not isinstance: the converter dispatches a subclass on its own).
_FAST: dict[type, Callable[[Any], Any]] = {
    str: _identity,
    int: _identity,
    bool: _identity,
    type(None): _identity,
    float: _finite,
    dict: _mapping,
    MappingProxyType: _mapping,
    list: _sequence,
    tuple: _sequence,
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
    dt.timedelta: dt.timedelta.total_seconds,
}


def _dispatch(cls: type) -> Callable[[Any], Any]:
    """The conversion of values of type ``cls``, found once per type: a numpy array's own; for any other
    type the converter's hook for it (what ``unstructure`` dispatches to, e.g. the function cattrs
    generated for an attrs class: exact by construction, without a dispatch per value)."""
    numpy = sys.modules.get("numpy")
    fn = _array if numpy is not None and cls is numpy.ndarray else json_converter().get_unstructure_hook(cls)
    _FAST[cls] = fn
    return fn


def fast_plain(value: Any) -> Any:
    """``to_plain(value)``, the same data, walking mappings, sequences and numpy arrays itself instead
    of dispatching each element through the converter."""
    fn = _FAST.get(type(value))
    if fn is None:
        fn = _dispatch(type(value))
    return fn(value)


def result_to_dict(
    result: BacktestResult, *, trades: bool = True, equity: bool = False, record_id: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record_id,
        "strategy": result.strategy,
        "params": fast_plain(result.params),
        "symbol": result.symbol,
        "timeframe": result.timeframe,
        "source": result.source,
        "synthetic": result.synthetic,
        "data_fingerprint": result.data_fingerprint,
        "config": _plain(result.config),
        "stats": fast_plain(result.stats),
        "open_position": fast_plain(result.open_position),
        "exit_reasons": fast_plain(result.exit_reasons),
        "monthly_returns": [{"month": m, "return_pct": fast_plain(r)} for m, r in result.monthly_returns],
        "yearly_returns": [{"year": y, "return_pct": fast_plain(r)} for y, r in result.yearly_returns],
    }
    if trades:
        data["trades"] = _sequence(result.trades)
    if equity:
        import numpy as np

        data["equity"] = {
            "timestamps": np.datetime_as_string(result.timestamps, unit="s").tolist(),
            "equity": fast_plain(result.equity),
            "drawdown": fast_plain(result.drawdown),
        }
    return data


def to_plain(value: Any) -> Any:
    return _plain(value)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(_plain(value), indent=indent, allow_nan=False)
