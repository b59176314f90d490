"""Which layers are scored and where their neurons are: custom modules, NHWC maps, in-place activations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import near
from near.capture import Capture
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
    # copied before ReLU overwrote it (to 1e-7: rank 11 of 24, whose zero singular values the Gram route
    # NEAR takes gives as noise of 1e-8 of the largest)
    assert result.layers[0].erank == pytest.approx(pre, rel=1e-7)


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


class HandWrittenLayerNorm(nn.Module):
    """ConvNeXt's own LayerNorm over the last axis, applied to NHWC maps."""

    def __init__(self, d):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias)


class LayerNorm2d(nn.LayerNorm):
    """timm-style LayerNorm that takes and returns NCHW maps."""

    def forward(self, x):
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.dwconv = nn.Conv2d(d, d, 7, padding=3, groups=d)
        self.norm = HandWrittenLayerNorm(d)
        self.pwconv1, self.pwconv2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        return x + self.pwconv2(F.gelu(self.pwconv1(y))).permute(0, 3, 1, 2)


def test_the_size_of_a_layers_weight_decides_where_its_neurons_are():
    net = nn.Sequential(nn.Conv2d(3, 16, 2, stride=2), LayerNorm2d(16), ConvNeXtBlock())
    result = near.score(net, torch.randn(8, 3, 16, 16), seed=0, reinit=False)
    sizes = {layer.name: layer.size for layer in result.layers}
    assert sizes == {"0": 16, "1": 16, "2.dwconv": 16, "2.norm": 16, "2.pwconv1": 64, "2.gelu()": 64, "2.pwconv2": 16}


def test_a_layernorm2d_on_maps_as_wide_as_its_channels_keeps_channels_as_neurons():
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), LayerNorm2d(16), nn.GELU(), nn.Conv2d(16, 16, 1))
    with Capture(net) as capture:  # 16 channels on 16 x 16 maps: sizes alone cannot tell the layout
        capture.forward(torch.randn(2, 3, 16, 16), probe=True)
    assert [(info.name, info.layout.channels_first) for info in capture.infos] == [
        ("0", True), ("1", True), ("2", True), ("3", True),
    ]  # fmt: skip


def test_layernorm_over_channels_and_map_keeps_channels_as_neurons():
    net = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.LayerNorm([32, 16, 16]), nn.ReLU())
    result = near.score(net, torch.randn(8, 3, 16, 16), seed=0)
    assert [layer.size for layer in result.layers] == [32, 32, 32]


def test_selecting_layers_does_not_change_the_layout_of_those_kept():
    net, x = nn.Sequential(nn.Conv2d(3, 16, 2, stride=2), ConvNeXtBlock()), torch.randn(8, 3, 16, 16)
    everything = {layer.name: layer for layer in near.score(net, x, seed=0, reinit=False, shuffle=False).layers}
    only = near.score(net, x, seed=0, reinit=False, shuffle=False, layers="*gelu*").layers
    assert [(layer.name, layer.size) for layer in only] == [("1.gelu()", 64)]
    assert only[0].erank == pytest.approx(everything["1.gelu()"].erank, rel=1e-12)


class DenseWithDropout(Dense):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return self.drop(super().forward(x))


def test_weighted_user_module_with_unscored_children_is_still_one_layer():
    result = near.score(nn.Sequential(DenseWithDropout(8, 32), nn.Linear(32, 4)), torch.randn(100, 8), reinit=False)
    assert [(layer.name, layer.kind) for layer in result.layers] == [("0", "post"), ("1", "pre")]


class ConvexNet(nn.Module):
    """An input-convex network: softplus is applied to a 32 x 32 weight as well as to activations."""

    def __init__(self):
        super().__init__()
        self.inp, self.out = nn.Linear(8, 32), nn.Linear(32, 1)
        self.hidden_weight = nn.Parameter(torch.randn(32, 32) * 0.1)

    def forward(self, x):
        z = F.softplus(self.inp(x))
        return self.out(F.softplus(F.linear(z, F.softplus(self.hidden_weight))))


def test_activations_of_parameters_are_never_scored_even_when_their_size_matches_the_batch():
    result = near.score(ConvexNet(), torch.randn(200, 8), seed=0, reinit=False)
    assert result.batch_size == 32
    assert [layer.name for layer in result.layers] == ["inp", "softplus()", "softplus()#3", "out"]
    assert "does not follow the batch size" in result.skipped["softplus()#2"]


class Gate(nn.Module):
    """Scales by a learned, squashed gate: an activation of a parameter, not of the data."""

    def __init__(self, d):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return x * torch.sigmoid(self.alpha)


def test_a_module_applying_an_activation_only_to_its_parameters_is_not_an_activation():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), Gate(16), nn.Linear(16, 4))
    result = near.score(model, torch.randn(40, 8), seed=0, reinit=False)
    assert [layer.name for layer in result.layers] == ["0", "1", "3"]


