"""DATEV Buchungsstapel writer: one booking line per VAT rate and coding line of each invoice.

An incoming invoice is booked "expense account to creditor": Konto is the expense account from the
coding (debit, ``S``), Gegenkonto the creditor account; a credit note flips the flag to ``H``.
Umsatz is the gross amount of the line (DATEV's tax key then splits off the input tax). The Skonto
offer goes into a Zusatzinformation and the due date into Belegfeld 2 and Fälligkeit; DATEV
documents the Skonto column (13) for payment bookings only, so it is filled only when the unit's
configuration asks for it (``skonto_field``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from einvoice.export import datev_format as fmt
from einvoice.export.record import Booking, ExportRecord, money
from einvoice.export.settings import ExporterSettings

LOCAL_TIME = ZoneInfo("Europe/Berlin")  # DATEV shows the creation time as the office clock does
EXPORTED_BY = "einvoice"
ORIGIN = "RE"  # Herkunft: two capitals naming the source ("RE" as in DATEV's own example)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_DOC1_FORBIDDEN = re.compile(f"[^{re.escape(fmt.DOC1_ALLOWED)}]")


def text(value: str | None, limit: int) -> str:
    """A DATEV text field: Windows-1252 only, no control characters, at most ``limit`` characters,
    in double quotes with inner quotes doubled."""
    return '"' + clean(value, limit).replace('"', '""') + '"'


def clean(value: str | None, limit: int) -> str:
    if not value:
        return ""
    normalized = unicodedata.normalize("NFC", value)
    flat = " ".join(_CONTROL.sub(" ", normalized).split())
    encodable = flat.encode(fmt.ENCODING, errors="replace").decode(fmt.ENCODING)
    return encodable[:limit].rstrip()


def document_number(number: str) -> str:
    """Belegfeld 1: the invoice number with every character DATEV refuses replaced by ``-``."""
    return _DOC1_FORBIDDEN.sub("-", number.strip())[:36]


def booking_text(seller: str, number: str, extra: str | None = None, limit: int = 60) -> str:
    """Buchungstext: seller and invoice number (the number is never cut off), then the coding's text."""
    number = clean(number, limit)
    seller = clean(seller, max(0, limit - len(number) - 1))
    head = f"{seller} {number}".strip()
    extra = clean(extra, limit)
    return clean(f"{head}, {extra}" if extra else head, limit)


def amount(value: Decimal) -> str:
    """Umsatz: positive, two decimals, decimal comma, no thousands separator."""
    return f"{money(abs(value)):.2f}".replace(".", ",")


def fiscal_year_start(day: date, mmdd: str) -> date:
    start = date(day.year, int(mmdd[:2]), int(mmdd[2:]))
    return start if day >= start else start.replace(year=day.year - 1)


