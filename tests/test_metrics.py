"""near.metrics: hand-computed cases, brute-force cross-checks, NaN/tie conventions, bad input."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
from scipy import stats

from near import metrics
from near.errors import InputError
from near.metrics import (
    average_ranks,
    correlations,
    kendall,
    pairwise_order,
    performance_profile,
    performance_ratios,
    proxy_correlation_matrix,
    spearman,
    top_k_precision,
)

ACC = [10.0, 20.0, 30.0, 40.0]


@pytest.fixture(autouse=True)
def _no_warnings():
    """Undefined correlations must come back as NaN quietly, without SciPy's warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def brute_pairwise(scores, accuracies) -> float:
    """The definition, literally: all pairs with different accuracy; agree = 1, score tie = ½."""
    agree, total = 0.0, 0
    n = len(scores)
    for i in range(n):
        for j in range(i + 1, n):
            da = int(accuracies[i] > accuracies[j]) - int(accuracies[i] < accuracies[j])  # sign, also for inf
            if da == 0:
                continue
            total += 1
            ds = int(scores[i] > scores[j]) - int(scores[i] < scores[j])
            agree += 1.0 if ds == da else 0.5 if ds == 0 else 0.0
    return agree / total if total else math.nan


# --- perfect, reversed, a 4-element case by hand -------------------------------------------------


def test_perfect_order_gives_one_everywhere():
    scores = [0.1, 0.2, 0.5, 0.9]
    assert kendall(scores, ACC) == 1.0
    assert spearman(scores, ACC) == 1.0
    assert pairwise_order(scores, ACC) == 1.0
    assert top_k_precision(scores, ACC, k=2) == 1.0


def test_reversed_order_gives_minus_one():
    scores = [4, 3, 2, 1]
    assert kendall(scores, ACC) == -1.0
    assert spearman(scores, ACC) == -1.0  # signed: no abs() as in Samsung's code
    assert pairwise_order(scores, ACC) == 0.0
    assert top_k_precision(scores, ACC, k=2) == 0.0


def test_four_elements_by_hand():
    # One swapped neighbour pair: 5 concordant, 1 discordant of 6 pairs; rank differences 0, 1, 1, 0.
    scores = [1, 3, 2, 4]
    assert kendall(scores, ACC) == pytest.approx((5 - 1) / 6)
    assert spearman(scores, ACC) == pytest.approx(1 - 6 * 2 / (4 * (16 - 1)))  # 0.8
    assert pairwise_order(scores, ACC) == pytest.approx(5 / 6)


def test_invariant_to_monotone_transforms_of_scores():
    rng = np.random.default_rng(0)
    scores, acc = rng.normal(size=50), rng.normal(size=50)
    for f in (np.exp, lambda x: 3 * x + 7):
        assert kendall(f(scores), acc) == pytest.approx(kendall(scores, acc))
        assert spearman(f(scores), acc) == pytest.approx(spearman(scores, acc))
        assert pairwise_order(f(scores), acc) == pairwise_order(scores, acc)


# --- ties ----------------------------------------------------------------------------------------


def test_score_tie_by_hand():
    scores = [1, 1, 2, 3]  # pair (0, 1) tied in score, the other 5 pairs concordant
    acc = [1, 2, 3, 4]
    assert kendall(scores, acc) == pytest.approx(5 / math.sqrt(6 * 5))  # τ-b: sqrt((n0 - 0)(n0 - 1))
    # average ranks 1.5, 1.5, 3, 4 against 1, 2, 3, 4: cov 4.5, var 4.5 and 5
    assert spearman(scores, acc) == pytest.approx(4.5 / math.sqrt(4.5 * 5))
    assert pairwise_order(scores, acc) == pytest.approx((5 + 0.5) / 6)


def test_accuracy_ties_are_left_out_of_pairwise():
    assert pairwise_order([1, 2, 3, 4], [1, 1, 2, 3]) == 1.0  # 5 ordered pairs, all agree
    assert pairwise_order([2, 1, 3, 4], [1, 1, 2, 3]) == 1.0  # order inside an accuracy tie is free
    assert kendall([1, 2, 3, 4], [1, 1, 2, 3]) == pytest.approx(5 / math.sqrt(6 * 5))


def test_pair_tied_in_both_is_left_out():
    assert pairwise_order([1, 1, 2], [5, 5, 6]) == 1.0
    assert kendall([1, 1, 2], [5, 5, 6]) == pytest.approx(1.0)


