"""The activation proxies: jacob_cov, epe_nas, nwot, swap, reg_swap, meco, meco_opt, zen."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from torch import nn

import near.proxies as proxies
import near.spaces
from near.errors import InputError, OptionError, ProxyNotApplicableError

ACTIVATION = ["jacob_cov", "epe_nas", "nwot", "swap", "reg_swap", "meco", "meco_opt", "zen"]
ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
K = 1e-5


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a busy 2-core machine OpenMP's spinning threads slow small convolutions 100×."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.Conv2d(8, 12, 3, padding=1),
        nn.BatchNorm2d(12), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 3),
    )


def nb201() -> nn.Module:
    torch.manual_seed(0)
    return near.spaces.build("nb201", ARCH, num_classes=3)


def data(kind: str, n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    shape = (n, 6) if kind == "mlp" else (n, 3, 8, 8)
    return torch.randn(shape, generator=generator), torch.arange(n) % 3


def options(n: int, kind: str) -> dict[str, dict]:
    small = {"batch_size": n}
    result = {name: dict(small) for name in ("jacob_cov", "epe_nas", "nwot")}
    result |= {name: {"batch_size": n, "repeats": 2} for name in ("swap", "reg_swap")}
    result["zen"] = {"batch_size": 8}
    if kind == "mlp":  # the one documented option an MLP needs (swap and zen adapt by default)
        result["meco"] = {"correlate": "samples", "batch_size": n}
        result["meco_opt"] = {"correlate": "samples", "batch_size": n}
    return result


class Square(nn.Module):
    """½ Σ x² per sample, so that the input gradient of the summed output is x itself."""

    def forward(self, x):
        return 0.5 * x.pow(2).flatten(1).sum(dim=1, keepdim=True)


class ReLUBlock(nn.Module):
    """A container whose class name contains "ReLU", like xautodl's ReLUConvBN."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x)


# -------------------------------------------------------------------------------------------------
# Every proxy on the three kinds of network


@pytest.mark.parametrize("build", [mlp, cnn, nb201], ids=["mlp", "cnn", "nb201"])
def test_every_proxy_is_finite_and_leaves_the_callers_model_alone(build):
    kind = "mlp" if build is mlp else "image"
    model = build()
    x, y = data(kind)
    model.train(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    names = ACTIVATION
    values = proxies.compute_many(names, model, x, y, options=options(len(x), kind))
    assert all(math.isfinite(v) and v.reason is None for v in values.values()), values
    assert values["swap"] > 0 and values["reg_swap"] > 0 and values["epe_nas"] > 0
    assert values == proxies.compute_many(names, model, x, y, options=options(len(x), kind))  # deterministic
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())


def test_meco_refuses_an_mlp_instead_of_a_silent_zero_and_names_the_option_that_applies():
    x, _ = data("mlp")
    for name in ("meco", "meco_opt"):
        with pytest.raises(ProxyNotApplicableError, match="more than one position .an MLP.*correlate='samples'"):
            proxies.compute(name, mlp(), x, batch_size=4)
        with pytest.raises(ProxyNotApplicableError, match="correlate='samples'.*got 1 sample.*batch_size=2"):
            proxies.compute(name, mlp(), x, correlate="samples")
        with pytest.raises(OptionError, match="correlate must be one of 'positions', 'samples'"):
            proxies.compute(name, mlp(), x, correlate="batch")


def test_meco_over_samples_is_the_smallest_eigenvalue_of_the_units_correlation():
    # Sequential(Linear): the root and the Linear output the same [N, 3]: two equal terms
    torch.manual_seed(0)
    model, (x, _) = nn.Sequential(nn.Linear(6, 3)), data("mlp")
    out = model(x).detach().double()
    expected = 2 * torch.linalg.eigvalsh(torch.corrcoef(out.T))[0].item()
    assert proxies.compute("meco", model, x, correlate="samples", batch_size=None) == pytest.approx(expected)
    # fewer than 8 units: meco_opt uses every unit, i.e. the exact value
    assert proxies.compute("meco_opt", model, x, correlate="samples", batch_size=None) == pytest.approx(expected)


def test_compute_many_gives_each_proxy_its_value_alone():
    model, (x, y) = cnn(), data("image")
    opts = options(len(x), "image")
    many = proxies.compute_many(ACTIVATION, model, x, y, seed=4, options=opts)
    for name in ACTIVATION:
        assert many[name] == proxies.compute(name, model, x, y, seed=4, **opts.get(name, {})), name


