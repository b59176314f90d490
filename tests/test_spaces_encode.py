"""space.encode: NB201 one-hot ops per edge, NATS-SSS widths, NB101 padded adjacency + ops, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from near import spaces
from near.errors import ArchitectureError, OptionError


def test_nb201_one_hot_per_edge():
    space = spaces.get("nb201")
    arch = "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|"
    vector = space.encode(arch)
    assert vector.shape == (30,) == (len(space.encoding),)
    blocks = vector.reshape(6, 5)
    np.testing.assert_array_equal(blocks.sum(axis=1), np.ones(6))
    assert [space.encoding[5 * e + int(np.argmax(b))] for e, b in enumerate(blocks)] == [
        "edge01=avg_pool_3x3",
        "edge02=none",
        "edge12=skip_connect",
        "edge03=nor_conv_1x1",
        "edge13=nor_conv_3x3",
        "edge23=none",
    ]
    distinct = {tuple(space.encode(a)) for a in space.sample(200, seed=0)}
    assert len(distinct) == 200  # the encoding is one-to-one


def test_nats_sss_widths():
    space = spaces.get("nats-sss")
    np.testing.assert_array_equal(space.encode("64:8:16:56:24"), [64, 8, 16, 56, 24])
    assert space.encoding == ("channels0", "channels1", "channels2", "channels3", "channels4")


def test_nb101_padded_adjacency_and_ops():
    space = spaces.get("nb101")
    # 4 vertices: in → conv3x3 → maxpool → out, plus in → out; vertex 3 (the output) goes to position 6
    matrix = [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
    vector = space.encode((matrix, ops))
    assert vector.shape == (36,) == (len(space.encoding),)
    edges = {space.encoding[i] for i in np.flatnonzero(vector[:21])}
    assert edges == {"edge01", "edge06", "edge12", "edge26"}
    on = {space.encoding[21 + i] for i in np.flatnonzero(vector[21:])}
    assert on == {"vertex1=conv3x3-bn-relu", "vertex2=maxpool3x3"}
    # a dangling vertex is pruned first: the same encoding
    padded = [[0, 1, 0, 1, 1], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    padded_ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]
    padded[2][3] = 0
    np.testing.assert_array_equal(space.encode((padded, padded_ops))[21:], vector[21:])


def test_encode_rejects_bad_architectures_and_spaces_without_one():
    with pytest.raises(ArchitectureError):
        spaces.get("nb201").encode("|bogus~0|")

    class Bare(spaces.Space):
        name = "bare"

    with pytest.raises(OptionError, match="no architecture encoding"):
        Bare().encode("x")
