"""Every registered proxy against bad inputs, failing models and bad options (parametrised by the registry,
so a new proxy is covered without editing this file).

The standard is :func:`near.score`'s: bad input is a :class:`~near.errors.NearError` that says what to
change, never a bare torch error and never a plausible number; ``on_error="nan"`` gives each proxy that
cannot be computed a NaN with its reason and computes the others; the caller's model and random
generators are exactly as they were.
"""

from __future__ import annotations

import inspect
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

import near.proxies as proxies
from near.errors import InputError, ModelError, NearError, OptionError

NAMES = proxies.available()
DATA_FREE = [name for name in NAMES if not proxies.info(name).uses_data]
LABELLED = [name for name in NAMES if proxies.info(name).needs_labels]
CLASSES = 4
#: Cheap settings for options named like these (whatever proxy has them): small work, every sample used.
FAST = {"repeats": 2, "repetitions": 1, "split": 2, "batch_size": 16}


def fast_options(name: str) -> dict:
    return {option: FAST[option] for option in proxies.info(name).options if option in FAST}


def fast_many(names=NAMES) -> dict[str, dict]:
    return {name: fast_options(name) for name in names}


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, CLASSES),
    )


def data(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 8, 8, generator=generator), torch.arange(n) % CLASSES


@pytest.fixture(scope="module")
def clean() -> dict[str, float]:
    """Every proxy's value on the clean data (the reference the other cases are compared with)."""
    x, y = data()
    values = proxies.compute_many(NAMES, cnn(), x, y, options=fast_many())
    assert all(math.isfinite(v) for v in values.values()), {n: v.reason for n, v in values.items()}
    return values


def poisoned(value: float) -> torch.Tensor:
    x, _ = data()
    x[3, 1, 2, 5] = value
    return x


