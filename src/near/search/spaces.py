"""The spaces :mod:`near.search` searches: the benchmark spaces of :mod:`near.spaces`, an MLP space, and a
user's own space from a ``.py`` file — each following :mod:`near.search.protocol`.

The benchmark adapters keep ``near bench``'s keys (the canonical arch string of NB201, the channel string of
NATS-SSS, the compact JSON of the pruned NB101 cell), so a search's scores and a benchmark table's rows meet on
the same key. Mutations are the ones regularised evolution uses on each benchmark: one edge's operation
(NB201, as in REA and FreeREA), one layer's width (NATS-SSS), and nasbench's edge flips and op changes with
probabilities 1/7 and 1/5 per site (NB101).
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from .. import spaces as benchmark_spaces
from ..errors import ArchitectureError, OptionError
from ..inits import INIT_NAMES, get_init
from ..mlp.activations import ACTIVATIONS
from ..models import mlp
from ..rng import isolated_rng
from ..spaces._ops import OPS
from ..spaces.nats_sss import CANDIDATES, NUM_LAYERS
from ..spaces.nb101 import INPUT, MAX_VERTICES, OUTPUT, Cell
from ..spaces.nb101 import OPS as NB101_OPS
from ..spec import import_file
from .protocol import SearchSpace, check_space

__all__ = [
    "BUILT_IN", "MLPSpace", "NATSSSSSpace", "NB101Space", "NB201Space", "TableSubspace", "load_space", "within_table",
]  # fmt: skip


class _BenchmarkSpace(SearchSpace):
    """What the benchmark adapters share: ``build``, ``key`` and ``encode`` of their :mod:`near.spaces` space
    (``encode``: the features :mod:`near.predict` uses, so a few-shot search and a predictor see the same)."""

    space: benchmark_spaces.Space

    def build(self, arch: Any, num_classes: int = 10) -> nn.Module:
        return self.space.build(arch, num_classes=num_classes)

    def key(self, arch: Any) -> str:
        return self.space.validate(arch)

    def encode(self, arch: Any) -> np.ndarray:
        """``near.spaces.get(name).encode(arch)``: NB201 one-hot op per edge (30), NATS-SSS the five widths,
        NB101 padded adjacency (21) + one-hot interior ops (15)."""
        return self.space.encode(arch)


class NB201Space(_BenchmarkSpace):
    """NAS-Bench-201 cells as arch strings; mutation replaces one edge's operation by another."""

    name = "nb201"
    space = benchmark_spaces.get("nb201")

    @staticmethod
    def ops(arch: str) -> list[str]:
        """The 6 edge operations of an arch string, in arch-string order."""
        return [token.split("~")[0] for node in arch.strip("|").split("|+|") for token in node.split("|")]

    def _format(self, ops: Sequence[str]) -> str:
        return self.space.validate(list(ops))

    def sample(self, rng: random.Random) -> str:
        return self._format([rng.choice(OPS) for _ in range(6)])

    def mutate(self, arch: str, rng: random.Random) -> str:
        ops = self.ops(arch)
        edge = rng.randrange(len(ops))
        ops[edge] = rng.choice([op for op in OPS if op != ops[edge]])
        return self._format(ops)


class NATSSSSSpace(_BenchmarkSpace):
    """NATS-Bench size-space channel strings; mutation changes one layer's width to another candidate."""

    name = "nats-sss"
    space = benchmark_spaces.get("nats-sss")

    def sample(self, rng: random.Random) -> str:
        return ":".join(str(rng.choice(CANDIDATES)) for _ in range(NUM_LAYERS))

    def mutate(self, arch: str, rng: random.Random) -> str:
        widths = [int(w) for w in self.space.validate(arch).split(":")]
        layer = rng.randrange(NUM_LAYERS)
        widths[layer] = rng.choice([w for w in CANDIDATES if w != widths[layer]])
        return ":".join(map(str, widths))


