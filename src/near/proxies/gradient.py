"""Proxies from gradients of the weights: grad_norm, snip, grasp, fisher, plain, synflow, zico.

Every proxy here scores the weights of the Conv*/Linear layers (:func:`weighted_layers`; biases
never; weights the caller froze too, as ``requires_grad`` is switched on in the copy) on a private
copy of the model in train mode (BatchNorm on batch statistics, as every reference does) and returns
"higher = predicted better". grad_norm, snip, fisher and plain read one cross-entropy
forward/backward on the first ``batch_size`` samples with their real labels; when several of them
are computed in one :func:`near.proxies.compute_many` call that pass runs once.
Gradients are taken with :func:`torch.autograd.grad` and activations with tensor hooks registered
from forward hooks, so in-place ReLUs and tuple outputs do not disturb them; they are taken even
under a caller's ``torch.no_grad()``, in the dtype of the model's weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, OptionError, ProxyNotApplicableError
from ._common import first_samples, model_input
from ._registry import ProxyContext, ProxyScore, logits_of, proxy, weighted_layers

#: Samsung's NB201 setting (``nasbench2_pred.py``): one batch of 64 real training images.
SAMSUNG_BATCH = 64

_SAMSUNG = "Abdelfattah et al. 2021 (SamsungLabs/zero-cost-nas; NASLib identical)"


# -------------------------------------------------------------------------------------------------
# Shared plumbing


def _first_samples(ctx: ProxyContext, name: str, batch_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``batch_size`` samples and their labels (``None``: every sample given)."""
    x = first_samples(ctx, name, batch_size)
    return x, ctx.labels(name)[: len(x)]


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's logits for a private copy of ``x`` in the dtype of its weights (:func:`model_input`)."""
    return logits_of(model(model_input(model, x)))


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor, name: str) -> torch.Tensor:
    """Cross-entropy on class indices, or on class probabilities when ``y`` is float and shaped like the logits.

    Checked here because both failures would otherwise pass silently or cryptically: one logit makes
    the loss 0 whatever the weights (every score 0), and an out-of-range label is an IndexError.
    """
    classes = logits.shape[1] if logits.ndim > 1 else 1
    if classes < 2:
        raise ProxyNotApplicableError(
            f"{name} differentiates a cross-entropy, which is 0 whatever the weights when the model gives "
            f"{classes} logit per sample (output shape {tuple(logits.shape)}); build it with 2 or more classes"
        )
    if y.is_floating_point() and y.shape == logits.shape:
        return F.cross_entropy(logits, y.to(logits.dtype))
    y = y.long()
    if y.numel() and (y.min() < 0 or y.max() >= classes):
        raise InputError(
            f"{name}: labels must be class indices in [0, {classes}) for the model's {classes} logits; "
            f"got values from {y.min().item()} to {y.max().item()}"
        )
    return F.cross_entropy(logits, y)


def _scored_layers(model: nn.Module, name: str) -> list[nn.Module]:
    """The Conv/Linear layers of ``model`` (a private copy), with their weights requiring grad."""
    layers = weighted_layers(model)
    if not layers:
        raise ProxyNotApplicableError(f"{name} scores the weights of Conv/Linear layers and the model has none")
    for layer in layers:
        layer.weight.requires_grad_(True)
    return layers


def _weight_grads(scalar: torch.Tensor, weights: list[torch.Tensor], name: str, **kwargs) -> tuple:
    """∂scalar/∂w for each weight; zeros for a weight that took no part (it scores 0, as in Samsung's code).

    When no weight takes part every score would be a silent 0, so that raises instead.
    """
    grads = torch.autograd.grad(scalar, weights, allow_unused=True, **kwargs) if scalar.requires_grad else ()
    if not any(g is not None for g in grads):
        raise ProxyNotApplicableError(
            f"{name} scores the weights of the Conv/Linear layers and none of them takes part in the model's "
            "output; the proxy does not apply to this model"
        )
    return tuple(torch.zeros_like(w) if g is None else g for w, g in zip(weights, grads))


