"""The paper's layer-size rule: fit f(s) = α + β·s^γ to the relative NEAR score of a layer against its width,
and read off s* = t^(1/(γ−1)), the width where the fitted slope has fallen to t × its value at s = 1."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import NearError

DEFAULT_THRESHOLD = 0.005


class FitError(NearError, RuntimeError):
    """The power law could not be fitted, or its fit gives no usable width."""


def power_law(s, alpha: float, beta: float, gamma: float):
    """f(s) = α + β·s^γ, the model of the relative score."""
    return alpha + beta * np.power(s, gamma)


@dataclass(frozen=True)
class PowerLawFit:
    """Fitted α, β, γ and the quality of the fit over all points (the prepended (1, 1) included): R², and
    the RMS residual divided by the range of the relative scores (``nrmse``)."""

    alpha: float
    beta: float
    gamma: float
    r2: float
    nrmse: float


def fit_power_law(widths: Sequence[float], relative_scores: Sequence[float]) -> PowerLawFit:
    """Fit α + β·s^γ to the relative scores with the point (1, 1) prepended, from (1, 2, −1).

    >>> s = np.array([8, 16, 32, 64, 128, 256])
    >>> fit = fit_power_law(s, power_law(s, 0.1, 0.9, -0.5))
    >>> round(fit.gamma, 4), round(fit.alpha, 4)
    (-0.5, 0.1)
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    s = np.asarray(widths, dtype=float)
    r = np.asarray(relative_scores, dtype=float)
    if not np.all(np.isfinite(r)):
        raise FitError("the relative scores contain NaN or infinite values; check the inputs and the initialisation")
    xs, ys = np.r_[1.0, s], np.r_[1.0, r]
    try:
        with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", OptimizeWarning)  # covariance not estimable: we do not use it
            params, _ = curve_fit(power_law, xs, ys, p0=(1.0, 2.0, -1.0), maxfev=10_000)
    except (RuntimeError, ValueError) as error:
        raise FitError(
            f"the power law a + b·s^c did not converge on these relative scores ({error}). Use more "
            "repetitions (less noise) and candidate widths spread over a wider range (e.g. 8 … 1024)"
        ) from None
    alpha, beta, gamma = (float(p) for p in params)
    fitted = power_law(xs, alpha, beta, gamma)
    total = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1 - float(np.sum((ys - fitted) ** 2)) / total if total > 0 else math.nan
    nrmse = float(np.sqrt(np.mean((ys - fitted) ** 2)) / np.ptp(ys)) if np.ptp(ys) > 0 else math.nan
    return PowerLawFit(alpha, beta, gamma, r2, nrmse)


def size_from_fit(gamma: float, threshold: float = DEFAULT_THRESHOLD) -> float:
    """s* = t^(1/(γ−1)): the width where the fitted slope has fallen to ``threshold`` × its value at s = 1.

    >>> round(size_from_fit(-1.0, 0.01), 6)
    10.0
    """
    if not gamma < 1:
        raise FitError(
            f"the fitted exponent γ = {gamma:.3g} is not below 1, so the relative score does not flatten out "
            "with width and no slope threshold is reached; use more repetitions and a wider range of widths"
        )
    return float(threshold ** (1.0 / (gamma - 1.0)))
