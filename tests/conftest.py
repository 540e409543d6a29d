"""Shared test set-up: where the official standards are, and one rule-pack install per code version."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = Path(os.environ.get("EINVOICE_STANDARDS_DIR", ROOT.parent / "shared" / "standards")).resolve()
TEST_HOME = ROOT / ".einvoice" / "test"

# Settings are read once per process: point them at test folders before anything imports them.
os.environ.setdefault("EINVOICE_ENV", "test")
os.environ.setdefault("EINVOICE_RULES_DIR", str(TEST_HOME / "rules"))
os.environ.setdefault("EINVOICE_DATA_DIR", str(TEST_HOME / "data"))


def _install_key() -> str:
    """Reinstall the test rule packs whenever the code that builds them or the sources change."""
    digest = hashlib.sha256(str(STANDARDS).encode())
    for folder in ("einvoice/rules", "einvoice/schematron"):
        for path in sorted((ROOT / folder).glob("*.py")):
            digest.update(path.read_bytes())
    digest.update((ROOT / "xrechnung_rules" / "manifest.toml").read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def standards() -> Path:
    if not STANDARDS.is_dir():
        pytest.fail(f"official standards not found at {STANDARDS}; set EINVOICE_STANDARDS_DIR")
    return STANDARDS


@pytest.fixture(scope="session")
def rules_dir(standards: Path) -> Path:
    """Install every rule pack once (shared by xdist workers through a lock file)."""
    from einvoice.rules.install import install

    rules = Path(os.environ["EINVOICE_RULES_DIR"])
    rules.parent.mkdir(parents=True, exist_ok=True)
    key = _install_key()
    stamp = rules.parent / "rules.key"
    with open(rules.parent / "rules.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == key and (rules / "packs.json").exists()):
            install(standards, rules)
            stamp.write_text(key)
    return rules


@pytest.fixture(scope="session")
def validator(rules_dir: Path):  # type: ignore[no-untyped-def]
    from einvoice.config import get_settings
    from einvoice.validation.engine import Validator

    get_settings.cache_clear()
    return Validator.from_settings()
