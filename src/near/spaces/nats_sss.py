"""NATS-Bench size search space (SSS): xautodl's ``DynamicShapeTinyNet(channels, genotype)``.

32,768 = 8⁵ networks that share the best NB201 cell and differ only in the widths of their five
layers, ``"c0:c1:c2:c3:c4"`` with each cᵢ in {8, 16, …, 64}: stem and cell 1 (c0), basic block
(c1), cell 2 (c2), basic block (c3), cell 3 (c4). A cell whose input and output widths differ maps
C_in → C_out on its edges out of node 0 (a skip becomes a 1×1 conv + BN).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ArchitectureError
from ._ops import CellNetwork, network_parameters, parse_arch
from ._registry import Space, _check_classes, _check_count, register

__all__ = ["NATSSSS", "DynamicShapeTinyNet"]

#: Candidate widths (``get_search_spaces('sss', 'nats-bench')``).
CANDIDATES: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
#: The fixed cell: the NB201 arch with the best CIFAR-100 validation accuracy (TSS index 9930).
GENOTYPE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
_REDUCTIONS = (False, True, False, True, False)


def parse_channels(arch: object) -> tuple[int, ...]:
    """Parse ``"c0:c1:c2:c3:c4"`` (or a sequence of 5 ints) and check every width is a candidate."""
    if isinstance(arch, str):
        parts = arch.strip().split(":")
        try:
            widths = [int(part) for part in parts]
        except ValueError:
            raise ArchitectureError(
                f"channel string {arch!r} must be {NUM_LAYERS} integers separated by ':', like '8:16:32:48:64'"
            ) from None
    elif isinstance(arch, (list, tuple)) and all(isinstance(c, int) and not isinstance(c, bool) for c in arch):
        widths = list(arch)
    else:
        raise ArchitectureError(
            f"a NATS-SSS architecture must be a channel string like '8:16:32:48:64' or {NUM_LAYERS} integers, "
            f"got {type(arch).__name__} {arch!r}"
        )
    if len(widths) != NUM_LAYERS:
        raise ArchitectureError(f"channel string {arch!r} has {len(widths)} widths; expected {NUM_LAYERS}")
    for position, width in enumerate(widths):
        if width not in CANDIDATES:
            raise ArchitectureError(
                f"width {width} at position {position} of {arch!r} is not a candidate; "
                f"expected one of {', '.join(map(str, CANDIDATES))}"
            )
    return tuple(widths)


def _format(widths: tuple[int, ...]) -> str:
    return ":".join(map(str, widths))


class DynamicShapeTinyNet(CellNetwork):
    """xautodl's ``DynamicShapeTinyNet``: one cell per stage (N = 5 // 3 = 1), widths from the channel string."""

    def __init__(self, channels: tuple[int, ...], num_classes: int) -> None:
        super().__init__(parse_arch(GENOTYPE), channels, _REDUCTIONS, num_classes)
        self._channels = channels


@register("nats-sss")
class NATSSSS(Space):
    """NATS-Bench size search space; architectures are channel strings ``"c0:c1:c2:c3:c4"``."""

    size = len(CANDIDATES) ** NUM_LAYERS

    def validate(self, arch: Any) -> str:
        """The canonical channel string; also accepts a sequence of 5 ints."""
        return _format(parse_channels(arch))

    def build(self, arch: Any, num_classes: int = 10) -> DynamicShapeTinyNet:
        """Build the benchmark network of ``arch``; forward returns logits of shape (N, num_classes)."""
        return DynamicShapeTinyNet(parse_channels(arch), _check_classes(num_classes))

    def enumerate(self) -> Iterator[str]:
        """All 32,768 channel strings in the benchmark's index order (first width slowest, as NATS-Bench's
        ``traverse_net`` lists them), so position ``i`` is NATS-SSS architecture ``i``."""
        for widths in itertools.product(CANDIDATES, repeat=NUM_LAYERS):
            yield _format(widths)

    def index(self, arch: Any) -> int:
        """The NATS-SSS benchmark index of ``arch``."""
        index = 0
        for width in parse_channels(arch):
            index = index * len(CANDIDATES) + CANDIDATES.index(width)
        return index

    def sample(self, n: int, seed: int = 0) -> list[str]:
        """``n`` distinct channel strings drawn uniformly without replacement (``random.Random(seed)``)."""
        indices = random.Random(seed).sample(range(self.size), _check_count(n, self.size))
        return [_format(tuple(CANDIDATES[(i // 8**k) % 8] for k in reversed(range(NUM_LAYERS)))) for i in indices]

    encoding = tuple(f"channels{i}" for i in range(NUM_LAYERS))

    def encode(self, arch: Any) -> np.ndarray:
        """The five widths as numbers (trees split on them directly; their order is meaningful).

        >>> from near.spaces import get
        >>> get("nats-sss").encode("8:16:24:32:64").tolist()
        [8.0, 16.0, 24.0, 32.0, 64.0]
        """
        return np.array(parse_channels(arch), dtype=float)

    def num_parameters(self, arch: Any, num_classes: int = 10) -> int:
        """Parameters of the built network, computed from the layer list."""
        return network_parameters(parse_arch(GENOTYPE), parse_channels(arch), _REDUCTIONS, _check_classes(num_classes))