def test_metadata():
    for name in ACTIVATION:
        meta = proxies.info(name)
        assert meta.needs_labels == (name == "epe_nas") and meta.uses_data == (name != "zen")
        assert meta.sign and meta.reference and meta.summary
    assert proxies.info("nwot").options == ("batch_size", "hooks")
    assert proxies.info("reg_swap").options == ("batch_size", "repeats", "reinit", "conv_only", "mu", "sigma")
    assert proxies.info("zen").options == ("batch_size", "repeats", "gamma", "features")


def test_too_few_samples_and_bad_options_say_what_to_do():
    model, (x, _) = cnn(), data("image")
    assert proxies.compute("nwot", model, x) == proxies.compute("nwot", model, x, batch_size=len(x))  # 128 at most
    with pytest.raises(InputError, match="jacob_cov needs at least 2 samples"):
        proxies.compute("jacob_cov", model, x, batch_size=1)
    with pytest.raises(OptionError, match="hooks must be 'relu' or 'substring'"):
        proxies.compute("nwot", model, x, batch_size=4, hooks="all")
    with pytest.raises(OptionError, match="repeats must be a positive integer"):
        proxies.compute("swap", model, x, repeats=0)
    with pytest.raises(OptionError, match="features must be one of"):
        proxies.compute("zen", model, x, features="logits")
    with pytest.raises(ProxyNotApplicableError, match="epe_nas needs labels"):
        proxies.compute("epe_nas", model, x, batch_size=4)


# -------------------------------------------------------------------------------------------------
# jacob_cov and epe_nas


def jacob_cov_formula(rows: np.ndarray) -> float:
    v = np.linalg.eig(np.corrcoef(rows))[0].real  # the references' general eig
    return float(-np.sum(np.log(v + K) + 1 / (v + K)))


def test_jacob_cov_is_the_eigen_formula_on_the_gradient_correlation():
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(2))
    # ½Σx² → J = x: the correlation of the samples themselves
    assert proxies.compute("jacob_cov", Square(), x, batch_size=None) == pytest.approx(
        jacob_cov_formula(x.double().numpy()), rel=1e-6)
    # a linear map without bias: every row of J is Σ_k W_k, C is all ones, eigenvalues N, 0, …, 0
    layer = nn.Linear(5, 3, bias=False)
    expected = -((math.log(6 + K) + 1 / (6 + K)) + 5 * (math.log(K) + 1 / K))
    assert proxies.compute("jacob_cov", layer, x, batch_size=None) == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_and_epe_nas_share_one_pass():
    calls = []

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = cnn()

        def forward(self, x):
            calls.append(len(x))
            return self.body(x)

    x, y = data("image")
    values = proxies.compute_many(["jacob_cov", "epe_nas"], Counting(), x, y,
                                  options={"jacob_cov": {"batch_size": 8}, "epe_nas": {"batch_size": 8}})
    assert calls == [8] and all(math.isfinite(v) for v in values.values())
    proxies.compute_many(["jacob_cov", "epe_nas"], Counting(), x, y,
                         options={"jacob_cov": {"batch_size": 8}, "epe_nas": {"batch_size": None}})
    assert calls == [8, 8, 12]  # different batches: two passes


def test_a_dead_network_gives_nan_with_the_reason():
    model, (x, y) = cnn(), data("image")
    with torch.no_grad():
        model[-1].weight.zero_()  # the logits no longer depend on the input
    values = proxies.compute_many(["jacob_cov", "epe_nas"], model, x, y,
                                  options={"jacob_cov": {"batch_size": None}, "epe_nas": {"batch_size": None}})
    for name, value in values.items():
        assert math.isnan(value) and "constant" in value.reason and "dead network" in value.reason, name


def test_epe_nas_groups_by_label_and_sums_absolute_class_scores():
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(3))
    y = torch.tensor([0, 1, 0, 1, 0, 2, 1])  # class 2 has a single sample: s = log(1 + k)
    rows = x.double().numpy()
    s = [np.log(np.abs(np.corrcoef(rows[y.numpy() == c])) + K).sum() for c in (0, 1)]
    expected = abs(s[0]) + abs(s[1]) + math.log(1 + K)
    assert proxies.compute("epe_nas", Square(), x, y, batch_size=None) == pytest.approx(expected, rel=1e-6)