def _total(terms) -> float:
    """Σ of per-layer float64 terms."""
    return float(sum(t.item() for t in terms))


def _non_finite(name: str, value: float, loss: float | None = None) -> ProxyScore:
    if loss is not None and not math.isfinite(loss):
        return ProxyScore(math.nan, f"{name}: the cross-entropy loss is {loss} on this batch (NaN/inf outputs)")
    return ProxyScore(math.nan, f"{name}: the score is {value} (the gradients overflow or hold NaN)")


def _score(name: str, value: float, loss: float | None = None) -> float:
    return value if math.isfinite(value) else _non_finite(name, value, loss)


# -------------------------------------------------------------------------------------------------
# One cross-entropy backward shared by grad_norm, snip, fisher and plain


@dataclass(frozen=True)
class LossGradients:
    """What one cross-entropy backward leaves per scored layer; shared, so read-only by convention.

    ``grads[i]`` is zero for a layer that took no part; ``fisher[i]`` is the per-output-channel Δ_k
    of layer i summed over its calls (0 when it never ran), ``fan_in[i]`` the number of elements of
    ``weight.shape[1:]``.
    """

    weights: tuple[torch.Tensor, ...]
    grads: tuple[torch.Tensor, ...]
    fisher: tuple[torch.Tensor, ...]
    fan_in: tuple[int, ...]
    loss: float


def _channel_fisher(act: torch.Tensor, grad: torch.Tensor, features_last: bool) -> torch.Tensor:
    """Δ_k = ½ mean_n (Σ_positions act·grad)², per output channel k (Samsung's fisher hook)."""
    product = act * grad
    if features_last:  # Linear: features are the last axis, any axes between the batch and them are positions
        product = product.movedim(-1, 1)
    if product.ndim > 2:
        product = product.sum(dim=tuple(range(2, product.ndim)))
    return 0.5 * product.double().pow(2).mean(0)


@torch.enable_grad()  # a caller's torch.no_grad() must not turn every gradient off
def _loss_backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor, name: str) -> LossGradients:
    layers = _scored_layers(model, name)
    fisher: list[torch.Tensor | None] = [None] * len(layers)

    def capture(index: int, features_last: bool):
        def forward_hook(module, args, output):
            if not isinstance(output, torch.Tensor) or not output.requires_grad:
                return
            act = output.detach().clone()  # the raw output; a following in-place op must not change it

            def tensor_hook(grad: torch.Tensor) -> None:
                delta = _channel_fisher(act, grad.detach(), features_last)
                fisher[index] = delta if fisher[index] is None else fisher[index] + delta

            output.register_hook(tensor_hook)

        return forward_hook

    handles = [
        layer.register_forward_hook(capture(i, isinstance(layer, nn.Linear))) for i, layer in enumerate(layers)
    ]
    try:
        loss = _cross_entropy(_logits(model, x), y, name)
        weights = [layer.weight for layer in layers]
        grads = _weight_grads(loss, weights, name)
    finally:
        for handle in handles:
            handle.remove()
    return LossGradients(
        weights=tuple(w.detach() for w in weights),
        grads=tuple(g.detach() for g in grads),
        fisher=tuple(torch.zeros((), dtype=torch.float64) if f is None else f for f in fisher),
        fan_in=tuple(w[0].numel() for w in weights),
        loss=loss.item(),
    )


def loss_gradients(ctx: ProxyContext, name: str, batch_size: int | None) -> LossGradients:
    """The cross-entropy weight gradients (and fisher statistics) on the first ``batch_size`` samples.

    Computed once per context and batch, on a fresh train-mode copy: grad_norm, snip, fisher and
    plain computed together read the same pass, with exactly the values each would compute alone.
    """
    x, y = _first_samples(ctx, name, batch_size)  # errors name the proxy that asked
    return ctx.shared(("gradient.loss_backward", len(x)), lambda: _loss_backward(ctx.copy(train=True), x, y, name))


