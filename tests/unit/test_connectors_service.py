"""Connector bookkeeping: idempotent item keys, failures and retries, the operations overview."""

from __future__ import annotations

from pathlib import Path

import pytest

from einvoice.connectors import service


def test_an_item_is_recorded_once_per_key_and_collects_its_invoices(embedded_db: Path) -> None:
    assert service.item("mail:inbox", "<a@b>") is None
    first = service.record_done("mail:inbox", "<a@b>", sender="s@example.org", invoice_ids=["i1"])
    again = service.record_done("mail:inbox", "<a@b>", sender="s@example.org", invoice_ids=["i1", "i2"])
    assert again.id == first.id and again.invoice_ids == ["i1", "i2"] and again.state == "done"
    assert service.item("mail:inbox", "<a@b>") == again
    assert service.item("mail:other", "<a@b>") is None  # keys are per connector


def test_failures_count_attempts_and_only_failed_items_can_be_retried(embedded_db: Path) -> None:
    done = service.record_done("peppol:spool", "f1", sender="x", invoice_ids=[])
    with pytest.raises(ValueError, match="only failed items"):
        service.request_retry(done.id)
    service.record_failure("peppol:spool", "f2", sender="x", error="broken")
    failed = service.record_failure("peppol:spool", "f2", sender="x", error="still broken")
    assert failed.attempts == 2 and failed.detail == "still broken" and failed.state == "failed"
    assert service.request_retry(failed.id).state == "retry"
    assert [i.external_id for i in service.retry_requested("peppol:spool")] == ["f2"]
    with pytest.raises(service.UnknownItem):
        service.request_retry("nope")
    with pytest.raises(ValueError, match="done, answered or ignored"):
        service.record_done("peppol:spool", "f3", sender="x", invoice_ids=[], state="failed")


def test_overview_reports_polls_totals_and_open_failures(embedded_db: Path) -> None:
    service.record_poll("mail:inbox", processed=3, failed=1)
    service.record_poll("mail:inbox", processed=2, failed=0, error="IMAP login failed")
    service.record_failure("mail:inbox", "<m>", sender="s", error="bad zip")
    service.record_failure("peppol:http", "inst-1", sender="0204:1", error="x")
    by_name = {o.connector: o for o in service.overview()}
    mail = by_name["mail:inbox"]
    assert (mail.processed_total, mail.failed_total, mail.open_failures) == (5, 1, 1)
    assert mail.last_error == "IMAP login failed" and mail.last_success_at is not None
    assert mail.last_poll_at is not None and mail.last_poll_at >= mail.last_success_at
    assert by_name["peppol:http"].last_poll_at is None and by_name["peppol:http"].open_failures == 1
    assert [i.connector for i in service.items(state="failed")] == ["peppol:http", "mail:inbox"]
