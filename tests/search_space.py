"""A small synthetic search space with a known optimum, for the search tests (also loaded from its file).

Four hidden layers, each 2 … 64 wide: 6⁴ = 1,296 MLPs. The ``params`` proxy is highest for the widest
network, ``(64, 64, 64, 64)``, and grows with every width, so a search that climbs finds it.
"""

from __future__ import annotations

import math
import random

from torch import nn

WIDTHS = (2, 4, 8, 16, 32, 64)
LAYERS = 4
OPTIMUM = "64-64-64-64"


class Widths:
    name = "test-widths"

    def sample(self, rng: random.Random) -> tuple[int, ...]:
        return tuple(rng.choice(WIDTHS) for _ in range(LAYERS))

    def mutate(self, arch: tuple[int, ...], rng: random.Random) -> tuple[int, ...]:
        layer = rng.randrange(LAYERS)
        return tuple(rng.choice([w for w in WIDTHS if w != v]) if i == layer else v for i, v in enumerate(arch))

    def build(self, arch: tuple[int, ...], num_classes: int = 10) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten()]
        width = 3 * 4 * 4
        for next_width in arch:
            layers += [nn.Linear(width, next_width), nn.ReLU()]
            width = next_width
        return nn.Sequential(*layers, nn.Linear(width, num_classes))

    def key(self, arch: tuple[int, ...]) -> str:
        return "-".join(map(str, arch))

    def encode(self, arch: tuple[int, ...]) -> list[float]:
        return [math.log2(w) for w in arch]


class NoMutate:
    name = "broken"

    def sample(self, rng):
        return 1

    def build(self, arch, num_classes=10):
        return nn.Linear(1, 1)


class BadSample(Widths):
    name = "bad-sample"

    def sample(self, rng):
        raise RuntimeError("no architectures today")


def evaluate(arch: tuple[int, ...]) -> float:
    """A stand-in for training: the accuracy is the sum of log-widths; 2-wide first layers fail, 4-wide give NaN."""
    if arch[0] == 2:
        raise RuntimeError("out of memory")
    if arch[0] == 4:
        return math.nan
    return sum(math.log2(w) for w in arch)
