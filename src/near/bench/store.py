"""The results store of a benchmark directory: ``DIR/results.sqlite`` (stdlib ``sqlite3``, WAL journal).

One row per (architecture key, proxy, options hash, seed) holds the value (NULL for NaN), the reason
of a NaN, the seconds it took, the device, a UTC timestamp and whether the architecture **failed** (its
worker died, passed the time limit or raised): a failure is a result too — a re-run does not repeat
it unless asked to (:meth:`ResultStore.forget_failed`). All results of one architecture are
committed in one transaction as soon as they are computed, so an interrupted run loses at most the
architecture in progress and never leaves a half-written row; a re-run reads what is there and
computes the rest. Rows are inserted with ``INSERT OR IGNORE`` and SQLite serialises writers; in a
``near bench`` run only the driver writes (executors send their results to it), and the run
directory's lock keeps a second run out.

A store also records its **setup** — everything outside the key that a value depends on (search
space, the images and their normalisation, the number of classes). Opening it with another setup is
refused with :class:`~near.errors.StoreConflictError`: results of different images must not mix.
Everything inside the key (proxies, their options, seeds) may differ between runs sharing a store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import DataError, StoreConflictError

__all__ = ["FILENAME", "ResultStore", "StoredResult", "options_hash"]

FILENAME = "results.sqlite"
SCHEMA_VERSION = "2"  # 2: the failed column (a version-1 store gains it when opened)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS options (hash TEXT NOT NULL, proxy TEXT NOT NULL, options TEXT NOT NULL,
                                    PRIMARY KEY (hash, proxy));
CREATE TABLE IF NOT EXISTS results (
    arch TEXT NOT NULL,
    proxy TEXT NOT NULL,
    options TEXT NOT NULL,
    seed INTEGER NOT NULL,
    value REAL,
    reason TEXT,
    seconds REAL,
    device TEXT,
    created TEXT NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (arch, proxy, options, seed)
);
"""


@dataclass(frozen=True)
class StoredResult:
    """One stored value: ``value`` (NaN when the proxy could not be computed), ``reason`` and ``seconds``."""

    value: float
    reason: str | None
    seconds: float | None
    failed: bool = False


