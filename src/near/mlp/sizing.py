"""Estimating the hidden-layer widths of an MLP from NEAR (paper §4.2, Fig. A.4).

For the layer being sized (the layers before it fixed, the ones after it irrelevant to its score),
NEAR of that layer alone is computed for every candidate width ``s``: the effective ranks of its
pre-activation (``Linear`` output) and post-activation matrices, on ``s`` samples, as
:func:`near.score` computes them (``layers=[linear, activation]`` gives exactly the same numbers).
The *relative score* is that score per neuron and per matrix, ``score / (s · m)`` with ``m`` = 2
matrices (1 with ``part="pre"`` or ``"post"``), so that it lies in (0, 1] and a 1-neuron layer has
exactly the relative score 1 of the point ``(1, 1)`` that is prepended before fitting

    f(s) = α + β · s^γ        (scipy ``curve_fit``, start (α, β, γ) = (1, 2, −1)).

Since f'(s) / f'(1) = s^(γ−1), the estimate is where the slope has fallen to the fraction ``t`` of
its value at s = 1: **s* = t^(1/(γ−1))** (t = 0.005 by default, as in the paper). Layers are sized
iteratively: layer 1 first, then layer 2 with layer 1 fixed at its (rounded) estimate, and so on.

Where that rule degenerates — γ ≈ 0, where s* ≈ 1/t whatever the data (it happens when the candidate widths
reach the bend where the layer's effective rank stops growing: docs/mlp-sizing.md) — ``rule="auto"`` (the
default) takes the **half-gain width** of :mod:`near.mlp.gain` instead: where the layer's effective rank
gained per added neuron has halved. Every layer records the rule that gave its size and an 80 % bootstrap
interval over the repetitions.

The authors' ``estimate_layer_size(..., layer_index=i)`` scores the single hooked module ``i``; their
example points it at the hidden layer's activation, which is ``part="post"`` here. The default
``part="both"`` follows the paper's definition of a layer's contribution (pre + post).

Speed: per repetition the fixed layers run once, on the samples of the widest candidate, and every
width uses the first ``s`` of them (as :func:`near.score` gives a layer of ``s`` neurons the first
``s`` samples of a draw). Where the initialisation of the sized layer depends on its fan-in only
(PyTorch's default = ``kaiming_uniform``, ``kaiming_normal``, ``uniform``, ``normal``; biases
U(±1/√fan_in)), its weight rows are i.i.d., so the widest layer is drawn once and a width ``s`` uses
its first ``s`` rows — exactly the distribution of a freshly built ``Linear(fan_in, s)``. Other
schemes (Xavier and orthogonal depend on the fan-out; user functions are opaque) build every width.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..errors import InsufficientSamplesError, NearWarning, NonFiniteActivationError, OptionError
from ..result import _std
from ..rng import isolated_rng
from ..score import _effective_ranks
from .build import (
    ActivationSpec,
    InitSpec,
    as_samples,
    build_mlp,
    make_activation,
    positive_widths,
    resolve_activation,
    resolve_init,
)
from .gain import ABOVE, BELOW, bootstrap_interval, half_gain_width
from .powerlaw import DEFAULT_THRESHOLD, FitError, PowerLawFit, fit_power_law, size_from_fit

DEFAULT_REPETITIONS = 8
DEFAULT_MIN_WIDTH = 8
DEFAULT_MAX_WIDTH = 1024
MIN_WIDTHS = 4
PARTS = ("both", "pre", "post")
RULES = ("auto", "paper", "gain")  # auto: the paper's rule unless its fit degenerates, then the half-gain rule
INTERVAL_LEVEL = 0.8  # bootstrap interval over repetitions reported with each estimate
BOOTSTRAP_DRAWS = 100
CROSS_ENTROPY, MSE = "cross-entropy", "mean squared error"  # the training loss of class labels / regression targets
POOR_FIT_NRMSE = 0.05  # RMSE of the fit over its range of relative scores above which the fit is called poor
LOG_LIKE_GAMMA = 0.02  # |γ| below this: f is ≈ log-linear and s* ≈ 1/t whatever the data
MAX_ESTIMATE = 100_000
MIN_GROWTH = 1.1  # the layer's score at the widest candidate width must exceed this × its score at the narrowest
_FAN_IN_ONLY = frozenset({"default", "kaiming_uniform", "kaiming_normal", "uniform", "normal"})


class SizingWarning(NearWarning):
    """A layer-size estimate is doubtful: a poor fit, or an estimate outside the candidate widths."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class LayerSizeEstimate:
    """The estimate for one hidden layer (``layer`` is 1-based) and everything behind it.

    ``size`` is the rounded ``size_exact``; ``fixed`` are the widths of the layers before it;
    ``relative_scores`` / ``relative_stds`` are mean and std over repetitions per candidate width.
    """

    layer: int
    size: int
    size_exact: float
    alpha: float
    beta: float
    gamma: float
    r2: float
    nrmse: float
    widths: tuple[int, ...]
    relative_scores: tuple[float, ...]
    relative_stds: tuple[float, ...]
    fixed: tuple[int, ...]
    threshold: float
    warnings: tuple[str, ...] = ()
    rule: str = "paper"
    paper_size: float = math.nan
    gain_size: float = math.nan
    gain_status: str = ""
    interval: tuple[float, float] = (math.nan, math.nan)
    gains: tuple[float, ...] = ()
    degenerate: str = ""

    @property
    def confidence(self) -> str:
        """In words: how far the number can be trusted (see :meth:`SizingResult.table`)."""
        low, high = self.interval
        spread = (
            f"{INTERVAL_LEVEL:.0%} bootstrap interval over repetitions {low:.0f}–{high:.0f}"
            if math.isfinite(low)
            else "no interval (one repetition)"
        )
        if self.rule == "gain" and self.gain_status == ABOVE:
            return f"a lower bound: the gain had not halved by the widest candidate width ({spread})"
        if self.rule == "gain" and self.gain_status == BELOW:
            return f"an upper bound: the gain was already below half at the narrowest widths ({spread})"
        return spread

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "size": self.size,
            "size_exact": self.size_exact,
            "rule": self.rule,
            "confidence": self.confidence,
            "interval": [_finite_or_none(v) for v in self.interval],
            "paper_size": _finite_or_none(self.paper_size),
            "paper_degenerate": self.degenerate or None,
            "gain_size": _finite_or_none(self.gain_size),
            "gain_status": self.gain_status,
            "gains": list(self.gains),
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "r2": _finite_or_none(self.r2),
            "nrmse": _finite_or_none(self.nrmse),
            "widths": list(self.widths),
            "relative_scores": list(self.relative_scores),
            "relative_stds": list(self.relative_stds),
            "fixed": list(self.fixed),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class SizingResult:
    """Estimated widths of every hidden layer (``sizes``) and the per-layer fits (``layers``)."""

    layers: tuple[LayerSizeEstimate, ...]
    input_size: int
    outputs: int
    threshold: float
    repetitions: int
    seed: int
    activation: str
    init: str
    part: str
    seconds: float = 0.0
    bias: bool = True
    rule: str = "auto"
    activation_factory: Callable[[], nn.Module] | None = field(default=None, repr=False, compare=False)
    init_fn: Callable[[nn.Module], None] | None = field(default=None, repr=False, compare=False)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(layer.size for layer in self.layers)

    @property
    def architecture(self) -> tuple[int, ...]:
        """``(inputs, hidden widths …, outputs)``."""
        return (self.input_size, *self.sizes, self.outputs)

    def to_dict(self) -> dict:
        """Everything but the run time (``seconds``), so that the same seed gives the same dictionary."""
        return {
            "sizes": list(self.sizes),
            "architecture": list(self.architecture),
            "threshold": self.threshold,
            "repetitions": self.repetitions,
            "seed": self.seed,
            "activation": self.activation,
            "init": self.init,
            "part": self.part,
            "rule": self.rule,
            "bias": self.bias,
            "layers": [layer.to_dict() for layer in self.layers],
        }

    def table(self) -> str:
        """Per layer: estimate, fit and candidate widths with relative scores, as text."""
        lines = [
            f"MLP {'-'.join(map(str, self.architecture))} ({self.activation}, init {self.init}, part {self.part}, "
            f"threshold {self.threshold:g}, {self.repetitions} repetitions, seed {self.seed}, rule {self.rule})",
        ]
        for e in self.layers:
            fixed = f", layers before fixed at {list(e.fixed)}" if e.fixed else ""
            rule = "the paper's rule s* = t^(1/(γ-1))" if e.rule == "paper" else "the half-gain rule"
            lines.append(f"layer {e.layer}: size {e.size} by {rule}{fixed}; {e.confidence}")
            paper = f"{e.paper_size:.1f}" if math.isfinite(e.paper_size) else "none"
            lines.append(
                f"  paper's rule: s* = {paper}{f' ({e.degenerate})' if e.degenerate else ''}; fit α = {e.alpha:.4f}, "
                f"β = {e.beta:.4f}, γ = {e.gamma:.4f}, R² = {e.r2:.4f}, NRMSE = {e.nrmse:.3f}"
            )
            lines.append(f"  half-gain rule: {e.gain_size:.1f} ({e.gain_status} the candidate widths)")
            lines.append("   width  relative score ± std")
            for s, r, d in zip(e.widths, e.relative_scores, e.relative_stds):
                lines.append(f"  {s:>6}  {r:.4f} ± {d:.4f}")
            lines.extend(f"  warning: {w}" for w in e.warnings)
        return "\n".join(lines)

    def plot(self, directory: str | Path) -> list[Path]:
        """Write one PNG per layer (``layer1.png`` …) like the paper's Fig. A.4; returns the paths.

        All or nothing: when one cannot be written, the ones written and the folders created are removed
        again and an :class:`OptionError` names the place.
        """
        from .plots import plot_files, plot_layer_fit

        return plot_files(
            directory, [(f"layer{e.layer}.png", functools.partial(plot_layer_fit, e)) for e in self.layers]
        )


