"""Supplier registration: pending until approved, immediate with an invitation code, codes used up,
names unique, and every step journalled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from einvoice.accounts.models import User
from einvoice.accounts.service import authenticate_password
from einvoice.db import UnitOfWork
from einvoice.ledger.models import JournalEntry
from einvoice.portal import registration
from einvoice.portal.models import InvitationCode, RegistrationStatus

PASSWORD = "lang-genug-123"


def request(name: str, code: str = "") -> registration.RegistrationRequest:
    return registration.RegistrationRequest(name=name, email=f"{name}@example.org", company="Maler GmbH",
                                            vat_id="DE123456789", password=PASSWORD, invitation_code=code)


def test_without_code_the_account_waits_for_approval(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        row = registration.register(uow, request("maler"))
        uow.commit()
    assert row.status == RegistrationStatus.PENDING
    with UnitOfWork(factory) as uow:
        assert authenticate_password(uow, "maler", PASSWORD) is None
        assert [user.name for _, user in registration.pending_registrations(uow)] == ["maler"]
        registration.approve_registration(uow, row.id, "admin-id")
        uow.commit()
    with UnitOfWork(factory) as uow:
        assert authenticate_password(uow, "maler", PASSWORD) is not None
        assert registration.pending_registrations(uow) == []
        with pytest.raises(registration.RegistrationError, match="already_decided"):
            registration.reject_registration(uow, row.id, "admin-id")
        events = [e.event for e in uow.session.scalars(select(JournalEntry).order_by(JournalEntry.seq))]
    assert events == ["supplier_registered", "registration_approved"]


def test_rejected_registrations_never_log_in(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        row = registration.register(uow, request("spammer"))
        registration.reject_registration(uow, row.id, "admin-id", "unbekannt")
        uow.commit()
    with UnitOfWork(factory) as uow:
        assert authenticate_password(uow, "spammer", PASSWORD) is None


def test_an_invitation_code_admits_at_once_and_only_once(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        code = registration.create_invitation(uow, "admin-id", "Handwerker")
        uow.commit()
    with UnitOfWork(factory) as uow:
        stored = uow.session.scalars(select(InvitationCode)).one()
        assert code not in stored.digest  # only the digest is kept
        row = registration.register(uow, request("tischler", code))
        uow.commit()
    assert row.status == RegistrationStatus.APPROVED
    with UnitOfWork(factory) as uow:
        assert authenticate_password(uow, "tischler", PASSWORD) is not None
        with pytest.raises(registration.RegistrationError) as used:
            registration.register(uow, request("dachdecker", code))
        assert used.value.key == "register.bad_code"


def test_expired_codes_and_taken_names_are_refused(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        code = registration.create_invitation(uow, "admin-id")
        row = uow.session.scalars(select(InvitationCode)).one()
        row.expires_at = row.expires_at - timedelta(days=31)
        registration.register(uow, request("erster"))
        uow.commit()
    with UnitOfWork(factory) as uow:
        with pytest.raises(registration.RegistrationError) as expired:
            registration.register(uow, request("zweiter", code))
        assert expired.value.key == "register.bad_code"
        with pytest.raises(registration.RegistrationError) as taken:
            registration.register(uow, request("erster"))
        assert taken.value.key == "register.name_taken"
        assert uow.session.scalars(select(User).where(User.name == "zweiter")).first() is None


def test_the_form_is_checked_before_anything_is_stored() -> None:
    bad = registration.RegistrationRequest(name="x", email="nope", company=" ", vat_id="", password="short")
    assert registration.check(bad) == ["register.bad_name", "register.bad_email", "register.no_company",
                                       "register.short_password"]
