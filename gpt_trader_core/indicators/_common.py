"""Shared plumbing of the indicators: input conversion, parameter checks and window kernels.

Every kernel here is causal and *prefix-stable*: the value it produces for position ``i`` is computed
by the same floating-point operations whatever follows ``i``, so appending bars never changes an
earlier output, not even in the last bit.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from gpt_trader_core.errors import InvalidDataError, InvalidParameterError

FloatArray = NDArray[np.float64]

#: Rows per chunk × window length of the temporary 2-D array of ``window_stds`` (512 KiB, cache-sized).
_CHUNK_ELEMENTS = 1 << 16
#: Block length of the vectorised first-order recursion (see ``_linear_recurrence``).
_BLOCK = 256


def as_series(values: ArrayLike, name: str = "values") -> FloatArray:
    """``values`` as a contiguous 1-D float64 array (no copy when it already is one)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{name} must be numeric: {exc}") from None
    if array.ndim != 1:
        raise InvalidDataError(f"{name} must be one-dimensional, got shape {array.shape}")
    # Contiguity makes every window reduction run the same summation order on any input layout.
    return np.ascontiguousarray(array)


def same_length(**arrays: FloatArray) -> int:
    """The common length of ``arrays``; raises ``InvalidDataError`` if they differ."""
    lengths = {name: array.size for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={size}" for name, size in lengths.items())
        raise InvalidDataError(f"{', '.join(lengths)} must have the same length, got {listed}")
    return next(iter(lengths.values()))


def check_period(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer ``>= minimum`` (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_ddof(ddof: object, period: int) -> int:
    """``ddof`` as an ``int`` if it is an integer in ``[0, period - 1]``."""
    if isinstance(ddof, bool) or not isinstance(ddof, int | np.integer) or not 0 <= ddof < period:
        raise InvalidParameterError(f"ddof must be an integer in [0, period - 1] = [0, {period - 1}], got {ddof!r}")
    return int(ddof)


def check_non_negative(name: str, value: object) -> float:
    """``value`` as a ``float`` if it is a finite real number ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
        raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def leading_nans(x: FloatArray) -> int:
    """Number of NaNs before the first number (``len(x)`` if all are NaN)."""
    numbers = np.flatnonzero(~np.isnan(x))
    return int(numbers[0]) if numbers.size else x.size


def nans(n: int) -> FloatArray:
    """A float64 array of ``n`` NaNs."""
    return np.full(n, np.nan, dtype=np.float64)


def window_sums(x: FloatArray, period: int) -> FloatArray:
    """Sum of every full window ``x[i-period+1 : i+1]`` (``len(x) - period + 1`` values, len(x) >= period).

    Each window is summed on its own (numpy pairwise summation), so there is no running-sum drift.
    """
    sums: FloatArray = sliding_window_view(x, period).sum(axis=1)
    return sums


def constant_windows(x: FloatArray, period: int) -> NDArray[np.bool_]:
    """For every full window, whether all its ``period`` values are equal (exact integer counting)."""
    changes = np.zeros(x.size, dtype=np.intp)
    np.cumsum(x[1:] != x[:-1], out=changes[1:])
    flat: NDArray[np.bool_] = changes[period - 1 :] == changes[: x.size - period + 1]
    return flat


def window_means(x: FloatArray, period: int) -> FloatArray:
    """Mean of every full window; a window of equal values gives exactly that value (as pandas does)."""
    means = window_sums(x, period) / period
    flat = constant_windows(x, period)
    means[flat] = x[period - 1 :][flat]
    return means


def window_stds(x: FloatArray, period: int, ddof: int, means: FloatArray) -> FloatArray:
    """Standard deviation of every full window, two-pass: ``sqrt(sum((w - mean)**2) / (period - ddof))``.

    ``means`` are the :func:`window_means` of ``x``; a window of equal values has its value as mean,
    hence a standard deviation of exactly 0. Rows are processed in cache-sized chunks.
    """
    windows = sliding_window_view(x, period)
    count = windows.shape[0]
    out = np.empty(count, dtype=np.float64)
    rows = max(1, _CHUNK_ELEMENTS // period)
    buffer = np.empty((min(rows, count), period), dtype=np.float64)
    for start in range(0, count, rows):
        chunk = windows[start : start + rows]
        deviations = buffer[: chunk.shape[0]]
        np.subtract(chunk, means[start : start + rows, None], out=deviations)
        np.multiply(deviations, deviations, out=deviations)
        deviations.sum(axis=1, out=out[start : start + rows])
    out /= period - ddof
    np.sqrt(out, out=out)
    return out


def window_extremes(x: FloatArray, period: int, *, maximum: bool) -> FloatArray:
    """Max (or min) of every full window in O(n), van Herk / Gil-Werman block prefix-suffix scans."""
    n = x.size
    ufunc = np.maximum if maximum else np.minimum
    blocks = -(-n // period)
    padded = np.full(blocks * period, -np.inf if maximum else np.inf, dtype=np.float64)
    padded[:n] = x
    grid = padded.reshape(blocks, period)
    prefix = ufunc.accumulate(grid, axis=1).ravel()
    suffix = ufunc.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    count = n - period + 1
    result: FloatArray = ufunc(suffix[:count], prefix[period - 1 : period - 1 + count])
    return result


def _linear_recurrence(c: FloatArray, b: float, z0: float) -> FloatArray:
    """``z[k] = b*z[k-1] + c[k]`` with ``z[-1] = z0``, for ``0 < b < 1``, vectorised by blocks.

    Inside a block of length L the recursion is ``z[j] = b**j * cumsum(c[i] * b**-i)[j]`` plus the
    decayed carry ``b**(j+1) * z_end_of_previous_block``; only the carries are chained in Python
    (one step per block). The absolute error stays below ``~eps * max|c| / (1-b)**2``, the same order
    as the plain loop. Blocks are aligned on ``c[0]`` with a fixed length, so the result is prefix-stable.
    """
    m = c.size
    # Keep b**-L far from overflow (b >= 1/3 for every valid period, so L is always _BLOCK).
    length = int(min(_BLOCK, max(1.0, 300.0 / -math.log(b))))
    blocks = -(-m // length)
    exponents = np.arange(length, dtype=np.float64)
    grid = np.zeros(blocks * length, dtype=np.float64)
    grid[:m] = c
    local = grid.reshape(blocks, length)
    local *= np.power(b, -exponents)
    np.cumsum(local, axis=1, out=local)
    local *= np.power(b, exponents)
    ends = local[:, -1].tolist()
    decay = b**length
    carries = [z0]
    for end in ends[:-1]:
        carries.append(end + decay * carries[-1])
    local += np.outer(carries, np.power(b, exponents + 1.0))
    return local.ravel()[:m]


def smooth(x: FloatArray, alpha: float, seed: float, *, centre: float) -> FloatArray:
    """Exponential smoothing ``y[0] = seed``, ``y[k] = y[k-1] + alpha*(x[k] - y[k-1])`` for k >= 1.

    Computed as ``centre + z`` with ``z`` the recursion on ``x - centre``: ``centre = seed`` keeps a
    constant series exactly constant (EMA); ``centre = 0`` keeps non-negative inputs non-negative
    and relatively accurate near zero (Wilder averages of gains, losses, true ranges).
    """
    out = np.empty(x.size, dtype=np.float64)
    if x.size == 0:
        return out
    out[0] = seed
    if alpha == 1.0:
        out[1:] = x[1:]
    elif x.size > 1:
        out[1:] = _linear_recurrence(alpha * (x[1:] - centre), 1.0 - alpha, seed - centre)
        if centre != 0.0:
            out[1:] += centre
    return out
