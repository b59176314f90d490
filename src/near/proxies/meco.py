"""MeCo and meco_opt: the smallest eigenvalue of channel correlations of every module's output."""

from __future__ import annotations

import math
import random

import torch

from ..errors import InputError, OptionError, ProxyNotApplicableError
from ..inputs import _all_finite
from ._common import check_positive, first_samples, first_tensor, hooks, model_input
from ._registry import ProxyContext, ProxyScore, proxy

#: MeCo's ``correlation/NAS_Bench_201.py``: one real training image (``batch_size=1``).
MECO_BATCH = 1
#: meco_opt samples this many channels per hooked output.
OPT_CHANNELS = 8
#: The foresight ``meco`` measure feeds ``randn(1, 3, 64, 64)`` whatever the data.
FORESIGHT_SIZE = 64

_REFERENCE = "Jiang et al. 2023 (MeCo, NeurIPS), HamsterMimi/MeCo correlation/NAS_Bench_201.py get_score"


def _inputs(ctx: ProxyContext, name: str, batch_size: int | None, random_input: bool) -> torch.Tensor:
    if not random_input:
        return first_samples(ctx, name, batch_size)
    check_positive(name, "batch_size", batch_size, allow_none=True)
    shape = ctx.sample_shape
    if len(shape) != 3:
        raise InputError(
            f"{name}: random_input=True feeds N(0,1) images of shape (C, {FORESIGHT_SIZE}, {FORESIGHT_SIZE}) "
            f"and needs image samples (C, H, W); got samples of shape {shape}"
        )
    return torch.randn(batch_size or 1, shape[0], FORESIGHT_SIZE, FORESIGHT_SIZE, device=ctx.device)


def _smallest_eigenvalue(features: torch.Tensor, channels_kept: int | None) -> torch.Tensor:
    """λ_min of corrcoef over the rows of ``features`` [C, positions] (NaN/inf entries → 0), scaled by C/k
    when only ``k = channels_kept`` randomly drawn rows are used."""
    channels = features.shape[0]
    scale = 1.0
    if channels_kept is not None and channels >= channels_kept:
        features = features[random.sample(range(channels), channels_kept)]
        scale = channels / channels_kept
    if features.shape[1] < 2:  # one position: every correlation is undefined (NaN → 0), so λ_min = 0
        return torch.zeros((), dtype=features.dtype, device=features.device)
    corr = torch.corrcoef(features).reshape(len(features), len(features))
    corr = torch.where(torch.isfinite(corr), corr, torch.zeros((), dtype=corr.dtype, device=corr.device))
    return torch.linalg.eigvalsh(corr)[0] * scale


_CORRELATE = ("positions", "samples")
_ACTIVATIONS = "any (conv feature maps; an MLP with correlate='samples')"


@torch.no_grad()
def _meco(
    ctx: ProxyContext,
    name: str,
    batch_size: int | None,
    random_input: bool,
    channels_kept: int | None,
    correlate: str,
) -> float:
    if correlate not in _CORRELATE:
        raise OptionError(f"{name}: correlate must be one of {', '.join(map(repr, _CORRELATE))}; got {correlate!r}")
    x = _inputs(ctx, name, batch_size, random_input)
    model = ctx.copy(train=True)
    terms: list[torch.Tensor] = []
    broken: list[str] = []  # modules whose output held NaN or inf
    spatial = False

    def collect(module, args, output):
        nonlocal spatial
        tensor = first_tensor(output)
        if tensor is None or tensor.ndim < 2 or not tensor.is_floating_point() or tensor.numel() == 0:
            return  # a per-sample scalar (or an index tensor) has no channels to correlate
        if not _all_finite(tensor):  # corrcoef's NaN → 0 is for constant channels; NaN activations would give 0 too
            broken.append(module.__class__.__name__)
            return
        if correlate == "positions":
            features = tensor[0].detach().reshape(tensor.shape[1], -1)  # the first sample: (C, H·W)
        else:
            features = tensor.detach().transpose(0, 1).reshape(tensor.shape[1], -1)  # (C, N·H·W)
        features = features.double()
        spatial = spatial or features.shape[1] > 1
        terms.append(_smallest_eigenvalue(features, channels_kept))

    with hooks(list(model.modules()), collect):
        model(model_input(model, x))  # a BatchNorm seeing one value per channel: compute_many names it
    if broken:
        return ProxyScore(
            math.nan, f"{name}: a {broken[0]} module output NaN or infinite values (the weights, or an overflow); "
            "its channel correlations are undefined, and counting them 0 would give a plausible, wrong score"
        )
    if not spatial:
        if correlate == "samples":
            raise ProxyNotApplicableError(
                f"{name} with correlate='samples' correlates each module's output channels over the samples and "
                f"got {len(x)} sample(s); pass batch_size=2 or more (e.g. 64) and as many samples"
            )
        raise ProxyNotApplicableError(
            f"{name} correlates each module's output channels over spatial positions and no module of this "
            "model outputs a feature map with more than one position (an MLP: every (C, 1) correlation is "
            "undefined, counted 0, so the score would be 0 for any weights); pass correlate='samples' and "
            "batch_size=64 to correlate the units over samples instead"
        )
    values = torch.stack(terms) if terms else torch.zeros(0, dtype=torch.float64)
    value = values[torch.isfinite(values)].sum().item()
    if not math.isfinite(value):
        return ProxyScore(math.nan, f"{name}: the sum of smallest eigenvalues is {value}")
    return value


