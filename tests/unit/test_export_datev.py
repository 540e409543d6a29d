"""DATEV Buchungsstapel: the writer's output passes the format check; broken files do not.

Expected amounts come from the sample generator's own EN 16931 arithmetic (``Totals``), not from
the exporter: one booking per VAT rate with the gross of that rate.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from einvoice.export import datev_format as fmt
from einvoice.export.datev import DatevExporter, clean, document_number
from einvoice.export.datev_check import check_bytes, split_line
from einvoice.export.record import ExportRecord, build_record
from einvoice.export.settings import ExportConfigError, ExporterSettings, check_settings
from einvoice.formats.detect import load_document
from einvoice.invoice.extract import extract_document
from einvoice.ledger.models import Invoice
from einvoice.samples import render_ubl, sample_creditnote_data, sample_invoice_data
from einvoice.workflow.coding import CodingLine
from tests.unit.test_export_support import DATEV

CREATED = datetime(2026, 3, 20, 8, 30, 15, 123000, tzinfo=UTC)
SETTINGS = ExporterSettings(**DATEV)  # type: ignore[arg-type]


def record_of(sample: object, coding: list[CodingLine] | None = None, settings: ExporterSettings = SETTINGS,
              invoice_id: str = "a" * 32) -> ExportRecord:
    data = render_ubl(sample)  # type: ignore[arg-type]
    extracted = extract_document(load_document(data, "invoice.xml"))
    invoice = Invoice(id=invoice_id, received_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC), channel="api",
                      sender="s", filename="invoice.xml", content_type="application/xml",
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data), status="approved",
                      invoice_number=extracted.number, issue_date=extracted.issue_date,
                      seller_name=extracted.seller.name, currency=extracted.currency,
                      gross_amount=extracted.totals.gross, amount_due=extracted.totals.amount_due,
                      due_date=extracted.due_date, buyer_reference=extracted.buyer_reference,
                      data=extracted.to_dict())
    return build_record(invoice, None, coding or [], settings, "k" * 64)


def render(*records: ExportRecord, settings: ExporterSettings = SETTINGS) -> bytes:
    return DatevExporter().render(list(records), settings, batch_id="b", created_at=CREATED)


def lines_of(content: bytes) -> list[list[str]]:
    return [[f.value for f in split_line(line)] for line in content.decode("cp1252").split("\r\n")[:-1]]


def test_sample_invoice_renders_a_valid_buchungsstapel() -> None:
    sample = sample_invoice_data(number="RE-2026-00815")
    content = render(record_of(sample))
    result = check_bytes(content)
    assert result.ok, result.problems
    assert result.rows == 2  # 19 % and 7 %

    header, columns, *rows = lines_of(content)
    assert len(header) == 31
    assert header[:6] == ["EXTF", "700", "21", "Buchungsstapel", "13", "20260320093015123"]  # Berlin time
    assert header[10:16] == ["29098", "55003", "20260101", "4", "20260302", "20260302"]
    assert header[21] == "EUR" and header[26] == "03"
    assert len(columns) == 125 and columns[0] == "Umsatz (ohne Soll/Haben-Kz)" and columns[124] == "Abw. Skontokonto"
    assert all(len(row) == 125 for row in rows)

    expected = {f"{(v.taxable + v.tax):.2f}".replace(".", ","): v.rate for v in sample.totals.vat}
    assert {row[0] for row in rows} == set(expected) == {"388,30", "85,39"}
    keys = {"19": "9", "7": "8"}
    for row in rows:
        assert row[1] == "S" and row[2] == "EUR"
        assert (row[6], row[7]) == ("4930", "70000")  # default expense account to creditor
        assert row[8] == keys[str(expected[row[0]])]
        assert row[9] == "0203"  # Belegdatum TTMM of 2026-03-02
        assert row[10] == "RE-2026-00815"
        assert row[11] == "010426"  # due date 2026-04-01 (Belegfeld 2, TTMMJJ)
        assert row[13] == "Hanse Bürobedarf GmbH RE-2026-00815"
        assert row[19] == "/api/v1/invoices/" + "a" * 32 + "/original"
        assert row[20:22] == ["Ledger-ID", "a" * 32]
        assert row[47] == "Skonto" and row[48] == "2,00 % innerhalb 14 Tagen bis 16.03.2026: 9,47 EUR"
        assert row[116] == "01042026"
        assert row[12] == ""  # Skonto column only on request
    assert b"B\xfcrobedarf" in content and content.endswith(b"\r\n") and b"\n" not in content.replace(b"\r\n", b"")


def test_skonto_column_on_request_adds_up_to_the_offer() -> None:
    settings = ExporterSettings(**{**DATEV, "skonto_field": True})  # type: ignore[arg-type]
    content = render(record_of(sample_invoice_data(), settings=settings), settings=settings)
    assert check_bytes(content).ok
    shares = [Decimal(row[12].replace(",", ".")) for row in lines_of(content)[2:]]
    assert sum(shares) == Decimal("9.47") and all(s > 0 for s in shares)


def test_coding_lines_split_each_rate_exactly() -> None:
    sample = sample_invoice_data()
    coding = [CodingLine(account="4930", cost_center="KST-100", amount=Decimal("200.00"), vat_rate=Decimal("19")),
              CodingLine(account="4940", cost_center="KST-200", budget_line="HH 1.2.3", amount=Decimal("126.30"),
                         vat_rate=Decimal("19")),
              CodingLine(account="4950", amount=Decimal("79.80"), vat_rate=Decimal("7"), tax_key="8")]
    content = render(record_of(sample, coding))
    assert check_bytes(content).ok, check_bytes(content).problems
    rows = lines_of(content)[2:]
    by_account = {row[6]: row for row in rows}
    assert set(by_account) == {"4930", "4940", "4950"}
    total_19 = sum(Decimal(by_account[a][0].replace(",", ".")) for a in ("4930", "4940"))
    assert total_19 == Decimal("388.30")  # the 19 % gross, to the cent
    assert by_account["4930"][0] == "238,00" and by_account["4930"][36] == "KST-100"  # 200 + 19 %
    assert by_account["4940"][37] == "HH 1.2.3"
    assert by_account["4950"][0] == "85,39"


def test_credit_note_books_on_the_credit_side() -> None:
    content = render(record_of(sample_creditnote_data()))
    assert check_bytes(content).ok
    assert {row[1] for row in lines_of(content)[2:]} == {"H"}


def test_booking_text_keeps_the_invoice_number() -> None:
    from einvoice.export.datev import booking_text

    assert booking_text("Hanse Bürobedarf GmbH", "RE-1") == "Hanse Bürobedarf GmbH RE-1"
    assert booking_text("Hanse Bürobedarf GmbH", "RE-1", "Toner") == "Hanse Bürobedarf GmbH RE-1, Toner"
    long = booking_text("S" * 80, "RE-2026-000000001", "more")
    assert len(long) == 60 and long.startswith("S" * 42 + " RE-2026-000000001")


def test_text_fields_are_cleaned_for_datev() -> None:
    assert document_number("RE 2026.001/ä") == "RE-2026-001/-"
    assert len(document_number("X" * 50)) == 36
    assert clean('Müller "Bau"\r\nGmbH € ✓', 60) == 'Müller "Bau" GmbH € ?'
    assert clean("x" * 80, 60) == "x" * 60


def test_invoices_of_two_fiscal_years_go_to_two_files() -> None:
    first = record_of(sample_invoice_data(issue_date=date(2025, 12, 30)))
    second = record_of(sample_invoice_data(issue_date=date(2026, 1, 5)), invoice_id="b" * 32)
    groups = DatevExporter().partition([first, second], SETTINGS)
    assert [len(g) for g in groups] == [1, 1]
    for group in groups:
        assert check_bytes(render(*group)).ok
    both = render(first, second)
    assert any("fiscal year" in p for p in check_bytes(both).problems)


def test_settings_are_checked_when_configured() -> None:
    with pytest.raises(ExportConfigError, match="consultant"):
        check_settings("datev", ExporterSettings(client=1, creditor_account="70000", default_account="4930"))
    with pytest.raises(ExportConfigError, match="url"):
        check_settings("webhook", ExporterSettings(url="ftp://x", secret="s" * 20))
    with pytest.raises(ExportConfigError, match="secret"):
        check_settings("webhook", ExporterSettings(url="https://example.org/hook", secret="short"))
    check_settings("datev", SETTINGS)


# --------------------------------------------------------------------------- the check rejects broken files


def good() -> bytes:
    return render(record_of(sample_invoice_data()))


def replace_in_row(content: bytes, row: int, column: int, value: str) -> bytes:
    lines = content.decode("cp1252").split("\r\n")
    fields = lines[row].split(";")
    fields[column - 1] = value
    lines[row] = ";".join(fields)
    return "\r\n".join(lines).encode("cp1252")


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.decode("cp1252").encode("utf-8"), "not Windows-1252"),
    (lambda c: b"\xef\xbb\xbf" + c, "byte order mark"),
    (lambda c: c.replace(b"\r\n", b"\n"), "CR LF"),
    (lambda c: c.replace(b'"EXTF";700;21', b'"EXTF";510;21', 1), "Versionsnummer"),
    (lambda c: c.replace(b";13;", b";12;", 1), "Formatversion"),
    (lambda c: replace_in_row(c, 0, 11, "99"), "Beraternummer"),
    (lambda c: replace_in_row(c, 0, 31, '"";""'), "header has 32 fields"),
    (lambda c: replace_in_row(c, 1, 7, "Kontonummer"), "column 7 is headed"),
    (lambda c: replace_in_row(c, 2, 1, "388.30"), "decimal comma"),
    (lambda c: replace_in_row(c, 2, 1, "-388,30"), "decimal comma"),
    (lambda c: replace_in_row(c, 2, 1, "0,00"), "positive"),
    (lambda c: replace_in_row(c, 2, 10, "3202"), "not TTMM"),
    (lambda c: replace_in_row(c, 2, 10, "0204"), "outside the header's date range"),
    (lambda c: replace_in_row(c, 2, 11, '"' + "1" * 37 + '"'), "at most 36"),
    (lambda c: replace_in_row(c, 2, 11, '"RE 2026"'), "only letters, digits"),
    (lambda c: replace_in_row(c, 2, 14, "unquoted text"), "double quotes"),
    (lambda c: replace_in_row(c, 2, 14, '"' + "x" * 61 + '"'), "at most 60"),
    (lambda c: replace_in_row(c, 2, 7, "49300000000"), "not an account number"),
    (lambda c: replace_in_row(c, 2, 8, "7000000"), "longer than 5 digits"),
    (lambda c: replace_in_row(c, 2, 125, '"";'), "126 fields"),
    (lambda c: replace_in_row(c, 2, 2, '"X"'), "must be S or H"),
    (lambda c: c[:-2], "does not end with CR LF"),
])
def test_broken_files_are_rejected(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    assert check_bytes(good()).ok
    result = check_bytes(mutate(good()))
    assert not result.ok
    assert any(message in p for p in result.problems), result.problems


def test_column_list_is_the_format_version_13_list() -> None:
    assert fmt.COLUMN_COUNT == 125 and len(set(fmt.COLUMNS)) == 125
    assert fmt.COLUMNS[fmt.C_ACCOUNT - 1] == "Konto" and fmt.COLUMNS[fmt.C_CONTRA - 1].startswith("Gegenkonto")
    assert fmt.COLUMNS[fmt.C_TAX_KEY - 1] == "BU-Schlüssel" and fmt.COLUMNS[fmt.C_DOC1 - 1] == "Belegfeld 1"
    assert fmt.COLUMNS[fmt.C_LINK - 1] == "Beleglink" and fmt.COLUMNS[fmt.C_DUE - 1] == "Fälligkeit"
    assert fmt.COLUMNS[fmt.C_KOST1 - 1] == "KOST1 - Kostenstelle"
    assert fmt.COLUMNS[fmt.C_EXTRA[0][1] - 1] == "Zusatzinformation- Inhalt 1"
