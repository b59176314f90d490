"""near.data: built-in datasets, file formats, scaling and the error messages users see."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.datasets
import torch

from near.data import BUILTIN_DATASETS, LoadedData, load_data
from near.errors import DataError, NearError


def test_builtin_names_are_documented():
    assert set(BUILTIN_DATASETS) == {"digits", "iris", "wine", "breast_cancer"}
    assert all(description.strip() for description in BUILTIN_DATASETS.values())


def test_digits_are_8x8_images_scaled_to_unit_range():
    data = load_data("digits")
    raw = sklearn.datasets.load_digits()
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == torch.float32
    assert data.input_shape == (1, 8, 8)
    assert float(data.x.min()) == 0.0 and float(data.x.max()) == 1.0
    np.testing.assert_allclose(data.x[5, 0].numpy(), raw.images[5] / 16, rtol=1e-6)
    assert data.y.dtype == torch.int64 and data.y.tolist() == raw.target.tolist()
    assert data.num_classes == 10 and data.name == "digits" and len(data) == 1797


@pytest.mark.parametrize(
    ("name", "samples", "features", "classes"),
    [
        ("iris", 150, 4, 3),
        ("wine", 178, 13, 3),
        ("breast_cancer", 569, 30, 2),
    ],
)
def test_tabular_builtins_are_standardised(name, samples, features, classes):
    data = load_data(name)
    assert data.x.shape == (samples, features) and data.x.dtype == torch.float32
    assert data.input_shape == (features,) and data.num_classes == classes
    x = data.x.double()
    np.testing.assert_allclose(x.mean(0).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0, unbiased=False).numpy(), 1, atol=1e-5)


def test_uint8_npz_images_are_scaled_and_keep_labels(tmp_path):
    images = np.arange(4 * 3 * 2 * 2, dtype=np.uint8).reshape(4, 3, 2, 2) * 5
    np.savez(tmp_path / "imgs.npz", images=images, labels=np.array([0, 2, 1, 2]))
    data = load_data(str(tmp_path / "imgs.npz"))
    assert data.x.shape == (4, 3, 2, 2) and data.x.dtype == torch.float32
    np.testing.assert_allclose(data.x.numpy(), images / 255, rtol=1e-6)
    assert data.y.tolist() == [0, 2, 1, 2] and data.y.dtype == torch.int64
    assert data.num_classes == 3 and data.name == "imgs.npz"


def test_grey_uint8_images_gain_a_channel_axis(tmp_path):
    np.savez(tmp_path / "grey.npz", images=np.full((3, 5, 5), 255, dtype=np.uint8))
    data = load_data(str(tmp_path / "grey.npz"))
    assert data.input_shape == (1, 5, 5) and torch.all(data.x == 1.0)
    assert data.y is None and data.num_classes is None


def test_float_npz_with_x_y_keys_is_cast_unchanged(tmp_path):
    x = np.array([[1.5, -300.0], [2.0, 1e4]])
    np.savez(tmp_path / "xy.npz", x=x, y=np.array([1.0, 0.0]))
    data = load_data(str(tmp_path / "xy.npz"))
    assert data.x.dtype == torch.float32 and data.x.tolist() == x.tolist()
    assert data.y.tolist() == [1, 0]


def test_npy_holds_features_only(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((6, 2, 3), dtype=np.int32) * 7)
    data = load_data(str(tmp_path / "f.npy"))
    assert data.x.shape == (6, 2, 3) and torch.all(data.x == 7.0)  # int32 is not an image: not scaled
    assert data.y is None and data.num_classes is None


@pytest.mark.parametrize("column", ["label", "Labels", "y", "TARGET", "class"])
def test_csv_label_column_is_found_by_name(tmp_path, column):
    (tmp_path / "t.csv").write_text(f"a,{column},b\n1.5,0,2\n-1,2,3e2\n0,1,4\n")
    data = load_data(str(tmp_path / "t.csv"))
    assert data.x.tolist() == [[1.5, 2.0], [-1.0, 300.0], [0.0, 4.0]]
    assert data.y.tolist() == [0, 2, 1] and data.num_classes == 3


def test_csv_without_header_or_label_column_has_no_labels(tmp_path):
    (tmp_path / "plain.csv").write_text("1,2\n3,4\n")
    (tmp_path / "named.csv").write_text("a,b\n1,2\n3,4\n")
    for name in ("plain.csv", "named.csv"):
        data = load_data(str(tmp_path / name))
        assert data.x.tolist() == [[1.0, 2.0], [3.0, 4.0]] and data.y is None


def test_csv_class_names_become_sorted_indices(tmp_path):
    (tmp_path / "s.csv").write_text("f,class\n1,versicolor\n2,setosa\n3,versicolor\n")
    assert load_data(str(tmp_path / "s.csv")).y.tolist() == [1, 0, 1]


def test_num_classes_is_max_label_plus_one_or_distinct_count():
    x = torch.zeros(3, 1)
    assert LoadedData(x, torch.tensor([0, 5, 5]), "gap").num_classes == 6
    assert LoadedData(x, torch.tensor([-1, -2, -1]), "negative").num_classes == 2


def _error(spec) -> str:
    with pytest.raises(DataError) as info:
        load_data(str(spec))
    assert isinstance(info.value, NearError) and isinstance(info.value, ValueError)
    return str(info.value)


def test_unknown_name_lists_builtins_and_mentions_files():
    message = _error("digitz")
    assert "'digitz'" in message and all(name in message for name in BUILTIN_DATASETS)
    assert ".npz" in message and "file" in message


def test_missing_file(tmp_path):
    assert "not found" in _error(tmp_path / "absent.npz")


def test_unsupported_extension(tmp_path):
    (tmp_path / "d.txt").write_text("1,2\n")
    message = _error(tmp_path / "d.txt")
    assert "unsupported" in message and ".csv" in message


def test_directory_is_rejected(tmp_path):
    assert "directory" in _error(tmp_path)


def test_npz_without_expected_keys_names_the_keys_found(tmp_path):
    np.savez(tmp_path / "k.npz", data=np.ones((2, 2)), targets=np.ones(2))
    message = _error(tmp_path / "k.npz")
    assert "['data', 'targets']" in message and "'images'" in message and "'x'" in message


def test_non_numeric_csv_cell_is_located(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    message = _error(tmp_path / "bad.csv")
    assert "line 3" in message and "'b'" in message and "'oops'" in message


def test_ragged_csv(tmp_path):
    (tmp_path / "r.csv").write_text("1,2\n3\n")
    assert "line 2" in _error(tmp_path / "r.csv")


@pytest.mark.parametrize("content", ["", "a,b\n"])
def test_empty_csv(tmp_path, content):
    (tmp_path / "e.csv").write_text(content)
    assert "empty" in _error(tmp_path / "e.csv")


def test_empty_array(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((0, 3)))
    assert "empty" in _error(tmp_path / "e.npy")


def test_label_count_must_match(tmp_path):
    np.savez(tmp_path / "m.npz", x=np.ones((4, 2)), y=np.arange(3))
    message = _error(tmp_path / "m.npz")
    assert "3 labels for 4 samples" in message


def test_fractional_labels_are_regression_targets(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.ones((2, 2)), y=np.array([0.5, 1.0]))
    data = load_data(str(tmp_path / "f.npz"))
    assert data.is_regression and data.y.dtype == torch.float32 and data.y.tolist() == [0.5, 1.0]
    assert data.num_classes is None and data.num_outputs == 1
    np.savez(tmp_path / "k.npz", x=np.ones((3, 2)), y=np.array([[0.5, 1.0], [2, 3], [4, 5]]))
    assert load_data(str(tmp_path / "k.npz")).num_outputs == 2
    (tmp_path / "e.csv").write_text("a,b,energy\n1,2,-0.25\n3,4,1.5\n5,6,2\n")  # no "label" name: a feature
    assert load_data(str(tmp_path / "e.csv")).x.shape == (3, 3)
    (tmp_path / "t.csv").write_text("a,b,target\n1,2,-0.25\n3,4,1.5\n5,6,2\n")
    assert load_data(str(tmp_path / "t.csv")).y.tolist() == [-0.25, 1.5, 2.0]
    (tmp_path / "w.csv").write_text("a,label\n1,0\n2,1.0\n3,2\n")  # whole numbers stay class indices
    assert load_data(str(tmp_path / "w.csv")).num_classes == 3


def test_target_names_the_regression_column(tmp_path):
    (tmp_path / "e.csv").write_text("a,Energy,b\n1,-0.25,2\n3,1.5,4\n5,2,6\n")
    data = load_data(str(tmp_path / "e.csv"), target="Energy")
    assert data.x.tolist() == [[1, 2], [3, 4], [5, 6]] and data.y.tolist() == [-0.25, 1.5, 2.0]
    assert data.is_regression and data.num_outputs == 1 and data.columns == ("a", "b")
    assert load_data(str(tmp_path / "e.csv"), target="energy").y.tolist() == [-0.25, 1.5, 2.0]  # case-blind
    assert load_data(str(tmp_path / "e.csv")).columns == ("a", "Energy", "b")  # no target: all are features


def test_several_targets_make_one_regression_target_per_sample(tmp_path):
    (tmp_path / "f.csv").write_text("fx,x,fy\n1,10,2\n3,20,4\n")
    for target in ("fx,fy", ["fx", "fy"]):
        data = load_data(str(tmp_path / "f.csv"), target=target)
        assert data.y.tolist() == [[1, 2], [3, 4]] and data.num_outputs == 2 and data.x.tolist() == [[10], [20]]


def test_target_overrides_the_label_column_by_name(tmp_path):
    (tmp_path / "t.csv").write_text("label,energy\n1,0.5\n0,1.5\n")
    data = load_data(str(tmp_path / "t.csv"), target="energy")
    assert data.y.tolist() == [0.5, 1.5] and data.x.tolist() == [[1], [0]] and data.columns == ("label",)


@pytest.mark.parametrize(
    ("content", "target", "expected"),
    [
        ("a,b,E\n1,2,3\n", "energy", "no column named 'energy'; its columns are a, b, E"),
        ("a,Energy,ENERGY\n1,2,3\n", "energy", "2 columns named 'energy'"),
        ("1,2,3\n", "energy", "no header row"),
        ("a,b\n1,2\n", "a,b", "leaves no features"),
        ("a,b,c\n1,x,2\n", "b,c", "several target columns"),
    ],
)
def test_target_errors_name_the_columns(tmp_path, content, target, expected):
    (tmp_path / "d.csv").write_text(content)
    with pytest.raises(DataError) as info:
        load_data(str(tmp_path / "d.csv"), target=target)
    assert expected in str(info.value)


def test_target_in_npz_and_where_it_does_not_apply(tmp_path):
    np.savez(tmp_path / "m.npz", x=np.ones((2, 3)), y=np.array([0, 1]), energy=np.array([0.5, -1.0]))
    assert load_data(str(tmp_path / "m.npz"), target="energy").y.tolist() == [0.5, -1.0]
    with pytest.raises(DataError, match="its arrays are energy, x, y"):
        load_data(str(tmp_path / "m.npz"), target="forces")
    np.save(tmp_path / "n.npy", np.ones((2, 2)))
    with pytest.raises(DataError, match="has no names"):
        load_data(str(tmp_path / "n.npy"), target="y")
    with pytest.raises(DataError, match="built-in"):
        load_data("iris", target="y")
    with pytest.raises(DataError, match="distinct, non-empty"):
        load_data(str(tmp_path / "m.npz"), target="a,,b")


def test_nan_labels_and_features_are_rejected(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.ones((2, 2)), y=np.array([np.nan, 1.0]))
    assert "NaN" in _error(tmp_path / "f.npz")
    np.save(tmp_path / "n.npy", np.array([[1.0, np.nan]]))
    assert "NaN" in _error(tmp_path / "n.npy")


def test_mnist_from_shared_data(shared_data):
    data = load_data(str(shared_data / "images" / "mnist_5k.npz"))
    assert data.x.shape == (5000, 1, 28, 28) and data.input_shape == (1, 28, 28)
    assert float(data.x.min()) == 0.0 and float(data.x.max()) == 1.0
    assert data.num_classes == 10 and torch.bincount(data.y).tolist() == [500] * 10


def test_cifar_from_shared_data(shared_data):
    path = shared_data / "images" / "cifar10_960.npz"
    data = load_data(str(path))
    raw = np.load(path)["images"]
    assert data.x.shape == (960, 3, 32, 32) and data.num_classes == 10
    np.testing.assert_allclose(data.x[:4].numpy(), raw[:4] / 255, rtol=1e-6)