class DatevExporter:
    """The ``datev`` file exporter (see :class:`einvoice.export.registry.FileExporter`)."""

    name = "datev"

    def partition(self, records: Sequence[ExportRecord], settings: ExporterSettings) -> list[list[ExportRecord]]:
        """One file per fiscal year: DATEV refuses a batch whose dates span two."""
        groups: dict[date, list[ExportRecord]] = {}
        for record in records:
            groups.setdefault(fiscal_year_start(record.document_date, settings.fiscal_year_start), []).append(record)
        return [groups[key] for key in sorted(groups)]

    def file_name(self, batch_key: str, created_at: datetime) -> str:
        return f"EXTF_Buchungsstapel_{created_at.astimezone(LOCAL_TIME):%Y%m%d_%H%M%S}_{batch_key[:12]}.csv"

    def render(self, records: Sequence[ExportRecord], settings: ExporterSettings, *, batch_id: str,
               created_at: datetime) -> bytes:
        if not records:
            raise ValueError("a DATEV batch needs at least one invoice")
        lines = [self.header(records, settings, created_at), fmt.SEPARATOR.join(fmt.COLUMNS)]
        for record in records:
            lines.extend(fmt.SEPARATOR.join(row) for row in self.rows(record, settings))
        if len(lines) - 2 > fmt.MAX_ROWS:
            raise ValueError(f"{len(lines) - 2} bookings exceed DATEV's limit of {fmt.MAX_ROWS} per file")
        return (fmt.NEWLINE.join(lines) + fmt.NEWLINE).encode(fmt.ENCODING)

    def header(self, records: Sequence[ExportRecord], settings: ExporterSettings, created_at: datetime) -> str:
        dates = [r.document_date for r in records]
        first, last = min(dates), max(dates)
        local = created_at.astimezone(LOCAL_TIME)
        units = sorted({r.unit_name for r in records if r.unit_name})
        values = [""] * fmt.HEADER_FIELDS
        for position, value in {
            fmt.H_MARK: text(fmt.HEADER_MARK, 4),
            fmt.H_VERSION: str(fmt.HEADER_VERSION),
            fmt.H_CATEGORY: str(fmt.CATEGORY),
            fmt.H_NAME: text(fmt.FORMAT_NAME, 20),
            fmt.H_FORMAT_VERSION: str(fmt.FORMAT_VERSION),
            fmt.H_CREATED: f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}",
            fmt.H_ORIGIN: text(ORIGIN, 2),
            fmt.H_EXPORTED_BY: text(EXPORTED_BY, 25),
            fmt.H_IMPORTED_BY: text("", 25),
            fmt.H_CONSULTANT: str(settings.consultant or ""),
            fmt.H_CLIENT: str(settings.client or ""),
            fmt.H_FY_START: f"{fiscal_year_start(first, settings.fiscal_year_start):%Y%m%d}",
            fmt.H_ACCOUNT_LENGTH: str(settings.account_length),
            fmt.H_DATE_FROM: f"{first:%Y%m%d}",
            fmt.H_DATE_TO: f"{last:%Y%m%d}",
            fmt.H_LABEL: text("E-Rechnungen " + ", ".join(units), 30),
            fmt.H_DICTATION: text("", 2),
            fmt.H_BOOKING_TYPE: "1",  # Finanzbuchführung
            fmt.H_PURPOSE: "0",  # independent of the accounting purpose
            fmt.H_LOCKED: "0",  # not locked: the accountant reviews before Festschreibung
            fmt.H_CURRENCY: text("EUR", 3),
            fmt.H_DERIVATIVE: text("", 2),
            fmt.H_CHART: text(settings.chart, 2),
            30: text("", 2),
            fmt.H_APP_INFO: text("", 16),
        }.items():
            values[position - 1] = value
        return fmt.SEPARATOR.join(values)

    def rows(self, record: ExportRecord, settings: ExporterSettings) -> list[list[str]]:
        bookings = [b for b in record.bookings if money(b.gross) != 0]
        skonto = self._skonto_shares(record, bookings) if settings.skonto_field else [None] * len(bookings)
        return [self.row(record, booking, settings, share) for booking, share in zip(bookings, skonto, strict=True)]

    def row(self, record: ExportRecord, booking: Booking, settings: ExporterSettings,
            skonto: Decimal | None) -> list[str]:
        fields = [""] * fmt.COLUMN_COUNT

        def put(position: int, value: str) -> None:
            fields[position - 1] = value

        signed = -booking.gross if record.credit_note else booking.gross
        put(fmt.C_AMOUNT, amount(signed))
        put(fmt.C_DEBIT_CREDIT, text("S" if signed > 0 else "H", 1))
        put(fmt.C_CURRENCY, text(record.currency, 3))
        put(fmt.C_ACCOUNT, booking.account)
        put(fmt.C_CONTRA, settings.creditor_account or "")
        put(fmt.C_TAX_KEY, text(booking.tax_key, 4))
        put(fmt.C_DATE, f"{record.document_date:%d%m}")
        put(fmt.C_DOC1, text(document_number(record.number), 36))
        put(fmt.C_DOC2, text(f"{record.due_date:%d%m%y}" if record.due_date else "", 12))
        if skonto is not None and skonto > 0:
            put(fmt.C_SKONTO, amount(skonto))
        put(fmt.C_TEXT, text(booking_text(record.seller_name, record.number, booking.text), 60))
        put(fmt.C_LINK, text(record.original_url, 210))
        infos = [("Ledger-ID", record.invoice_id), ("Leitweg-ID", record.buyer_reference),
                 ("USt-IdNr. Lieferant", record.seller_vat_id), ("IBAN", record.iban),
                 ("Organisationseinheit", record.unit_name)]
        for (art, inhalt), (art_value, content) in zip(fmt.C_INFO, [i for i in infos if i[1]], strict=False):
            put(art, text(art_value, 20))
            put(inhalt, text(content, 210))
        if booking.cost_center:
            put(fmt.C_KOST1, text(booking.cost_center, 36))
        if booking.budget_line:
            put(fmt.C_KOST2, text(booking.budget_line, 36))
        for (art, inhalt), offer in zip(fmt.C_EXTRA, record.skonto, strict=False):
            deadline = f" bis {offer.deadline:%d.%m.%Y}" if offer.deadline else ""
            put(art, text("Skonto", 20))
            put(inhalt, text(f"{amount(offer.percent)} % innerhalb {offer.days} Tagen{deadline}: "
                             f"{amount(offer.amount)} {record.currency}", 210))
        if record.due_date:
            put(fmt.C_DUE, f"{record.due_date:%d%m%Y}")
        return fields

    @staticmethod
    def _skonto_shares(record: ExportRecord, bookings: list[Booking]) -> list[Decimal | None]:
        """The first Skonto offer's amount spread over the lines in proportion to their gross."""
        if not record.skonto or record.credit_note or not bookings:
            return [None] * len(bookings)
        total = sum((b.gross for b in bookings), Decimal("0"))
        if total <= 0:
            return [None] * len(bookings)
        offer = record.skonto[0].amount
        shares = [money(offer * b.gross / total) for b in bookings[:-1]]
        return [*shares, offer - sum(shares, Decimal("0"))]
