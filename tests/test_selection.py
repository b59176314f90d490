"""Activation × initialisation selection: ranking, the clearly-bad rule, user choices and bad input."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

import near
from near.data import load_data
from near.errors import OptionError
from near.mlp.activations import STanh
from near.mlp.build import build_mlp, resolve_activation, resolve_init
from near.mlp.selection import SelectionRow, _rank


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


@pytest.fixture(scope="module")
def grid(digits):
    return near.select(
        digits.x,
        (32, 32),
        activations=["relu", "tanh", "tanhshrink"],
        inits=["kaiming_uniform", "uniform"],
        labels=digits.y,
        repetitions=3,
        seed=0,
    )


def test_uniform_init_ranks_at_the_bottom_and_is_flagged(grid):
    assert [r.rank for r in grid.rows] == list(range(1, 7))
    means = [r.mean for r in grid.rows]
    assert means == sorted(means, reverse=True) and grid.best.mean == max(means)
    assert {r.init for r in grid.rows[-3:]} == {"uniform"} and all(r.bad for r in grid.rows[-3:])
    assert not any(r.bad for r in grid.rows if r.init == "kaiming_uniform" and r.activation != "tanhshrink")
    assert grid.outputs == 10 and grid.input_size == 64


def test_every_cell_is_near_score_with_the_same_seed(digits, grid):
    row = next(r for r in grid.rows if (r.activation, r.init) == ("tanh", "uniform"))
    factory = functools.partial(build_mlp, 64, (32, 32), 10, nn.Tanh)
    expected = near.score(factory, digits.x, repetitions=3, seed=0, init="uniform")
    np.testing.assert_array_equal(row.scores, expected.scores)


def test_json_and_table(grid):
    data = grid.to_dict()
    first = data["results"][0]
    assert {"activation", "init", "mean", "std", "rank", "bad", "scores"} <= set(first) and first["rank"] == 1
    table = grid.table()
    assert "clearly bad" in table and "tanhshrink" in table and "0.75" in table


def test_bad_rule_needs_a_large_gap_beyond_the_noise():
    rows = [
        SelectionRow("a", "x", np.array([100.0, 100.0])),
        SelectionRow("b", "x", np.array([90.0, 90.2])),  # close to the best
        SelectionRow("c", "x", np.array([70.0, 70.2])),  # far below, little noise
        SelectionRow("d", "x", np.array([20.0, 120.0])),  # below 0.75 × best on average, but noise explains it
        SelectionRow("e", "x", np.array([])),  # no score (NaN activations)
    ]
    ranked = {r.activation: r for r in _rank(rows, 0.75)}
    assert [ranked[k].bad for k in "abcde"] == [False, False, True, False, True]
    assert ranked["e"].rank == 5 and math.isnan(ranked["e"].mean)


class Blowup(nn.Module):
    def forward(self, x):
        return x * math.inf


def test_user_activation_and_init_function_and_a_cell_with_nan(digits):
    def tiny_normal(model):
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)

    result = near.select(
        digits.x,
        (16,),
        activations=[nn.ELU, STanh(), Blowup],
        inits=[tiny_normal, "orthogonal"],
        repetitions=2,
    )
    names = {(r.activation, r.init) for r in result.rows}
    assert ("ELU", "tiny_normal") in names and ("STanh", "orthogonal") in names
    blown = [r for r in result.rows if r.activation == "Blowup"]
    assert all(r.bad and r.note and r.rank > 4 for r in blown)
    assert result.outputs == 10  # no labels: 10 outputs


def test_builtin_names_cover_the_issue():
    for name in ("relu", "silu", "gelu", "tanh", "tanhshrink", "elu", "sigmoid", "stanh"):
        assert resolve_activation(name)[0] == name
    for name in (
        "kaiming_uniform",
        "kaiming_normal",
        "xavier_uniform",
        "xavier_normal",
        "uniform",
        "normal",
        "orthogonal",
    ):
        assert resolve_init(name)[0] == name
    stanh = resolve_activation("stanh")[1]()
    assert torch.allclose(stanh(torch.tensor([1.0])), 1.59223 * torch.tanh(torch.tensor([1.0])))


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"activations": ["relu", "swish"]}, "unknown activation 'swish'; choose one of relu, silu"),
        ({"inits": ["he_uniform"]}, "unknown init 'he_uniform'; choose one of default"),
        ({"inits": []}, "inits must name at least one choice"),
        ({"activations": ["relu", "relu"]}, "twice"),
        ({"activations": [3]}, "activation must be a name"),
        ({"hidden": (0,)}, "hidden must be one or more positive integers"),
        ({"bad_below": 1.5}, "bad_below must be a fraction"),
        ({"outputs": 0}, "outputs must be a positive integer"),
        ({"outputs": 5, "labels": np.arange(100) % 10}, "labels go up to 9"),
        ({"labels": [0, 1]}, "labels has 2 entries for 100 samples"),
        ({"verify": True}, "needs labels"),
    ],
)
def test_bad_input_is_a_clear_error(options, fragment):
    options = {"hidden": (8,), "activations": ["relu"], "inits": ["default"], "repetitions": 1, **options}
    with pytest.raises(OptionError, match=fragment):
        near.select(torch.randn(100, 4), **options)


def test_too_few_samples_names_the_remedy():
    with pytest.raises(near.InsufficientSamplesError, match="Pass at least 200 samples"):
        near.select(torch.randn(100, 4), (200,), activations=["relu"], inits=["default"], repetitions=1)


def test_real_valued_labels_are_regression_targets_not_truncated_classes():
    """Energies in [-1, 1] were cast to int64 (-1, 0, 1 → "negative label") instead of giving one output."""
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    energies = torch.sin(x[:, 0])  # float64, as a chemistry pipeline hands them over
    grid = near.select(x, (8,), labels=energies, activations=["relu"], inits=["kaiming_uniform"], repetitions=1, seed=0)
    assert grid.outputs == 1
    two = near.select(
        x,
        (8,),
        labels=torch.stack([energies, energies**2], 1),
        activations=["relu"],
        inits=["uniform"],
        repetitions=1,
        seed=0,
    )
    assert two.outputs == 2
    with pytest.raises(OptionError, match="regression target"):
        near.select(x, (8,), labels=energies, outputs=3, activations=["relu"], inits=["uniform"], repetitions=1)


def test_a_layer_wider_than_the_samples_is_named_with_what_to_change():
    x = torch.randn(20, 5, generator=torch.Generator().manual_seed(0))
    with pytest.raises(near.InsufficientSamplesError, match="hidden width 32 needs at least 32 samples.*at most 20"):
        near.select(x, (32, 8), activations=["relu"], inits=["uniform"], repetitions=1)
