"""Effective rank (Roy & Vetterli, 2007): the exponential of the entropy of the normalised
singular values. Numerics only — no ``torch.nn`` here.

An all-zero matrix has no defined effective rank (0/0); it counts as 0, as in the authors'
implementation, and the public functions warn when that happens.
"""

from __future__ import annotations

import functools
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .errors import InputError, ZeroMatrixWarning

__all__ = ["effective_rank", "effective_ranks", "erank_from_singular_values", "gram_effective_ranks", "singular_values"]


def erank_from_singular_values(singular_values: torch.Tensor) -> torch.Tensor:
    """Effective ranks from singular values along the last axis; NaN where all are zero."""
    p = singular_values / singular_values.sum(dim=-1, keepdim=True)
    return torch.exp(torch.special.entr(p).sum(dim=-1))


def singular_values(stack: torch.Tensor) -> torch.Tensor:
    """``torch.linalg.svdvals`` of a stack ``(..., m, n)``, its matrices shared among torch's CPU threads."""
    return _per_matrix(torch.linalg.svdvals, stack)


def gram_effective_ranks(stack: torch.Tensor) -> torch.Tensor:
    """Effective ranks of a float64 stack ``(..., n, n)`` from the eigenvalues of each Gram matrix ``AᵀA``
    (the squared singular values); NaN where a matrix is all zero.

    About 0.7 × the time of an SVD on a CPU (NB201's 16 × 16 to 64 × 64, and 1024 × 1024). Each matrix is
    first divided by its largest entry (the effective rank does not change), so ``AᵀA`` can neither
    overflow nor underflow.
    Squaring costs the smallest singular values accuracy: below about 1e-7 of the largest they come out
    as noise of that size. On the matrices of NB201 networks the effective rank moves by at most 6e-7 of
    itself, less than rounding the matrix to float32 once more moves it (3e-6; ``benchmarks/gram_vs_svd.py``).
    """
    scale = stack.abs().amax(dim=(-2, -1), keepdim=True)
    unit = stack / torch.where(scale > 0, scale, torch.ones_like(scale))
    eigenvalues = _per_matrix(torch.linalg.eigvalsh, unit.mT @ unit)
    return erank_from_singular_values(eigenvalues.clamp_min(0).sqrt())


def _per_matrix(function, stack: torch.Tensor) -> torch.Tensor:
    """``function`` (a LAPACK routine of the matrices of a stack, returning a vector each) with the matrices
    shared among torch's CPU threads.

    LAPACK solves a batch one matrix after the other on one thread, so with several threads the stack is
    split into one chunk per thread (each matrix's values are bit for bit the same).
    """
    threads = torch.get_num_threads()
    count = stack[..., 0, 0].numel()
    if threads < 2 or count < 2 or stack.device.type != "cpu":
        return function(stack)
    chunks = stack.reshape(count, *stack.shape[-2:]).chunk(min(threads, count))
    values = torch.cat(list(_pool(os.getpid(), threads).map(function, chunks)))
    return values.reshape(*stack.shape[:-2], values.shape[-1])


@functools.cache
def _pool(pid: int, threads: int) -> ThreadPoolExecutor:
    """One pool per process (a forked child gets its own: the parent's threads do not exist there)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="near-svd")


def _as_matrix_stack(matrices, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(matrices, np.ndarray):
        if not np.issubdtype(matrices.dtype, np.number) or np.iscomplexobj(matrices):
            raise InputError(f"expected a real numeric matrix, got a NumPy array of dtype {matrices.dtype}")
        matrices = torch.from_numpy(np.ascontiguousarray(matrices))
    if not isinstance(matrices, torch.Tensor):
        raise InputError(f"expected a torch.Tensor or numpy.ndarray, got {type(matrices).__name__}")
    if matrices.is_complex() or matrices.dtype == torch.bool:
        raise InputError(f"expected a real numeric matrix, got dtype {matrices.dtype}")
    if matrices.dim() < 2 or matrices.shape[-1] == 0 or matrices.shape[-2] == 0:
        raise InputError(f"expected non-empty matrices (..., rows, columns), got shape {tuple(matrices.shape)}")
    matrices = matrices.detach().to(dtype)
    if not torch.isfinite(matrices).all():
        raise InputError("the matrix contains NaN or infinite values; its effective rank is undefined")
    return matrices


def effective_ranks(matrices, *, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """Effective ranks of a stack of matrices of shape ``(..., m, n)``, computed in one batched SVD.

    Returns an array of shape ``matrices.shape[:-2]``. All-zero matrices give 0 (with a warning).

    >>> import torch
    >>> effective_ranks(torch.stack([torch.eye(3), torch.ones(3, 3)])).round(6).tolist()
    [3.0, 1.0]
    """
    stack = _as_matrix_stack(matrices, dtype)
    ranks = erank_from_singular_values(singular_values(stack))
    zero = torch.isnan(ranks)
    if zero.any():
        warnings.warn(
            f"{int(zero.sum())} all-zero matrix/matrices: effective rank undefined, counted as 0",
            ZeroMatrixWarning,
            stacklevel=2,
        )
        ranks = torch.where(zero, torch.zeros_like(ranks), ranks)
    return ranks.cpu().numpy()


def effective_rank(matrix, *, dtype: torch.dtype = torch.float64) -> float:
    """Effective rank of one matrix: ``exp(H(p))`` with ``p = σ / Σσ`` and natural-log entropy ``H``.

    Lies between 1 and the matrix rank; invariant to scaling; all-zero matrices give 0 (with a warning).

    >>> import torch
    >>> round(effective_rank(torch.eye(4)), 6)
    4.0
    """
    if isinstance(matrix, (torch.Tensor, np.ndarray)) and matrix.ndim != 2:
        raise InputError(f"expected one 2-D matrix, got shape {tuple(matrix.shape)}; use effective_ranks for a stack")
    return float(effective_ranks(matrix, dtype=dtype))
