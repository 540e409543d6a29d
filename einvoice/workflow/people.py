"""People and units in the workflow: names, substitutes (Vertretung) with date ranges, unit settings
(definition, extra buyer reference, lead) and who hears about overdue tasks."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from einvoice.accounts.models import Role, Unit, User
from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.workflow.definitions import DefinitionError, registry
from einvoice.workflow.errors import Forbidden, Invalid, NotFound
from einvoice.workflow.models import Substitute, UnitSettings

SYSTEM_ACTOR = "system"


def active_user(session: Session, user_id: str) -> User:
    """The acting user; unknown or deactivated users are refused."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Forbidden("unknown or deactivated user")
    return user


def user_named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise Invalid(f"no user named {name!r}")
    return user


def unit_named(session: Session, name: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.name == name.strip()))
    if unit is None:
        raise Invalid(f"no unit named {name!r}")
    return unit


def name_of(session: Session, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.name if user else user_id


def unit_name_of(session: Session, unit_id: str | None) -> str | None:
    if unit_id is None:
        return None
    unit = session.get(Unit, unit_id)
    return unit.name if unit else unit_id


def substitutions_of(session: Session, substitute_id: str) -> list[Substitute]:
    return list(session.scalars(select(Substitute).where(Substitute.substitute_user_id == substitute_id)
                                .order_by(Substitute.valid_from)))


def represented_users(session: Session, user_id: str, today: date) -> list[User]:
    """The absent users ``user_id`` stands in for today."""
    rows = session.scalars(select(User).join(Substitute, Substitute.absent_user_id == User.id).where(
        Substitute.substitute_user_id == user_id, Substitute.valid_from <= today, Substitute.valid_to >= today,
        User.active.is_(True)))
    return list(dict.fromkeys(rows))


def substitutes_for(session: Session, *, absent_id: str, substitute_id: str, today: date) -> bool:
    return session.scalar(select(Substitute.id).where(
        Substitute.absent_user_id == absent_id, Substitute.substitute_user_id == substitute_id,
        Substitute.valid_from <= today, Substitute.valid_to >= today).limit(1)) is not None


# ------------------------------------------------------------------ units and substitutes

def configure_unit(uow: UnitOfWork, unit_name: str, *, workflow: str | None = None,
                   buyer_reference: str | None = None, lead: str | None = None,
                   actor: str = SYSTEM_ACTOR) -> UnitSettings:
    """Set a unit's workflow definition, extra buyer reference (for non-Leitweg references) or lead."""
    session = uow.session
    unit = unit_named(session, unit_name)
    settings = session.get(UnitSettings, unit.id) or UnitSettings(unit_id=unit.id)
    changes: dict[str, Any] = {}
    if workflow is not None:
        try:
            registry().get(workflow)
        except DefinitionError as exc:
            raise Invalid(str(exc)) from None
        settings.workflow = workflow
        changes["workflow"] = workflow
    if buyer_reference is not None:
        reference = buyer_reference.strip() or None
        if reference:
            taken = session.scalar(select(UnitSettings).where(
                func.lower(UnitSettings.buyer_reference) == reference.lower(), UnitSettings.unit_id != unit.id))
            other = session.scalar(select(Unit).where(func.lower(Unit.leitweg_id) == reference.lower(),
                                                      Unit.id != unit.id))
            if taken is not None or other is not None:
                raise Invalid(f"the buyer reference {reference} already belongs to another unit")
        settings.buyer_reference = reference
        changes["buyer_reference"] = reference
    if lead is not None:
        person = user_named(session, lead)
        if person.role not in (Role.APPROVER.value, Role.ADMIN.value):
            raise Invalid(f"a unit's lead must be an approver or admin; {person.name} is a {person.role}")
        if person.role == Role.APPROVER.value and person.unit_id != unit.id:
            raise Invalid(f"{person.name} belongs to another unit")
        settings.lead_user_id = person.id
        changes["lead"] = person.name
    session.add(settings)
    session.flush()
    journal.append(session, event="unit_workflow_configured", actor=actor,
                   payload={"unit": unit.name, "unit_id": unit.id, **changes})
    return settings


def unit_lead(session: Session, unit_id: str | None) -> User | None:
    """Who hears about overdue tasks: the flagged lead, else the unit's admin, else any admin."""
    if unit_id is not None:
        settings = session.get(UnitSettings, unit_id)
        if settings is not None and settings.lead_user_id:
            lead = session.get(User, settings.lead_user_id)
            if lead is not None and lead.active:
                return lead
        unit_admin = session.scalar(select(User).where(User.unit_id == unit_id, User.role == Role.ADMIN.value,
                                                       User.active.is_(True)).order_by(User.name).limit(1))
        if unit_admin is not None:
            return unit_admin
    return session.scalar(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
                          .order_by(User.name).limit(1))


def add_substitute(uow: UnitOfWork, *, absent: str, substitute: str, valid_from: date, valid_to: date,
                   actor: str = SYSTEM_ACTOR) -> Substitute:
    session = uow.session
    if valid_to < valid_from:
        raise Invalid("the substitution ends before it starts")
    absent_user = user_named(session, absent)
    substitute_user = user_named(session, substitute)
    if absent_user.id == substitute_user.id:
        raise Invalid("nobody can substitute themselves")
    staff = (Role.CLERK.value, Role.APPROVER.value, Role.ADMIN.value)
    if absent_user.role not in staff or substitute_user.role not in staff:
        raise Invalid("substitutes are for staff (clerk, approver, admin)")
    row = Substitute(absent_user_id=absent_user.id, substitute_user_id=substitute_user.id, valid_from=valid_from,
                     valid_to=valid_to, created_by=actor)
    session.add(row)
    session.flush()
    journal.append(session, event="substitute_added", actor=actor, payload={
        "id": row.id, "absent": absent_user.name, "substitute": substitute_user.name,
        "valid_from": valid_from, "valid_to": valid_to})
    return row


def remove_substitute(uow: UnitOfWork, substitute_id: str, *, actor: str = SYSTEM_ACTOR) -> None:
    row = uow.session.get(Substitute, substitute_id)
    if row is None:
        raise NotFound(f"no substitution {substitute_id!r}")
    payload = {"id": row.id, "absent": name_of(uow.session, row.absent_user_id),
               "substitute": name_of(uow.session, row.substitute_user_id)}
    uow.session.delete(row)
    uow.session.flush()
    journal.append(uow.session, event="substitute_removed", actor=actor, payload=payload)


def list_substitutes(uow: UnitOfWork, user_id: str | None = None) -> list[tuple[Substitute, str, str]]:
    query = select(Substitute).order_by(Substitute.valid_from, Substitute.id)
    if user_id is not None:
        query = query.where(or_(Substitute.absent_user_id == user_id, Substitute.substitute_user_id == user_id))
    session = uow.session
    return [(row, name_of(session, row.absent_user_id) or "", name_of(session, row.substitute_user_id) or "")
            for row in session.scalars(query)]
