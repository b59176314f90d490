"""The benchmark harness: score architectures of a NAS benchmark with proxies and compare with their accuracy.

One idea per module: :mod:`~near.bench.tables` (ground-truth CSVs), :mod:`~near.bench.images` (the input
sample), :mod:`~near.bench.store` (``results.sqlite``), :mod:`~near.bench.scoring` (one architecture's work),
:mod:`~near.bench.executors` (where the work runs), :mod:`~near.bench.lock`, :mod:`~near.bench.runner` (the run) and
:mod:`~near.bench.outputs` (``scores.csv``, ``correlations.json``, ``run.json``); a finished run ends with
its report (:func:`near.report.write_report`). The names below load
on first use, so that the command line can read the light modules without importing SciPy and the proxies.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BenchResult": "runner",
    "arch_seed": "scoring",
    "resolve_options": "runner",
    "resolve_proxies": "runner",
    "run": "runner",
    "score_architecture": "scoring",
    "make_executor": "executors",
    "ImageSample": "images",
    "check_fit": "images",
    "load_images": "images",
    "ResultStore": "store",
    "StoredResult": "store",
    "Row": "tables",
    "Table": "tables",
    "read_table": "tables",
    "shared_rows": "tables",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'near.bench' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
