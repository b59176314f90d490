"""An independent re-statement of the authors' NEAR algorithm (``near_score`` 1.0.0, as specified
in shared/docs/proxies.md §1.15), used only as the hand computation the package is checked against.

It feeds one sample per forward pass, concatenates each hooked layer's rows until it has at least
as many rows as columns, then takes the authors' block; effective ranks in float32 like theirs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

_ACTIVATIONS = tuple(getattr(nn, name) for name in nn.modules.activation.__all__)


def _erank_float32(matrix: torch.Tensor) -> float:
    s = torch.linalg.svdvals(matrix.float()).numpy()
    if s.sum() == 0:  # scipy's entropy of an all-zero p is NaN, which their nan_to_num makes 0
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(np.nan_to_num(np.exp(-(p * np.log(p)).sum())))


def reference_near(model: nn.Module, samples, rng) -> float:
    """NEAR of ``model`` fed one batch at a time: the rows of a tensor in order, or a loader's ``(x, y)`` batches.

    ``rng.integers(low, high)`` draws the block starts (a NumPy ``Generator``, or an adapter of the
    legacy ``np.random.randint`` the authors use).
    """
    if isinstance(samples, torch.Tensor):
        batches = (sample.unsqueeze(0) for sample in samples)
    else:
        batches = (batch[0] if isinstance(batch, (tuple, list)) else batch for batch in samples)
    layers = [m for m in model.modules() if hasattr(m, "weight") or isinstance(m, _ACTIVATIONS)]
    rows: list[torch.Tensor | None] = [None] * len(layers)
    done: set[int] = set()
    called: set[int] = set()
    handles = []

    def make_hook(i):
        def hook(module, args, output):
            if i in done:
                return
            called.add(i)
            if isinstance(output, tuple):
                output = output[0]
            width = output.shape[-1]
            if output.dim() > 2:
                output = output.transpose(1, 3).flatten(0, 2)
            rows[i] = output.detach().clone() if rows[i] is None else torch.cat([rows[i], output.detach()])
            if rows[i].shape[0] >= rows[i].shape[1]:
                bound = rows[i].shape[0] // width - 1
                start = int(rng.integers(0, bound)) * width if bound > 0 else 0
                rows[i] = rows[i][start : start + rows[i].shape[1]]
                done.add(i)

        return hook

    try:
        for i, layer in enumerate(layers):
            handles.append(layer.register_forward_hook(make_hook(i)))
        with torch.no_grad():
            for batch in batches:
                model(batch)
                if done == called:
                    break
    finally:
        for handle in handles:
            handle.remove()
    return sum(_erank_float32(m) for m in rows if m is not None and len(m))
