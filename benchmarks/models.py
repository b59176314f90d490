"""Benchmark networks: an NB201-style cell network (17 cells/blocks) and an MNIST-sized MLP.

The cell network follows the NAS-Bench-201 skeleton (stem, 3 × 5 cells, two residual reduction
blocks, BN-ReLU-GAP-Linear) with the benchmark's best cell; it is here only to time NEAR on a
realistic CNN until the search spaces are part of the package.
"""

from __future__ import annotations

from torch import nn

BEST_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def relu_conv_bn(c_in, c_out, kernel, stride=1):
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)
    )


def op(name: str, c: int) -> nn.Module:
    return {
        "none": lambda: None,
        "skip_connect": nn.Identity,
        "nor_conv_1x1": lambda: relu_conv_bn(c, c, 1),
        "nor_conv_3x3": lambda: relu_conv_bn(c, c, 3),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
    }[name]()


class Cell(nn.Module):
    def __init__(self, arch: str, c: int):
        super().__init__()
        self.edges = nn.ModuleDict()
        for j, node in enumerate(arch.strip("|").split("|+|"), start=1):
            for edge in node.split("|"):
                name, i = edge.split("~")
                module = op(name, c)
                if module is not None:
                    self.edges[f"{i}->{j}"] = module

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            total = 0
            for i in range(j):
                edge = self.edges[f"{i}->{j}"] if f"{i}->{j}" in self.edges else None
                total = total + (edge(nodes[i]) if edge is not None else 0 * nodes[i])
            nodes.append(total)
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a, self.conv_b = relu_conv_bn(c_in, c_out, 3, 2), relu_conv_bn(c_out, c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def nb201_like(arch: str = BEST_CELL, c: int = 16, cells: int = 5, num_classes: int = 10) -> nn.Sequential:
    layers = [nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]
    for stage, width in enumerate((c, 2 * c, 4 * c)):
        if stage:
            layers.append(Reduction(width // 2, width))
        layers += [Cell(arch, width) for _ in range(cells)]
    layers += [
        nn.BatchNorm2d(4 * c),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * c, num_classes),
    ]
    return nn.Sequential(*layers)


def mnist_mlp(hidden=(200, 200)) -> nn.Sequential:
    widths = (784, *hidden)
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 10))
