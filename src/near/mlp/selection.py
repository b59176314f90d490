"""Choosing an MLP's activation function and weight initialisation with NEAR (paper §4.3, Tables 7, 8).

Every (activation, initialisation) pair is scored with :func:`near.score` on the same MLP shape, with
the **same seed for every cell**, so all cells see the same sample draws and differ only in what is
compared. Cells are ranked by mean NEAR (rank 1 = highest). The paper's robust finding is that NEAR
singles out the clearly bad choices, not the fine order among close ones, so the table flags a cell
as *clearly bad* when both hold:

* its mean is below ``bad_below`` (default 0.75) times the best cell's mean, and
* the gap to the best is larger than 3 combined standard deviations, ``3·sqrt(std_best² + std²)``
  (so a gap that repetition noise could explain is never flagged).

On the paper's Table 8 this flags exactly the uniform initialisations and Tanhshrink with Kaiming
(278 vs 421 → 0.66), and none of the cells whose trained losses lie within 0.03 of the best.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import InsufficientSamplesError, NonFiniteActivationError, OptionError
from ..result import _std
from ..score import score
from .build import (
    ActivationSpec,
    InitSpec,
    as_labels,
    as_samples,
    build_mlp,
    positive_widths,
    resolve_activation,
    resolve_init,
)

DEFAULT_ACTIVATIONS = ("relu", "silu", "gelu", "tanh", "tanhshrink", "elu", "sigmoid", "stanh")
DEFAULT_INITS = (
    "kaiming_uniform",
    "kaiming_normal",
    "xavier_uniform",
    "xavier_normal",
    "uniform",
    "normal",
    "orthogonal",
)
BAD_BELOW = 0.75
BAD_SIGMAS = 3.0


# ---------------------------------------------------------------- the grid


@dataclass(frozen=True)
class SelectionRow:
    """One (activation, initialisation) cell: NEAR per repetition, its rank and whether it is clearly bad.

    ``note`` says why a cell has no score (e.g. NaN activations). The training fields are filled by
    ``verify`` (mean and std over training seeds), else ``None``.
    """

    activation: str
    init: str
    scores: np.ndarray
    rank: int = 0
    bad: bool = False
    note: str = ""
    test_loss: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores)) if len(self.scores) else math.nan

    @property
    def std(self) -> float:
        return _std(self.scores)

    def to_dict(self) -> dict:
        row = {
            "activation": self.activation,
            "init": self.init,
            "mean": _json_number(self.mean),
            "std": _json_number(self.std),
            "rank": self.rank,
            "bad": self.bad,
            "scores": [float(s) for s in self.scores],
        }
        if self.note:
            row["note"] = self.note
        if self.test_loss is not None:
            row.update(_training_summary(self.test_loss, self.test_accuracy))
        return row


@dataclass(frozen=True)
class SelectionResult:
    """The ranked grid (``rows``, best first) and how it was computed (reproduce with ``seed``)."""

    rows: tuple[SelectionRow, ...]
    hidden: tuple[int, ...]
    input_size: int
    outputs: int
    repetitions: int
    seed: int
    bad_below: float
    seeds: tuple[int, ...] = ()
    spearman: dict[str, float] = field(default_factory=dict)
    loss_name: str = "cross-entropy"  # "mean squared error" for regression targets, which have no accuracy

    @property
    def regression(self) -> bool:
        return self.loss_name == "mean squared error"

    @property
    def best(self) -> SelectionRow:
        return self.rows[0]

    @property
    def bad(self) -> tuple[SelectionRow, ...]:
        return tuple(row for row in self.rows if row.bad)

    def to_dict(self) -> dict:
        out = {
            "hidden": list(self.hidden),
            "input_size": self.input_size,
            "outputs": self.outputs,
            "repetitions": self.repetitions,
            "seed": self.seed,
            "bad_rule": f"mean < {self.bad_below} x best mean and gap > {BAD_SIGMAS:g} combined std",
            "results": [row.to_dict() for row in self.rows],
        }
        if self.seeds:
            out["training_seeds"] = list(self.seeds)
            out["loss"] = self.loss_name
            out["spearman"] = {k: _json_number(v) for k, v in self.spearman.items()}
        return out

    def table(self) -> str:
        """The ranked grid as aligned text; ``!`` marks clearly bad cells."""
        a = max([len("activation")] + [len(r.activation) for r in self.rows])
        i = max([len("init")] + [len(r.init) for r in self.rows])
        trained = bool(self.seeds)
        head = f"rank  {'activation':<{a}}  {'init':<{i}}  {'NEAR mean':>10}  {'std':>7}"
        if trained:
            head += "  test MSE (± std)" if self.regression else "  test loss (± std)   test acc (± std)"
        lines = [head + "  flag"]
        for r in self.rows:
            line = f"{r.rank:>4}  {r.activation:<{a}}  {r.init:<{i}}  {r.mean:>10.2f}  {r.std:>7.2f}"
            if trained:
                line += f"  {np.mean(r.test_loss):>7.4f} ± {_std(r.test_loss):<7.4f}"
                if not self.regression:
                    line += f"  {np.mean(r.test_accuracy):>6.4f} ± {_std(r.test_accuracy):<6.4f}"
            flag = ("!  clearly bad" if r.bad else "") + (f" ({r.note})" if r.note else "")
            lines.append((line + "  " + flag).rstrip())
        lines.append(
            f"MLP {self.input_size}-{'-'.join(map(str, self.hidden))}-{self.outputs}, {self.repetitions} "
            f"repetitions per cell, seed {self.seed}; clearly bad (!): NEAR below {self.bad_below:g} x the "
            f"best mean and more than {BAD_SIGMAS:g} combined std below it"
        )
        if trained:
            shown = {k: v for k, v in self.spearman.items() if not (self.regression and k == "test_accuracy")}
            rho = ", ".join(f"{k} {v:+.3f}" for k, v in shown.items())
            lines.append(f"trained with seeds {list(self.seeds)}; Spearman rho of NEAR vs {rho}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """NEAR before training vs test loss after it (needs ``verify=True``), clearly bad cells in red."""
        from .plots import plot_files, plot_near_vs_loss

        if not self.seeds:
            raise OptionError("the plot shows NEAR against the trained test loss; run select(..., verify=True)")
        write = functools.partial(
            plot_near_vs_loss,
            [r.mean for r in self.rows],
            [float(np.mean(r.test_loss)) for r in self.rows],
            [f"{r.activation}/{r.init}" for r in self.rows],
            [r.bad for r in self.rows],
            loss_name=self.loss_name,
        )
        path = Path(path)
        return plot_files(path.parent, [(path.name, write)])[0]


def select(
    inputs,
    hidden: Sequence[int] = (200, 200),
    *,
    activations: Sequence[ActivationSpec] = DEFAULT_ACTIVATIONS,
    inits: Sequence[InitSpec] = DEFAULT_INITS,
    outputs: int | None = None,
    labels=None,
    repetitions: int = 8,
    seed: int | None = 0,
    bad_below: float = BAD_BELOW,
    verify: bool = False,
    training_seeds: Sequence[int] = (0, 1, 2),
    training: dict | None = None,
    progress: bool = False,
) -> SelectionResult:
    """Score every activation × initialisation pair of an MLP with NEAR and rank them.

    Parameters
    ----------
    inputs
        Sample inputs, shape ``(samples, …)``; each sample is flattened into the MLP's input.
    hidden
        Hidden layer widths; every scored layer of width ``n`` needs ``n`` samples.
    activations
        Names from ``near.mlp.activations.ACTIVATIONS`` (relu, silu, gelu, tanh, tanhshrink, elu, sigmoid,
        stanh), ``nn.Module`` classes, modules (copied) or zero-argument factories.
    inits
        Names from ``near.inits.INIT_NAMES`` (``uniform`` is U(0, 1), ``kaiming_uniform`` PyTorch's
        Linear default) or functions applied to the freshly built model.
    outputs
        Width of the output layer; default: the number of classes in ``labels``, else 10.
    labels
        Class labels (only needed for ``outputs`` and ``verify``).
    repetitions
        NEAR repetitions per cell (fresh weights with the cell's scheme + fresh samples each).
    seed
        One seed for every cell, so cells are compared on the same sample draws.
    bad_below
        Fraction of the best mean below which a cell can be flagged clearly bad (see the module docstring).
    verify
        Also train every cell (Adam, early stopping; see :func:`near.mlp.training.train_classifier`) with
        each of ``training_seeds`` and report test loss/accuracy and their Spearman ρ with NEAR.
    training
        Extra keyword arguments for :func:`near.mlp.training.train_classifier` (``max_epochs``, ``lr`` …).
    progress
        Show progress bars.

    Examples
    --------
    >>> import torch, near
    >>> x = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    >>> grid = near.select(x, (16,), activations=["relu", "tanh"], inits=["default", "uniform"],
    ...                    outputs=2, repetitions=2)
    >>> [(r.init, r.bad) for r in grid.rows][-1]
    ('uniform', True)
    """
    x = as_samples(inputs)
    hidden = positive_widths(hidden, "hidden")
    if not isinstance(bad_below, (int, float)) or not 0 < bad_below < 1:
        raise OptionError(f"bad_below must be a fraction between 0 and 1 (e.g. 0.75), got {bad_below!r}")
    activations = [resolve_activation(a) for a in _as_list(activations, "activations")]
    inits = [resolve_init(i) for i in _as_list(inits, "inits")]
    y = None if labels is None else as_labels(labels, len(x))
    outputs = _outputs(outputs, y)
    if max(*hidden, outputs) > len(x):
        widest = max(*hidden, outputs)
        what = "hidden width" if max(hidden) >= outputs else "output width"
        raise InsufficientSamplesError(
            f"the {what} {widest} needs at least {widest} samples (NEAR's effective rank of a layer of width s "
            f"needs s samples) but only {len(x)} were given. Pass at least {widest} samples, or use widths of at "
            f"most {len(x)}"
        )
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    input_size = int(np.prod(x.shape[1:]))

    rows = []
    cells = [(a, i) for a in activations for i in inits]
    for (a_name, a_factory), (i_name, i_fn) in tqdm(cells, desc="NEAR grid", unit="cell", disable=not progress):
        factory = functools.partial(build_mlp, input_size, hidden, outputs, a_factory)
        try:
            result = score(factory, x, repetitions=repetitions, seed=seed, init=i_fn)
            rows.append(SelectionRow(a_name, i_name, result.scores))
        except NonFiniteActivationError:
            rows.append(SelectionRow(a_name, i_name, np.array([]), note="NaN/inf activations"))
    rows = _rank(rows, bad_below)

    seeds, rho = (), {}
    if verify:
        from .training import spearman, train_classifier

        if y is None:
            raise OptionError(
                "verify=True trains the networks and needs labels=; pass class labels or regression targets"
            )
        seeds = tuple(int(s) for s in training_seeds)
        trained = []
        bar = tqdm(total=len(rows) * len(seeds), desc="training", unit="run", disable=not progress)
        with bar:
            for row in rows:
                a_factory = dict(activations)[row.activation]
                i_fn = dict(inits)[row.init]
                factory = functools.partial(build_mlp, input_size, hidden, outputs, a_factory)
                run = train_classifier(factory, x, y, init=i_fn, seeds=seeds, on_run=bar.update, **(training or {}))
                trained.append(replace(row, test_loss=run.test_loss, test_accuracy=run.test_accuracy))
        rows = tuple(trained)
        means = [r.mean for r in rows]
        rho = {
            "test_loss": spearman(means, [float(np.mean(r.test_loss)) for r in rows]),
            "test_accuracy": spearman(means, [float(np.mean(r.test_accuracy)) for r in rows]),
        }
    loss_name = "mean squared error" if y is not None and y.is_floating_point() else "cross-entropy"
    return SelectionResult(
        tuple(rows), hidden, input_size, outputs, repetitions, seed, bad_below, seeds, rho, loss_name
    )


def _rank(rows: list[SelectionRow], bad_below: float) -> tuple[SelectionRow, ...]:
    """Best first (cells without a score last), with the clearly-bad rule of the module docstring."""
    order = sorted(rows, key=lambda r: -r.mean if not math.isnan(r.mean) else math.inf)
    scored = [r for r in order if not math.isnan(r.mean)]
    best = scored[0] if scored else None
    ranked = []
    for rank, row in enumerate(order, start=1):
        if best is None or math.isnan(row.mean):
            bad = True
        else:
            gap = best.mean - row.mean
            bad = row.mean < bad_below * best.mean and gap > BAD_SIGMAS * math.hypot(best.std, row.std)
        ranked.append(replace(row, rank=rank, bad=bad))
    return tuple(ranked)


def _as_list(values, what: str) -> list:
    values = [values] if isinstance(values, str) or not isinstance(values, Sequence) else list(values)
    if not values:
        raise OptionError(f"{what} must name at least one choice")
    names = [v.strip().lower() for v in values if isinstance(v, str)]
    if len(set(names)) != len(names):
        raise OptionError(f"{what} lists a name twice: {values!r}")
    return values


def _outputs(outputs, y) -> int:
    regression = y is not None and y.is_floating_point()
    targets = (1 if y.ndim == 1 else int(y.shape[1])) if regression else None
    if outputs is None:
        if regression:
            return targets
        return max(int(y.max()) + 1, len(torch.unique(y))) if y is not None else 10
    if not isinstance(outputs, (int, np.integer)) or isinstance(outputs, bool) or outputs < 1:
        raise OptionError(f"outputs must be a positive integer, got {outputs!r}")
    if regression and outputs != targets:
        raise OptionError(
            f"outputs={outputs} but the labels are {targets} regression target(s) per sample; "
            f"pass outputs={targets} or leave it out"
        )
    if y is not None and not regression and int(y.max()) >= outputs:
        raise OptionError(f"outputs={outputs} but the labels go up to {int(y.max())}; pass outputs > the largest label")
    return int(outputs)


def _json_number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _training_summary(loss: np.ndarray, accuracy: np.ndarray) -> dict:
    return {
        "test_loss": _json_number(float(np.mean(loss))),
        "test_loss_std": _json_number(_std(loss)),
        "test_accuracy": _json_number(float(np.mean(accuracy))),
        "test_accuracy_std": _json_number(_std(accuracy)) if np.all(np.isfinite(accuracy)) else None,
        "test_losses": [_json_number(float(v)) for v in loss],
        "test_accuracies": [_json_number(float(v)) for v in accuracy],
    }
