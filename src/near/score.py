"""NEAR: repetitions, re-initialisation, seeding and the final sum of effective ranks.

One repetition = a freshly initialised model (with the user's scheme) + a fresh draw of samples
+ **one** forward pass with exactly as many samples as the widest layer needs; every layer's
matrix is copied out as the pass goes, and the repetition's effective ranks are computed in one
batch per matrix size.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import secrets
import sys
import warnings
import weakref
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .capture import Capture, LayerInfo
from .errors import (
    InsufficientSamplesError,
    ModelError,
    NonFiniteActivationError,
    NonFiniteActivationWarning,
    NoScorableLayerError,
    OptionError,
    ReinitWarning,
    SampleReuseWarning,
    ZeroMatrixWarning,
)
from .inits import InitFn, bind_init, get_init, non_default_layers
from .inputs import SampleSource
from .options import activation_classes, check_flags, check_options, glob_patterns, torch_device
from .rank import erank_from_singular_values, gram_effective_ranks, singular_values
from .result import LayerScore, NearResult, _std
from .rng import isolated_rng
from .spec import call_factory


def score(
    model: nn.Module | Callable[[], nn.Module],
    inputs,
    *,
    repetitions: int = 1,
    reinit: bool = True,
    shuffle: bool = True,
    seed: int | None = None,
    init: str | InitFn | None = None,
    layers: Sequence[str] | str | None = None,
    exclude: Sequence[str] | str = (),
    activations: Sequence[type[nn.Module]] | type[nn.Module] = (),
    functional: bool = True,
    norm_layers: bool = True,
    batchnorm: str = "batch",
    batch_size: int | None = None,
    nonfinite: str = "raise",
    sequence_layout: str = "auto",
    svd_dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
    memory_format: str = "auto",
    autograd: bool = False,
    progress: bool = False,
) -> NearResult:
    """NEAR score of an untrained model: Σ over layers of erank(pre-activations) + erank(post-activations).

    Parameters
    ----------
    model
        An ``nn.Module`` (never modified: NEAR runs on a copy) or a zero-argument callable that builds
        a fresh, initialised module — then every repetition builds its own, so custom initialisations
        are respected.
    inputs
        Tensor / NumPy array (first axis = samples), ``Dataset``, ``DataLoader`` or iterable of
        batches (first axis = samples); labels are ignored. A one-shot iterator or a ``DataLoader``
        without ``shuffle=True`` gives the same samples to every repetition (warned when
        ``shuffle=True``); tensors, datasets and lists of batches are sampled afresh each time.
    repetitions
        Independent repetitions (fresh weights + fresh samples); the result is their mean.
    reinit
        Re-initialise weights every repetition (with ``init``: a name from ``near.inits.INIT_NAMES``
        or a function of the module; default: PyTorch's ``reset_parameters``). ``False`` keeps the
        given weights (a factory is then built once, and ``init`` applied once) and only the
        samples change; ``init`` with a module and ``reinit=False`` is an error (it would be ignored).
    shuffle
        Draw the samples at random. ``False`` uses the first samples in order: a fully connected
        layer of ``n`` neurons then sees exactly the first ``n`` samples, as in the authors' code.
    seed
        Makes the result reproducible; ``None`` draws one, stored in ``result.seed``.
    layers, exclude
        Glob patterns on layer names (see ``result.layers``) to restrict / drop scored layers.
    activations
        Extra module classes (or one class) to score as activations (their output is a post-activation).
    functional
        Also capture functional activations called inside ``forward`` (``F.relu``, ``torch.tanh`` …).
    norm_layers
        Score normalisation layers (BatchNorm, LayerNorm …) as weighted layers, as the authors do.
    batchnorm
        ``"batch"`` (default): BatchNorm normalises with the statistics of the forward batch;
        ``"sample"``: with each sample's own statistics, as when feeding one sample per forward pass
        (the authors' examples); ``"running"``: with its running statistics (eval mode).
        Everything else runs in eval mode (dropout off). With ``"batch"`` a forward pass carries at
        least 2 samples, so batch statistics are never one sample's own.
    batch_size
        Samples per forward pass; default and minimum: what the widest layer needs.
    nonfinite
        ``"raise"`` (default) on NaN/inf activations, or ``"warn"`` to exclude those layers (if
        every layer of a repetition is excluded, it raises all the same). NaN/inf *inputs* always raise.
    sequence_layout
        Where the neurons are in 3-D outputs: ``"auto"`` (from the module type: Conv1d/BatchNorm1d →
        channels first, Linear/attention/LayerNorm → channels last), ``"channels_first"``, ``"channels_last"``.
    svd_dtype
        Precision of the singular values: ``torch.float64`` (default; as the square roots of the eigenvalues
        of each matrix's Gram matrix, see :func:`near.rank.gram_effective_ranks`) or ``torch.float32``
        (an SVD in float32).
    device
        Where to run; default: the model's device.
    memory_format
        How 4-D inputs (images) are laid out in memory: ``"auto"`` (default) feeds them channels-last to
        a model with 2-D convolutions on the CPU, where PyTorch's convolutions and poolings run several
        times faster that way (the values are the same up to float rounding), and as given if the model
        cannot take channels-last inputs (e.g. it calls ``.view`` on a feature map); ``"channels_last"``
        always; ``"preserve"``: as given.
    autograd
        Run the forward pass with gradients enabled and inputs that require grad, for models that
        differentiate inside ``forward`` (e.g. force fields: forces = −∂E/∂positions). Only the
        detached layer matrices are kept; no graph outlives the pass.
    progress
        Show a progress bar over repetitions.

    Examples
    --------
    >>> import torch, near
    >>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    >>> result = near.score(net, torch.randn(64, 8), repetitions=4, seed=0)
    >>> len(result.scores), [layer.name for layer in result.layers]
    (4, ['0', '1', '2'])
    """
    check_options(repetitions, seed, batchnorm, batch_size, nonfinite, sequence_layout, svd_dtype, memory_format)
    check_flags(
        reinit=reinit,
        shuffle=shuffle,
        functional=functional,
        norm_layers=norm_layers,
        autograd=autograd,
        progress=progress,
    )
    device = torch_device(device)
    layers = None if layers is None else glob_patterns(layers, "layers")
    exclude = glob_patterns(exclude, "exclude")
    activations = activation_classes(activations)
    source = SampleSource(inputs)
    if shuffle and repetitions > 1 and source.same_every_draw:
        warnings.warn(
            "the inputs give the same samples to every repetition (a one-shot iterator or a DataLoader "
            "without shuffle=True), so repetitions differ only in weights and sample order; pass a tensor, "
            "a Dataset or a DataLoader with shuffle=True to draw fresh samples",
            SampleReuseWarning,
            stacklevel=2,
        )
    models = _Models(model, reinit, init, device)
    seed = secrets.randbits(63) if seed is None else int(seed)
    capture_options = dict(
        layers=layers,
        exclude=exclude,
        activations=activations,
        functional=functional,
        norm_layers=norm_layers,
        sequence_layout=sequence_layout,
        autograd=autograd,
    )

    per_layer: dict[str, list[float]] = defaultdict(list)
    info_by_name: dict[str, LayerInfo] = {}
    skipped: dict[str, str] = {}
    scores: list[float] = []
    plan, forward_batch, capture, input_format = None, None, None, None
    with contextlib.ExitStack() as hooked:  # hooks and modes of the current model; reset when it changes
        for repetition in tqdm(range(repetitions), desc="NEAR", unit="rep", disable=not progress, leave=False):
            seeds = np.random.SeedSequence(seed, spawn_key=(repetition,)).generate_state(3, np.uint64) >> 1
            generator = torch.Generator().manual_seed(int(seeds[0]))
            net = models.get(int(seeds[1]), device)
            dtype, net_device = _dtype_and_device(net)
            with isolated_rng(int(seeds[2])):  # data loading and any randomness inside forward: seeded, contained
                if capture is None or capture.model is not net:
                    hooked.close()
                    hooked.enter_context(_scoring_modes(net, batchnorm))
                    if plan is None:
                        probe, forward_batch, input_format = _probe(
                            net, source, capture_options, batch_size, batchnorm, dtype, net_device, memory_format
                        )
                        plan, planned = probe.plan, probe.infos
                        skipped.update(probe.skipped)
                    capture = hooked.enter_context(Capture(net, plan=plan, **capture_options))
                try:
                    x = source.take(forward_batch, generator, shuffle)
                except InsufficientSamplesError as error:
                    raise InsufficientSamplesError(_too_few_message(planned, forward_batch, str(error))) from None
                capture.forward(_to_model(x, dtype, net_device, input_format), generator)

            ranks = _effective_ranks(capture.matrices, svd_dtype, nonfinite, capture.skipped)
            if capture.matrices and not ranks:
                raise NonFiniteActivationError(
                    f"every scored layer produced NaN or infinite activations in repetition {repetition}; "
                    "check the initialisation and the input scale"
                )
            skipped.update(capture.skipped)
            for info in capture.infos:
                if info.name in ranks:
                    info_by_name.setdefault(info.name, info)
                    per_layer[info.name].append(ranks[info.name])
            scores.append(float(sum(ranks.values())))

    layer_scores = tuple(
        LayerScore(
            name, info.kind, info.source, info.size, float(np.mean(per_layer[name])), _std(np.array(per_layer[name]))
        )
        for name, info in info_by_name.items()
    )
    skipped = {name: why for name, why in skipped.items() if name not in info_by_name}  # scored in some repetition
    return NearResult(np.array(scores), layer_scores, seed, forward_batch, skipped)


class _Models:
    """Hands out the model of each repetition, seeded, without ever touching the user's module."""

    def __init__(self, model, reinit: bool, init, device=None):
        self._init = get_init(init)
        self._explicit_init = init is not None
        self._reinit = reinit
        self._fixed: nn.Module | None = None
        self._factory = None
        self._bound_init: Callable[[], None] | None = None  # init of the fixed module, its module walk done once
        self._last_built: weakref.ref | None = None  # the factory's last module, where it is held elsewhere
        if isinstance(model, nn.Module):
            _check_module_init(model, reinit, init)
            try:
                self._fixed = copy.deepcopy(model)
            except Exception as error:
                raise ModelError(
                    f"could not copy the model to score it safely ({error}); pass a model factory instead"
                ) from error
            if device is not None:
                self._fixed = self._fixed.to(device)
        elif callable(model):
            self._factory = model
        else:
            raise ModelError(f"model must be an nn.Module or a callable returning one, got {type(model).__name__}")

    def get(self, seed: int, device) -> nn.Module:
        """The model of one repetition; ``seed`` drives its construction and initialisation."""
        if self._fixed is not None and not (self._reinit and self._factory is None):
            return self._fixed
        with isolated_rng(seed):
            if self._factory is None:
                net = self._fixed
                self._apply_init(self._reinit_fixed)
            else:
                net = self._build()
        net = net.to(device) if device is not None else net
        if self._factory is not None and not self._reinit:
            self._fixed = net
        return net

    def _reinit_fixed(self) -> None:
        if self._bound_init is None:
            self._bound_init = bind_init(self._init, self._fixed)
        self._bound_init()

    def _build(self) -> nn.Module:
        net = call_factory(self._factory)
        if _held_elsewhere(net):  # e.g. ``lambda: net``: scored like a module, on a copy, never changed
            if self._last_built is not None and self._last_built() is net:
                warnings.warn(
                    "the model factory returns the same module every time, so every repetition starts from its "
                    "weights (a copy: the module is not changed); return a new module from the factory for fresh "
                    "weights, or pass the module itself",
                    ReinitWarning,
                    stacklevel=5,
                )
            self._last_built = weakref.ref(net)
            try:
                net = copy.deepcopy(net)
            except Exception as error:
                raise ModelError(
                    f"the model factory returned a module that is used elsewhere and could not be copied to score "
                    f"it safely ({error}); return a new module from the factory"
                ) from error
        if self._explicit_init:
            self._apply_init(functools.partial(self._init, net))
        return net

    def _apply_init(self, apply: Callable[[], None]) -> None:
        try:
            apply()
        except Exception as error:
            name = getattr(self._init, "__name__", type(self._init).__name__)
            raise ModelError(f"the init function {name!r} raised {type(error).__name__}: {error}") from error


def _held_elsewhere(module: nn.Module) -> bool:
    """Whether anything but the caller's variable refers to ``module`` (a factory returning an existing module).

    Changing a module nobody else holds cannot be seen; one held elsewhere is the user's, and is copied.
    A false alarm (a module that refers to itself, e.g. through a bound-method hook) only costs a copy.
    """
    return sys.getrefcount(module) > _FRESH


def _fresh_references() -> int:
    """What ``sys.getrefcount`` says inside :func:`_held_elsewhere` of an object held only by the caller's
    variable (measured, as it differs between Python versions)."""
    value = object()  # held by this variable only, like ``net`` in ``_Models._build``
    return (lambda module: sys.getrefcount(module))(value)


_FRESH = _fresh_references()


def _check_module_init(model: nn.Module, reinit: bool, init) -> None:
    """A given module's weights are kept (``reinit=False``) or re-drawn: say so where that would
    silently drop what the user asked for or did."""
    if not reinit and init is not None:
        raise OptionError(
            "init= with reinit=False would be ignored: the module's own weights are kept. Initialise "
            "the module yourself, pass reinit=True, or pass a model factory (init= is then applied once)"
        )
    if reinit and init is None and (custom := non_default_layers(model)):
        warnings.warn(
            f"layers {custom[:5]} are not initialised like PyTorch's default, but reinit=True re-draws "
            "every repetition with that default. To score your own scheme, pass a model factory or "
            "init=; to score these exact weights, pass reinit=False.",
            ReinitWarning,
            stacklevel=4,
        )


def _dtype_and_device(net: nn.Module) -> tuple[torch.dtype, torch.device]:
    for tensor in itertools.chain(net.parameters(), net.buffers()):  # lazily: usually the first one decides
        if tensor.is_meta:
            raise ModelError("the model's parameters are on the meta device (no values); materialise it first")
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    return torch.get_default_dtype(), torch.device("cpu")


def _to_model(
    x: torch.Tensor, dtype: torch.dtype, device: torch.device, memory_format: torch.memory_format
) -> torch.Tensor:
    """Floating inputs take the model's dtype (integer inputs, token ids, are left as they are); 4-D
    inputs take ``memory_format``."""
    x = x.to(device=device, dtype=dtype if x.is_floating_point() else None)
    return x.contiguous(memory_format=memory_format) if x.dim() == 4 and memory_format != torch.preserve_format else x


def _input_formats(net: nn.Module, memory_format: str, device: torch.device) -> tuple[torch.memory_format, ...]:
    """The memory formats to try for the inputs, fastest first (see ``memory_format`` of :func:`score`)."""
    if memory_format == "channels_last":
        return (torch.channels_last,)
    if memory_format == "auto" and device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in net.modules()):
        return torch.channels_last, torch.preserve_format
    return (torch.preserve_format,)


def _probe(net, source, capture_options, batch_size, batchnorm, dtype, device, memory_format):
    """The probe capture, the forward batch size and the inputs' memory format: the first format of
    :func:`_input_formats` on which the model runs (a model error on the last one is raised)."""
    formats = _input_formats(net, memory_format, device)
    for input_format in formats:
        with Capture(net, **capture_options) as probe:
            try:
                forward_batch = _plan_batch(probe, source, batch_size, batchnorm, dtype, device, input_format)
            except ModelError:
                if input_format is formats[-1]:
                    raise
                continue
        return probe, forward_batch, input_format


def _per_sample_norm(module: nn.Module, args, output):
    x = args[0]
    if x.dim() < 3:
        raise OptionError(
            f"batchnorm='sample' needs spatial or sequence axes, but a BatchNorm got shape {tuple(x.shape)}; "
            "use batchnorm='batch' or 'running'"
        )
    return F.instance_norm(x, weight=module.weight, bias=module.bias, eps=module.eps)


@contextlib.contextmanager
def _scoring_modes(net: nn.Module, batchnorm: str):
    """Eval mode for everything but BatchNorm, which follows ``batchnorm``; all undone on exit."""
    modes = [(module, module.training) for module in net.modules()]
    handles = []
    try:
        net.eval()
        for module in net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and batchnorm != "running":
                module.train()
                if batchnorm == "sample":
                    handles.append(module.register_forward_hook(_per_sample_norm, prepend=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training


def _plan_batch(capture: Capture, source: SampleSource, batch_size, batchnorm, dtype, device, input_format) -> int:
    """Probe the layers on tiny batches; return how many samples one forward pass must carry.

    A second probe pass (3 samples, or 4 for a model that needs even batches) tells per-sample
    outputs, whose size follows the batch size, from functions of parameters that happen to match 2.
    """
    available = source.available
    probe = source.take(min(2, available) if available else 2, torch.Generator(), shuffle=False)
    capture.forward(_to_model(probe, dtype, device, input_format), probe=True)
    for size in (3, 4):
        try:
            probe = source.take(size, torch.Generator(), shuffle=False)
        except InsufficientSamplesError:  # only 2 samples (or 3) to probe with
            break
        if capture.probe_again(_to_model(probe, dtype, device, input_format)):
            break

    if not capture.infos:
        found = "; ".join(f"{n}: {r}" for n, r in capture.skipped.items())
        if not found and capture.names_seen:
            found = f"none of the layers matches layers=/exclude=; the layers are {_shorten(capture.names_seen)}"
        raise NoScorableLayerError(
            f"no layer of the model can be scored ({found or 'no Linear/Conv/activation layer was called'}). "
            "NEAR needs layers with a weight or activations; check layers=/exclude= patterns, or pass custom "
            "activation classes with activations=."
        )
    needed = widest = max(info.layout.samples_needed for info in capture.infos)
    if batchnorm == "batch" and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in capture.model.modules()):
        needed = max(needed, min(2, available or 2))  # batch statistics of more than one sample
    if available is not None and available < needed:
        raise InsufficientSamplesError(_too_few_message(capture.infos, needed, f"{available} were given"))
    if batch_size is not None and batch_size < needed:
        why = "the widest layer needs" if needed == widest else "BatchNorm needs for batch statistics"
        raise OptionError(f"batch_size={batch_size} is smaller than the {needed} samples {why}")
    if batch_size is not None and available is not None and batch_size > available:
        raise OptionError(f"batch_size={batch_size} is more than the {available} samples given")
    return max(needed, batch_size or 0)


def _too_few_message(infos: Sequence[LayerInfo], needed: int, given: str) -> str:
    widest = sorted(infos, key=lambda i: -i.layout.samples_needed)[:3]
    detail = ", ".join(f"{i.name!r} ({i.size} neurons) needs {i.layout.samples_needed}" for i in widest)
    return (
        f"NEAR needs {needed} samples per forward pass but {given}: {detail}. "
        f"Pass at least {needed} samples, or restrict the scored layers with layers=/exclude=."
    )


def _shorten(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _effective_ranks(
    matrices: dict[str, torch.Tensor], svd_dtype: torch.dtype, nonfinite: str, skipped: dict[str, str]
) -> dict[str, float]:
    """Effective rank of every matrix, one batched eigenvalue (or SVD) call per matrix size.

    All-zero matrices count 0 (with a warning); matrices with NaN/inf raise or, with
    ``nonfinite="warn"``, are excluded (with a warning) and noted in ``skipped``.
    """
    by_size: dict[int, list[str]] = defaultdict(list)
    for name, matrix in matrices.items():
        by_size[matrix.shape[0]].append(name)
    ranks: dict[str, float] = {}
    for names in by_size.values():
        stack = torch.stack([matrices[name] for name in names]).to(svd_dtype)
        finite = torch.isfinite(stack.abs().amax(dim=(-2, -1)))  # a NaN or inf entry makes its maximum one
        if not finite.all():
            bad = [name for name, ok in zip(names, finite.tolist()) if not ok]
            if nonfinite == "raise":
                raise NonFiniteActivationError(
                    f"layer {bad[0]!r} produced NaN or infinite activations; the score would be meaningless. "
                    "Check the initialisation and input scale, or pass nonfinite='warn' to exclude such layers."
                )
            warnings.warn(
                f"layers {bad[:5]} produced NaN or infinite activations; excluded from the score",
                NonFiniteActivationWarning,
                stacklevel=3,
            )
            skipped.update(dict.fromkeys(bad, "NaN or infinite activations"))
            names, stack = [n for n, ok in zip(names, finite.tolist()) if ok], stack[finite]
        if svd_dtype == torch.float64:
            values = gram_effective_ranks(stack).tolist()
        else:
            values = erank_from_singular_values(singular_values(stack)).tolist()
        ranks.update(zip(names, values))
    zero = [name for name, value in ranks.items() if np.isnan(value)]
    if zero:
        warnings.warn(
            f"all-zero activations in {zero[:5]}: effective rank undefined, counted as 0",
            ZeroMatrixWarning,
            stacklevel=3,
        )
        ranks.update(dict.fromkeys(zero, 0.0))
    return {name: ranks[name] for name in matrices if name in ranks}