def test_epe_nas_above_100_logits_takes_pairwise_differences():
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(3))
    y = torch.tensor([0, 1, 0, 1, 0, 2, 1])
    layer = nn.Linear(5, 101, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0] = torch.randn(5, generator=torch.Generator().manual_seed(4))

    class Quadratic(nn.Module):  # 101 logits whose sum is ½Σx² + w·x: J = x + w
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, x):
            return self.layer(x) + Square()(x) / 101

    rows = (x + layer.weight[0].detach()).double().numpy()
    s = []
    for c in (0, 1):  # class 2 (one sample) is skipped above 100 logits
        corr = np.corrcoef(rows[y.numpy() == c])
        s.append(np.log(np.abs(corr) + K).sum() / len(corr))
    expected = 2 * abs(s[0] - s[1]) / 2
    assert proxies.compute("epe_nas", Quadratic(), x, y, batch_size=None) == pytest.approx(expected, rel=1e-4)


# -------------------------------------------------------------------------------------------------
# nwot, swap, reg_swap


def codes_logdet(codes: np.ndarray) -> float:
    c = codes.astype(float)
    return float(np.linalg.slogdet(c @ c.T + (1 - c) @ (1 - c).T)[1])


def test_nwot_is_the_logdet_of_the_hamming_kernel():
    x = torch.randn(5, 2, 3, 3, generator=torch.Generator().manual_seed(5))
    codes = (x > 0).reshape(5, -1).numpy()
    assert proxies.compute("nwot", nn.Sequential(nn.ReLU()), x, batch_size=None) == pytest.approx(
        codes_logdet(codes), rel=1e-12)
    # two ReLUs on the same input: K doubles, log det grows by N log 2
    twice = nn.Sequential(nn.ReLU(), nn.ReLU())
    assert proxies.compute("nwot", twice, x, batch_size=None) == pytest.approx(
        codes_logdet(codes) + 5 * math.log(2), rel=1e-12)


def test_nwot_substring_hooks_count_relu_named_containers_twice():
    x = torch.randn(5, 12, generator=torch.Generator().manual_seed(5))
    model = nn.Sequential(ReLUBlock())
    relu = proxies.compute("nwot", model, x, batch_size=None)
    assert relu == pytest.approx(codes_logdet((x > 0).numpy()), rel=1e-12)
    assert proxies.compute("nwot", model, x, batch_size=None, hooks="substring") == pytest.approx(
        relu + 5 * math.log(2), rel=1e-12)


def test_nwot_duplicate_samples_make_k_singular():
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(5))
    value = proxies.compute("nwot", mlp(), torch.cat([x, x[:1]]), batch_size=None)
    assert math.isnan(value) and "identical ReLU codes" in value.reason


@pytest.mark.parametrize("name", ["nwot", "swap", "reg_swap"])
def test_relu_proxies_refuse_a_gelu_network(name):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GELU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    with pytest.raises(ProxyNotApplicableError, match="has no nn.ReLU.*GELU"):
        proxies.compute(name, model, torch.randn(16, 3, 8, 8), batch_size=16)


def distinct_patterns(outputs: list[torch.Tensor]) -> int:
    a = torch.cat([o.detach().reshape(len(o), -1) for o in outputs], dim=1)
    return len(np.unique(np.sign(a.numpy()).T, axis=0))


@pytest.mark.parametrize("n", [16, 70], ids=["one word", "two words"])
def test_swap_counts_distinct_unit_patterns(n):
    x = torch.randn(n, 2, 3, 3, generator=torch.Generator().manual_seed(6))
    model = nn.Sequential(nn.ReLU(), nn.Conv2d(2, 3, 1), nn.ReLU())
    model[1].weight.requires_grad_(False)
    expected = [distinct_patterns([x.relu(), model(x)])]
    assert proxies.compute("swap", model, x, batch_size=None, reinit=False) == expected[0]
    # with the Gaussian re-initialisation the conv is redrawn per repeat; the first ReLU's patterns stay
    assert proxies.compute("swap", model, x, batch_size=None, repeats=3) >= distinct_patterns([x.relu()])


def test_swap_reads_conv_maps_when_there_are_any_else_every_relu():
    model, (x, _) = mlp(), data("mlp", 16)
    with pytest.raises(ProxyNotApplicableError, match="4-D .*conv_only=False"):
        proxies.compute("swap", model, x, conv_only=True)
    h1 = model[1](model[0](x))
    expected = distinct_patterns([h1, model[3](model[2](h1))])
    assert proxies.compute("swap", model, x, conv_only=False, reinit=False) == expected
    assert proxies.compute("swap", model, x, reinit=False) == expected  # an MLP: every ReLU by default
    with pytest.raises(OptionError, match="conv_only must be None, True or False"):
        proxies.compute("swap", model, x, conv_only="yes")
    # a CNN with a ReLU after its classifier: the default reads the conv ReLU only, as the reference
    torch.manual_seed(0)
    hybrid = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 5), nn.ReLU())
    images = data("image", 16)[0]
    conv_relu = hybrid[1](hybrid[0](images))
    assert proxies.compute("swap", hybrid, images, reinit=False) == distinct_patterns([conv_relu])
    assert proxies.compute("swap", hybrid, images, reinit=False, conv_only=True) == distinct_patterns([conv_relu])


