"""The regimes of the SYNTHETIC market and the chain that switches between them.

The chain is a semi-Markov chain: each regime lasts ``min_days`` plus a geometric number of trading days
(mean ``mean_days``), then jumps to another regime with the probabilities in ``TRANSITIONS``. Crises are rare,
short and start mostly from volatile regimes; they end in volatile regimes (a rebound or a grind lower).
"""

from __future__ import annotations

import attrs
import numpy as np

from gpt_trader_core.domain.regimes import REGIMES as REGIMES  # a SyntheticMarket.regimes value indexes it
from gpt_trader_core.market_sim._rng import rng_for


@attrs.frozen
class RegimeSpec:
    """How one regime moves prices.

    ``drift`` is the annualised expected arithmetic return and ``vol`` the annualised volatility of daily
    log returns (252 trading days a year); a regime lasts ``min_days`` + Geometric days, ``mean_days`` on
    average.
    """

    name: str
    drift: float
    vol: float
    mean_days: float
    min_days: int


REGIME_SPECS: tuple[RegimeSpec, ...] = (
    RegimeSpec("bull_quiet", drift=0.30, vol=0.10, mean_days=160.0, min_days=40),
    RegimeSpec("bull_volatile", drift=0.55, vol=0.24, mean_days=100.0, min_days=30),
    RegimeSpec("bear_quiet", drift=-0.25, vol=0.11, mean_days=90.0, min_days=30),
    RegimeSpec("bear_volatile", drift=-0.55, vol=0.28, mean_days=75.0, min_days=25),
    RegimeSpec("sideways_quiet", drift=0.0, vol=0.09, mean_days=120.0, min_days=40),
    RegimeSpec("sideways_volatile", drift=0.0, vol=0.22, mean_days=90.0, min_days=30),
    RegimeSpec("crisis", drift=-2.0, vol=0.65, mean_days=25.0, min_days=12),
)

# Jump probabilities between regimes (row: from, column: to; the diagonal is zero: staying is the duration).
#                         bullQ  bullV  bearQ  bearV  sideQ  sideV  crisis
TRANSITIONS = np.array(
    [
        [0.00, 0.26, 0.10, 0.05, 0.40, 0.17, 0.02],  # bull_quiet
        [0.32, 0.00, 0.05, 0.15, 0.13, 0.28, 0.07],  # bull_volatile
        [0.17, 0.05, 0.00, 0.27, 0.31, 0.15, 0.05],  # bear_quiet
        [0.07, 0.17, 0.20, 0.00, 0.08, 0.32, 0.16],  # bear_volatile
        [0.43, 0.10, 0.20, 0.05, 0.00, 0.20, 0.02],  # sideways_quiet
        [0.13, 0.26, 0.10, 0.23, 0.23, 0.00, 0.05],  # sideways_volatile
        [0.00, 0.30, 0.05, 0.35, 0.00, 0.30, 0.00],  # crisis
    ]
)
TRANSITIONS.setflags(write=False)

_CUMULATIVE = np.cumsum(TRANSITIONS, axis=1)
_CUMULATIVE[:, -1] = 1.0
#: The first regime of every path is drawn from these weights (roughly the chain's long-run occupancy).
_INITIAL = np.cumsum([0.30, 0.12, 0.10, 0.07, 0.26, 0.12, 0.03])
_INITIAL[-1] = 1.0
_SEGMENTS_PER_BLOCK = 64

DRIFTS = np.array([spec.drift for spec in REGIME_SPECS])
VOLS = np.array([spec.vol for spec in REGIME_SPECS])


def sample_regimes(n_days: int, *stream: object) -> np.ndarray:
    """The regime index (``int8``) of each of the first ``n_days`` trading days of the stream.

    Segment ``k`` uses draws from block ``k // 64`` only, so a longer request extends a shorter one and
    never changes it.
    """
    out = np.empty(n_days, dtype=np.int8)
    filled = 0
    state = -1
    block = 0
    while filled < n_days:
        draws = rng_for(*stream, "regimes", block).random((_SEGMENTS_PER_BLOCK, 2))
        for u_next, u_length in draws.tolist():
            if state < 0:
                state = int(np.searchsorted(_INITIAL, u_next, side="right"))
            else:
                state = int(np.searchsorted(_CUMULATIVE[state], u_next, side="right"))
            spec = REGIME_SPECS[state]
            extra_mean = spec.mean_days - spec.min_days
            # Geometric number of extra days with mean ``extra_mean`` (inverse CDF of u in [0, 1)).
            extra = int(np.log1p(-u_length) / np.log1p(-1.0 / (extra_mean + 1.0)))
            length = spec.min_days + extra
            out[filled : filled + length] = state
            filled += length
            if filled >= n_days:
                break
        block += 1
    out.setflags(write=False)
    return out
