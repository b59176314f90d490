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

import copy
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .activations import ACTIVATIONS
from .errors import InsufficientSamplesError, NonFiniteActivationError, OptionError
from .inits import INIT_NAMES, InitFn, get_init
from .result import _std
from .score import score
from .spec import call_factory

ActivationSpec = str | type[nn.Module] | nn.Module | Callable[[], nn.Module]
InitSpec = str | InitFn

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


# ---------------------------------------------------------------- names, factories and the MLP itself


def resolve_activation(spec: ActivationSpec) -> tuple[str, Callable[[], nn.Module]]:
    """``(display name, zero-argument module factory)`` for a name, a module class, an instance or a factory."""
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in ACTIVATIONS:
            raise OptionError(
                f"unknown activation {spec!r}; choose one of {', '.join(ACTIVATIONS)}, "
                "or pass an nn.Module class or a function that returns a module"
            )
        return key, ACTIVATIONS[key]
    if isinstance(spec, nn.Module):
        return type(spec).__name__, functools.partial(copy.deepcopy, spec)
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        return spec.__name__, spec
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    raise OptionError(f"activation must be a name, an nn.Module class, a module or a factory, got {spec!r}")


def resolve_init(spec: InitSpec | None) -> tuple[str, InitFn]:
    """``(display name, init function)``; ``None`` is PyTorch's default (``"default"``)."""
    if spec is None:
        return "default", get_init(None)
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in INIT_NAMES:
            raise OptionError(f"unknown init {spec!r}; choose one of {', '.join(INIT_NAMES)}, or pass a function")
        return key, get_init(key)
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    raise OptionError(f"init must be a name or a function of the module, got {spec!r}")


def build_mlp(
    input_size: int, hidden: Sequence[int], outputs: int, activation: Callable[[], nn.Module], bias: bool = True
) -> nn.Sequential:
    """``Flatten``, then ``Linear`` + activation per hidden width, then the output ``Linear``.

    Layer names follow ``nn.Sequential``: hidden layer ``k`` (1-based) is ``str(2k-1)``, its activation ``str(2k)``.

    >>> build_mlp(4, [3], 2, nn.ReLU)
    Sequential(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=4, out_features=3, bias=True)
      (2): ReLU()
      (3): Linear(in_features=3, out_features=2, bias=True)
    )
    """
    layers: list[nn.Module] = [nn.Flatten()]
    width = input_size
    for next_width in hidden:
        layers += [nn.Linear(width, next_width, bias=bias), make_activation(activation)]
        width = next_width
    layers.append(nn.Linear(width, outputs, bias=bias))
    return nn.Sequential(*layers)


def make_activation(factory: Callable[[], nn.Module]) -> nn.Module:
    """Call a user's activation factory, with a clear error when it does not give a module."""
    return call_factory(factory, "activation")


def positive_widths(values, what: str) -> tuple[int, ...]:
    """A tuple of positive integers, or an :class:`OptionError` naming ``what``."""
    values = (values,) if isinstance(values, (int, np.integer)) else tuple(values)
    if not values or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values):
        raise OptionError(f"{what} must be one or more positive integers, got {values!r}")
    return tuple(int(v) for v in values)


def as_samples(inputs, what: str = "inputs") -> torch.Tensor:
    """Inputs as a float32 tensor of shape ``(samples, …)``, checked once at the boundary."""
    from .inputs import _as_tensor  # the core's own check: numeric, real, finite

    tensor = _as_tensor(inputs, f"the {what}")
    if tensor.dim() < 2 or len(tensor) == 0:
        raise OptionError(
            f"the {what} must have shape (samples, features…), got {tuple(tensor.shape)}; "
            "for one feature per sample, pass x[:, None]"
        )
    return tensor.float()


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
            out["spearman"] = {k: _json_number(v) for k, v in self.spearman.items()}
        return out

    def table(self) -> str:
        """The ranked grid as aligned text; ``!`` marks clearly bad cells."""
        a = max([len("activation")] + [len(r.activation) for r in self.rows])
        i = max([len("init")] + [len(r.init) for r in self.rows])
        trained = bool(self.seeds)
        head = f"rank  {'activation':<{a}}  {'init':<{i}}  {'NEAR mean':>10}  {'std':>7}"
        head += "  test loss (± std)   test acc (± std)" if trained else ""
        lines = [head + "  flag"]
        for r in self.rows:
            line = f"{r.rank:>4}  {r.activation:<{a}}  {r.init:<{i}}  {r.mean:>10.2f}  {r.std:>7.2f}"
            if trained:
                line += (
                    f"  {np.mean(r.test_loss):>7.4f} ± {_std(r.test_loss):<7.4f}"
                    f"  {np.mean(r.test_accuracy):>6.4f} ± {_std(r.test_accuracy):<6.4f}"
                )
            flag = ("!  clearly bad" if r.bad else "") + (f" ({r.note})" if r.note else "")
            lines.append((line + "  " + flag).rstrip())
        lines.append(
            f"MLP {self.input_size}-{'-'.join(map(str, self.hidden))}-{self.outputs}, {self.repetitions} "
            f"repetitions per cell, seed {self.seed}; clearly bad (!): NEAR below {self.bad_below:g} x the "
            f"best mean and more than {BAD_SIGMAS:g} combined std below it"
        )
        if trained:
            rho = ", ".join(f"{k} {v:+.3f}" for k, v in self.spearman.items())
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
        Names from ``near.activations.ACTIVATIONS`` (relu, silu, gelu, tanh, tanhshrink, elu, sigmoid,
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
        Also train every cell (Adam, early stopping; see :func:`near.training.train_classifier`) with
        each of ``training_seeds`` and report test loss/accuracy and their Spearman ρ with NEAR.
    training
        Extra keyword arguments for :func:`near.training.train_classifier` (``max_epochs``, ``lr`` …).
    progress
        Show progress bars.

    Examples
    --------
    >>> import torch, near
    >>> grid = near.select(torch.randn(64, 8), (16,), activations=["relu", "tanh"], inits=["default", "uniform"],
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
    y = None if labels is None else _labels(labels, len(x))
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
    return SelectionResult(tuple(rows), hidden, input_size, outputs, repetitions, seed, bad_below, seeds, rho)


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


def _labels(labels, n: int) -> torch.Tensor:
    """Class indices (int64, flattened), or float32 regression targets ``(n,)`` / ``(n, k)`` when ``labels``
    are floating-point numbers that are not all whole (energies, properties …)."""
    array = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
    if array.ndim == 0 or len(array) != n:
        count = 0 if array.ndim == 0 else len(array)
        raise OptionError(f"labels has {count} entries for {n} samples; give one label (or target) per sample")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise OptionError("labels contain NaN or infinite values; give finite class indices or regression targets")
        if not np.all(array == np.round(array)):
            if array.ndim > 2:
                raise OptionError(f"regression targets must have shape (samples,) or (samples, k), got {array.shape}")
            return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    y = torch.as_tensor(array).long().flatten()
    if len(y) != n:
        raise OptionError(f"labels has {len(y)} entries for {n} samples; give one class label per sample")
    if len(y) and int(y.min()) < 0:
        raise OptionError("labels must be class indices 0 … K-1, got a negative label")
    return y


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
        "test_accuracy_std": _json_number(_std(accuracy)),
        "test_losses": [_json_number(float(v)) for v in loss],
        "test_accuracies": [_json_number(float(v)) for v in accuracy],
    }
