"""Proxies from the input Jacobian: jacob_cov and epe_nas.

Both read J, the gradient of the sum of the logits with respect to the input, one row per sample
(``y.backward(ones_like(y))`` in the references), computed on a private train-mode copy. In one
:func:`near.proxies.compute_many` call with the same ``batch_size`` the two share that single
forward/backward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ._common import first_samples, model_input
from ._registry import ProxyContext, ProxyScore, logits_of, proxy

#: The constant both references add before the logarithms.
K = 1e-5

#: Samsung's NB201 setting (``nasbench2_pred.py``): one batch of 64 real training images.
JACOBIAN_BATCH = 64


@dataclass(frozen=True)
class InputJacobian:
    """The shared result: ``rows[i]`` = ∂(Σ logits)/∂x_i flattened (float64, read-only), and the logit count."""

    rows: np.ndarray
    classes: int


@torch.enable_grad()  # a caller's torch.no_grad() must not turn the gradient off
def _compute_jacobian(model: torch.nn.Module, x: torch.Tensor) -> InputJacobian:
    x = model_input(model, x).requires_grad_(True)
    logits = logits_of(model(x.clone()))  # a non-leaf: an in-place op at the model's input must not fail
    grad = None
    if logits.requires_grad:
        (grad,) = torch.autograd.grad(logits.sum(), x, allow_unused=True)
    if grad is None:  # the output does not depend on the input at all
        grad = torch.zeros_like(x)
    rows = grad.detach().reshape(len(x), -1).double().cpu().numpy()
    rows.flags.writeable = False  # shared between proxies: nobody may change it
    return InputJacobian(rows, logits.shape[-1] if logits.ndim > 1 else 1)


def input_jacobian(ctx: ProxyContext, name: str, batch_size: int | None) -> InputJacobian:
    """J on the first ``batch_size`` samples, computed once per context and batch size (needs ≥ 2 samples)."""
    x = first_samples(ctx, name, batch_size, minimum=2)
    return ctx.shared(("jacobian.input", len(x)), lambda: _compute_jacobian(ctx.copy(train=True), x))


def _degenerate(name: str, rows: np.ndarray) -> ProxyScore | None:
    """NaN with the reason when a correlation of J's rows is undefined (NaN/inf, or a constant row)."""
    if not np.isfinite(rows).all():
        return ProxyScore(math.nan, f"{name}: the input gradient holds NaN/inf (the network overflows)")
    constant = int((rows.max(axis=1) == rows.min(axis=1)).sum())
    if constant:
        return ProxyScore(
            math.nan,
            f"{name}: the input gradient of {constant} of the {len(rows)} samples is constant (zero when the "
            "output does not depend on the input: a dead network), so its correlation is undefined",
        )
    return None


@proxy(
    "jacob_cov",
    needs_labels=False,
    activations="any",
    sign="same as the paper",
    reference="Mellor et al. 2021 (NASWOT v1); SamsungLabs/zero-cost-nas jacob_cov, NASLib jacov",
)
def jacob_cov(ctx: ProxyContext, *, batch_size: int | None = JACOBIAN_BATCH) -> float:
    """−Σ_i [log(v_i + k) + 1/(v_i + k)], v the eigenvalues of the samples' input-gradient correlation.

    J_i = ∂(Σ logits)/∂x_i on one train-mode forward/backward of the first ``batch_size`` samples
    (64, Samsung's NB201 setting; ``None`` = all given; at least 2), C = corrcoef(J) over samples,
    k = 1e-5, as Samsung and NASLib. In train mode BatchNorm couples the samples, so J_i also holds
    the other samples' logits' dependence on x_i, as in the references. Labels are not used.

    The eigenvalues come from ``eigvalsh`` (C is symmetric), not the references' general ``eig``:
    for a symmetric matrix both give the same spectrum up to rounding, but ``eig`` can return
    spurious complex pairs or slightly negative values for near-degenerate eigenvalues; ``eigvalsh``
    is real and stable. A constant row of J (a dead network: the output ignores the input) makes C
    undefined; the references' exception becomes NaN there, here NaN with that reason. Same sign as
    the paper (higher = less correlated gradients = predicted better).
    """
    jacobian = input_jacobian(ctx, "jacob_cov", batch_size)
    if (bad := _degenerate("jacob_cov", jacobian.rows)) is not None:
        return bad
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jacobian.rows)
        v = np.linalg.eigvalsh(corr)
        value = float(-np.sum(np.log(v + K) + 1.0 / (v + K)))
    if not math.isfinite(value):
        return ProxyScore(math.nan, f"jacob_cov: the score is {value} (smallest eigenvalue {v.min():.3g} ≤ −k)")
    return value


