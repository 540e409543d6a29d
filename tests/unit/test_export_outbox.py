"""The outbox: one row per (invoice, exporter), file batches exactly once across injected crashes,
CSV/JSON content, failures that stay visible, and ``paid``."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from einvoice.db import UnitOfWork
from einvoice.export import outbox
from einvoice.export.datev_check import check_file
from einvoice.export.models import ExportBatch
from einvoice.export.service import mark_paid
from einvoice.ledger.models import Invoice
from einvoice.ledger.service import InvalidTransition, InvoiceNotFound, Visibility
from einvoice.workflow.coding import CodingLine
from tests.unit.test_export_support import DATEV, Ledger, make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = make_ledger(tmp_path)
    ledger.unit("Bauamt")
    yield ledger
    ledger.engine.dispose()


def run(ledger: Ledger, exporter: str, out: Path) -> outbox.RunReport:
    return outbox.run_file_exports(exporter=exporter, out_dir=out, factory=ledger.factory)


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def test_enqueue_is_idempotent_and_keyed(ledger: Ledger) -> None:
    datev = ledger.configure("Bauamt", "datev", **DATEV)
    csv_config = ledger.configure("Bauamt", "csv")
    invoice_id = ledger.approved("RE-1")
    ledger.approve(invoice_id)  # the engine calls it again (a retried job): nothing new
    entries = ledger.entries(invoice_id)
    assert sorted(e.exporter for e in entries) == ["csv", "datev"]
    assert all(e.status == "pending" for e in entries)
    keys = {e.exporter: e.idempotency_key for e in entries}
    assert keys["datev"] == hashlib.sha256(f"{invoice_id}\ndatev\n{datev}".encode()).hexdigest()
    assert keys["csv"] == hashlib.sha256(f"{invoice_id}\ncsv\n{csv_config}".encode()).hexdigest()


def test_no_exporter_no_rows_until_one_is_configured(ledger: Ledger, tmp_path: Path) -> None:
    invoice_id = ledger.approved("RE-1")
    assert ledger.entries() == []
    assert run(ledger, "json", tmp_path / "out").unconfigured == 1
    ledger.configure("Bauamt", "json")
    report = run(ledger, "json", tmp_path / "out")  # picks up the approved invoice (enqueue_missing)
    assert [b.invoices for b in report.batches] == [[invoice_id]]
    assert ledger.status(invoice_id) == "exported"


def test_rolled_back_approval_leaves_nothing_to_export(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "datev", **DATEV)
    invoice_id = ledger.accepted("RE-1")
    ledger.approve(invoice_id, commit=False)  # crash before the approving commit
    assert ledger.status(invoice_id) in ("accepted", "in_approval") and ledger.entries() == []
    assert run(ledger, "datev", tmp_path / "out").batches == []


def test_datev_batch_exports_each_invoice_once(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "datev", **DATEV)
    ids = [ledger.approved(f"RE-{n}") for n in range(1, 4)]
    out = tmp_path / "out"
    report = run(ledger, "datev", out)
    (batch,) = report.batches
    assert sorted(batch.invoices) == sorted(ids)
    (path,) = files(out)
    assert path == batch.path and path.name.startswith("EXTF_Buchungsstapel_") and path.suffix == ".csv"
    result = check_file(path)
    assert result.ok, result.problems
    assert result.rows == 6  # three invoices, two VAT rates each
    for invoice_id in ids:
        assert ledger.status(invoice_id) == "exported"
        (entry,) = ledger.events(invoice_id, "exported")
        assert entry.payload["exporter"] == "datev" and entry.payload["file"] == path.name
        assert entry.payload["batch_id"] == batch.batch_id and entry.payload["status"] == "exported"
        assert entry.payload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # nothing pending: a second run writes nothing and journals nothing
    assert run(ledger, "datev", out).batches == []
    assert len(files(out)) == 1 and all(len(ledger.events(i, "exported")) == 1 for i in ids)
    assert ledger.verify().ok


def test_crash_after_writing_the_file_exports_exactly_once(ledger: Ledger, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.configure("Bauamt", "datev", **DATEV)
    ids = [ledger.approved("RE-1"), ledger.approved("RE-2")]
    out = tmp_path / "out"
    real_complete = outbox.complete_batch

    def crash(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("killed between file write and commit")

    monkeypatch.setattr(outbox, "complete_batch", crash)
    with pytest.raises(RuntimeError, match="killed"):
        run(ledger, "datev", out)
    (written,) = files(out)
    first_bytes = written.read_bytes()
    assert [ledger.status(i) for i in ids] == ["approved", "approved"]
    assert all(ledger.events(i, "exported") == [] for i in ids)

    late = ledger.approved("RE-3")  # approved while the export was down
    monkeypatch.setattr(outbox, "complete_batch", real_complete)
    report = run(ledger, "datev", out)
    resumed, fresh = report.batches
    assert resumed.resumed and sorted(resumed.invoices) == sorted(ids) and resumed.path == written
    assert written.read_bytes() == first_bytes  # same name, same bytes: no second file for them
    assert fresh.invoices == [late] and not fresh.resumed
    assert len(files(out)) == 2
    for invoice_id in [*ids, late]:
        assert ledger.status(invoice_id) == "exported"
        assert len(ledger.events(invoice_id, "exported")) == 1
    numbers = [check_file(p) for p in files(out)]
    assert all(r.ok for r in numbers) and sum(r.rows for r in numbers) == 6
    assert ledger.verify().ok


def test_crash_before_writing_the_file_is_resumed(ledger: Ledger, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.configure("Bauamt", "csv")
    invoice_id = ledger.approved("RE-1")
    out = tmp_path / "out"
    real_write = outbox.write_batch_file
    monkeypatch.setattr(outbox, "write_batch_file", lambda batch: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        run(ledger, "csv", out)
    assert files(out) == [] and ledger.status(invoice_id) == "approved"
    (entry,) = ledger.entries(invoice_id)
    assert entry.status == "batched"
    monkeypatch.setattr(outbox, "write_batch_file", real_write)
    report = run(ledger, "csv", tmp_path / "elsewhere")  # the batch keeps the folder it was planned for
    assert [b.invoices for b in report.batches] == [[invoice_id]] and report.batches[0].resumed
    assert len(files(out)) == 1 and not (tmp_path / "elsewhere").exists()
    assert ledger.status(invoice_id) == "exported" and len(ledger.events(invoice_id, "exported")) == 1


def test_completed_batch_is_not_completed_twice(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "json")
    invoice_id = ledger.approved("RE-1")
    (batch,) = run(ledger, "json", tmp_path / "out").batches
    assert not outbox.complete_batch(batch.batch_id, actor="x", factory=ledger.factory, clock=outbox.utcnow)
    assert len(ledger.events(invoice_id, "exported")) == 1


def test_csv_and_json_records(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.configure("Bauamt", "csv", base_url="https://rechnung.example.org/")
    ledger.configure("Bauamt", "json")
    coded = ledger.accepted("RE-1")
    plain = ledger.accepted("RE-2", skonto=False)
    coding = [CodingLine(account="4930", cost_center="KST-1", amount=Decimal("326.30"), vat_rate=Decimal("19")),
              CodingLine(account="4940", amount=Decimal("79.80"), vat_rate=Decimal("7"), tax_key="8")]
    monkeypatch.setattr("einvoice.export.record.coding_of", lambda uow, i: coding if i == coded else [])
    ledger.approve(coded)
    ledger.approve(plain)

    (csv_batch,) = run(ledger, "csv", tmp_path / "csv").batches
    rows = {r["invoice_number"]: r for r in csv.DictReader(io.StringIO(csv_batch.path.read_text("utf-8")))}
    assert set(rows) == {"RE-1", "RE-2"}
    first = rows["RE-1"]
    assert first["invoice_id"] == coded and first["gross"] == "473.69" and first["amount_due"] == "473.69"
    assert first["issue_date"] == "2026-03-02" and first["due_date"] == "2026-04-01" and first["currency"] == "EUR"
    assert first["seller_name"] == "Hanse Bürobedarf GmbH" and first["seller_vat_id"].startswith("DE")
    assert first["seller_iban"].startswith("DE") and first["unit"] == "Bauamt"
    assert (first["skonto_percent"], first["skonto_days"], first["skonto_amount"]) == ("2.00", "14", "9.47")
    assert first["skonto_deadline"] == "2026-03-16"
    assert first["original_url"] == f"https://rechnung.example.org/api/v1/invoices/{coded}/original"
    lines = json.loads(first["coding"])
    assert [(c["account"], c["net"], c["gross"]) for c in lines] == [("4930", "326.30", "388.30"),
                                                                     ("4940", "79.80", "85.39")]
    assert rows["RE-2"]["skonto_amount"] == "" and json.loads(rows["RE-2"]["coding"])[0]["account"] == ""

    (json_batch,) = run(ledger, "json", tmp_path / "json").batches
    document = json.loads(json_batch.path.read_text("utf-8"))
    assert document["schema"] == "einvoice.export-batch/1" and document["batch_id"] == json_batch.batch_id
    records = {r["invoice_number"]: r for r in document["records"]}
    record = records["RE-1"]
    assert record["amounts"] == {"net": "406.10", "vat": "67.59", "gross": "473.69", "amount_due": "473.69"}
    assert [(v["rate"], v["gross"]) for v in record["vat_breakdown"]] == [("19", "388.30"), ("7", "85.39")]
    assert record["coding"][0]["cost_center"] == "KST-1" and record["coding"][0]["tax_key"] == "9"
    assert record["skonto"] == [{"days": 14, "percent": "2.00", "base": "473.69", "amount": "9.47",
                                 "deadline": "2026-03-16"}]
    assert record["original"]["url"] == f"/api/v1/invoices/{coded}/original"
    with UnitOfWork(ledger.factory) as uow:
        assert record["original"]["sha256"] == uow.session.get(Invoice, coded).sha256  # type: ignore[union-attr]
    # both exporters delivered: exported once per exporter, status exported
    assert ledger.status(coded) == "exported"
    assert sorted(e.payload["exporter"] for e in ledger.events(coded, "exported")) == ["csv", "json"]


def test_invoice_datev_cannot_book_fails_alone(ledger: Ledger, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.configure("Bauamt", "datev", **DATEV)
    good = ledger.accepted("RE-1")
    bad = ledger.accepted("RE-2")
    monkeypatch.setattr("einvoice.export.record.coding_of",
                        lambda uow, i: [CodingLine(account="1.2.3.4")] if i == bad else [])
    ledger.approve(good)
    ledger.approve(bad)
    report = run(ledger, "datev", tmp_path / "out")
    assert [b.invoices for b in report.batches] == [[good]]
    assert [i for i, _ in report.failed] == [bad] and "column 7 (Konto)" in report.failed[0][1]
    assert ledger.status(good) == "exported" and ledger.status(bad) == "approved"
    (failure,) = ledger.events(bad, "export_failed")
    assert "not an account number" in failure.payload["error"]
    (entry,) = ledger.entries(bad)
    assert entry.status == "failed"
    # fixed and retried by an administrator: exported in a batch of its own
    monkeypatch.setattr("einvoice.export.record.coding_of", lambda uow, i: [])
    with UnitOfWork(ledger.factory) as uow:
        outbox.retry(uow, entry.id, actor="admin")
        uow.commit()
    assert [b.invoices for b in run(ledger, "datev", tmp_path / "out").batches] == [[bad]]
    assert ledger.status(bad) == "exported" and [e.event for e in ledger.events(bad)][-3:] == [
        "export_failed", "export_retried", "exported"]


def test_invoice_back_in_approval_waits(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "csv")
    invoice_id = ledger.approved("RE-1")
    with UnitOfWork(ledger.factory) as uow:  # coding changed after approval: the workflow reopens it
        from einvoice.ledger import journal

        journal.lock_head(uow.session)
        invoice = uow.session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.status = "in_approval"
        journal.append(uow.session, event="reopened", actor="clerk", invoice_id=invoice_id)
        uow.commit()
    assert run(ledger, "csv", tmp_path / "out").batches == []
    ledger.approve(invoice_id)  # approved again: the same row, exported once
    assert [b.invoices for b in run(ledger, "csv", tmp_path / "out").batches] == [[invoice_id]]
    assert len(ledger.entries(invoice_id)) == 1


def test_paid_only_after_export(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "csv")
    invoice_id = ledger.approved("RE-1")
    unit = Visibility(unit_ids=frozenset({ledger.units["Bauamt"]}))
    with UnitOfWork(ledger.factory) as uow, pytest.raises(InvalidTransition, match="only an exported"):
        mark_paid(uow, invoice_id, actor="clerk", visibility=unit)
    run(ledger, "csv", tmp_path / "out")
    with UnitOfWork(ledger.factory) as uow, pytest.raises(InvoiceNotFound):
        mark_paid(uow, invoice_id, actor="clerk", visibility=Visibility(unit_ids=frozenset({"other"})))
    with UnitOfWork(ledger.factory) as uow:
        mark_paid(uow, invoice_id, actor="clerk", visibility=unit, reference="ZA-77", amount=Decimal("464.22"))
        uow.commit()
    assert ledger.status(invoice_id) == "paid"
    (paid,) = ledger.events(invoice_id, "paid")
    assert paid.actor == "clerk" and paid.payload["reference"] == "ZA-77" and paid.payload["amount"] == "464.22"
    with UnitOfWork(ledger.factory) as uow, pytest.raises(InvalidTransition, match="already"):
        mark_paid(uow, invoice_id, actor="clerk", visibility=unit)
    assert ledger.verify().ok


def test_batches_are_stored_for_reproduction(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "datev", **DATEV)
    ledger.approved("RE-1")
    (batch,) = run(ledger, "datev", tmp_path / "out").batches
    with UnitOfWork(ledger.factory) as uow:
        stored = uow.session.scalar(select(ExportBatch).where(ExportBatch.id == batch.batch_id))
        assert stored is not None and stored.status == "done" and stored.content == batch.path.read_bytes()


def test_missing_output_folder_is_an_error(ledger: Ledger) -> None:
    ledger.configure("Bauamt", "csv")
    ledger.approved("RE-1")
    with pytest.raises(outbox.ExportError, match="no output folder"):
        outbox.run_file_exports(exporter="csv", factory=ledger.factory)
    with pytest.raises(outbox.ExportError, match="not a file exporter"):
        outbox.run_file_exports(exporter="webhook", factory=ledger.factory)