def test_constant_proxy_is_chance_not_a_number():
    acc = [1, 2, 3, 4, 5, 6]
    assert pairwise_order([7] * 6, acc) == 0.5
    assert top_k_precision([7] * 6, acc, k=2) == pytest.approx(2 / 6)
    assert math.isnan(kendall([7] * 6, acc))  # undefined, quietly NaN
    assert math.isnan(spearman([7] * 6, acc))


def test_without_ties_pairwise_is_one_plus_tau_over_two():
    rng = np.random.default_rng(1)
    scores, acc = rng.normal(size=200), rng.normal(size=200)
    assert pairwise_order(scores, acc) == pytest.approx((1 + kendall(scores, acc)) / 2)


# --- the O(n log n) pairwise order against brute force ------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_pairwise_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    scores = rng.integers(0, int(rng.integers(1, 12)), n).astype(float)  # many ties, sometimes constant
    acc = rng.integers(0, int(rng.integers(2, 12)), n).astype(float)
    scores[rng.random(n) < 0.05] = -np.inf  # dead networks: −inf is a value, not a NaN
    assert pairwise_order(scores, acc) == pytest.approx(brute_pairwise(scores, acc), abs=1e-12)


def test_pair_counts_match_scipy_kendall_statistic():
    rng = np.random.default_rng(7)
    scores, acc = rng.integers(0, 15, 400).astype(float), rng.integers(0, 9, 400).astype(float)
    concordant, discordant, _, _ = metrics._pair_counts(scores, acc)
    n0 = 400 * 399 // 2
    ties_s, ties_a = metrics._tied_pairs(scores), metrics._tied_pairs(acc)
    tau_b = (concordant - discordant) / math.sqrt((n0 - ties_s) * (n0 - ties_a))
    assert tau_b == pytest.approx(stats.kendalltau(scores, acc).statistic, abs=1e-12)


def test_count_inversions_matches_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(5):
        ranks = rng.integers(0, 37, 150)
        brute = sum(int(ranks[i] > ranks[j]) for i in range(150) for j in range(i + 1, 150))
        assert metrics._count_inversions(ranks) == brute


def test_pairwise_is_fast_on_a_whole_nb201_sized_table():
    rng = np.random.default_rng(0)
    acc = np.round(rng.normal(85, 5, 15_625), 2)
    scores = np.round(acc + rng.normal(0, 3, 15_625), 1)
    start = time.perf_counter()
    value = pairwise_order(scores, acc)
    assert time.perf_counter() - start < 1.0
    assert 0.5 < value < 1.0


# --- NaN policy ----------------------------------------------------------------------------------


def test_nan_pairs_are_dropped_and_counted():
    scores = [1, float("nan"), 2, 3, 4]
    acc = [10, 50, 20, float("nan"), 40]
    summary = correlations(scores, acc, top_k=(), top_fractions=())
    assert summary["n"] == 3 and summary["n_nan"] == 2
    assert summary["kendall"] == kendall([1, 2, 4], [10, 20, 40]) == 1.0
    assert summary["spearman"] == pytest.approx(1.0)
    assert summary["pairwise"] == 1.0


def test_nan_is_not_a_sentinel():
    # The NaN architecture is the most accurate one: NASLib's −1e8 would rank it last and lower τ.
    scores, acc = [1, 2, 3, float("nan")], [1, 2, 3, 4]
    assert kendall(scores, acc) == 1.0
    assert kendall([1, 2, 3, -1e8], acc) < 1.0


@pytest.mark.parametrize("fn", [kendall, spearman, pairwise_order])
def test_nan_policy_raise(fn):
    with pytest.raises(InputError, match="1 NaN score"):
        fn([1, float("nan"), 3], [1, 2, 3], nan_policy="raise")
    assert fn([1, 2, 3], [1, 2, 3], nan_policy="raise") == 1.0


def test_infinite_scores_are_ordered_and_kept():
    assert kendall([-np.inf, 1, 2, np.inf], [1, 2, 3, 4]) == 1.0
    assert correlations([-np.inf, 1, 2], [1, 2, 3], top_k=(), top_fractions=())["n"] == 3


