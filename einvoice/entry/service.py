"""The entry form's use cases: build, check with the official rules, submit; drafts and seller data.

Submission goes through the one intake path (``einvoice.intake.service.submit``, channel
``portal``), but only after the generated document passed the same validation the ledger will run:
a supplier never sends an invoice the service itself would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from einvoice.db import UnitOfWork
from einvoice.entry.document import render_ubl
from einvoice.entry.form import InvoiceForm
from einvoice.entry.models import DraftStatus, EntryDraft, SellerProfile
from einvoice.ledger.models import utcnow
from einvoice.validation.model import Finding, Level, ValidationResult

#: Fields that identify one particular invoice; a copy for the next (recurring) invoice starts without them.
_ONE_OFF_FIELDS = ("number", "issue_date", "due_date", "delivery_date", "period_start", "period_end")
_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_DRAFTS = 500


class EntryError(LookupError):
    """No such draft for this account (the pages answer 404, never revealing other accounts' drafts)."""


@dataclass(frozen=True)
class EntryResult:
    """What became of one submission attempt; ``findings`` are errors and warnings to show."""

    accepted: bool
    xml: bytes
    findings: list[Finding] = field(default_factory=list)
    invoice_id: str | None = None
    duplicate_of: str | None = None
    draft_id: str | None = None


def build_xml(form: InvoiceForm) -> bytes:
    """The XRechnung 3.0 UBL invoice for a valid form."""
    return render_ubl(form.to_document())


def xml_filename(form: InvoiceForm) -> str:
    """A safe download name derived from the invoice number."""
    return f"{_FILENAME.sub('_', form.number).strip('._') or 'rechnung'}.xml"


def check(form: InvoiceForm) -> tuple[bytes, ValidationResult]:
    """Build and validate with the official rules (the validator the intake uses)."""
    from einvoice.intake.service import validator

    xml = build_xml(form)
    return xml, validator().validate_bytes(xml, xml_filename(form))


def shown_findings(result: ValidationResult) -> list[Finding]:
    """Errors first, then warnings; information-level findings are noise on the entry page."""
    relevant = [f for f in result.findings if f.level is not Level.INFORMATION]
    return sorted(relevant, key=lambda f: (not f.level.rejects, f.rule))


def submit(form: InvoiceForm, raw: dict[str, Any], *, user_id: str, draft_id: str | None = None,
           checker: Callable[[InvoiceForm], tuple[bytes, ValidationResult]] = check) -> EntryResult:
    """Validate, then hand the document to the intake; record the entry and remember the seller.

    A rejected document is not submitted: the caller shows the findings next to the form.
    """
    from einvoice.intake import service as intake

    xml, result = checker(form)
    if not result.accepted:
        return EntryResult(accepted=False, xml=xml, findings=shown_findings(result), draft_id=draft_id)
    outcome = intake.submit(data=xml, channel="portal", sender=user_id, filename=xml_filename(form),
                            content_type="application/xml")
    with UnitOfWork() as uow:
        draft = _owned(uow, user_id, draft_id) if draft_id else None
        if draft is None or draft.status != DraftStatus.DRAFT.value:
            # the same document sent again (double click): the ledger answers with the same invoice
            draft = uow.session.scalar(select(EntryDraft).where(EntryDraft.owner_id == user_id,
                                                                EntryDraft.invoice_id == outcome.invoice_id))
        if draft is None or draft.status not in (DraftStatus.DRAFT.value, DraftStatus.SUBMITTED.value):
            draft = EntryDraft(owner_id=user_id, data=raw)
            uow.session.add(draft)
        draft.data = raw
        draft.title = title_for(raw)
        draft.status = DraftStatus.SUBMITTED.value
        draft.invoice_id = outcome.invoice_id
        draft.updated_at = utcnow()
        remember_seller(uow, user_id, raw.get("seller") or {})
        uow.session.flush()
        saved_id = draft.id
        uow.commit()
    return EntryResult(accepted=True, xml=xml, findings=shown_findings(result), invoice_id=outcome.invoice_id,
                       duplicate_of=outcome.duplicate_of, draft_id=saved_id)


# ------------------------------------------------------------------ drafts


def title_for(raw: dict[str, Any]) -> str:
    buyer = raw.get("buyer") if isinstance(raw.get("buyer"), dict) else {}
    parts = [str(raw.get("number") or "").strip(), str((buyer or {}).get("name") or "").strip()]
    return " – ".join(part for part in parts if part)[:200]


def _owned(uow: UnitOfWork, owner_id: str, draft_id: str) -> EntryDraft:
    draft = uow.session.get(EntryDraft, draft_id)
    if draft is None or draft.owner_id != owner_id:
        raise EntryError(draft_id)
    return draft


def get_draft(uow: UnitOfWork, owner_id: str, draft_id: str) -> EntryDraft:
    return _owned(uow, owner_id, draft_id)


def list_drafts(uow: UnitOfWork, owner_id: str) -> list[EntryDraft]:
    """Drafts and submitted entries of one account, newest first."""
    query = (select(EntryDraft).where(EntryDraft.owner_id == owner_id)
             .order_by(EntryDraft.updated_at.desc()).limit(MAX_DRAFTS))
    return list(uow.session.scalars(query))


def save_draft(uow: UnitOfWork, owner_id: str, raw: dict[str, Any], draft_id: str | None = None) -> EntryDraft:
    """Store the form as typed (it need not be valid yet); a submitted entry is never overwritten."""
    draft = _owned(uow, owner_id, draft_id) if draft_id else None
    if draft is None or draft.status != DraftStatus.DRAFT.value:
        draft = EntryDraft(owner_id=owner_id, status=DraftStatus.DRAFT.value, data=raw)
        uow.session.add(draft)
    draft.data = raw
    draft.title = title_for(raw)
    draft.updated_at = utcnow()
    uow.session.flush()
    return draft


def copy_draft(uow: UnitOfWork, owner_id: str, draft_id: str) -> EntryDraft:
    """A new draft from a draft or a submitted entry, without number and dates (recurring invoices)."""
    source = _owned(uow, owner_id, draft_id)
    data = {key: value for key, value in dict(source.data).items() if key not in _ONE_OFF_FIELDS}
    copy = EntryDraft(owner_id=owner_id, status=DraftStatus.DRAFT.value, data=data, title=title_for(data))
    uow.session.add(copy)
    uow.session.flush()
    return copy


def delete_draft(uow: UnitOfWork, owner_id: str, draft_id: str) -> None:
    """Only drafts can be deleted; submitted entries stay as the record of what was sent."""
    draft = _owned(uow, owner_id, draft_id)
    if draft.status != DraftStatus.DRAFT.value:
        raise EntryError(draft_id)
    uow.session.delete(draft)
    uow.session.flush()


# ------------------------------------------------------------------ remembered seller data


def remember_seller(uow: UnitOfWork, user_id: str, seller: dict[str, Any]) -> None:
    profile = uow.session.get(SellerProfile, user_id)
    if profile is None:
        uow.session.add(SellerProfile(user_id=user_id, data=dict(seller)))
    else:
        profile.data = dict(seller)
        profile.updated_at = utcnow()
    uow.session.flush()


def remembered_seller(uow: UnitOfWork, user_id: str) -> dict[str, Any] | None:
    profile = uow.session.get(SellerProfile, user_id)
    return dict(profile.data) if profile is not None else None
