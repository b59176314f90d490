"""Search spaces: parameter counts against the benchmarks' published figures, edge semantics, validation, order.

Reference parameter counts and where they were published:

* NB201 / NATS-TSS ``params`` (MB = Σ numel / 1e6, xautodl ``count_parameters_in_MB``):
  - min / max over all 15,625 cells, per dataset, from ``NAS-Bench-201-v1_1-096897_{cifar10-valid,cifar100,
    ImageNet16-120}.json`` as printed in the docstring of an HPOBench NB201 data script (public GitHub):
    cifar10 0.073306 / 1.531546, cifar100 0.079156 / 1.537396, ImageNet16-120 0.080456 / 1.538696.
    The maximum is attained only by the all-``nor_conv_3x3`` cell; the minimum by every cell without a
    convolution on any edge, the all-``none`` cell among them. The same cifar10 pair appears as the
    ``'params': [0.073306, 1.531546]`` bounds of evoxbench's NB201 benchmark.
  - ``|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|`` = 0.802426 on
    CIFAR-10 (``get_cost_info(hp='12')``), quoted in D-X-Y/NATS-Bench issue #36.
* NB101 ``trainable_parameters``: the README's Inception-like cell = 2,694,282, printed by the official
  colab ``NASBench.ipynb`` (google-research/nasbench), which also prints the isomorphic matrix the dataset
  stores for it; its graph hash ``28cfc7874f6d200472e1a9dcd8650aa0`` is the one google-research's FEC tests use.
* NB101 vertex widths: the cases of google-research/nasbench ``nasbench/tests/model_builder_test.py``.
* NB201 index order: NATS-Bench ``main-tss.py`` (gen_all + ``random.seed(88)`` shuffle); NATS-SSS order:
  ``traverse_net`` of ``exps/NATS-Bench/main-sss.py`` (index 9930 of TSS is the SSS cell, as noted there).

Counts without a published figure are derived by hand from the layer list in comments below.
"""

from __future__ import annotations

import csv
import random

import numpy as np
import pytest
import torch
from torch import nn

import near.spaces as spaces
from near.errors import ArchitectureError, OptionError
from near.spaces import nb101
from near.spaces._ops import FactorizedReduce, InferCell, ReLUConvBN, ResNetBasicblock, Zero

NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
SKIP_CHAIN = "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"  # index 6111
ISSUE36 = "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"

