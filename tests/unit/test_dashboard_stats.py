"""Dashboard figures over hand-made ledger, workflow and export rows (SQLite in tmp_path), and the SVG chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import einvoice.export.models
import einvoice.workflow.models  # noqa: F401  (tables on the metadata)
from einvoice.accounts.models import Unit
from einvoice.dashboard import stats
from einvoice.dashboard.chart import Bar, _ticks, stacked_bars
from einvoice.export.models import ExportConfig, OutboxEntry
from einvoice.ledger.models import Invoice
from einvoice.workflow.models import WorkflowInstance, WorkflowTask

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _invoice(session: Session, n: int, unit: str | None, received: datetime, channel: str = "portal") -> str:
    invoice = Invoice(id=f"{n:032x}", received_at=received, channel=channel, sender="s", sha256=f"{n:064x}", size=1,
                      status="in_approval", unit_id=unit)
    session.add(invoice)
    return invoice.id


def _instance(session: Session, invoice_id: str, unit: str, skonto: date | None, amount: str | None) -> None:
    session.add(WorkflowInstance(invoice_id=invoice_id, unit_id=unit, status="running", data_digest="x",
                                 due_date=date(2026, 4, 30), due_source="bt9", skonto_date=skonto,
                                 skonto_amount=Decimal(amount) if amount else None))


def _exported(session: Session, invoice_id: str, config_id: str, at: datetime) -> None:
    session.add(OutboxEntry(idempotency_key=invoice_id, invoice_id=invoice_id, config_id=config_id, exporter="csv",
                            status="done", done_at=at))


def _task(session: Session, invoice_id: str, unit: str, created: datetime, status: str = "active") -> None:
    instance = session.query(WorkflowInstance).filter_by(invoice_id=invoice_id).one()
    session.add(WorkflowTask(instance_id=instance.id, invoice_id=invoice_id, kind="approval", stage="factual",
                             stage_title="t", roles="clerk", unit_id=unit, status=status, created_at=created,
                             deadline=date(2026, 4, 1), due_date=date(2026, 4, 1)))


def test_figures_per_unit(db: Engine) -> None:
    factory = sessionmaker(bind=db, expire_on_commit=False)
    with factory() as session:
        session.add_all([Unit(id="u1" * 16, name="Bau"), Unit(id="u2" * 16, name="Schule")])
        config = ExportConfig(id="c" * 32, unit_id="u1" * 16, exporter="csv", settings={})
        session.add(config)
        bau, schule = "u1" * 16, "u2" * 16
        a = _invoice(session, 1, bau, NOW - timedelta(days=2, hours=1))
        b = _invoice(session, 2, bau, NOW - timedelta(days=2), channel="mail")
        c = _invoice(session, 3, bau, NOW - timedelta(days=10))
        d = _invoice(session, 4, schule, NOW - timedelta(hours=1))
        _invoice(session, 5, bau, NOW - timedelta(days=40))  # outside the 30 days
        session.flush()
        _instance(session, a, bau, date(2026, 3, 19), "10.00")  # exported on the 18th: captured
        _instance(session, b, bau, date(2026, 3, 17), "5.50")  # exported on the 18th: lost
        _instance(session, c, bau, date(2026, 3, 15), "7.00")  # not exported, date passed: lost
        _instance(session, d, schule, date(2026, 3, 25), "3.00")  # still open (other unit)
        session.flush()
        _exported(session, a, config.id, NOW - timedelta(days=1, hours=13))  # 12 h after receipt
        _exported(session, b, config.id, NOW - timedelta(hours=12))  # 36 h after receipt
        _task(session, c, bau, NOW - timedelta(days=10))
        _task(session, c, bau, NOW - timedelta(days=1))
        _task(session, c, bau, NOW - timedelta(days=1), status="done")
        _task(session, d, schule, NOW - timedelta(days=40))
        session.commit()

        everything = stats.dashboard(session, None, now=NOW, days=30)
        bau_only = stats.dashboard(session, frozenset({bau}), now=NOW, days=30)

    assert len(everything.days) == 30 and everything.days[-1].day == NOW.date()
    assert sum(day.total for day in everything.days) == 4
    assert sum(day.total for day in bau_only.days) == 3
    by_day = {day.day: day.counts for day in bau_only.days}
    assert by_day[date(2026, 3, 18)] == {"portal": 1, "mail": 1}
    assert dict(bau_only.task_ages) == {(0, 3): 1, (3, 8): 0, (8, 15): 1, (15, 31): 0, (31, None): 0}
    assert dict(everything.task_ages)[(31, None)] == 1
    assert bau_only.exported == 2 and bau_only.average_lead_time == timedelta(hours=24)
    assert (bau_only.skonto.captured, bau_only.skonto.captured_amount) == (1, Decimal("10.00"))
    assert (bau_only.skonto.lost, bau_only.skonto.lost_amount) == (2, Decimal("12.50"))
    assert (bau_only.skonto.open, everything.skonto.open) == (0, 1)


def test_chart_is_an_accessible_svg_with_round_gridlines() -> None:
    assert _ticks(0) == [0, 1]
    assert _ticks(7) == [0, 2, 4, 6, 8]
    assert _ticks(23) == [0, 5, 10, 15, 20, 25]
    svg = stacked_bars([Bar("01.03.", (2, 1, 0, 0)), Bar("02.03.", (0, 0, 0, 0))], title="Eingang <30 Tage>",
                       description="3 Rechnungen", chart_id="c")
    assert 'role="img" aria-labelledby="c-title c-desc"' in svg
    assert "<title id=\"c-title\">Eingang &lt;30 Tage&gt;</title>" in svg
    assert svg.count("<rect ") == 2 and "style=" not in svg  # CSP: no inline styles
