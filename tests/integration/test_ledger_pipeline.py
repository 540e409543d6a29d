"""The ledger end to end on SQLite and on a real PostgreSQL: receive, process, duplicates, tampering,
concurrency. The PostgreSQL cluster is a throw-away ``initdb`` in a temporary folder.

These ledgers have no units, so every accepted invoice stays ``accepted`` and its approval workflow
(issue 4) starts in the clearing queue: ``clearing_queued`` follows ``accepted`` in the journal."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import Base, UnitOfWork, make_engine
from einvoice.ledger import journal, service
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.samples import INVALID_SAMPLE_RULES, make_invalid_ubl_invoice
from tests.conftest import STANDARDS
from tests.services import missing_postgres, postgres_cluster, require

pytestmark = pytest.mark.integration

SUITE_ROOT = STANDARDS / "xrechnung-testsuite" / "src" / "test"
SUITE = sorted(SUITE_ROOT.rglob("*.xml"))
FIRST = SUITE_ROOT / "business-cases" / "standard" / "01.01a-INVOICE_ubl.xml"
ACCEPTED = ["accepted", "clearing_queued"]  # the journal of a valid invoice no unit claims

# ------------------------------------------------------------------ PostgreSQL, started by the tests


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on loopback; yields the URL prefix (add a database name).

    A non-UTC server zone proves that hashes do not depend on how timestamps come back.
    """
    require(missing_postgres())
    with postgres_cluster(settings=("timezone=Europe/Berlin",)) as cluster:
        yield cluster.server_url


