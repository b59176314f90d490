"""near.proxy_sets: greedy forward selection on a table whose best sets are known, and the cheapest set
within a tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from near import metrics
from near.errors import OptionError
from near.proxy_sets import Step, cheapest_within, forward_selection


def table(n: int = 400, seed: int = 0):
    """accuracy = u + v; 'u' and 'v' each see half of it, 'uv' sees it all but costs 10 s, 'noise' sees nothing."""
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=n), rng.normal(size=n)
    scores = {"noise": rng.normal(size=n), "u": u, "v": v, "uv": u + v + 0.01 * rng.normal(size=n)}
    cost = {"noise": 0.0, "u": 0.1, "v": 0.2, "uv": 10.0}
    return scores, u + v, cost


def test_ensemble_selection_by_hand():
    scores, accuracy, cost = table()
    steps = forward_selection(scores, accuracy, cost, method="mean_rank")
    assert steps[0].added == "uv" and steps[0].spearman > 0.99  # alone the best
    assert [s.seconds for s in steps] == pytest.approx(np.cumsum([cost[s.added] for s in steps]).tolist())
    assert steps[-1].proxies == tuple(s.added for s in steps) and len(steps) == 4
    rho = metrics.spearman(np.mean([np.argsort(np.argsort(scores[p])) for p in steps[1].proxies], axis=0), accuracy)
    assert steps[1].spearman == pytest.approx(rho)


def test_predictor_selection_prefers_signal_over_noise():
    scores, accuracy, cost = table()
    scores = {k: scores[k] for k in ("noise", "u", "v")}
    steps = forward_selection(scores, accuracy, cost, method="predictor", train=200, seeds=2)
    assert {steps[0].added, steps[1].added} == {"u", "v"} and steps[-1].added == "noise"
    assert steps[1].spearman > steps[0].spearman + 0.1


def test_cheapest_within_tolerance():
    steps = [Step(("a",), "a", 0.1, 0.90), Step(("a", "b"), "b", 0.5, 0.925), Step(("a", "b", "c"), "c", 2.0, 0.93)]
    assert cheapest_within(steps).added == "b"
    assert cheapest_within(steps, tolerance=0.0).added == "c"
    assert cheapest_within(steps, tolerance=0.05).added == "a"


def test_errors():
    scores, accuracy, cost = table(50)
    with pytest.raises(OptionError, match="no cost for uv"):
        forward_selection(scores, accuracy, {k: v for k, v in cost.items() if k != "uv"})
    with pytest.raises(OptionError, match="method"):
        forward_selection(scores, accuracy, cost, method="median")
