"""Zen-NAS's zen score: the expected response to a small input perturbation, with BatchNorm variance terms."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import OptionError, ProxyNotApplicableError
from ._common import check_positive, check_positive_number, gaussian_init_, hooks, model_dtype, model_input
from ._registry import ProxyContext, ProxyScore, proxy

#: ZenNAS's CIFAR search setting: batch 64, repeat 1, mixup γ = 1e-2.
ZEN_BATCH, ZEN_REPEATS, ZEN_GAMMA = 64, 1, 1e-2

_FEATURES = ("auto", "pre_gap", "pre_classifier")
#: The references hook ``nn.AdaptiveAvgPool2d``; a Conv1d/Conv3d network pools with the other dimensions.
_ADAPTIVE_AVG_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)


def _feature_modules(model: nn.Module, features: str) -> list[nn.Module]:
    if features == "auto":
        pools = [m for m in model.modules() if isinstance(m, _ADAPTIVE_AVG_POOLS)]
        modules = pools or [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not modules:
            raise ProxyNotApplicableError(
                "zen reads the input of the last nn.AdaptiveAvgPool1d/2d/3d (the pre-GAP feature map) or, in a "
                "model without one, of the last nn.Linear, and the model has neither"
            )
    elif features == "pre_gap":
        modules = [m for m in model.modules() if isinstance(m, _ADAPTIVE_AVG_POOLS)]
        if not modules:
            raise ProxyNotApplicableError(
                "zen reads the feature map before global average pooling (the input of an nn.AdaptiveAvgPool1d/2d/3d) "
                "and the model has none; pass features='pre_classifier' to use the input of the last nn.Linear"
            )
    elif features == "pre_classifier":
        modules = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not modules:
            raise ProxyNotApplicableError(
                "zen with features='pre_classifier' reads the input of the last nn.Linear and the model has none"
            )
    else:
        raise OptionError(f"zen: features must be one of {', '.join(map(repr, _FEATURES))}; got {features!r}")
    return modules


def _bn_log_scale(model: nn.Module) -> float:
    """Σ over BatchNorms with running statistics of log sqrt(mean running_var)."""
    total = 0.0
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_var is not None:
            total += 0.5 * torch.log(module.running_var.double().mean()).item()
    return total


@proxy(
    "zen",
    needs_labels=False,
    uses_data=False,
    activations="any",
    sign="same as the paper",
    reference="Lin et al. 2021 (Zen-NAS, ICCV), idstcv/ZenNAS compute_zen_score; NASLib zen",
)
@torch.no_grad()
def zen(
    ctx: ProxyContext,
    *,
    batch_size: int = ZEN_BATCH,
    repeats: int = ZEN_REPEATS,
    gamma: float = ZEN_GAMMA,
    features: str = "auto",
) -> float:
    """Zen-score: log E‖f(x) − f(x + γε)‖₁ + Σ_BN log sqrt(mean running_var), with Gaussian weights.

    On a private train-mode copy with the Gaussian init (Conv/Linear weights ~ N(0, 1), zero bias;
    BN/GroupNorm weight 1, bias 0) and fresh BatchNorm running statistics: x, ε ~ N(0, 1) of shape
    (``batch_size``, *sample shape) (64, ZenNAS's CIFAR search; the data's values are never read,
    only its sample shape), γ = ``gamma`` (1e-2); f is the input of the last ``nn.AdaptiveAvgPool2d``
    called (the pre-GAP feature map, as NASLib's hook; ``AdaptiveAvgPool1d``/``3d`` count too, for
    Conv1d/Conv3d networks). ``features="auto"`` (default) does that when the model has such a pool
    and otherwise (an MLP) takes the input of the last ``nn.Linear`` called; ``"pre_gap"`` and
    ``"pre_classifier"`` force one of the two. Δ = mean over the
    batch of Σ|f(x) − f(x')| and the score is log Δ plus, for every BatchNorm with running statistics,
    log sqrt(mean running_var) read after the two forward passes (the momentum-updated buffers, as
    the reference; a BN without running statistics is skipped, as MeCo's port does). The mean over
    ``repeats`` (1, ZenNAS's search; its CLI uses 32), each with a fresh draw of weights and inputs
    and reset running statistics (the reference keeps the statistics across repeats, so its repeats
    after the first differ slightly). A model without the module ``features`` reads raises
    ProxyNotApplicableError; Δ = 0 (the features do not depend on the input) or an overflow gives NaN
    with the reason. Same sign as the paper (higher = predicted better).
    """
    check_positive("zen", "batch_size", batch_size)
    check_positive("zen", "repeats", repeats)
    check_positive_number("zen", "gamma", gamma)
    _feature_modules(ctx.model, features)  # validates before any work
    model = ctx.copy(train=True)
    dtype = model_dtype(model)
    shape = (batch_size, *ctx.sample_shape)
    captured: list[torch.Tensor] = []

    def capture(module, args):
        if args and isinstance(args[0], torch.Tensor):
            captured.append(args[0].detach().clone())

    def feature_map(x: torch.Tensor) -> torch.Tensor:
        captured.clear()
        model(model_input(model, x))  # a copy: an in-place op at the input must not change x before x' = x + γε
        if not captured:
            raise ProxyNotApplicableError(f"zen: no module read by features={features!r} ran in the forward pass")
        return captured[-1]

    scores = []
    with hooks(_feature_modules(model, features), capture, pre=True):
        for _ in range(repeats):
            gaussian_init_(model)
            for module in model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.reset_running_stats()
            x = torch.randn(shape, device=ctx.device, dtype=dtype)
            epsilon = torch.randn(shape, device=ctx.device, dtype=dtype)
            difference = feature_map(x) - feature_map(x + gamma * epsilon)
            delta = difference.abs().flatten(1).sum(dim=1).mean().item()
            if delta == 0:
                return ProxyScore(
                    math.nan, "zen: f(x) == f(x'): the network's features do not depend on its input (Δ = 0)"
                )
            if not math.isfinite(delta):
                return ProxyScore(math.nan, f"zen: Δ = {delta}: the Gaussian-initialised network overflows")
            scores.append(math.log(delta) + _bn_log_scale(model))
    value = sum(scores) / len(scores)
    if not math.isfinite(value):
        return ProxyScore(math.nan, f"zen: the score is {value} (a BatchNorm running variance is 0 or inf)")
    return value
