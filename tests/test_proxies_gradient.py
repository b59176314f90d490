"""The gradient proxies: grad_norm, snip, grasp, fisher, plain, synflow, zico."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import near.proxies as proxies
import near.spaces
from near.errors import InputError, OptionError, ProxyNotApplicableError

GRADIENT = ["grad_norm", "snip", "grasp", "fisher", "plain", "synflow", "zico"]
LOSS = ["grad_norm", "snip", "grasp", "fisher", "plain"]  # the ones with a batch_size option
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


def mlp(inplace: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(inplace), nn.Linear(16, 8), nn.ReLU(inplace), nn.Linear(8, 3))


def cnn(inplace: bool = True) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=inplace), nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8), nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3),
    )


def nb201() -> nn.Module:
    torch.manual_seed(0)
    return near.spaces.build("nb201", ARCH, num_classes=3)


def data(model_name: str, n: int = 8, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    shape = (n, 6) if model_name == "mlp" else (n, 3, size, size)
    return torch.randn(shape, generator=generator), torch.arange(n) % 3


def all_options(n: int) -> dict[str, dict]:
    return {name: {"batch_size": n} for name in LOSS} | {"zico": {"split": 2}}


class TupleOut(nn.Module):
    """A model returning ``(features, logits)`` like xautodl's TinyNetwork."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x):
        features = self.body[:-1](x)
        return features, self.body[-1](features)


# -------------------------------------------------------------------------------------------------
# Every proxy on the three kinds of network


def image_data(build) -> tuple[torch.Tensor, torch.Tensor]:
    """4×4 images for NB201 (its two reductions leave 1×1): the cells' cost grows with the pixels."""
    return data("mlp") if build is mlp else data("image", size=4 if build is nb201 else 8)


@pytest.mark.parametrize("build", [mlp, cnn, nb201], ids=["mlp", "cnn", "nb201"])
def test_every_proxy_is_finite_and_leaves_the_callers_model_alone(build):
    model = build()
    x, y = image_data(build)
    model.train(False)
    first = next(model.parameters())
    first.requires_grad_(False)  # a frozen layer is still scored (on the copy), and stays frozen
    last = list(model.parameters())[-1]
    last.grad = torch.full_like(last, 7.0)  # a stale .grad of the caller's is neither read nor changed
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frozen = [p.requires_grad for p in model.parameters()]
    values = proxies.compute_many(GRADIENT, model, x, y, options=all_options(len(x)))
    assert all(math.isfinite(v) for v in values.values()), values
    assert values["grad_norm"] > 0 and values["snip"] > 0 and values["fisher"] > 0 and values["synflow"] > 0
    first.requires_grad_(True)
    assert values == proxies.compute_many(GRADIENT, model, x, y, options=all_options(len(x)))
    first.requires_grad_(False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m.training for m in model.modules()) and [p.requires_grad for p in model.parameters()] == frozen
    assert all(p.grad is None for p in model.parameters() if p is not last)
    assert torch.equal(last.grad, torch.full_like(last, 7.0))
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())


def test_metadata_says_labels_data_and_sign():
    for name in GRADIENT:
        meta = proxies.info(name)
        assert meta.needs_labels == (name != "synflow") and meta.uses_data == (name != "synflow")
        assert meta.activations == "any" and meta.sign and meta.reference and meta.summary
    assert "−θ⊙Hg" in proxies.info("grasp").sign
    assert proxies.info("fisher").options == ("batch_size", "fan_in_weighted")
    assert proxies.info("zico").options == ("split",)


# -------------------------------------------------------------------------------------------------
# Hand-computed values on a single linear layer: logits = x Wᵀ, p = softmax, G = ∂L/∂W = (p − Y)ᵀ x / N


def linear_case(n: int = 5, seed: int = 3):
    generator = torch.Generator().manual_seed(seed)
    layer = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(3, 4, generator=generator))
    x = torch.randn(n, 4, generator=generator)
    y = torch.tensor([0, 2, 1, 1, 0, 2, 2, 0][:n])
    return layer, x, y


