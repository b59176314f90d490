"""Named weight-initialisation schemes, applied to a whole module.

Every scheme first restores each submodule's PyTorch default (``reset_parameters``), then
re-draws the weight of every Linear/Conv layer with the named ``torch.nn.init`` function; biases,
norm layers and embeddings keep their PyTorch defaults. ``"default"`` is PyTorch's own
initialisation (for Linear/Conv: Kaiming-uniform with ``a = sqrt(5)``).
"""

from __future__ import annotations

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
    stuck = False
    for module in reversed(list(model.modules())):  # children first, so a parent's own scheme wins, as when built
        reset = getattr(module, "reset_parameters", None) or getattr(module, "_reset_parameters", None)
        if callable(reset):
            reset()
        elif any(_varies(p) for p in module._parameters.values()):
            stuck = True
    if stuck:
        stuck = [
            name or type(module).__name__
            for name, module in model.named_modules()
            if any(_varies(p) for p in module._parameters.values())
            and not hasattr(module, "reset_parameters")
            and not hasattr(module, "_reset_parameters")
        ]
        warnings.warn(
            f"modules {stuck[:5]} have parameters but no reset_parameters(); their weights are kept "
            "across repetitions. Pass a model factory or an init= function to re-initialise them.",
            ReinitWarning,
            stacklevel=3,
        )


def get_init(init: str | InitFn | None) -> InitFn:
    """The initialisation function for a name, a callable (returned as is) or ``None`` (PyTorch default)."""
    if init is None or init == "default":
        return reset_to_default
    if callable(init):
        return init
    if init not in _WEIGHT_INITS:
        raise OptionError(f"unknown init {init!r}; choose one of {', '.join(INIT_NAMES)} or pass a function")
    weight_init = _WEIGHT_INITS[init]

    def apply(model: nn.Module) -> None:
        reset_to_default(model)
        for module in model.modules():
            if isinstance(module, _LAYERS):
                weight_init(module.weight)

    apply.__name__ = init
    return apply


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
