"""Every bad input gets a specific error that says what to change, and nothing outlives a failed call."""

import numpy as np
import pytest
import torch
from torch import nn

import near
from near import (
    InputError,
    InsufficientSamplesError,
    ModelError,
    NearError,
    NonFiniteActivationError,
    NonFiniteActivationWarning,
    NoScorableLayerError,
    OptionError,
    ZeroMatrixWarning,
)


def mlp(hidden=200):
    return nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, 4))


def test_too_few_samples_says_how_many_each_layer_needs():
    with pytest.raises(InsufficientSamplesError) as error:
        near.score(mlp(200), torch.randn(150, 8))
    message = str(error.value)
    assert "needs 200 samples per forward pass but 150 were given" in message
    assert "'0' (200 neurons) needs 200" in message and "'2' (4 neurons) needs 4" in message


def test_too_few_samples_from_an_iterable_names_the_layers_and_the_remedy():
    loader = torch.utils.data.DataLoader(torch.randn(30, 8), batch_size=10)
    with pytest.raises(InsufficientSamplesError) as error:
        near.score(mlp(200), loader)
    message = str(error.value)
    assert "needs 200 samples per forward pass but the inputs yielded only 30 samples" in message
    assert "'0' (200 neurons) needs 200" in message and "Pass at least 200 samples" in message


def test_too_few_samples_in_a_list_of_batches():
    with pytest.raises(InsufficientSamplesError, match="needs 200 samples per forward pass but 30 were given"):
        near.score(mlp(200), [torch.randn(10, 8)] * 3)


def test_restricting_layers_lowers_the_samples_needed():
    result = near.score(mlp(200), torch.randn(150, 8), layers=["2"])
    assert [layer.name for layer in result.layers] == ["2"]


@pytest.mark.parametrize(
    "model, options",
    [(nn.Sequential(nn.Flatten()), {}), (mlp(16), {"layers": ["no-such-layer"]})],
)
def test_no_scorable_layer(model, options):
    with pytest.raises(NoScorableLayerError, match="no layer of the model can be scored"):
        near.score(model, torch.randn(40, 8), **options)


@pytest.mark.parametrize(
    "inputs, message",
    [
        (torch.empty(0, 8), "empty"),
        ([], "no samples"),
        (np.array([["a", "b"]] * 20), "numeric"),
        ("data.csv", "not supported"),
        (42, "not supported"),
        ([torch.randn(2, 8), torch.randn(5, 3)], "inconsistent shapes"),
    ],
)
def test_unusable_inputs(inputs, message):
    with pytest.raises(InputError, match=message):
        near.score(mlp(4), inputs)


def test_wrongly_shaped_inputs_wrap_the_models_error_with_context():
    with pytest.raises(ModelError, match=r"shape \(2, 5\).*Check that the inputs") as error:
        near.score(mlp(4), torch.randn(30, 5))
    assert isinstance(error.value.__cause__, RuntimeError)