# -------------------------------------------------------------------------------------------------
# The loss-gradient proxies


@proxy("grad_norm", needs_labels=True, sign="same as the paper", reference=f"grad_norm, {_SAMSUNG}")
def grad_norm(ctx: ProxyContext, *, batch_size: int | None = SAMSUNG_BATCH) -> float:
    """Σ over Conv/Linear layers of ‖∂L/∂W‖₂, the cross-entropy gradient's per-layer norm (Samsung).

    The sum of per-layer Frobenius norms, not the global norm (Zen-NAS's variant, with Gaussian
    weights, random labels and every parameter, is a different proxy). One forward/backward in train
    mode on the first ``batch_size`` samples (64, Samsung's NB201 setting; ``None`` = all given) with
    their labels; a layer without a gradient counts 0. Same sign as the paper.
    """
    result = loss_gradients(ctx, "grad_norm", batch_size)
    value = _total(g.double().norm() for g in result.grads)
    return _score("grad_norm", value, result.loss)


@proxy("snip", needs_labels=True, sign="same as the paper", reference=f"snip (Lee et al. 2019), {_SAMSUNG}")
def snip(ctx: ProxyContext, *, batch_size: int | None = SAMSUNG_BATCH) -> float:
    """Σ |∂L/∂W ⊙ W| over Conv/Linear weights: SNIP's connection sensitivity summed (Samsung).

    Samsung differentiates with respect to a mask of ones multiplying each weight; ∂L/∂mask at
    mask = 1 is exactly ∂L/∂W ⊙ W, so the mask is not built. Same batch and pass as grad_norm
    (default 64 samples, train mode, real labels). Same sign as the paper.
    """
    result = loss_gradients(ctx, "snip", batch_size)
    pairs = zip(result.weights, result.grads)
    value = _total((g.double() * w.double()).abs().sum() for w, g in pairs)
    return _score("snip", value, result.loss)


@proxy("plain", needs_labels=True, sign="same as Samsung's", reference=f"plain (Mozer & Smolensky 1989), {_SAMSUNG}")
def plain(ctx: ProxyContext, *, batch_size: int | None = SAMSUNG_BATCH) -> float:
    """Σ ∂L/∂W ⊙ W over Conv/Linear weights, signed (no absolute value), as Samsung's ``plain``.

    Same batch and pass as grad_norm (default 64 samples, train mode, real labels). The value can be
    negative; Samsung's sign is kept (it correlates weakly, even negatively, with accuracy on NB201).
    """
    result = loss_gradients(ctx, "plain", batch_size)
    pairs = zip(result.weights, result.grads)
    value = _total((g.double() * w.double()).sum() for w, g in pairs)
    return _score("plain", value, result.loss)


@proxy(
    "fisher",
    needs_labels=True,
    sign="same as the paper",
    reference=f"fisher (Theis et al. 2018; Turner et al. 2020), {_SAMSUNG}",
)
def fisher(ctx: ProxyContext, *, batch_size: int | None = SAMSUNG_BATCH, fan_in_weighted: bool = True) -> float:
    """Channel-wise Fisher information of the Conv/Linear outputs, summed (Samsung's ``fisher``).

    For every output channel k of a layer with raw output a (before BN and activation) and
    g = ∂L/∂a: Δ_k = ½ mean_n (Σ_positions a·g)², summed over the layer's calls. Samsung broadcasts
    each Δ_k over ``weight.shape[1:]`` before summing, so its scalar is Σ_l Σ_k Δ_k · fan_in_l;
    ``fan_in_weighted=True`` (default) reproduces that, ``False`` gives the plain Σ Δ_k. A layer
    never called counts 0. For Linear layers the channel is the last axis (Samsung would sum over
    the features of a 3-D input instead). Same pass as grad_norm (default 64 samples, train mode).
    Same sign as the paper.
    """
    result = loss_gradients(ctx, "fisher", batch_size)
    value = _total(
        delta.abs().sum() * (fan_in if fan_in_weighted else 1)
        for delta, fan_in in zip(result.fisher, result.fan_in)
    )
    return _score("fisher", value, result.loss)


