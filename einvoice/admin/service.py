"""What the admin pages change beyond the existing account and workflow functions: a user's role, unit
and whether the account may log in. Every change is journalled, like the other administrative events.

Creating users and units, unit workflow settings and substitutes go straight to
``einvoice.accounts.service`` and ``einvoice.workflow.people``; nothing here repeats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from einvoice.accounts.models import Role, User
from einvoice.accounts.service import AccountError, parse_role, unit_by_name, user_by_name
from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.rules.store import RulePackError, read_packs_json


@dataclass(frozen=True)
class PackView:
    name: str
    kind: str
    version: str
    verified: str
    installed_at: str
    source: str


def update_user(uow: UnitOfWork, name: str, *, role: str, unit: str | None, actor: str) -> User:
    """Set role and unit; clerks and approvers need a unit (as on creation), nobody demotes themselves."""
    user = user_by_name(uow, name)
    parsed = parse_role(role)
    unit_row = unit_by_name(uow, unit) if unit else None
    if parsed in (Role.CLERK, Role.APPROVER) and unit_row is None:
        raise AccountError(f"a {parsed.value} must belong to a unit")
    if user.name == actor and parsed is not Role.ADMIN:
        raise AccountError("you cannot take the admin role from yourself")
    changes: dict[str, Any] = {}
    if user.role != parsed.value:
        changes["role"] = [user.role, parsed.value]
        user.role = parsed.value
    new_unit = unit_row.id if unit_row else None
    if user.unit_id != new_unit:
        changes["unit"] = unit_row.name if unit_row else None
        user.unit_id = new_unit
    if changes:
        uow.session.flush()
        journal.append(uow.session, event="user_changed", actor=actor, payload={"user": user.name, **changes})
    return user


def set_active(uow: UnitOfWork, name: str, active: bool, *, actor: str) -> User:
    """Deactivated users cannot log in or use tokens; the account and its history stay."""
    user = user_by_name(uow, name)
    if user.name == actor and not active:
        raise AccountError("you cannot deactivate yourself")
    if user.active != active:
        user.active = active
        uow.session.flush()
        journal.append(uow.session, event="user_activated" if active else "user_deactivated", actor=actor,
                       payload={"user": user.name})
    return user


def installed_packs(rules_dir: Path) -> tuple[list[PackView], str | None]:
    """The rule packs of ``packs.json``, or the reason they cannot be listed."""
    try:
        packs = read_packs_json(rules_dir)
    except (RulePackError, OSError, ValueError) as exc:
        return [], str(exc)
    views = [PackView(name=str(data.get("name", name)), kind=str(data.get("kind", "")),
                      version=str(data.get("version", "")), verified=str(data.get("verified", "")),
                      installed_at=str(data.get("installed_at", "")), source=str(data.get("source", "")))
             for name, data in sorted(packs.items())]
    return views, None
