"""Training candidate MLPs to check what NEAR predicted (``--verify``).

The protocol, the same for every candidate so that only the candidate differs:

* **test split**: a fixed random ``test_fraction`` (default 20 %) of the samples, drawn from
  ``split_seed`` — the same samples for every candidate and every training seed;
* **validation split**: ``val_fraction`` (default 10 %) of the remaining training part, also fixed by
  ``split_seed``, used only for early stopping;
* **training**: Adam (``lr`` 1e-3), mini-batches of ``batch_size`` (128), cross-entropy for class labels or
  mean squared error for real-valued regression targets (accuracy is then NaN); after every
  epoch the validation loss is checked, training stops after ``patience`` (10) epochs without
  improvement or at ``max_epochs`` (100), and the weights of the best epoch are restored;
* **seeds**: each training seed draws the initial weights (with the candidate's init scheme) and the
  mini-batch order; the result is reported per seed, and as mean ± std over seeds.

Deterministic given the seeds (on one machine and thread count). The global RNGs are left untouched.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError, OptionError
from ..inits import InitFn, get_init
from ..result import _std
from ..rng import isolated_rng
from ..spec import call_factory


@dataclass(frozen=True)
class TrainingResult:
    """Per training seed: test cross-entropy, test accuracy and the epoch whose weights were kept."""

    seeds: tuple[int, ...]
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    best_epoch: np.ndarray
    parameters: int

    @property
    def loss(self) -> tuple[float, float]:
        """Mean and std of the test loss over seeds."""
        return float(np.mean(self.test_loss)), _std(self.test_loss)

    @property
    def accuracy(self) -> tuple[float, float]:
        """Mean and std of the test accuracy over seeds."""
        return float(np.mean(self.test_accuracy)), _std(self.test_accuracy)


def split_indices(
    n: int, test_fraction: float = 0.2, val_fraction: float = 0.1, split_seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train, validation, test)`` indices: a fixed random split of ``n`` samples (see the module docstring).

    >>> [len(part) for part in split_indices(100)]
    [72, 8, 20]
    """
    for name, value in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not isinstance(value, (int, float)) or not 0 < value < 1:
            raise OptionError(f"{name} must be a fraction between 0 and 1, got {value!r}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round((n - n_test) * val_fraction))
    if n - n_test - n_val < 1:
        raise OptionError(f"{n} samples are too few to split into training, validation and test parts")
    return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]


def train_classifier(
    factory: Callable[[], nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    init: str | InitFn | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    split_seed: int = 0,
    max_epochs: int = 100,
    patience: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    on_run: Callable[[], object] | None = None,
) -> TrainingResult:
    """Train a fresh model per seed (Adam, early stopping on a validation split) and test it.

    Parameters
    ----------
    factory
        Builds the untrained model (called once per seed, inside the seed's RNG scope).
    x, y
        Samples and integer class labels, or floating-point regression targets ``(N,)`` / ``(N, k)``
        (mean squared error; the model's output must have ``k`` values, 1 for ``(N,)``).
    init
        Initialisation applied to each freshly built model (a name or a function); ``None``: the
        factory's own.
    seeds
        One training run per seed.
    on_run
        Called after each run (e.g. a progress bar's ``update``).

    Returns
    -------
    TrainingResult
        Test loss and accuracy per seed; a run whose loss became NaN/inf reports NaN loss and the
        accuracy of its best finite epoch.
    """
    x = torch.as_tensor(x).float()
    y = torch.as_tensor(y)
    regression = y.is_floating_point()
    y = y.float().reshape(len(y), -1) if regression else y.long()
    if len(x) != len(y):
        raise OptionError(f"{len(x)} samples but {len(y)} labels; give one class label (or target) per sample")
    for name, value in (("max_epochs", max_epochs), ("patience", patience), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise OptionError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(lr, (int, float)) or not lr > 0:
        raise OptionError(f"lr must be a positive number, got {lr!r}")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise OptionError("seeds must hold at least one training seed")
    init_fn = None if init is None else get_init(init)
    train, val, test = split_indices(len(x), test_fraction, val_fraction, split_seed)
    losses, accuracies, epochs, parameters = [], [], [], 0
    for seed in seeds:
        with isolated_rng(seed):
            model = _build(factory, init_fn)
        parameters = sum(p.numel() for p in model.parameters())
        try:
            with isolated_rng(seed):  # dropout, RReLU …: their draws come from the seed, not the caller's RNG
                loss, accuracy, epoch = _fit(model, x, y, train, val, test, seed, max_epochs, patience, batch_size, lr)
        except (RuntimeError, IndexError, ValueError) as error:
            wanted = (
                f"{y.shape[1]} output(s), one per regression target"
                if regression
                else f"one output per class (labels go up to {int(y.max())})"
            )
            raise ModelError(
                f"training failed ({type(error).__name__}: {error}); check that the model takes these samples "
                f"and has {wanted}"
            ) from None
        losses.append(loss)
        accuracies.append(accuracy)
        epochs.append(epoch)
        if on_run is not None:
            on_run()
    return TrainingResult(seeds, np.array(losses), np.array(accuracies), np.array(epochs), parameters)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's ρ of two sequences (NaN pairs dropped; NaN when fewer than 3 pairs remain or one is constant).

    >>> spearman([1, 2, 3, 4], [10, 20, 40, 30])
    0.8
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return math.nan
    return round(float(spearmanr(a[keep], b[keep]).statistic), 12)


def _build(factory: Callable[[], nn.Module], init_fn: InitFn | None) -> nn.Module:
    model = call_factory(factory)
    if init_fn is not None:
        init_fn(model)
    return model


def _fit(model, x, y, train, val, test, seed, max_epochs, patience, batch_size, lr) -> tuple[float, float, int]:
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state, best_epoch, waited = math.inf, copy.deepcopy(model.state_dict()), 0, 0
    x_train, y_train = x[train], y[train]
    with torch.enable_grad():
        for epoch in range(1, max_epochs + 1):
            model.train()
            for batch in torch.randperm(len(train), generator=generator).split(batch_size):
                optimiser.zero_grad(set_to_none=True)
                loss = _loss(model(x_train[batch]), y_train[batch])
                if not torch.isfinite(loss):
                    break
                loss.backward()
                optimiser.step()
            val_loss, _ = _evaluate(model, x[val], y[val])
            if val_loss < best:
                best, best_state, best_epoch, waited = val_loss, copy.deepcopy(model.state_dict()), epoch, 0
            else:
                waited += 1
                if waited >= patience or not math.isfinite(val_loss):
                    break
    model.load_state_dict(best_state)
    loss, accuracy = _evaluate(model, x[test], y[test])
    return loss, accuracy, best_epoch


def _loss(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class indices; mean squared error for regression targets (shapes must match)."""
    if not y.is_floating_point():
        return F.cross_entropy(output, y)
    if output.shape != y.shape:
        raise ValueError(
            f"the model gives outputs of shape {tuple(output.shape)} for targets of shape {tuple(y.shape)}"
        )
    return F.mse_loss(output, y)


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = float(_loss(logits, y))
        accuracy = math.nan if y.is_floating_point() else float((logits.argmax(dim=1) == y).float().mean())
    return (loss if math.isfinite(loss) else math.nan), accuracy
