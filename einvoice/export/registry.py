"""Pluggable exporters: a file exporter renders a batch of records into one file.

New formats (an SAP IDoc, an H&H import file) implement :class:`FileExporter` and call
:func:`register`; the outbox, batching, atomic writing and exactly-once bookkeeping stay the same.
The webhook is not a file exporter: it delivers one record per HTTP request
(:mod:`einvoice.export.webhook`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from einvoice.export.record import ExportRecord
from einvoice.export.settings import ExporterSettings


class FileExporter(Protocol):
    """Renders export records into the bytes of one file."""

    name: str

    def partition(self, records: Sequence[ExportRecord], settings: ExporterSettings) -> list[list[ExportRecord]]:
        """Records that may share one file (DATEV: one fiscal year per file)."""
        ...

    def file_name(self, batch_key: str, created_at: datetime) -> str:
        """A name that depends only on the batch, so a re-run after a crash writes the same file."""
        ...

    def render(self, records: Sequence[ExportRecord], settings: ExporterSettings, *, batch_id: str,
               created_at: datetime) -> bytes: ...


_registry: dict[str, FileExporter] = {}


def register(exporter: FileExporter) -> None:
    _registry[exporter.name] = exporter


def file_exporter(name: str) -> FileExporter:
    """The registered exporter ``name``; ``KeyError`` with the known names otherwise."""
    _load_builtins()
    try:
        return _registry[name]
    except KeyError:
        raise KeyError(f"no file exporter {name!r}; known: {', '.join(sorted(_registry))}") from None


def _load_builtins() -> None:
    if not _registry:
        from einvoice.export.datev import DatevExporter
        from einvoice.export.generic import CsvExporter, JsonExporter

        for exporter in (DatevExporter(), CsvExporter(), JsonExporter()):
            register(exporter)
