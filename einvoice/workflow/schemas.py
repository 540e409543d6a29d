"""Request and response shapes of the workqueue API (amounts as exact decimal strings, dates ISO 8601)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from einvoice.web.schemas import InvoiceDetail


class CodingLineIn(BaseModel):
    """One booking line of the account coding (Kontierung)."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, max_length=40, description="G/L account (Sachkonto) to debit.")
    cost_center: str | None = Field(None, max_length=40, description="Cost centre (Kostenstelle).")
    budget_line: str | None = Field(None, max_length=60, description="Budget line (Haushaltsstelle).")
    tax_key: str | None = Field(None, max_length=10, description="Tax key (e.g. DATEV BU-Schlüssel 9).")
    amount: Decimal | None = Field(None, description="Net amount of this line; omit for one line covering all.")
    vat_rate: Decimal | None = None
    text: str | None = Field(None, max_length=200, description="Booking text.")


class CodingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[CodingLineIn] = Field(min_length=1, max_length=100)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject", "return", "forward"]
    comment: str = Field("", max_length=2000, description="Required for reject (the reason) and return.")
    coding: list[CodingLineIn] | None = Field(None, max_length=100, description="Coding given with an approval.")
    forward_to: str | None = Field(None, max_length=200, description="The colleague's user name (forward).")


class ClearingAssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(min_length=1, max_length=200)


class ClearingRejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class SubstituteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    absent: str = Field(min_length=1, max_length=200, description="The user who is away.")
    substitute: str = Field(min_length=1, max_length=200, description="Who acts for them.")
    valid_from: date
    valid_to: date


class SubstituteOut(BaseModel):
    id: str
    absent: str
    substitute: str
    valid_from: date
    valid_to: date


class InvoiceBrief(BaseModel):
    id: str
    status: str
    invoice_number: str | None
    issue_date: date | None
    seller_name: str | None
    buyer_reference: str | None
    currency: str | None
    gross_amount: str | None
    amount_due: str | None


class TaskOut(BaseModel):
    id: str
    invoice_id: str
    kind: str
    stage: str
    title: str
    approval_no: int
    roles: list[str]
    unit: str | None
    status: str
    assignee: str | None
    created_at: datetime
    deadline: date = Field(description="The nearest deadline: the Skonto date while open, else the due date.")
    due_date: date
    skonto_date: date | None
    skonto_amount: str | None
    overdue: bool
    escalated_to: str | None
    escalated_at: datetime | None
    decision: str | None
    decided_by: str | None
    on_behalf_of: str | None
    decided_at: datetime | None
    comment: str | None
    valid: bool | None = Field(description="Approvals: false once discarded (coding/data change, return).")
    invoice: InvoiceBrief | None = None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class DecisionOut(BaseModel):
    task: TaskOut
    workflow_status: str
    invoice_status: str
    next_task: TaskOut | None


class HistoryEvent(BaseModel):
    seq: int
    at: datetime
    event: str
    actor: str = Field(description="User name (or 'system').")
    payload: dict[str, Any]


class DefinitionRef(BaseModel):
    name: str
    version: int
    digest: str


class WorkflowSummary(BaseModel):
    status: str = Field(description="clearing, running, approved or rejected.")
    stage: str | None
    stage_title: str | None
    current_task: TaskOut | None
    due_date: date | None
    skonto_date: date | None
    skonto_amount: str | None
    rejection_reason: str | None


class WorkflowOut(WorkflowSummary):
    invoice_id: str
    invoice_status: str
    definition: DefinitionRef | None
    unit: str | None
    due_source: str | None
    skonto_percent: str | None
    coding: list[dict[str, Any]]
    coding_version: int
    clearing_reason: str | None
    tasks: list[TaskOut]
    history: list[HistoryEvent]


class ClearingItem(BaseModel):
    task: TaskOut
    reason: str | None
    invoice: InvoiceBrief


class InvoiceDetailWithWorkflow(InvoiceDetail):
    workflow: WorkflowSummary | None = Field(None, description="The approval workflow, once accepted.")