class NB101Space(_BenchmarkSpace):
    """NAS-Bench-101 cells (pruned :class:`~near.spaces.nb101.Cell`); keys are ``near bench``'s compact JSON."""

    name = "nb101"
    space = benchmark_spaces.get("nb101")

    def sample(self, rng: random.Random) -> Cell:
        while True:
            matrix = [[rng.randint(0, 1) if j > i else 0 for j in range(MAX_VERTICES)] for i in range(MAX_VERTICES)]
            ops = [INPUT] + [rng.choice(NB101_OPS) for _ in range(MAX_VERTICES - 2)] + [OUTPUT]
            try:
                return self.space.validate((matrix, ops))
            except ArchitectureError:
                continue

    def mutate(self, arch: Cell, rng: random.Random) -> Cell:
        """nasbench's REA mutation on the cell padded to 7 vertices: each edge flips with probability 1/7, each
        interior op changes with probability 1/5, redrawn until the pruned result is valid and differs."""
        n = arch.num_vertices
        # pad: the pruned vertices become unconnected interior vertices just before the output
        order = list(range(n - 1)) + [MAX_VERTICES - 1]
        matrix = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
        for i, j in itertools.product(range(n), repeat=2):
            matrix[order[i]][order[j]] = arch.matrix[i][j]
        ops = list(arch.ops[:-1]) + [rng.choice(NB101_OPS) for _ in range(MAX_VERTICES - n)] + [OUTPUT]
        key = self.key(arch)
        while True:
            new = [
                [1 - v if j > i and rng.random() < 1 / MAX_VERTICES else v for j, v in enumerate(row)]
                for i, row in enumerate(matrix)
            ]
            new_ops = [
                rng.choice([o for o in NB101_OPS if o != op]) if 0 < k < MAX_VERTICES - 1 and rng.random() < 0.2 else op
                for k, op in enumerate(ops)
            ]
            try:
                cell = self.space.validate((new, new_ops))
            except ArchitectureError:
                continue
            if self.key(cell) != key:
                return cell

    def key(self, arch: Any) -> str:
        from ..bench.tables import arch_key

        return arch_key(self.space.validate(arch))


class MLPSpace(SearchSpace):
    """Fully connected networks: depth, a width per hidden layer, one activation and one initialisation.

    Any activation of :data:`near.mlp.activations.ACTIVATIONS` and any initialisation of :data:`near.inits.INIT_NAMES`
    (NEAR scores every activation; most other proxies assume ReLU). Architectures are tuples
    ``(widths, activation, init)``; keys read ``"128-64/relu/xavier_uniform"``.

    Parameters
    ----------
    input_shape
        Shape of one sample (flattened by the network); the search passes its images' shape.
    depths, widths, activations, inits
        The choices.
    """

    name = "mlp"

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        depths: Sequence[int] = (1, 2, 3, 4),
        widths: Sequence[int] = (16, 32, 64, 128, 256, 512),
        activations: Sequence[str] = tuple(ACTIVATIONS),
        inits: Sequence[str] = INIT_NAMES,
    ) -> None:
        self.input_shape = tuple(input_shape)
        self.depths, self.widths = tuple(depths), tuple(widths)
        self.activations, self.inits = tuple(activations), tuple(inits)
        if not self.depths or min(self.depths) < 1 or not self.widths or min(self.widths) < 1:
            raise OptionError(f"MLP space: depths and widths must be positive, got {self.depths} and {self.widths}")
        if unknown := [a for a in self.activations if a not in ACTIVATIONS]:
            raise OptionError(f"MLP space: unknown activation(s) {unknown}; choose from {', '.join(ACTIVATIONS)}")
        if unknown := [i for i in self.inits if i not in INIT_NAMES]:
            raise OptionError(f"MLP space: unknown init(s) {unknown}; choose from {', '.join(INIT_NAMES)}")

    def sample(self, rng: random.Random) -> tuple:
        depth = rng.choice(self.depths)
        return (
            tuple(rng.choice(self.widths) for _ in range(depth)),
            rng.choice(self.activations),
            rng.choice(self.inits),
        )

    def mutate(self, arch: tuple, rng: random.Random) -> tuple:
        """One change: a layer's width, the activation, the initialisation, or one layer more or fewer."""
        widths, activation, init = arch
        moves = ["width"]
        moves += ["activation"] if len(self.activations) > 1 else []
        moves += ["init"] if len(self.inits) > 1 else []
        moves += ["deeper"] if len(widths) + 1 in self.depths else []
        moves += ["shallower"] if len(widths) - 1 in self.depths else []
        move = rng.choice(moves)
        if move == "width" and len(self.widths) > 1:
            layer = rng.randrange(len(widths))
            widths = tuple(rng.choice([w for w in self.widths if w != v]) if i == layer else v
                           for i, v in enumerate(widths))  # fmt: skip
        elif move == "activation":
            activation = rng.choice([a for a in self.activations if a != activation])
        elif move == "init":
            init = rng.choice([i for i in self.inits if i != init])
        elif move == "deeper":
            layer = rng.randrange(len(widths) + 1)
            widths = widths[:layer] + (rng.choice(self.widths),) + widths[layer:]
        elif move == "shallower":
            layer = rng.randrange(len(widths))
            widths = widths[:layer] + widths[layer + 1 :]
        return (widths, activation, init)

    def build(self, arch: tuple, num_classes: int = 10) -> nn.Module:
        widths, activation, init = arch
        model = mlp(self.input_shape, num_classes, hidden=widths, activation=activation)
        get_init(init)(model)
        return model

    def key(self, arch: tuple) -> str:
        widths, activation, init = arch
        return f"{'-'.join(map(str, widths))}/{activation}/{init}"

    def encode(self, arch: tuple) -> list[float]:
        """log2 of each width (0 past the depth), the depth, one-hot activation and init."""
        widths, activation, init = arch
        deepest = max(self.depths)
        return (
            [math.log2(widths[i]) if i < len(widths) else 0.0 for i in range(deepest)]
            + [float(len(widths))]
            + [float(a == activation) for a in self.activations]
            + [float(i == init) for i in self.inits]
        )


