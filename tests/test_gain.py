"""near.mlp.gain: the half-gain width, its status and the bootstrap interval, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from near.mlp.gain import ABOVE, BELOW, INSIDE, bootstrap_interval, half_gain_width, marginal_gains

WIDTHS = [8, 16, 32, 64, 128, 256]


def test_marginal_gains_are_rank_gained_per_neuron_between_geometric_midpoints():
    mid, gains = marginal_gains([8, 32, 128], [4.0, 16.0, 22.0])
    np.testing.assert_allclose(mid, [16.0, 64.0])
    np.testing.assert_allclose(gains, [12 / 24, 6 / 96])


def test_a_rank_that_saturates_at_32_gives_a_width_next_to_32():
    # A(s) = 0.8 s up to 32, then +0.1 per neuron: gains 0.8, 0.8, 0.1 … at midpoints 11.3, 22.6, 45.3.
    # Half of 0.8 is crossed 4/7 of the way from 22.6 to 45.3 in log s: 22.63 · 2^(4/7) = 33.6.
    absolute = [0.8 * w if w <= 32 else 25.6 + 0.1 * (w - 32) for w in WIDTHS]
    estimate = half_gain_width(WIDTHS, absolute)
    assert estimate.status == INSIDE and estimate.reference == pytest.approx(0.8)
    assert estimate.size == pytest.approx(math.sqrt(16 * 32) * 2 ** (4 / 7))


def test_the_width_follows_the_data_not_the_threshold():
    sizes = []
    for knee in (16, 64):
        absolute = [0.8 * w if w <= knee else 0.8 * knee + 0.05 * (w - knee) for w in WIDTHS]
        sizes.append(half_gain_width(WIDTHS, absolute).size)
    assert sizes[0] == pytest.approx(16 * 2 ** (0.4 / 0.75 - 0.5), rel=1e-9) and 60 < sizes[1] < 70


def test_a_rank_still_growing_is_a_lower_bound_and_a_flat_one_an_upper_bound():
    linear = half_gain_width(WIDTHS, [0.8 * w for w in WIDTHS])
    assert linear.status == ABOVE and linear.size == WIDTHS[-1]
    flat = half_gain_width(WIDTHS, [5.0] * len(WIDTHS))
    assert flat.status == BELOW and flat.size == WIDTHS[0]


def test_fraction_must_be_a_proper_fraction():
    with pytest.raises(ValueError, match="fraction"):
        half_gain_width(WIDTHS, WIDTHS, fraction=1.0)


def test_bootstrap_interval_of_identical_repetitions_is_the_value_itself():
    relative = np.tile(np.linspace(1.0, 0.5, len(WIDTHS)), (6, 1))
    low, high = bootstrap_interval(relative, lambda m: float(m.sum()))
    assert low == pytest.approx(relative[0].sum()) and high == pytest.approx(relative[0].sum())
    assert all(math.isnan(v) for v in bootstrap_interval(relative[:1], lambda m: 1.0))


def test_bootstrap_interval_widens_with_noise_and_is_reproducible():
    rng = np.random.default_rng(0)
    relative = 0.5 + rng.normal(0, 0.05, (8, len(WIDTHS)))
    first = bootstrap_interval(relative, lambda m: float(m.mean()), seed=3)
    assert first == bootstrap_interval(relative, lambda m: float(m.mean()), seed=3)
    assert first[0] < relative.mean() < first[1]


def test_failing_draws_are_left_out_and_too_many_give_nan():
    relative = np.ones((4, len(WIDTHS)))

    def fails(m):
        raise RuntimeError("no fit")

    assert all(math.isnan(v) for v in bootstrap_interval(relative, fails))
