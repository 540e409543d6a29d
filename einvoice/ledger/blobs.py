"""Content-addressed store of original documents: the bytes as received, named by their SHA-256.

A blob is durable before ``put`` returns (temp file → fsync → link → fsync of the directory), so
the ledger row that names it can be committed right after. Blobs are written once, made
read-only and never changed; reading checks the hash, so a changed file cannot pass unnoticed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class BlobError(Exception):
    """A stored original cannot be given back as it was received."""


class BlobMissing(BlobError):
    pass


class BlobCorrupt(BlobError):
    pass


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entry in ``path`` survive a power loss."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class BlobStore:
    """Files under ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``; two levels keep directories small."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls) -> BlobStore:
        from einvoice.config import get_settings

        return cls(get_settings().effective_blob_dir)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256; storing the same bytes again is a no-op."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.is_file():
            return sha256
        self._make_dirs(target.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, _READ_ONLY)
            try:
                # link() never replaces: a blob another process stored meanwhile stays untouched.
                os.link(tmp, target)
            except FileExistsError:
                pass
            except OSError:  # file systems without hard links
                os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        _fsync_dir(target.parent)
        return sha256

    def get(self, sha256: str) -> bytes:
        """The original bytes; ``BlobMissing``/``BlobCorrupt`` rather than wrong content."""
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is missing from {self.root}") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise BlobCorrupt(f"blob {sha256} was changed: its content now hashes to {actual}")
        return data

    def verify(self, sha256: str) -> str | None:
        """A plain-words problem with the stored blob, or None if it is intact."""
        path = self.path(sha256)
        if not path.is_file():
            return f"blob {sha256} is missing (expected at {path})"
        actual = _hash_file(path)
        if actual != sha256:
            return f"blob {sha256} was changed: the file at {path} now hashes to {actual}"
        return None

    def _make_dirs(self, directory: Path) -> None:
        """Create the shard folders and fsync each parent, so the new entries are durable too."""
        missing = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):
                folder.mkdir()
            _fsync_dir(folder.parent)
