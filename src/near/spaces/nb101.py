"""NAS-Bench-101: google-research/nasbench's cell encoding and network skeleton, in PyTorch.

A cell is an upper-triangular 0/1 adjacency matrix (vertex 0 = input, last = output, at most 7
vertices and 9 edges) plus one op per vertex. Vertices not on an input→output path are pruned as
``ModelSpec`` does, and interior widths follow ``compute_vertex_channels``, so parameter counts
equal the dataset's ``trainable_parameters``. The skeleton is the dataset's: Conv3×3-BN-ReLU stem
of 128 channels, 3 stacks × 3 cells with a 2×2 max-pool and doubled width before stacks 2 and 3,
global average pooling and a linear classifier.

Layers are Conv → BN → ReLU (``ConvBnRelu``, spelled as in the nasbench PyTorch ports so that
proxies matching ``ReLU`` in class names hook only the ``nn.ReLU`` modules, as they did on those
ports) with PyTorch's default BatchNorm settings and initialisation.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ArchitectureError
from ._registry import Space, _check_classes, _check_count, register

__all__ = ["NB101", "Cell", "ConvBnRelu", "NB101Cell", "NB101Network", "compute_vertex_channels"]

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
#: Interior ops in the dataset's canonical order (their index is the label used by the graph hash).
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: Integer labels of the JSON files of Samsung's and MeCo's ports.
INT_LABELS = {-1: INPUT, -2: OUTPUT, 0: CONV3X3, 1: CONV1X1, 2: MAXPOOL3X3}
MAX_VERTICES, MAX_EDGES = 7, 9
STEM_CHANNELS, NUM_STACKS, CELLS_PER_STACK = 128, 3, 3


@dataclass(frozen=True)
class Cell:
    """A pruned NB101 cell: ``matrix`` (tuple of 0/1 rows) and ``ops`` (``'input'``, …, ``'output'``).

    Equal cells compare equal and hash alike; isomorphic ones share :meth:`graph_hash`.
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def graph_hash(self) -> str:
        """The dataset key: nasbench's isomorphism-invariant MD5 hash (``ModelSpec.hash_spec``)."""
        matrix = np.array(self.matrix)
        labels = [-1] + [OPS.index(op) for op in self.ops[1:-1]] + [-2]
        return _hash_module(matrix, labels)

    def to_dict(self) -> dict[str, list]:
        """``{"matrix": [[…]], "ops": […]}``, the form of ``nb101_500.csv`` (JSON-serialisable)."""
        return {"matrix": [list(row) for row in self.matrix], "ops": list(self.ops)}