def linear_gradient(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    w, x = w.double(), x.double()
    p = torch.softmax(x @ w.T, dim=1)
    return (p - F.one_hot(y, 3).double()).T @ x / len(x)


def test_grad_norm_snip_plain_match_the_closed_form():
    layer, x, y = linear_case()
    w = layer.weight.detach().double()
    g = linear_gradient(w, x, y)
    values = proxies.compute_many(["grad_norm", "snip", "plain"], layer, x, y,
                                  options={name: {"batch_size": None} for name in ("grad_norm", "snip", "plain")})
    assert values["grad_norm"] == pytest.approx(g.norm().item(), rel=1e-5)
    assert values["snip"] == pytest.approx((g * w).abs().sum().item(), rel=1e-5)
    assert values["plain"] == pytest.approx((g * w).sum().item(), rel=1e-5)


def test_grasp_is_minus_theta_hessian_gradient():
    layer, x, y = linear_case()
    w, xd = layer.weight.detach().double(), x.double()
    g = linear_gradient(w, x, y)
    p = torch.softmax(xd @ w.T, dim=1)
    v = xd @ g.T  # v_n = G x_n; the CE Hessian acts as (diag p − p pᵀ) ⊗ x xᵀ per sample
    u = p * v - p * (p * v).sum(dim=1, keepdim=True)
    hg = u.T @ xd / len(x)
    expected = -(w * hg).sum().item()
    assert proxies.compute("grasp", layer, x, y, batch_size=None) == pytest.approx(expected, rel=1e-5)


def test_fisher_of_a_linear_layer_with_and_without_fan_in():
    layer, x, y = linear_case()
    w, xd = layer.weight.detach().double(), x.double()
    a = xd @ w.T
    d = (torch.softmax(a, dim=1) - F.one_hot(y, 3).double()) / len(x)  # ∂L/∂a
    delta = 0.5 * (a * d).pow(2).mean(dim=0)
    assert proxies.compute("fisher", layer, x, y, batch_size=None, fan_in_weighted=False) == pytest.approx(
        delta.sum().item(), rel=1e-5)
    assert proxies.compute("fisher", layer, x, y, batch_size=None) == pytest.approx(4 * delta.sum().item(), rel=1e-5)


def test_fisher_uses_the_raw_conv_output_per_channel():
    model = cnn()
    x, y = data("image")
    model.train()
    a1 = model[0](x)  # the raw outputs, before BN and ReLU, and the loss gradient with respect to them
    a2 = model[3](model[2](model[1](a1)))
    loss = F.cross_entropy(model[6:](model[5](model[4](a2))), y)
    g1, g2 = torch.autograd.grad(loss, [a1, a2])
    expected = sum(
        0.5 * (a * g).sum(dim=(2, 3)).pow(2).mean(dim=0).sum().item() * fan_in
        for a, g, fan_in in [(a1, g1, 27), (a2, g2, 72)]
    )
    # the linear layer's output is the logits: a = logits, g = (p − Y)/N
    logits = model(x)
    d = (torch.softmax(logits, 1) - F.one_hot(y, 3)) / len(x)
    expected += 0.5 * (logits * d).pow(2).mean(dim=0).sum().item() * 8
    assert proxies.compute("fisher", cnn(), x, y, batch_size=None) == pytest.approx(expected, rel=1e-4)


def test_zico_from_two_batches_by_hand_and_by_split():
    layer, x, y = linear_case(n=8)
    w = layer.weight.detach().double()
    g1, g2 = linear_gradient(w, x[:4], y[:4]), linear_gradient(w, x[4:], y[4:])
    t = ((g1.abs() + g2.abs()) / 2 / ((g1 - g2).abs() / 2)).sum()  # population std of two values = |g1 − g2|/2
    batches = [(x[:4], y[:4]), (x[4:], y[4:])]
    assert proxies.compute("zico", layer, batches) == pytest.approx(math.log(t.item()), rel=1e-5)
    assert proxies.compute("zico", layer, x, y, split=2) == proxies.compute("zico", layer, batches)
    # MeCo's port forgets zero_grad between the halves (its second "batch" is g1 + g2): a different value
    bugged = ((g1.abs() + (g1 + g2).abs()) / 2 / (g2.abs() / 2)).sum()
    assert proxies.compute("zico", layer, batches) != pytest.approx(math.log(bugged.item()), rel=1e-3)


def test_synflow_is_depth_times_path_sum_on_a_positive_chain():
    # with |θ| weights and an all-ones input every unit is positive, so ReLU and (removed) BN do nothing,
    # R = 1ᵀ|W3||W2||W1|1 and each layer contributes Σ θ ∂R/∂θ = R (R is linear in each layer's weight)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 4, bias=False),
                          nn.ReLU(), nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        model[1].running_mean.fill_(3.0)
        model[1].weight.fill_(-7.0)
    w1, w2, w3 = (model[i].weight.detach().double().abs() for i in (0, 3, 5))
    path_sum = (w3 @ w2 @ w1 @ torch.ones(5, dtype=torch.float64)).sum().item()
    assert proxies.compute("synflow", model, torch.randn(2, 5)) == pytest.approx(3 * path_sum, rel=1e-12)


# -------------------------------------------------------------------------------------------------
# Properties


@pytest.mark.parametrize("build", [mlp, cnn, nb201], ids=["mlp", "cnn", "nb201"])
def test_all_zero_weights_give_zero_gradient_proxies(build):
    model = build()
    x, y = image_data(build)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    # constant logits; the last layer's gradient is (p − Y)ᵀ h with h = 0 and the earlier ones flow through W = 0
    names = ["grad_norm", "snip", "plain", "fisher", "grasp"]
    values = proxies.compute_many(names, model, x, y, options={n: {"batch_size": None} for n in names})
    assert all(v == 0.0 for v in values.values()), values
    # the check can fail: with non-zero biases the hidden units are relu(b) ≠ 0 and the last layer learns
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.fill_(0.5)
    assert proxies.compute("grad_norm", model, x, y, batch_size=None) > 0


def test_synflow_ignores_the_data_values_and_needs_no_labels():
    model = cnn()
    values = {proxies.compute("synflow", model, x) for x in
              (torch.randn(4, 3, 8, 8), torch.zeros(1, 3, 8, 8), torch.full((9, 3, 8, 8), 1e6))}
    assert len(values) == 1
    assert proxies.compute("synflow", model, torch.randn(4, 3, 10, 10)) not in values  # the shape does matter


def test_synflow_batchnorm_option():
    model = cnn()
    x = torch.randn(2, 3, 8, 8)
    assert proxies.compute("synflow", model, x, batchnorm=True) != proxies.compute("synflow", model, x)
    with pytest.raises(ProxyNotApplicableError, match="batchnorm=True .* single value per channel"):
        proxies.compute("synflow", nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)),
                        torch.randn(2, 3), batchnorm=True)


