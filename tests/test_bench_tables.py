"""Ground-truth tables: both layouts, keys, the seeded sample, and a message for every malformed file."""

from __future__ import annotations

import json
import time

import pytest

from bench_data import NB101_HEADER, NB101_MATRIX, NB101_OPS, NB101_SHARED_ROWS, NB201_ROWS, write_table
from near.bench import read_table, shared_rows
from near.bench.tables import mixed_scales
from near.errors import ArchitectureError, DataError, OptionError


def test_nb201_table_rows_keep_index_key_and_accuracy(tmp_path):
    table = read_table(write_table(tmp_path / "t.csv"), "nb201")
    assert [(r.index, r.arch_str, r.accuracy) for r in table.rows] == NB201_ROWS
    assert table.accuracy_column == "test_accuracy" and table.space == "nb201" and len(table) == 6
    assert all(r.arch == r.arch_str for r in table.rows)


def test_nb101_table_without_index_numbers_rows_and_keys_the_pruned_cell(tmp_path):
    dangling = "[[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]"  # vertex 2 leads nowhere: pruned
    path = write_table(tmp_path / "nb101.csv", [(NB101_MATRIX, NB101_OPS, 90), (dangling, NB101_OPS, 80)], NB101_HEADER)
    table = read_table(path, "nb101")
    assert [r.index for r in table.rows] == [0, 1] and table.accuracy_column == "val_accuracy"
    assert table.rows[0].arch_str == (
        '{"matrix":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]],"ops":["input","conv3x3-bn-relu","maxpool3x3","output"]}'
    )
    assert json.loads(table.rows[1].arch_str) == {
        "matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]],
        "ops": ["input", "conv3x3-bn-relu", "output"],
    }
    # the key column round-trips: a scores.csv (arch_str, accuracy) is a valid NB101 table too
    again = write_table(tmp_path / "scores.csv", [(0, table.rows[0].arch_str, 90.0)], "index,arch_str,accuracy")
    assert read_table(again, "nb101").rows[0].arch_str == table.rows[0].arch_str


def test_nats_sss_tables_have_the_nb201_layout(tmp_path):
    table = read_table(
        write_table(tmp_path / "sss.csv", [(0, "8:16:24:32:64", 80.5), (1, "64:64:64:64:64", 93)]), "nats-sss"
    )
    assert [r.arch_str for r in table.rows] == ["8:16:24:32:64", "64:64:64:64:64"]
    with pytest.raises(DataError, match=r"line 2 \(row 0\): width 12 at position 0"):
        read_table(write_table(tmp_path / "bad.csv", [(0, "12:16:24:32:64", 80.5)]), "nats-sss")


def test_sample_is_seeded_sorted_and_extends_smaller_samples(tmp_path):
    table = read_table(write_table(tmp_path / "t.csv"), "nb201")
    three = table.sample(3, seed=5)
    assert [r.index for r in three] == sorted(r.index for r in three)
    assert table.sample(3, seed=5) == three
    assert set(three) < set(table.sample(5, seed=5))
    assert {tuple(r.index for r in table.sample(3, seed=s)) for s in range(10)} != {tuple(r.index for r in three)}
    assert table.sample(None, seed=5) == sorted(table.rows, key=lambda r: r.index)


def test_sample_larger_than_the_table_is_refused(tmp_path):
    table = read_table(write_table(tmp_path / "t.csv"), "nb201")
    with pytest.raises(
        OptionError, match=r"cannot sample 7 architectures from .*t.csv, which has 6 rows; give --sample 6"
    ):
        table.sample(7, seed=0)


