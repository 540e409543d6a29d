"""Generic CSV and JSON exporters: one record per invoice, for any bookkeeping system that maps columns.

CSV is RFC 4180 (comma, double quotes, CR LF) in UTF-8 with a heading row; amounts keep the decimal
point and their exact value; lists (VAT breakdown, coding lines) are JSON inside their cell.
JSON is one document per batch: ``{"schema", "batch_id", "created_at", "records": [...]}``, each
record exactly what the webhook posts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from einvoice.export.record import ExportRecord
from einvoice.export.settings import ExporterSettings

BATCH_SCHEMA = "einvoice.export-batch/1"
CSV_COLUMNS = (
    "invoice_id", "invoice_number", "document_type", "issue_date", "due_date", "currency",
    "seller_name", "seller_vat_id", "seller_iban", "payment_reference", "buyer_reference", "unit",
    "net", "vat", "gross", "amount_due", "vat_breakdown", "coding",
    "skonto_percent", "skonto_days", "skonto_amount", "skonto_deadline", "skonto_terms",
    "original_url", "original_sha256", "idempotency_key",
)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def csv_row(record: ExportRecord) -> dict[str, str]:
    data = record.to_dict()
    first = data["skonto"][0] if data["skonto"] else {}
    amounts, seller = data["amounts"], data["seller"]
    row: dict[str, Any] = {
        "invoice_id": record.invoice_id, "invoice_number": record.number, "document_type": record.document_type,
        "issue_date": data["issue_date"], "due_date": data["due_date"], "currency": record.currency,
        "seller_name": seller["name"], "seller_vat_id": seller["vat_id"], "seller_iban": seller["iban"],
        "payment_reference": record.payment_reference, "buyer_reference": record.buyer_reference,
        "unit": record.unit_name, "net": amounts["net"], "vat": amounts["vat"], "gross": amounts["gross"],
        "amount_due": amounts["amount_due"], "vat_breakdown": _compact(data["vat_breakdown"]),
        "coding": _compact(data["coding"]), "skonto_percent": first.get("percent"),
        "skonto_days": first.get("days"), "skonto_amount": first.get("amount"),
        "skonto_deadline": first.get("deadline"), "skonto_terms": _compact(data["skonto"]),
        "original_url": record.original_url, "original_sha256": record.original_sha256,
        "idempotency_key": record.idempotency_key,
    }
    return {key: "" if value is None else str(value) for key, value in row.items()}


class _OneFile:
    """File exporters whose batches need no splitting."""

    def partition(self, records: Sequence[ExportRecord], settings: ExporterSettings) -> list[list[ExportRecord]]:
        return [list(records)] if records else []


class CsvExporter(_OneFile):
    name = "csv"

    def file_name(self, batch_key: str, created_at: datetime) -> str:
        return f"einvoice_{created_at:%Y%m%d_%H%M%S}_{batch_key[:12]}.csv"

    def render(self, records: Sequence[ExportRecord], settings: ExporterSettings, *, batch_id: str,
               created_at: datetime) -> bytes:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for record in records:
            writer.writerow(csv_row(record))
        return buffer.getvalue().encode("utf-8")


class JsonExporter(_OneFile):
    name = "json"

    def file_name(self, batch_key: str, created_at: datetime) -> str:
        return f"einvoice_{created_at:%Y%m%d_%H%M%S}_{batch_key[:12]}.json"

    def render(self, records: Sequence[ExportRecord], settings: ExporterSettings, *, batch_id: str,
               created_at: datetime) -> bytes:
        document = {"schema": BATCH_SCHEMA, "batch_id": batch_id, "created_at": created_at.isoformat(),
                    "records": [record.to_dict() for record in records]}
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