BAD_INPUTS = {
    "nan": (lambda: poisoned(math.nan), "NaN or infinite"),
    "inf": (lambda: poisoned(math.inf), "NaN or infinite"),
    "-inf": (lambda: poisoned(-math.inf), "NaN or infinite"),
    "inf in one of several batches": (lambda: [data()[0][8:], poisoned(math.inf)[:8]], "NaN or infinite"),
    "sparse": (lambda: data()[0].reshape(16, -1).to_sparse(), "dense"),
    "complex": (lambda: data()[0].to(torch.complex64), "real-valued"),
    "strings": (lambda: np.array([["a", "b"]] * 16), "numeric"),
    "objects": (lambda: np.array([{"a": 1}] * 16, dtype=object).reshape(16, 1), "numeric"),
    "one-dimensional": (lambda: torch.randn(16), "sample axis"),
    "empty": (lambda: torch.randn(0, 3, 8, 8), "sample axis"),
    "ragged batches": (lambda: [torch.randn(8, 3, 8, 8), torch.randn(8, 3, 4, 4)], "different shapes"),
    "ragged nested lists": (lambda: [[1.0, 2.0], [3.0]], "ragged"),
    "not data": (lambda: 42, "iterable of batches"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise_an_input_error_before_any_work(name, case):
    make, message = BAD_INPUTS[case]
    with pytest.raises(InputError, match=message):
        proxies.compute(name, cnn(), make(), **fast_options(name))


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_give_nan_with_the_reason_and_leave_what_reads_no_data(case, clean):
    make, message = BAD_INPUTS[case]
    try:
        values = proxies.compute_many(NAMES, cnn(), make(), on_error="nan", options=fast_many())
    except InputError as error:  # the inputs cannot even be read as batches: nothing to compute
        assert message in str(error)
        return
    for name, value in values.items():
        if math.isfinite(value):  # never a number made from these inputs
            assert name in DATA_FREE and value == clean[name], name
        else:
            assert message in value.reason and value.reason.startswith(name), (name, value.reason)


@pytest.mark.parametrize("name", NAMES)
def test_nan_and_inf_inputs_never_give_a_finite_value(name):
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(InputError):
            proxies.compute(name, cnn(), poisoned(value), data()[1], **fast_options(name))


def test_a_nested_list_of_numbers_is_one_array_as_near_score_reads_it_and_huge_seeds_work():
    x, y = data()
    seed = 2**70
    expected = proxies.compute_many(NAMES, cnn(), x, y, seed=seed, options=fast_many())
    values = proxies.compute_many(NAMES, cnn(), x.tolist(), y.tolist(), seed=seed, options=fast_many())
    assert all(math.isfinite(v) for v in expected.values()), {n: v.reason for n, v in expected.items()}
    assert {n: float(v) for n, v in values.items()} == pytest.approx({n: float(v) for n, v in expected.items()})
    numpy_seed = proxies.compute_many(NAMES, cnn(), x, y, seed=np.int64(2**62), options=fast_many())
    python_seed = proxies.compute_many(NAMES, cnn(), x, y, seed=2**62, options=fast_many())
    assert {n: float(v) for n, v in numpy_seed.items()} == {n: float(v) for n, v in python_seed.items()}


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0", None])
def test_seeds_near_score_refuses_are_refused(seed):
    with pytest.raises(OptionError, match="seed must be a non-negative integer"):
        proxies.compute("params", cnn(), data()[0], seed=seed)


BAD_LABELS = {
    "fractional": (lambda y: y.double() + 0.9, "integer class indices"),
    "(N, 1)": (lambda y: y[:, None], r"y.squeeze\(1\)"),
    "NaN": (lambda y: torch.where(y == 1, math.nan, y.double()), "NaN or infinite"),
    "strings": (lambda y: np.array(["cat"] * len(y)), "numeric"),
    "3-D": (lambda y: y.reshape(-1, 1, 1).double().expand(-1, 2, 2), "shape"),
}


@pytest.mark.parametrize("case", list(BAD_LABELS))
@pytest.mark.parametrize("name", LABELLED)
def test_bad_labels_raise_for_every_proxy_that_uses_them(name, case):
    x, y = data()
    make, message = BAD_LABELS[case]
    with pytest.raises(InputError, match=message):
        proxies.compute(name, cnn(), x, make(y), **fast_options(name))


@pytest.mark.parametrize("case", list(BAD_LABELS))
def test_bad_labels_cost_only_the_proxies_that_use_them(case, clean):
    x, y = data()
    make, message = BAD_LABELS[case]
    values = proxies.compute_many(NAMES, cnn(), x, make(y), on_error="nan", options=fast_many())
    for name, value in values.items():
        if name in LABELLED:
            assert math.isnan(value) and value.reason.startswith(name), (name, value)
        else:
            assert value == pytest.approx(clean[name]), name


def test_integral_float_labels_and_probability_rows_are_accepted(clean):
    x, y = data()
    as_float = proxies.compute_many(LABELLED, cnn(), x, y.double(), options=fast_many(LABELLED))
    assert {n: float(v) for n, v in as_float.items()} == pytest.approx({n: clean[n] for n in LABELLED})
    one_hot = torch.nn.functional.one_hot(y, CLASSES).float()
    assert proxies.compute("snip", cnn(), x, one_hot, batch_size=None) == pytest.approx(clean["snip"])


class Raises(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = cnn()

    def forward(self, x):
        raise RuntimeError("the user's forward is broken")


def meta_model() -> nn.Module:
    with torch.device("meta"):
        return cnn()


FAILING_MODELS = {
    "forward raises": (Raises, lambda: data()[0]),
    "wrong channel count": (cnn, lambda: torch.randn(16, 4, 8, 8)),
    "wrong input rank": (cnn, lambda: torch.randn(16, 3 * 8 * 8)),
    "meta device": (meta_model, lambda: data()[0]),
}


@pytest.mark.parametrize("case", list(FAILING_MODELS))
@pytest.mark.parametrize("name", NAMES)
def test_a_failing_model_is_a_near_error_naming_the_proxy(name, case):
    build, inputs = FAILING_MODELS[case]
    try:
        value = proxies.compute(name, build(), inputs(), data()[1], **fast_options(name))
    except ModelError as error:
        assert name in str(error), str(error)
    except NearError:
        pass
    else:  # only what reads no data may still have a value (params of a model whose forward fails)
        assert name in DATA_FREE and math.isfinite(value), (name, value)


@pytest.mark.parametrize("case", list(FAILING_MODELS))
def test_a_failing_model_costs_each_proxy_its_own_nan(case):
    build, inputs = FAILING_MODELS[case]
    values = proxies.compute_many(NAMES, build(), inputs(), data()[1], on_error="nan", options=fast_many())
    assert set(values) == set(NAMES)
    for name, value in values.items():
        if not math.isfinite(value):
            assert value.reason.startswith(name), (name, value.reason)
        else:
            assert name in DATA_FREE, name
    assert values["params"] == sum(p.numel() for p in cnn().parameters())


def bad_option_values(option: str, default) -> list:
    """Values outside every option's range, by the type of its default."""
    if default is None:  # an optional count, or a choice whose default is "decide for me"
        return ["not-a-value"] + ([0, -2, 1.5] if option in FAST else [])
    if isinstance(default, bool):
        return ["yes", 1]
    if isinstance(default, str):
        return ["no-such-choice", 3]
    if isinstance(default, float):
        return [-1.0, 0.0, math.nan, math.inf, "1"]
    return [0, -2, 1.5, "8", True]  # counts (batch_size, repeats, split, repetitions; None where allowed)


OPTION_CASES = [
    (name, option, value)
    for name in NAMES
    for option, parameter in inspect.signature(proxies.info(name).function).parameters.items()
    if option in proxies.info(name).options
    for value in bad_option_values(option, parameter.default)
]


@pytest.mark.parametrize(("name", "option", "value"), OPTION_CASES, ids=lambda v: repr(v))
def test_option_values_out_of_range_are_option_errors(name, option, value):
    x, y = data()
    options = {**fast_options(name), option: value}
    with pytest.raises(OptionError, match=option):
        proxies.compute(name, cnn(), x, y, **options)
    with pytest.raises(OptionError, match=option):  # never a NaN: a wrong option is the caller's to fix
        proxies.compute_many([name], cnn(), x, y, options={name: options}, on_error="nan")


def state_of(model: nn.Module) -> dict:
    """Everything a proxy could change in the caller's model."""
    return {
        "tensors": {k: v.clone() for k, v in model.state_dict(keep_vars=True).items()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "modes": [m.training for m in model.modules()],
        "hooks": [
            (dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks)) for m in model.modules()
        ],
        "forwards": ["forward" in vars(m) for m in model.modules()],
        "classes": [type(m) for m in model.modules()],
    }


def rng_state() -> tuple:
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


@pytest.mark.parametrize("name", NAMES)
def test_the_callers_model_and_generators_are_untouched(name):
    model = cnn()
    model.train()
    model[1].eval()  # mixed modes: each must come back as it was
    model[2].register_forward_hook(lambda module, args, output: None)  # the caller's: kept, and never doubled
    x, y = data()
    before, rng = state_of(model), rng_state()
    value = proxies.compute(name, model, x, y, **fast_options(name))
    assert math.isfinite(value), value.reason
    after = state_of(model)
    for key in ("requires_grad", "grads", "modes", "hooks", "forwards", "classes"):
        assert after[key] == before[key], key
    assert after["tensors"].keys() == before["tensors"].keys()
    for key, tensor in before["tensors"].items():
        assert torch.equal(after["tensors"][key], tensor), key
    torch_state, numpy_state, python_state = rng_state()
    assert torch.equal(torch_state, rng[0]) and np.array_equal(numpy_state, rng[1]) and python_state == rng[2]


class OutOfMemory(Raises):
    def forward(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def test_running_out_of_memory_is_passed_on_not_recorded_as_the_models_answer():
    # memory may be there on another try (bench and search record it as a failure, which a re-run retries)
    with pytest.raises(torch.OutOfMemoryError):
        proxies.compute_many(["snip", "params"], OutOfMemory(), *data(), on_error="nan", options=fast_many(["snip"]))


@pytest.mark.filterwarnings("ignore::near.errors.ReinitWarning")  # near re-draws the odd weight: it says so
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_model_whose_own_weights_are_not_finite_gets_no_plausible_value(bad):
    # Proxies that score the given weights must not turn NaN activations into a number; those that draw
    # weights of their own (near, swap, zen: reinit) or read only shapes (params, flops) are unaffected.
    model = cnn()
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = bad
    values = proxies.compute_many(NAMES, model, *data(), on_error="nan", options=fast_many())
    redrawn = {n for n in NAMES if "reinit" in proxies.info(n).options or n in ("zen", "params", "flops")}
    for name, value in values.items():
        assert name in redrawn or not math.isfinite(value), (name, value)
