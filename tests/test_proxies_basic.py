"""The proxy registry, the shared context, and the proxies read off the model (params, flops, l2_norm, near)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import near
import near.proxies as proxies
from near.errors import InputError, OptionError, ProxyError, ProxyNotApplicableError


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2)
    )


def test_every_proxy_has_metadata():
    for name in proxies.available():
        meta = proxies.info(name)
        assert meta.name == name and meta.summary, name
        assert isinstance(meta.needs_labels, bool) and isinstance(meta.uses_data, bool)


def test_unknown_names_and_options_are_refused_with_the_choices():
    net, x = small_cnn(), torch.randn(4, 3, 8, 8)
    with pytest.raises(ProxyError, match="unknown proxy 'nope'; choose one of .*params"):
        proxies.compute("nope", net, x)
    with pytest.raises(ProxyError, match="no option 'reps'; it accepts repetitions"):
        proxies.compute("near", net, x, reps=2)
    with pytest.raises(OptionError, match="seed must be a non-negative integer"):
        proxies.compute("params", net, x, seed=-1)
    with pytest.raises(InputError, match="one label per sample"):
        proxies.compute("params", net, x, torch.zeros(3))
    with pytest.raises(InputError, match="nn.Module"):
        proxies.compute("params", "resnet", x)


def test_params_is_the_exact_count():
    net = small_cnn()
    expected = 3 * 8 * 9 + 8 + 2 * 8 + 8 * 2 + 2
    assert proxies.compute("params", net, torch.randn(2, 3, 8, 8)) == expected


def test_flops_come_from_torch_counter_per_sample():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.Flatten(), nn.Linear(8 * 6 * 6, 2, bias=False))
    expected = 2 * (3 * 9) * 8 * 36 + 2 * 288 * 2  # 2 FLOPs per multiply-add
    for batch in (1, 5):
        assert proxies.compute("flops", net, torch.randn(batch, 3, 8, 8)) == expected


def test_l2_norm_sums_per_layer_norms():
    net = small_cnn()
    expected = net[0].weight.norm().item() + net[5].weight.norm().item()
    assert proxies.compute("l2_norm", net, torch.randn(2, 3, 8, 8)) == pytest.approx(expected)


def test_near_proxy_equals_near_score_and_keeps_the_model():
    net, x = small_cnn(), torch.randn(32, 3, 8, 8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    value = proxies.compute("near", net, x, seed=3, repetitions=2)
    assert value == pytest.approx(near.score(net, x, repetitions=2, seed=3).mean)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    # batch_size sets the samples per forward pass, hence BatchNorm's batch statistics
    sixteen = proxies.compute("near", net, x, seed=3, repetitions=2, batch_size=16)
    assert sixteen == pytest.approx(near.score(net, x, repetitions=2, seed=3, batch_size=16).mean)


def test_near_redraws_with_the_factory_so_a_networks_own_initialisation_is_scored():
    """U(0, 1) weights saturate a tanh MLP; PyTorch's default re-draw would score a healthy network instead."""

    def uniform_mlp():
        net = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 3))
        for layer in net[::2]:
            nn.init.uniform_(layer.weight)
        return net

    torch.manual_seed(0)
    net, x = uniform_mlp(), torch.rand(128, 16)
    with pytest.warns(near.ReinitWarning):  # near.score itself says that the default re-draw drops the scheme
        redrawn = proxies.compute("near", net, x, seed=3, repetitions=2)
    own = proxies.compute("near", net, x, seed=3, repetitions=2, factory=uniform_mlp)
    assert own == pytest.approx(near.score(uniform_mlp, x, repetitions=2, seed=3).mean)
    assert own < 0.5 * redrawn  # the saturated network is far less expressive than a default-initialised one
    kept = proxies.compute("near", net, x, seed=3, repetitions=2, reinit=False, factory=uniform_mlp)
    assert kept == pytest.approx(near.score(net, x, repetitions=2, seed=3, reinit=False).mean)
    with pytest.raises(InputError, match="factory must be a callable that builds a fresh model; got Sequential"):
        proxies.compute("near", net, x, factory=net)