ARCH = NB201_ROWS[0][1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty; expected a CSV file with a header row"),
        ("index,arch_str,test_accuracy\n", "has a header but no rows"),
        (
            "index,arch,test_accuracy\n0,x,1\n",
            "has columns index, arch, test_accuracy; a nb201 table needs arch_str, an accuracy column",
        ),
        (
            "index,arch_str,acc\n0,x,1\n",
            "has columns index, arch_str, acc but no accuracy column; expected one of "
            "test_accuracy, val_accuracy, valid_accuracy, accuracy",
        ),
        ("arch_str,test_accuracy,val_accuracy\nx,1,2\n", r"several accuracy columns \(test_accuracy, val_accuracy\)"),
        (
            f"index,arch_str,test_accuracy\n0,{ARCH},1\n1,|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n",
            r"line 3 \(row 1\): unknown op 'conv' on edge 0→1",
        ),
        (
            f"index,arch_str,test_accuracy\n0,{ARCH},1\n1,|none~0|+|none~0|,2\n",
            r"line 3 \(row 1\): arch string .* has 2 node\(s\)",
        ),
        (
            f"index,arch_str,test_accuracy\n5,{ARCH},1\n5,{ARCH},2\n",
            r"line 3 \(row 1\): index 5 appears twice \(first on line 2\)",
        ),
        (f"index,arch_str,test_accuracy\nfive,{ARCH},1\n", r"line 2 \(row 0\): index 'five' is not an integer"),
        (
            f"index,arch_str,test_accuracy\n0,{ARCH},high\n",
            r"line 2 \(row 0\): test_accuracy 'high' is not a finite number",
        ),
        (f"index,arch_str,test_accuracy\n0,{ARCH},nan\n", "test_accuracy 'nan' is not a finite number"),
        (f"index,arch_str,test_accuracy\n0,{ARCH},93.5%\n", "'93.5%' is not a finite number; write it without the %"),
        (f"index,arch_str,test_accuracy\n0,{ARCH},-5\n", r"'-5' is not an accuracy \(a percentage or fraction"),
        (f"index,arch_str,test_accuracy\n0,{ARCH},100.5\n", "'100.5' is not an accuracy"),
        (
            f"index,arch_str,test_accuracy,test_accuracy\n0,{ARCH},93,1\n",
            "has the column 'test_accuracy' more than once; keep one",
        ),
        (f"index,arch_str,test_accuracy\n0,{ARCH}\n", r"line 2 \(row 0\): 2 cells where the header has 3 columns"),
    ],
)
def test_malformed_nb201_tables_name_file_line_and_problem(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as error:
        read_table(path, "nb201")
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ("[[0, 1], [1, 0]]", '["input", "output"]', "must be upper triangular"),
        ("[[0, 1, 1], [0, 0, 1]]", '["input", "conv3x3-bn-relu", "output"]', "must be square"),
        ("[[0, 1", '["input", "output"]', "is not valid JSON"),
        (NB101_MATRIX, '["input", "conv5x5", "maxpool3x3", "output"]', "unknown NB101 op 'conv5x5' at vertex 1"),
    ],
)
def test_malformed_nb101_rows_name_the_row(tmp_path, matrix, ops, message):
    path = write_table(tmp_path / "bad101.csv", [(NB101_MATRIX, NB101_OPS, 90), (matrix, ops, 80)], NB101_HEADER)
    with pytest.raises(DataError, match=rf"line 3 \(row 1\): .*{message}"):
        read_table(path, "nb101")


def test_nb101_table_needs_its_columns(tmp_path):
    path = write_table(tmp_path / "t.csv", [(0, "x", 1)], "index,cell,val_accuracy")
    with pytest.raises(DataError, match="a nb101 table needs matrix and ops \\(JSON\\), or arch_str"):
        read_table(path, "nb101")


def test_missing_file_unknown_space_and_unknown_accuracy_column(tmp_path):
    with pytest.raises(DataError, match="table file not found: .*nope.csv"):
        read_table(tmp_path / "nope.csv", "nb201")
    path = write_table(tmp_path / "t.csv")
    with pytest.raises(ArchitectureError, match="unknown search space 'nb202'"):
        read_table(path, "nb202")
    with pytest.raises(DataError, match="has no column 'top1'; its columns are index, arch_str, test_accuracy"):
        read_table(path, "nb201", accuracy_column="top1")
    assert read_table(path, "nb201", accuracy_column="index").rows[1].accuracy == 8.0