@proxy(
    "grasp",
    needs_labels=True,
    sign="Samsung's: −θ⊙Hg summed (GraSP's score S(−θ)), higher = better",
    reference=f"grasp (Wang et al. 2020), {_SAMSUNG}",
)
@torch.enable_grad()
def grasp(ctx: ProxyContext, *, batch_size: int | None = SAMSUNG_BATCH) -> float:
    """Σ −W ⊙ (H g) over Conv/Linear weights, H the loss Hessian and g the loss gradient (Samsung).

    With temperature T = 1 and one iteration, as Samsung: g = ∂L/∂W, then z = Σ_l g_l·∂L/∂W_l with g
    held constant, and ∂z/∂W = H g. Samsung runs two identical forward passes (one for g, one with
    ``create_graph``); one pass gives the same g (unless Dropout draws two masks there), so this
    runs one. The minus sign is Samsung's (its code keeps it because accuracy correlated negatively
    without it); a layer without a gradient counts 0. Default batch: the first 64 samples, train
    mode, real labels.
    """
    x, y = _first_samples(ctx, "grasp", batch_size)
    model = ctx.copy(train=True)
    weights = [layer.weight for layer in _scored_layers(model, "grasp")]
    loss = _cross_entropy(_logits(model, x), y, "grasp")
    grads = _weight_grads(loss, weights, "grasp", create_graph=True)
    z = sum((g.detach() * g).sum() for g in grads)
    if not z.requires_grad:  # no gradient depends on the weights: H g = 0
        return _score("grasp", 0.0, loss.item())
    hessian_grads = torch.autograd.grad(z, weights, allow_unused=True)
    pairs = [(w, hg) for w, hg in zip(weights, hessian_grads) if hg is not None]  # None: H g is 0 there
    value = _total(-(w.detach().double() * hg.double()).sum() for w, hg in pairs)
    return _score("grasp", value, loss.item())


# -------------------------------------------------------------------------------------------------
# synflow


def _pass_through(input, *args, **kwargs):
    return input


@proxy(
    "synflow",
    needs_labels=False,
    uses_data=False,
    sign="same as the paper",
    reference=f"synflow (Tanaka et al. 2020), {_SAMSUNG}",
)
@torch.enable_grad()
def synflow(ctx: ProxyContext, *, batchnorm: bool = False) -> float:
    """Σ |W ⊙ ∂R/∂W| over Conv/Linear weights, R = Σ outputs of |θ|-network on an all-ones input (Samsung).

    A float64 copy with the absolute value of every ``state_dict`` entry (BN buffers included) is
    fed one all-ones sample of the data's sample shape; only that shape is read from the inputs,
    never their values (hence ``uses_data=False``). ``batchnorm=False`` (default, Samsung's
    ``synflow``) makes every BatchNorm an identity, like Samsung's generic copy; ``True`` keeps BN in
    train mode (Samsung's ``synflow_bn``). Scores span decades (1e30–1e60 is common): compare them in
    log space. A score that overflows float64 is reported as NaN with the reason. Same sign as the paper.
    """
    model = ctx.copy(train=True)
    if not batchnorm:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.forward = _pass_through
    model.double()
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    weights = [layer.weight for layer in _scored_layers(model, "synflow")]
    ones = torch.ones((1, *ctx.sample_shape), dtype=torch.float64, device=ctx.device)
    try:
        output = logits_of(model(ones)).sum()
    except ValueError as error:
        if batchnorm and "more than 1 value per channel" in str(error):
            raise ProxyNotApplicableError(
                "synflow with batchnorm=True runs BatchNorm in train mode on one sample, and a BatchNorm "
                "here sees a single value per channel; use batchnorm=False (Samsung's synflow)"
            ) from None
        raise
    grads = _weight_grads(output, weights, "synflow")
    value = _total((w.detach() * g).abs().sum() for w, g in zip(weights, grads))
    if not math.isfinite(value):
        return ProxyScore(
            math.nan, f"synflow: the score is {value} in float64 (R = Σ outputs = {output.item():.3g}): the |θ| path "
            "products overflow (a deep or wide network, or huge weights) or a weight is NaN"
        )
    return value