def test_synflow_overflow_is_nan_with_the_reason():
    model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(80)])
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e4)
    value = proxies.compute("synflow", model, torch.randn(1, 8))
    assert math.isnan(value) and "path products overflow" in value.reason


def test_in_place_relu_and_tuple_outputs_change_nothing():
    x, y = data("image")
    plain_model, hooked = cnn(inplace=False), TupleOut(cnn(inplace=True))
    a = proxies.compute_many(GRADIENT, plain_model, x, y, options=all_options(len(x)))
    b = proxies.compute_many(GRADIENT, hooked, x, y, options=all_options(len(x)))
    assert a == pytest.approx(b, rel=1e-6)
    # an in-place ReLU right on a hooked Linear output (fisher's activation) changes nothing either
    x, y = data("mlp")
    a, b = (proxies.compute_many(GRADIENT, mlp(inplace), x, y, options=all_options(len(x))) for inplace in (0, 1))
    assert a == pytest.approx(b, rel=1e-6)


def test_one_shared_loss_pass_gives_the_values_of_separate_ones():
    calls = []

    class Count(nn.Module):
        def forward(self, x):
            calls.append(len(x))
            return x

    model = nn.Sequential(Count(), nn.Dropout(0.3), *mlp())  # the pass draws random numbers
    x, y = data("mlp", n=12)
    names = ["grad_norm", "snip", "plain", "fisher"]
    together = proxies.compute_many(names, model, x, y, options={n: {"batch_size": 8} for n in names})
    assert calls == [8]
    assert together == {n: proxies.compute(n, model, x, y, batch_size=8) for n in names}
    options = {n: {"batch_size": 8} for n in LOSS} | {"zico": {"split": 2}}
    assert proxies.compute_many(GRADIENT, model, x, y, options=options) == proxies.compute_many(
        GRADIENT[::-1], model, x, y, options=options)  # neither the company nor the order matters
    calls.clear()
    proxies.compute_many(["grad_norm", "snip"], model, x, y,
                         options={"grad_norm": {"batch_size": 8}, "snip": {"batch_size": None}})
    assert calls == [8, 12]  # different batches, different passes


def test_loss_proxies_take_the_first_batch_size_samples():
    model = mlp()
    x, y = data("mlp", n=70)
    for name in LOSS:
        assert proxies.compute(name, model, x, y) == proxies.compute(name, model, x[:64], y[:64], batch_size=None)
    few = data("mlp")  # fewer than the reference's 64: every sample given is used
    assert proxies.compute("grad_norm", model, *few) == proxies.compute("grad_norm", model, *few, batch_size=None)
    with pytest.raises(OptionError, match="batch_size must be a positive integer"):
        proxies.compute("snip", model, x, y, batch_size=0)


def test_zico_needs_two_batches_unless_asked_to_split():
    model = mlp()
    x, y = data("mlp")
    with pytest.raises(ProxyNotApplicableError, match="zico needs at least 2 batches.*split=2"):
        proxies.compute("zico", model, x, y)
    with pytest.raises(OptionError, match="split must be an integer ≥ 2"):
        proxies.compute("zico", model, x, y, split=1)
    with pytest.raises(ProxyNotApplicableError, match="zico needs labels"):
        proxies.compute("zico", model, [x[:4], x[4:]])
    assert math.isfinite(proxies.compute("zico", model, [(x[:3], y[:3]), (x[3:], y[3:])]))  # unequal sizes are fine