def test_too_few_pairs_is_nan():
    assert math.isnan(kendall([1.0], [2.0]))
    assert math.isnan(spearman([1, float("nan")], [1, 2]))
    assert math.isnan(pairwise_order([1, 2, 3], [5, 5, 5]))  # nothing to order
    summary = correlations([float("nan")] * 3, [1, 2, 3])
    assert summary["n"] == 0 and summary["n_nan"] == 3
    assert all(math.isnan(v) for key, v in summary.items() if key not in ("n", "n_nan"))


# --- top-k ---------------------------------------------------------------------------------------


def test_top_k_by_hand():
    assert top_k_precision([1, 3, 2, 4], ACC, k=2) == 0.5  # true {2, 3}, predicted {1, 3}
    assert top_k_precision([1, 3, 2, 4], ACC, k=1) == 1.0
    assert top_k_precision([1, 3, 2, 4], ACC, k=4) == 1.0


def test_top_k_ties_at_the_boundary_count_in_expectation():
    # true top-2 = {0, 1}; score tie for 2nd place between 1 and 2: 1 is in with probability ½
    assert top_k_precision([3, 2, 2, 1], [4, 3, 2, 1], k=2) == pytest.approx((1 + 0.5) / 2)
    # the result does not depend on the input order
    rng = np.random.default_rng(0)
    scores, acc = rng.integers(0, 4, 40), rng.integers(0, 5, 40)
    perm = rng.permutation(40)
    assert top_k_precision(scores, acc, k=7) == pytest.approx(top_k_precision(scores[perm], acc[perm], k=7))


def test_top_k_fraction():
    scores, acc = list(range(30)), list(range(30))
    assert top_k_precision(scores, acc, fraction=0.1) == 1.0  # k = 3
    assert top_k_precision(scores[::-1], acc, fraction=0.1) == 0.0
    assert metrics._resolve_k(30, None, 0.1) == 3  # not 4: 0.1 · 30 is 3.0000000000000004
    assert metrics._resolve_k(15_625, None, 0.01) == 157
    assert metrics._resolve_k(5, None, 0.01) == 1


def test_top_k_bad_arguments():
    with pytest.raises(InputError, match="exactly one"):
        top_k_precision(ACC, ACC)
    with pytest.raises(InputError, match="exactly one"):
        top_k_precision(ACC, ACC, k=2, fraction=0.5)
    with pytest.raises(InputError, match="top 5 of only 4"):
        top_k_precision(ACC, ACC, k=5)
    with pytest.raises(InputError, match="positive integer"):
        top_k_precision(ACC, ACC, k=0)
    with pytest.raises(InputError, match="fraction"):
        top_k_precision(ACC, ACC, fraction=1.5)


def test_correlations_keys_and_undefined_top_k():
    summary = correlations(list(range(20)), list(range(20)), top_k=(10, 50), top_fractions=(0.05, 0.1))
    assert list(summary) == ["n", "n_nan", "kendall", "spearman", "pairwise", "top10", "top50", "top5%", "top10%"]
    assert summary["top10"] == 1.0 and math.isnan(summary["top50"])  # 50 > n: undefined, not 1 or 0
    assert summary["top5%"] == 1.0 and summary["top10%"] == 1.0
    with pytest.raises(InputError, match="positive integer"):
        correlations(ACC, ACC, top_k=(0,))


# --- average ranks (Table 4) ---------------------------------------------------------------------


def test_average_ranks_three_by_three_by_hand():
    table = {
        "b1": {"A": 0.9, "B": 0.8, "C": 0.7},  # 1, 2, 3
        "b2": {"A": 0.5, "B": 0.6, "C": 0.6},  # 3, 1.5, 1.5 (tie averaged)
        "b3": {"A": 0.2, "B": 0.1, "C": 0.3},  # 2, 3, 1
    }
    assert average_ranks(table) == pytest.approx({"A": 6 / 3, "B": 6.5 / 3, "C": 5.5 / 3})


def test_average_ranks_missing_entries_are_skipped():
    table = {
        "b1": {"A": 0.9, "B": 0.8},  # C missing: A 1, B 2
        "b2": {"A": 0.5, "B": 0.6, "C": 0.6},  # 3, 1.5, 1.5
        "b3": {"A": 0.2, "B": float("nan"), "C": 0.3},  # B NaN: A 2, C 1
    }
    assert average_ranks(table) == pytest.approx({"A": 2.0, "B": 1.75, "C": 1.25})
    assert math.isnan(average_ranks({"b": {"A": 0.1, "B": float("nan")}})["B"])


def test_average_ranks_use_the_sign():
    assert average_ranks({"b": {"anti": -0.9, "weak": 0.1}}) == {"anti": 2.0, "weak": 1.0}


