"""Ridge regression in closed form (numpy only), for several targets at once.

With ``n`` training rows, features standardised by their training mean and (population) standard deviation
(``Z = (X - mean) / std``; a constant column keeps ``std = 1``) and the targets' training means ``ybar``::

    coef = (Z'Z / n + alpha * I)^-1  Z'(Y - ybar) / n          prediction = ybar + Z @ coef

``alpha`` is scale-free (the penalty per row, on standardised features): 0 is ordinary least squares, 1
halves an isolated feature's coefficient. The intercept is ``ybar``, the prediction of a model that ignores
the features. Fitting is deterministic (no randomness).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.errors import InvalidDataError, InvalidParameterError

FloatArray = NDArray[np.float64]

_MIN_STD = 1e-12


def readonly(array: Any) -> FloatArray:
    """``array`` as a read-only float64 array (a copy): values that hold arrays stay immutable."""
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@attrs.frozen(eq=False)
class RidgeModel:
    """A fitted multi-target ridge regression: ``predict(X)`` gives one column per target."""

    means: FloatArray = attrs.field(converter=readonly)
    stds: FloatArray = attrs.field(converter=readonly)
    coef: FloatArray = attrs.field(converter=readonly)  # (features, targets)
    intercept: FloatArray = attrs.field(converter=readonly)  # (targets,)
    alpha: float

    def __attrs_post_init__(self) -> None:
        f, t = len(self.means), len(self.intercept)
        if self.stds.shape != (f,) or self.coef.shape != (f, t) or self.means.ndim != 1:
            raise InvalidDataError(
                f"inconsistent ridge model: means {self.means.shape}, stds {self.stds.shape}, "
                f"coef {self.coef.shape}, intercept {self.intercept.shape}"
            )
        for name in ("means", "stds", "coef", "intercept"):
            if not np.isfinite(getattr(self, name)).all():
                raise InvalidDataError(f"ridge model {name} holds NaN or infinite values")

    @property
    def n_features(self) -> int:
        return len(self.means)

    @property
    def n_targets(self) -> int:
        return len(self.intercept)

    def standardise(self, x: FloatArray) -> FloatArray:
        z: FloatArray = (np.asarray(x, dtype=np.float64) - self.means) / self.stds
        return z

    def predict(self, x: FloatArray) -> FloatArray:
        """Predictions ``(rows, targets)`` for feature rows ``x`` ``(rows, features)``."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.n_features:
            raise InvalidDataError(f"the model expects {self.n_features} features per row, got {x.shape[1]}")
        out: FloatArray = self.intercept + self.standardise(x) @ self.coef
        return out

    def to_payload(self) -> dict[str, Any]:
        """JSON-like parameters: lists of floats."""
        return {
            "alpha": float(self.alpha),
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> RidgeModel:
        try:
            return cls(
                means=np.asarray(data["means"], dtype=np.float64),
                stds=np.asarray(data["stds"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64).reshape(len(data["means"]), len(data["intercept"])),
                intercept=np.asarray(data["intercept"], dtype=np.float64),
                alpha=float(data["alpha"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDataError(f"broken ridge model payload: {type(exc).__name__}: {exc}") from None


def check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha) or alpha < 0:
        raise InvalidParameterError(f"alpha (ridge penalty) must be a number >= 0 such as 1.0, got {alpha!r}")
    return float(alpha)


def fit_ridge(x: FloatArray, y: FloatArray, alpha: float = 1.0) -> RidgeModel:
    """Fit ``y`` ``(rows, targets)`` on ``x`` ``(rows, features)``; see the module docstring."""
    return fit_ridge_path(x, y, (alpha,))[0]


def fit_ridge_path(x: FloatArray, y: FloatArray, alphas: Sequence[float]) -> list[RidgeModel]:
    """One fit per penalty in ``alphas`` on the same data (the standardisation and Gram matrix are shared)."""
    checked = [check_alpha(alpha) for alpha in alphas]
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise InvalidDataError(f"ridge needs matching non-empty rows, got x {x.shape} and y {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidDataError("ridge training data holds NaN or infinite values")
    n, f = x.shape
    means = x.mean(axis=0)
    stds = x.std(axis=0)
    stds = np.where(stds > _MIN_STD, stds, 1.0)
    z = (x - means) / stds
    ybar = y.mean(axis=0)
    gram = z.T @ z / n
    rhs = z.T @ (y - ybar) / n
    models = []
    for alpha in checked:
        try:
            coef = np.linalg.solve(gram + alpha * np.eye(f), rhs)
        except np.linalg.LinAlgError:  # alpha == 0 with collinear features
            coef = np.linalg.lstsq(gram + alpha * np.eye(f), rhs, rcond=None)[0]
        models.append(RidgeModel(means=means, stds=stds, coef=coef, intercept=ybar, alpha=alpha))
    return models