#: Spaces given by name: the benchmark adapters and the MLP space.
BUILT_IN: dict[str, type[SearchSpace]] = {
    "nb201": NB201Space,
    "nats-sss": NATSSSSSpace,
    "nb101": NB101Space,
    "mlp": MLPSpace,
}


def load_space(spec: Any, input_shape: Sequence[int] | None = None) -> Any:
    """A search space from a name (:data:`BUILT_IN`), ``path/to/space.py:ClassName`` or an object.

    A class is instantiated without arguments (the MLP space gets ``input_shape``); the result is checked
    with :func:`~near.search.protocol.check_space`. A file that is missing, fails to import, or lacks the
    name raises :class:`~near.errors.ArchitectureError` saying which and why.
    """
    if not isinstance(spec, str):
        return check_space(spec, repr(spec))
    if spec in BUILT_IN:
        if spec == "mlp":
            return MLPSpace(input_shape) if input_shape is not None else MLPSpace()
        return BUILT_IN[spec]()
    if ":" not in spec or not spec.rsplit(":", 1)[0].endswith(".py"):
        raise ArchitectureError(
            f"unknown search space {spec!r}; give one of {', '.join(BUILT_IN)} or a file and class, "
            "path/to/space.py:MySpace"
        )
    path_text, attribute = spec.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise ArchitectureError(f"search space file {path} not found (from {spec!r})")
    name = f"near_user_space_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    found = import_file(path, name, ArchitectureError)
    if not hasattr(found, attribute):
        classes = sorted(n for n, v in vars(found).items() if inspect.isclass(v) and v.__module__ == found.__name__)
        raise ArchitectureError(f"{path} has no {attribute!r}; it defines {', '.join(classes) or 'no class'}")
    value = getattr(found, attribute)
    if inspect.isclass(value):
        try:
            with isolated_rng(0):
                value = value()
        except Exception as error:
            raise ArchitectureError(
                f"{spec}: creating the space failed: {type(error).__name__}: {error} (the class is created "
                "without arguments)"
            ) from error
    return check_space(value, spec)


class TableSubspace(SearchSpace):
    """A benchmark space restricted to a table's architectures (e.g. NB101's 500-row table), so that every
    architecture the search draws can be queried.

    ``sample`` draws a row; ``mutate`` applies the base space's mutation and keeps it when it lands on a row
    (up to 20 tries), else returns one of the 5 rows nearest by ``encode`` (L1), at random. The name (and so
    the store's setup) is the base space's: the networks are the same.
    """

    TRIES, NEAREST = 20, 5

    def __init__(self, base: Any, archs: dict[str, Any]) -> None:
        if not archs:
            raise OptionError("the table has no architecture to search")
        self.base, self.archs = base, archs
        self.name, self.keys = base.name, sorted(archs)
        if hasattr(base, "space"):
            self.space = base.space
        self._codes = [base.encode(archs[key]) for key in self.keys] if hasattr(base, "encode") else None

    def sample(self, rng: random.Random) -> Any:
        return self.archs[rng.choice(self.keys)]

    def mutate(self, arch: Any, rng: random.Random) -> Any:
        key = self.base.key(arch)
        for _ in range(self.TRIES):
            child = self.base.mutate(arch, rng)
            if (child_key := self.base.key(child)) in self.archs and child_key != key:
                return self.archs[child_key]
        others = [i for i, k in enumerate(self.keys) if k != key]
        if not others:
            return arch
        if self._codes is None:
            return self.archs[self.keys[rng.choice(others)]]
        code = self.base.encode(arch)
        distance = {i: sum(abs(a - b) for a, b in zip(code, self._codes[i])) for i in others}
        nearest = sorted(others, key=lambda i: (distance[i], i))[: self.NEAREST]
        return self.archs[self.keys[rng.choice(nearest)]]

    def build(self, arch: Any, num_classes: int = 10) -> nn.Module:
        return self.base.build(arch, num_classes=num_classes)

    def key(self, arch: Any) -> str:
        return self.base.key(arch)

    def encode(self, arch: Any) -> list[float]:
        return self.base.encode(arch)


def within_table(space: Any, path: str | Path) -> TableSubspace:
    """``space`` restricted to the architectures of the table at ``path`` (benchmark spaces only)."""
    if space.name not in ("nb201", "nats-sss", "nb101") or not hasattr(space, "space"):
        raise OptionError(
            f"--within-table works for the benchmark spaces (nb201, nats-sss, nb101), not {space.name!r}: "
            "restrict your own space in its sample and mutate"
        )
    from ..bench.tables import read_table

    archs: dict[str, Any] = {}
    for row in read_table(path, space.name).rows:
        archs.setdefault(row.arch_str, row.arch)
    return TableSubspace(space, archs)
