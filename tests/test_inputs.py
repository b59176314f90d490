"""Sample inputs: shuffling loaders are reproducible, lists are sampled like tensors, reuse is warned."""

import random
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import near


def mlp():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_a_shuffling_dataloader_gives_fresh_reproducible_samples_and_leaves_global_rngs_alone():
    model, x = mlp(), torch.randn(200, 8)
    loader = DataLoader(x, batch_size=10, shuffle=True)
    first = near.score(model, loader, repetitions=3, reinit=False, seed=3)
    torch.manual_seed(123)  # the global stream must not matter
    second = near.score(model, loader, repetitions=3, reinit=False, seed=3)
    assert np.array_equal(first.scores, second.scores)
    assert len(set(first.scores)) == 3  # fresh samples in every repetition
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    near.score(model, loader, repetitions=2, seed=3)
    assert torch.equal(states[0], torch.get_rng_state())
    assert np.array_equal(states[1], np.random.get_state()[1]) and states[2] == random.getstate()


def test_a_list_of_batches_is_sampled_like_the_joined_tensor():
    model, x = mlp(), torch.randn(60, 8)
    batches = list(x.split(7))
    expected = near.score(model, x, repetitions=3, seed=5).scores
    assert np.array_equal(near.score(model, batches, repetitions=3, seed=5).scores, expected)


@pytest.mark.parametrize(
    "make", [lambda x: DataLoader(x, batch_size=10), lambda x: iter(x.split(10))], ids=["sequential", "iterator"]
)
def test_inputs_that_repeat_their_samples_are_warned_about_when_shuffling(make):
    x = torch.randn(100, 8)
    with pytest.warns(near.SampleReuseWarning, match="same samples to every repetition"):
        near.score(mlp(), make(x), repetitions=2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", near.SampleReuseWarning)
        near.score(mlp(), make(x), repetitions=2, seed=0, shuffle=False)
        near.score(mlp(), DataLoader(x, batch_size=10, shuffle=True), repetitions=2, seed=0)


def test_factories_drawing_from_numpy_are_reproducible_and_the_global_state_is_restored():
    def numpy_mlp():
        model = mlp()
        with torch.no_grad():
            model[0].weight.copy_(torch.from_numpy(np.random.standard_normal((16, 8))))
        return model

    x = torch.randn(50, 8)
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    a = near.score(numpy_mlp, x, repetitions=2, seed=9)
    assert np.array_equal(before, np.random.get_state()[1])
    np.random.seed(2)
    assert np.array_equal(near.score(numpy_mlp, x, repetitions=2, seed=9).scores, a.scores)
    assert len(set(a.scores)) == 2
