"""Read access to installed rule packs: the only way validation code finds XSD and XSLT files.

Installation writes ``<rules_dir>/packs.json``; this module reads it, resolves pack-relative
references without letting them escape the pack directory, and re-hashes packs on demand so
tampering or a half-deleted pack is noticed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

PACKS_JSON = "packs.json"
COMPILED_DIR = "compiled"
FORMAT = 1


class RulePackError(Exception):
    """A rule pack is missing, broken, unverifiable or cannot be installed."""


@dataclass
class InstalledPack:
    """One installed pack as recorded in ``packs.json``."""

    name: str
    kind: str
    version: str
    source: str
    sha256: str
    verified: str  # "verified" | "unverified"
    installed_at: str
    path: Path
    main: str
    files: dict[str, str] = field(default_factory=dict)  # role -> pack-relative path
    generated: list[str] = field(default_factory=list)  # pack-relative dirs outside the content hash
    build_sha256: str = ""  # hash of generated files at install time
    compiled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "path"}

    @classmethod
    def from_json(cls, rules_dir: Path, data: dict[str, Any]) -> InstalledPack:
        return cls(
            name=data["name"],
            kind=data["kind"],
            version=data.get("version", ""),
            source=data.get("source", ""),
            sha256=data.get("sha256", ""),
            verified=data.get("verified", "unverified"),
            installed_at=data.get("installed_at", ""),
            path=rules_dir / data["name"],
            main=data.get("main", ""),
            files=dict(data.get("files", {})),
            generated=list(data.get("generated", [])),
            build_sha256=data.get("build_sha256", ""),
            compiled=bool(data.get("compiled", True)),
        )


def _files(root: Path) -> Iterable[tuple[str, Path]]:
    for path in root.rglob("*"):
        if path.is_symlink():
            raise RulePackError(f"symbolic link in rule pack: {path}")
        if path.is_file():
            yield path.relative_to(root).as_posix(), path


def _in_any(rel: str, dirs: Iterable[str]) -> bool:
    return any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in dirs)


def content_hash(root: Path, *, exclude: Iterable[str] = (), only: Iterable[str] | None = None) -> str:
    """SHA-256 over sorted relative paths and file bytes, so identical trees hash identically anywhere.

    ``exclude`` drops generated directories (compiled XSLT, build output) whose bytes depend on
    our tools; ``only`` hashes just those directories instead.
    """
    exclude = tuple(exclude)
    only_dirs = tuple(only) if only is not None else None
    digest = hashlib.sha256()
    for rel, path in sorted(_files(root), key=lambda item: item[0]):
        if _in_any(rel, exclude):
            continue
        if only_dirs is not None and not _in_any(rel, only_dirs):
            continue
        digest.update(rel.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_packs_json(rules_dir: Path) -> dict[str, dict[str, Any]]:
    """The raw pack records; an absent file means nothing is installed yet."""
    path = rules_dir / PACKS_JSON
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RulePackError(f"cannot read {path}: {exc}") from exc
    packs = data.get("packs", {}) if isinstance(data, dict) else {}
    return {str(k): v for k, v in packs.items() if isinstance(v, dict)}


class RuleStore:
    """Installed packs under one rules directory."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = Path(rules_dir)

    @classmethod
    def from_settings(cls) -> RuleStore:
        from einvoice.config import get_settings

        return cls(get_settings().rules_dir)

    def packs(self) -> list[InstalledPack]:
        records = read_packs_json(self.rules_dir)
        return [InstalledPack.from_json(self.rules_dir, records[name]) for name in sorted(records)]

    def pack(self, name: str) -> InstalledPack:
        record = read_packs_json(self.rules_dir).get(name)
        if record is None or not (self.rules_dir / name).is_dir():
            raise RulePackError(
                f"rule pack {name!r} is not installed; run: einvoice rules install [--from PATH]"
            )
        return InstalledPack.from_json(self.rules_dir, record)

    def _resolve(self, pack: InstalledPack, rel: str) -> Path:
        pure = PurePosixPath(rel)
        if not rel or pure.is_absolute() or "\\" in rel:
            raise RulePackError(f"bad rule-pack path {pack.name}:{rel}")
        root = pack.path.resolve()
        target = (root / pure).resolve()
        if not target.is_relative_to(root):
            raise RulePackError(f"rule-pack path escapes the pack: {pack.name}:{rel}")
        if not target.exists():
            raise RulePackError(f"rule-pack file missing: {pack.name}:{rel} ({target})")
        return target

    def path(self, ref: str) -> Path:
        """Resolve ``"pack:relative/path"``; the file must exist inside that pack's directory."""
        name, sep, rel = ref.partition(":")
        if not sep or not name or not rel:
            raise RulePackError(f"rule-pack reference must look like 'pack:relative/path', got {ref!r}")
        return self._resolve(self.pack(name), rel)

    def validation_xslt(self, name: str) -> Path:
        """The XSLT that validates with this pack: compiled Schematron, or the shipped XSLT."""
        pack = self.pack(name)
        rel = pack.files.get("xslt")
        if not rel:
            if pack.kind == "schematron" and not pack.compiled:
                raise RulePackError(
                    f"rule pack {name!r} was installed without compiled XSLT (no Schematron compiler "
                    "at install time); run: einvoice rules install [--from PATH]"
                )
            raise RulePackError(f"rule pack {name!r} ({pack.kind}) has no validation XSLT")
        return self._resolve(pack, rel)

    def xsd(self, name: str, doc: str) -> Path:
        """The XSD of pack ``name`` for document type ``doc`` (e.g. ``Invoice``, ``CreditNote``)."""
        pack = self.pack(name)
        xsds = {k[len("xsd:") :].lower(): v for k, v in pack.files.items() if k.startswith("xsd:")}
        rel = xsds.get(doc.lower())
        if rel is None and doc.endswith(".xsd"):
            rel = doc
        if rel is None:
            raise RulePackError(f"rule pack {name!r} has no XSD for {doc!r}; known: {', '.join(xsds)}")
        return self._resolve(pack, rel)

    def verify(self) -> list[str]:
        """Re-hash every installed pack; each problem is one readable line (empty list: all fine)."""
        problems: list[str] = []
        for pack in self.packs():
            if not pack.path.is_dir():
                problems.append(f"{pack.name}: directory {pack.path} is missing")
                continue
            try:
                excluded = (*pack.generated, COMPILED_DIR)
                actual = content_hash(pack.path, exclude=excluded)
                if actual != pack.sha256:
                    problems.append(f"{pack.name}: content sha256 {actual} != recorded {pack.sha256}")
                if pack.build_sha256:
                    built = content_hash(pack.path, only=excluded)
                    if built != pack.build_sha256:
                        problems.append(f"{pack.name}: generated files changed since install")
                for rel in pack.files.values():
                    if rel:
                        self._resolve(pack, rel)
            except RulePackError as exc:
                problems.append(f"{pack.name}: {exc}")
        return problems