# --- performance profiles (blog post) ------------------------------------------------------------


def test_performance_ratio_blog_example():
    # DARTS Spherical CIFAR-100: fisher 0.4986 (error 0.5014), snip 0.2675 (error 0.7325) -> 1.46
    ratios = performance_ratios({"darts-sc100": {"fisher": 0.4986, "snip": 0.2675}})
    assert ratios["fisher"]["darts-sc100"] == 1.0
    assert ratios["snip"]["darts-sc100"] == pytest.approx(0.7325 / 0.5014)


def test_performance_profile_by_hand():
    table = {
        "t1": {"A": 0.5, "B": 0.0, "C": -0.5},  # errors 0.5, 1, 1.5 -> ratios 1, 2, 3
        "t2": {"A": 0.0, "B": 0.75},  # errors 1, 0.25 -> ratios 4, 1; C missing -> inf
    }
    profile = performance_profile(table, [0.5, 1, 2, 3, 4])
    np.testing.assert_allclose(profile["A"], [0, 0.5, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(profile["B"], [0, 0.5, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(profile["C"], [0, 0, 0, 0.5, 0.5])  # never reaches 1: missing counts against


def test_performance_profile_edge_cases():
    ratios = performance_ratios({"t": {"perfect": 1.0, "good": 0.9}, "empty": {"good": float("nan")}})
    assert ratios == {"perfect": {"t": 1.0}, "good": {"t": math.inf}}  # no division by zero; "empty" skipped
    with pytest.raises(InputError, match=r"\[-1, 1\]"):
        performance_profile({"t": {"A": 1.5}}, [1])
    with pytest.raises(InputError, match="taus"):
        performance_profile({"t": {"A": 0.5}}, [1, float("nan")])


# --- proxy vs proxy ------------------------------------------------------------------------------


def test_proxy_correlation_matrix_pairwise_omission():
    a = np.array([1.0, 2, 3, 4, 5, 6])
    b = np.array([2.0, 1, 4, 3, 6, 5])
    c = np.array([1.0, np.nan, 3, 2, np.nan, 4])
    matrix = proxy_correlation_matrix({"a": a, "b": b, "c": c})
    assert matrix.shape == (3, 3)
    np.testing.assert_allclose(matrix, matrix.T)
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    keep = ~np.isnan(c)
    assert matrix[0, 1] == pytest.approx(spearman(a, b))  # a-b uses all 6 rows, not only c's 4
    assert matrix[0, 2] == pytest.approx(spearman(a[keep], c[keep]))
    kendall_matrix = proxy_correlation_matrix({"a": a, "b": b}, method="kendall")
    assert kendall_matrix[0, 1] == pytest.approx(kendall(a, b))


def test_proxy_correlation_matrix_constant_proxy_is_nan():
    matrix = proxy_correlation_matrix({"a": [1, 2, 3], "const": [5, 5, 5]})
    assert matrix[0, 0] == 1.0
    assert np.isnan(matrix[1, 1]) and np.isnan(matrix[0, 1])


def test_proxy_correlation_matrix_bad_input():
    with pytest.raises(InputError, match="same length"):
        proxy_correlation_matrix({"a": [1, 2, 3], "b": [1, 2]})
    with pytest.raises(InputError, match="method"):
        proxy_correlation_matrix({"a": [1, 2, 3]}, method="pearson")
    with pytest.raises(InputError, match="non-empty"):
        proxy_correlation_matrix({})


# --- input validation at the boundary ------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "accuracies", "message"),
    [
        ([1, 2, 3], [1, 2], "same length"),
        ([[1, 2], [3, 4]], [1, 2], "scores: expected a 1-D"),
        (["a", "b"], [1, 2], "scores: expected a 1-D sequence of numbers"),
        ([1, 2], [1 + 1j, 2], "accuracies: expected real"),
    ],
)
def test_bad_vectors_name_the_argument(scores, accuracies, message):
    with pytest.raises(InputError, match=message):
        kendall(scores, accuracies)


def test_bad_nan_policy_and_table():
    with pytest.raises(InputError, match="nan_policy"):
        spearman([1, 2], [1, 2], nan_policy="propagate")
    with pytest.raises(InputError, match="table"):
        average_ranks({})
    with pytest.raises(InputError, match=r"table\['b'\]\['A'\]"):
        average_ranks({"b": {"A": "high"}})