class ParameterShapedLikeTheProbe(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.alpha = nn.Linear(8, 4), nn.Parameter(torch.zeros(2, 300))

    def forward(self, x):
        return self.fc(x) + torch.sigmoid(self.alpha).mean()


def test_a_parameter_whose_first_axis_matches_a_probe_batch_is_not_a_layer():
    result = near.score(ParameterShapedLikeTheProbe(), torch.randn(100, 8), seed=0, reinit=False)
    assert [layer.name for layer in result.layers] == ["fc"] and result.batch_size == 4


class Branching(nn.Module):
    """Takes a different layer on batches larger than the probe's."""

    def __init__(self):
        super().__init__()
        self.small, self.large = nn.Linear(8, 2), nn.Linear(8, 16)

    def forward(self, x):
        return torch.relu(self.small(x) if x.shape[0] <= 3 else self.large(x)).sum(1)


def test_layers_the_probe_did_not_reach_are_scored_and_never_reported_as_never_called():
    result = near.score(Branching(), torch.randn(100, 8), seed=0, reinit=False, batch_size=16)
    assert [layer.name for layer in result.layers] == ["large", "relu()"]
    assert result.skipped == {"small": "never called"}
    with pytest.raises(near.InsufficientSamplesError, match="pass batch_size=16 or more"):
        near.score(Branching(), torch.randn(100, 8), seed=0, reinit=False, batch_size=4)


class QuickGELU(nn.Module):
    """CLIP's own activation, applied to sequence-first (L, N, D) or flattened data."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class FlatSiLU(nn.Module):
    def forward(self, x):
        return F.silu(x.reshape(-1, x.shape[-1])).reshape(x.shape)


@pytest.mark.parametrize("activation", [QuickGELU, FlatSiLU])
def test_custom_activations_count_on_sequence_first_and_reshaped_data(activation):
    class SequenceFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(16, 16), activation()

        def forward(self, x):  # (N, L, D) -> (L, N, D)
            return self.act(self.fc(x.transpose(0, 1)))

    result = near.score(SequenceFirst(), torch.randn(20, 5, 16), seed=0)
    assert [(layer.name, layer.kind, layer.size) for layer in result.layers] == [("fc", "pre", 16), ("act", "post", 16)]


class PositiveLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.1)

    def forward(self, x):
        return F.linear(x, F.softplus(self.weight))


def test_an_activation_of_a_weight_inside_a_layer_is_never_a_layer_even_at_the_batch_size():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), PositiveLinear(16, 16), nn.Tanh())
    result = near.score(model, torch.randn(100, 8), seed=0, reinit=False)
    assert result.batch_size == 16  # softplus(W) is 16 x 16, like a 16-sample activation
    assert [(layer.name, layer.kind) for layer in result.layers] == [
        ("0", "pre"),
        ("1", "post"),
        ("2", "pre"),
        ("3", "post"),
    ]


class SigmoidGateOnParameter(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.gate, self.alpha = nn.Linear(8, 4), nn.Sigmoid(), nn.Parameter(torch.zeros(2, 300))

    def forward(self, x):
        return self.fc(x) * self.gate(self.alpha).mean()


def test_an_activation_module_applied_to_a_parameter_shaped_like_the_probe_is_not_a_layer():
    result = near.score(SigmoidGateOnParameter(), torch.randn(100, 8), seed=0, reinit=False)
    assert [layer.name for layer in result.layers] == ["fc"] and result.batch_size == 4


class Pairs(nn.Module):
    """Needs an even batch: it pairs up consecutive samples."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(8, 16)

    def forward(self, x):
        return F.relu(self.enc(x)).view(-1, 2, 16).sum(1)


class GatedPairs(Pairs):
    def __init__(self):
        super().__init__()
        self.gate = Gate(16)

    def forward(self, x):
        return F.relu(self.gate(self.enc(x))).view(-1, 2, 16).sum(1)


def test_a_model_that_cannot_run_the_second_probe_batch_is_still_scored():
    result = near.score(Pairs(), torch.randn(64, 8), seed=0, batch_size=16)
    assert [layer.name for layer in result.layers] == ["enc", "relu()"]
    gated = near.score(GatedPairs(), torch.randn(64, 8), seed=0, batch_size=16, reinit=False)
    assert [layer.name for layer in gated.layers] == ["enc", "relu()"]  # the gate of a parameter stays absorbed


class StdConv2d(nn.Conv2d):
    """BiT/timm weight-standardised convolution: a user subclass of a built-in layer."""

    def forward(self, x):
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class HandWrittenLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / n_in**0.5)

    def forward(self, x):
        return x @ self.weight.T


def test_subclasses_and_hand_written_layers_find_their_neurons():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.mix, self.dw = (
                StdConv2d(3, 32, 3, padding=1),
                HandWrittenLinear(32, 64),
                StdConv2d(64, 64, 3, padding=1, groups=64),
            )

        def forward(self, x):
            y = self.mix(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            return self.dw(y)

    result = near.score(Net(), torch.randn(10, 3, 8, 8), seed=0, reinit=False)
    assert [(layer.name, layer.size) for layer in result.layers] == [("conv", 32), ("mix", 64), ("dw", 64)]