def _unwritable(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite refused to write the file (as opposed to a file that is not a store)."""
    text = str(error).lower()
    return any(words in text for words in ("readonly", "read-only", "unable to open", "disk i/o", "full", "locked"))


def _unwritable_message(path: Path, error: sqlite3.DatabaseError) -> str:
    return (
        f"cannot write the results store {path} ({error}); every result stored so far is kept: make its directory "
        "writable (a read-only file system, a full disk, another program holding it) and run the same command again"
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def options_hash(options: Mapping[str, Any]) -> str:
    """A short stable hash of a proxy's options (JSON with sorted keys; the caller includes the defaults)."""
    return hashlib.sha256(_canonical(dict(options)).encode()).hexdigest()[:16]


class ResultStore:
    """The results of one benchmark directory; a context manager that closes the connection.

    Parameters
    ----------
    path
        The SQLite file (created with its tables when missing).
    setup
        JSON-serialisable mapping of what the stored values depend on beyond their key (see the module
        docstring); recorded by the first writer and compared by every later one (while the store holds no
        result, a new setup replaces the recorded one).
    """

    def __init__(self, path: str | Path, setup: Mapping[str, Any]) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                self._upgrade()
                # a store without results (a run that failed before its first score) takes the new setup
                empty = self._db.execute("SELECT NOT EXISTS (SELECT 1 FROM results)").fetchone()[0]
                verb = "REPLACE" if empty else "IGNORE"
                self._db.execute(f"INSERT OR {verb} INTO meta VALUES ('setup', ?)", (_canonical(dict(setup)),))
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as error:
            self.close()
            if _unwritable(error):
                raise DataError(_unwritable_message(self.path, error)) from None
            raise DataError(
                f"{self.path} is not a results store ({error}); move it away or choose another --out"
            ) from None
        if meta["schema"] != SCHEMA_VERSION:
            self.close()
            raise StoreConflictError(
                f"{self.path} has store schema {meta['schema']}, this version of near writes {SCHEMA_VERSION}; "
                "choose another --out directory"
            )
        try:
            stored = json.loads(meta["setup"])
        except (json.JSONDecodeError, TypeError) as error:
            self.close()
            raise DataError(
                f"{self.path}: the recorded setup is not JSON ({error}: {str(meta['setup'])[:60]!r}); the store "
                "was edited or damaged. Move it away (or delete it to start over) or choose another --out"
            ) from None
        now = json.loads(_canonical(dict(setup)))
        if stored != now:
            self.close()
            differences = "; ".join(
                f"{key}: stored {stored.get(key)!r}, now {now.get(key)!r}"
                for key in sorted(set(stored) | set(now))
                if stored.get(key) != now.get(key)
            )
            raise StoreConflictError(
                f"{self.path} holds results of a different setup ({differences}); their scores would not be "
                "comparable. Choose another --out directory, or delete that file to start over"
            )

    def _upgrade(self) -> None:
        """Bring a version-1 store (no failed column; its rows never failed) to the current schema."""
        if self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "1":
            self._db.execute("ALTER TABLE results ADD COLUMN failed INTEGER NOT NULL DEFAULT 0")
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))

    def register(self, proxy: str, options: Mapping[str, Any]) -> str:
        """Record ``proxy``'s options (for people reading the store) and return their hash, the key part."""
        key = options_hash(options)
        with self._writing(), self._db:
            self._db.execute("INSERT OR IGNORE INTO options VALUES (?, ?, ?)", (key, proxy, _canonical(dict(options))))
        return key

    def fetch(self, seed: int, keys: Mapping[str, str]) -> dict[tuple[str, str], StoredResult]:
        """Every stored result of ``seed`` for the proxies in ``keys`` (proxy → options hash), by (arch, proxy)."""
        found: dict[tuple[str, str], StoredResult] = {}
        query = "SELECT arch, value, reason, seconds, failed FROM results WHERE proxy = ? AND options = ? AND seed = ?"
        for proxy, key in keys.items():
            for arch, value, reason, seconds, failed in self._db.execute(query, (proxy, key, seed)):
                for column, number in (("value", value), ("seconds", seconds), ("failed", failed)):
                    if not isinstance(number, (int, float)) and (number is not None or column == "failed"):
                        raise DataError(
                            f"{self.path}: the stored {column} of {proxy} for {arch!r} (seed {seed}) is {number!r}, "
                            "not a number; the store was edited or damaged. Delete that row (or the file, to "
                            "start over) and run the same command again to recompute it"
                        )
                value = math.nan if value is None else float(value)
                found[arch, proxy] = StoredResult(value, reason, seconds, bool(failed))
        return found

    def forget_failed(self, seed: int, keys: Mapping[str, str]) -> int:
        """Delete the failed results of ``seed`` for the proxies in ``keys``, so that they are computed again;
        returns how many there were."""
        with self._writing(), self._db:
            self._db.execute("BEGIN IMMEDIATE")
            return sum(
                self._db.execute(
                    "DELETE FROM results WHERE failed AND proxy = ? AND options = ? AND seed = ?", (proxy, key, seed)
                ).rowcount
                for proxy, key in keys.items()
            )

    def add(
        self,
        arch: str,
        seed: int,
        results: Iterable[tuple[str, str, float, str | None, float | None]],
        device: str,
        failed: bool = False,
    ) -> None:
        """Store (proxy, options hash, value, reason, seconds) results of one architecture in one transaction;
        ``failed``: the architecture failed as a whole (see the module docstring)."""
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [
            (arch, proxy, key, seed, None if math.isnan(value) else float(value), reason, seconds, device, created,
             int(failed))
            for proxy, key, value, reason, seconds in results
        ]  # fmt: skip
        with self._writing(), self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A write the file system refuses (read-only, full disk) is a :class:`DataError` saying what to do."""
        try:
            yield
        except sqlite3.OperationalError as error:
            if not _unwritable(error):
                raise
            raise DataError(_unwritable_message(self.path, error)) from None

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
