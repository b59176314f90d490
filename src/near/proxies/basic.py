"""Proxies read off the model itself (size, cost, weight norm) and NEAR."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..errors import NonFiniteActivationError, NoScorableLayerError, OptionError, ProxyNotApplicableError
from ._common import model_input
from ._registry import ProxyContext, ProxyScore, logits_of, proxy, weighted_layers


@proxy("params", needs_labels=False, uses_data=False, reference="#Params (NASLib `params`, in units, not millions)")
def params(ctx: ProxyContext) -> float:
    """Number of parameters: Σ numel over ``named_parameters()`` whose name lacks "auxiliary".

    Counted like the benchmarks' ``count_parameters`` (NATS-Bench reports it in millions; here in units).
    Same sign as the papers that use it as a baseline proxy (more parameters = predicted better).
    """
    return float(sum(p.numel() for name, p in ctx.model.named_parameters() if "auxiliary" not in name))


@proxy("flops", needs_labels=False, uses_data=False, reference="FLOPs (NASLib `flops`), via torch.utils.flop_counter")
def flops(ctx: ProxyContext) -> float:
    """Floating-point operations of one forward pass on one sample, counted by PyTorch's ``FlopCounterMode``.

    A multiply-add counts as 2 FLOPs (PyTorch's convention; NASLib's tensorwatch reports MACs·2 as
    well for convolutions). Only the input's shape matters, not its values. Same sign as the papers that
    use it as a baseline proxy (more FLOPs = predicted better).
    """
    model = ctx.copy(train=False)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        logits_of(model(model_input(model, ctx.x[:1])))
    return float(counter.get_total_flops())


@proxy("l2_norm", needs_labels=False, uses_data=False, reference="NASLib `l2_norm`")
def l2_norm(ctx: ProxyContext) -> float:
    """Σ over Conv/Linear layers of the Frobenius norm of the weight (the current weights; no data used).

    Same sign as NASLib's ``l2_norm`` (a larger norm = predicted better); it has no paper of its own.
    A model without Conv/Linear layers raises ProxyNotApplicableError rather than a silent 0.
    """
    layers = weighted_layers(ctx.model)
    if not layers:
        raise ProxyNotApplicableError(
            "l2_norm sums the weight norms of Conv/Linear layers and the model has none (its value would be 0 "
            "whatever the model)"
        )
    with torch.no_grad():
        return float(sum(layer.weight.norm().item() for layer in layers))


@proxy(
    "near",
    needs_labels=False,
    reference="Husistein, Reiher & Eckhoff, ICLR 2025; `near.score`",
)
def near(
    ctx: ProxyContext,
    *,
    repetitions: int = 1,
    batchnorm: str = "batch",
    reinit: bool = True,
    batch_size: int | None = None,
) -> float:
    """NEAR: the sum of effective ranks of every layer's pre- and post-activation matrices (``near.score``).

    Same sign as the paper (higher = more expressive = predicted better). The mean over
    ``repetitions``, each with fresh weights (drawn by ``compute_many``'s ``factory`` where one is given, so a
    network's own initialisation is kept; else PyTorch's default scheme) and a fresh draw of samples;
    ``batch_size`` = samples per forward pass (default: what the widest layer needs), which sets the
    BatchNorm batch statistics under ``batchnorm="batch"``.
    """
    from ..score import score  # the core; imported here so near.proxies loads without it first

    built = reinit and ctx.factory is not None
    try:
        return score(
            ctx.factory if built else ctx.model, ctx.x, repetitions=repetitions, batchnorm=batchnorm, reinit=reinit,
            batch_size=batch_size, seed=ctx.seed, device=ctx.device if built else None,
        ).mean
    except NoScorableLayerError as error:
        raise ProxyNotApplicableError(str(error)) from None
    except OptionError as error:
        raise OptionError(f"near: {error}") from None
    except NonFiniteActivationError as error:
        return ProxyScore(float("nan"), f"near: {error}")
