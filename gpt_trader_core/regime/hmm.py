"""A Gaussian hidden Markov model in numpy, and the HMM regime detector built on it.

The model
---------
``K`` hidden states with start probabilities ``pi``, a row-stochastic transition matrix ``A`` and one
Gaussian per state (mean ``mu_k``, full covariance ``Sigma_k``) over ``D``-dimensional observations.

Fitting (Baum-Welch EM), vectorised over time
---------------------------------------------
* Emissions are computed in log space, ``log b_t(k) = log N(x_t; mu_k, Sigma_k)`` (Cholesky), and shifted
  per bar by their maximum (``b_t = exp(log b_t - c_t)``, the largest exactly 1; the ``c_t`` go back into
  the log-likelihood), so no row underflows to all zeros.
* Forward-backward is the scaled recursion in matrix form: with ``M_t = A diag(b_t)``,
  ``alpha_t ∝ alpha_0 M_1 ... M_t`` and ``beta_t ∝ M_{t+1} ... M_{T-1} 1``. The chain is cut into
  ``sqrt(T)`` chunks whose running products advance together (one batched product per position,
  each renormalised to max 1 with its log scale kept); the vector is then carried across chunks and
  applied to every position at once (``_chain``). Only positive numbers are multiplied, so this is as
  accurate as the textbook scaled loop, without a Python loop over the bars.
* E-step: ``gamma_t ∝ alpha_t * beta_t``; ``xi_t(i, j) ∝ alpha_{t-1}(i) A_ij b_t(j) beta_t(j)``, summed
  over t. M-step: ``pi = gamma_0``; ``A_ij = sum_t xi_t(i, j) / sum_j sum_t xi_t(i, j)`` (floored at
  ``1e-8`` and renormalised, so no transition becomes impossible); ``mu_k`` and ``Sigma_k`` are the
  ``gamma``-weighted mean and covariance plus a floor of ``var_floor`` times each feature's overall
  variance on the diagonal (no state collapses onto a point). A state with (almost) no weight keeps
  its previous Gaussian.
* Initialisation is deterministic: given (``init``), or k-means++ seeding with
  ``numpy.random.default_rng(seed)`` and 10 Lloyd iterations on the standardised features, ``A`` 0.95 on
  the diagonal. EM stops when the log-likelihood per observation gains less than ``tol``, or after
  ``max_iter`` iterations.
* ``filter_probabilities``: the *filtered* probabilities ``P(s_t | x_0..x_t)`` - causal given the
  parameters; ``posterior_probabilities``: the smoothed ``P(s_t | x_0..x_{T-1})``.

The regime detector (``detect_regime(bars, method="hmm", **HMMOptions)``)
----------------------------------------------------------------------
* Features (2-D) of bar ``i``: the trailing EWM mean log return with span ``trend_span`` (default 90),
  annualised, and the log of the rules detector's Garman-Klass volatility ``V_i`` (window
  ``thresholds.vol_window``); see ``gpt_trader_core.regime.rules``.
* Initialisation (``init="regimes"``, the default for 7 states): one state per regime, at a prototype
  built from the thresholds - trend ``2 * bull_trend`` (bull), ``1.5 * bear_trend`` (bear), 0 (sideways),
  volatility ``high_vol * 2/3`` (quiet) or ``high_vol * 3/2`` (volatile); crisis at trend
  ``4 * bear_trend`` and volatility ``1.25 * crisis_vol``; diagonal covariances of 0.3 and 0.1 times the
  two features' variances; ``A`` 0.99 on the diagonal. Other state counts use k-means++.
* State → regime mapping, after each fit: every state ``k`` gets its ``gamma``-weighted annualised mean
  log return ``m_k`` and volatility ``v_k = sqrt(P * mean Garman-Klass variance)`` over the training
  bars; ``crisis`` if ``v_k > crisis_vol`` and ``m_k < bear_trend``, else direction ``bull`` if
  ``m_k > bull_trend``, ``bear`` if ``m_k < bear_trend``, else ``sideways``, and ``volatile`` if
  ``v_k > high_vol``, else ``quiet`` - the rules detector's thresholds. Several states may share a regime.
* Label of bar ``i``: the regime with the largest filtered probability (summed over its states);
  ``confidence`` = that probability at the last bar.
* Causality (default ``refit_every=252``): walk-forward. The first fit uses bars ``0..min_train-1``
  (default 504); then a fresh fit every ``refit_every`` bars on all bars before it. The model used for
  bar ``i`` was fitted on bars before ``i``'s block, and the filter runs on bars ``0..i``: the label of
  bar ``i`` depends on bars ``0..i`` only. Bars before ``min_train`` take the rules labels.
  ``refit_every=None`` fits once on all bars (in-sample: the parameters see the whole history, the filter
  does not; 5-10x faster, for research - and accuracy figures from it are optimistic).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.regime.rules import CRISIS, RegimeFeatures, compute_features, detect_rules, ewm_mean
from gpt_trader_core.regime.values import REGIMES, RegimeThresholds

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int8]

_TRANSITION_FLOOR = 1e-8
_LOG_2PI = math.log(2.0 * math.pi)


@attrs.frozen(eq=False)
class GaussianHMM:
    """Fitted parameters of a Gaussian HMM (``K`` states, ``D`` features).

    ``start`` (K,), ``transitions`` (K, K) row-stochastic, ``means`` (K, D), ``covariances`` (K, D, D);
    ``log_likelihood`` of the training data, EM ``iterations`` run and whether EM ``converged``.
    """

    start: FloatArray
    transitions: FloatArray
    means: FloatArray
    covariances: FloatArray
    log_likelihood: float = math.nan
    iterations: int = 0
    converged: bool = False

    @property
    def n_states(self) -> int:
        return int(self.means.shape[0])

    def log_emissions(self, x: FloatArray) -> FloatArray:
        """``log N(x_t; mu_k, Sigma_k)`` for every bar and state, shape (T, K)."""
        return _log_emissions(_as_observations(x), self.means, self.covariances)

    def filter_probabilities(self, x: FloatArray) -> FloatArray:
        """Forward (filtered) probabilities ``P(state_t = k | x_0..x_t)``, shape (T, K); causal."""
        obs = _as_observations(x)
        logb = _log_emissions(obs, self.means, self.covariances)
        return _forward(self.start, self.transitions, logb)[0]

    def posterior_probabilities(self, x: FloatArray) -> FloatArray:
        """Smoothed probabilities ``P(state_t = k | x_0..x_{T-1})`` (uses the future), shape (T, K)."""
        obs = _as_observations(x)
        logb = _log_emissions(obs, self.means, self.covariances)
        return _e_step(self.start, self.transitions, logb)[0]

    def score(self, x: FloatArray) -> float:
        """Log-likelihood of ``x`` under the model."""
        obs = _as_observations(x)
        logb = _log_emissions(obs, self.means, self.covariances)
        return _forward(self.start, self.transitions, logb)[1]


def _as_observations(x: Any) -> FloatArray:
    obs = np.asarray(x, dtype=np.float64)
    if obs.ndim == 1:
        obs = obs[:, None]
    if obs.ndim != 2 or obs.shape[0] == 0:
        raise InvalidDataError(f"HMM observations must be a non-empty (T, D) array, got shape {obs.shape}")
    if not np.isfinite(obs).all():
        raise InvalidDataError("HMM observations must be finite; drop or fill NaN/inf rows first")
    return obs


# -- scaled forward-backward, vectorised over time ------------------------------------------------------


def _chain(mats: FloatArray, vector: FloatArray, *, backward: bool) -> tuple[FloatArray, float]:
    """Every partial product of a chain of (K, K) matrices with a vector, renormalised.

    Forward: ``out[t] ∝ vector @ mats[0] @ ... @ mats[t]``; backward: ``out[t] ∝ mats[t] @ ... @ mats[-1]
    @ vector``. Each row of ``out`` is scaled to sum 1; also returns the log of the sum of the complete
    unscaled product, e.g. ``log(sum(vector @ mats[0] @ ... @ mats[-1]))`` forward.

    Square-root decomposition: the chain is cut into ``ceil(sqrt(T))`` chunks of ``ceil(sqrt(T))``
    matrices. (1) The running matrix products inside all chunks advance together, one batched product
    per position, each renormalised to max 1 with its log scale kept; (2) the vector is carried from
    chunk to chunk through the chunk totals; (3) each position takes its chunk's carried vector in one
    batched vector-matrix product. About ``2 sqrt(T)`` numpy calls for ``T`` matrices - no Python loop
    over the bars - with the classic scaled recursion's accuracy (only positive numbers are multiplied).
    """
    work = mats[::-1] if backward else mats
    count, k, _ = work.shape
    width = math.isqrt(count - 1) + 1  # ceil(sqrt(count))
    chunks = -(-count // width)
    padded = np.empty((chunks * width, k, k))
    padded[:count] = work
    padded[count:] = np.eye(k)
    grid = padded.reshape(chunks, width, k, k)
    scales = np.zeros((chunks, width))
    for j in range(1, width):
        left, right = (grid[:, j], grid[:, j - 1]) if backward else (grid[:, j - 1], grid[:, j])
        product = np.matmul(left, right)
        peak = product.reshape(chunks, -1).max(axis=1)
        peak[peak <= 0.0] = 1.0
        product /= peak[:, None, None]
        grid[:, j] = product
        scales[:, j] = scales[:, j - 1] + np.log(peak)
    carried = np.empty((chunks, k))
    total = float(vector.sum())
    carried[0] = vector / total
    log_total = math.log(total)
    for c in range(1, chunks):
        step = grid[c - 1, -1] @ carried[c - 1] if backward else carried[c - 1] @ grid[c - 1, -1]
        total = float(step.sum())
        carried[c] = step / total
        log_total += math.log(total) + float(scales[c - 1, -1])
    if backward:
        out = np.matmul(grid, carried[:, None, :, None])[..., 0]
    else:
        out = np.matmul(carried[:, None, None, :], grid)[:, :, 0, :]
    flat = out.reshape(chunks * width, k)[:count]
    sums = flat.sum(axis=1)
    last = count - 1 - (chunks - 1) * width
    log_total += math.log(float(sums[-1])) + float(scales[-1, last])
    flat = flat / sums[:, None]
    if backward:
        return flat[::-1], log_total
    return flat, log_total


def _normalised_emissions(logb: FloatArray) -> tuple[FloatArray, FloatArray]:
    shift = logb.max(axis=1)
    return np.exp(logb - shift[:, None]), shift


def _forward(start: FloatArray, trans: FloatArray, logb: FloatArray) -> tuple[FloatArray, float]:
    """Filtered probabilities (T, K) and the log-likelihood."""
    b, shift = _normalised_emissions(logb)
    count, k = b.shape
    alpha0 = start * b[0]
    filtered = np.empty((count, k))
    filtered[0] = alpha0 / alpha0.sum()
    if count == 1:
        return filtered, math.log(float(alpha0.sum())) + float(shift.sum())
    filtered[1:], log_total = _chain(trans[None, :, :] * b[1:, None, :], alpha0, backward=False)
    return filtered, log_total + float(shift.sum())


def _e_step(start: FloatArray, trans: FloatArray, logb: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """Posterior state probabilities ``gamma`` (T, K), summed ``xi`` (K, K) and the log-likelihood."""
    b, _ = _normalised_emissions(logb)
    count, k = b.shape
    filtered, loglik = _forward(start, trans, logb)
    beta = np.ones((count, k))
    xi_sum = np.zeros((k, k))
    if count > 1:
        beta[:-1], _ = _chain(trans[None, :, :] * b[1:, None, :], np.ones(k), backward=True)
        # xi_t(i, j) ∝ f_{t-1}(i) A_ij b_t(j) beta_t(j), normalised per t, summed over t = 1..T-1.
        right = b[1:] * beta[1:]
        norm = np.einsum("ti,ij,tj->t", filtered[:-1], trans, right)
        xi_sum = trans * ((filtered[:-1] / norm[:, None]).T @ right)
    gamma = filtered * beta
    gamma /= gamma.sum(axis=1, keepdims=True)
    return gamma, xi_sum, loglik


def _log_emissions(x: FloatArray, means: FloatArray, covs: FloatArray) -> FloatArray:
    d = x.shape[1]
    chol = np.linalg.cholesky(covs)  # (K, D, D)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    diff = x[None, :, :] - means[:, None, :]  # (K, T, D)
    # Solve L z = diff^T for every state: mahalanobis = |z|^2.
    z = np.linalg.solve(chol, np.transpose(diff, (0, 2, 1)))  # (K, D, T)
    mahal = np.einsum("kdt,kdt->tk", z, z)
    out: FloatArray = -0.5 * (d * _LOG_2PI + logdet[None, :] + mahal)
    return out


# -- EM ------------------------------------------------------------------------------------------------


def _kmeans_init(x: FloatArray, k: int, seed: int) -> NDArray[np.intp]:
    """Cluster labels by k-means++ seeding and 10 Lloyd iterations on standardised ``x``; deterministic."""
    rng = np.random.default_rng(seed)
    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    centres = [z[int(rng.integers(len(z)))]]
    for _ in range(1, k):
        dist = np.min([((z - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = dist.sum()
        pick = int(rng.choice(len(z), p=dist / total)) if total > 0 else int(rng.integers(len(z)))
        centres.append(z[pick])
    centre_array = np.array(centres)
    labels = np.zeros(len(z), dtype=np.intp)
    for _ in range(10):
        labels = ((z[:, None, :] - centre_array[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for j in range(k):
            members = z[labels == j]
            if len(members):
                centre_array[j] = members.mean(axis=0)
    return labels


def _initial_model(x: FloatArray, k: int, seed: int, floor: FloatArray) -> GaussianHMM:
    labels = _kmeans_init(x, k, seed)
    d = x.shape[1]
    means = np.empty((k, d))
    covs = np.empty((k, d, d))
    overall_mean = x.mean(axis=0)
    overall_cov = np.atleast_2d(np.cov(x, rowvar=False)) + np.diag(floor)
    for j in range(k):
        members = x[labels == j]
        if len(members) > d:
            means[j] = members.mean(axis=0)
            covs[j] = np.atleast_2d(np.cov(members, rowvar=False)) + np.diag(floor)
        else:
            means[j] = overall_mean
            covs[j] = overall_cov
    trans = np.full((k, k), 0.05 / max(k - 1, 1))
    np.fill_diagonal(trans, 0.95 if k > 1 else 1.0)
    return GaussianHMM(np.full(k, 1.0 / k), trans, means, covs)


def fit_hmm(
    x: FloatArray | Sequence[Sequence[float]],
    n_states: int = 4,
    *,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-5,
    var_floor: float = 1e-3,
    init: GaussianHMM | None = None,
) -> GaussianHMM:
    """Fit a Gaussian HMM to observations ``x`` (T, D) (or (T,)) by Baum-Welch EM.

    ``n_states`` >= 1; needs at least ``10 * n_states`` observations. ``init`` warm-starts EM from a
    previous model (same ``K`` and ``D``); otherwise the deterministic k-means++ initialisation with
    ``seed``. ``tol``: stop when the log-likelihood per observation gains less. ``var_floor``: added to
    each covariance's diagonal as a fraction of the feature's overall variance.
    """
    obs = _as_observations(x)
    k = _check_int("n_states", n_states, 1)
    max_iter = _check_int("max_iter", max_iter, 1)
    if isinstance(var_floor, bool) or not (
        isinstance(var_floor, int | float) and var_floor > 0 and math.isfinite(var_floor)
    ):
        raise InvalidParameterError(f"var_floor must be a positive number such as 1e-3, got {var_floor!r}")
    count, d = obs.shape
    if count < 10 * k:
        raise InvalidDataError(f"fit_hmm needs at least {10 * k} observations for {k} states, got {count}")
    spread = obs.var(axis=0)
    floor = var_floor * np.where(spread > 0, spread, 1.0)
    if init is not None:
        if init.means.shape != (k, d):
            raise InvalidParameterError(
                f"init has {init.means.shape[0]} states and {init.means.shape[1]} features; expected {k} and {d}"
            )
        model = init
    else:
        model = _initial_model(obs, k, int(seed), floor)
    start, trans, means, covs = (
        model.start.copy(),
        model.transitions.copy(),
        model.means.copy(),
        # A given model may have singular covariances (e.g. prototypes on constant data): floor them too.
        model.covariances + np.diag(floor)[None, :, :] if init is not None else model.covariances.copy(),
    )
    previous = -math.inf
    loglik = -math.inf
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        logb = _log_emissions(obs, means, covs)
        gamma, xi_sum, loglik = _e_step(start, trans, logb)
        # M-step.
        start = np.maximum(gamma[0], _TRANSITION_FLOOR)
        start /= start.sum()
        trans = xi_sum / np.maximum(xi_sum.sum(axis=1, keepdims=True), 1e-300)
        trans = np.maximum(trans, _TRANSITION_FLOOR)
        trans /= trans.sum(axis=1, keepdims=True)
        weight = gamma.sum(axis=0)
        for j in range(k):
            if weight[j] < 1e-6 * count:
                continue
            w = gamma[:, j]
            mean = w @ obs / weight[j]
            diff = obs - mean
            cov = (diff * w[:, None]).T @ diff / weight[j]
            means[j] = mean
            covs[j] = cov + np.diag(floor)
        if loglik - previous < tol * count:
            converged = True
            break
        previous = loglik
    logb = _log_emissions(obs, means, covs)
    _, final = _forward(start, trans, logb)
    return GaussianHMM(start, trans, means, covs, final, iterations, converged)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# -- the regime detector ---------------------------------------------------------------------------------

INITS: tuple[str, ...] = ("regimes", "kmeans")


def _option_int(name: str, minimum: int, *, optional: bool = False) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        _check_int(f"HMM option {name}", value, minimum)

    return check


@attrs.frozen
class HMMOptions:
    """Settings of ``detect_regime(method="hmm", **options)`` (see the module docstring).

    - ``n_states``: hidden states ``K`` (several may map to one regime).
    - ``trend_span``: span in bars of the EWM mean log return, the first feature.
    - ``refit_every``: walk-forward re-fit period in bars; ``None`` fits once on all bars (in-sample).
    - ``min_train``: bars before the first walk-forward fit (they take the rules labels).
    - ``init``: ``"regimes"`` (states start at the seven regime prototypes; needs ``n_states=7``),
      ``"kmeans"`` (k-means++ with ``seed``) or ``None`` (``regimes`` for 7 states, else ``kmeans``).
    - ``max_iter`` / ``tol``: EM iteration cap and stopping tolerance (log-likelihood per bar).
    - ``seed``: seed of the k-means++ initialisation.
    """

    n_states: int = attrs.field(default=7, validator=_option_int("n_states", 1))
    trend_span: int = attrs.field(default=90, validator=_option_int("trend_span", 2))
    refit_every: int | None = attrs.field(default=252, validator=_option_int("refit_every", 1, optional=True))
    min_train: int = attrs.field(default=504, validator=_option_int("min_train", 20))
    init: str | None = None
    max_iter: int = attrs.field(default=100, validator=_option_int("max_iter", 1))
    tol: float = 1e-4
    seed: int = attrs.field(default=0, validator=_option_int("seed", 0))

    def __attrs_post_init__(self) -> None:
        if isinstance(self.tol, bool) or not isinstance(self.tol, int | float) or not self.tol > 0:
            raise InvalidParameterError(f"HMM option tol must be a positive number such as 1e-4, got {self.tol!r}")
        if self.min_train < 10 * self.n_states:
            raise InvalidParameterError(
                f"HMM option min_train ({self.min_train}) must be at least 10 * n_states = {10 * self.n_states}"
            )
        if self.init is not None and self.init not in INITS:
            raise InvalidParameterError(f"HMM option init must be one of {', '.join(INITS)} or None, got {self.init!r}")
        if self.init == "regimes" and self.n_states != len(REGIMES):
            raise InvalidParameterError(
                f"HMM option init='regimes' needs n_states={len(REGIMES)}, got {self.n_states}; use init='kmeans'"
            )

    @property
    def initialisation(self) -> str:
        if self.init is not None:
            return self.init
        return "regimes" if self.n_states == len(REGIMES) else "kmeans"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HMMOptions:
        """``HMMOptions(**options)``, naming the valid options when one is unknown."""
        known = [field.name for field in attrs.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InvalidParameterError(
                f"unknown HMM option {', '.join(map(repr, unknown))}; valid options: {', '.join(known)}"
            )
        return cls(**options)


def hmm_features(features: RegimeFeatures, trend_span: int) -> FloatArray:
    """(T, 2) observations: annualised EWM mean log return (span ``trend_span``) and log volatility."""
    trend = ewm_mean(features.returns, trend_span) * features.periods_per_year
    log_vol = np.log(np.maximum(features.volatility, 1e-6))
    return np.column_stack([trend, log_vol])


def regime_prototypes(x: FloatArray, thresholds: RegimeThresholds) -> GaussianHMM:
    """The ``init="regimes"`` starting model: one state per regime, at the prototype of the module docstring."""
    t = thresholds
    trend = {"bull": 2.0 * t.bull_trend, "bear": 1.5 * t.bear_trend, "sideways": 0.0}
    vol = {"quiet": t.high_vol * 2.0 / 3.0, "volatile": t.high_vol * 1.5}
    means = np.empty((len(REGIMES), 2))
    for i, name in enumerate(REGIMES):
        if name == "crisis":
            means[i] = (4.0 * t.bear_trend, math.log(1.25 * t.crisis_vol))
        else:
            direction, volatility = name.split("_")
            means[i] = (trend[direction], math.log(vol[volatility]))
    spread = np.diag(x.var(axis=0) * np.array([0.3, 0.1]))
    covs = np.repeat(spread[None, :, :], len(REGIMES), axis=0)
    k = len(REGIMES)
    trans = np.full((k, k), 0.01 / (k - 1))
    np.fill_diagonal(trans, 0.99)
    return GaussianHMM(np.full(k, 1.0 / k), trans, means, covs)


def state_regimes(
    model: GaussianHMM, x: FloatArray, features: RegimeFeatures, thresholds: RegimeThresholds
) -> NDArray[np.intp]:
    """The regime index of every state, from its posterior-weighted mean return and volatility on ``x``.

    ``features`` are the rules features of the same bars as ``x`` (their first ``len(x)`` bars are used).
    """
    gamma = model.posterior_probabilities(x)
    weight = np.maximum(gamma.sum(axis=0), 1e-12)
    ppy = features.periods_per_year
    mean_return = gamma.T @ features.returns[: len(x)] / weight * ppy
    volatility = np.sqrt(gamma.T @ features.gk_variance[: len(x)] / weight * ppy)
    t = thresholds
    direction = np.where(mean_return > t.bull_trend, 0, np.where(mean_return < t.bear_trend, 1, 2))
    regimes = direction * 2 + (volatility > t.high_vol)
    crisis = (volatility > t.crisis_vol) & (mean_return < t.bear_trend)
    out: NDArray[np.intp] = np.where(crisis, CRISIS, regimes).astype(np.intp)
    return out


def _regime_probabilities(filtered: FloatArray, mapping: NDArray[np.intp]) -> FloatArray:
    onehot = np.zeros((len(mapping), len(REGIMES)))
    onehot[np.arange(len(mapping)), mapping] = 1.0
    out: FloatArray = filtered @ onehot
    return out


def _fit(x: FloatArray, options: HMMOptions, thresholds: RegimeThresholds) -> GaussianHMM:
    init = regime_prototypes(x, thresholds) if options.initialisation == "regimes" else None
    return fit_hmm(x, options.n_states, seed=options.seed, max_iter=options.max_iter, tol=options.tol, init=init)


def detect_hmm(bars: Bars, thresholds: RegimeThresholds, options: HMMOptions) -> tuple[IntArray, float]:
    """Regime index per bar and the confidence of the last one (see the module docstring)."""
    features = compute_features(bars, thresholds)
    x = hmm_features(features, options.trend_span)
    n = len(bars)
    if options.refit_every is None:
        model = _fit(x, options, thresholds)
        mapping = state_regimes(model, x, features, thresholds)
        probs = _regime_probabilities(model.filter_probabilities(x), mapping)
        return probs.argmax(axis=1).astype(np.int8), float(probs[-1].max())
    labels, confidence, _ = detect_rules(bars, thresholds)
    for start in range(options.min_train, n, options.refit_every):
        model = _fit(x[:start], options, thresholds)
        mapping = state_regimes(model, x[:start], features, thresholds)
        stop = min(start + options.refit_every, n)
        probs = _regime_probabilities(model.filter_probabilities(x[:stop])[start:], mapping)
        labels[start:stop] = probs.argmax(axis=1)
        confidence = float(probs[-1].max())
    return labels, confidence
