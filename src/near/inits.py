"""Named weight-initialisation schemes, applied to a whole module.

Every scheme first restores each submodule's PyTorch default (``reset_parameters``), then
re-draws the weight of every Linear/Conv layer with the named ``torch.nn.init`` function; biases,
norm layers and embeddings keep their PyTorch defaults. ``"default"`` is PyTorch's own
initialisation (for Linear/Conv: Kaiming-uniform with ``a = sqrt(5)``).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import Counter
from collections.abc import Callable

import torch
from torch import nn

from .errors import OptionError, ReinitWarning

InitFn = Callable[[nn.Module], None]

_WEIGHT_INITS: dict[str, Callable] = {
    "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5)),
    "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "orthogonal": nn.init.orthogonal_,
    "uniform": nn.init.uniform_,
    "normal": nn.init.normal_,
}
INIT_NAMES = ("default", *_WEIGHT_INITS)
_LAYERS = (nn.Linear, nn.modules.conv._ConvNd, nn.Bilinear)
_JUDGED = (nn.Linear, nn.modules.conv._ConvNd)  # default: U(±1/√fan_in) on the weight


def reset_to_default(model: nn.Module) -> None:
    """Re-draw every parameter with PyTorch's default initialisation; warn about any that cannot be
    (unless it is constant, as a re-draw would leave it)."""
    _DefaultReset(model)()


def get_init(init: str | InitFn | None) -> InitFn:
    """The initialisation function for a name, a callable (returned as is) or ``None`` (PyTorch default)."""
    if init is None or init == "default":
        return reset_to_default
    if callable(init):
        return init
    if init not in _WEIGHT_INITS:
        raise OptionError(f"unknown init {init!r}; choose one of {', '.join(INIT_NAMES)} or pass a function")
    return _Scheme(init)


def bind_init(init: InitFn, model: nn.Module) -> Callable[[], None]:
    """``init`` applied to ``model``, as a function to call once per repetition.

    For PyTorch's default and the named schemes, the walk over the modules (and the bounds of the
    stock layers' draws) is done here, once; every call then draws exactly what ``init(model)`` would.
    The bound function keeps using the modules it found: re-bind after changing the model's structure.
    """
    if init is reset_to_default:
        return _DefaultReset(model)
    if isinstance(init, _Scheme):
        return init.bind(model)
    return functools.partial(init, model)


class _Scheme:
    """A named scheme: PyTorch's defaults, then the named draw for the weight of every Linear/Conv layer."""

    def __init__(self, name: str):
        self.__name__ = name
        self._weight_init = _WEIGHT_INITS[name]

    def __call__(self, model: nn.Module) -> None:
        self.bind(model)()

    def bind(self, model: nn.Module) -> Callable[[], None]:
        reset = _DefaultReset(model)
        layers = [module for module in model.modules() if isinstance(module, _LAYERS)]

        def apply() -> None:
            reset()
            for module in layers:
                self._weight_init(module.weight)

        return apply


class _DefaultReset:
    """:func:`reset_to_default` of one model, planned once and applied by calling it.

    Every module's ``reset_parameters()`` (or ``_reset_parameters()``) runs, children first so that
    a parent's own scheme wins, as when the model was built. For modules whose class uses the stock
    ``reset_parameters`` of ``Linear``, ``_ConvNd`` or ``_NormBase`` (BatchNorm, InstanceNorm), the
    plan replays what that method does instead of calling it: the same ``uniform_`` draws from the
    global generator, on the same tensors, in the same order, with bounds computed by the same
    expressions (so the weights are bit for bit those of ``reset_parameters``), and the constant
    fills batched; this removes the per-module Python that dominates a small network's re-draw.
    Anything else (a subclass that overrides the method, a non-contiguous or empty weight, tensor
    subclasses, …) calls its own method at its place in the order.
    """

    def __init__(self, model: nn.Module):
        self._steps: list[Callable[[], None]] = []
        self._run = _Run()
        self._unresettable: list[tuple[str, nn.Module]] = []
        modules = list(model.named_modules())
        for name, module in reversed(modules):
            reset = getattr(module, "reset_parameters", None) or getattr(module, "_reset_parameters", None)
            if not callable(reset):
                if module._parameters:
                    self._unresettable.append((name or type(module).__name__, module))
            elif (ops := _stock_ops(module)) is not None:
                for op in ops:
                    if not self._run.add(*op):
                        self._close_run()
                        self._run.add(*op)
            else:
                self._close_run()
                self._steps.append(reset)
        self._close_run()
        self._unresettable.reverse()  # named in model order

    def _close_run(self) -> None:
        if self._run:
            self._steps.append(self._run)
            self._run = _Run()

    def __call__(self) -> None:
        for step in self._steps:
            step()
        stuck = [name for name, module in self._unresettable if any(_varies(p) for p in module._parameters.values())]
        if stuck:
            warnings.warn(
                f"modules {stuck[:5]} have parameters but no reset_parameters(); their weights are kept "
                "across repetitions. Pass a model factory or an init= function to re-initialise them.",
                ReinitWarning,
                stacklevel=3,
            )


