"""Install rule packs into the rules directory, atomically, from a folder, a zip or pinned URLs.

Everything is built in a staging directory inside ``rules_dir`` first; only when every requested
pack has been built, compiled and hashed are the pack directories swapped in by rename and
``packs.json`` rewritten. A download whose SHA-256 is not pinned in the manifest is refused
unless the administrator explicitly allows it (and is then shown the hash to pin).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath

from einvoice.rules.build import CompileFn, build_pack, copy_into, package_version
from einvoice.rules.manifest import Manifest, PackSpec, load_manifest
from einvoice.rules.store import (
    COMPILED_DIR,
    FORMAT,
    PACKS_JSON,
    InstalledPack,
    RulePackError,
    content_hash,
    read_packs_json,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]  # (pack name or "", message)

MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
MAX_ZIP_MEMBERS = 50_000
MAX_ZIP_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_ZIP_RATIO = 200  # uncompressed / compressed, checked for members above 1 MiB
DOWNLOAD_TIMEOUT_S = 120


def _noop(pack: str, message: str) -> None:
    log.info("%s%s", f"{pack}: " if pack else "", message)


@contextlib.contextmanager
def _install_lock(rules_dir: Path) -> Iterator[None]:
    """Two concurrent installs into one rules_dir would swap directories under each other."""
    with open(rules_dir / ".install.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- zip handling -----------------------------------------------------------------------------


def _member_target(dest: Path, name: str) -> Path:
    pure = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or name.startswith("/")
        or pure.is_absolute()
        or ".." in pure.parts
        or (pure.parts and ":" in pure.parts[0])
    ):
        raise RulePackError(f"unsafe path in zip archive: {name!r}")
    target = (dest / pure).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise RulePackError(f"unsafe path in zip archive: {name!r}")
    return target


def safe_extract_zip(
    archive: Path,
    dest: Path,
    *,
    max_members: int = MAX_ZIP_MEMBERS,
    max_total_bytes: int = MAX_ZIP_TOTAL_BYTES,
    max_ratio: int = MAX_ZIP_RATIO,
    select: Callable[[str], bool] | None = None,
) -> None:
    """Extract refusing path traversal, absolute paths, links, encryption and zip bombs.

    Every member is checked; ``select`` limits which ones are written (a whole upstream
    repository archive is mostly irrelevant to a rule pack).
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise RulePackError(f"not a readable zip archive: {archive}: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise RulePackError(f"zip archive has {len(infos)} members, limit {max_members}")
        targets = []
        for info in infos:
            target = _member_target(dest, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise RulePackError(f"symbolic link in zip archive: {info.filename!r}")
            if info.flag_bits & 0x1:
                raise RulePackError(f"encrypted member in zip archive: {info.filename!r}")
            if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(info.compress_size, 1):
                raise RulePackError(f"suspicious compression ratio in zip archive: {info.filename!r}")
            if select is None or select(info.filename):
                targets.append((info, target))
        if sum(info.file_size for info, _ in targets) > max_total_bytes:
            raise RulePackError(f"zip archive unpacks to more than {max_total_bytes} bytes")
        written = 0
        for info, target in targets:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                # Count real bytes: the sizes in the zip headers may lie.
                while chunk := src.read(1024 * 1024):
                    written += len(chunk)
                    if written > max_total_bytes:
                        raise RulePackError(f"zip archive unpacks to more than {max_total_bytes} bytes")
                    out.write(chunk)


def _single_child_dir(path: Path) -> Path | None:
    entries = [p for p in path.iterdir() if p.name not in ("__MACOSX",)]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return None


def _standards_root(extracted: Path, specs: list[PackSpec]) -> Path:
    """A zipped standards folder may hold the checkouts at its root or inside one wrapper folder."""
    expected = {PurePosixPath(p).parts[0] for s in specs for p in s.local_paths}
    root = extracted
    for _ in range(3):
        if any((root / name).exists() for name in expected):
            return root
        child = _single_child_dir(root)
        if child is None:
            break
        root = child
    return root


# --- downloads --------------------------------------------------------------------------------


def download(url: str, dest: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> str:
    """Fetch ``url`` into ``dest`` with a size limit; returns the SHA-256 of the bytes received."""
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(dest, "wb") as out:
            while chunk := response.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise RulePackError(f"download of {url} exceeds {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RulePackError(f"cannot download {url}: {exc}") from exc
    return digest.hexdigest()


def _with_requirements(manifest: Manifest, specs: list[PackSpec]) -> list[PackSpec]:
    seen: dict[str, PackSpec] = {}
    todo = list(specs)
    while todo:
        spec = todo.pop(0)
        if spec.name in seen:
            continue
        seen[spec.name] = spec
        todo.extend(manifest.get(dep) for dep in spec.requires)
    return list(seen.values())


def _under(rel: str, prefix: str) -> bool:
    rel, prefix = rel.rstrip("/"), prefix.rstrip("/")
    return rel == prefix or rel.startswith(prefix + "/") or prefix.startswith(rel + "/")


def _wanted(name: str, archive_paths: list[str]) -> bool:
    """Whether a zip member lies under one of the archive paths (at the root or in one top folder)."""
    parts = PurePosixPath(name).parts
    candidates = [name, "/".join(parts[1:])] if len(parts) > 1 else [name]
    return any(_under(c, p) for c in candidates if c for p in archive_paths)


def _archive_member(extracted: Path, archive_path: str) -> Path:
    """Archive paths are relative to the archive root, or to its single top folder (GitHub style)."""
    direct = extracted / PurePosixPath(archive_path)
    if direct.exists():
        return direct
    child = _single_child_dir(extracted)
    if child is not None and (child / PurePosixPath(archive_path)).exists():
        return child / PurePosixPath(archive_path)
    raise RulePackError(f"{archive_path} not found in the downloaded archive")


def fetch_sources(
    manifest: Manifest,
    specs: list[PackSpec],
    work: Path,
    *,
    allow_unpinned: bool,
    progress: Progress,
) -> tuple[Path, dict[str, str]]:
    """Download the manifest URLs of ``specs`` and lay them out like a standards folder.

    Returns that folder and, per URL, the SHA-256 actually received.
    """
    needed = [s for s in _with_requirements(manifest, specs) if not s.package_only]
    by_url: dict[str, list[PackSpec]] = {}
    for spec in needed:
        if not spec.url:
            raise RulePackError(
                f"rule pack {spec.name!r} has no download URL in the manifest; install it with --from PATH"
            )
        by_url.setdefault(spec.url, []).append(spec)

    pins: dict[str, str] = {}
    for url, users in by_url.items():
        pinned = {s.sha256 for s in users if s.sha256}
        if len(pinned) > 1:
            raise RulePackError(f"manifest pins {url} with different sha256 values")
        pins[url] = pinned.pop() if pinned else ""
        content_pinned = all(s.content_sha256 for s in users)  # then the installed files are checked instead
        if not pins[url] and not content_pinned and not allow_unpinned:
            raise RulePackError(
                f"refusing to download {url} (rule packs {', '.join(s.name for s in users)}): "
                "the manifest pins neither its sha256 nor the content of its packs. Pin the archive's "
                f"sha256 in {manifest.path}, install from a local folder with --from PATH, "
                "or pass --allow-unpinned to download anyway and see the hash to pin."
            )

    root = work / "standards"
    root.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    for index, (url, users) in enumerate(by_url.items()):
        archive = work / f"download-{index}.zip"
        progress("", f"downloading {url}")
        actual = download(url, archive)
        seen[url] = actual
        if pins[url] and actual != pins[url]:
            raise RulePackError(f"sha256 mismatch for {url}: got {actual}, manifest pins {pins[url]}")
        if not pins[url]:
            progress("", f"UNPINNED download {url} has sha256 {actual} (pin it in {manifest.path.name}); "
                         "the installed files are checked against the manifest's content_sha256")
            log.warning("unpinned download %s has sha256 %s", url, actual)
        extracted = work / f"download-{index}"
        wanted = [p for spec in users for p in spec.archive_paths]
        safe_extract_zip(archive, extracted, select=partial(_wanted, archive_paths=wanted))
        for spec in users:
            # Extra local paths (beyond archive_paths) come from the archives of required packs.
            for archive_path, local_path in zip(spec.archive_paths, spec.local_paths, strict=False):
                target = root / PurePosixPath(local_path)
                if not target.exists():
                    copy_into(_archive_member(extracted, archive_path), target)
        shutil.rmtree(extracted)
        archive.unlink()
    return root, seen


# --- install ----------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_packs_json(rules_dir: Path, records: dict[str, dict[str, object]]) -> None:
    payload = json.dumps({"format": FORMAT, "packs": records}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=rules_dir, prefix=".packs-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload + "\n")
    os.chmod(tmp, 0o644)  # validation workers may run as another user
    os.replace(tmp, rules_dir / PACKS_JSON)


def _resolve_source(
    source: Path | str | None,
    manifest: Manifest,
    specs: list[PackSpec],
    staging: Path,
    *,
    allow_unpinned: bool,
    progress: Progress,
) -> tuple[Path | None, Callable[[PackSpec], str], dict[str, str]]:
    """The standards folder to build from, how to label each pack's source, and download hashes."""
    if source is None:
        buildable = [s for s in specs if not s.package_only]
        if not buildable:
            return None, lambda spec: spec.url, {}
        root, seen = fetch_sources(
            manifest, buildable, staging / "download", allow_unpinned=allow_unpinned, progress=progress
        )
        return root, lambda spec: spec.url, seen
    path = Path(source).expanduser()
    label = str(path.resolve())
    if path.is_dir():
        return path, lambda spec: label, {}
    if path.is_file() and zipfile.is_zipfile(path):
        extracted = staging / "source"
        progress("", f"unpacking {path}")
        safe_extract_zip(path, extracted)
        return _standards_root(extracted, specs), lambda spec: label, {}
    raise RulePackError(f"rule source {path} is neither a folder nor a zip archive")


def install(
    source: Path | str | None,
    rules_dir: Path,
    *,
    packs: list[str] | None = None,
    allow_unpinned: bool = False,
    manifest: Manifest | None = None,
    check_xslt: bool = True,
    compiler: CompileFn | None = None,
    progress: Progress | None = None,
) -> list[InstalledPack]:
    """Install ``packs`` (default: all) from a standards folder, a zip of one, or the manifest URLs.

    Either every requested pack is installed or none is replaced. Returns the installed packs.
    """
    manifest = manifest or load_manifest()
    progress = progress or _noop
    specs = manifest.select(packs)
    rules_dir = Path(rules_dir).expanduser()
    rules_dir.mkdir(parents=True, exist_ok=True)
    with _install_lock(rules_dir), tempfile.TemporaryDirectory(dir=rules_dir, prefix=".staging-") as tmp:
        staging = Path(tmp)
        root, label, seen = _resolve_source(
            source, manifest, specs, staging, allow_unpinned=allow_unpinned, progress=progress
        )
        built: list[InstalledPack] = []
        for spec in specs:
            progress(spec.name, "building")
            out = staging / "packs" / spec.name
            result = build_pack(spec, root, out, check_xslt=check_xslt, compiler=compiler)
            excluded = (*result.generated, COMPILED_DIR)
            sha = content_hash(out, exclude=excluded)
            origin = label(spec) if result.origin == "source" else f"python package {package_version(spec.package)}"

            pack = InstalledPack(
                name=spec.name,
                kind=spec.kind,
                version=result.version,
                source=origin,
                sha256=sha,
                verified="verified" if sha in spec.known_hashes else "unverified",
                installed_at=_now(),
                path=rules_dir / spec.name,
                main=spec.main,
                files=result.files,
                generated=result.generated,
                build_sha256=content_hash(out, only=excluded),
                compiled=result.compiled,
            )
            if spec.url in seen and result.origin == "source":
                pack.source = f"{spec.url} (sha256 {seen[spec.url]})"
                if not spec.sha256 and pack.verified != "verified" and not allow_unpinned:
                    raise RulePackError(
                        f"rule pack {spec.name!r}: the files downloaded from {spec.url} have content hash {sha}, "
                        f"but the manifest pins {spec.content_sha256} — refusing to install rules that "
                        "differ from the known-good upstream content (nothing was replaced)"
                    )
            built.append(pack)
            progress(spec.name, f"built ({pack.verified})")

        old = staging / "old"
        old.mkdir()
        for pack in built:
            if pack.path.exists():
                os.replace(pack.path, old / pack.name)
            os.replace(staging / "packs" / pack.name, pack.path)
        records = read_packs_json(rules_dir)
        records.update({pack.name: pack.to_json() for pack in built})
        _write_packs_json(rules_dir, records)
    return built
