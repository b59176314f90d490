"""near.analysis: the paper's A.6–A.8 and Table 4 analyses on small cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from near import analysis, metrics
from near.errors import InputError

# ---------------------------------------------------------------------------------------------------
# A.6


def test_rank_errors_are_zero_for_a_perfect_proxy_and_signed_otherwise():
    accuracy = np.arange(10.0)
    assert np.allclose(analysis.rank_errors(accuracy * 3 + 1, accuracy), 0)
    scores = accuracy.copy()
    scores[0] = 100  # the worst architecture scored best: rank 9.5/10 against 0.5/10
    errors = analysis.rank_errors(scores, accuracy)
    assert errors[0] == pytest.approx(0.9)
    assert np.allclose(errors[1:], -0.1)  # everyone else moves one place down
    assert errors.sum() == pytest.approx(0)


def test_rank_errors_rank_among_the_scored_only():
    errors = analysis.rank_errors([1.0, math.nan, 3.0], [1.0, 2.0, 3.0])
    assert math.isnan(errors[1])
    assert errors[[0, 2]].tolist() == [0.0, 0.0]


def test_worst_predictions_finds_the_displaced_architectures_first():
    accuracy = np.arange(100.0)
    scores = accuracy.copy()
    scores[[3, 97]] = scores[[97, 3]]  # two swapped far apart
    scores[50], scores[51] = 51, 50  # two swapped neighbours
    worst = analysis.worst_predictions(scores, accuracy, k=4)
    assert set(worst[:2]) == {3, 97}
    assert set(worst[2:]) == {50, 51}
    assert analysis.worst_predictions([1.0, math.nan], [1.0, 2.0], k=5).tolist() == [0]  # NaN never chosen
    with pytest.raises(InputError, match="positive integer"):
        analysis.worst_predictions(scores, accuracy, k=0)


def test_error_pattern_counts_a_bad_network_scored_as_good():
    accuracy = np.arange(100.0)
    size = np.arange(100.0)
    scores = accuracy.copy()
    scores[2] = 1000  # accuracy rank 2 of 100 (bad), scored best
    pattern = analysis.error_pattern(scores, accuracy, size=size, k=1, bad=0.25, good=0.1)
    assert pattern.k == 1 and pattern.scored == 100
    assert pattern.overrated == 1 and pattern.underrated == 0
    assert pattern.bad_rated_good == 1
    assert pattern.worst_in_top == 2.0
    assert pattern.accuracy_percentile == pytest.approx(0.025)
    assert pattern.size_percentile == pytest.approx(0.025)  # size = accuracy here: a small network
    clean = analysis.error_pattern(accuracy, accuracy, k=10)
    assert clean.bad_rated_good == 0 and clean.mean_abs_error == 0 and clean.worst_in_top == 75.0
    assert clean.bad_below == 25.0  # 0–24 are the bottom quarter of 0–99
    assert math.isnan(clean.size_percentile)


def test_error_pattern_sees_that_the_worst_are_large_networks():
    rng = np.random.default_rng(0)
    accuracy = rng.normal(size=400)
    size = rng.permutation(400).astype(float)
    scores = accuracy + np.where(size >= 300, rng.normal(scale=5, size=400), 0)  # errs only on the largest quarter
    pattern = analysis.error_pattern(scores, accuracy, size=size, k=50)
    assert pattern.size_percentile > 0.75
    text = analysis.describe_errors(pattern, "toy", size_name="#params")
    assert "toy's 50 worst predictions" in text and "#params percentile" in text
    assert f"{100 * pattern.size_percentile:.0f}" in text


def test_error_pattern_rejects_bad_fractions_and_sizes():
    with pytest.raises(InputError, match="bad must be a fraction"):
        analysis.error_pattern([1, 2], [1, 2], bad=1.5)
    with pytest.raises(InputError, match="one value per architecture"):
        analysis.error_pattern([1, 2], [1, 2], size=[1, 2, 3])
    with pytest.raises(InputError, match="NaN"):
        analysis.error_pattern([1, 2], [1, math.nan])


def test_describe_errors_says_when_no_bad_network_is_rated_good():
    accuracy = np.arange(40.0)
    text = analysis.describe_errors(analysis.error_pattern(accuracy, accuracy, k=5), "perfect")
    assert "No architecture of the bottom 25 % in accuracy (below 10.00) is in its top 25 %" in text


# ---------------------------------------------------------------------------------------------------
# top-k, sampling


def test_top_k_accuracy_takes_the_highest_scores_and_skips_nan():
    scores = [5.0, math.nan, 4.0, 1.0]
    accuracy = [80.0, 99.0, 90.0, 70.0]
    result = analysis.top_k_accuracy(scores, accuracy, ks=(1, 2, 3, 4))
    assert result[1] == (80.0, 80.0)
    assert result[2] == (90.0, 85.0)
    assert result[3] == (90.0, 80.0)
    assert all(math.isnan(v) for v in result[4])  # only three scored


def test_subsample_spread_of_the_whole_population_is_its_rho():
    rng = np.random.default_rng(1)
    accuracy = rng.normal(size=50)
    scores = accuracy + rng.normal(size=50)
    spread = analysis.subsample_spread(scores, accuracy, 50, draws=3)
    assert np.allclose(spread, metrics.spearman(scores, accuracy))
    smaller = analysis.subsample_spread(scores, accuracy, 20, draws=200, seed=3)
    assert smaller.std() > 0.05
    with pytest.raises(InputError, match="size must be"):
        analysis.subsample_spread(scores, accuracy, 51)


# ---------------------------------------------------------------------------------------------------
# A.7


def test_contribution_matrix_sums_each_position_and_fills_missing_with_zero():
    layers = [
        {"stem.0": 1.0, "stem.1": 2.0, "cells.0.layers.0.op.1": 5.0, "classifier": 3.0},
        {"stem.0": 1.5, "stem.1": 2.5, "classifier": 4.0},  # no layer in cells.0 (e.g. all skip/none)
    ]
    names, matrix = analysis.contribution_matrix(layers, analysis.nb201_position, analysis.NB201_POSITIONS)
    assert names == list(analysis.NB201_POSITIONS) and len(names) == 20
    assert matrix[:, names.index("stem")].tolist() == [3.0, 4.0]
    assert matrix[:, names.index("cells.0")].tolist() == [5.0, 0.0]
    assert matrix.sum(axis=1).tolist() == [11.0, 8.0]  # rows add up to the scores
    free_names, _ = analysis.contribution_matrix(layers)
    assert free_names == ["stem.0", "stem.1", "cells.0.layers.0.op.1", "classifier"]
    with pytest.raises(InputError, match="not among the names"):
        analysis.contribution_matrix(layers, analysis.nb201_position, ["stem"])
    with pytest.raises(InputError, match="not a layer of an NB201"):
        analysis.nb201_position("features.3")


def test_layer_subsets_find_the_one_layer_that_carries_the_signal():
    rng = np.random.default_rng(0)
    n, size = 300, 10
    accuracy = rng.normal(size=n)
    contributions = rng.normal(size=(n, size))  # noise of unit scale ...
    contributions[:, 4] = 10 * accuracy  # ... and one position that is the accuracy, ten times larger
    result = analysis.layer_subset_correlations(contributions, accuracy, subset_size=3, subsets=500, seed=0)
    assert result.alone[4] == pytest.approx(1.0)
    assert np.all(np.abs(np.delete(result.alone, 4)) < 0.2)
    assert result.with_layer[4] > 0.95 and np.nanmax(np.delete(result.with_layer, 4)) < 0.5
    assert result.without_layer[4] < 0.2
    assert result.full > 0.95
    assert result.subsets.shape == (500, 3) and np.all(np.diff(result.subsets, axis=1) > 0)  # distinct positions


def test_layer_subsets_batched_spearman_matches_near_metrics():
    rng = np.random.default_rng(2)
    contributions = rng.normal(size=(40, 6))
    contributions[:, 0] = np.round(contributions[:, 0])  # ties
    accuracy = rng.normal(size=40)
    result = analysis.layer_subset_correlations(contributions, accuracy, subset_size=2, subsets=20, seed=1)
    for subset, rho in zip(result.subsets, result.subset_rho):
        assert rho == pytest.approx(metrics.spearman(contributions[:, subset].sum(axis=1), accuracy))
    for j in range(6):
        assert result.alone[j] == pytest.approx(metrics.spearman(contributions[:, j], accuracy))
        inside = [rho for subset, rho in zip(result.subsets, result.subset_rho) if j in subset]
        assert result.with_layer[j] == pytest.approx(np.mean(inside))


def test_layer_subsets_constant_position_is_undefined_not_an_error():
    contributions = np.column_stack([np.zeros(20), np.arange(20.0), np.arange(20.0) ** 2])
    result = analysis.layer_subset_correlations(contributions, np.arange(20.0), subset_size=1, subsets=30)
    assert math.isnan(result.alone[0]) and result.alone[1] == 1.0
    assert math.isnan(result.with_layer[0])  # its only subsets are itself: constant


def test_layer_subsets_reject_bad_input():
    with pytest.raises(InputError, match="subset_size"):
        analysis.layer_subset_correlations(np.ones((5, 3)), np.arange(5.0), subset_size=3)
    with pytest.raises(InputError, match="rows"):
        analysis.layer_subset_correlations(np.ones((5, 3)), np.arange(4.0))
    with pytest.raises(InputError, match="NaN"):
        analysis.layer_subset_correlations(np.full((5, 3), math.nan), np.arange(5.0))


# ---------------------------------------------------------------------------------------------------
# A.8


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(12, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def test_feature_map_ranks_of_one_channel_are_one(images):
    full, block = analysis.feature_map_ranks(images, 3, 1, 4, repetitions=3)
    assert full.shape == block.shape == (3,)
    assert np.allclose(full, 1) and np.allclose(block, 1)


def test_a_1x1_conv_of_3_channels_has_rank_at_most_4(images):
    """A 1×1 conv maps each 3-channel pixel affinely: every row lies in a 4-dimensional space."""
    full, block = analysis.feature_map_ranks(images, 1, 8, 5, repetitions=4)
    assert np.all(full <= 4 + 1e-9) and np.all(block <= 4 + 1e-9)
    relu_full, _ = analysis.feature_map_ranks(images, 1, 8, 5, repetitions=4, activation="relu")
    assert np.all(relu_full > full)  # the ReLU is not affine: the rank grows


def test_feature_map_ranks_are_reproducible_and_bounded_by_c(images):
    """Repetitions are reproducible from the seed, and the block is at most C×C: erank ≤ C."""
    first = analysis.feature_map_ranks(images, 5, 6, 2, repetitions=3, seed=4)
    again = analysis.feature_map_ranks(images, 5, 6, 2, repetitions=3, seed=4)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert np.all(first[1] <= 6) and np.all(first[0] <= 6)
    with pytest.raises(InputError, match="samples=20"):
        analysis.feature_map_ranks(images, 3, 2, 20)
    with pytest.raises(InputError, match="activation"):
        analysis.feature_map_ranks(images, 3, 2, 2, activation="tanh")


# ---------------------------------------------------------------------------------------------------
# Table 4


def test_average_rank_table_keeps_common_proxies_and_sorts_best_first():
    table = {
        "b1": {"near": 0.9, "meco": 0.8, "zen": 0.1},
        "b2": {"near": 0.5, "meco": 0.7, "zen": math.nan},
        "b3": {"near": 0.6, "meco": 0.4},
    }
    assert analysis.average_rank_table(table) == {"near": 4 / 3, "meco": 5 / 3}
    loose = analysis.average_rank_table(table, common=False)
    assert loose["zen"] == 3.0 and list(loose)[-1] == "zen"
    assert analysis.average_rank_table(table, proxies=["near", "zen"], common=False) == {"near": 1.0, "zen": 2.0}


def test_benchmark_correlations_reads_run_folders(tmp_path):
    for name, sign in (("a", 1), ("b", -1)):
        folder = tmp_path / name
        folder.mkdir()
        lines = ["index,arch_str,accuracy,p,q"] + [f"{i},x{i},{i},{sign * i},{i % 2}" for i in range(6)]
        (folder / "scores.csv").write_text("\n".join(lines) + "\n")
    table = analysis.benchmark_correlations([tmp_path / "a", tmp_path / "b"])
    assert table["a"]["p"] == 1.0 and table["b"]["p"] == -1.0
    assert analysis.average_rank_table(table) == {"p": 1.5, "q": 1.5}
    with pytest.raises(InputError, match="distinct labels"):
        analysis.benchmark_correlations([tmp_path / "a", tmp_path / "b"], labels=["x", "x"])


def test_feature_map_ranks_leave_the_global_rng_alone(images):
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    analysis.feature_map_ranks(images, 3, 4, 2, repetitions=2)
    assert torch.equal(torch.rand(3), expected)
