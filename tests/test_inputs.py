"""Sample inputs: shuffling loaders are reproducible, lists are sampled like tensors, reuse is warned."""

import random
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

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
    "make",
    [
        lambda x: DataLoader(x, batch_size=10),
        lambda x: DataLoader(x, batch_size=10, sampler=range(len(x))),
        lambda x: iter(x.split(10)),
    ],
    ids=["sequential", "range-sampler", "iterator"],
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


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(8, 32), nn.Linear(32, 4)

    def forward(self, x):
        h = torch.relu(self.l1(x))
        return self.l2(h + torch.randn_like(h))


def test_randomness_inside_forward_is_seeded_and_contained():
    model, x = Noisy(), torch.randn(100, 8)
    state = torch.get_rng_state()
    first = near.score(model, x, seed=0, repetitions=2)
    assert torch.equal(state, torch.get_rng_state())
    assert np.array_equal(near.score(model, x, seed=0, repetitions=2).scores, first.scores)


def test_a_dataloader_with_its_own_generator_is_reproducible_and_its_generator_untouched():
    g = torch.Generator().manual_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(500, 8)), batch_size=16, shuffle=True, generator=g)
    model, state = mlp(), g.get_state()
    first = near.score(model, loader, seed=0, repetitions=3, reinit=False)
    assert torch.equal(state, g.get_state())
    assert np.array_equal(near.score(model, loader, seed=0, repetitions=3, reinit=False).scores, first.scores)
    assert len(set(first.scores)) == 3


class ScalesItsInputInPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear, self.act = nn.Linear(8, 16), nn.Tanh()

    def forward(self, x):
        x.mul_(10)
        return self.act(self.linear(x))


def test_a_model_changing_its_input_in_place_never_changes_the_samples():
    torch.manual_seed(0)
    model, x = ScalesItsInputInPlace(), torch.randn(100, 8)
    options = dict(seed=0, repetitions=3, shuffle=False, reinit=False)
    expected = near.score(model, x, **options).scores
    assert np.ptp(expected) == 0
    assert np.array_equal(near.score(model, iter([x[:50], x[50:]]), **options).scores, expected)


def test_a_tuple_is_one_inputs_labels_pair_and_nested_lists_are_an_array():
    model, x, y = mlp(), torch.randn(40, 8, dtype=torch.float64), torch.randn(40, 3)
    expected = near.score(model, x, seed=0, repetitions=2).scores
    assert np.array_equal(near.score(model, (x, y), seed=0, repetitions=2).scores, expected)
    assert np.array_equal(near.score(model, x.tolist(), seed=0, repetitions=2).scores, expected)
    tokens = torch.randint(0, 50, (12, 6))
    embed = nn.Sequential(nn.Embedding(50, 16), nn.Linear(16, 16))
    assert near.score(embed, tokens.tolist(), seed=0).batch_size == 3  # 16 neurons over 6 positions
    assert np.array_equal(near.score(model, (x.tolist(), y), seed=0, repetitions=2).scores, expected)
    with pytest.raises(near.InputError, match="ragged"):
        near.score(model, [[1.0, 2.0], [3.0]])


def test_a_list_made_from_a_dataloader_is_a_list_of_batches():
    model, x, y = mlp(), torch.randn(40, 8), torch.randint(0, 3, (40,))
    expected = near.score(model, x, seed=0, repetitions=2).scores
    for data in (TensorDataset(x, y), TensorDataset(x)):
        batches = list(DataLoader(data, batch_size=10))
        assert np.array_equal(near.score(model, batches, seed=0, repetitions=2).scores, expected)


def test_a_random_batch_sampler_is_not_mistaken_for_repeated_samples():
    data = torch.randn(100, 8)
    loader = DataLoader(data, batch_sampler=BatchSampler(RandomSampler(data), 16, drop_last=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", near.SampleReuseWarning)
        near.score(mlp(), loader, repetitions=2, seed=0)


def test_a_list_of_one_dimensional_tensors_is_refused_as_ambiguous():
    x = torch.randn(40, 8)
    for items in (list(x), list(x.numpy()), [(row, 0) for row in x], list(DataLoader(torch.randn(40), batch_size=8))):
        with pytest.raises(near.InputError, match=r"pass torch.stack\(items\) if each item is one sample"):
            near.score(mlp(), items)


class ShufflingBatches:
    """A custom batch sampler (no .sampler attribute) that shuffles."""

    def __init__(self, n, size):
        self.n, self.size = n, size

    def __iter__(self):
        order = torch.randperm(self.n).tolist()
        return iter([order[i : i + self.size] for i in range(0, self.n, self.size)])

    def __len__(self):
        return -(-self.n // self.size)


def test_a_custom_batch_sampler_is_not_assumed_to_repeat_its_samples():
    data = torch.randn(100, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", near.SampleReuseWarning)
        near.score(mlp(), DataLoader(data, batch_sampler=ShufflingBatches(100, 16)), repetitions=2, seed=0)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_sparse_inputs_are_refused_with_what_to_do_and_the_finiteness_check_sees_every_dtype():
    from near.errors import InputError
    from near.inputs import _all_finite

    net = nn.Sequential(nn.Linear(6, 4), nn.ReLU())
    x = torch.randn(16, 6)
    for sparse in (x.to_sparse(), x.to_sparse_csr()):
        with pytest.raises(InputError, match=r"inputs must be a dense tensor; got a sparse_\w+ one: pass x.to_dense"):
            near.score(net, sparse, seed=0)
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        assert _all_finite(x.to(dtype)) and _all_finite(torch.empty(0, 3, dtype=dtype))
        for bad in (float("nan"), float("inf"), -float("inf")):
            y = x.to(dtype, copy=True)
            y[7, 3] = bad
            assert not _all_finite(y), (dtype, bad)