def test_reg_swap_is_swap_times_the_size_factor():
    model, (x, y) = cnn(), data("image", 16)
    theta = sum(p.numel() for p in model.parameters()) / 1e3
    values = proxies.compute_many(["swap", "reg_swap"], model, x, y, seed=2,
                                  options={"swap": {"repeats": 2}, "reg_swap": {"repeats": 2, "mu": 2.0, "sigma": 3.0}})
    assert values["reg_swap"] == pytest.approx(values["swap"] * math.exp(-((theta - 2.0) ** 2) / 3.0), rel=1e-12)
    default = proxies.compute("reg_swap", model, x, seed=2, repeats=2)
    assert default == pytest.approx(values["swap"] * math.exp(-((theta - 1500) ** 2) / 1500**2), rel=1e-12)


# -------------------------------------------------------------------------------------------------
# meco and meco_opt


def smallest_eigenvalue(rows: torch.Tensor) -> float:
    corr = np.nan_to_num(np.corrcoef(rows.double().numpy()), nan=0.0)
    return float(np.min(np.linalg.eig(corr)[0].real))


def test_meco_sums_lambda_min_over_every_module_call():
    x = torch.randn(2, 16, 4, 4, generator=torch.Generator().manual_seed(7))
    model = nn.Sequential(nn.Identity())  # the root and its child both output x: two terms
    first = x[0].reshape(16, -1)
    assert proxies.compute("meco", model, x) == pytest.approx(2 * smallest_eigenvalue(first), abs=1e-9)
    # meco_opt: 8 channels drawn by random.sample per call (child first: forward hooks fire on return), × 16/8
    random.seed(3)
    picks = [random.sample(range(16), 8) for _ in range(2)]
    expected = sum(2 * smallest_eigenvalue(first[p]) for p in picks)
    assert proxies.compute("meco_opt", model, x, seed=3) == pytest.approx(expected, abs=1e-9)
    # fewer than 8 channels: all of them with factor 1, i.e. meco's own term
    small = x[:, :5]
    assert proxies.compute("meco_opt", model, small) == pytest.approx(proxies.compute("meco", model, small), abs=1e-12)


def test_meco_counts_2d_outputs_as_zero_and_can_use_random_64px_input():
    model, (x, _) = cnn(), data("image")
    # up to the last ReLU: its root outputs the last map (one more term); the full model's root outputs logits,
    # and its pooled vectors and Linear outputs add 0
    features = nn.Sequential(*list(model)[:6])
    with torch.no_grad():
        value = proxies.compute("meco", features, x, batch_size=2)
        assert proxies.compute("meco", model, x, batch_size=2) == pytest.approx(
            value - smallest_eigenvalue(features.train()(x[:2])[0].reshape(12, -1)), abs=1e-9)
    foresight = proxies.compute("meco", model, x, random_input=True)
    assert math.isfinite(foresight) and foresight == proxies.compute("meco", model, x * 5, random_input=True)


# -------------------------------------------------------------------------------------------------
# zen


def test_zen_of_an_identity_feature_map_is_log_gamma_noise():
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))  # pre-GAP = the input
    torch.manual_seed(0)  # replay the draws: Gaussian init of the Linear weight, then x, then ε
    torch.empty(2, 3).normal_()
    x, eps = torch.randn(64, 3, 4, 4), torch.randn(64, 3, 4, 4)
    expected = math.log((x - (x + 1e-2 * eps)).abs().flatten(1).sum(1).mean().item())
    data_x = torch.randn(5, 3, 4, 4)
    assert proxies.compute("zen", model, data_x) == pytest.approx(expected, rel=1e-7)
    assert proxies.compute("zen", model, data_x * 3 + 1) == proxies.compute("zen", model, data_x)  # shape only


