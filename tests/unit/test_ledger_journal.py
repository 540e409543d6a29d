"""The hash chain on SQLite: appends link up, and verify names what was changed or removed."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.models import GENESIS_HASH, JournalEntry, JournalHead
from einvoice.ledger.service import receive


def _append(factory: sessionmaker[Session], n: int) -> None:
    for i in range(n):
        with UnitOfWork(factory) as uow:
            journal.append(uow.session, event="test", actor="tester", payload={"i": i, "ü": "ß"})
            uow.commit()


def _verify(factory: sessionmaker[Session], blobs: BlobStore) -> journal.VerifyReport:
    with UnitOfWork(factory) as uow:
        return journal.verify(uow.session, blobs)


def _sql(db: Engine, statement: str, **params: object) -> None:
    with db.begin() as conn:
        assert conn.execute(text(statement), params).rowcount >= 1


def test_new_database_has_the_genesis_head(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        head = session.get(JournalHead, 1)
        assert head is not None and (head.seq, head.hash) == (0, GENESIS_HASH)


def test_entries_are_chained(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    _append(factory, 5)
    with factory() as session:
        entries = session.query(JournalEntry).order_by(JournalEntry.seq).all()
        head = session.get(JournalHead, 1)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert all(journal.hash_of(e) == e.hash for e in entries)
    assert head is not None and (head.seq, head.hash) == (5, entries[-1].hash)
    report = _verify(factory, blobs)
    assert report.ok and report.entries == 5 and report.first_broken is None
    assert "intact" in report.summary()


def test_append_without_head_row_creates_it(factory: sessionmaker[Session], db: Engine) -> None:
    _sql(db, "DELETE FROM journal_head")
    _append(factory, 2)
    with factory() as session:
        assert session.get(JournalHead, 1).seq == 2  # type: ignore[union-attr]


def test_rolled_back_append_leaves_no_trace(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    _append(factory, 1)
    with UnitOfWork(factory) as uow:
        journal.append(uow.session, event="lost", actor="t")
    _append(factory, 1)
    report = _verify(factory, blobs)
    assert report.ok and report.entries == 2


def test_changed_payload_is_named(factory: sessionmaker[Session], db: Engine, blobs: BlobStore) -> None:
    _append(factory, 4)
    _sql(db, "UPDATE journal SET payload = :p WHERE seq = 3", p='{"i": 99}')
    report = _verify(factory, blobs)
    assert not report.ok and report.first_broken == "journal entry 3"
    assert "altered" in report.problems[0]


def test_changed_actor_is_named(factory: sessionmaker[Session], db: Engine, blobs: BlobStore) -> None:
    _append(factory, 3)
    _sql(db, "UPDATE journal SET actor = 'someone else' WHERE seq = 2")
    assert _verify(factory, blobs).first_broken == "journal entry 2"


def test_recomputed_hash_still_breaks_the_link(factory: sessionmaker[Session], db: Engine,
                                                blobs: BlobStore) -> None:
    """A forger who fixes the entry's own hash still breaks the next entry's link."""
    _append(factory, 3)
    with factory() as session:
        entry = session.get(JournalEntry, 2)
        assert entry is not None
        entry.payload = {"i": 42}
        entry.hash = journal.hash_of(entry)
        session.commit()
    report = _verify(factory, blobs)
    assert not report.ok and report.first_broken == "journal entry 3"
    assert "does not link" in report.problems[0]


def test_deleted_middle_entry_is_named(factory: sessionmaker[Session], db: Engine,
                                       blobs: BlobStore) -> None:
    _append(factory, 5)
    _sql(db, "DELETE FROM journal WHERE seq = 3")
    report = _verify(factory, blobs)
    assert report.first_broken == "journal entry 3"
    assert "deleted" in report.problems[0]


def test_deleted_last_entry_is_named(factory: sessionmaker[Session], db: Engine, blobs: BlobStore) -> None:
    _append(factory, 5)
    _sql(db, "DELETE FROM journal WHERE seq = 5")
    report = _verify(factory, blobs)
    assert report.first_broken == "journal entry 5" and "deleted" in report.problems[0]


def test_deleted_first_entry_is_named(factory: sessionmaker[Session], db: Engine, blobs: BlobStore) -> None:
    _append(factory, 3)
    _sql(db, "DELETE FROM journal WHERE seq = 1")
    assert _verify(factory, blobs).first_broken == "journal entry 1"


def test_changed_head_is_named(factory: sessionmaker[Session], db: Engine, blobs: BlobStore) -> None:
    _append(factory, 2)
    _sql(db, "UPDATE journal_head SET hash = :h", h="f" * 64)
    assert _verify(factory, blobs).first_broken == "journal head"


def test_invoice_entries_carry_the_row_digest(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    with UnitOfWork(factory) as uow:
        outcome = receive(uow, blobs, data=b"<x/>", channel="api", sender="s1", filename="x.xml")
        uow.commit()
    with UnitOfWork(factory) as uow:
        (entry,) = uow.session.query(JournalEntry).all()
        assert entry.event == "received" and entry.invoice_id == outcome.invoice_id
        assert len(entry.payload[journal.DIGEST_KEY]) == 64
    assert _verify(factory, blobs).ok


def test_journalling_an_unknown_invoice_is_refused(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow, pytest.raises(ValueError, match="does not exist"):
        journal.append(uow.session, event="x", actor="t", invoice_id="nope")


def test_concurrent_appends_keep_one_chain(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            _append(factory, 3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = _verify(factory, blobs)
    assert report.ok and report.entries == 30
