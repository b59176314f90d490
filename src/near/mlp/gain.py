"""A width criterion that reflects the data: where the layer's effective rank stops paying for its neurons.

The paper's rule (:func:`near.mlp.sizing.size_from_fit`) extrapolates a power law fitted to the *relative*
score. When that score falls like ``log s`` the fit's γ → 0 and s* → 1/t whatever the data (a threshold of
0.005 gives 200). This module reads the *absolute* score instead — ``A(s)`` = the effective rank of the
layer's ``s × s`` activation matrix, i.e. how many independent directions ``s`` neurons express on ``s``
samples — and measures, between consecutive candidate widths, the **marginal gain**

    g = (A(s₂) − A(s₁)) / (s₂ − s₁)      (effective dimensions gained per neuron added).

While the data has more directions than the layer has neurons, every added neuron adds about as much as the
first ones did (an s × s matrix of i.i.d. Gaussian entries has ``A ≈ 0.80·s``, so g ≈ 0.8 there); once the
layer has captured what the data offers, ``A`` flattens and g falls towards 0. The **half-gain width** is where
g has fallen to ``fraction`` (default ½) of the largest gain measured at narrower widths, interpolated linearly
in ``log s`` between the geometric midpoints of the intervals. It is measured, never extrapolated: when the gain
never falls that far over the candidate widths, the answer is "above the widest candidate" (a lower bound), and
it says so.

How sure: :func:`bootstrap_interval` resamples the repetitions (with replacement) and recomputes a rule, so
both rules get an interval that reflects the noise of the scores they were computed from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_FRACTION = 0.5
INSIDE, ABOVE, BELOW = "inside", "above", "below"


@dataclass(frozen=True)
class GainEstimate:
    """The half-gain width (``size``, exact), where it lies (``status``: inside / above / below the
    candidate widths), the gains per interval and the reference (largest) gain."""

    size: float
    status: str
    midpoints: tuple[float, ...]
    gains: tuple[float, ...]
    reference: float


def marginal_gains(widths: Sequence[int], absolute: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Geometric midpoints of consecutive widths and the gain ``ΔA / Δs`` over each interval.

    >>> mid, g = marginal_gains([8, 16, 32], [6.4, 12.8, 19.2])
    >>> mid.round(2).tolist(), g.round(3).tolist()
    ([11.31, 22.63], [0.8, 0.4])
    """
    s = np.asarray(widths, dtype=float)
    a = np.asarray(absolute, dtype=float)
    return np.sqrt(s[:-1] * s[1:]), np.diff(a) / np.diff(s)


def half_gain_width(
    widths: Sequence[int], absolute: Sequence[float], fraction: float = DEFAULT_FRACTION
) -> GainEstimate:
    """The width where the marginal gain has fallen to ``fraction`` × the largest gain before it.

    >>> s = [8, 16, 32, 64, 128, 256]
    >>> e = half_gain_width(s, [0.8 * w if w <= 32 else 25.6 + 0.1 * (w - 32) for w in s])
    >>> e.status, round(e.size, 1)
    ('inside', 33.6)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    mid, gains = marginal_gains(widths, absolute)
    best = -math.inf
    for i, g in enumerate(gains):
        if best > 0 and g <= fraction * best:
            level, previous = fraction * best, gains[i - 1]
            if i == 0 or previous <= level:  # cannot happen after a larger gain, kept for safety
                return GainEstimate(float(mid[i]), INSIDE, tuple(mid), tuple(gains), best)
            w = (previous - level) / (previous - g)  # linear in log s between the two midpoints
            size = math.exp(math.log(mid[i - 1]) + w * (math.log(mid[i]) - math.log(mid[i - 1])))
            return GainEstimate(size, INSIDE, tuple(mid), tuple(gains), best)
        best = max(best, g)
    status = ABOVE if best > 0 else BELOW
    return GainEstimate(float(widths[-1]) if best > 0 else float(widths[0]), status, tuple(mid), tuple(gains), best)


def bootstrap_interval(
    relative: np.ndarray,
    rule: Callable[[np.ndarray], float],
    *,
    level: float = 0.8,
    draws: int = 200,
    seed: int = 0,
) -> tuple[float, float]:
    """The central ``level`` interval of ``rule(mean of resampled repetitions)`` over ``draws`` resamples.

    ``relative`` is ``(repetitions, widths)``; draws where the rule fails (returns NaN or raises
    ``ValueError``/``RuntimeError``) are left out; ``(nan, nan)`` when fewer than half succeed.
    """
    reps = relative.shape[0]
    if reps < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        sample = relative[rng.integers(0, reps, reps)].mean(axis=0)
        try:
            value = float(rule(sample))
        except (ValueError, RuntimeError, ArithmeticError):
            continue
        if math.isfinite(value):
            values.append(value)
    if len(values) < draws / 2:
        return math.nan, math.nan
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
