"""near._files: a file is written whole or not at all; a failed block leaves no folder or file behind."""

from __future__ import annotations

import pytest

from near import _files


def test_write_atomic_writes_text_as_utf8_and_bytes_as_given(tmp_path):
    assert _files.write_atomic(tmp_path / "a.csv", "ρ,τ\r\n1,2\n").read_bytes() == "ρ,τ\r\n1,2\n".encode()
    _files.write_atomic(tmp_path / "a.csv", b"\x89PNG")  # replaces the old file
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"] and (tmp_path / "a.csv").read_bytes() == b"\x89PNG"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    _files.write_atomic(tmp_path / "a.txt", "old")

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_files.os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        _files.write_atomic(tmp_path / "a.txt", "new")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old"


def test_new_folder_removes_what_a_failed_block_created(tmp_path):
    (tmp_path / "kept").mkdir()
    written = []
    with pytest.raises(RuntimeError), _files.new_folder(tmp_path / "kept" / "a" / "b", written) as folder:
        written.append(_files.write_atomic(folder / "x.png", b"x"))
        raise RuntimeError("the second plot failed")
    assert [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")] == ["kept"]
    with _files.new_folder(tmp_path / "kept" / "c") as folder:
        _files.write_atomic(folder / "y.png", b"y")
    assert (tmp_path / "kept" / "c" / "y.png").is_file()
