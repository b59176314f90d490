"""Proxies from binary ReLU activation patterns: nwot (NASWOT), swap and reg_swap.

Each sample's code is the on/off state of every ReLU unit. nwot scores how different the samples'
codes are (the log-determinant of a Hamming-similarity kernel); swap counts how many distinct
per-unit patterns across the samples the network produces. Both read only ``nn.ReLU``-family
modules: a network without them (GELU, SiLU, functional ``F.relu``) raises
:class:`~near.errors.ProxyNotApplicableError` instead of the references' −inf or ``None``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import OptionError, ProxyNotApplicableError
from ._common import check_positive, check_positive_number, first_samples, gaussian_init_, model_input
from ._common import hooks as module_hooks  # nwot's option is called ``hooks``
from ._registry import ProxyContext, ProxyScore, proxy

#: NASWOT's setting (every ``scorehook.sh`` command): 128 samples.
NASWOT_BATCH = 128
#: SWAP's ``correlation.py``: 16 real images, 32 Gaussian re-initialisations.
SWAP_BATCH, SWAP_REPEATS = 16, 32
#: reg_swap's default centre (K-params ≈ the largest NB201 network, 1531.5 K); σ defaults to μ².
SWAP_MU = 1500.0

#: The ReLU family as torch defines it (NASLib's rule: 'ReLU' in the class name, torch's classes only).
RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU)

_NO_RELU = (
    "reads the on/off codes of ReLU units and the model has no {what}: activations like GELU/SiLU/Tanh "
    "and functional F.relu calls are not seen, so the proxy does not apply to this model"
)


# -------------------------------------------------------------------------------------------------
# nwot


def _nwot_modules(model: nn.Module, hooks_option: str) -> list[nn.Module]:
    if hooks_option == "relu":
        return [m for m in model.modules() if isinstance(m, RELU_FAMILY)]
    if hooks_option == "substring":
        return [m for m in model.modules() if "ReLU" in str(type(m))]
    raise OptionError(f"nwot: hooks must be 'relu' or 'substring'; got {hooks_option!r}")


@proxy(
    "nwot",
    needs_labels=False,
    activations="ReLU-family modules (nn.ReLU, ReLU6, LeakyReLU, RReLU)",
    sign="same as the paper",
    reference="Mellor et al. 2021 (NASWOT v2), BayesWatch/nas-without-training hook_logdet; NASLib nwot",
)
@torch.no_grad()
def nwot(ctx: ProxyContext, *, batch_size: int | None = NASWOT_BATCH, hooks: str = "relu") -> float:
    """log|det K|, K_ij = Σ over ReLU inputs of the number of units on which samples i and j agree (NASWOT).

    Every hooked module's input is flattened per sample into a binary code c = (input > 0) and
    K += c cᵀ + (1 − c)(1 − c)ᵀ, i.e. K_ij += D − Hamming(c_i, c_j), over every call; the score is
    ``slogdet(K)[1]``, with K not normalised (as the maintainers keep it). One forward pass in train
    mode of the first ``batch_size`` samples (128, NASWOT's setting; NASLib's runs used 32;
    ``None`` = all given).

    ``hooks="relu"`` (default, NASLib's rule) hooks torch's ReLU-family modules only, so each unit
    counts once and the score depends on the computation, not on class names. ``hooks="substring"``
    is the original rule, every module whose type contains "ReLU": in NB201 the ``ReLUConvBN``
    containers are hooked besides their inner ``nn.ReLU`` (same input), so those codes count twice,
    and any user class named like that is hooked too. NASWOT fills K in a second forward after a
    backward that marks the modules it reaches; that gate only drops modules whose output never
    reaches the logits (in NB201 every one does: the ``none`` op multiplies by 0 and keeps the
    graph), and train-mode BatchNorm gives the second pass the same codes, so one forward is the
    same K. A model without such modules raises ProxyNotApplicableError (the references return
    −inf or −1e8). A singular K (linearly dependent codes: two samples with identical codes, e.g.
    duplicate inputs or a dead network, or fewer units than samples) gives NaN with the reason; the
    references take ``slogdet`` as it comes, which for a singular K is LU rounding noise (≈ −30 on
    small networks, anything at scale) rather than −inf, so the rank is checked first. A NaN ReLU
    input (overflow) gives NaN too, where the references read it as "off". Same sign as the paper
    (higher = predicted better).
    """
    modules = _nwot_modules(ctx.model, hooks)  # validates the option before any work
    if not modules:
        what = "nn.ReLU-family module" if hooks == "relu" else "module whose type name contains 'ReLU'"
        raise ProxyNotApplicableError("nwot " + _NO_RELU.format(what=what))
    x = first_samples(ctx, "nwot", batch_size)
    model = ctx.copy(train=True)
    n = len(x)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=ctx.device)
    calls, nan_seen = 0, torch.zeros((), dtype=torch.bool, device=ctx.device)

    def accumulate(module, args):
        nonlocal kernel, calls, nan_seen
        inp = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if inp is None or inp.ndim == 0 or inp.shape[0] != n:
            return
        nan_seen = nan_seen | torch.isnan(inp).any()  # a NaN would read as "off", silently
        c = (inp.detach() > 0).reshape(n, -1)
        width = c.shape[1]
        # K = c cᵀ + (1−c)(1−c)ᵀ = 2 c cᵀ − a 1ᵀ − 1 aᵀ + D, a = Σ_d c; exact in float32 below 2^24 units
        c = c.to(torch.float32 if width < 2**24 else torch.float64)
        ones = c.sum(dim=1, dtype=torch.float64)
        kernel += 2 * (c @ c.T).double() - ones[:, None] - ones[None, :] + width
        calls += 1

    with module_hooks(_nwot_modules(model, hooks), accumulate, pre=True):  # the input, before an in-place op
        model(model_input(model, x))
    if calls == 0:
        raise ProxyNotApplicableError(
            "nwot: the model's ReLU modules never ran on a batch-first input in the forward pass, so there are no codes"
        )
    if nan_seen:
        return ProxyScore(math.nan, "nwot: a ReLU input holds NaN (the network overflows), so its codes are undefined")
    kernel = kernel.cpu().numpy()
    # K is singular exactly when the codes are linearly dependent; LU then returns rounding noise, not −inf
    # (log|det| ≈ −30, or any value at NB201's scale), so test the rank first (eigenvalues, tolerance n·eps·λ_max)
    rank = np.linalg.matrix_rank(kernel, hermitian=True)
    sign, logdet = np.linalg.slogdet(kernel)
    if rank < n or not math.isfinite(logdet):
        return ProxyScore(
            math.nan,
            f"nwot: the kernel K is singular (rank {rank} of {n}): the samples' ReLU codes are linearly dependent, "
            "e.g. two samples have identical ReLU codes (duplicate inputs, or a dead network whose codes do not "
            "depend on the input), or there are fewer units than samples; give distinct samples, or fewer",
        )
    return float(logdet)


# -------------------------------------------------------------------------------------------------
# swap and reg_swap


def _pack(bits: torch.Tensor) -> torch.Tensor:
    """Per-unit patterns as integer rows: ``bits`` [N, D] of 0/1 → [D, ⌈N/63⌉] int64 (63 samples a word)."""
    words = []
    for start in range(0, bits.shape[0], 63):
        chunk = bits[start:start + 63].to(torch.int64)
        weights = torch.bitwise_left_shift(
            torch.ones((), dtype=torch.int64, device=bits.device), torch.arange(len(chunk), device=bits.device)
        )
        words.append((chunk * weights[:, None]).sum(dim=0))
    return torch.stack(words, dim=1)


def _swap_once(model: nn.Module, x: torch.Tensor, conv_only: bool | None) -> tuple[int, int, bool]:
    """(distinct per-unit patterns, units seen, NaN seen) in one forward pass.

    ``conv_only=None``: the ReLUs on 4-D inputs when any ran, else every ReLU (an MLP's).
    """
    n = len(x)
    on_maps: list[torch.Tensor] = []
    on_others: list[torch.Tensor] = []
    non_finite = False

    def collect(module, args, output):
        nonlocal non_finite
        inp = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if inp is None or not isinstance(output, torch.Tensor) or output.ndim == 0 or output.shape[0] != n:
            return
        if conv_only and inp.ndim != 4:
            return
        out = output.detach().reshape(n, -1)
        non_finite = non_finite or bool(torch.isnan(out).any())
        # sign() of a ReLU output: 1 where positive, else 0
        (on_maps if inp.ndim == 4 or conv_only is False else on_others).append(_pack(out > 0))

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    with module_hooks(relus, collect):
        model(model_input(model, x))
    packed = on_maps or on_others
    if not packed:
        return 0, 0, non_finite
    patterns = torch.cat(packed)
    distinct = torch.unique(patterns[:, 0]) if patterns.shape[1] == 1 else torch.unique(patterns, dim=0)
    return len(distinct), len(patterns), non_finite


def _swap(ctx: ProxyContext, name: str, batch_size, repeats: int, reinit: bool, conv_only: bool | None) -> ProxyScore:
    """The mean SWAP over ``repeats``, a fresh :class:`ProxyScore` whose NaN reason names ``name``.

    The pass is shared by swap and reg_swap when their options agree (the memo holds a plain tuple).
    """
    check_positive(name, "repeats", repeats)
    if conv_only is not None and not isinstance(conv_only, bool):
        raise OptionError(f"{name}: conv_only must be None, True or False; got {conv_only!r}")
    relus = [m for m in ctx.model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ProxyNotApplicableError(f"{name} " + _NO_RELU.format(what="nn.ReLU module"))
    x = first_samples(ctx, name, batch_size)

    def compute() -> tuple[float, str | None]:
        model = ctx.copy(train=True)
        values = []
        with torch.no_grad():
            for _ in range(repeats if reinit else 1):  # without re-initialisation every repeat is the same
                if reinit:
                    gaussian_init_(model)
                distinct, units, non_finite = _swap_once(model, x, conv_only)
                if units == 0:
                    extra = " (pass conv_only=False for ReLUs on other inputs: MLPs, Conv1d nets)" if conv_only else ""
                    where = "with a 4-D (conv feature map) input " if conv_only else ""
                    raise ProxyNotApplicableError(
                        f"{name}: no nn.ReLU {where}ran on a batch-first input in the forward pass{extra}"
                    )
                if non_finite:
                    return math.nan, "a ReLU output holds NaN (the network overflows)"
                values.append(distinct)
        return float(np.mean(values)), None

    value, reason = ctx.shared(("patterns.swap", len(x), repeats, reinit, conv_only), compute)
    return ProxyScore(value, f"{name}: {reason}" if reason else None)


@proxy(
    "swap",
    needs_labels=False,
    activations="nn.ReLU modules",
    sign="same as the paper",
    reference="Peng et al. 2024 (SWAP-NAS, ICLR), pym1024/SWAP src/metrics/swap.py",
)
def swap(
    ctx: ProxyContext,
    *,
    batch_size: int | None = SWAP_BATCH,
    repeats: int = SWAP_REPEATS,
    reinit: bool = True,
    conv_only: bool | None = None,
) -> float:
    """SWAP: the number of distinct per-unit on/off patterns of the ReLU outputs across the samples.

    Every ``nn.ReLU`` output whose input is 4-D (conv feature maps, as the reference) is flattened per
    sample and concatenated into A [N, units]; the score is the number of unique rows of sign(A)ᵀ, at
    most min(units, 2^N). ``conv_only=None`` (default) reads the ReLUs on 4-D inputs when the model has
    any, so a CNN scores exactly as the reference, and otherwise every ReLU, so an MLP (where the
    reference finds nothing) scores its hidden units; ``True`` is the reference's rule alone (an MLP
    raises), ``False`` reads every ReLU whatever its input. As SWAP's ``correlation.py``: the first
    ``batch_size`` samples (16; ``None`` = all given), train mode, no gradients, and the mean over
    ``repeats`` (32) forward passes, each after re-drawing the weights with the Gaussian init
    (Conv/Linear ~ N(0, 1), zero bias, BN weight 1 and bias 0): the caller's weights are not scored.
    ``reinit=False`` scores the current weights instead (one pass: repeats would be identical). A model
    without ``nn.ReLU`` modules, or none that ran, raises ProxyNotApplicableError (the reference returns
    ``None``); NaN outputs give NaN with the reason. Same sign as the paper (higher = more expressive).
    """
    return _swap(ctx, "swap", batch_size, repeats, reinit, conv_only)


@proxy(
    "reg_swap",
    needs_labels=False,
    activations="nn.ReLU modules",
    sign="same as the paper",
    reference="Peng et al. 2024 (SWAP-NAS, ICLR), pym1024/SWAP cal_regular_factor",
)
def reg_swap(
    ctx: ProxyContext,
    *,
    batch_size: int | None = SWAP_BATCH,
    repeats: int = SWAP_REPEATS,
    reinit: bool = True,
    conv_only: bool | None = None,
    mu: float = SWAP_MU,
    sigma: float | None = None,
) -> float:
    """Regularised SWAP: SWAP · exp(−(Θ − μ)² / σ), Θ the parameter count in thousands (K-params).

    SWAP exactly as the ``swap`` proxy (same options; computed once when both are asked for with
    the same options). Θ counts ``named_parameters()`` without "auxiliary" in the name, divided by
    1e3, as the reference's ``count_parameters``; note the denominator is σ, not 2σ². The released
    code has no defaults for μ and σ, and the paper's values could not be recovered, so these are
    ours: μ = 1500 K-params (≈ the largest NB201 network, 1531 K) and σ = μ² (``sigma=None``), so that
    on NB201 the factor grows monotonically with size (from 0.40 at the smallest network to 1 at the
    largest; NB201's larger networks are the more accurate ones) and a network without parameters
    keeps e^{-1} of its SWAP. Set ``mu`` to the size you want to favour in your space. Same sign as
    the paper.
    """
    check_positive_number("reg_swap", "mu", mu, why=" (the favoured size, in K-params)")
    if sigma is not None:
        check_positive_number("reg_swap", "sigma", sigma, why=" (None means mu²)")
    if sigma is None and not math.isfinite(float(mu) * float(mu)):
        raise OptionError(f"reg_swap: sigma=None means mu², which overflows for mu={mu!r}: pass sigma")
    if sigma is None:
        sigma = float(mu) * float(mu)
    value = _swap(ctx, "reg_swap", batch_size, repeats, reinit, conv_only)
    if math.isnan(value):
        return value
    theta = sum(p.numel() for name, p in ctx.model.named_parameters() if "auxiliary" not in name) / 1e3
    return float(value) * math.exp(-((theta - mu) * (theta - mu)) / sigma)
