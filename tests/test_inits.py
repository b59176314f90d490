import math

import pytest
import torch
from torch import nn

from near import OptionError
from near.inits import INIT_NAMES, get_init


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