def test_compute_many_equals_compute_one_by_one_and_times_each():
    net, x = small_cnn(), torch.randn(32, 3, 8, 8)
    many = proxies.compute_many(["near", "params", "flops"], net, x, seed=1)
    for name, value in many.items():
        assert value == proxies.compute(name, net, x, seed=1)
        assert value.seconds >= 0


def test_not_applicable_becomes_nan_with_reason_on_request():
    net = nn.Sequential(nn.Flatten(), nn.Identity())  # nothing NEAR can score
    x = torch.randn(4, 3)
    with pytest.raises(ProxyNotApplicableError):
        proxies.compute("near", net, x)
    value = proxies.compute_many(["near", "params"], net, x, on_error="nan")
    assert math.isnan(value["near"]) and "near does not apply" in value["near"].reason
    assert value["params"] == 0 and value["params"].reason is None


def test_labels_come_from_tuples_or_targets_and_are_required_when_needed():
    ctx = proxies.ProxyContext(small_cnn(), (torch.randn(4, 3, 8, 8), torch.arange(4)))
    assert ctx.labels("x").tolist() == [0, 1, 2, 3]
    ctx = proxies.ProxyContext(small_cnn(), [torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)])
    assert len(ctx.batches) == 2 and ctx.x.shape[0] == 4
    with pytest.raises(ProxyNotApplicableError, match="grad_norm needs labels: pass targets="):
        ctx.labels("grad_norm")


def test_float64_inputs_stay_float64_and_integer_images_become_float():
    ctx = proxies.ProxyContext(small_cnn(), torch.randn(2, 3, 8, 8, dtype=torch.float64))
    assert ctx.x.dtype == torch.float64
    ctx = proxies.ProxyContext(small_cnn(), torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    assert ctx.x.dtype == torch.get_default_dtype()


def test_proxies_work_inside_a_callers_inference_mode():
    net, x = small_cnn(), torch.randn(4, 3, 8, 8)
    expected = proxies.compute("grad_norm", net, x, torch.arange(4) % 2, batch_size=None)
    with torch.inference_mode():
        assert proxies.compute("grad_norm", net, x, torch.arange(4) % 2, batch_size=None) == expected


def test_batchnorm_seeing_one_value_per_channel_is_a_named_error_and_nan_on_request():
    # One sample through an nn.BatchNorm1d in train mode: torch's bare ValueError must not leak out.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(1, 4), torch.tensor([1])
    for name in ("grad_norm", "snip", "nwot", "meco"):
        with pytest.raises(ProxyNotApplicableError, match=f"{name}: .*BatchNorm.*single value per channel"):
            proxies.compute(name, net, x, y)
    values = proxies.compute_many(["grad_norm", "near", "params"], net, x, y, on_error="nan")
    assert math.isnan(values["grad_norm"]) and "single value per channel" in values["grad_norm"].reason
    assert math.isnan(values["near"]) and values["params"] == 83


def test_too_few_samples_for_one_proxy_does_not_lose_the_others_with_on_error_nan():
    net, x, y = small_cnn(), torch.randn(1, 3, 8, 8), torch.tensor([1])
    values = proxies.compute_many(["jacob_cov", "near", "meco", "params"], net, x, y, on_error="nan")
    assert math.isnan(values["jacob_cov"]) and "at least 2 samples" in values["jacob_cov"].reason
    assert math.isnan(values["near"]) and "samples" in values["near"].reason
    assert math.isfinite(values["meco"]) and values["params"] == 258
    with pytest.raises(InputError, match="jacob_cov needs at least 2 samples"):
        proxies.compute("jacob_cov", net, x)


def test_every_proxy_docstring_states_its_sign_relative_to_the_paper():
    for name in proxies.available():
        doc = proxies.info(name).function.__doc__ or ""
        assert "sign" in doc.lower(), f"{name}'s docstring does not say how its sign relates to the paper's"
