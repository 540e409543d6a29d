"""The blob store keeps originals unchanged, durable, read-only, and notices when they are not."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from einvoice.ledger.blobs import BlobCorrupt, BlobMissing, BlobStore


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def test_put_get_round_trip_and_layout(store: BlobStore) -> None:
    data = b"<Invoice>\x00\xff</Invoice>"
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == store.root / sha[:2] / sha[2:4] / sha
    assert store.get(sha) == data
    assert store.exists(sha) and store.verify(sha) is None


def test_blob_files_are_read_only_and_no_temp_files_remain(store: BlobStore) -> None:
    sha = store.put(b"abc")
    mode = stat.S_IMODE(store.path(sha).stat().st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert [p.name for p in store.path(sha).parent.iterdir()] == [sha]


def test_put_is_idempotent_and_leaves_the_existing_file_untouched(store: BlobStore) -> None:
    sha = store.put(b"same bytes")
    before = store.path(sha).stat()
    os.utime(store.path(sha), ns=(1_000_000_000, 1_000_000_000))
    assert store.put(b"same bytes") == sha
    after = store.path(sha).stat()
    assert after.st_ino == before.st_ino and after.st_mtime_ns == 1_000_000_000


def test_put_fsyncs_file_and_directory(store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    store.put(b"durable")
    assert len(synced) >= 2  # the file, then the directory holding its name (plus new shard folders)


def test_changed_blob_is_detected(store: BlobStore) -> None:
    sha = store.put(b"original")
    path = store.path(sha)
    path.chmod(0o644)
    path.write_bytes(b"forged")
    with pytest.raises(BlobCorrupt, match=sha):
        store.get(sha)
    problem = store.verify(sha)
    assert problem is not None and "changed" in problem and sha in problem


def test_missing_blob_is_detected(store: BlobStore) -> None:
    sha = store.put(b"to be deleted")
    store.path(sha).unlink()
    with pytest.raises(BlobMissing):
        store.get(sha)
    assert "missing" in (store.verify(sha) or "")
    assert not store.exists(sha)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "a" * 63])
def test_only_sha256_names_are_accepted(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError):
        store.path(bad)