# -------------------------------------------------------------------------------------------------
# ZiCo


def _zico_batches(ctx: ProxyContext, split: int | None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    if split is not None:
        if isinstance(split, bool) or not isinstance(split, int) or split < 2:
            raise OptionError(f"zico: split must be an integer ≥ 2 or None; got {split!r}")
        x, y = ctx.x, ctx.labels("zico")
        size = len(x) // split
        if size < 1:
            raise InputError(f"zico: split={split} needs at least {split} samples; got {len(x)}")
        return [(x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]) for i in range(split)]
    if len(ctx.batches) < 2:
        raise ProxyNotApplicableError(
            "zico needs at least 2 batches: it divides each gradient's mean by its standard deviation across "
            "batches, which is 0 for one batch; pass a list of (x, y) batches (the reference uses 2 × 128) "
            "or split=2 to cut the one batch given into 2"
        )
    ctx.labels("zico")  # every batch must be labelled
    dtype = torch.get_default_dtype()
    return [(x.to(ctx.device, dtype), y.to(ctx.device)) for x, y in ctx.batches]


@proxy("zico", needs_labels=True, sign="same as the paper", reference="ZiCo (Li et al. 2023), SLDGroup/ZiCo getzico")
@torch.enable_grad()
def zico(ctx: ProxyContext, *, split: int | None = None) -> float:
    """Σ_l log Σ_j mean_b|g_bj| / std_b(g_bj): gradient signal-to-noise across batches (official ZiCo).

    g_b is the cross-entropy gradient of layer l's weight on batch b, computed afresh for every
    batch (the official ``zero_grad`` per batch; MeCo's port, which accumulates the second half's
    gradient onto the first, is not reproduced). The std is the population std (``ddof=0``);
    entries with std 0 are skipped, and so is a layer whose sum is 0. Train mode, real labels.
    By default the batches are those given (≥ 2 needed; the reference uses 2 × 128), each used
    whole; one batch raises :class:`~near.errors.ProxyNotApplicableError` unless ``split=k`` cuts
    all samples into k equal batches (the last ``N mod k`` samples are dropped). No layer left
    gives NaN with the reason. Same sign as the paper.
    """
    batches = _zico_batches(ctx, split)
    model = ctx.copy(train=True)
    weights = [layer.weight for layer in _scored_layers(model, "zico")]
    per_batch = []
    for x, y in batches:
        loss = _cross_entropy(_logits(model, x), y, "zico")
        if not math.isfinite(loss.item()):
            return _non_finite("zico", math.nan, loss.item())
        grads = _weight_grads(loss, weights, "zico")
        per_batch.append([g.detach().flatten().double() for g in grads])
    value, layers_used = 0.0, 0
    for layer_grads in zip(*per_batch):
        g = torch.stack(layer_grads)  # [batches, weights of the layer]
        std = g.std(dim=0, correction=0)
        keep = std != 0
        ratio = (g.abs().mean(dim=0)[keep] / std[keep]).sum().item()
        if ratio != 0:
            value += math.log(ratio)
            layers_used += 1
    if layers_used == 0:
        return ProxyScore(math.nan, "zico: no weight gradient varies across the batches (every std is 0): "
                          "the network's gradients do not depend on the data")
    return _score("zico", value)
