"""near.ensemble: every ensemble on hand-made tables with answers worked out by hand, the NaN policies,
rank invariance, and clear errors for bad tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from near import ensemble
from near.errors import InputError, OptionError, ProxyError

NAN = math.nan
# a: ranks 1..4 in order; b: the first architecture best, then 2, 3, 4 in order.
TABLE = {"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 1.0, 2.0, 3.0]}
# normalised ranks (rank / n): a → .25 .5 .75 1; b → 1 .25 .5 .75
RA, RB = np.array([0.25, 0.5, 0.75, 1.0]), np.array([1.0, 0.25, 0.5, 0.75])


def test_normalised_ranks_average_ties_and_keep_nan():
    matrix = np.array([[1.0, 5.0], [1.0, NAN], [2.0, 7.0]])
    ranks = ensemble.normalised_ranks(matrix)
    np.testing.assert_allclose(ranks[:, 0], [1.5 / 3, 1.5 / 3, 1.0])
    np.testing.assert_allclose(ranks[[0, 2], 1], [0.5, 1.0])  # over the 2 scored architectures
    assert math.isnan(ranks[1, 1])


def test_mean_rank_by_hand():
    np.testing.assert_allclose(ensemble.mean_rank(TABLE), (RA + RB) / 2)
    np.testing.assert_allclose(ensemble.mean_rank(TABLE, ["b"]), RB)


def test_log_rank_is_the_sum_of_log_normalised_ranks():
    np.testing.assert_allclose(ensemble.log_rank(TABLE), np.log(RA) + np.log(RB))


def test_log_rank_punishes_one_bad_proxy_where_mean_rank_does_not():
    # architecture 0: best by a, worst by b (ranks 1.0 and 0.2); architecture 1: 0.6 and 0.6 — same mean rank
    table = {"a": [5, 3, 4, 2, 1], "b": [1, 3, 5, 4, 2]}
    mean, log = ensemble.mean_rank(table), ensemble.log_rank(table)
    assert mean[0] == pytest.approx(mean[1]) == pytest.approx(0.6)
    assert log[0] == pytest.approx(math.log(0.2)) and log[1] == pytest.approx(2 * math.log(0.6))
    assert log[1] > log[0]


def test_vote_counts_pairs_won_by_majority():
    # pairs: (0,1) → 1 by a, b vs c; (0,2) → 2; (1,2) → 1 by a vs b, c … a: 2>1? a votes 2, b and c vote 1
    table = {"a": [1, 2, 3], "b": [1, 3, 2], "c": [3, 2, 1]}
    np.testing.assert_array_equal(ensemble.vote(table), [0.0, 2.0, 1.0])


def test_vote_tie_counts_half_and_is_a_permutation_of_round_robin_points():
    scores = ensemble.vote(TABLE)  # two proxies: a pair they disagree on is a tied vote
    np.testing.assert_array_equal(scores, [1.5, 0.5, 1.5, 2.5])
    assert scores.sum() == 4 * 3 / 2  # every pair hands out exactly one point


def test_vote_lets_a_proxy_without_both_scores_abstain():
    table = {"a": [1.0, 2.0, NAN], "b": [2.0, 1.0, 3.0]}
    np.testing.assert_array_equal(ensemble.vote(table), [0.5, 0.5, 2.0])
    propagated = ensemble.vote(table, nan_policy="propagate")
    np.testing.assert_array_equal(propagated[:2], [0.5, 0.5])
    assert math.isnan(propagated[2])


def test_vote_of_one_proxy_orders_like_it_and_chunks_agree(monkeypatch):
    rng = np.random.default_rng(0)
    table = {"a": rng.normal(size=50), "b": rng.normal(size=50), "c": rng.normal(size=50)}
    whole = ensemble.vote(table)
    monkeypatch.setattr(ensemble, "_VOTE_ELEMENTS", 7)  # one row per chunk
    np.testing.assert_array_equal(ensemble.vote(table), whole)
    single = ensemble.vote({"a": table["a"]})
    np.testing.assert_array_equal(np.argsort(single), np.argsort(table["a"]))


def test_nan_policies_of_mean_and_log_rank():
    table = {"a": [1.0, 2.0, NAN], "b": [1.0, 2.0, 3.0]}
    # a ranks over its 2 scores: .5, 1; b: 1/3, 2/3, 1
    np.testing.assert_allclose(ensemble.mean_rank(table), [(0.5 + 1 / 3) / 2, (1 + 2 / 3) / 2, 1.0])
    assert math.isnan(ensemble.mean_rank(table, nan_policy="propagate")[2])
    log = ensemble.log_rank(table)
    assert log[2] == pytest.approx(2 * math.log(1.0))  # mean of the present terms × 2 proxies
    assert log[0] == pytest.approx(math.log(0.5) + math.log(1 / 3))


def test_architecture_no_proxy_scored_stays_nan_in_every_ensemble():
    table = {"a": [1.0, NAN, 3.0], "b": [2.0, NAN, 1.0]}
    for method in ("mean_rank", "log_rank", "vote", "a+b"):
        values = ensemble.combine(table, method)
        assert math.isnan(values[1]) and not np.isnan(values[[0, 2]]).any(), method


def test_weighted_by_hand_and_transforms():
    np.testing.assert_allclose(ensemble.weighted(TABLE, {"a": 2, "b": 1}), 2 * RA + RB)
    np.testing.assert_allclose(ensemble.weighted(TABLE, {"a": 1, "b": -1}), RA - RB)
    z = ensemble.weighted(TABLE, {"a": 1}, transform="zscore")
    np.testing.assert_allclose(z, (np.arange(1, 5) - 2.5) / np.std(np.arange(1, 5)))
    np.testing.assert_allclose(ensemble.weighted(TABLE, {"a": 0.5, "b": 1}, transform="raw"), [4.5, 2, 3.5, 5])
    np.testing.assert_allclose(ensemble.combine(TABLE, "2*a + b"), 2 * RA + RB)


def test_weighted_nan_policies():
    table = {"a": [1.0, 2.0, NAN], "b": [1.0, 2.0, 3.0]}
    assert math.isnan(ensemble.weighted(table, {"a": 1, "b": 1})[2])  # default: propagate
    omitted = ensemble.weighted(table, {"a": 1, "b": 3}, nan_policy="omit")
    assert omitted[2] == pytest.approx(1.0 * 4)  # b alone, rescaled to the total weight 4


def test_rank_ensembles_ignore_monotone_transforms():
    rng = np.random.default_rng(1)
    table = {"a": rng.normal(size=40), "b": rng.normal(size=40), "c": rng.normal(size=40)}
    transformed = {"a": np.exp(table["a"]), "b": 3 * table["b"] - 7, "c": table["c"] ** 3}
    for method in ("mean_rank", "log_rank", "vote", "a+b+c"):
        np.testing.assert_allclose(ensemble.combine(table, method), ensemble.combine(transformed, method))


def test_parse_weights():
    assert ensemble.parse_weights("near+params") == {"near": 1.0, "params": 1.0}
    assert ensemble.parse_weights("2*near - 0.5*meco_opt") == {"near": 2.0, "meco_opt": -0.5}
    for bad in ("", "near++", "2**near", "near+near", "x*near"):
        with pytest.raises(OptionError):
            ensemble.parse_weights(bad)


def test_default_ensembles():
    found = ensemble.default_ensembles({"near": [1, 2, 3], "params": [3, 1, 2], "meco": [1, 3, 2]})
    assert list(found) == ["mean_rank", "log_rank", "vote", "near+params"]
    assert ensemble.default_ensembles({"near": [1, 2]}) == {}


def test_bad_tables_raise_clear_errors():
    with pytest.raises(ProxyError, match="'zen'.*not in the table"):
        ensemble.mean_rank(TABLE, ["a", "zen"])
    with pytest.raises(ProxyError, match="'zen'"):
        ensemble.combine(TABLE, "a+zen")
    with pytest.raises(InputError, match="different numbers of architectures"):
        ensemble.mean_rank({"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(InputError, match="no proxy"):
        ensemble.mean_rank({})
    with pytest.raises(InputError, match="expected numbers"):
        ensemble.mean_rank({"a": ["x", "y"]})
    with pytest.raises(OptionError, match="nan_policy"):
        ensemble.mean_rank(TABLE, nan_policy="zero")
    with pytest.raises(OptionError, match="unknown ensemble"):
        ensemble.combine(TABLE, "median")
    with pytest.raises(OptionError, match="every weight is 0"):
        ensemble.weighted(TABLE, {"a": 0})
    with pytest.raises(OptionError, match="transform"):
        ensemble.weighted(TABLE, {"a": 1}, transform="log")
