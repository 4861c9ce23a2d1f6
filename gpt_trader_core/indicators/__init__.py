"""Technical indicators: pure, causal, vectorised numpy functions.

Conventions shared by every function:

* inputs are 1-D array-likes of finite numbers, converted to float64; outputs are new float64
  arrays of the same length;
* causal: ``output[i]`` depends only on ``inputs[: i + 1]`` — appending bars never changes an earlier
  value, not even in the last bit;
* warm-up values are NaN (each docstring states how many); data shorter than the warm-up gives
  all NaN;
* a period that is not an ``int`` (or numpy integer) >= 1 raises ``InvalidParameterError``; inputs
  that are not 1-D or (for several series) differ in length raise ``InvalidDataError``;
* rolling windows are reduced window by window (no running sums, hence no drift); the recursive
  smoothers (EMA, Wilder) run a blockwise-vectorised form of the recursion that agrees with the
  textbook loop to ~1e-14 relative and keeps a constant input exactly constant.
"""

from gpt_trader_core.indicators.moving import ema, rolling_max, rolling_min, sma
from gpt_trader_core.indicators.oscillators import MACD, Stochastic, macd, rsi, stochastic
from gpt_trader_core.indicators.transforms import first_valid_index, log_returns, returns
from gpt_trader_core.indicators.volatility import Bollinger, atr, bollinger, rolling_std
from gpt_trader_core.indicators.volume import obv

__all__ = [
    "MACD",
    "Bollinger",
    "Stochastic",
    "atr",
    "bollinger",
    "ema",
    "first_valid_index",
    "log_returns",
    "macd",
    "obv",
    "returns",
    "rolling_max",
    "rolling_min",
    "rolling_std",
    "rsi",
    "sma",
    "stochastic",
]
