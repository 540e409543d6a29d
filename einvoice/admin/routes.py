"""Admin pages. Every change goes through the existing service functions (accounts, workflow people,
portal registration) in one unit of work, so the pages enforce exactly what the command line enforces."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from einvoice.accounts import service as accounts
from einvoice.accounts.models import Role, Unit, User
from einvoice.admin import service
from einvoice.config import get_settings
from einvoice.db import UnitOfWork
from einvoice.portal import registration
from einvoice.security import Principal
from einvoice.web.ui import sessions
from einvoice.web.ui.auth import PageError, require_page_user
from einvoice.web.ui.pages import Form, field, page_router, redirect
from einvoice.web.ui.templating import register_nav, render
from einvoice.workflow import people
from einvoice.workflow.definitions import DefinitionError, registry
from einvoice.workflow.errors import WorkflowError
from einvoice.workflow.models import UnitSettings

router = page_router(prefix="/admin")
Admin = Annotated[Principal, Depends(require_page_user(roles=(Role.ADMIN.value,)))]
ROLES = tuple(r.value for r in Role if r is not Role.CONNECTOR)
_ID = re.compile(r"^[0-9a-f]{32}$")

register_nav("admin.nav", "/admin", roles=(Role.ADMIN.value,), order=80)


def _user(uow: UnitOfWork, user_id: str) -> User:
    user = uow.session.get(User, user_id) if _ID.match(user_id) else None
    if user is None:
        raise PageError(404, "errors.not_found")
    return user


def _failed(request: Request, exc: Exception, target: str) -> Response:
    sessions.flash(request, "admin.failed", "error", detail=str(exc)[:300])
    return redirect(target)


def _definitions() -> list[tuple[str, str]]:
    try:
        return [(d.name, d.title) for d in sorted(registry().definitions.values(), key=lambda d: d.name)]
    except (DefinitionError, OSError):
        return []


# --------------------------------------------------------------------------- users and registrations


@router.get("", response_class=HTMLResponse)
def users_page(request: Request, principal: Admin) -> Response:
    with UnitOfWork() as uow:
        users = accounts.list_users(uow)
        units = accounts.list_units(uow)
        pending = registration.pending_registrations(uow)
    return render(request, "admin/users.html", users=users, units=units, unit_names={u.id: u.name for u in units},
                  pending=pending, roles=ROLES)


@router.post("/users")
def create_user(request: Request, principal: Admin, form: Form) -> Response:
    password = field(form, "password", 1000) or None
    if password is not None and len(password) < registration.MIN_PASSWORD:
        return _failed(request, accounts.AccountError("the password needs at least 10 characters"), "/admin")
    try:
        with UnitOfWork() as uow:
            user = accounts.create_user(uow, field(form, "name", 200), field(form, "role", 20),
                                        unit=field(form, "unit", 200) or None, email=field(form, "email", 320) or None,
                                        password=password)
            name = user.name
            uow.commit()
    except accounts.AccountError as exc:
        return _failed(request, exc, "/admin")
    sessions.flash(request, "admin.user_created", "success", name=name)
    return redirect("/admin")


@router.post("/users/{user_id}/update")
def update_user(request: Request, user_id: str, principal: Admin, form: Form) -> Response:
    try:
        with UnitOfWork() as uow:
            user = _user(uow, user_id)
            service.update_user(uow, user.name, role=field(form, "role", 20), unit=field(form, "unit", 200) or None,
                                actor=principal.name)
            name = user.name
            uow.commit()
    except accounts.AccountError as exc:
        return _failed(request, exc, "/admin")
    sessions.flash(request, "admin.user_changed", "success", name=name)
    return redirect("/admin")


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: str, principal: Admin, form: Form) -> Response:
    active = field(form, "active", 5) == "true"
    try:
        with UnitOfWork() as uow:
            user = _user(uow, user_id)
            service.set_active(uow, user.name, active, actor=principal.name)
            name = user.name
            uow.commit()
    except accounts.AccountError as exc:
        return _failed(request, exc, "/admin")
    sessions.flash(request, "admin.activated" if active else "admin.deactivated", "success", name=name)
    return redirect("/admin")


@router.post("/registrations/{registration_id}/{decision}")
def decide_registration(request: Request, registration_id: str, decision: str, principal: Admin,
                        form: Form) -> Response:
    if decision not in ("approve", "reject") or not _ID.match(registration_id):
        raise PageError(404, "errors.not_found")
    try:
        with UnitOfWork() as uow:
            if decision == "approve":
                registration.approve_registration(uow, registration_id, principal.name)
            else:
                registration.reject_registration(uow, registration_id, principal.name, field(form, "reason", 2000))
            uow.commit()
    except registration.RegistrationError as exc:
        sessions.flash(request, exc.key, "error")
        return redirect("/admin")
    sessions.flash(request, f"admin.registration_{decision}d", "success")
    return redirect("/admin")


@router.post("/invitations")
def create_invitation(request: Request, principal: Admin, form: Form) -> Response:
    with UnitOfWork() as uow:
        code = registration.create_invitation(uow, principal.name, field(form, "label", 200))
        uow.commit()
    sessions.flash(request, "admin.invitation_created", "success", code=code)
    return redirect("/admin")


# --------------------------------------------------------------------------- units and workflows


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request, principal: Admin) -> Response:
    with UnitOfWork() as uow:
        units = accounts.list_units(uow)
        settings = {s.unit_id: s for s in uow.session.scalars(select(UnitSettings))}
        leads = {s.unit_id: people.name_of(uow.session, s.lead_user_id) for s in settings.values()}
        candidates = [u for u in accounts.list_users(uow)
                      if u.active and u.role in (Role.APPROVER.value, Role.ADMIN.value)]
    return render(request, "admin/units.html", units=units, settings=settings, leads=leads, candidates=candidates,
                  definitions=_definitions())


@router.post("/units")
def create_unit(request: Request, principal: Admin, form: Form) -> Response:
    try:
        with UnitOfWork() as uow:
            unit = accounts.create_unit(uow, field(form, "name", 200), field(form, "leitweg_id", 46) or None)
            name = unit.name
            uow.commit()
    except accounts.AccountError as exc:
        return _failed(request, exc, "/admin/units")
    sessions.flash(request, "admin.unit_created", "success", name=name)
    return redirect("/admin/units")


@router.post("/units/{unit_id}/settings")
def configure_unit(request: Request, unit_id: str, principal: Admin, form: Form) -> Response:
    try:
        with UnitOfWork() as uow:
            unit = uow.session.get(Unit, unit_id) if _ID.match(unit_id) else None
            if unit is None:
                raise PageError(404, "errors.not_found")
            people.configure_unit(uow, unit.name, workflow=field(form, "workflow", 100) or None,
                                  lead=field(form, "lead", 200) or None, actor=principal.name)
            name = unit.name
            uow.commit()
    except WorkflowError as exc:
        return _failed(request, exc, "/admin/units")
    sessions.flash(request, "admin.unit_changed", "success", name=name)
    return redirect("/admin/units")


# --------------------------------------------------------------------------- substitutes


@router.get("/substitutes", response_class=HTMLResponse)
def substitutes_page(request: Request, principal: Admin) -> Response:
    with UnitOfWork() as uow:
        rows = people.list_substitutes(uow)
        staff = [u for u in accounts.list_users(uow)
                 if u.active and u.role in (Role.CLERK.value, Role.APPROVER.value, Role.ADMIN.value)]
    return render(request, "admin/substitutes.html", rows=rows, staff=staff)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise accounts.AccountError(f"not a date: {text!r}") from None


@router.post("/substitutes")
def add_substitute(request: Request, principal: Admin, form: Form) -> Response:
    try:
        with UnitOfWork() as uow:
            people.add_substitute(uow, absent=field(form, "absent", 200), substitute=field(form, "substitute", 200),
                                  valid_from=_date(field(form, "valid_from", 10)),
                                  valid_to=_date(field(form, "valid_to", 10)), actor=principal.name)
            uow.commit()
    except (WorkflowError, accounts.AccountError) as exc:
        return _failed(request, exc, "/admin/substitutes")
    sessions.flash(request, "admin.substitute_added", "success")
    return redirect("/admin/substitutes")


@router.post("/substitutes/{substitute_id}/delete")
def remove_substitute(request: Request, substitute_id: str, principal: Admin) -> Response:
    try:
        with UnitOfWork() as uow:
            people.remove_substitute(uow, substitute_id[:32], actor=principal.name)
            uow.commit()
    except WorkflowError:
        raise PageError(404, "errors.not_found") from None
    sessions.flash(request, "admin.substitute_removed", "success")
    return redirect("/admin/substitutes")


# --------------------------------------------------------------------------- rule packs


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, principal: Admin) -> Response:
    packs, problem = service.installed_packs(get_settings().rules_dir)
    return render(request, "admin/rules.html", packs=packs, problem=problem)