class _Run:
    """Consecutive stock resets: ``uniform_`` draws in order, then the constant fills in two batched calls.
    A tensor is touched once per run (a second touch, e.g. a shared weight, starts the next run), so
    moving the fills after the draws changes nothing."""

    def __init__(self):
        self._draws: list[tuple[torch.Tensor, float, float]] = []
        self._zeros: list[torch.Tensor] = []
        self._ones: list[torch.Tensor] = []
        self._touched: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._touched)

    def add(self, kind: str, tensor: torch.Tensor, *bounds: float) -> bool:
        """Plan one operation; False (and nothing planned) if the tensor is already touched in this run."""
        if id(tensor) in self._touched:
            return False
        self._touched.add(id(tensor))
        if kind == "uniform":
            self._draws.append((tensor, *bounds))
        else:
            (self._zeros if kind == "zero" else self._ones).append(tensor)
        return True

    def __call__(self) -> None:
        with torch.no_grad():
            for tensor, low, high in self._draws:
                tensor.uniform_(low, high)
            if self._zeros:
                torch._foreach_zero_(self._zeros)
            if self._ones:
                torch._foreach_zero_(self._ones)
                torch._foreach_add_(self._ones, 1)


_STOCK_LAYER_RESETS = (nn.Linear.reset_parameters, nn.modules.conv._ConvNd.reset_parameters)
_KAIMING_GAIN = nn.init.calculate_gain("leaky_relu", math.sqrt(5))  # as in kaiming_uniform_(w, a=math.sqrt(5))


def _stock_ops(module: nn.Module) -> list[tuple] | None:
    """The operations of a stock ``reset_parameters`` (see :class:`_DefaultReset`), or None: call it."""
    if "reset_parameters" in vars(module) or "reset_running_stats" in vars(module):
        return None
    reset = getattr(type(module), "reset_parameters", None)
    if reset in _STOCK_LAYER_RESETS:
        weight, bias = module._parameters.get("weight"), module._parameters.get("bias", False)
        if not _plain(weight, nn.Parameter) or not weight.is_contiguous():
            return None  # a non-contiguous weight: the stock method draws into a contiguous copy
        if bias is not None and not _plain(bias, nn.Parameter):
            return None
        if getattr(module, "weight", None) is not weight or getattr(module, "bias", None) is not bias:
            return None  # a parametrised or property weight
        bound = math.sqrt(3.0) * (_KAIMING_GAIN / math.sqrt(nn.init._calculate_correct_fan(weight, "fan_in")))
        ops = [("uniform", weight, -bound, bound)]
        if bias is not None:
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
            bias_bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            ops.append(("uniform", bias, -bias_bound, bias_bound))
        return ops
    norm = nn.modules.batchnorm._NormBase
    stats_reset = getattr(type(module), "reset_running_stats", None)
    if reset is norm.reset_parameters and stats_reset is norm.reset_running_stats:
        ops = []
        if module.track_running_stats:
            stats = (module.running_mean, module.running_var, module.num_batches_tracked)
            if not all(_plain(t, torch.Tensor) for t in stats):
                return None
            ops += [("zero", stats[0]), ("one", stats[1]), ("zero", stats[2])]
        if module.affine:
            weight, bias = module.weight, module.bias
            if not (_plain(weight, nn.Parameter) and (bias is None or _plain(bias, nn.Parameter))):
                return None
            ops.append(("one", weight))
            if bias is not None:
                ops.append(("zero", bias))
        return ops
    return None


def _plain(tensor, cls: type) -> bool:
    """An ordinary, materialised, non-empty tensor of exactly ``cls`` (no subclass that could
    intercept the operations)."""
    return type(tensor) is cls and not tensor.is_meta and tensor.numel() > 0


def non_default_layers(model: nn.Module) -> list[str]:
    """Linear/Conv layers whose weights cannot come from PyTorch's default initialisation,
    U(−1/√fan_in, 1/√fan_in): a value beyond the bound (up to rounding in the weight's dtype), or
    (with 64+ weights) a spread that misses the uniform's standard deviation by more than ~9 standard
    errors. Not judged: layers with their own reset scheme or inside a module with one
    (``nn.Transformer``), and weights shared with another module (tied embeddings)."""
    uses = Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
    found, own_scheme = [], ()
    for name, module in model.named_modules():
        if own_scheme and name.startswith(own_scheme):
            continue
        if _has_own_scheme(module):
            own_scheme = (*own_scheme, f"{name}." if name else "")
            continue
        weight = getattr(module, "weight", None)
        if not isinstance(module, _JUDGED) or not _materialised(weight) or uses[id(weight)] > 1:
            continue
        rounding = 4 * torch.finfo(weight.dtype).eps
        weight = weight.detach().double()
        bound = 1 / math.sqrt(nn.init._calculate_fan_in_and_fan_out(weight)[0])
        tolerance = 4 / math.sqrt(weight.numel()) + rounding
        spread_off = weight.numel() >= 64 and abs(weight.std() * math.sqrt(3) / bound - 1) > tolerance
        if weight.abs().max() > bound * (1 + rounding) or spread_off:
            found.append(name or type(module).__name__)
    return found


def _has_own_scheme(module: nn.Module) -> bool:
    """A built-in container that re-initialises its children, or a user class that defines a reset."""
    if hasattr(module, "_reset_parameters"):
        return True
    user_classes = (cls for cls in type(module).__mro__ if not cls.__module__.startswith("torch."))
    return any("reset_parameters" in vars(cls) for cls in user_classes)


def _varies(parameter) -> bool:
    """Whether a parameter may have been drawn at random: a constant vector (RMSNorm's ones, a
    LayerScale's 1e-6) or a scalar 0 or 1 is what re-initialising it would give anyway, so keeping
    it needs no warning; a single random value (a drawn temperature) does."""
    if not _materialised(parameter):
        return False
    values = parameter.detach()
    if values.numel() == 1:
        return float(values) not in (0.0, 1.0)
    return bool(values.amin() != values.amax())


def _materialised(weight) -> bool:
    return (
        isinstance(weight, torch.Tensor)
        and not isinstance(weight, nn.parameter.UninitializedParameter)
        and not weight.is_meta
        and weight.numel() > 0
    )