def test_shared_nb201_table_reads_and_validates_every_cell_quickly(shared_data):
    start = time.perf_counter()
    table = read_table(shared_data / "nb201" / "nb201_cifar10.csv", "nb201")
    assert time.perf_counter() - start < 5
    assert len(table) == 15_625 and sorted(r.index for r in table.rows) == list(range(15_625))
    best = max(table.rows, key=lambda r: r.accuracy)
    assert (best.index, round(best.accuracy, 2)) == (6111, 94.37)


def test_shared_nb101_table_parses(shared_data):
    table = read_table(shared_data / "nb101" / "nb101_500.csv", "nb101")
    assert len(table) == 500 and [r.index for r in table.rows] == list(range(500))
    assert table.accuracy_column == "val_accuracy" and all(0 < r.accuracy < 100 for r in table.rows)


def test_shared_rows_counts_rows_of_one_architecture_and_bare_cells(tmp_path, shared_data):
    rows = read_table(write_table(tmp_path / "t.csv", NB101_SHARED_ROWS, NB101_HEADER), "nb101").rows
    assert shared_rows(rows).startswith(
        "of the 3 rows, 1 prunes to the bare input→output cell (no operation) and 2 share an architecture with "
        "other rows (2 distinct in all). "
    )
    assert shared_rows(rows[:1]) is None
    assert shared_rows(read_table(write_table(tmp_path / "u.csv"), "nb201").rows) is None
    # NAS-Bench-Suite-Zero's table stores unpruned matrices: pruned, it holds 301 distinct cells, and 55 rows are
    # the bare cell, with three distinct accuracies (NB101 trained every cell three times)
    table = read_table(shared_data / "nb101" / "nb101_500.csv", "nb101")
    assert shared_rows(table.rows).startswith(
        "of the 500 rows, 55 prune to the bare input→output cell (no operation) and 245 share an architecture with "
        "other rows (301 distinct in all). "
    )
    bare = {round(r.accuracy, 2) for r in table.rows if r.arch.num_vertices == 2}
    assert bare == {83.16, 83.46, 83.58}


def test_a_fraction_among_percentages_or_the_reverse_is_named(tmp_path, shared_data):
    odd = [(i, arch, 0.915 if i == 20 else accuracy) for i, arch, accuracy in NB201_ROWS]  # 91.5 % as a fraction
    rows = read_table(write_table(tmp_path / "f.csv", odd), "nb201").rows
    assert mixed_scales(rows) == (
        "1 of the 6 rows look like fractions among percentages from 10 to 93.5 (index 20: 0.915); one scale per "
        "table, or those rows dominate the correlations"
    )
    assert shared_rows(rows) == mixed_scales(rows)
    reverse = [(i, arch, accuracy if i == 3 else accuracy / 100) for i, arch, accuracy in NB201_ROWS]
    assert "1 of the 6 rows look like percentages among fractions from 0.1 to 0.91 (index 3: 93.5)" in mixed_scales(
        read_table(write_table(tmp_path / "r.csv", reverse), "nb201").rows
    )
    fractions = [(i, arch, accuracy / 100) for i, arch, accuracy in NB201_ROWS]
    assert mixed_scales(read_table(write_table(tmp_path / "p.csv", fractions), "nb201").rows) is None
    # below chance of a 120-class task (0.83 %): a diverged network in percent, not a fraction (83 % > the range)
    diverged = [(i, arch, 0.83 if i == 8 else accuracy / 2) for i, arch, accuracy in NB201_ROWS]
    assert mixed_scales(read_table(write_table(tmp_path / "d.csv", diverged), "nb201").rows) is None
    assert mixed_scales(read_table(shared_data / "nb201" / "nb201_cifar10.csv", "nb201").rows) is None
