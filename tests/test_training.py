"""Training that checks NEAR's predictions: splits, determinism, Spearman, and the verify paths."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

import near
from near.data import load_data
from near.errors import ModelError, OptionError
from near.mlp.build import build_mlp
from near.mlp.training import spearman, split_indices, train_classifier

FAST = {"max_epochs": 8, "patience": 3, "lr": 0.01}


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


def test_split_is_disjoint_complete_and_fixed_by_its_seed():
    train, val, test = split_indices(1000, 0.2, 0.1, split_seed=3)
    assert (len(train), len(val), len(test)) == (720, 80, 200)
    joined = torch.cat([train, val, test])
    assert torch.equal(joined.sort().values, torch.arange(1000))
    assert all(torch.equal(a, b) for a, b in zip((train, val, test), split_indices(1000, 0.2, 0.1, split_seed=3)))
    assert not torch.equal(test, split_indices(1000, 0.2, 0.1, split_seed=4)[2])
    with pytest.raises(OptionError, match="test_fraction must be a fraction"):
        split_indices(10, 1.5)
    with pytest.raises(OptionError, match="too few to split"):
        split_indices(2)


def test_training_learns_is_deterministic_and_leaves_global_rng_alone(digits):
    factory = functools.partial(build_mlp, 64, (32,), 10, nn.ReLU)
    state = torch.random.get_rng_state()
    first = train_classifier(factory, digits.x, digits.y, seeds=(0, 1), **FAST)
    assert torch.equal(state, torch.random.get_rng_state())
    again = train_classifier(factory, digits.x, digits.y, seeds=(0, 1), **FAST)
    np.testing.assert_array_equal(first.test_loss, again.test_loss)
    assert first.test_loss[0] != first.test_loss[1]
    assert np.all(first.test_accuracy > 0.85) and np.all(first.test_loss < 0.6)
    assert first.parameters == 64 * 32 + 32 + 32 * 10 + 10
    assert 1 <= first.best_epoch.min() and first.best_epoch.max() <= 8


def test_uniform_init_trains_worse(digits):
    factory = functools.partial(build_mlp, 64, (32, 32), 10, nn.Tanh)
    good = train_classifier(factory, digits.x, digits.y, init="kaiming_uniform", seeds=(0,), **FAST)
    bad = train_classifier(factory, digits.x, digits.y, init="uniform", seeds=(0,), **FAST)
    assert bad.test_loss[0] > 2 * good.test_loss[0]


def test_spearman():
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert spearman([1, 2, math.nan, 3, 4], [1, 2, 0, 3, 4]) == 1.0
    assert math.isnan(spearman([1, 2], [1, 2])) and math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_bad_training_input(digits):
    factory = functools.partial(build_mlp, 64, (8,), 3, nn.ReLU)  # 3 outputs for 10 classes
    with pytest.raises(ModelError, match="one output per class"):
        train_classifier(factory, digits.x, digits.y, seeds=(0,), **FAST)
    with pytest.raises(OptionError, match="1797 samples but 5 labels"):
        train_classifier(factory, digits.x, digits.y[:5])
    with pytest.raises(OptionError, match="max_epochs must be a positive integer"):
        train_classifier(factory, digits.x, digits.y, max_epochs=0)
    with pytest.raises(ModelError, match="must return an nn.Module"):
        train_classifier(lambda: 3, digits.x, digits.y)


def test_select_verify_reports_loss_accuracy_and_spearman(digits):
    result = near.select(
        digits.x,
        (32,),
        activations=["relu", "tanh"],
        inits=["kaiming_uniform", "uniform"],
        labels=digits.y,
        repetitions=2,
        verify=True,
        training_seeds=(0, 1),
        training=FAST,
    )
    assert result.seeds == (0, 1) and set(result.spearman) == {"test_loss", "test_accuracy"}
    assert all(len(r.test_loss) == 2 and len(r.test_accuracy) == 2 for r in result.rows)
    row = result.to_dict()["results"][0]
    assert {"test_loss", "test_loss_std", "test_accuracy", "test_accuracy_std"} <= set(row)
    assert "Spearman" in result.table()
    assert result.spearman["test_loss"] < 0 < result.spearman["test_accuracy"]  # higher NEAR, lower loss


def test_verify_sizes_trains_widths_around_the_estimate(digits, tmp_path):
    sizing = near.estimate_layer_sizes(digits.x, 1, widths=(8, 16, 32, 64), repetitions=1, warn=False)
    check = near.verify_sizes(sizing, digits.x, digits.y, factors=(0.25, 1), seeds=(0,), repetitions=1, training=FAST)
    (s,) = sizing.sizes
    assert [row.hidden for row in check.rows] == [(max(1, round(s / 4)),), (s,)]
    assert check.rows[0].parameters < check.rows[1].parameters
    assert set(check.to_dict()["spearman"]) == {"near_vs_test_loss", "parameters_vs_test_loss"}
    assert "<- estimate" in check.table()
    assert check.plot(tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_stochastic_layers_draw_from_the_training_seed_not_the_callers_rng(digits):
    x, y = digits.x, digits.y
    factory = functools.partial(build_mlp, 64, (16,), 10, nn.RReLU)
    before = torch.random.get_rng_state()
    first, again = (train_classifier(factory, x, y, seeds=(0,), max_epochs=2) for _ in range(2))
    assert torch.equal(before, torch.random.get_rng_state())
    assert first.test_loss.tolist() == again.test_loss.tolist()


def test_verify_sizes_trains_the_sizings_own_custom_init_activation_and_bias(digits):
    x, y = digits.x, digits.y
    seen = []

    def small_normal(model):
        seen.append(model)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.05)

    sizing = near.estimate_layer_sizes(
        x, 1, widths=(8, 16, 32, 64), repetitions=1, init=small_normal, activation=nn.RReLU, bias=False, warn=False
    )
    seen.clear()
    check = near.verify_sizes(sizing, x, y, factors=(1,), seeds=(0,), repetitions=1, training={"max_epochs": 1})
    assert seen and all(isinstance(m[2], nn.RReLU) and m[1].bias is None for m in seen)
    assert check.rows[0].parameters == 64 * sizing.sizes[0] + sizing.sizes[0] * 10


def test_regression_targets_train_with_mean_squared_error():
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1]  # float64 targets
    factory = functools.partial(build_mlp, 4, (16,), 1, nn.Tanh)
    run = train_classifier(factory, x, y, seeds=(0,), max_epochs=40)
    assert 0 < run.test_loss[0] < float(y.var()) and math.isnan(run.test_accuracy[0])
    with pytest.raises(ModelError, match="1 output"):
        train_classifier(functools.partial(build_mlp, 4, (16,), 3, nn.Tanh), x, y, seeds=(0,), max_epochs=1)
