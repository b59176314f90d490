"""NAS-Bench-201 = NATS-Bench topology search space (TSS): xautodl's ``TinyNetwork(C=16, N=5, genotype)``.

15,625 = 5⁶ cells, each edge of a 4-node cell taking one of :data:`~near.spaces._ops.OPS`. The cell
is repeated 5 times in each of three stages of 16/32/64 channels, joined by stride-2 ResNet blocks;
the parameter counts equal the benchmark's ``params`` (NATS ``get_cost_info``, in units of 10⁶).
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._ops import OPS, CellNetwork, Genotype, format_arch, network_parameters, parse_arch
from ._registry import Space, _check_classes, _check_count, register

__all__ = ["NB201", "TinyNetwork"]

#: Edge order of the arch string: 0→1 | 0→2, 1→2 | 0→3, 1→3, 2→3.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def _layout(C: int, N: int) -> tuple[list[int], list[bool]]:
    channels = [C] * N + [2 * C] + [2 * C] * N + [4 * C] + [4 * C] * N
    reductions = [False] * N + [True] + [False] * N + [True] + [False] * N
    return channels, reductions


class TinyNetwork(CellNetwork):
    """xautodl's ``TinyNetwork``: stem, N cells, block, N cells, block, N cells, BN+ReLU, GAP, linear.

    Parameters
    ----------
    C
        Channels of the first stage (16 in the benchmark); the others have 2C and 4C.
    N
        Cells per stage (5 in the benchmark).
    genotype
        The parsed arch string (:func:`~near.spaces._ops.parse_arch`).
    num_classes
        Classifier width.
    """

    def __init__(self, C: int, N: int, genotype: Genotype, num_classes: int) -> None:
        channels, reductions = _layout(C, N)
        super().__init__(genotype, channels, reductions, num_classes)
        self._C, self._layerN = C, N


@register("nb201")
class NB201(Space):
    """NAS-Bench-201 / NATS-Bench-TSS; architectures are arch strings ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""

    size = len(OPS) ** len(EDGES)
    C, N = 16, 5

    def validate(self, arch: Any) -> str:
        """The canonical arch string; also accepts a list of the 6 op names in arch-string edge order."""
        return format_arch(parse_arch(arch))

    def build(self, arch: Any, num_classes: int = 10) -> TinyNetwork:
        """Build the benchmark network of ``arch``; forward returns logits of shape (N, num_classes)."""
        return TinyNetwork(self.C, self.N, parse_arch(arch), _check_classes(num_classes))

    def enumerate(self) -> Iterator[str]:
        """All 15,625 arch strings in the benchmark's index order, so position ``i`` is NB201/NATS-TSS index ``i``.

        NATS-Bench's ``main-tss.py`` lists the cells with xautodl's ``Structure.gen_all`` (an odometer
        over :data:`OPS`, last edge fastest) and shuffles them with ``random.seed(88)``; doing the
        same reproduces every row of the benchmark's ``index`` column.
        """
        return iter(_benchmark_order())

    def index(self, arch: Any) -> int:
        """The benchmark index of ``arch`` (NB201 ``query_index_by_arch``)."""
        return _benchmark_index()[self.validate(arch)]

    def sample(self, n: int, seed: int = 0) -> list[str]:
        """``n`` distinct arch strings drawn uniformly without replacement (Python's ``random.Random(seed)``)."""
        order = _benchmark_order()
        return [order[i] for i in random.Random(seed).sample(range(self.size), _check_count(n, self.size))]

    encoding = tuple(f"edge{i}{j}={op}" for i, j in EDGES for op in OPS)

    def encode(self, arch: Any) -> np.ndarray:
        """One-hot op per edge: 6 edges × 5 ops = 30 zeros and ones, edges in arch-string order.

        >>> from near.spaces import get
        >>> get("nb201").encode("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")[:10].tolist()
        [0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
        """
        ops = [op for node in parse_arch(arch) for op, _ in node]
        vector = np.zeros((len(EDGES), len(OPS)))
        vector[np.arange(len(EDGES)), [OPS.index(op) for op in ops]] = 1.0
        return vector.ravel()

    def num_parameters(self, arch: Any, num_classes: int = 10) -> int:
        """Parameters of the built network, computed from the layer list (the benchmark's params × 10⁶)."""
        channels, reductions = _layout(self.C, self.N)
        return network_parameters(parse_arch(arch), channels, reductions, _check_classes(num_classes))


@functools.cache
def _benchmark_order() -> tuple[str, ...]:
    archs = ["|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops) for ops in itertools.product(OPS, repeat=len(EDGES))]
    random.Random(88).shuffle(archs)  # the seed NATS-Bench's main-tss.py fixes "for reproducibility"
    return tuple(archs)


@functools.cache
def _benchmark_index() -> dict[str, int]:
    return {arch: i for i, arch in enumerate(_benchmark_order())}