def test_dead_and_nan_networks_give_nan_with_reasons():
    model = mlp()
    x, y = data("mlp")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    value = proxies.compute("zico", model, x, y, split=2)
    assert math.isnan(value) and "every std is 0" in value.reason
    poisoned = mlp()  # a NaN weight (NaN inputs are refused before any proxy runs: tests/test_proxies_adversarial.py)
    with torch.no_grad():
        next(poisoned.parameters()).view(-1)[0] = float("nan")
    for name in LOSS:
        value = proxies.compute(name, poisoned, x, y, batch_size=None)
        assert math.isnan(value) and "loss is nan" in value.reason, name


def test_labels_and_scorable_layers_are_required():
    with pytest.raises(ProxyNotApplicableError, match="snip needs labels"):
        proxies.compute("snip", mlp(), torch.randn(4, 6), batch_size=None)
    for name in GRADIENT:
        with pytest.raises(ProxyNotApplicableError, match="Conv/Linear"):
            proxies.compute(name, nn.Sequential(nn.Flatten(), nn.Tanh()), *data("mlp"),
                            **(all_options(8)[name] if name != "synflow" else {}))


def test_float64_models_score_like_float32_ones():
    x, y = data("mlp")
    single = proxies.compute_many(GRADIENT, mlp(), x, y, options=all_options(len(x)))
    double = proxies.compute_many(GRADIENT, mlp().double(), x.double(), y, options=all_options(len(x)))
    assert double == pytest.approx(single, rel=1e-4)


def test_a_callers_no_grad_does_not_switch_the_gradients_off():
    x, y = data("mlp")
    expected = proxies.compute_many(GRADIENT, mlp(), x, y, options=all_options(len(x)))
    with torch.no_grad():
        assert proxies.compute_many(GRADIENT, mlp(), x, y, options=all_options(len(x))) == expected


def test_a_single_logit_and_out_of_range_labels_raise_instead_of_scoring():
    x, y = data("mlp")
    one_logit = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 1))  # CE ≡ 0: every score would be 0
    for name in GRADIENT[:5] + ["zico"]:
        options = all_options(len(x))[name]
        with pytest.raises(ProxyNotApplicableError, match=f"{name} .*1 logit per sample.*2 or more classes"):
            proxies.compute(name, one_logit, x, torch.zeros_like(y), **options)
        with pytest.raises(InputError, match=rf"{name}: labels must be class indices in \[0, 3\).*from 0 to [37]"):
            proxies.compute(name, mlp(), x, torch.arange(len(x)), **options)


def test_a_model_whose_output_uses_no_scored_weight_raises_instead_of_scoring_zero():
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer, self.scale = nn.Linear(6, 3), nn.Parameter(torch.ones(3))

        def forward(self, x):
            return x[:, :3] * self.scale  # differentiable, but not through the Linear

    for name in GRADIENT:
        with pytest.raises(ProxyNotApplicableError, match=f"{name} .*none of them takes part in the model's output"):
            proxies.compute(name, Unused(), *data("mlp"), **all_options(8).get(name, {}))


def test_fisher_sums_over_every_call_of_a_layer_used_twice():
    torch.manual_seed(0)
    shared, head = nn.Linear(4, 4), nn.Linear(4, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared, head)
    x, y = torch.randn(6, 4), torch.arange(6) % 3
    a1 = shared(x)
    a2 = shared(torch.relu(a1))
    logits = head(a2)
    grads = torch.autograd.grad(F.cross_entropy(logits, y), [a1, a2, logits])
    deltas = [0.5 * (a * g).double().pow(2).mean(0).sum().item() for a, g in zip((a1, a2, logits), grads)]
    expected = 4 * (deltas[0] + deltas[1]) + 4 * deltas[2]  # fan-in 4 for both layers
    assert proxies.compute("fisher", model, x, y, batch_size=None) == pytest.approx(expected, rel=1e-5)


def test_a_model_changing_its_input_in_place_changes_neither_the_data_nor_the_other_proxies():
    class Doubles(nn.Module):
        def forward(self, x):
            return x.mul_(2)

    model = nn.Sequential(Doubles(), *mlp())
    x, y = data("mlp")
    original = x.clone()
    batches = [(x[:4], y[:4]), (x[4:], y[4:])]  # zico reads these tensors as given, the others their concatenation
    options = {name: {"batch_size": 8} for name in LOSS}
    together = proxies.compute_many(GRADIENT, model, batches, options=options)
    assert torch.equal(x, original)
    assert together == {name: proxies.compute(name, model, batches, **options.get(name, {})) for name in GRADIENT}