def test_zen_adds_the_batchnorm_running_variance_after_two_passes():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].running_var.fill_(9.0)  # a used history must not matter: zen resets it
    torch.manual_seed(0)
    torch.empty(2, 3).normal_()
    x, eps = torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)
    x2 = x + 1e-2 * eps
    bn = nn.BatchNorm2d(3)
    delta = (bn(x) - bn(x2)).abs().flatten(1).sum(1).mean().item()
    v1, v2 = x.var(dim=(0, 2, 3)), x2.var(dim=(0, 2, 3))  # unbiased, as BN's running update
    running = 0.81 + 0.09 * v1 + 0.1 * v2
    expected = math.log(delta) + 0.5 * math.log(running.mean().item())
    assert proxies.compute("zen", model, torch.randn(2, 3, 4, 4), batch_size=8) == pytest.approx(expected, rel=1e-6)
    assert torch.equal(model[0].running_var, torch.full((3,), 9.0))


def test_zen_dead_features_and_missing_pooling():
    class Dead(nn.Module):
        def forward(self, x):
            return x * 0

    dead = nn.Sequential(nn.Conv2d(3, 4, 1), Dead(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    value = proxies.compute("zen", dead, torch.randn(2, 3, 4, 4), batch_size=4)
    assert math.isnan(value) and "Δ = 0" in value.reason
    with pytest.raises(ProxyNotApplicableError, match="AdaptiveAvgPool1d/2d/3d.*features='pre_classifier'"):
        proxies.compute("zen", mlp(), torch.randn(4, 6), features="pre_gap")
    # an MLP: the default reads the input of the last Linear, i.e. features='pre_classifier'
    x = torch.randn(4, 6)
    assert proxies.compute("zen", mlp(), x) == proxies.compute("zen", mlp(), x, features="pre_classifier")
    with pytest.raises(ProxyNotApplicableError, match="has neither"):
        proxies.compute("zen", nn.Sequential(nn.Conv2d(3, 2, 1)), torch.randn(2, 3, 4, 4))


# -------------------------------------------------------------------------------------------------
# Review fixes: inputs changed in place, singular kernels, NaN codes, Conv1d pooling


class Shift(nn.Module):
    """x + 1, in place or not: a model that changes its input must not change another proxy's input."""

    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return x.add_(1) if self.inplace else x + 1


def test_a_model_changing_its_input_in_place_changes_no_value():
    def build(inplace: bool) -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(Shift(inplace), nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    x, y = data("image")
    opts = options(len(x), "image")
    # the in-place model first: every proxy after the first would otherwise read x + 1, x + 2, …
    in_place = proxies.compute_many(ACTIVATION, build(True), x, y, options=opts)
    out_of_place = {name: proxies.compute(name, build(False), x, y, **opts.get(name, {})) for name in ACTIVATION}
    assert in_place == out_of_place and all(math.isfinite(v) for v in in_place.values())


def test_nwot_a_singular_kernel_of_distinct_codes_is_nan_not_rounding_noise():
    # six distinct codes of five units: K = [C, 1−C][C, 1−C]ᵀ has rank ≤ 6 but these are dependent (rank 5);
    # LU gives log|det K| ≈ −30 with sign −1 instead of −inf
    codes = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 0, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 0, 0, 1],
                          [1, 0, 1, 1, 1]], dtype=torch.float32)
    value = proxies.compute("nwot", nn.Sequential(nn.ReLU()), 2 * codes - 1, batch_size=None)
    assert math.isnan(value) and "singular (rank 5 of 6)" in value.reason


def test_nwot_nan_relu_inputs_give_nan_not_off_codes():
    class NaNAbove(nn.Module):
        def forward(self, x):
            return torch.where(x > 1, torch.nan, x)

    x = torch.randn(6, 12, generator=torch.Generator().manual_seed(5))
    value = proxies.compute("nwot", nn.Sequential(nn.ReLU(), NaNAbove(), nn.ReLU()), x, batch_size=None)
    assert math.isnan(value) and "holds NaN" in value.reason


def test_zen_reads_adaptive_pooling_of_any_dimension():
    model = nn.Sequential(nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                          nn.Linear(4, 2))
    assert math.isfinite(proxies.compute("zen", model, torch.randn(2, 3, 10), batch_size=4))


def test_reg_swap_sigma_default_error_names_mu():
    for mu in (0, -1, math.inf):  # a size in K-params: positive; sigma=None means mu², which must be too
        message = rf"reg_swap: mu \(the favoured size, in K-params\) must be a finite positive number; got {mu}"
        with pytest.raises(OptionError, match=message):
            proxies.compute("reg_swap", cnn(), data("image", 16)[0], mu=mu)
    with pytest.raises(OptionError, match=r"sigma=None means mu², which overflows for mu=1e\+200"):
        proxies.compute("reg_swap", cnn(), data("image", 16)[0], mu=1e200)