@proxy("meco", needs_labels=False, activations=_ACTIVATIONS, sign="same as the paper",
       reference=_REFERENCE)
def meco(
    ctx: ProxyContext, *, batch_size: int | None = MECO_BATCH, random_input: bool = False, correlate: str = "positions"
) -> float:
    """MeCo: Σ over every module call of λ_min of the channel correlation of its output's first sample.

    A forward hook on every module of ``named_modules()`` (the root, containers, leaves, Identity
    and ``none`` ops alike) takes the output's first sample (the first tensor of a tuple output),
    reshaped to (C, H·W), computes corrcoef over its C rows with NaN/inf entries set to 0, and adds
    the smallest eigenvalue; NaN/inf eigenvalues are dropped. A (C, 1) matrix (2-D outputs: logits,
    post-GAP vectors, Linear layers) or a constant map (the ``none`` op) has an undefined
    correlation, i.e. the zero matrix, and adds 0, as in the reference; a model where that holds for
    every module (an MLP) raises ProxyNotApplicableError instead of a silent 0. The reference uses
    ``torch.linalg.eig`` in float32; this uses ``eigvalsh`` in float64 (the matrix is symmetric: the
    same spectrum, always real, and λ_min near 0 is not rounding noise). Train mode, the first
    ``batch_size`` samples (1 real image, the reference's setting; only the first sample's features
    are read, the others only feed BatchNorm statistics; ``None`` = all given). ``random_input=True``
    is the foresight measure's variant: N(0,1) input of shape (batch_size, C, 64, 64), whatever the
    data. ``correlate="samples"`` is our extension for models without feature maps (MLPs): each
    output's channels are correlated over all ``batch_size`` samples (and positions), (C, N·H·W),
    so it needs 2 or more samples. Same sign as the paper (higher = predicted better).
    """
    return _meco(ctx, "meco", batch_size, random_input, None, correlate)


@proxy("meco_opt", needs_labels=False, activations=_ACTIVATIONS, sign="same as the paper",
       reference=_REFERENCE + " (measure='meco_opt')")
def meco_opt(
    ctx: ProxyContext, *, batch_size: int | None = MECO_BATCH, random_input: bool = False, correlate: str = "positions"
) -> float:
    """MeCo_opt: MeCo with λ_min estimated from 8 randomly drawn channels per module call, scaled by C/8.

    As ``meco`` (same hooks, batch and options), but each hooked output's correlation uses 8 rows
    drawn with Python's ``random.sample`` (seeded by ``seed``) and λ_min(corr₈) is multiplied by C/8.
    The reference fails on an output with fewer than 8 channels; here such an output uses all its C
    channels with factor C/C = 1, i.e. its exact MeCo term (the estimator's natural limit: sample
    everything you have). Same sign as the paper.
    """
    return _meco(ctx, "meco_opt", batch_size, random_input, OPT_CHANNELS, correlate)

