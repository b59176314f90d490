"""The results store: what goes in comes out (NaN as NULL), nothing is overwritten, other setups are refused."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest

from near.bench import ResultStore, StoredResult
from near.bench.store import options_hash
from near.errors import DataError, StoreConflictError

SETUP = {"space": "nb201", "images_sha256": "abc", "num_classes": 10}


def test_results_round_trip_with_nan_as_null(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultStore(path, SETUP) as store:
        key = store.register("near", {"repetitions": 2})
        store.add("arch-a", 7, [("near", key, 12.5, None, 0.25)], "cpu")
        store.add("arch-b", 7, [("near", key, math.nan, "near: dead network", 0.5)], "cpu")
        store.add("arch-a", 7, [("near", key, 99.0, None, 1.0)], "cpu")  # already there: kept as it was
        found = store.fetch(7, {"near": key})
        assert store.fetch(8, {"near": key}) == {} and store.fetch(7, {"near": options_hash({})}) == {}
    assert found["arch-a", "near"].value == 12.5 and found["arch-a", "near"].seconds == 0.25
    assert math.isnan(found["arch-b", "near"].value) and found["arch-b", "near"].reason == "near: dead network"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM results WHERE arch = 'arch-b'").fetchone() == (None,)
        assert db.execute("SELECT options FROM options").fetchone() == ('{"repetitions":2}',)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_reopening_reads_earlier_results_and_options_hash_is_order_free(tmp_path):
    assert options_hash({"a": 1, "b": "x"}) == options_hash({"b": "x", "a": 1}) != options_hash({"a": 2, "b": "x"})
    with ResultStore(tmp_path / "r.sqlite", SETUP) as store:
        store.add("arch", 0, [("params", options_hash({}), 3.0, None, None)], "cpu")
    with ResultStore(tmp_path / "r.sqlite", dict(reversed(SETUP.items()))) as store:
        assert store.fetch(0, {"params": options_hash({})})["arch", "params"].value == 3.0


def test_a_different_setup_is_refused_naming_the_differences(tmp_path):
    with ResultStore(tmp_path / "r.sqlite", SETUP) as store:
        store.add("arch", 0, [("params", options_hash({}), 3.0, None, None)], "cpu")
    with pytest.raises(StoreConflictError) as error:
        ResultStore(tmp_path / "r.sqlite", {**SETUP, "num_classes": 100})
    assert "holds results of a different setup (num_classes: stored 10, now 100)" in str(error.value)
    assert "Choose another --out directory" in str(error.value)


def test_a_store_without_results_takes_the_new_setup(tmp_path):
    """A run that failed before its first score (e.g. too few images) must not lock in its setup."""
    ResultStore(tmp_path / "r.sqlite", SETUP).close()
    with ResultStore(tmp_path / "r.sqlite", {**SETUP, "num_classes": 100}) as store:
        store.add("arch", 0, [("params", options_hash({}), 3.0, None, None)], "cpu")
    with pytest.raises(StoreConflictError, match="num_classes: stored 100, now 10"):
        ResultStore(tmp_path / "r.sqlite", SETUP)


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "r.sqlite").write_text("not a database, but somebody's notes " * 100)
    with pytest.raises(DataError, match="r.sqlite is not a results store"):
        ResultStore(tmp_path / "r.sqlite", SETUP)


def test_failures_are_kept_until_forgotten(tmp_path):
    with ResultStore(tmp_path / "r.sqlite", SETUP) as store:
        key = options_hash({})
        store.add("ok", 0, [("params", key, 3.0, None, 0.1)], "cpu")
        store.add("crashed", 0, [("params", key, math.nan, "failed: the worker process died", None)], "cpu", True)
        found = store.fetch(0, {"params": key})
        assert found["crashed", "params"].failed and not found["ok", "params"].failed
        assert store.forget_failed(1, {"params": key}) == 0  # another seed: nothing of it failed
        assert store.forget_failed(0, {"params": key}) == 1
        assert set(store.fetch(0, {"params": key})) == {("ok", "params")}


def test_a_version_1_store_gains_the_failed_column_and_keeps_its_results(tmp_path):
    path = tmp_path / "r.sqlite"
    with sqlite3.connect(path) as db:  # what near wrote before failures were recorded
        db.executescript(
            """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE options (hash TEXT NOT NULL, proxy TEXT NOT NULL, options TEXT NOT NULL,
                                  PRIMARY KEY (hash, proxy));
            CREATE TABLE results (arch TEXT NOT NULL, proxy TEXT NOT NULL, options TEXT NOT NULL,
                                  seed INTEGER NOT NULL, value REAL, reason TEXT, seconds REAL, device TEXT,
                                  created TEXT NOT NULL, PRIMARY KEY (arch, proxy, options, seed));"""
        )
        setup = json.dumps(SETUP, sort_keys=True, separators=(",", ":"))
        db.execute("INSERT INTO meta VALUES ('schema', '1'), ('setup', ?)", (setup,))
        db.execute("INSERT INTO results VALUES ('arch', 'params', 'h', 0, 3.0, NULL, 0.1, 'cpu', 'then')")
    with ResultStore(path, SETUP) as store:
        assert store.fetch(0, {"params": "h"})["arch", "params"] == StoredResult(3.0, None, 0.1, False)
        store.add("new", 0, [("params", "h", math.nan, "failed: x", None)], "cpu", True)
        assert store.fetch(0, {"params": "h"})["new", "params"].failed
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)


def test_an_edited_value_or_setup_is_a_data_error_naming_the_row(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultStore(path, SETUP) as store:
        key = store.register("near", {})
        store.add("arch-a", 7, [("near", key, 12.5, None, 0.25)], "cpu")
    with sqlite3.connect(path) as db:  # SQLite keeps text in a REAL column when it does not read as a number
        db.execute("UPDATE results SET value = 'twelve'")
    with ResultStore(path, SETUP) as store, pytest.raises(DataError, match=r"stored value of near for 'arch-a' .*"
                                                           r"is 'twelve', not a number; .*Delete that row"):
        store.fetch(7, {"near": key})
    with sqlite3.connect(path) as db:
        db.execute("UPDATE results SET value = 12.5, seconds = 'slow'")
    with ResultStore(path, SETUP) as store, pytest.raises(DataError, match="stored seconds"):
        store.fetch(7, {"near": key})
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '{space: nb201' WHERE key = 'setup'")
    with pytest.raises(DataError, match=r"the recorded setup is not JSON .*'\{space: nb201'.*choose another --out"):
        ResultStore(path, SETUP)


def test_a_store_on_a_read_only_file_system_is_a_data_error_and_keeps_what_it_holds(tmp_path):
    # Root ignores file modes, so the read-only file system is SQLite's own read-only connection (what
    # SQLite answers on a file system remounted read-only is the same error).
    path = tmp_path / "results.sqlite"
    with ResultStore(path, SETUP) as store:
        key = store.register("near", {})
        store.add("arch-a", 7, [("near", key, 12.5, None, 0.25)], "cpu")
        store._db.close()
        store._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        for write in (
            lambda: store.add("arch-b", 7, [("near", key, 1.0, None, 0.1)], "cpu"),
            lambda: store.register("snip", {}),
            lambda: store.forget_failed(7, {"near": key}),
        ):
            with pytest.raises(DataError, match=r"cannot write the results store .*readonly.*run the same command"):
                write()
        assert store.fetch(7, {"near": key})["arch-a", "near"].value == 12.5
    with ResultStore(path, SETUP) as store:
        assert list(store.fetch(7, {"near": key})) == [("arch-a", "near")]
