import math
import warnings

import pytest
import torch
from torch import nn

from near import OptionError, ReinitWarning
from near.inits import INIT_NAMES, bind_init, get_init, non_default_layers, reset_to_default


def net():
    return nn.Sequential(nn.Linear(50, 40), nn.ReLU(), nn.Conv1d(4, 6, 3), nn.LayerNorm(6))


@pytest.mark.parametrize("name", INIT_NAMES)
def test_every_named_scheme_redraws_weights_and_keeps_norm_defaults(name):
    model = net()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    get_init(name)(model)
    assert not torch.any(model[0].weight == 7.0) and not torch.any(model[2].weight == 7.0)
    assert torch.all(model[3].weight == 1.0) and torch.all(model[3].bias == 0.0)


def test_schemes_draw_from_the_named_distribution():
    model = net()
    torch.manual_seed(0)
    get_init("uniform")(model)
    assert 0 <= model[0].weight.min() and model[0].weight.max() <= 1
    get_init("xavier_uniform")(model)
    assert model[0].weight.abs().max() <= math.sqrt(6 / (50 + 40))
    get_init("orthogonal")(model)
    w = model[0].weight
    assert torch.allclose(w @ w.T, torch.eye(40), atol=1e-5)
    get_init("kaiming_uniform")(model)  # PyTorch's own default for Linear: bound 1/sqrt(fan_in)
    assert model[0].weight.abs().max() <= 1 / math.sqrt(50)


def test_callables_pass_through_and_unknown_names_are_rejected():
    def custom(model):
        return None

    assert get_init(custom) is custom
    with pytest.raises(OptionError, match="unknown init 'glorot'"):
        get_init("glorot")


def test_the_default_check_accepts_default_weights_in_every_dtype_and_kind_of_layer():
    for seed in range(20):
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Conv2d(64, 128, 3), nn.Conv2d(8, 8, 3, groups=8), nn.ConvTranspose2d(8, 4, 3, groups=2),
            nn.Conv1d(3, 5, 1), nn.Conv3d(2, 4, 3), nn.Linear(768, 3072), nn.Linear(3, 4), nn.Linear(288, 2),
        )  # fmt: skip
        for dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
            assert non_default_layers(model.to(dtype)) == [], (seed, dtype)


def test_the_default_check_leaves_modules_with_their_own_scheme_and_unmaterialised_weights_alone():
    assert non_default_layers(nn.Transformer(32, 4, 1, 1, 64, batch_first=True)) == []
    assert non_default_layers(nn.Sequential(nn.LazyLinear(16), nn.ReLU())) == []
    assert non_default_layers(nn.Linear(8, 4).to("meta")) == []


def test_the_default_reset_keeps_a_parents_own_scheme():
    transformer = nn.Transformer(32, 4, 1, 1, 64, batch_first=True)
    reset_to_default(transformer)
    xavier_bound = math.sqrt(6 / (32 + 64))
    linear = transformer.encoder.layers[0].linear1.weight
    assert linear.abs().max() <= xavier_bound and linear.abs().max() > 1 / math.sqrt(32)  # beyond kaiming's bound
    assert torch.all(transformer.encoder.layers[0].self_attn.out_proj.bias == 0)


def test_the_default_check_skips_tied_weights_and_layers_with_their_own_reset():
    class TruncLinear(nn.Linear):
        def reset_parameters(self):
            nn.init.trunc_normal_(self.weight, std=0.02)

    class TiedLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.head = nn.Embedding(100, 32), nn.Linear(32, 100, bias=False)
            self.head.weight = self.emb.weight

    assert non_default_layers(nn.Sequential(TruncLinear(64, 64))) == []
    assert non_default_layers(TiedLM()) == []


def test_a_single_random_parameter_without_a_reset_is_warned_about():
    class Temperature(nn.Module):
        def __init__(self):
            super().__init__()
            self.t = nn.Parameter(torch.rand(1) * 5 + 0.5)

    with pytest.warns(ReinitWarning, match=r"\['1'\] have parameters but no reset_parameters"):
        reset_to_default(nn.Sequential(nn.Linear(8, 8), Temperature()))


def test_constant_parameters_without_a_reset_are_kept_without_a_warning():
    class RMSNorm(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reset_to_default(nn.Sequential(nn.Linear(8, 8), RMSNorm(8)))


def test_the_planned_default_reset_draws_bit_for_bit_what_reset_parameters_draws():
    class OwnReset(nn.Module):  # a custom module with its own scheme
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.empty(5, 3))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.normal_(self.w, std=0.1)

    class NarrowLinear(nn.Linear):  # a stock layer's subclass overriding the reset
        def reset_parameters(self):
            nn.init.uniform_(self.weight, -0.01, 0.02)

    class Block(nn.Module):  # a parent whose own reset runs after (and wins over) its children's
        def __init__(self):
            super().__init__()
            self.conv, self.norm = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)

        def reset_parameters(self):
            nn.init.constant_(self.norm.weight, 0.5)

    def build():
        torch.manual_seed(0)
        shared = nn.Linear(6, 6)
        model = nn.Sequential(
            nn.Linear(7, 6), nn.Conv1d(2, 3, 4), nn.Conv2d(3, 5, (2, 3), groups=1), nn.BatchNorm1d(3),
            nn.BatchNorm2d(5, affine=False), nn.BatchNorm2d(5, track_running_stats=False), nn.LayerNorm(6),
            OwnReset(), NarrowLinear(4, 3), Block(), shared, nn.Sequential(shared), nn.Linear(3, 2, bias=False),
            nn.Conv2d(4, 4, 1).to(memory_format=torch.channels_last), nn.ConvTranspose1d(3, 2, 2),
            nn.Linear(2, 2).double(), nn.Linear(0, 3),
        )  # fmt: skip
        with torch.no_grad():
            for tensor in (*model.parameters(), *model.buffers()):
                tensor.fill_(3)  # so that a tensor left out shows
        return model

    reference, model = build(), build()
    reset = bind_init(reset_to_default, model)
    for seed in range(3):  # the plan is reused, as in NEAR's repetitions
        torch.manual_seed(seed)
        for module in reversed(list(reference.modules())):  # what reset_to_default stands for
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        expected_rng = torch.get_rng_state()
        torch.manual_seed(seed)
        reset()
        assert torch.equal(torch.get_rng_state(), expected_rng)  # the same draws, no more, no fewer
        for (name, a), b in zip(reference.state_dict().items(), model.state_dict().values()):
            assert a.dtype == b.dtype and torch.equal(a, b), name
    assert torch.all(model[9].norm.weight == 0.5) and torch.all(model[9].norm.bias == 0)


@pytest.mark.parametrize("name", INIT_NAMES)
def test_a_bound_scheme_draws_what_the_scheme_draws(name):
    reference, model = net(), net()
    torch.manual_seed(1)
    get_init(name)(reference)
    torch.manual_seed(1)
    bind_init(get_init(name), model)()
    for a, b in zip(reference.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
