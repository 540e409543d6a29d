"""Workflow tables: definition snapshots, one instance per invoice, its tasks, substitutes, unit settings
and the outbox of e-mail notices.

Foreign keys name tables as strings, so this module needs no ledger or accounts import and can be
registered on the metadata from anywhere (``einvoice.ledger.service`` imports it for that reason).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class InstanceStatus(StrEnum):
    CLEARING = "clearing"  # no unit (or no definition) found: waits in the central clearing queue
    RUNNING = "running"
    APPROVED = "approved"
    REJECTED = "rejected"


class TaskKind(StrEnum):
    APPROVAL = "approval"
    CLEARING = "clearing"


class TaskStatus(StrEnum):
    """``active`` tasks are *open* while nobody holds them and *claimed* while ``assignee_id`` is set; one
    stored value for both keeps "all active tasks by deadline" a single index range."""

    ACTIVE = "active"
    DONE = "done"
    CANCELLED = "cancelled"  # superseded (coding or data change, rejection)


ACTIVE = TaskStatus.ACTIVE.value


class DefinitionSnapshot(Base):
    """A workflow definition exactly as an instance started with it; identical content is stored once."""

    __tablename__ = "workflow_definitions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the canonical JSON body
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkflowInstance(Base):
    """The approval process of one invoice."""

    __tablename__ = "workflow_instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), unique=True)
    definition_id: Mapped[str | None] = mapped_column(ForeignKey("workflow_definitions.id"))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    stage: Mapped[str | None] = mapped_column(String(64))
    stage_index: Mapped[int] = mapped_column(Integer, default=0)
    coding: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # CodingLine fields, amounts as text
    coding_version: Mapped[int] = mapped_column(Integer, default=0)
    data_digest: Mapped[str] = mapped_column(String(64))  # the invoice data the approvals refer to
    clearing_reason: Mapped[str | None] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date)
    due_source: Mapped[str] = mapped_column(String(32))
    skonto_date: Mapped[date | None] = mapped_column(Date)
    skonto_percent: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    skonto_amount: Mapped[Decimal | None] = mapped_column(Numeric(19, 4))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class WorkflowTask(Base):
    """One step for people: assigned to roles within a unit (or to the clearing office without unit)."""

    __tablename__ = "workflow_tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(ForeignKey("workflow_instances.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(64))
    stage_title: Mapped[str] = mapped_column(String(200))
    approval_no: Mapped[int] = mapped_column(Integer, default=1)  # 2 = second approver of the stage
    roles: Mapped[str] = mapped_column(String(100))  # comma-separated roles that may act
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # deadlines: the nearest one (Skonto date while it can still be met, else the due date) sorts the queue
    deadline: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    skonto_date: Mapped[date | None] = mapped_column(Date)
    # the decision
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    on_behalf_of: Mapped[str | None] = mapped_column(ForeignKey("users.id"))  # the absent user (Vertretung)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)
    valid: Mapped[bool | None] = mapped_column(Boolean)  # approvals: False once discarded
    discarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # reminders and escalation
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        # the workqueue: active tasks by deadline — all (admins), of a unit, held by someone
        Index("ix_workflow_tasks_status_deadline", "status", "deadline", "id"),
        Index("ix_workflow_tasks_unit_status_deadline", "unit_id", "status", "deadline", "id"),
        Index("ix_workflow_tasks_assignee_status_deadline", "assignee_id", "status", "deadline", "id"),
        Index("ix_workflow_tasks_escalated_status", "escalated_to", "status"),
        # the deadline job and the Skonto/overdue filters
        Index("ix_workflow_tasks_status_skonto", "status", "skonto_date"),
        Index("ix_workflow_tasks_status_due", "status", "due_date"),
    )

    @property
    def state(self) -> str:
        """What people see: open, claimed, done or cancelled."""
        if self.status == ACTIVE:
            return "claimed" if self.assignee_id else "open"
        return self.status


class Substitute(Base):
    """Vertretung: ``substitute`` acts for ``absent`` from ``valid_from`` to ``valid_to`` (both inclusive)."""

    __tablename__ = "workflow_substitutes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    absent_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    substitute_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UnitSettings(Base):
    """Workflow settings of a unit: its definition, an extra buyer reference (non-Leitweg) and its lead."""

    __tablename__ = "workflow_units"

    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    workflow: Mapped[str | None] = mapped_column(String(100))
    buyer_reference: Mapped[str | None] = mapped_column(String(200), unique=True)
    lead_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Notice(Base):
    """Outbox of e-mails (rejection notices, reminders, escalations), written in the deciding transaction
    and sent after the commit, so no mail announces a decision that was rolled back."""

    __tablename__ = "workflow_notices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)  # at most one such notice

    __table_args__ = (Index("ix_workflow_notices_pending", "sent_at", "next_attempt_at"),)
