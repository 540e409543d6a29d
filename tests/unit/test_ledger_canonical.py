"""Canonical JSON and row digests: the same content must always hash the same, on every database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from einvoice.ledger.canonical import amount, canonical_json, json_safe, record_digest, utc_iso
from einvoice.ledger.journal import entry_hash
from einvoice.ledger.models import Invoice, Status


def test_key_order_and_spacing_do_not_matter() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": "ü"}}
    b = {"a": {"x": "ü", "y": [1, 2]}, "b": 1}
    assert canonical_json(a) == canonical_json(b) == '{"a":{"x":"ü","y":[1,2]},"b":1}'


def test_special_types_serialise_deterministically() -> None:
    at = datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
    text = canonical_json({"d": Decimal("1E+2"), "day": date(2024, 5, 1), "at": at,
                           "status": Status.ACCEPTED})
    assert text == ('{"at":"2024-05-01T12:00:00.000005+00:00","d":"100","day":"2024-05-01",'
                    '"status":"accepted"}')


def test_naive_and_aware_datetimes_of_the_same_instant_agree() -> None:
    """SQLite gives naive UTC back, PostgreSQL aware values in the session's zone."""
    naive = datetime(2024, 5, 1, 12, 0, 0, 123456)
    cet = datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert utc_iso(naive) == utc_iso(cet) == "2024-05-01T12:00:00.123456+00:00"


def test_nan_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_json_safe_is_what_a_json_column_returns() -> None:
    value = {"amount": Decimal("12.50"), "when": date(2024, 1, 2), "items": (1, 2)}
    assert json_safe(value) == {"amount": "12.50", "when": "2024-01-02", "items": [1, 2]}


def test_entry_hash_covers_every_field() -> None:
    base = {"seq": 1, "at": datetime(2024, 1, 1, tzinfo=UTC), "invoice_id": None, "event": "x",
            "actor": "a", "payload": {"k": 1}, "prev_hash": "0" * 64}
    reference = entry_hash(**base)  # type: ignore[arg-type]
    assert reference == entry_hash(**dict(base))  # type: ignore[arg-type]
    changes = {"seq": 2, "at": datetime(2024, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "invoice_id": "i",
               "event": "y", "actor": "b", "payload": {"k": 2}, "prev_hash": "1" * 64}
    for key, value in changes.items():
        assert entry_hash(**{**base, key: value}) != reference, key  # type: ignore[arg-type]


def _invoice(**overrides: object) -> Invoice:
    fields: dict[str, object] = dict(
        id="a" * 32, received_at=datetime(2024, 3, 1, 8, 30, tzinfo=UTC), channel="api", sender="s",
        filename="x.xml", content_type="application/xml", sha256="b" * 64, size=10,
        status="accepted", amount_due=Decimal("119"), gross_amount=Decimal("119.00"),
        issue_date=date(2024, 3, 1), validation={"accepted": True}, data={"number": "R1"})
    fields.update(overrides)
    return Invoice(**fields)


def test_record_digest_survives_database_representations() -> None:
    """Scale of amounts and naive timestamps are database artefacts, not changes."""
    stored = _invoice(amount_due=Decimal("119.0000"), gross_amount=Decimal("119.0000"),
                      received_at=datetime(2024, 3, 1, 8, 30))
    assert record_digest(stored) == record_digest(_invoice())
    assert amount(Decimal("1.5")) == Decimal("1.5000")


@pytest.mark.parametrize("field,value", [
    ("status", "rejected"), ("amount_due", Decimal("118.99")), ("sender", "other"),
    ("sha256", "c" * 64), ("validation", {"accepted": False}), ("data", {"number": "R2"}),
    ("duplicate_of", "d" * 32), ("unit_id", "u" * 32), ("received_at", datetime(2024, 3, 1, 8, 31)),
])
def test_record_digest_detects_changes(field: str, value: object) -> None:
    assert record_digest(_invoice(**{field: value})) != record_digest(_invoice())


def test_record_digest_ignores_processing_bookkeeping() -> None:
    assert record_digest(_invoice(attempts=3, last_error="boom",
                                  enqueued_at=datetime.now(UTC))) == record_digest(_invoice())
