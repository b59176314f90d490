"""Finding a model's layers and collecting one matrix per layer call during a forward pass.

What is scored (the authors' rule, extended):

* **pre-activations** — outputs of every module with a ``weight`` attribute (Linear, Conv*,
  Embedding and, unless ``norm_layers=False``, normalisation layers such as BatchNorm/LayerNorm)
  and of ``nn.MultiheadAttention``;
* **post-activations** — outputs of activation modules (the classes of
  ``torch.nn.modules.activation``, plus classes passed as ``activations=``), of **functional
  activations** called inside ``forward`` (``F.relu``, ``torch.tanh``, ``x.sigmoid()`` …, seen
  through a :class:`torch.overrides.TorchFunctionMode`), and of user-defined modules without scored
  submodules that apply such a function to the data (a custom ``Swish``, ``STanh`` or learnable
  Swish-β counts once, as a whole). A user-defined module with a ``weight`` that applies an
  activation inside (``relu(x @ W.T)``) is one post-activation layer, not a pre- and a
  post-activation of the same matrix. Activations of parameters (``softplus(W)``, a gate
  ``x * sigmoid(α)``) are never layers: the probe passes show their size does not follow the batch.

Deliberate choices: a module called several times per forward is scored once per call
(``name``, ``name#2``, …); modules never called are reported as skipped; of a tuple output the
first element is scored (as the authors do); outputs whose first axis is not the sample axis are
skipped, except ``(L, N, D)`` sequence-first outputs, which are transposed. Where the neurons are
in outputs of three or more axes: see :func:`_channels_first_by_module` (the weight of a
user-defined layer, else the module type: Conv/BatchNorm/GroupNorm/pooling channels first,
Linear/LayerNorm/attention/Embedding channels last); an activation inherits the last decision made
for outputs of its number of axes (default: 4-D and up channels first, 3-D channels last). Everything installed
here (hooks, the function mode) lives only inside the ``with`` block.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .errors import InsufficientSamplesError, ModelError, NearError
from .matrix import Layout, layout_of, square_block

# nn.MultiheadAttention lives in torch.nn.modules.activation but is a weighted layer (its output: "pre").
ACTIVATION_MODULES: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, name) for name in nn.modules.activation.__all__ if name != "MultiheadAttention"
)
ACTIVATION_FUNCTIONS = frozenset(
    """relu relu_ relu6 gelu silu mish elu elu_ selu selu_ celu celu_ leaky_relu leaky_relu_
    hardtanh hardtanh_ hardswish hardsigmoid softplus softsign tanhshrink softshrink hardshrink tanh tanh_
    sigmoid sigmoid_ special_expit log_sigmoid prelu rrelu rrelu_ glu threshold _threshold threshold_""".split()
)
NORM_MODULES: tuple[type[nn.Module], ...] = tuple(
    cls
    for cls in (
        nn.modules.batchnorm._NormBase,
        nn.LayerNorm,
        nn.GroupNorm,
        nn.LocalResponseNorm,
        getattr(nn, "RMSNorm", None),
    )
    if cls is not None
)
_CHANNELS_FIRST = (
    nn.modules.conv._ConvNd,
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd,
)
_CHANNELS_LAST = tuple(
    cls
    for cls in (nn.Linear, nn.Bilinear, nn.LayerNorm, nn.Embedding, nn.MultiheadAttention, getattr(nn, "RMSNorm", None))
    if cls is not None
)


@dataclass(frozen=True)
class Plan:
    """What the probe passes learned: the role of each module (by name), whether functional
    activations occur outside activation modules (if not, later passes run without the function
    mode), and which layer calls have no sample axis in some probe pass (activations of
    parameters), so that they are never scored even where their first axis matches a later batch."""

    roles: dict[str, str]
    functional: bool
    unscorable: frozenset[str]


@dataclass(frozen=True)
class LayerInfo:
    """One scored layer call: its name, ``pre``/``post`` kind, where it came from, and its layout."""

    name: str
    kind: str
    source: str
    layout: Layout

    @property
    def size(self) -> int:
        return self.layout.neurons


def _is_weighted(module: nn.Module) -> bool:
    weight = getattr(module, "weight", False)
    return weight is None or isinstance(weight, torch.Tensor)


def _is_user_defined(module: nn.Module) -> bool:
    return not type(module).__module__.startswith("torch.")


def _is_user_unit(module: nn.Module, activation_types: tuple[type[nn.Module], ...]) -> bool:
    """A user-defined module none of whose submodules is scored on its own (only e.g. Dropout inside)."""
    return _is_user_defined(module) and not any(
        isinstance(sub, activation_types) or _is_weighted(sub) for sub in list(module.modules())[1:]
    )


def _channels_first_by_module(output: torch.Tensor, module: nn.Module | None) -> bool | None:
    """Whether the module's neurons are on axis 1 of ``output`` (None: the module cannot tell).

    A user-defined module (or subclass) with a ``weight`` decides where exactly one of axis 1 and
    the last axis has a size of the weight (a hand-written LayerNorm or Linear on NHWC maps, a
    timm-style LayerNorm2d on NCHW maps); otherwise the module's type does (not for a LayerNorm
    over several axes or a subclass of one).
    """
    if module is None:
        return None
    weight = getattr(module, "weight", None)
    if _is_user_defined(module) and isinstance(weight, torch.Tensor) and weight.dim() >= 1:
        first, last = output.shape[1] in weight.shape, output.shape[-1] in weight.shape
        if first != last:
            return first
    if isinstance(module, nn.LayerNorm) and (len(module.normalized_shape) > 1 or _is_user_defined(module)):
        return None  # over several axes, or a subclass that may permute (timm's LayerNorm2d)
    if isinstance(module, _CHANNELS_FIRST):
        return True
    if isinstance(module, _CHANNELS_LAST):
        return False
    return None


def _hint(message: str) -> str:
    """What to change, for the model errors whose cause we can recognise."""
    if "does not require grad" in message:
        return "The model seems to differentiate inside forward: pass autograd=True."
    if "Expected more than 1 value per channel" in message:
        return (
            "BatchNorm cannot use batch statistics of a single sample: pass more samples, or "
            "batchnorm='running' or 'sample'."
        )
    return (
        "Check that the inputs have the shape, dtype and device the model expects (e.g. images as "
        "floats, flattened for an MLP without nn.Flatten); iterables must yield batches whose first "
        "axis is the sample axis."
    )


_CANDIDATES = ("candidate", "weighted candidate")
_ABSORBING = (*_CANDIDATES, "absorb", "weighted absorb")  # functional activations inside are not layers


class _Frame:
    __slots__ = ("name", "role", "activation_sizes")  # sizes: (numel, has the batch size on axis 0 or 1)

    def __init__(self, name: str, role: str):
        self.name, self.role, self.activation_sizes = name, role, []


class _FunctionalActivations(TorchFunctionMode):
    def __init__(self, capture: Capture):
        super().__init__()
        self._capture = capture

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if getattr(func, "__name__", None) in ACTIVATION_FUNCTIONS:
            self._capture._on_function(func.__name__, out)
        return out


class Capture:
    """Context manager that hooks a model and turns one forward pass into per-layer matrices.

    A first pass with ``probe=True`` discovers the layers and their needs; its :attr:`plan` lets
    later captures hook only what matters. Scoring passes copy out each layer's square matrix as
    soon as the layer has run, so no large activation is kept.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        plan: Plan | None = None,
        layers: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        activations: Sequence[type[nn.Module]] = (),
        functional: bool = True,
        norm_layers: bool = True,
        sequence_layout: str = "auto",
        autograd: bool = False,
    ):
        self.model = model
        self._autograd = autograd
        self._layers, self._exclude = layers, tuple(exclude)
        self._sequence_layout = sequence_layout
        self._wanted_cache: dict[str, bool] = {}
        if plan is None:
            roles = self._discover(activations, functional, norm_layers)
            self._functional = functional
            self.unscorable: set[str] = set()
        else:
            roles = {module: (name, plan.roles[name]) for name, module in self._named_modules() if name in plan.roles}
            self._functional = plan.functional
            self.unscorable = set(plan.unscorable)
        self._roles: dict[nn.Module, tuple[str, str]] = roles
        self._handles: list = []
        self._probe_activation_sizes: list[dict[str, list[tuple[int, bool]]]] = []  # per probe pass: candidate -> sizes
        self._functions_seen = False
        self._reset(None, probe=True)

    def _named_modules(self):
        return ((name or "<root>", module) for name, module in self.model.named_modules())

    def _discover(self, activations, functional: bool, norm_layers: bool) -> dict[nn.Module, tuple[str, str]]:
        activation_types = ACTIVATION_MODULES + tuple(activations)
        roles, attention = {}, ()
        for name, module in self._named_modules():
            if name.startswith(attention):  # out_proj: a weight that attention uses inside, never called
                continue
            if isinstance(module, activation_types):
                role = "activation"
            elif isinstance(module, nn.MultiheadAttention):
                role, attention = "weighted", (*attention, name + ".")
            elif _is_weighted(module) and (norm_layers or not isinstance(module, NORM_MODULES)):
                role = "weighted candidate" if functional and _is_user_unit(module, activation_types) else "weighted"
            elif functional and name != "<root>" and _is_user_unit(module, activation_types):
                role = "candidate"

            elif functional and (next(module.children(), None) is not None or name == "<root>"):
                role = "scope"
            else:
                continue
            roles[module] = (name, role)
        return roles

    @property
    def plan(self) -> Plan:
        """Roles after the probe: custom modules that called an activation function become
        activations, and naming scopes are dropped when no functional activation was seen."""
        roles = {}
        for name, role in self._roles.values():
            if role in _CANDIDATES:
                role = self._settle(name, role)
            elif role == "scope" and not self._functions_seen:
                role = None
            if role is not None:
                roles[name] = role
        return Plan(roles, self._functional and self._functions_seen, frozenset(self.unscorable))

    def _settle(self, name: str, role: str) -> str | None:
        """A custom module is an activation if it applied one to the data: the sizes of what its
        activations returned change with the batch size between the probe passes (with a single
        probe pass: one of them has the batch size on its first or second axis). One that applied
        them only to its parameters (a gate ``x * sigmoid(α)``) keeps absorbing them, so they never
        count as layers."""
        seen = [sizes.get(name) for sizes in self._probe_activation_sizes]
        if not any(seen):
            return "weighted" if role == "weighted candidate" else None
        if len(seen) >= 2:
            follows_data = seen[0] != seen[-1]
        else:
            follows_data = any(has_batch_axis for _, has_batch_axis in seen[0])
        if follows_data:
            return "activation"
        return "weighted absorb" if role == "weighted candidate" else "absorb"

    def probe_again(self, x: torch.Tensor) -> bool:
        """A second probe pass on another batch size; if the model cannot run it (e.g. it needs an
        even batch), what the first pass found stands and False is returned."""
        first = (self.infos, self.skipped, self.names_seen, self._called)
        try:
            self.forward(x, probe=True)
        except ModelError:
            self.infos, self.skipped, self.names_seen, self._called = first
            return False
        return True

    # -- context management ---------------------------------------------------------------
    def __enter__(self) -> Capture:
        try:
            for module, (_, role) in self._roles.items():
                if self._functional and (role != "weighted" or _is_user_defined(module)):
                    self._handles.append(module.register_forward_pre_hook(self._pre_hook))
                if role != "scope":
                    self._handles.append(module.register_forward_hook(self._post_hook, always_call=True))
                elif self._functional:
                    self._handles.append(module.register_forward_hook(self._pop_hook, always_call=True))
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._remove()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # -- one forward pass -----------------------------------------------------------------
    def _reset(self, generator: torch.Generator | None, probe: bool) -> None:
        self._generator, self._probe = generator, probe
        self._stack: list[_Frame] = []
        self._calls: Counter[str] = Counter()
        self._channels_first_by_dim: dict[int, bool] = {3: False}
        self.names_seen: list[str] = []
        self.infos: list[LayerInfo] = []
        self.matrices: dict[str, torch.Tensor] = {}
        self.skipped: dict[str, str] = {}
        self._called: set[str] = set()
        self._activation_sizes: dict[str, list[tuple[int, bool]]] = {}

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, *, probe: bool = False) -> None:
        """Run the model once on ``x`` and record every scored layer's matrix (or layout, if ``probe``)."""
        self._reset(generator, probe)
        self._batch = x.shape[0]
        if self._autograd and x.is_floating_point():
            x = x.detach().requires_grad_(True)
        try:
            with (
                torch.enable_grad() if self._autograd else torch.no_grad(),
                _FunctionalActivations(self) if self._functional else contextlib.nullcontext(),
            ):
                self.model(x)
        except NearError:
            raise
        except Exception as error:
            raise ModelError(
                f"the model raised {type(error).__name__} on inputs of shape {tuple(x.shape)} and dtype "
                f"{x.dtype}: {error}. {_hint(str(error))}"
            ) from error
        for name, role in self._roles.values():
            if role in ("weighted", "weighted absorb", "activation") and name not in self._called:
                self.skipped[name] = "never called"
        if probe:
            self._probe_activation_sizes.append(self._activation_sizes)

    # -- hooks ------------------------------------------------------------------------------
    def _pre_hook(self, module: nn.Module, args) -> None:
        name, role = self._roles[module]
        self._stack.append(_Frame(name, role))

    def _pop_hook(self, module: nn.Module, args, output) -> None:
        if self._stack:
            self._stack.pop()

    def _post_hook(self, module: nn.Module, args, output) -> None:
        name, role = self._roles[module]
        frame = self._stack.pop() if self._stack and self._stack[-1].name == name else None
        self._called.add(name)
        active = role in _CANDIDATES and frame is not None and bool(frame.activation_sizes)
        if active:
            self._activation_sizes.setdefault(name, []).extend(frame.activation_sizes)
        if role == "activation" or active:
            self._record(name, "post", "module", output, module)
        elif role in ("weighted", "weighted candidate", "weighted absorb"):
            self._record(name, "pre", "module", output, module)

    def _on_function(self, function: str, output) -> None:
        for frame in reversed(self._stack):
            if frame.role == "activation":
                return
            if frame.role in _ABSORBING:
                if isinstance(output, torch.Tensor):
                    frame.activation_sizes.append((output.numel(), self._batch in output.shape[:2]))
                return
            if frame.role in ("scope", "weighted"):
                owner = "" if frame.name == "<root>" else frame.name + "."
                break
        else:
            owner = ""
        self._functions_seen = True
        self._record(f"{owner}{function}()", "post", "function", output, None)

    # -- matrices ---------------------------------------------------------------------------
    def _wanted(self, name: str, base: str) -> bool:
        wanted = self._wanted_cache.get(name)
        if wanted is None:

            def matches(patterns) -> bool:
                return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(base, p) for p in patterns)

            wanted = (self._layers is None or matches(self._layers)) and not matches(self._exclude)
            self._wanted_cache[name] = wanted
        return wanted

    def _channels_first(self, output: torch.Tensor, module: nn.Module | None) -> bool:
        """Where the neurons are: decided by the module where it can, else as last decided for this
        number of axes (so an activation follows the layer before it)."""
        dim = output.dim()
        if dim == 3 and self._sequence_layout != "auto":
            return self._sequence_layout == "channels_first"
        decided = _channels_first_by_module(output, module)
        if decided is not None:
            self._channels_first_by_dim[dim] = decided
        return self._channels_first_by_dim.get(dim, dim > 3)

    def _record(self, base: str, kind: str, source: str, output, module: nn.Module | None) -> None:
        self._calls[base] += 1
        count = self._calls[base]
        name = base if count == 1 else f"{base}#{count}"
        if isinstance(output, (tuple, list)):
            output = output[0] if output else None
        self.names_seen.append(name)
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            unusable = "output is not a floating-point tensor"
        else:
            if output.dim() == 3 and output.shape[0] != self._batch and output.shape[1] == self._batch:
                output = output.transpose(0, 1)  # (L, N, D): sequence-first
            if output.dim() < 2 or output.shape[0] != self._batch:
                unusable = f"output shape {tuple(output.shape)} has no sample axis of size {self._batch}"
            else:  # decided for every layer, scored or not, so the layers kept follow the right layout
                unusable, channels_first = None, self._channels_first(output, module)
        if not self._wanted(name, base):
            return
        if unusable and self._probe and "sample axis" in unusable:
            self.unscorable.add(name)
        if name in self.unscorable:
            unusable = "its first axis does not follow the batch size (not per sample, e.g. a function of a parameter)"
        if unusable:
            self.skipped[name] = unusable
            return

        layout = layout_of(output, channels_first)
        if layout.neurons < 1 or layout.rows_per_sample < 1:
            self.skipped[name] = f"output shape {tuple(output.shape)} is empty"
            return

        self.infos.append(LayerInfo(name, kind, source, layout))
        if self._probe:
            return
        if layout.samples_needed > self._batch:
            raise InsufficientSamplesError(
                f"layer {name!r} ({layout.neurons} neurons) needs {layout.samples_needed} samples per "
                f"forward pass, but the batch has {self._batch} (the probe pass did not see this layer, or saw it "
                f"narrower); pass batch_size={layout.samples_needed} or more"
            )
        self.matrices[name] = square_block(output.detach(), layout, self._generator)