def test_bad_model_arguments():
    with pytest.raises(ModelError, match="nn.Module or a callable"):
        near.score("resnet", torch.randn(10, 8))
    with pytest.raises(ModelError, match="must return an nn.Module"):
        near.score(lambda: 3, torch.randn(10, 8))
    with pytest.raises(ModelError, match="factory raised ValueError: boom"):
        near.score(lambda: (_ for _ in ()).throw(ValueError("boom")), torch.randn(10, 8))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"repetitions": 0}, "repetitions must be a positive integer"),
        ({"repetitions": 2.5}, "repetitions"),
        ({"seed": -1}, "seed"),
        ({"batchnorm": "train"}, "batchnorm must be one of"),
        ({"nonfinite": "ignore"}, "nonfinite"),
        ({"batch_size": 2}, "batch_size=2 is smaller than the 16 samples"),
        ({"init": "he"}, "unknown init 'he'; choose one of default, kaiming_uniform"),
        ({"sequence_layout": "NLC"}, "sequence_layout"),
        ({"activations": [nn.ReLU()]}, "pass ReLU, not an instance"),
        ({"activations": 5}, "nn.Module subclasses"),
        ({"svd_dtype": torch.float16}, "svd_dtype must be torch.float32 or torch.float64"),
        ({"memory_format": "nhwc"}, "memory_format must be one of .'auto', 'channels_last', 'preserve'., got 'nhwc'"),
        ({"layers": [0, 2]}, "layers must be a glob pattern or a list of them"),
        ({"exclude": None}, "exclude must be a glob pattern"),
        ({"reinit": False, "init": "orthogonal"}, "init= with reinit=False would be ignored"),
        ({"batch_size": 60}, "batch_size=60 is more than the 40 samples given"),
        ({"activations": "relu"}, "nn.Module subclasses, got 'relu'"),
        ({"reinit": "no"}, "reinit must be True or False, got 'no'"),
        ({"device": "meta"}, "device='meta' holds no values"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(OptionError, match=message):
        near.score(mlp(16), torch.randn(40, 8), **options)


def test_an_init_function_that_fails_is_a_model_error():
    def broken(module):
        raise KeyError("weight")

    with pytest.raises(ModelError, match="the init function 'broken' raised KeyError"):
        near.score(mlp(16), torch.randn(40, 8), init=broken)


def test_options_accept_numpy_integers_and_a_single_activation_class():
    class Scale(nn.Module):
        def forward(self, x):
            return 2 * x

    model = nn.Sequential(nn.Linear(8, 16), Scale())
    result = near.score(model, torch.randn(40, 8), seed=np.int64(3), repetitions=np.int32(2), activations=Scale)
    assert result.seed == 3 and type(result.seed) is int
    assert [(layer.name, layer.kind) for layer in result.layers] == [("0", "pre"), ("1", "post")]


def test_batchnorm_errors_name_batchnorm_as_the_cause():
    model = nn.Sequential(nn.Linear(8, 1), nn.BatchNorm1d(1), nn.ReLU())
    with pytest.raises(OptionError, match="smaller than the 2 samples BatchNorm needs for batch statistics"):
        near.score(model, torch.randn(40, 8), batch_size=1)
    with pytest.raises(ModelError, match="pass more samples, or batchnorm='running' or 'sample'"):
        near.score(model, torch.randn(1, 8))


def test_a_model_differentiating_inside_forward_is_pointed_to_autograd():
    class Forces(nn.Module):
        def __init__(self):
            super().__init__()
            self.energy = nn.Linear(6, 1)

        def forward(self, x):
            return -torch.autograd.grad(self.energy(x).sum(), x)[0]

    with pytest.raises(ModelError, match="pass autograd=True"):
        near.score(Forces(), torch.randn(10, 6))


def test_a_model_on_the_meta_device_is_a_model_error():
    with pytest.raises(ModelError, match="meta device"):
        near.score(mlp(16).to("meta"), torch.randn(40, 8), reinit=False)


def test_batchnorm_sample_mode_needs_spatial_axes():
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
    with pytest.raises(OptionError, match="batchnorm='sample' needs spatial"):
        near.score(model, torch.randn(40, 8), batchnorm="sample")


def test_nan_activations_raise_or_are_excluded_with_a_warning():
    model = mlp(16)
    with torch.no_grad():
        model[2].weight[0, 0] = float("inf")
    x = torch.randn(40, 8)
    with pytest.raises(NonFiniteActivationError, match="layer '2' produced NaN"):
        near.score(model, x, reinit=False)
    with pytest.warns(NonFiniteActivationWarning, match="excluded"):
        result = near.score(model, x, reinit=False, nonfinite="warn")
    assert [layer.name for layer in result.layers] == ["0", "1"]
    assert result.skipped["2"] == "NaN or infinite activations"


def test_a_repetition_with_every_layer_non_finite_raises_even_when_warning():
    model = mlp(16)
    with torch.no_grad():
        model[0].weight.fill_(float("inf"))
    with pytest.raises(NonFiniteActivationError, match="every scored layer"), pytest.warns(NonFiniteActivationWarning):
        near.score(model, torch.randn(40, 8), reinit=False, nonfinite="warn")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_inputs_are_an_input_error(bad):
    x = torch.randn(40, 8)
    x[3, 2] = bad
    with pytest.raises(InputError, match="must contain no NaN or infinite values"):
        near.score(mlp(16), x)


def test_all_zero_matrix_contributes_zero_with_a_warning():
    model = mlp(16)
    nn.init.zeros_(model[0].weight)
    nn.init.constant_(model[0].bias, -1.0)  # every ReLU output is 0
    with pytest.warns(ZeroMatrixWarning, match=r"\['1'\]"):
        result = near.score(model, torch.randn(40, 8), reinit=False)
    assert {layer.name: layer.erank for layer in result.layers}["1"] == 0.0


def test_every_error_is_a_near_error_and_a_builtin_kind():
    assert issubclass(InsufficientSamplesError, NearError) and issubclass(InsufficientSamplesError, ValueError)
    assert issubclass(ModelError, RuntimeError)


class Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls > 1:  # the probe passes, the scoring pass fails
            raise RuntimeError("fails mid-way")
        return torch.relu(self.fc(x))


def test_nothing_outlives_a_failing_call():
    built = []

    def factory():
        built.append(Exploding())
        return built[-1]

    with pytest.raises(ModelError, match="fails mid-way"):
        near.score(factory, torch.randn(20, 8))
    assert built and not any(m._forward_hooks or m._forward_pre_hooks for net in built for m in net.modules())
    assert all(net.training for net in built)
    assert torch._C._len_torch_function_stack() == 0
    assert torch.is_grad_enabled()
