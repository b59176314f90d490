"""Binding a model factory to the data: what it takes is passed, what the data cannot give is named."""

from __future__ import annotations

import pytest
from torch import nn

from near.errors import ModelError
from near.spec import bind_data


def test_shape_and_classes_are_passed_where_the_factory_takes_them():
    def build(input_shape, num_classes):
        return nn.Linear(input_shape[0], num_classes)

    assert bind_data(build, (5,), 3)().out_features == 3
    assert bind_data(lambda input_shape: nn.Linear(input_shape[0], 2), (5,), 3)().in_features == 5


def test_data_without_labels_leaves_the_default_and_names_a_required_num_classes():
    def defaulted(input_shape, num_classes=7):
        return nn.Linear(input_shape[0], num_classes)

    def required(input_shape, num_classes):
        return nn.Linear(input_shape[0], num_classes)

    assert bind_data(defaulted, (5,), None)().out_features == 7  # not overridden by None
    with pytest.raises(ModelError, match=r"required\(input_shape, num_classes\) needs num_classes, but the data has "
                                         r"no labels to count them; give data with labels"):
        bind_data(required, (5,), None)


def test_near_score_with_unlabelled_data_names_the_missing_classes(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from near.cli import main

    (tmp_path / "nets.py").write_text(
        "from torch import nn\n\n\ndef build(input_shape, num_classes):\n"
        "    return nn.Linear(input_shape[0], num_classes)\n"
    )
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(32, 5)).astype("float32"))
    result = CliRunner().invoke(main, ["score", f"{tmp_path / 'nets.py'}:build", "--data", str(tmp_path / "x.npy")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "needs num_classes, but the data has no labels" in result.output
