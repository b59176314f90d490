"""A search space of your own for ``near search``: two hidden layers of 8 … 64 units.

    near search examples/widths_space.py:Widths --images ../shared/data/images/cifar10_960.npz --proxies params \
        --max-archs 10 --population 4 --num-images 16 --out runs/own-space

``params`` likes the widest network, so the search should return ``64-64``. The members a space needs
(``name``, ``sample``, ``mutate``, ``build``; optionally ``key`` and ``encode``) are described in
``near.search.protocol`` and docs/search.md.
"""

from __future__ import annotations

import random

import torch

import near.search


class Widths(near.search.SearchSpace):
    """Two hidden ReLU layers for 3×32×32 images; an architecture is the pair of widths."""

    name = "docs-widths"
    choices = (8, 16, 32, 64)

    def sample(self, rng: random.Random) -> tuple[int, int]:
        return (rng.choice(self.choices), rng.choice(self.choices))

    def mutate(self, arch: tuple[int, int], rng: random.Random) -> tuple[int, int]:
        layer = rng.randrange(2)
        width = rng.choice([w for w in self.choices if w != arch[layer]])
        return (width, arch[1]) if layer == 0 else (arch[0], width)

    def build(self, arch: tuple[int, int], num_classes: int = 10) -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, arch[0]), torch.nn.ReLU(),
            torch.nn.Linear(arch[0], arch[1]), torch.nn.ReLU(), torch.nn.Linear(arch[1], num_classes),
        )  # fmt: skip

    def key(self, arch: tuple[int, int]) -> str:
        return f"{arch[0]}-{arch[1]}"
