"""Fixtures shared by the test files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark data folder (never copied into the repository); fails, not skips, when missing."""
    folder = Path(os.environ.get("NEAR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not folder.is_dir():
        pytest.fail(
            f"shared data folder {folder} not found: set NEAR_SHARED_DATA to the folder holding images/, nb201/ …",
            pytrace=False,
        )
    return folder
