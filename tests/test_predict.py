"""near.predict: the predictor recovers a planted signal (also through NaN), follows scikit-learn's estimator
contract (check_estimator), the learning curve equals its splits by hand, and bad input fails clearly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from near import metrics, spaces
from near.errors import InputError, OptionError
from near.predict import ProxyPredictor, evaluate_split, features, learning_curve, split


def planted(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy driven by features 0 and 3 (non-linearly); features 1, 2, 4 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = 70 + 5 * np.tanh(X[:, 0]) + 3 * X[:, 3] ** 2 * (X[:, 3] > 0) + 0.2 * rng.normal(size=n)
    return X, y


@parametrize_with_checks([ProxyPredictor(n_estimators=20, random_state=0)])
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


def test_recovers_a_planted_signal():
    X, y = planted()
    model = ProxyPredictor(random_state=0).fit(X[:300], y[:300])
    assert model.score(X[300:], y[300:]) > 0.9
    assert metrics.spearman(model.predict(X[300:]), y[300:]) == pytest.approx(model.score(X[300:], y[300:]))
    noise_only = ProxyPredictor(random_state=0).fit(X[:300, [1, 2, 4]], y[:300])
    assert abs(noise_only.score(X[300:, [1, 2, 4]], y[300:])) < 0.2  # nothing to learn from noise


def test_missing_values_are_learned_not_imputed():
    """A NaN that marks dead networks (low accuracy) is itself a signal the trees pick up."""
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=n)
    dead = rng.random(n) < 0.2
    y = np.where(dead, 10.0, 80 + x)
    X = np.column_stack([np.where(dead, np.nan, x), rng.normal(size=n)])
    model = ProxyPredictor(random_state=0).fit(X[:300], y[:300])
    predicted = model.predict(X[300:])
    assert predicted[dead[300:]].max() < predicted[~dead[300:]].min()
    assert model.score(X[300:], y[300:]) > 0.9


def test_same_random_state_same_predictions_and_clone_keeps_params():
    X, y = planted(200)
    a = ProxyPredictor(random_state=4).fit(X, y).predict(X)
    b = ProxyPredictor(random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    model = ProxyPredictor(backend="hist", target="raw", n_estimators=7, random_state=2)
    assert ProxyPredictor().backend == "lightgbm"
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(clone(model), "model_")


def test_rank_target_predicts_on_the_rank_scale():
    X, y = planted(200)
    raw = ProxyPredictor(target="raw", random_state=0).fit(X, y).predict(X)
    ranked = ProxyPredictor(random_state=0).fit(X, y).predict(X)
    assert 60 < raw.mean() < 90 and 0 < ranked.mean() < 1


@pytest.mark.parametrize(
    "backend, objective",
    [("hist", "regression"), ("lightgbm", "ranking"), ("xgboost", "regression"), ("xgboost", "ranking")],
)
def test_other_backends_recover_the_signal(backend, objective):
    if backend == "xgboost":
        pytest.importorskip("xgboost")  # the optional extra near-nas[xgboost]
    X, y = planted()
    model = ProxyPredictor(backend=backend, objective=objective, random_state=0).fit(X[:300], y[:300])
    assert model.score(X[300:], y[300:]) > 0.85


def test_split_is_deterministic_disjoint_and_complete():
    train, test = split(100, 30, seed=5)
    again, _ = split(100, 30, seed=5)
    np.testing.assert_array_equal(train, again)
    assert len(train) == 30 and len(test) == 70
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    assert not np.array_equal(split(100, 30, seed=6)[0], train)


def test_learning_curve_is_the_mean_and_std_of_its_splits():
    X, y = planted(120)
    estimator = ProxyPredictor(n_estimators=30, random_state=0)
    (point,) = learning_curve(X, y, ks=[40], seeds=3, estimator=estimator)
    runs = [evaluate_split(estimator, X, y, *split(120, 40, seed)) for seed in range(3)]
    assert point.k == 40 and point.seeds == 3
    for key in ("spearman", "kendall", "top5"):
        values = np.array([run[key] for run in runs])
        assert getattr(point, key) == pytest.approx(values.mean())
        assert getattr(point, f"{key}_std") == pytest.approx(values.std())
    # top-5 % of 80 held-out = the best 4: the point is a mean of multiples of 1/4
    assert all(run["top5"] * 4 == pytest.approx(round(run["top5"] * 4)) for run in runs)


def test_features_proxies_then_encoding():
    archs = [
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ]
    X, names = features({"near": [1.0, math.nan], "params": [3.0, 4.0]}, archs=archs, space="nb201")
    assert X.shape == (2, 2 + 30) and names[:3] == ["near", "params", "edge01=none"]
    assert math.isnan(X[1, 0])  # kept as missing
    np.testing.assert_array_equal(X[:, 2:], [spaces.get("nb201").encode(a) for a in archs])
    X, names = features({"near": [1.0, 2.0], "params": [3.0, 4.0]}, ["params"])
    assert names == ["params"] and X.tolist() == [[3.0], [4.0]]


class _Bare(spaces.Space):
    name = "bare"


def test_bad_input_raises_clear_errors():
    X, y = planted(100)
    with pytest.raises(OptionError, match="at most 80 training architectures"):
        learning_curve(X, y, ks=[16, 90])
    with pytest.raises(OptionError, match="≥ 2"):
        split(100, 1, 0)
    nan_column = X.copy()
    nan_column[:, 2] = np.nan
    with pytest.raises(InputError, match=r"column\(s\) \[2\].*all NaN"):
        ProxyPredictor().fit(nan_column, y)
    with pytest.raises(OptionError, match="no ranking objective"):
        ProxyPredictor(backend="hist", objective="ranking").fit(X, y)
    with pytest.raises(OptionError, match="backend must be one of"):
        ProxyPredictor(backend="catboost").fit(X, y)
    with pytest.raises(OptionError, match="has no architecture encoding"):
        features(archs=["x"], space=_Bare())
    with pytest.raises(InputError, match="needs both archs and space"):
        features({"a": [1.0]}, archs=["x"])
    with pytest.raises(InputError, match="accuracies are missing"):
        learning_curve(X, np.where(np.arange(100) == 3, np.nan, y), ks=[16])
