"""Returns and small helpers on indicator outputs."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gpt_trader_core.indicators._common import FloatArray, as_series, leading_nans, nans


def returns(close: ArrayLike) -> FloatArray:
    """Simple returns ``(close[i] - close[i-1]) / close[i-1]``; ``returns[0]`` is NaN.

    Written as a difference over the previous close (not ``ratio - 1``), which is exact to the last
    bit for small moves; close must be non-zero.
    """
    x = as_series(close, "close")
    out = nans(x.size)
    if x.size > 1:
        np.divide(np.diff(x), x[:-1], out=out[1:])
    return out


def log_returns(close: ArrayLike) -> FloatArray:
    """Log returns ``log(close[i] / close[i-1])``; ``log_returns[0]`` is NaN. Close must be positive.

    Computed as ``log1p((close[i] - close[i-1]) / close[i-1])`` for full precision on small moves.
    """
    out = returns(close)
    np.log1p(out, out=out)
    return out


def first_valid_index(values: ArrayLike) -> int:
    """Index of the first non-NaN value, ``len(values)`` if there is none."""
    return leading_nans(as_series(values))
