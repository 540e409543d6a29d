"""The workflow's part of the ledger record: what ``einvoice ledger verify`` holds it to.

Who certified what, the account coding and the state of the approval are the evidence a payment
order rests on (GoBD: no change without trace). Every journal entry about an invoice carries the
digest of this record as it is at that moment, and ``verify`` compares the current rows with the
digest of the invoice's last entry — like the invoice row itself (``ledger.canonical.record_digest``).

Only fields that change together with a journalled transition belong here: claims, reminders,
escalations and the derived deadline dates are working data, not evidence, and stay out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from einvoice.ledger.canonical import canonical_json, sha256_hex, utc_iso
from einvoice.workflow.models import WorkflowInstance, WorkflowTask

DIGEST_KEY = "workflow_digest"


def _decided() -> Any:
    return WorkflowTask.decision.is_not(None)


def record_fields(instance: WorkflowInstance, decided: Sequence[WorkflowTask]) -> dict[str, Any]:
    """The instance's state and every decision taken on it, in a stable order."""
    return {
        "instance": instance.id,
        "definition": instance.definition_id,
        "unit": instance.unit_id,
        "status": str(instance.status),
        "stage": instance.stage,
        "stage_index": instance.stage_index,
        "coding": instance.coding,
        "coding_version": instance.coding_version,
        "data_digest": instance.data_digest,
        "rejection_reason": instance.rejection_reason,
        "decisions": [{
            "task": task.id,
            "kind": str(task.kind),
            "stage": task.stage,
            "approval_no": task.approval_no,
            "decision": task.decision,
            "decided_by": task.decided_by,
            "on_behalf_of": task.on_behalf_of,
            "decided_at": utc_iso(task.decided_at) if task.decided_at else None,
            "comment": task.comment,
            "valid": task.valid,
        } for task in sorted(decided, key=lambda t: t.id)],
    }


def _digest(instance: WorkflowInstance, decided: Sequence[WorkflowTask]) -> str:
    return sha256_hex(canonical_json(record_fields(instance, decided)))


def workflow_digest(session: Session, invoice_id: str) -> str | None:
    """The digest journalled with an entry about ``invoice_id``; None while it has no workflow."""
    instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.invoice_id == invoice_id))
    if instance is None:
        return None
    decided = session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance.id, _decided()))
    return _digest(instance, list(decided))


def all_workflow_digests(session: Session) -> Iterator[tuple[str, str]]:
    """(invoice id, digest) of every workflow, streamed in invoice-id order (constant memory)."""
    instances = session.execute(select(WorkflowInstance).order_by(WorkflowInstance.invoice_id)
                                .execution_options(yield_per=500)).scalars()
    tasks = session.execute(select(WorkflowTask).where(_decided())
                            .order_by(WorkflowTask.invoice_id).execution_options(yield_per=1000)).scalars()
    grouped = groupby(tasks, key=lambda task: task.invoice_id)
    pending: tuple[str, list[WorkflowTask]] | None = None
    for instance in instances:
        decided: list[WorkflowTask] = []
        while True:
            if pending is None:
                item = next(grouped, None)
                if item is None:
                    break
                pending = (item[0], list(item[1]))
            if pending[0] < instance.invoice_id:
                pending = None  # decisions without an instance: the instance check reports it
                continue
            if pending[0] == instance.invoice_id:
                decided, pending = pending[1], None
            break
        yield instance.invoice_id, _digest(instance, decided)
        session.expunge(instance)
        for task in decided:
            session.expunge(task)
