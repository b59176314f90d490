"""Building blocks shared by NAS-Bench-201 (TSS) and NATS-Bench-SSS, as in the official xautodl code.

The class names (``ReLUConvBN``, ``InferCell``, ``ResNetBasicblock``, ``FactorizedReduce``, ``Zero``)
and parameter names follow xautodl, because peer proxies select layers by class name (NASWOT
hooks every module whose class name contains ``ReLU``) and so that xautodl state dicts load.
Cells are built with ``affine=True, track_running_stats=True`` and convolutions without bias,
which is what the benchmarks trained and what their parameter counts describe.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ArchitectureError

#: The NB201 candidate operations, in the benchmark's order.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: Genotype of a cell: for node j = 1, 2, 3, the (op, input node) pairs of its incoming edges.
Genotype = tuple[tuple[tuple[str, int], ...], ...]

NUM_NODES = 4  # node 0 is the cell input, node 3 its output


def parse_arch(arch: object) -> Genotype:
    """Parse an NB201 arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (or 6 op names in that order).

    Splits on ``+``, ``|`` and ``~`` as ``Structure.str2structure`` does, but checks every part so
    a mistake is reported by position instead of surfacing later as a wrong network.
    """
    if isinstance(arch, (list, tuple)) and len(arch) == 6 and all(isinstance(op, str) for op in arch):
        ops = list(arch)
        arch = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
    if not isinstance(arch, str):
        raise ArchitectureError(
            f"an NB201 architecture must be an arch string like '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|…|' "
            f"or a list of 6 op names, got {type(arch).__name__} {arch!r}"
        )
    text = arch.strip()
    nodes = text.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ArchitectureError(
            f"arch string {arch!r} has {len(nodes)} node(s) separated by '+'; expected {NUM_NODES - 1} "
            "(form '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|')"
        )
    genotype = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise ArchitectureError(
                f"node {j} {node!r} of arch string {arch!r} must start and end with '|' (form '|op~0|op~1|')"
            )
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise ArchitectureError(
                f"node {j} of arch string {arch!r} has {len(edges)} incoming edge(s); expected {j} "
                f"(one from each of nodes {', '.join(str(i) for i in range(j))})"
            )
        pairs = []
        for i, edge in enumerate(edges):
            op, sep, source = edge.partition("~")
            if not sep or source != str(i):
                raise ArchitectureError(
                    f"edge {edge!r} into node {j} of arch string {arch!r} must read 'op~{i}' "
                    f"(the {i + 1}. edge of node {j} comes from node {i})"
                )
            if op not in OPS:
                raise ArchitectureError(
                    f"unknown op {op!r} on edge {i}→{j} of arch string {arch!r}; expected one of {', '.join(OPS)}"
                )
            pairs.append((op, i))
        genotype.append(tuple(pairs))
    return tuple(genotype)


def format_arch(genotype: Genotype) -> str:
    """The canonical arch string of a genotype (inverse of :func:`parse_arch`)."""
    return "+".join("|" + "|".join(f"{op}~{i}" for op, i in node) + "|" for node in genotype)


class Zero(nn.Module):
    """The ``none`` op: multiplies by 0 (keeping NaN/inf as the benchmark does), or new zeros of C_out channels."""

    def __init__(self, C_in: int, C_out: int, stride: int = 1) -> None:
        super().__init__()
        self.C_in, self.C_out, self.stride = C_in, C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.C_in == self.C_out:
            return x.mul(0.0) if self.stride == 1 else x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.C_out
        return x.new_zeros(shape)

    def extra_repr(self) -> str:
        return f"C_in={self.C_in}, C_out={self.C_out}, stride={self.stride}"


class ReLUConvBN(nn.Module):
    """ReLU → Conv (no bias) → BN, xautodl's ``nor_conv_*`` op; parameters live in ``op`` as in xautodl."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=True, track_running_stats=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """``skip_connect`` when shapes change: stride 2 = ReLU + two shifted 1×1 convs + BN; stride 1 = 1×1 conv + BN.

    The stride-1 form (used by NATS-SSS cells whose width changes) has no ReLU in xautodl's forward,
    so none is built here.
    """

    def __init__(self, C_in: int, C_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        if stride == 2:
            self.relu = nn.ReLU(inplace=False)
            halves = (C_out // 2, C_out - C_out // 2)
            self.convs = nn.ModuleList(nn.Conv2d(C_in, c, 1, stride=2, padding=0, bias=False) for c in halves)
            self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0.0)
        elif stride == 1:
            self.conv = nn.Conv2d(C_in, C_out, 1, stride=1, padding=0, bias=False)
        else:
            raise ValueError(f"FactorizedReduce stride must be 1 or 2, got {stride}")
        self.bn = nn.BatchNorm2d(C_out, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = self.relu(x)
            shifted = self.pad(x)[:, :, 1:, 1:]
            out = torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1)
        else:
            out = self.conv(x)
        return self.bn(out)


class Pooling(nn.Module):
    """``avg_pool_3x3``: a 1×1 ReLUConvBN first when the width changes, then AvgPool 3×3 (pad 1, no pad counting)."""

    def __init__(self, C_in: int, C_out: int, stride: int = 1) -> None:
        super().__init__()
        self.preprocess = None if C_in == C_out else ReLUConvBN(C_in, C_out, 1, 1, 0)
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x if self.preprocess is None else self.preprocess(x))


def make_op(name: str, C_in: int, C_out: int, stride: int = 1) -> nn.Module:
    """The module of candidate op ``name`` (xautodl ``OPS[name](C_in, C_out, stride, True, True)``)."""
    if name == "none":
        return Zero(C_in, C_out, stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 and C_in == C_out else FactorizedReduce(C_in, C_out, stride)
    if name == "nor_conv_1x1":
        return ReLUConvBN(C_in, C_out, 1, stride, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(C_in, C_out, 3, stride, 1)
    if name == "avg_pool_3x3":
        return Pooling(C_in, C_out, stride)
    raise ValueError(f"unknown op {name!r}")


def op_parameters(name: str, C_in: int, C_out: int) -> int:
    """Parameter count of :func:`make_op` (stride 1), without building it."""
    bn = 2 * C_out
    if name == "none" or (name in ("skip_connect", "avg_pool_3x3") and C_in == C_out):
        return 0
    kernel = 9 if name == "nor_conv_3x3" else 1
    return kernel * C_in * C_out + bn


class InferCell(nn.Module):
    """The NB201 cell: node_j = Σ_{i<j} op_{i→j}(node_i); the output is node 3 (a sum, not a concatenation).

    Edges out of node 0 map ``C_in → C_out``; the others ``C_out → C_out``. ``layers`` holds the six
    edge ops in arch-string order, as in xautodl.
    """

    def __init__(self, genotype: Genotype, C_in: int, C_out: int) -> None:
        super().__init__()
        self.genotype = genotype
        self.in_dim, self.out_dim = C_in, C_out
        self.layers = nn.ModuleList()
        self.node_IN: list[list[int]] = []
        self.node_IX: list[list[int]] = []
        for node in genotype:
            inputs, indices = [], []
            for op, source in node:
                indices.append(len(self.layers))
                inputs.append(source)
                self.layers.append(make_op(op, C_in if source == 0 else C_out, C_out))
            self.node_IN.append(inputs)
            self.node_IX.append(indices)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for inputs, indices in zip(self.node_IN, self.node_IX):
            total = self.layers[indices[0]](nodes[inputs[0]])
            for layer, source in zip(indices[1:], inputs[1:]):
                total = total + self.layers[layer](nodes[source])
            nodes.append(total)
        return nodes[-1]

    def extra_repr(self) -> str:
        return f"{format_arch(self.genotype)}, C_in={self.in_dim}, C_out={self.out_dim}"


def cell_parameters(genotype: Genotype, C_in: int, C_out: int) -> int:
    """Parameter count of an :class:`InferCell`, without building it."""
    return sum(op_parameters(op, C_in if i == 0 else C_out, C_out) for node in genotype for op, i in node)


class ResNetBasicblock(nn.Module):
    """The fixed reduction block: ReLUConvBN 3×3 stride 2 → ReLUConvBN 3×3, plus AvgPool 2×2 → 1×1 conv shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 2) -> None:
        super().__init__()
        if stride != 2:
            raise ValueError("the NB201/SSS skeleton only uses stride-2 basic blocks")
        self.in_dim, self.out_dim, self.stride = inplanes, planes, stride
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(inplanes, planes, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def basicblock_parameters(inplanes: int, planes: int) -> int:
    """Parameter count of a :class:`ResNetBasicblock`, without building it."""
    return 9 * inplanes * planes + 9 * planes * planes + 4 * planes + inplanes * planes


class CellNetwork(nn.Module):
    """The skeleton of TinyNetwork and DynamicShapeTinyNet: stem, cells and blocks, BN+ReLU, GAP, classifier.

    ``channels[k]`` is the output width of layer ``k``; ``reductions[k]`` says whether layer ``k`` is a
    ResNetBasicblock (else an InferCell of ``genotype``). Unlike xautodl's, ``forward`` returns the
    logits only, which is what every proxy expects.
    """

    def __init__(
        self, genotype: Genotype, channels: Sequence[int], reductions: Sequence[bool], num_classes: int
    ) -> None:
        super().__init__()
        self.genotype = genotype
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels[0], kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(channels[0])
        )
        self.cells = nn.ModuleList()
        previous = channels[0]
        for width, reduction in zip(channels, reductions):
            if reduction:
                self.cells.append(ResNetBasicblock(previous, width, 2))
            else:
                self.cells.append(InferCell(genotype, previous, width))
            previous = width
        self.lastact = nn.Sequential(nn.BatchNorm2d(previous), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(previous, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.flatten(1))


def network_parameters(
    genotype: Genotype, channels: Sequence[int], reductions: Sequence[bool], num_classes: int
) -> int:
    """Parameter count of a :class:`CellNetwork`, without building it (xautodl's ``count_parameters``)."""
    total = 27 * channels[0] + 2 * channels[0]  # stem conv + BN
    previous = channels[0]
    for width, reduction in zip(channels, reductions):
        total += basicblock_parameters(previous, width) if reduction else cell_parameters(genotype, previous, width)
        previous = width
    return total + 2 * previous + previous * num_classes + num_classes