README_CELL = (
    [
        [0, 1, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"],
)
README_CELL_STORED = (  # the same module as the dataset stores it (module_adjacency / module_operations)
    [
        [0, 1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"],
)


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------- registry


def test_registry_lists_gets_and_builds():
    assert spaces.available() == ["nats-sss", "nb101", "nb201"]
    space = spaces.get("nb201")
    assert space.name == "nb201" and spaces.get(space) is space and space.size == 15_625
    assert spaces.get("nats-sss").size == 32_768 and spaces.get("nb101").size == 423_624
    assert isinstance(spaces.build("nb201", NONE), nn.Module)


def test_registry_rejects_unknown_names_and_duplicates():
    with pytest.raises(ArchitectureError, match="unknown search space 'nb301'; expected one of nats-sss, nb101, nb201"):
        spaces.get("nb301")
    with pytest.raises(ValueError, match="registered twice"):
        spaces.register("nb201")(type("Again", (spaces.Space,), {}))
    with pytest.raises(OptionError, match="num_classes must be a positive integer, got 0"):
        spaces.build("nb201", NONE, num_classes=0)


# ------------------------------------------------------------------------------------------------- NB201


@pytest.mark.parametrize(
    ("arch", "num_classes", "expected"),
    [
        (NONE, 10, 73_306),  # published minimum, cifar10-valid
        (NONE, 100, 79_156),  # published minimum, cifar100
        (NONE, 120, 80_456),  # published minimum, ImageNet16-120
        (CONV3, 10, 1_531_546),  # published maximum, cifar10-valid
        (CONV3, 100, 1_537_396),  # published maximum, cifar100
        (CONV3, 120, 1_538_696),  # published maximum, ImageNet16-120
        (ISSUE36, 10, 802_426),  # NATS-Bench issue #36
        # By hand: the all-none network (73,306) plus two nor_conv_3x3 edges per cell, 5 cells per stage,
        # each 9·C² conv weights + 2·C BN: 10·(9·16² + 32) + 10·(9·32² + 64) + 10·(9·64² + 128) = 486,080.
        # (0.559386 is also the 'params' of a cifar10-valid cost_info example in pplib's NB201 evaluator.)
        (RESNET, 10, 559_386),
        # By hand: three 3×3 edges and one 1×1 edge per cell: 73,306 + 15·(9·16² + 32) + 5·(16² + 32)
        # + 15·(9·32² + 64) + 5·(32² + 64) + 15·(9·64² + 128) + 5·(64² + 128) = 1,073,466.
        (BEST, 10, 1_073_466),
    ],
)
def test_nb201_parameter_counts_match_the_benchmark(arch, num_classes, expected):
    space = spaces.get("nb201")
    assert space.num_parameters(arch, num_classes) == expected
    assert count(space.build(arch, num_classes)) == expected


def test_nb201_counting_without_building_agrees_with_the_built_network():
    space = spaces.get("nb201")
    for arch in space.sample(12, seed=3):
        assert space.num_parameters(arch, 100) == count(space.build(arch, 100)), arch


@pytest.mark.parametrize(("size", "num_classes"), [(32, 10), (16, 120), (20, 100)])
def test_nb201_returns_logits_for_any_input_size(size, num_classes):
    net = spaces.build("nb201", BEST, num_classes=num_classes)
    out = net(torch.randn(2, 3, size, size))
    assert type(out) is torch.Tensor and out.shape == (2, num_classes)


def test_nb201_has_xautodl_structure():
    net = spaces.build("nb201", BEST)
    names = {type(m).__name__ for m in net.modules()}
    assert {"TinyNetwork", "InferCell", "ResNetBasicblock", "ReLUConvBN"} <= names
    cells = [m for m in net.cells if isinstance(m, InferCell)]
    assert len(cells) == 15 and sum(isinstance(m, ResNetBasicblock) for m in net.cells) == 2
    assert all(len(cell.layers) == 6 for cell in cells)  # one module per edge, no unused candidates
    assert isinstance(net.lastact[1], nn.ReLU) and net.lastact[1].inplace
    assert isinstance(net.global_pooling, nn.AdaptiveAvgPool2d) and net.classifier.bias is not None
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            assert module.bias is None
        if isinstance(module, nn.BatchNorm2d):
            assert module.affine and module.track_running_stats
        if isinstance(module, ReLUConvBN):
            assert isinstance(module.op[0], nn.ReLU) and not module.op[0].inplace
    shortcut = net.cells[5].downsample  # AvgPool 2×2 then 1×1 conv, no BN, no ReLU
    assert [type(m) for m in shortcut] == [nn.AvgPool2d, nn.Conv2d]


def test_nb201_all_none_cells_output_zeros():
    net = spaces.build("nb201", NONE)
    outputs = []
    for cell in net.cells:
        if isinstance(cell, InferCell):
            assert all(isinstance(layer, Zero) for layer in cell.layers)
            cell.register_forward_hook(lambda module, args, out: outputs.append(out))
    net(torch.randn(2, 3, 32, 32))
    assert len(outputs) == 15 and all(torch.count_nonzero(out) == 0 for out in outputs)


def test_nb201_node_values_are_sums_of_edges():
    x = torch.randn(2, 16, 8, 8)
    chain = spaces.build("nb201", SKIP_CHAIN).cells[0]
    assert torch.equal(chain(x), x)  # 0→1→2→3 through identities: the cell is the identity
    fully = spaces.build("nb201", ALL_SKIP).cells[0]
    # node1 = x, node2 = x + node1 = 2x, node3 = x + node1 + node2 = 4x (a sum, not a concatenation)
    torch.testing.assert_close(fully(x), 4 * x)


def test_nb201_build_is_deterministic_for_a_torch_seed():
    torch.manual_seed(0)
    first = spaces.build("nb201", BEST).state_dict()
    torch.manual_seed(0)
    second = spaces.build("nb201", BEST).state_dict()
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("|none~0|+|none~0|none~1|", ["has 2 node(s) separated by '+'; expected 3"]),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", ["node 2 of arch string", "has 1 incoming edge(s); expected 2"]),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", ["unknown op 'conv' on edge 0→1", "expected one of none,"]),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", ["edge 'none~1' into node 1", "must read 'op~0'"]),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", ["edge 'none' into node 1", "must read 'op~0'"]),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", ["must start and end with '|'"]),
        (42, ["must be an arch string", "got int 42"]),
    ],
)
def test_nb201_validation_names_the_problem(arch, message):
    with pytest.raises(ArchitectureError) as error:
        spaces.get("nb201").validate(arch)
    assert all(part in str(error.value) for part in message), str(error.value)


