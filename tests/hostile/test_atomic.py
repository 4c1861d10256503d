"""Atomic writes (kind 7): permissions, durability, no check-then-replace race, all or none."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import cmp_edge._safe.atomic as atomic
from cmp_edge._safe.atomic import atomic_files, atomic_write, write_chunks
from cmp_edge.errors import OutputError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_chunks(tmp_path / "a.bin", [b"x"])
        with atomic_files([tmp_path / "b.ply", tmp_path / "c.png"]) as temps:
            for t in temps:
                t.write_bytes(b"y")
    finally:
        os.umask(old)
    assert [_mode(tmp_path / n) for n in ("a.bin", "b.ply", "c.png")] == [0o640] * 3


def test_replaced_files_keep_their_mode(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)
    write_chunks(target, [b"new"])
    assert target.read_bytes() == b"new" and _mode(target) == 0o600
    target.chmod(0o604)
    with atomic_files([target]) as (tmp,):
        tmp.write_bytes(b"newer")
    assert target.read_bytes() == b"newer" and _mode(target) == 0o604


def test_file_and_folder_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    write_chunks(tmp_path / "a.bin", [b"x"])
    assert synced == ["file", "dir"]
    synced.clear()
    with atomic_files([tmp_path / "b.ply", tmp_path / "c.png"]) as temps:
        for t in temps:
            t.write_bytes(b"y")
    assert synced == ["file", "file", "dir"]


def test_no_overwrite_has_no_check_then_replace_race(tmp_path: Path) -> None:
    """A file created by someone else after the check is never replaced."""
    target = tmp_path / "a.bin"
    with pytest.raises(OutputError, match="file exists"):
        with atomic_write(target, overwrite=False) as handle:
            handle.write(b"ours")
            target.write_bytes(b"theirs")  # appears between the check and the rename
    assert target.read_bytes() == b"theirs"
    other = tmp_path / "b.bin"
    with pytest.raises(OutputError, match="file exists"):
        with atomic_files([other, target.with_name("c.bin")], overwrite=False) as temps:
            for t in temps:
                t.write_bytes(b"ours")
            target.with_name("c.bin").write_bytes(b"theirs")
    assert target.with_name("c.bin").read_bytes() == b"theirs"
    assert not other.exists()  # all or none: the first output was withdrawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "c.bin"]


def test_failed_multi_file_write_restores_replaced_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = (tmp_path / n for n in ("x.ply", "x.json", "x.png"))
    first.write_bytes(b"old mesh")
    second.write_bytes(b"old params")
    real = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == third:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OutputError, match="x.png: cannot write"):
        with atomic_files([first, second, third]) as temps:
            for t in temps:
                t.write_bytes(b"new")
    assert first.read_bytes() == b"old mesh" and second.read_bytes() == b"old params"
    assert not third.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.ply"]  # no leftovers
