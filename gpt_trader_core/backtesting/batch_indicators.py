"""Many simple moving averages of one series at once, equal bit for bit to ``indicators.sma``.

``sma`` sums every window on its own (numpy's pairwise summation of each window), one scalar step per
value of every window, for each period — a grid needs dozens of periods. numpy's pairwise sum of
``p`` values is a fixed tree: sequential below 8 values; from 8 to 128, eight partial sums (values
``j``, ``j + 8``, ... added in order), combined pairwise, then the remaining ``p % 8`` values added in
order; above 128, the sum of the first ``h`` values plus the sum of the other ``p - h`` (``h`` half of
``p`` rounded down to a multiple of 8). Every step of that tree is one vector operation across all
windows, and the trees of different periods share their beginnings: the partial sums after ``B``
blocks of 8 serve every period from ``8B`` to ``8B + 7``, and a long period is two short sums, the
second one shifted. So each needed length is built once, a few vector operations from the previous
one, and the tests compare every period up to 300 with ``indicators.sma``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: numpy's pairwise-summation block (``PW_BLOCKSIZE``): longer sums are cut in two.
_BLOCK = 128


def _halves(length: int) -> tuple[int, int]:
    half = length // 2
    half -= half % 8
    return half, length - half


def window_sums(x: np.ndarray, periods: Iterable[int]) -> dict[int, np.ndarray]:
    """For each period ``p`` (1 <= p <= len(x)), the ``len(x) - p + 1`` window sums
    ``x[i : i + p].sum()`` exactly as numpy computes them."""
    n = len(x)
    wanted = sorted({p for p in periods if 1 <= p <= n})
    leaves: set[int] = set()

    def need(length: int) -> None:
        if length <= _BLOCK:
            leaves.add(length)
        else:
            for part in _halves(length):
                need(part)

    for p in wanted:
        need(p)
    if not leaves:
        return {}
    # shifted[t] = x[t : t + n] (zeros past the end: only sums of whole windows are kept).
    padded = np.concatenate((np.asarray(x, dtype=np.float64), np.zeros(max(leaves) + 8)))
    step = padded.strides[0]
    shifted = as_strided(padded, shape=(len(padded) - n + 1, n), strides=(step, step), writeable=False)
    sums: dict[int, np.ndarray] = {}
    short = [length for length in leaves if length < 8]
    if short:  # sequential: the sum of p values is the sum of p - 1 values plus one
        total = shifted[0].copy()
        for length in range(1, max(short) + 1):
            if length > 1:
                total = total + shifted[length - 1]
            if length in leaves:
                sums[length] = total
    long = [length for length in leaves if length >= 8]
    if long:
        partial = shifted[0:8].copy()
        for blocks in range(1, max(long) // 8 + 1):
            if blocks > 1:
                partial += shifted[8 * (blocks - 1) : 8 * blocks]
            group = [length for length in long if length // 8 == blocks]
            if not group:
                continue
            r = partial
            total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            for extra in range(max(group) - 8 * blocks + 1):
                if extra:
                    total = total + shifted[8 * blocks + extra - 1]
                if 8 * blocks + extra in leaves:
                    sums[8 * blocks + extra] = total

    def whole(length: int) -> np.ndarray:
        count = n - length + 1
        if length <= _BLOCK:
            return sums[length][:count]
        first, second = _halves(length)
        return whole(first)[:count] + whole(second)[first : first + count]

    return {p: whole(p) for p in wanted}


def sma_many(close: np.ndarray, periods: Iterable[int]) -> dict[int, np.ndarray]:
    """``indicators.sma(close, p)`` for each period (a float64 series, periods >= 1), bit for bit."""
    close = np.asarray(close, dtype=np.float64)
    periods = list(periods)
    out: dict[int, np.ndarray] = {}
    sums = window_sums(close, periods)
    n = len(close)
    # ``constant_windows``' count of changes, once for every period: a window is constant when no
    # value changes inside it.
    changes = np.zeros(n, dtype=np.intp)
    np.cumsum(close[1:] != close[:-1], out=changes[1:])
    for p in periods:
        values = np.full(n, np.nan)
        if p in sums:
            means = np.divide(sums[p], p, out=values[p - 1 :])
            flat = changes[p - 1 :] == changes[: n - p + 1]
            means[flat] = close[p - 1 :][flat]
        out[p] = values
    return out