def test_nb201_validate_normalises():
    space = spaces.get("nb201")
    assert space.validate(f"  {RESNET}\n") == RESNET
    ops = ["nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "skip_connect"]
    assert space.validate(ops) == RESNET


def test_nb201_enumerates_every_cell_in_benchmark_index_order(shared_data):
    space = spaces.get("nb201")
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 15_625
    with open(shared_data / "nb201" / "nb201_cifar10.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15_625
    assert all(archs[int(row["index"])] == row["arch_str"] for row in rows)
    assert space.index(BEST) == 6111 and space.index(spaces.nats_sss.GENOTYPE) == 9930


def test_nb201_benchmark_cells_build_and_run(shared_data):
    with open(shared_data / "nb201" / "nb201_cifar10.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    space = spaces.get("nb201")
    for row in random.Random(0).sample(rows, 4):
        net = space.build(row["arch_str"], num_classes=10)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_nb201_sample_is_deterministic_and_without_replacement():
    space = spaces.get("nb201")
    first = space.sample(500, seed=7)
    assert first == space.sample(500, seed=7) and first != space.sample(500, seed=8)
    assert len(set(first)) == 500 and all(space.validate(a) == a for a in first)
    assert len(set(space.sample(15_625, seed=1))) == 15_625
    with pytest.raises(OptionError, match="cannot sample n=15626 distinct architectures"):
        space.sample(15_626)


# ---------------------------------------------------------------------------------------------- NATS-SSS


def test_sss_parameter_counts():
    space = spaces.get("nats-sss")
    # By hand for 8:8:8:8:8 (CIFAR-10): stem 3·9·8 + 16 = 232; cell (four 3×3 edges, one skip): 4·(9·64 + 16) = 2,368;
    # block 8→8: 9·64 + 16 + 9·64 + 16 + 64 = 1,216; lastact 16; classifier 8·10 + 10 = 90.
    # 232 + 3·2,368 + 2·1,216 + 16 + 90 = 11,714.
    assert space.num_parameters("8:8:8:8:8") == count(space.build("8:8:8:8:8")) == 11_714
    # With every width 16/32/64 the SSS network is TinyNetwork(C=16, N=1) of the same cell.
    tiny = spaces.nb201.TinyNetwork(16, 1, spaces._ops.parse_arch(spaces.nats_sss.GENOTYPE), 10)
    assert space.num_parameters("16:32:32:64:64") == count(tiny)
    for arch in space.sample(10, seed=2):
        assert space.num_parameters(arch, 120) == count(space.build(arch, 120)), arch


def test_sss_cells_that_change_width_project_node_zero():
    net = spaces.build("nats-sss", "8:16:24:32:40")
    cell = net.cells[2]  # 16 → 24
    assert (cell.in_dim, cell.out_dim) == (16, 24)
    skip = cell.layers[3]  # skip_connect~0 into node 3: 1×1 conv + BN, no ReLU
    assert isinstance(skip, FactorizedReduce) and skip.stride == 1 and not hasattr(skip, "relu")
    assert skip.conv.in_channels == 16 and skip.conv.out_channels == 24
    assert cell.layers[0].op[1].in_channels == 16 and cell.layers[2].op[1].in_channels == 24
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert net.classifier.in_features == 40


def test_sss_enumerates_in_benchmark_index_order():
    space = spaces.get("nats-sss")
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 32_768
    assert archs[0] == "8:8:8:8:8" and archs[1] == "8:8:8:8:16" and archs[-1] == "64:64:64:64:64"
    assert space.index("64:64:64:64:64") == 32_767 and archs[space.index("24:8:64:40:16")] == "24:8:64:40:16"
    sample = space.sample(100, seed=1)
    assert sample == space.sample(100, seed=1) and len(set(sample)) == 100


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("8:8:8:8", "has 4 widths; expected 5"),
        ("8:8:8:8:12", "width 12 at position 4 of '8:8:8:8:12' is not a candidate; expected one of 8, 16, 24"),
        ("8:8:x:8:8", "must be 5 integers separated by ':'"),
        (3.5, "must be a channel string like"),
    ],
)
def test_sss_validation_names_the_problem(arch, message):
    with pytest.raises(ArchitectureError, match=message):
        spaces.get("nats-sss").validate(arch)
    assert spaces.get("nats-sss").validate([8, 16, 24, 32, 40]) == "8:16:24:32:40"


# ------------------------------------------------------------------------------------------------- NB101


def test_nb101_parameter_count_matches_the_dataset():
    space = spaces.get("nb101")
    for cell in (README_CELL, README_CELL_STORED):
        assert space.num_parameters(cell) == 2_694_282
    assert count(space.build(README_CELL)) == 2_694_282
    assert space.validate(README_CELL).graph_hash() == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert space.validate(README_CELL_STORED).graph_hash() == "28cfc7874f6d200472e1a9dcd8650aa0"


@pytest.mark.parametrize(
    ("matrix", "io", "expected"),
    [
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], (8, 16), [8, 16, 16, 16]),
        ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], (16, 8), [16, 8, 8, 8]),
        ([[0, 1], [0, 0]], (5, 1), [5, 1]),
        ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], (8, 15), [8, 8, 7, 15]),
        ([[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5], (8, 8), [8, 3, 3, 2, 8]),
        ([[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5], (8, 9), [8, 5, 5, 4, 9]),
        ([[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5], (8, 15), [8, 8, 7, 7, 15]),
    ],
)
def test_nb101_vertex_channels_match_nasbench(matrix, io, expected):
    assert nb101.compute_vertex_channels(*io, np.array(matrix)) == expected


def test_nb101_prunes_like_modelspec_and_accepts_every_form():
    matrix = np.array(README_CELL[0])
    matrix[5, 6] = 0  # vertex 5 (maxpool) now leads nowhere: pruned, as are its in-edges
    cell = nb101.parse_cell((matrix, README_CELL[1]))
    assert cell.num_vertices == 6 and "maxpool3x3" not in cell.ops and cell.num_edges == 7
    as_json = {
        "matrix": str(README_CELL[0]),
        "ops": '["input", "conv1x1-bn-relu", "conv3x3-bn-relu", '
        '"conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"]',
    }
    labels = [-1, 1, 0, 0, 0, 2, -2]
    forms = [README_CELL, as_json, (np.array(README_CELL[0]), labels), nb101.parse_cell(README_CELL)]
    assert len({nb101.parse_cell(form) for form in forms}) == 1


def test_nb101_input_to_output_only_cell_is_a_projection():
    net = spaces.build("nb101", ([[0, 1], [0, 0]], ["input", "output"]))
    cell = net.layers[0]
    assert list(cell.projections) == ["1"] and len(cell.vertex_ops) == 0
    assert net(torch.randn(1, 3, 8, 8)).shape == (1, 10)


def test_nb101_structure_and_shapes():
    net = spaces.build("nb101", README_CELL_STORED, num_classes=5)
    names = [type(m).__name__ for m in net.layers]
    assert names == ["NB101Cell"] * 3 + ["MaxPool2d"] + ["NB101Cell"] * 3 + ["MaxPool2d"] + ["NB101Cell"] * 3
    assert net.stem.conv_bn_relu[0].out_channels == 128 and net.classifier.in_features == 512
    assert isinstance(net.global_pooling, nn.AdaptiveAvgPool2d)
    assert not any("ReLU" in type(m).__name__ for m in net.modules() if not isinstance(m, nn.ReLU))
    assert all(m.bias is None for m in net.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        assert net(torch.randn(1, 3, 32, 32)).shape == (1, 5)
        assert net(torch.randn(2, 3, 9, 9)).shape == (2, 5)  # odd sizes: 'same' pooling 9 → 5 → 3


NB101_ERRORS = [
    (([[0, 1, 1], [0, 0, 1]], ["input", "conv3x3-bn-relu", "output"]), r"must be square .* got shape \(2, 3\)"),
    (([[0, 1], [1, 0]], ["input", "output"]), "must be upper triangular .* has an edge 1→0"),
    (([[0, 2], [0, 0]], ["input", "output"]), "entries must be 0 or 1"),
    (([[0, 1], [0, 0]], ["input", "conv3x3-bn-relu", "output"]), "ops list has 3 entries but the matrix has 2"),
    (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"]), "unknown NB101 op 'conv5x5' at vertex 1"),
    (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["output", "conv1x1-bn-relu", "input"]), "must start with 'input'"),
    (([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "maxpool3x3", "output"]), "not connected: no path"),
    (
        (
            np.triu(np.ones((8, 8), dtype=int), 1) * np.eye(8, k=1, dtype=int),
            ["input"] + ["maxpool3x3"] * 6 + ["output"],
        ),
        "has 8 vertices after pruning; at most 7",
    ),
    (
        (np.triu(np.ones((7, 7), dtype=int), 1), ["input"] + ["maxpool3x3"] * 5 + ["output"]),
        "has 21 edges after pruning; at most 9",
    ),
    (({"matrix": "[[0, 1], [0, 0]"}), "needs keys 'matrix' and 'ops'"),
    (("[[0, 1], [0, 0]", '["input", "output"]'), "is not valid JSON"),
    ("cell", "must be \\(matrix, ops\\)"),
]


@pytest.mark.parametrize(("arch", "message"), NB101_ERRORS)
def test_nb101_validation_names_the_problem(arch, message):
    with pytest.raises(ArchitectureError, match=message):
        spaces.get("nb101").validate(arch)


def test_nb101_enumerate_needs_the_dataset():
    with pytest.raises(ArchitectureError, match="enumerating NB101 needs the NAS-Bench-101 dataset"):
        spaces.get("nb101").enumerate()


def test_nb101_sample_is_deterministic_valid_and_unique():
    space = spaces.get("nb101")
    cells = space.sample(30, seed=4)
    assert cells == space.sample(30, seed=4) and cells != space.sample(30, seed=5)
    assert len({cell.graph_hash() for cell in cells}) == 30
    assert all(cell.num_vertices <= 7 and cell.num_edges <= 9 and space.validate(cell) == cell for cell in cells)


def test_nb101_dataset_cells_validate_and_build(shared_data):
    with open(shared_data / "nb101" / "nb101_500.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 500
    space = spaces.get("nb101")
    cells = [space.validate({"matrix": row["matrix"], "ops": row["ops"]}) for row in rows]
    counts = [space.num_parameters(cell) for cell in cells]
    # 49,979,274 is the largest trainable_parameters of the dataset (MAX_TP of a public NB101 predictor script).
    assert all(0 < n <= 49_979_274 for n in counts)
    for index in (0, 250, 499):
        net = space.build(cells[index])
        assert count(net) == counts[index]
    with torch.no_grad():
        assert net(torch.randn(1, 3, 16, 16)).shape == (1, 10)
