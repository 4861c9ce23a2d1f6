"""``detect_regime``: label every bar with one of the seven market regimes."""

from __future__ import annotations

from typing import Any

from gpt_trader_core.data.frames import bars_from_frame, is_frame
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.regime.hmm import HMMOptions, detect_hmm
from gpt_trader_core.regime.rules import detect_rules
from gpt_trader_core.regime.values import METHODS, RegimeAnalysis, RegimeThresholds, build_analysis


def _as_bars(data: Any) -> Bars:
    if isinstance(data, Bars):
        return data
    if is_frame(data):
        return bars_from_frame(data, "DATA")
    raise InvalidDataError(
        f"bars must be gt.Bars or a pandas DataFrame with Open/High/Low/Close columns, got {type(data).__name__}"
    )


def detect_regime(
    bars: Bars | Any,
    thresholds: RegimeThresholds | None = None,
    method: str = "rules",
    **hmm_options: Any,
) -> RegimeAnalysis:
    """Detect the market regime of every bar and summarise it.

    ``bars``: ``gt.Bars`` (or a pandas OHLC DataFrame). ``thresholds``: a ``RegimeThresholds`` (default:
    the tuned defaults). ``method``: ``"rules"`` (trend / volatility / drawdown thresholds, see
    ``gpt_trader_core.regime.rules``) or ``"hmm"`` (a Gaussian hidden Markov model fitted walk-forward,
    see ``gpt_trader_core.regime.hmm``; ``hmm_options`` are the fields of ``HMMOptions``, e.g.
    ``n_states=4, refit_every=None``). Causal: the label of bar ``i`` depends on bars ``0..i`` only.

    Needs at least ``trend_window + 1`` bars (``rules``) or ``max(trend_window + 1, min_train)`` (``hmm``).
    Returns a ``RegimeAnalysis``: ``current``, ``confidence``, per-bar ``series``, ``transition_matrix``,
    ``average_durations``, ``changes``.

        >>> analysis = detect_regime(bars)
        >>> analysis.current, analysis.confidence
    """
    data = _as_bars(bars)
    if thresholds is None:
        thresholds = RegimeThresholds()
    elif not isinstance(thresholds, RegimeThresholds):
        raise InvalidParameterError(
            f"thresholds must be a RegimeThresholds (or None for the defaults), got {type(thresholds).__name__}"
        )
    if method not in METHODS:
        raise InvalidParameterError(f"unknown regime method {method!r}; use one of {', '.join(METHODS)}")
    if method == "rules" and hmm_options:
        raise InvalidParameterError(
            f"options {', '.join(sorted(hmm_options))} apply to method='hmm' only; drop them or pass method='hmm'"
        )
    need = thresholds.trend_window + 1
    options = HMMOptions.from_options(hmm_options) if method == "hmm" else None
    if options is not None:
        need = max(need, options.min_train)
    if len(data) < need:
        detail = f"trend_window={thresholds.trend_window}"
        if options is not None and options.min_train >= need:
            detail = f"min_train={options.min_train} (method='hmm')"
        raise InvalidDataError(
            f"detect_regime needs at least {need} bars for {detail}, got {len(data)}; "
            "load a longer history or shorten the window"
        )
    if options is None:
        labels, confidence, _ = detect_rules(data, thresholds)
    else:
        labels, confidence = detect_hmm(data, thresholds, options)
    return build_analysis(data, labels, confidence, method, thresholds)
