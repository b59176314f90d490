"""Which layers are scored and where their neurons are: custom modules, NHWC maps, in-place activations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import near
from reference import reference_near


class Dense(nn.Module):
    """A hand-written layer that applies its activation inside: ``relu(x W^T)``."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / n_in**0.5)

    def forward(self, x):
        return F.relu(x @ self.weight.T)


class LearnableSwish(nn.Module):
    def __init__(self):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


def test_weighted_user_module_with_an_inner_activation_is_one_post_activation_layer():
    torch.manual_seed(0)
    model, x = nn.Sequential(Dense(8, 16), nn.Linear(16, 4)), torch.randn(30, 8)
    result = near.score(model, x, reinit=False, shuffle=False)
    assert [(layer.name, layer.kind) for layer in result.layers] == [("0", "post"), ("1", "pre")]
    with torch.no_grad():
        expected = [near.effective_rank(model[0](x[:16])), near.effective_rank(model[1](model[0](x[:4])))]
    assert [layer.erank for layer in result.layers] == pytest.approx(expected, rel=1e-12)


def test_custom_activation_with_a_learnable_parameter_counts_once():
    model = nn.Sequential(nn.Linear(8, 16), LearnableSwish(), nn.Linear(16, 4))
    result = near.score(model, torch.randn(30, 8), seed=0, repetitions=2, reinit=False)
    assert [(layer.name, layer.kind) for layer in result.layers] == [("0", "pre"), ("1", "post"), ("2", "pre")]


class ConvNeXtLike(nn.Module):
    """Conv on NCHW, then LayerNorm / Linear / GELU on NHWC, then back: neurons move with the layout."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8)
        self.up, self.act, self.down = nn.Linear(8, 24), nn.GELU(), nn.Linear(24, 8)

    def forward(self, x):
        x = self.conv(x).permute(0, 2, 3, 1)
        x = self.down(self.act(self.up(self.norm(x))))
        return x.permute(0, 3, 1, 2)


def test_linear_layers_on_nhwc_maps_have_their_neurons_on_the_last_axis():
    result = near.score(ConvNeXtLike(), torch.randn(6, 3, 4, 4), seed=0)
    assert {layer.name: layer.size for layer in result.layers} == {"conv": 8, "norm": 8, "up": 24, "act": 24, "down": 8}
    assert result.batch_size == 2  # 24 neurons over 16 positions


def test_in_place_relu_mlp_equals_the_authors_algorithm():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(10, 24), nn.ReLU(inplace=True), nn.Linear(24, 12), nn.ReLU(inplace=True))
    x = torch.randn(40, 10)
    result = near.score(model, x, shuffle=False, reinit=False)
    assert float(result) == pytest.approx(reference_near(model, x, np.random.default_rng(0)), rel=1e-6)
    with torch.no_grad():
        pre = near.effective_rank(model[0](x[:24]))
    assert result.layers[0].erank == pytest.approx(pre, rel=1e-12)  # copied before ReLU overwrote it


def test_layers_matching_nothing_lists_the_layer_names():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    with pytest.raises(near.NoScorableLayerError, match=r"the layers are '0', '1', '2'"):
        near.score(model, torch.randn(30, 8), layers="fc*")


class ForceField(nn.Module):
    """Forces as the negative gradient of an MLP energy: differentiates inside ``forward``."""

    def __init__(self):
        super().__init__()
        self.energy = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, positions):
        energy = self.energy(positions).sum()
        return -torch.autograd.grad(energy, positions, create_graph=self.training)[0]


def test_models_that_differentiate_inside_forward_need_autograd_and_leave_no_graph():
    model = ForceField()
    with pytest.raises(near.ModelError, match="does not require grad"):
        near.score(model, torch.randn(30, 6), seed=0)
    result = near.score(model, torch.randn(30, 6), seed=0, autograd=True)
    assert [layer.name for layer in result.layers] == ["energy.0", "energy.1", "energy.2"]
    assert all(p.grad is None for p in model.parameters())