def _hash_module(matrix: np.ndarray, labels: list[int]) -> str:
    # Iterated neighbourhood hashing, exactly as nasbench's graph_util.hash_module.
    n = matrix.shape[0]
    in_edges, out_edges = matrix.sum(axis=0).tolist(), matrix.sum(axis=1).tolist()
    hashes = [_md5(str(h)) for h in zip(out_edges, in_edges, labels)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in range(n) if matrix[w, v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if matrix[v, w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _unpack(arch: Any) -> tuple[Any, Any]:
    """Split the accepted forms into (matrix, ops)."""
    if isinstance(arch, Cell):
        return arch.matrix, arch.ops
    if isinstance(arch, dict):
        matrix = arch.get("matrix", arch.get("module_adjacency"))
        ops = arch.get("ops", arch.get("module_operations"))
        if matrix is None or ops is None:
            raise ArchitectureError(
                f"an NB101 cell dict needs keys 'matrix' and 'ops', got keys {sorted(map(str, arch))}"
            )
        return matrix, ops
    if isinstance(arch, (tuple, list)) and len(arch) == 2:
        return arch[0], arch[1]
    raise ArchitectureError(
        f"an NB101 architecture must be (matrix, ops), {{'matrix': …, 'ops': …}} or a Cell, got {type(arch).__name__}"
    )


def _load(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ArchitectureError(f"NB101 {what} {value!r} is not valid JSON: {error}") from None
    return value


def _prune(matrix: np.ndarray) -> list[int] | None:
    """Vertices on an input→output path (ModelSpec._prune), or None when input and output are disconnected."""
    n = matrix.shape[0]
    forward, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top, v] and v not in forward:
                forward.add(v)
                frontier.append(v)
    backward, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(top):
            if matrix[v, top] and v not in backward:
                backward.add(v)
                frontier.append(v)
    kept = sorted(forward & backward)
    return kept if len(kept) >= 2 else None


def parse_cell(arch: Any) -> Cell:
    """Check an NB101 cell and prune it as ``ModelSpec`` does; raise :class:`ArchitectureError` naming the problem.

    The vertex and edge limits apply to the pruned cell, as in ``NASBench.is_valid``.
    """
    raw_matrix, raw_ops = _unpack(arch)
    raw_matrix, raw_ops = _load(raw_matrix, "matrix"), _load(raw_ops, "ops")
    try:
        matrix = np.asarray(raw_matrix)
    except ValueError:
        matrix = np.asarray([], dtype=object)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ArchitectureError(
            f"NB101 matrix must be square (V×V with V ≥ 2, vertex 0 = input, last = output), got shape {matrix.shape}"
        )
    if matrix.dtype == object or not np.isin(matrix, (0, 1)).all():
        raise ArchitectureError("NB101 matrix entries must be 0 or 1")
    matrix = matrix.astype(np.int64)
    n = matrix.shape[0]
    if np.tril(matrix).any():
        src, dst = map(int, np.argwhere(np.tril(matrix))[0])
        raise ArchitectureError(
            f"NB101 matrix must be upper triangular (edges only from lower to higher vertices), "
            f"but has an edge {src}→{dst}"
        )
    if isinstance(raw_ops, (str, bytes)) or not isinstance(raw_ops, Sequence | np.ndarray):
        raise ArchitectureError(f"NB101 ops must be a list of op names, got {type(raw_ops).__name__}")
    ops = [INT_LABELS.get(op, op) if isinstance(op, int | np.integer) else op for op in list(raw_ops)]
    if len(ops) != n:
        raise ArchitectureError(f"NB101 ops list has {len(ops)} entries but the matrix has {n} vertices; expected {n}")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ArchitectureError(
            f"NB101 ops must start with 'input' and end with 'output', got {ops[0]!r} … {ops[-1]!r}"
        )
    for vertex, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            raise ArchitectureError(f"unknown NB101 op {op!r} at vertex {vertex}; expected one of {', '.join(OPS)}")
    kept = _prune(matrix)
    if kept is None:
        raise ArchitectureError("NB101 cell is not connected: no path leads from the input vertex to the output vertex")
    matrix = matrix[np.ix_(kept, kept)]
    ops = [ops[v] for v in kept]
    if len(ops) > MAX_VERTICES:
        raise ArchitectureError(
            f"NB101 cell has {len(ops)} vertices after pruning; at most {MAX_VERTICES} (input and output included)"
        )
    if matrix.sum() > MAX_EDGES:
        raise ArchitectureError(f"NB101 cell has {int(matrix.sum())} edges after pruning; at most {MAX_EDGES}")
    return Cell(tuple(tuple(int(x) for x in row) for row in matrix), tuple(ops))


def compute_vertex_channels(input_channels: int, output_channels: int, matrix: Any) -> list[int]:
    """Width of every vertex, as nasbench's ``compute_vertex_channels``.

    The output width is split evenly over the vertices feeding the output (the first ones get the
    remainder, one channel each); any other interior vertex takes the widest of its successors;
    the input keeps ``input_channels``.
    """
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    channels = [0] * n
    channels[0], channels[-1] = input_channels, output_channels
    if n == 2:
        return channels
    fan_in = int(matrix[1:, -1].sum())
    share, remainder = divmod(output_channels, fan_in)
    for v in range(1, n - 1):
        if matrix[v, -1]:
            channels[v] = share + (1 if remainder > 0 else 0)
            remainder -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v, -1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


class ConvBnRelu(nn.Module):
    """Conv (no bias, 'same' padding) → BN → ReLU, the NB101 conv op and the input projection."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv_bn_relu = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_bn_relu(x)


def _vertex_op(op: str, channels: int) -> nn.Module:
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    return ConvBnRelu(channels, channels, 3 if op == CONV3X3 else 1)


class NB101Cell(nn.Module):
    """One NB101 module (``model_builder.build_module``).

    Interior vertex t sums its predecessors' outputs (truncated to its width) and a 1×1 projection
    of the input when input→t is an edge, then applies its op. The output concatenates the
    vertices feeding it and adds a projection of the input when input→output is an edge.
    """

    def __init__(self, cell: Cell, in_channels: int, out_channels: int) -> None:
        super().__init__()
        matrix = np.array(cell.matrix)
        self.num_vertices = n = cell.num_vertices
        self.vertex_channels = compute_vertex_channels(in_channels, out_channels, matrix)
        self.inputs = [[src for src in range(1, t) if matrix[src, t]] for t in range(n)]
        self.from_input = [bool(matrix[0, t]) for t in range(n)]
        self.to_output = [t for t in range(1, n - 1) if matrix[t, -1]]
        # projections[t] maps the cell input to vertex t (the last one to the output), where there is an edge.
        self.projections = nn.ModuleDict(
            {str(t): ConvBnRelu(in_channels, self.vertex_channels[t], 1) for t in range(1, n) if self.from_input[t]}
        )
        self.vertex_ops = nn.ModuleList(_vertex_op(cell.ops[t], self.vertex_channels[t]) for t in range(1, n - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, width = self.num_vertices, self.vertex_channels
        tensors = [x]
        for t in range(1, n - 1):
            terms = [tensors[src][:, : width[t]] for src in self.inputs[t]]
            if self.from_input[t]:
                terms.append(self.projections[str(t)](x))
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            tensors.append(self.vertex_ops[t - 1](total))
        if not self.to_output:
            return self.projections[str(n - 1)](x)
        out = (
            torch.cat([tensors[t] for t in self.to_output], dim=1)
            if len(self.to_output) > 1
            else tensors[self.to_output[0]]
        )
        if self.from_input[n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


def cell_parameters(cell: Cell, in_channels: int, out_channels: int) -> int:
    """Parameter count of an :class:`NB101Cell`, without building it."""
    width = compute_vertex_channels(in_channels, out_channels, np.array(cell.matrix))
    total = 0
    for t in range(1, cell.num_vertices):
        if cell.matrix[0][t]:
            total += in_channels * width[t] + 2 * width[t]
        if t < cell.num_vertices - 1 and cell.ops[t] != MAXPOOL3X3:
            kernel = 9 if cell.ops[t] == CONV3X3 else 1
            total += kernel * width[t] * width[t] + 2 * width[t]
    return total


class NB101Network(nn.Module):
    """The NB101 skeleton around one cell; ``forward`` returns logits.

    The 2×2 max-pools use ``ceil_mode=True``, TensorFlow's 'same' pooling, so odd sizes work and
    32×32 inputs give exactly the dataset's 32/16/8 resolutions.
    """

    def __init__(
        self,
        cell: Cell,
        num_classes: int = 10,
        stem_channels: int = STEM_CHANNELS,
        num_stacks: int = NUM_STACKS,
        cells_per_stack: int = CELLS_PER_STACK,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.stem = ConvBnRelu(3, stem_channels, 3)
        layers: list[nn.Module] = []
        channels = stem_channels
        for stack in range(num_stacks):
            out_channels = channels
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                out_channels = channels * 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(cell, channels, out_channels))
                channels = out_channels
        self.layers = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.layers(self.stem(x)))
        return self.classifier(out.flatten(1))


def network_parameters(cell: Cell, num_classes: int = 10) -> int:
    """Parameter count of an :class:`NB101Network` (the dataset's ``trainable_parameters``)."""
    total = 27 * STEM_CHANNELS + 2 * STEM_CHANNELS
    channels = STEM_CHANNELS
    for stack in range(NUM_STACKS):
        out_channels = channels * 2 if stack > 0 else channels
        for _ in range(CELLS_PER_STACK):
            total += cell_parameters(cell, channels, out_channels)
            channels = out_channels
    return total + channels * num_classes + num_classes


@register("nb101")
class NB101(Space):
    """NAS-Bench-101; architectures are ``(matrix, ops)``, ``{"matrix", "ops"}`` (JSON strings allowed) or a Cell."""

    size = 423_624

    def validate(self, arch: Any) -> Cell:
        """The pruned :class:`Cell`; raises :class:`~near.errors.ArchitectureError` saying what is wrong."""
        return parse_cell(arch)

    def build(self, arch: Any, num_classes: int = 10) -> NB101Network:
        """Build the dataset's network for ``arch``; forward returns logits of shape (N, num_classes)."""
        return NB101Network(parse_cell(arch), _check_classes(num_classes))

    def enumerate(self) -> Iterator[Cell]:
        """Not available: listing the 423,624 unique cells needs the NAS-Bench-101 dataset itself."""
        raise ArchitectureError(
            "enumerating NB101 needs the NAS-Bench-101 dataset (423,624 cells after isomorphism de-duplication); "
            "read the cells from a dataset file (e.g. nb101_500.csv or nasbench_only108.tfrecord) or use sample()"
        )

    def sample(self, n: int, seed: int = 0) -> list[Cell]:
        """``n`` distinct valid cells (distinct graph hashes), drawn as nasbench's ``random_spec`` does.

        A 7×7 upper-triangular matrix with 0/1 entries and random interior ops is drawn until the
        pruned cell is valid (connected, ≤ 9 edges); cells isomorphic to an earlier draw are skipped.
        """
        n = _check_count(n, self.size)
        rng = random.Random(seed)
        cells: list[Cell] = []
        seen: set[str] = set()
        while len(cells) < n:
            matrix = [
                [rng.randint(0, 1) if dst > src else 0 for dst in range(MAX_VERTICES)] for src in range(MAX_VERTICES)
            ]
            ops = [INPUT] + [rng.choice(OPS) for _ in range(MAX_VERTICES - 2)] + [OUTPUT]
            try:
                cell = parse_cell((matrix, ops))
            except ArchitectureError:
                continue
            key = cell.graph_hash()
            if key not in seen:
                seen.add(key)
                cells.append(cell)
        return cells

    encoding = tuple(f"edge{i}{j}" for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES)) + tuple(
        f"vertex{v}={op}" for v in range(1, MAX_VERTICES - 1) for op in OPS
    )

    def encode(self, arch: Any) -> np.ndarray:
        """Adjacency + ops of the pruned cell padded to 7 vertices: 21 upper-triangle edge bits, then a
        one-hot op (conv3x3, conv1x1, maxpool) for each of the 5 interior vertices (all zeros where a pruned
        cell has fewer). The output is always vertex 6, so a pruned cell's interior vertices keep their order
        and the padding sits just before the output. Isomorphic cells may encode differently (no canonical
        vertex order is imposed), as in NASLib's adjacency-one-hot encoding.

        >>> from near.spaces import get
        >>> v = get("nb101").encode(([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"]))
        >>> v.shape, v[0], v[10], v[21 + 2]                  # 0→1, 1→6 (the output), vertex 1 = maxpool
        ((36,), np.float64(1.0), np.float64(1.0), np.float64(1.0))
        """
        cell = parse_cell(arch)
        n = cell.num_vertices
        place = list(range(n - 1)) + [MAX_VERTICES - 1]  # padded position of each pruned vertex
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES))
        matrix[np.ix_(place, place)] = np.array(cell.matrix)
        ops = np.zeros((MAX_VERTICES - 2, len(OPS)))
        for vertex, op in enumerate(cell.ops[1:-1]):
            ops[vertex, OPS.index(op)] = 1.0
        return np.concatenate([matrix[np.triu_indices(MAX_VERTICES, k=1)], ops.ravel()])

    def num_parameters(self, arch: Any, num_classes: int = 10) -> int:
        """Parameters of the built network, computed from the layer list (the dataset's ``trainable_parameters``)."""
        return network_parameters(parse_cell(arch), _check_classes(num_classes))
