"""Supplier self-registration: with an invitation code the account is usable at once; without one it
waits (inactive) until an administrator approves it. Every decision is journalled."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from einvoice.accounts.models import Role, User
from einvoice.accounts.service import AccountError, create_user
from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.ledger.models import utcnow
from einvoice.portal.models import InvitationCode, Registration, RegistrationStatus

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,99}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


class RegistrationError(ValueError):
    """A registration that cannot be accepted; ``key`` names the catalogue text for the page."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class RegistrationRequest:
    name: str
    email: str
    company: str
    vat_id: str
    password: str
    invitation_code: str = ""


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def create_invitation(uow: UnitOfWork, created_by: str, label: str = "", *, days: int = 30,
                      max_uses: int = 1) -> str:
    """A new invitation code (returned once; only its digest is stored)."""
    code = secrets.token_urlsafe(12)
    uow.session.add(InvitationCode(digest=_digest(code), label=label[:200], created_by=created_by,
                                   expires_at=utcnow() + timedelta(days=max(1, days)), max_uses=max(1, max_uses)))
    uow.session.flush()
    journal.append(uow.session, event="invitation_created", actor=created_by,
                   payload={"label": label[:200], "days": days, "max_uses": max_uses})
    return code


def _usable_invitation(uow: UnitOfWork, code: str) -> InvitationCode:
    row = uow.session.scalar(select(InvitationCode).where(InvitationCode.digest == _digest(code)))
    if (row is None or row.revoked_at is not None or row.uses >= row.max_uses
            or _aware(row.expires_at) < utcnow()):
        raise RegistrationError("register.bad_code")
    return row


def check(request: RegistrationRequest) -> list[str]:
    """Every problem with the form at once (catalogue keys), before anything is stored."""
    problems = []
    if not NAME.match(request.name):
        problems.append("register.bad_name")
    if not EMAIL.match(request.email):
        problems.append("register.bad_email")
    if not request.company.strip():
        problems.append("register.no_company")
    if len(request.password) < MIN_PASSWORD:
        problems.append("register.short_password")
    return problems


def register(uow: UnitOfWork, request: RegistrationRequest) -> Registration:
    """Create the supplier account: active with a valid invitation code, else pending approval."""
    problems = check(request)
    if problems:
        raise RegistrationError(problems[0])
    invitation = _usable_invitation(uow, request.invitation_code) if request.invitation_code.strip() else None
    if uow.session.scalar(select(User.id).where(User.name == request.name)) is not None:
        raise RegistrationError("register.name_taken")
    try:
        user = create_user(uow, request.name, Role.SUPPLIER.value, email=request.email, password=request.password)
    except AccountError:
        raise RegistrationError("register.name_taken") from None
    row = Registration(user_id=user.id, company=request.company.strip()[:500],
                       vat_id=request.vat_id.strip()[:40] or None, invitation_id=invitation.id if invitation else None)
    if invitation is not None:
        invitation.uses += 1
        row.status = RegistrationStatus.APPROVED
        row.decided_at = utcnow()
        row.decided_by = "invitation"
    else:
        user.active = False  # cannot log in until approved
        row.status = RegistrationStatus.PENDING
    uow.session.add(row)
    uow.session.flush()
    journal.append(uow.session, event="supplier_registered", actor=user.id, payload={
        "user": user.name, "company": row.company, "status": row.status, "invitation": bool(invitation)})
    return row


def pending_registrations(uow: UnitOfWork) -> list[tuple[Registration, User]]:
    rows = uow.session.execute(select(Registration, User).join(User, User.id == Registration.user_id)
                               .where(Registration.status == RegistrationStatus.PENDING)
                               .order_by(Registration.created_at))
    return [(registration, user) for registration, user in rows]


def _pending(uow: UnitOfWork, registration_id: str) -> tuple[Registration, User]:
    row = uow.session.get(Registration, registration_id)
    if row is None:
        raise RegistrationError("register.unknown")
    if row.status != RegistrationStatus.PENDING:
        raise RegistrationError("register.already_decided")
    return row, uow.session.get_one(User, row.user_id)


def approve_registration(uow: UnitOfWork, registration_id: str, actor: str) -> Registration:
    """An administrator admits a pending supplier: the account becomes active."""
    row, user = _pending(uow, registration_id)
    user.active = True
    row.status, row.decided_at, row.decided_by = RegistrationStatus.APPROVED, utcnow(), actor
    journal.append(uow.session, event="registration_approved", actor=actor,
                   payload={"registration": row.id, "user": user.name})
    return row


def reject_registration(uow: UnitOfWork, registration_id: str, actor: str, reason: str = "") -> Registration:
    """An administrator refuses a pending supplier: the account stays inactive for good."""
    row, user = _pending(uow, registration_id)
    row.status, row.decided_at, row.decided_by = RegistrationStatus.REJECTED, utcnow(), actor
    row.reason = reason[:2000] or None
    journal.append(uow.session, event="registration_rejected", actor=actor,
                   payload={"registration": row.id, "user": user.name, "reason": reason[:2000]})
    return row
