"""The spool folder an access point writes received envelopes into: ``inbox/`` → ``done/`` | ``failed/``.

A file leaves ``inbox/`` only after its invoice is committed (``done/``) or its error is known to
be permanent (``failed/`` with ``<name>.reason.txt``). Anything else (database down, ...) leaves it
in ``inbox/`` for the next run. A crash after the commit but before the move is harmless: the next
run submits the same envelope, gets the same invoice back, and then moves the file.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from einvoice.connectors import service as connectors
from einvoice.export.outbox import write_atomically
from einvoice.formats.xml import InputError
from einvoice.ledger.service import DocumentRefused
from einvoice.peppol import inbound
from einvoice.peppol.sbdh import EnvelopeError

log = logging.getLogger(__name__)

PERMANENT = (InputError, EnvelopeError, inbound.Conflict, DocumentRefused)
REASON_SUFFIX = ".reason.txt"
# Files an access point is still writing: dot files and temporary suffixes are left alone.
_IN_PROGRESS = (".tmp", ".part", ".partial", ".filepart")


class SpoolNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class SpoolReport:
    done: int = 0
    failed: int = 0
    left: int = 0  # transient errors: still in inbox/


@dataclass(frozen=True)
class Spool:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def done(self) -> Path:
        return self.root / "done"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    def ensure(self) -> Spool:
        for folder in (self.inbox, self.done, self.failed):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def configured_spool(root: Path | None = None) -> Spool:
    from einvoice.config import get_settings

    root = root or get_settings().peppol_spool_dir
    if root is None:
        raise SpoolNotConfigured("no spool folder: set EINVOICE_PEPPOL_SPOOL_DIR")
    return Spool(Path(root)).ensure()


def item_key(name: str) -> str:
    """Connector item of a spool file (the operations view shows failures by file name)."""
    return f"file:{name}"


def pending_files(spool: Spool) -> list[Path]:
    return sorted(path for path in spool.inbox.iterdir()
                  if path.is_file() and not path.is_symlink() and not path.name.startswith(".")
                  and not path.name.endswith(_IN_PROGRESS))


def run_once(root: Path | None = None) -> SpoolReport:
    """Handle every file in ``inbox/`` and the items an operator asked to retry; record the poll."""
    spool = configured_spool(root)
    for item in connectors.retry_requested(inbound.CONNECTOR_SPOOL):
        name = item.external_id.removeprefix("file:")
        try:
            found = _return_to_inbox(spool, name)
        except ValueError as exc:
            found, problem = None, str(exc)
        else:
            problem = f"{name!r} is no longer in failed/ or inbox/"
        if found is None:
            connectors.record_failure(inbound.CONNECTOR_SPOOL, item.external_id, sender=item.sender,
                                      error=f"cannot retry: {problem}")
    counts = {"done": 0, "failed": 0, "left": 0}
    for path in pending_files(spool):
        counts[process_file(spool, path)] += 1
    error = f"{counts['left']} file(s) could not be handled now and stay in inbox/" if counts["left"] else None
    connectors.record_poll(inbound.CONNECTOR_SPOOL, processed=counts["done"], failed=counts["failed"], error=error)
    return SpoolReport(**counts)


def process_file(spool: Spool, path: Path) -> str:
    """``done``, ``failed`` (permanent, moved) or ``left`` (transient, stays for the next run)."""
    from einvoice.config import get_settings

    name = path.name
    try:
        limit = get_settings().max_document_bytes
        if path.stat().st_size > limit:  # refused before reading it into memory
            raise InputError("TOO-LARGE", f"the file has {path.stat().st_size} bytes, more than the limit of "
                                          f"{limit} (EINVOICE_MAX_DOCUMENT_BYTES)")
        result = inbound.receive(path.read_bytes(), connector=inbound.CONNECTOR_SPOOL, filename=name,
                                 fallback_sender=inbound.CONNECTOR_SPOOL)
    except PERMANENT as exc:
        message = exc.message if isinstance(exc, InputError) else str(exc)
        reason = spool.failed / (name + REASON_SUFFIX)
        try:
            reason.unlink(missing_ok=True)  # a re-run may word it differently; the newest reason counts
            write_atomically(spool.failed, reason.name, (message + "\n").encode("utf-8"))
            os.replace(path, spool.failed / name)
        except OSError:
            log.warning("Peppol spool file %s refused (%s) but could not be moved to failed/", name, message,
                        exc_info=True)
            return "left"
        connectors.record_failure(inbound.CONNECTOR_SPOOL, item_key(name), sender="", error=message)
        log.info("Peppol spool file %s refused: %s", name, message)
        return "failed"
    except Exception:
        log.warning("Peppol spool file %s could not be handled now; it stays in inbox/", name, exc_info=True)
        return "left"
    # Only now, after the commit: a crash (or a failed move) before this re-runs the file next
    # time, which finds the same invoice and then moves it.
    try:
        os.replace(path, _free_name(spool.done / name))
    except OSError:
        log.warning("Peppol spool file %s is in the ledger but could not be moved to done/", name, exc_info=True)
        return "left"
    if connectors.item(inbound.CONNECTOR_SPOOL, item_key(name)) is not None:  # an earlier failure, now fixed
        connectors.record_done(inbound.CONNECTOR_SPOOL, item_key(name), sender="", invoice_ids=[result.invoice_id])
    return "done"


def retry_file(name: str, root: Path | None = None) -> str:
    """Move ``failed/<name>`` back to ``inbox/`` and handle it now; returns the outcome."""
    spool = configured_spool(root)
    path = _return_to_inbox(spool, name)
    if path is None:
        raise FileNotFoundError(f"{name!r} is neither in {spool.failed} nor in {spool.inbox}")
    return process_file(spool, path)


def _return_to_inbox(spool: Spool, name: str) -> Path | None:
    if Path(name).name != name or not name:
        raise ValueError(f"not a spool file name: {name!r}")
    source, target = spool.failed / name, spool.inbox / name
    if source.is_file():
        os.replace(source, target)
        (spool.failed / (name + REASON_SUFFIX)).unlink(missing_ok=True)
    return target if target.is_file() else None


def _free_name(target: Path) -> Path:
    """``done/`` keeps every file: a name used before gets a numeric suffix."""
    candidate, number = target, 1
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}.{number}{target.suffix}")
        number += 1
    return candidate