def _class_indices(labels: torch.Tensor, n: int) -> np.ndarray:
    """Class indices: integer labels as given, or the argmax of one-hot/probability rows."""
    if labels.ndim == 2 and labels.is_floating_point():
        labels = labels.argmax(dim=1)
    if labels.ndim != 1:
        raise InputError(f"epe_nas groups samples by class: give one class label per sample; got shape "
                         f"{tuple(labels.shape)}")
    return labels[:n].cpu().numpy()


@proxy(
    "epe_nas",
    needs_labels=True,
    activations="any",
    sign="same as the paper",
    reference="Lopes et al. 2021 (EPE-NAS); NASLib epe_nas",
)
def epe_nas(ctx: ProxyContext, *, batch_size: int | None = JACOBIAN_BATCH) -> float:
    """Σ_c |Σ log(|corrcoef(J_c)| + k)|: per-class correlation of the input gradients (NASLib's EPE-NAS).

    J is jacob_cov's (shared when both are computed with the same ``batch_size``); J_c its rows
    whose label is c. The classes are the distinct label values present in the batch (NASLib groups
    by the target values), while the number of logits decides the aggregation, as in NASLib: up to
    100 logits the score is Σ_c |s_c| with s_c = Σ_ij log(|C_c,ij| + k); above 100, s_c is divided
    by the class's sample count and the score is Σ_c Σ_c' |s_c − s_c'| / #classes seen. A class with
    one sample counts s_c = log(1 + k) up to 100 logits and is skipped above (NASLib's
    ``len()`` of a scalar raises there). Labels may be class indices or one-hot/probability rows
    (argmax). Default batch 64 like jacob_cov, so that the two share one pass; NASLib's runs used
    its loader's 32 (``batch_size=32``), which with 10 classes leaves ~3 samples per class. A
    constant gradient row (dead network) gives NaN with the reason, as NASLib's NaN propagates. Same
    sign as the paper (higher = predicted better).
    """
    jacobian = input_jacobian(ctx, "epe_nas", batch_size)
    rows = jacobian.rows
    labels = _class_indices(ctx.labels("epe_nas"), len(rows))
    if (bad := _degenerate("epe_nas", rows)) is not None:
        return bad
    many = jacobian.classes > 100
    per_class = []
    with np.errstate(all="ignore"):
        for c in np.unique(labels):
            members = rows[labels == c]
            if len(members) == 1:
                if many:
                    continue
                per_class.append(math.log(1.0 + K))
                continue
            corr = np.corrcoef(members)
            s = float(np.sum(np.log(np.abs(corr) + K)))
            per_class.append(s / len(corr) if many else s)
    scores = np.array(per_class)
    if many:
        if not len(scores):
            return ProxyScore(math.nan, "epe_nas: with more than 100 logits only classes with 2 or more samples "
                              "count, and no class in the batch has 2; give a larger batch")
        value = float(np.abs(scores[:, None] - scores[None, :]).sum() / len(scores))
    else:
        value = float(np.abs(scores).sum())
    if not math.isfinite(value):
        return ProxyScore(math.nan, f"epe_nas: the score is {value} (the per-class correlations overflow)")
    return value

