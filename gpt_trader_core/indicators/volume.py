"""Volume indicators."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gpt_trader_core.indicators._common import FloatArray, as_series, same_length


def obv(close: ArrayLike, volume: ArrayLike) -> FloatArray:
    """On-balance volume: ``obv[0] = 0``; ``obv[i] = obv[i-1] + sign(close[i] - close[i-1]) * volume[i]``.

    No warm-up. A running sum by definition (a sequential cumulative sum, so prefix-stable).
    """
    c, v = as_series(close, "close"), as_series(volume, "volume")
    n = same_length(close=c, volume=v)
    out = np.zeros(n, dtype=np.float64)
    if n > 1:
        np.cumsum(np.sign(np.diff(c)) * v[1:], out=out[1:])
    return out