@dataclass
class Ledger:
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            assert conn.execute(text(statement), params).rowcount >= 1, statement

    def verify(self) -> journal.VerifyReport:
        with UnitOfWork(self.factory) as uow:
            return journal.verify(uow.session, self.blobs)

    def receive(self, data: bytes, filename: str = "invoice.xml", sender: str = "supplier") -> str:
        return service.receive_committed(self.blobs, data=data, channel="api", sender=sender,
                                         filename=filename, factory=self.factory).invoice_id

    def process(self, validator: service.Validator, invoice_id: str) -> str:
        with UnitOfWork(self.factory) as uow:
            status = service.process(uow, self.blobs, validator, invoice_id)
            uow.commit()
        return status

    def invoice(self, invoice_id: str) -> Invoice:
        with self.factory() as session:
            invoice = session.get(Invoice, invoice_id)
            assert invoice is not None
            return invoice

    def journal(self) -> list[tuple[int, str, str | None]]:
        """(seq, event, invoice id) of every journal entry, in order."""
        with self.factory() as session:
            return [(seq, event, invoice_id) for seq, event, invoice_id in session.execute(
                select(JournalEntry.seq, JournalEntry.event, JournalEntry.invoice_id).order_by(JournalEntry.seq))]

    def events(self, invoice_id: str) -> list[JournalEntry]:
        with UnitOfWork(self.factory) as uow:
            entries = service.history(uow, invoice_id)
            uow.session.expunge_all()  # keep them readable after the unit of work rolls back
            return entries


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger (schema, genesis head, blob folder) on each database."""
    import einvoice.accounts.models  # noqa: F401  (the units table)

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        engine = make_engine(url)
    else:
        server = request.getfixturevalue("postgres_url")
        name = f"ledger_{uuid.uuid4().hex[:12]}"
        admin = make_engine(f"{server}/postgres").execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = make_engine(f"{server}/{name}")
    Base.metadata.create_all(engine)
    yield Ledger(engine, sessionmaker(bind=engine, expire_on_commit=False), BlobStore(tmp_path / "blobs"))
    engine.dispose()


# ------------------------------------------------------------------ what the documents say (XPath)

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
UBL = {
    "number": "/*/cbc:ID",
    "due": "/*/cac:LegalMonetaryTotal/cbc:PayableAmount",
    "gross": "/*/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
    "buyer": "/*/cbc:BuyerReference",
    "date": "/*/cbc:IssueDate",
    "vat": "/*/cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
    "name": "/*/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
}
_SUM = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/" \
       "ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
_SELLER = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/" \
          "ram:SellerTradeParty/"
CII = {
    "number": "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID",
    "due": _SUM + "ram:DuePayableAmount",
    "gross": _SUM + "ram:GrandTotalAmount",
    "buyer": "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/"
             "ram:BuyerReference",
    "date": "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime/*",
    "vat": _SELLER + "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",
    "name": _SELLER + "ram:Name",
}


def _facts(path: Path) -> dict[str, str]:
    tree = etree.parse(str(path))
    paths = CII if etree.QName(tree.getroot()).localname == "CrossIndustryInvoice" else UBL
    return {key: str(tree.xpath(f"normalize-space(({xpath})[1])", namespaces=NS))
            for key, xpath in paths.items()}


def _duplicate_key(facts: dict[str, str]) -> tuple[str, str]:
    seller = "".join(facts["vat"].split()).upper() or " ".join(facts["name"].split()).casefold()
    return seller, facts["number"]


def _iso(cii_or_ubl_date: str) -> str:
    digits = cii_or_ubl_date.replace("-", "")
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"


# ------------------------------------------------------------------ receive and process


def test_suite_is_there() -> None:
    assert len(SUITE) == 86 and FIRST in SUITE


def test_testsuite_documents_are_received_processed_and_extracted(ledger: Ledger, validator) -> None:  # type: ignore[no-untyped-def]
    """Every suite document passes validation and has its number and totals extracted; the suite
    repeats business cases (UBL and CII of the same invoice), so the repeats are suspected
    duplicates of the first — exactly as the duplicate rule says — until a person decides."""
    ids: dict[Path, str] = {path: ledger.receive(path.read_bytes(), path.name) for path in SUITE}
    statuses = {path: ledger.process(validator, ids[path]) for path in SUITE}

    first_of: dict[tuple[str, str], list[tuple[Path, dict[str, str]]]] = {}
    problems = []
    for path in SUITE:
        facts = _facts(path)
        invoice = ledger.invoice(ids[path])
        name = path.relative_to(SUITE_ROOT)
        if not invoice.accepted:
            problems.append(f"{name}: not accepted by validation: {invoice.validation}")
        if invoice.invoice_number != facts["number"]:
            problems.append(f"{name}: number {invoice.invoice_number!r} != {facts['number']!r}")
        if invoice.amount_due != Decimal(facts["due"]) or invoice.gross_amount != Decimal(facts["gross"]):
            problems.append(f"{name}: totals {invoice.gross_amount}/{invoice.amount_due} != "
                            f"{facts['gross']}/{facts['due']}")
        earlier = [other for other, other_facts in first_of.get(_duplicate_key(facts), [])
                   if other_facts["buyer"] == facts["buyer"] or
                   _iso(other_facts["date"]) == _iso(facts["date"])]
        expected = ("duplicate_suspected", ids[earlier[0]]) if earlier else ("accepted", None)
        if (statuses[path], invoice.duplicate_of) != expected:
            problems.append(f"{name}: {statuses[path]}/{invoice.duplicate_of}, expected {expected}")
        first_of.setdefault(_duplicate_key(facts), []).append((path, facts))
    assert not problems, "\n".join(problems)
    assert 0 < list(statuses.values()).count("accepted") < len(SUITE)

    with UnitOfWork(ledger.factory) as uow:  # a person confirms the repeats are separate documents
        for path in SUITE:
            if statuses[path] == "duplicate_suspected":
                service.resolve_duplicate(uow, ids[path], decision="not_duplicate", actor="clerk")
        uow.commit()
    assert {ledger.invoice(i).status for i in ids.values()} == {"accepted"}
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.invoices == report.blobs == len(SUITE)


def test_invalid_document_is_rejected_with_findings(ledger: Ledger, validator) -> None:  # type: ignore[no-untyped-def]
    invoice_id = ledger.receive(make_invalid_ubl_invoice(), "invalid.xml")
    assert ledger.process(validator, invoice_id) == "rejected"
    invoice = ledger.invoice(invoice_id)
    assert invoice.accepted is False and invoice.validation is not None
    rules = {f["rule"] for f in invoice.validation["findings"] if f["level"] in ("error", "fatal")}
    assert set(INVALID_SAMPLE_RULES) <= rules
    assert invoice.invoice_number == "RE-2026-00816"  # extracted even though rejected
    rejected = ledger.events(invoice_id)[-1]
    assert rejected.event == "rejected" and set(INVALID_SAMPLE_RULES) <= set(rejected.payload["rules"])
    assert rejected.payload["reason"]
    assert ledger.verify().ok


def test_same_bytes_twice_give_one_entry(ledger: Ledger, validator) -> None:  # type: ignore[no-untyped-def]
    data = FIRST.read_bytes()
    first = ledger.receive(data, "a.xml", sender="s1")
    assert ledger.process(validator, first) == "accepted"
    second = ledger.receive(data, "b.xml", sender="s2")
    assert second == first
    assert ledger.process(validator, second) == "accepted"  # no second validation, no change
    with ledger.factory() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 1
    assert [e.event for e in ledger.events(first)] == ["received", "validating", *ACCEPTED, "received_again"]
    assert ledger.verify().ok


def test_changed_copy_is_duplicate_suspected(ledger: Ledger, validator) -> None:  # type: ignore[no-untyped-def]
    original = ledger.receive(FIRST.read_bytes(), FIRST.name)
    assert ledger.process(validator, original) == "accepted"
    assert [e.event for e in ledger.events(original)] == ["received", "validating", *ACCEPTED]
    copy = ledger.receive(FIRST.read_bytes() + b"\n<!-- sent again -->\n", "again.xml")
    assert ledger.process(validator, copy) == "duplicate_suspected"
    invoice = ledger.invoice(copy)
    assert invoice.duplicate_of == original and invoice.accepted
    entry = ledger.events(copy)[-1]
    assert entry.event == "duplicate_suspected" and entry.payload["duplicate_of"] == original
    assert ledger.verify().ok


# ------------------------------------------------------------------ tampering


def _change_blob(ledger: Ledger, sha: str) -> None:
    path = ledger.blobs.path(sha)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"<", b" <", 1))


TAMPERING: dict[str, Callable[[Ledger, list[str], list[str]], str]] = {
    # each changes the ledger behind the service's back and returns the item verify must name first
    "row amount_due": lambda lg, ids, shas: (
        lg.sql("UPDATE invoices SET amount_due = amount_due + 1 WHERE id = :i", i=ids[1]),
        f"invoice {ids[1]}")[1],
    "row status": lambda lg, ids, shas: (
        lg.sql("UPDATE invoices SET status = 'rejected' WHERE id = :i", i=ids[2]), f"invoice {ids[2]}")[1],
    "journal payload": lambda lg, ids, shas: (
        lg.sql("UPDATE journal SET payload = :p WHERE seq = 4", p='{"attempt": 2}'), "journal entry 4")[1],
    "journal entry deleted": lambda lg, ids, shas: (
        lg.sql("DELETE FROM journal WHERE seq = 5"), "journal entry 5")[1],
    "last journal entry deleted": lambda lg, ids, shas: (
        lg.sql("DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal)"), "journal entry 12")[1],
    "blob changed": lambda lg, ids, shas: (_change_blob(lg, shas[0]), f"blob {shas[0]}")[1],
    "blob deleted": lambda lg, ids, shas: (lg.blobs.path(shas[2]).unlink(), f"blob {shas[2]}")[1],
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_verify_names_what_was_tampered_with(ledger: Ledger, validator, kind: str) -> None:  # type: ignore[no-untyped-def]
    paths = [p for p in SUITE if p.name.startswith(("01.02a", "01.03a", "01.07a")) and "_ubl" in p.name]
    ids = [ledger.receive(p.read_bytes(), p.name) for p in paths]
    assert [ledger.process(validator, i) for i in ids] == ["accepted"] * 3
    shas = [ledger.invoice(i).sha256 for i in ids]
    # the sequence numbers the tampering names: 4 = validating, 5 = accepted of ids[0], 12 = the last
    assert ledger.journal() == [
        *((seq, "received", i) for seq, i in enumerate(ids, start=1)),
        *((4 + 3 * n + k, event, i) for n, i in enumerate(ids)
          for k, event in enumerate(["validating", *ACCEPTED]))]
    clean = ledger.verify()
    assert clean.ok and (clean.entries, clean.invoices, clean.blobs) == (12, 3, 3), clean.problems

    culprit = TAMPERING[kind](ledger, ids, shas)
    report = ledger.verify()
    assert not report.ok
    assert report.first_broken == culprit, report.problems
    assert culprit.split()[-1] in report.problems[0]


# ------------------------------------------------------------------ concurrency


def _run_together(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_concurrent_appends_keep_a_contiguous_chain(ledger: Ledger) -> None:
    def append(index: int) -> int:
        with UnitOfWork(ledger.factory) as uow:
            entry = journal.append(uow.session, event="concurrent", actor=f"thread-{index}",
                                   payload={"index": index})
            uow.commit()
            return entry.seq

    seqs = _run_together(20, append)
    assert sorted(seqs) == list(range(1, 21))  # type: ignore[type-var]
    report = ledger.verify()
    assert report.ok and report.entries == 20, report.problems


def test_concurrent_identical_uploads_give_one_invoice(ledger: Ledger) -> None:
    data = FIRST.read_bytes()

    def upload(index: int) -> service.ReceiveOutcome:
        return service.receive_committed(ledger.blobs, data=data, channel="api", sender=f"s{index}",
                                         filename="same.xml", factory=ledger.factory)

    outcomes = _run_together(8, upload)
    assert len({o.invoice_id for o in outcomes}) == 1  # type: ignore[attr-defined]
    assert sum(o.created for o in outcomes) == 1  # type: ignore[attr-defined]
    with ledger.factory() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 1
    events = [e.event for e in ledger.events(outcomes[0].invoice_id)]  # type: ignore[attr-defined]
    assert events == ["received"] + ["received_again"] * 7
    assert ledger.verify().ok


def test_concurrent_processing_gives_one_verdict(ledger: Ledger, validator) -> None:  # type: ignore[no-untyped-def]
    """Redelivered jobs for one invoice, and two copies of one invoice processed at the same time:
    one verdict per invoice, and exactly one of the copies is the original."""
    original = ledger.receive(FIRST.read_bytes(), "a.xml")
    copy = ledger.receive(FIRST.read_bytes() + b"<!-- copy -->", "b.xml")
    targets = [original, copy] * 3
    statuses = _run_together(len(targets), lambda i: ledger.process(validator, targets[i]))
    assert set(statuses) == {"accepted", "duplicate_suspected"}
    final = {i: ledger.invoice(i).status for i in (original, copy)}
    assert sorted(final.values()) == ["accepted", "duplicate_suspected"]
    for invoice_id in (original, copy):
        verdicts = [e.event for e in ledger.events(invoice_id) if e.event in ("accepted", "duplicate_suspected")]
        assert len(verdicts) == 1
    assert ledger.verify().ok
