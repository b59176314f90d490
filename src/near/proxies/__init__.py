"""The zero-cost proxy zoo behind one API: every proxy returns "higher = predicted better".

>>> import torch, near.proxies
>>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
>>> float(near.proxies.compute("params", net, torch.randn(8, 4)))
23.0
>>> near.proxies.info("params").needs_labels
False
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Iterable

import torch
from torch import nn

from ..errors import ModelError, NearError, OptionError, ProxyError, ProxyNotApplicableError
from ..options import check_seed
from ..rng import isolated_rng
from . import basic, gradient, jacobian, meco, patterns, zen  # noqa: F401  (each registers its proxies)
from ._registry import REGISTRY, ProxyContext, ProxyInfo, ProxyScore, info

__all__ = ["ProxyContext", "ProxyInfo", "ProxyScore", "available", "compute", "compute_many", "info"]


def available() -> list[str]:
    """The names of every registered proxy, sorted."""
    return sorted(REGISTRY)


def compute(
    name: str, model: nn.Module, inputs, targets=None, *, seed: int = 0, device=None, factory=None, **options
) -> ProxyScore:
    """One proxy's value for ``model`` on ``inputs`` (a batch, an ``(x, y)`` pair or a list of batches).

    The proxy runs on its own copy of the model under ``seed`` (its randomness is reproducible and
    the global generators are left alone); a NaN result carries the reason in ``.reason``. ``factory``: see
    :func:`compute_many`.
    """
    return compute_many(
        [name], model, inputs, targets, seed=seed, device=device, options={name: options}, factory=factory
    )[name]


def compute_many(
    names: Iterable[str],
    model: nn.Module,
    inputs,
    targets=None,
    *,
    seed: int = 0,
    device=None,
    options: dict[str, dict] | None = None,
    on_error: str = "raise",
    factory=None,
) -> dict[str, ProxyScore]:
    """Several proxies for one model, sharing the data preparation and any forward/backward pass that
    several of them need (e.g. one loss gradient for grad_norm, snip and plain).

    Each proxy's value is the same as from :func:`compute` with the same seed, whatever else is
    computed beside it. The inputs are checked as :func:`near.score` checks them (numeric, dense,
    finite; a nested list of numbers is one array), the labels where a proxy uses them (integer class
    indices of shape (N,), or float class probabilities (N, C)); an error of the model while a proxy
    runs is a :class:`ModelError` naming the proxy. ``on_error="raise"`` raises the first error (bad
    inputs before any proxy runs); ``on_error="nan"`` gives each proxy that cannot be computed (it
    does not apply, the data it reads are refused, the model fails on them) a NaN whose ``.reason``
    is the error message, and computes every other one. Option errors always raise, and so does running
    out of memory (which another try may not).
    ``.seconds`` of each value is the time it took (shared work counts for the first proxy using it).
    ``factory`` (a zero-argument callable building a fresh network like ``model``) is what NEAR's repetitions
    draw their weights from when it re-initialises: give it for a network with an initialisation of its own
    (uniform, Xavier, …), which NEAR's default re-draw, PyTorch's ``reset_parameters``, would replace.
    """
    names = list(names)
    options = dict(options or {})
    if on_error not in ("raise", "nan"):
        raise ProxyError(f"on_error must be 'raise' or 'nan'; got {on_error!r}")
    for name in names:
        accepted = info(name).options
        unknown = set(options.get(name, {})) - set(accepted)
        if unknown:
            raise ProxyError(
                f"proxy {name!r} has no option {', '.join(sorted(map(repr, unknown)))}; "
                f"it accepts {', '.join(accepted) or 'none'}"
            )
        defaults = inspect.signature(info(name).function).parameters
        for key, value in options.get(name, {}).items():
            if isinstance(defaults[key].default, bool) and not isinstance(value, bool):
                raise OptionError(f"{name}: {key} must be True or False; got {value!r}")
    if unknown_names := set(options) - set(names):
        raise ProxyError(f"options given for proxies not computed: {', '.join(sorted(unknown_names))}")
    seed = check_seed(seed)
    context = ProxyContext(model, inputs, targets, device=device, seed=seed, factory=factory)
    if on_error == "raise":  # fail before any work, as near.score does
        if context.input_error is not None:
            raise context.input_error
        if context.labelled and any(REGISTRY[name].needs_labels for name in names):
            context.batches  # noqa: B018  (checks the labels)
    results = {}
    for name in names:
        start = time.perf_counter()
        try:
            value = _run(name, context, options.get(name, {}))
        except (OptionError, ProxyError):
            raise
        except NearError as error:
            if on_error == "raise":
                raise
            why = "does not apply" if isinstance(error, ProxyNotApplicableError) else "could not be computed"
            value = ProxyScore(math.nan, f"{name} {why}: {error}")
        if not isinstance(value, ProxyScore):
            value = ProxyScore(float(value), f"{name} gave {float(value)} on this network")
        value.seconds = time.perf_counter() - start
        results[name] = value
    return results


_OUT_OF_MEMORY: tuple[type[BaseException], ...] = (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))


def _run(name: str, context: ProxyContext, options: dict) -> float:
    """One proxy's value; an error that is not ``near``'s own (the model's, torch's) becomes a named one."""
    try:
        with torch.inference_mode(False), isolated_rng(context.seed):  # gradient proxies work under a caller's no-grad
            return REGISTRY[name].function(context, **options)
    except ModelError as error:
        if str(error).startswith(f"{name}:"):
            raise
        raise ModelError(f"{name}: {error}") from error
    except (NearError, *_OUT_OF_MEMORY):  # memory may be there on another try: a failure, not the model's answer
        raise
    except Exception as error:
        if _batchnorm_single_value(error):
            raise ProxyNotApplicableError(
                f"{name}: the copy runs in train mode (BatchNorm with batch statistics, as the "
                "references) and a BatchNorm layer sees a single value per channel on these inputs "
                "(one sample, or a 1x1 feature map); give more samples (and a larger batch_size= where the "
                "proxy has one) or larger inputs"
            ) from error
        raise ModelError(
            f"{name}: running the model failed with {type(error).__name__}: {error}. Check that the inputs fit "
            "the model (sample shape, channels, dtype, device) and that the model runs on them"
        ) from error


def _batchnorm_single_value(error: BaseException | None) -> bool:
    """Whether ``error`` (or an error it was raised from) is torch's refusal of a train-mode BatchNorm that
    sees one value per channel: an input the proxy cannot apply to, not a bug to pass on bare."""
    while error is not None:
        if (
            isinstance(error, ValueError)
            and not isinstance(error, ProxyNotApplicableError)
            and ("more than 1 value per channel" in str(error))
        ):
            return True
        error = error.__cause__
    return False