# ---------------------------------------------------------------- the estimate


def default_widths(samples: int, largest: int = DEFAULT_MAX_WIDTH) -> tuple[int, ...]:
    """Powers of two from 8 up to ``min(largest, samples)`` (a width of ``s`` needs ``s`` samples).

    >>> default_widths(5000)
    (8, 16, 32, 64, 128, 256, 512, 1024)
    >>> default_widths(150)
    (8, 16, 32, 64, 128)
    """
    top = min(largest, samples)
    widths = tuple(2**k for k in range(3, 31) if 2**k <= top)
    if len(widths) < MIN_WIDTHS:
        raise InsufficientSamplesError(
            f"{samples} samples allow candidate widths only up to {samples}, too few for a fit (at least "
            f"{MIN_WIDTHS} widths from {DEFAULT_MIN_WIDTH} up are needed); pass at least 64 samples, "
            "or pass widths= explicitly"
        )
    return widths


def estimate_layer_sizes(
    inputs,
    hidden_layers: int = 1,
    *,
    outputs: int = 10,
    widths: Sequence[int] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    repetitions: int = DEFAULT_REPETITIONS,
    seed: int | None = 0,
    activation: ActivationSpec = "silu",
    init: InitSpec | None = None,
    part: str = "both",
    bias: bool = True,
    warn: bool = True,
    progress: bool = False,
    rule: str = "auto",
) -> SizingResult:
    """Estimate the width of every hidden layer of an MLP, iteratively, from NEAR (see the module docstring).

    Parameters
    ----------
    inputs
        Sample inputs ``(samples, …)``; each sample is flattened into the MLP's input.
    hidden_layers
        Number of hidden layers to size.
    outputs
        Width of the output layer (reported in ``architecture``; it does not change the hidden estimates).
    widths
        Candidate widths (at least 4 distinct integers ≥ 2, at most the number of samples); default
        :func:`default_widths`: powers of two from 8 to min(1024, samples).
    threshold
        Fraction ``t`` of the slope at s = 1 that defines the estimate, 0 < t < 1; smaller gives wider layers.
    repetitions
        Fresh weights and samples per width; the relative scores are their mean.
    seed
        Makes the estimate reproducible (``None`` draws one; it is stored in ``result.seed``).
    activation, init
        The MLP's activation (name, module class or factory) and weight initialisation (name or
        function; default PyTorch's).
    part
        Which matrices of the sized layer count: ``"both"`` (pre + post), ``"pre"`` or ``"post"``.
    bias
        Whether the Linear layers have biases.
    rule
        ``"paper"``: s* = t^(1/(γ−1)) always; ``"gain"``: the half-gain width (:mod:`near.mlp.gain`);
        ``"auto"``: the paper's rule unless its fit degenerates (γ ≈ 0, where s* ≈ 1/t for any data, a poor
        fit, or no fit), then the half-gain rule. Each layer records which rule gave its size and an 80 %
        bootstrap interval over the repetitions.
    warn
        Also emit each doubtful estimate as a :class:`SizingWarning` (they are always in ``result``).
    progress
        Show a progress bar.

    Examples
    --------
    >>> import torch, near
    >>> result = near.estimate_layer_sizes(torch.randn(128, 16), 2, widths=[8, 16, 32, 64, 128], repetitions=2,
    ...                                    warn=False)
    >>> len(result.sizes), result.layers[1].fixed == (result.sizes[0],)
    (2, True)
    """
    import time

    start = time.perf_counter()
    x = as_samples(inputs).flatten(1)
    k = _positive_int(hidden_layers, "hidden_layers")
    outputs = _positive_int(outputs, "outputs")
    repetitions = _positive_int(repetitions, "repetitions")
    threshold = _threshold(threshold)
    widths = default_widths(len(x)) if widths is None else check_widths(widths, len(x))
    if part not in PARTS:
        raise OptionError(f"part must be one of {PARTS}, got {part!r}")
    if rule not in RULES:
        raise OptionError(f"rule must be one of {RULES}, got {rule!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    elif not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise OptionError(f"seed must be a non-negative integer or None, got {seed!r}")
    activation_name, activation_factory = resolve_activation(activation)
    init_name, init_fn = resolve_init(init)
    sliceable = init_name in _FAN_IN_ONLY and not callable(init)

    estimates: list[LayerSizeEstimate] = []
    fixed: list[int] = []
    bar = tqdm(total=k * repetitions, desc="sizing", unit="rep", disable=not progress, leave=False)
    with bar:
        for layer in range(1, k + 1):
            relative = layer_relative_scores(
                x,
                tuple(fixed),
                widths,
                activation=activation_factory,
                init=init_fn,
                sliceable=sliceable,
                part=part,
                repetitions=repetitions,
                seed=seed,
                layer=layer,
                bias=bias,
                on_repetition=bar.update,
            )
            estimate = _estimate(layer, widths, relative, tuple(fixed), threshold, rule)
            if warn:
                for message in estimate.warnings:
                    warnings.warn(message, SizingWarning, stacklevel=2)
            estimates.append(estimate)
            fixed.append(estimate.size)
    return SizingResult(
        tuple(estimates),
        x.shape[1],
        outputs,
        threshold,
        repetitions,
        int(seed),
        activation_name,
        init_name,
        part,
        time.perf_counter() - start,
        bias,
        rule,
        activation_factory,
        init_fn,
    )


def layer_relative_scores(
    x: torch.Tensor,
    fixed: tuple[int, ...],
    widths: Sequence[int],
    *,
    activation: Callable[[], nn.Module],
    init: Callable[[nn.Module], None],
    sliceable: bool,
    part: str = "both",
    repetitions: int = 1,
    seed: int = 0,
    layer: int = 1,
    bias: bool = True,
    on_repetition: Callable[[], object] | None = None,
) -> np.ndarray:
    """Relative scores, shape ``(repetitions, len(widths))``, of the hidden layer after the ``fixed`` ones.

    ``x`` is ``(samples, features)``; internals trust their inputs (checked by :func:`estimate_layer_sizes`).
    """
    out = np.empty((repetitions, len(widths)))
    per_matrix = 2 if part == "both" else 1
    for repetition in range(repetitions):
        prefix, sized, index = draw_repetition(
            x, fixed, widths, activation, init, sliceable, seed, layer, repetition, bias
        )
        act = make_activation(activation)
        prefix.eval(), act.eval()  # as near.score does: dropout off, RReLU fixed, no draws from the global RNG
        matrices: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            h = prefix(x[index])
            for s in widths:
                if isinstance(sized, nn.Linear):
                    z = F.linear(h[:s], sized.weight[:s], None if sized.bias is None else sized.bias[:s])
                else:
                    z = sized[s](h[:s])
                if part != "post":
                    matrices[f"{s}/pre"] = z
                if part != "pre":
                    matrices[f"{s}/post"] = act(z)
        try:
            ranks = _effective_ranks(matrices, torch.float64, "raise", {})
        except NonFiniteActivationError:
            raise NonFiniteActivationError(
                f"layer {layer} produced NaN or infinite activations (repetition {repetition}); check the "
                "input scale and the initialisation (e.g. 'uniform' on many unnormalised inputs)"
            ) from None
        for j, s in enumerate(widths):
            out[repetition, j] = sum(v for name, v in ranks.items() if name.startswith(f"{s}/")) / (s * per_matrix)
        if on_repetition is not None:
            on_repetition()
    return out


def draw_repetition(x, fixed, widths, activation, init, sliceable, seed, layer, repetition, bias=True):
    """The random draws of one repetition: the fixed layers (initialised), the sized layer (the widest,
    to be sliced, or one ``Linear`` per width in a dict) and the sample indices (the first ``max(widths)``
    of a random permutation)."""
    weights_seed, samples_seed = np.random.SeedSequence(seed, spawn_key=(layer, repetition)).generate_state(2)
    index = torch.randperm(len(x), generator=torch.Generator().manual_seed(int(samples_seed)))[: max(widths)]
    with isolated_rng(int(weights_seed)):
        prefix = build_mlp(x.shape[1], fixed, 1, activation, bias)[1:-1]  # no Flatten, no output layer
        if fixed:
            init(prefix)
        fan_in = fixed[-1] if fixed else x.shape[1]
        if sliceable:
            sized = nn.Linear(fan_in, max(widths), bias=bias)
            init(sized)
        else:
            sized = {}
            for s in widths:
                sized[s] = nn.Linear(fan_in, s, bias=bias)
                init(sized[s])
    return prefix, sized, index


def check_widths(widths, samples: int) -> tuple[int, ...]:
    """Candidate widths, sorted; an error saying what to change when they cannot give a fit."""
    values = positive_widths(widths, "widths")
    if len(set(values)) != len(values):
        raise OptionError(f"widths lists a width twice: {list(widths)}; give distinct widths")
    values = tuple(sorted(values))
    if values[0] < 2:
        raise OptionError("widths must be at least 2 (the point (1, 1) is added by the fit itself)")
    if len(values) < MIN_WIDTHS:
        raise OptionError(
            f"{len(values)} widths are too few to fit α + β·s^γ; give at least {MIN_WIDTHS}, "
            "spread geometrically (e.g. 8,16,32,64,128,256)"
        )
    if values[-1] > samples:
        raise InsufficientSamplesError(
            f"the widest candidate width {values[-1]} needs {values[-1]} samples but only {samples} were given; "
            f"pass more samples or candidate widths of at most {samples}"
        )
    return values


def _estimate(
    layer: int, widths, relative: np.ndarray, fixed, threshold: float, rule: str = "auto"
) -> LayerSizeEstimate:
    means = relative.mean(axis=0)
    stds = np.array([_std(relative[:, j]) for j in range(relative.shape[1])])
    absolute = means * np.asarray(widths, dtype=float)  # the layer's score per matrix
    if np.all(np.isfinite(absolute)) and absolute[-1] < MIN_GROWTH * absolute[0]:
        raise FitError(
            f"layer {layer}: the layer's NEAR score does not grow with its width ({absolute[0]:.3g} at width "
            f"{widths[0]}, {absolute[-1]:.3g} at width {widths[-1]}), so there is no curve to fit and any estimate "
            "would reflect only the threshold. The samples reaching the layer have (almost) no variation: check "
            "that the data is not constant or identical across samples (standardise the features), or choose "
            "another activation/initialisation, or score both matrices (part 'both')"
        )
    paper, degenerate, fit = _paper_rule(widths, means, threshold)
    gain = half_gain_width(widths, absolute)
    if rule == "paper" and not math.isfinite(paper):
        raise FitError(f"layer {layer}: {degenerate}")
    chosen = "gain" if rule == "gain" or (rule == "auto" and degenerate) else "paper"
    exact = paper if chosen == "paper" else gain.size
    if chosen == "paper":
        interval = bootstrap_interval(
            relative, lambda m: _paper_rule(widths, m, threshold)[0], level=INTERVAL_LEVEL, draws=BOOTSTRAP_DRAWS
        )
    else:
        interval = bootstrap_interval(
            relative,
            lambda m: half_gain_width(widths, m * np.asarray(widths, dtype=float)).size,
            level=INTERVAL_LEVEL,
            draws=BOOTSTRAP_DRAWS,
        )
    notes = []
    if fit is not None and not fit.nrmse <= POOR_FIT_NRMSE:
        notes.append(
            f"layer {layer}: the power law fits the relative scores poorly (NRMSE {fit.nrmse:.3f} > "
            f"{POOR_FIT_NRMSE}); use more repetitions or more candidate widths, and look at the plot (--plot)"
        )
    if fit is not None and abs(fit.gamma) < LOG_LIKE_GAMMA:
        notes.append(
            f"layer {layer}: the fitted γ = {fit.gamma:.4f} is close to 0, where the relative score falls like "
            f"log s and s* = t^(1/(γ-1)) is close to 1/t = {1 / threshold:.0f} for any data: the estimate reflects "
            "the threshold more than the layer"
            + (
                f"; the half-gain rule gives {gain.size:.0f} instead"
                if chosen == "gain"
                else ". Check it by training widths around it (verify), or use rule 'auto' or 'gain'"
            )
        )
    if chosen == "gain" and gain.status == ABOVE:
        notes.append(
            f"layer {layer}: the layer's effective rank still grows at half its best rate or more at the widest "
            f"candidate width {widths[-1]}, so {widths[-1]} is a lower bound; add wider candidate widths "
            f"(about {2 * widths[-1]}, which needs as many samples)"
        )
    elif chosen == "gain" and gain.status == BELOW:
        notes.append(
            f"layer {layer}: the layer's effective rank gains less than half its best rate already between the "
            f"narrowest widths, so {widths[0]} is an upper bound; add narrower candidate widths"
        )
    elif chosen == "paper" and exact > widths[-1]:
        notes.append(
            f"layer {layer}: the estimate {exact:.0f} lies above the widest candidate width {widths[-1]}, so it "
            f"is extrapolated; add candidate widths up to about {2 * math.ceil(exact)} (that many samples needed)"
        )
    elif chosen == "paper" and exact < widths[0]:
        notes.append(
            f"layer {layer}: the estimate {exact:.1f} lies below the narrowest candidate width {widths[0]}; "
            f"add candidate widths down to about {max(2, math.floor(exact / 2))}"
        )
    nan = math.nan
    return LayerSizeEstimate(
        layer,
        max(1, round(exact)),
        exact,
        fit.alpha if fit else nan,
        fit.beta if fit else nan,
        fit.gamma if fit else nan,
        fit.r2 if fit else nan,
        fit.nrmse if fit else nan,
        tuple(widths),
        tuple(float(m) for m in means),
        tuple(float(d) for d in stds),
        tuple(fixed),
        threshold,
        tuple(notes),
        chosen,
        paper,
        gain.size,
        gain.status,
        interval,
        tuple(round(float(g), 6) for g in gain.gains),
        degenerate,
    )


def _paper_rule(widths, means, threshold: float) -> tuple[float, str, PowerLawFit | None]:
    """The paper's s*, why it is degenerate ("" when it is not) and the fit (None when there is none)."""
    try:
        fit = fit_power_law(widths, means)
    except FitError as error:
        return math.nan, str(error), None
    try:
        exact = size_from_fit(fit.gamma, threshold)
    except FitError as error:
        return math.nan, str(error), fit
    if not math.isfinite(exact) or exact > MAX_ESTIMATE:
        return math.nan, f"γ = {fit.gamma:.4f} is too close to 1: s* = {exact:.3g} is no usable width", fit
    if abs(fit.gamma) < LOG_LIKE_GAMMA:
        return exact, f"γ ≈ 0: s* ≈ 1/t = {1 / threshold:.0f} whatever the data", fit
    if not fit.nrmse <= POOR_FIT_NRMSE:
        return exact, f"poor fit, NRMSE {fit.nrmse:.3f} > {POOR_FIT_NRMSE}", fit
    return exact, "", fit


def _positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise OptionError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _threshold(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < 1:
        raise OptionError(
            f"threshold must be a fraction strictly between 0 and 1 (the paper uses 0.005), got {value!r}"
        )
    return float(value)


# ---------------------------------------------------------------- proving it: train widths around the estimate


@dataclass(frozen=True)
class TrainedWidths:
    """One trained network of a sizing check: hidden widths, parameter count, NEAR and test results per seed."""

    hidden: tuple[int, ...]
    parameters: int
    near: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray

    @property
    def label(self) -> str:
        return "-".join(map(str, self.hidden))

    def to_dict(self) -> dict:
        """A figure that does not exist (no accuracy for regression, NEAR of a too-wide layer) is ``null``
        together with its std, never a null mean beside a 0 std."""
        near, near_std = _mean_std(self.near)
        loss, loss_std = _mean_std(self.test_loss, np.nanmean)
        accuracy, accuracy_std = _mean_std(self.test_accuracy)
        return {
            "hidden": list(self.hidden),
            "parameters": self.parameters,
            "near": near,
            "near_std": near_std,
            "test_loss": loss,
            "test_loss_std": loss_std,
            "test_accuracy": accuracy,  # None for regression targets
            "test_accuracy_std": accuracy_std,
        }


@dataclass(frozen=True)
class SizeVerification:
    """Networks trained around the estimate, with Spearman ρ of NEAR and of the parameter count vs test loss."""

    estimate: tuple[int, ...]
    rows: tuple[TrainedWidths, ...]
    seeds: tuple[int, ...]
    spearman: dict[str, float]
    loss_name: str = CROSS_ENTROPY

    @property
    def regression(self) -> bool:
        """Trained on regression targets: the loss is the MSE and there is no accuracy."""
        return self.loss_name == MSE

    def to_dict(self) -> dict:
        """Regression: ``test_accuracy`` and its std are ``null`` in every network (there is no accuracy)."""
        return {
            "estimate": list(self.estimate),
            "loss": self.loss_name,
            "seeds": list(self.seeds),
            "networks": [row.to_dict() for row in self.rows],
            "spearman": {k: (None if math.isnan(v) else v) for k, v in self.spearman.items()},
        }

    def table(self) -> str:
        loss_head = "test MSE (± std)   " if self.regression else "test loss (± std)   test acc (± std)"
        lines = [f"hidden widths        params     NEAR (± std)      {loss_head}".rstrip()]
        for row in self.rows:
            mark = "  <- estimate" if row.hidden == self.estimate else ""
            near, near_std = float(np.mean(row.near)), _std(row.near)
            loss, loss_std = float(np.nanmean(row.test_loss)), _std(row.test_loss)
            line = f"{row.label:<18} {row.parameters:>8}  {near:>8.2f} ± {near_std:<6.2f}  {loss:.4f} ± {loss_std:.4f}"
            if not self.regression:
                accuracy, accuracy_std = float(np.mean(row.test_accuracy)), _std(row.test_accuracy)
                line += f"    {accuracy:.4f} ± {accuracy_std:.4f}"
            lines.append(line + mark)
        rho = ", ".join(f"{k} {v:+.3f}" for k, v in self.spearman.items())
        lines.append(f"trained with seeds {list(self.seeds)}; Spearman rho: {rho}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Test loss vs parameter count, the estimate starred."""
        from .plots import plot_files, plot_loss_vs_parameters

        path = Path(path)
        write = functools.partial(
            plot_loss_vs_parameters,
            [r.parameters for r in self.rows],
            [float(np.nanmean(r.test_loss)) for r in self.rows],
            [_std(r.test_loss) for r in self.rows],
            [r.label for r in self.rows],
            highlight="-".join(map(str, self.estimate)),
            loss_name=self.loss_name,
        )
        return plot_files(path.parent, [(path.name, write)])[0]


def verify_sizes(
    sizing: SizingResult,
    inputs,
    labels,
    *,
    factors: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
    hidden: Sequence[Sequence[int]] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    repetitions: int = 4,
    activation: ActivationSpec | None = None,
    init: InitSpec | None = None,
    training: dict | None = None,
    progress: bool = False,
) -> SizeVerification:
    """Train MLPs with widths around the estimate and report test loss/accuracy beside NEAR and parameters.

    The networks are the estimate with every hidden width scaled by each of ``factors`` (rounded, at
    least 1), or the explicit list ``hidden``. Activation, initialisation and biases default to the ones
    the sizing used (custom modules and functions included). Training: see :mod:`near.mlp.training`. NEAR is
    the whole network's score (``repetitions``, seed 0).
    """
    from ..score import score
    from .build import as_labels
    from .training import spearman, train_classifier

    x = as_samples(inputs)
    y = as_labels(labels, len(x))
    if hidden is None:
        if not factors or not all(isinstance(f, (int, float)) and f > 0 for f in factors):
            raise OptionError(f"factors must be positive numbers, got {factors!r}")
        hidden = [tuple(max(1, round(s * f)) for s in sizing.sizes) for f in factors]
    candidates = list(dict.fromkeys(tuple(positive_widths(h, "hidden")) for h in hidden))
    if activation is None and sizing.activation_factory is not None:
        activation_factory = sizing.activation_factory
    else:
        _, activation_factory = resolve_activation(sizing.activation if activation is None else activation)
    if init is None and sizing.init_fn is not None:
        init_fn = sizing.init_fn
    else:
        _, init_fn = resolve_init(sizing.init if init is None else init)
    input_size = int(np.prod(x.shape[1:]))
    seeds = tuple(int(s) for s in seeds)
    rows, too_wide = [], []
    bar = tqdm(total=len(candidates) * len(seeds), desc="training", unit="run", disable=not progress)
    with bar:
        for widths in candidates:
            factory = _MLPFactory(input_size, widths, sizing.outputs, activation_factory, sizing.bias)
            if max(*widths, sizing.outputs) <= len(x):
                near_scores = score(factory, x, repetitions=repetitions, seed=0, init=init_fn).scores
            else:  # a layer of width s needs s samples for its effective rank; training it needs none
                near_scores = np.full(repetitions, math.nan)
                too_wide.append("-".join(map(str, widths)))
            run = train_classifier(factory, x, y, init=init_fn, seeds=seeds, on_run=bar.update, **(training or {}))
            rows.append(TrainedWidths(widths, run.parameters, near_scores, run.test_loss, run.test_accuracy))
    if too_wide:
        warnings.warn(
            f"NEAR not computed for {', '.join(too_wide)}: a layer of width s needs at least s samples and only "
            f"{len(x)} were given (these networks are trained all the same); pass more samples or smaller factors",
            SizingWarning,
            stacklevel=2,
        )
    losses = [float(np.nanmean(r.test_loss)) for r in rows]
    rho = {
        "near_vs_test_loss": spearman([float(np.mean(r.near)) for r in rows], losses),
        "parameters_vs_test_loss": spearman([r.parameters for r in rows], losses),
    }
    return SizeVerification(
        tuple(sizing.sizes), tuple(rows), seeds, rho, MSE if y.is_floating_point() else CROSS_ENTROPY
    )


def _mean_std(values: np.ndarray, mean=np.mean) -> tuple[float | None, float | None]:
    """Mean and std for JSON: both ``None`` when the mean is not a number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of all-NaN
        m = float(mean(values)) if len(values) else math.nan
    return (float(m), _finite_or_none(_std(values))) if math.isfinite(m) else (None, None)


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a missing figure (no accuracy for regression, every run diverged) becomes null."""
    return float(value) if math.isfinite(value) else None


class _MLPFactory:
    """A picklable zero-argument MLP factory."""

    def __init__(self, input_size, hidden, outputs, activation, bias=True):
        self.args = (input_size, tuple(hidden), outputs, activation, bias)

    def __call__(self) -> nn.Module:
        return build_mlp(*self.args)
