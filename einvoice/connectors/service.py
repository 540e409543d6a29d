"""Connector bookkeeping: each function is one unit of work and commits.

Connectors call :func:`record_done` only after intake has committed the documents, so a crash in
between leaves the item un-done and the next run handles it again — intake returns the same
invoice for the same bytes, so nothing is doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from einvoice.connectors.models import ConnectorItem, ConnectorStatus, ItemState
from einvoice.db import UnitOfWork
from einvoice.ledger.models import as_utc, utcnow


class UnknownItem(LookupError):
    pass


@dataclass(frozen=True)
class ItemView:
    id: str
    connector: str
    external_id: str
    state: str
    sender: str
    invoice_ids: list[str]
    attempts: int
    detail: str
    first_seen_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConnectorOverview:
    connector: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    processed_total: int
    failed_total: int
    open_failures: int  # items failed or waiting for a retry now


def _view(row: ConnectorItem) -> ItemView:
    return ItemView(id=row.id, connector=row.connector, external_id=row.external_id, state=row.state,
                    sender=row.sender, invoice_ids=[str(i) for i in row.invoice_ids or []],
                    attempts=row.attempts, detail=row.detail, first_seen_at=as_utc(row.first_seen_at),
                    updated_at=as_utc(row.updated_at))


def _find(session: Session, connector: str, external_id: str) -> ConnectorItem | None:
    return session.execute(select(ConnectorItem).where(
        ConnectorItem.connector == connector, ConnectorItem.external_id == external_id)).scalar_one_or_none()


def item(connector: str, external_id: str) -> ItemView | None:
    with UnitOfWork() as uow:
        row = _find(uow.session, connector, external_id)
        return _view(row) if row else None


def _upsert(connector: str, external_id: str, sender: str, *, state: str, invoice_ids: list[str] | None,
            detail: str, failed: bool) -> ItemView:
    """Insert or update one item; a concurrent insert of the same key is retried as an update."""
    for attempt in (1, 2):
        try:
            with UnitOfWork() as uow:
                row = _find(uow.session, connector, external_id)
                if row is None:
                    row = ConnectorItem(connector=connector, external_id=external_id[:500], sender=sender[:320],
                                        invoice_ids=[], attempts=0, detail="", first_seen_at=utcnow())
                    uow.session.add(row)
                row.state = state
                row.detail = detail
                if sender:
                    row.sender = sender[:320]
                if invoice_ids is not None:
                    row.invoice_ids = list(dict.fromkeys([*row.invoice_ids, *invoice_ids]))
                row.attempts = (row.attempts or 0) + (1 if failed else 0)
                row.updated_at = utcnow()
                uow.session.flush()
                view = _view(row)
                uow.commit()
                return view
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def record_done(connector: str, external_id: str, *, sender: str, invoice_ids: list[str],
                state: str = ItemState.DONE, detail: str = "") -> ItemView:
    if state not in {ItemState.DONE, ItemState.ANSWERED, ItemState.IGNORED}:
        raise ValueError(f"record_done takes done, answered or ignored, not {state!r}")
    return _upsert(connector, external_id, sender, state=str(state), invoice_ids=invoice_ids, detail=detail,
                   failed=False)


def record_failure(connector: str, external_id: str, *, sender: str, error: str) -> ItemView:
    return _upsert(connector, external_id, sender, state=ItemState.FAILED.value, invoice_ids=None,
                   detail=error[:4000], failed=True)


def record_poll(connector: str, *, processed: int, failed: int, error: str | None = None) -> None:
    """The connector's heartbeat for the operations view (an error here is a poll-level failure)."""
    for attempt in (1, 2):
        try:
            with UnitOfWork() as uow:
                row = uow.session.get(ConnectorStatus, connector)
                if row is None:
                    row = ConnectorStatus(connector=connector, processed_total=0, failed_total=0)
                    uow.session.add(row)
                now = utcnow()
                row.last_poll_at = now
                row.processed_total = (row.processed_total or 0) + processed
                row.failed_total = (row.failed_total or 0) + failed
                row.last_error = error[:4000] if error else None
                if error is None:
                    row.last_success_at = now
                uow.commit()
                return
        except IntegrityError:
            if attempt == 2:
                raise


def request_retry(item_id: str) -> ItemView:
    """Mark a failed item for another attempt; the connector takes it up on its next run."""
    with UnitOfWork() as uow:
        row = uow.session.get(ConnectorItem, item_id)
        if row is None:
            raise UnknownItem(f"no connector item {item_id}")
        if row.state not in {ItemState.FAILED, ItemState.RETRY}:
            raise ValueError(f"item {item_id} is {row.state}; only failed items can be retried")
        row.state = ItemState.RETRY.value
        row.updated_at = utcnow()
        uow.session.flush()
        view = _view(row)
        uow.commit()
        return view


def retry_requested(connector: str) -> list[ItemView]:
    return items(connector, ItemState.RETRY.value, limit=1000)


def items(connector: str | None = None, state: str | None = None, *, limit: int = 100) -> list[ItemView]:
    """Newest first."""
    query = select(ConnectorItem).order_by(ConnectorItem.updated_at.desc(), ConnectorItem.id).limit(limit)
    if connector:
        query = query.where(ConnectorItem.connector == connector)
    if state:
        query = query.where(ConnectorItem.state == state)
    with UnitOfWork() as uow:
        return [_view(row) for row in uow.session.execute(query).scalars()]


def get_item(item_id: str) -> ItemView:
    with UnitOfWork() as uow:
        row = uow.session.get(ConnectorItem, item_id)
        if row is None:
            raise UnknownItem(f"no connector item {item_id}")
        return _view(row)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def overview() -> list[ConnectorOverview]:
    """Every connector that has polled or handled an item, by name."""
    with UnitOfWork() as uow:
        session = uow.session
        statuses = {row.connector: row for row in session.execute(select(ConnectorStatus)).scalars()}
        open_counts: dict[str, int] = {name: count for name, count in session.execute(
            select(ConnectorItem.connector, func.count())
            .where(ConnectorItem.state.in_([ItemState.FAILED.value, ItemState.RETRY.value]))
            .group_by(ConnectorItem.connector)).all()}
        names = sorted(set(statuses) | set(open_counts) | set(session.execute(
            select(ConnectorItem.connector).distinct()).scalars()))
        result = []
        for name in names:
            status = statuses.get(name)
            result.append(ConnectorOverview(
                connector=name,
                last_poll_at=_maybe_utc(status.last_poll_at) if status else None,
                last_success_at=_maybe_utc(status.last_success_at) if status else None,
                last_error=status.last_error if status else None,
                processed_total=status.processed_total if status else 0,
                failed_total=status.failed_total if status else 0,
                open_failures=int(open_counts.get(name, 0))))
        return result
