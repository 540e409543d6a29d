"""Pages every user meets: start page, login, logout, password change, and the error pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from einvoice.accounts import throttle
from einvoice.accounts.models import User
from einvoice.accounts.service import AccountError, authenticate_password, hash_password, verify_password
from einvoice.db import UnitOfWork
from einvoice.security import Principal
from einvoice.web.ui import sessions
from einvoice.web.ui.auth import LoginRequired, PageError, current_principal, require_page_user
from einvoice.web.ui.pages import Form, field, page_router, redirect, safe_next
from einvoice.web.ui.templating import render

router = page_router()

MIN_PASSWORD = 10
HOME = {"supplier": "/portal", "clerk": "/staff/tasks", "approver": "/staff/tasks", "admin": "/staff/tasks"}


def home_of(role: str) -> str:
    return HOME.get(role, "/account/password")


@router.get("/", name="home")
def home(request: Request) -> Response:
    principal = current_principal(request)
    return redirect(home_of(principal.role) if principal else "/login")


@router.get("/login", name="login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    principal = current_principal(request)
    if principal is not None:
        return redirect(safe_next(next, home_of(principal.role)))
    return render(request, "login.html", next=safe_next(next, ""), error=None, name="")


@router.post("/login")
def login(request: Request, form: Form) -> Response:
    name, password = field(form, "name", 200), field(form, "password", 1000)
    target = field(form, "next", 2000)
    with UnitOfWork() as uow:
        if throttle.login_blocked(uow.session, name):
            return render(request, "login.html", status_code=429, next=safe_next(target, ""),
                          error="login.locked", name=name)
        user = authenticate_password(uow, name, password) if name and password else None
        if user is not None and user.role == "connector":
            user = None  # connectors hand documents over by token; they have no pages
        if user is None:
            throttle.record_failed_login(uow.session, name)
            uow.commit()
            return render(request, "login.html", status_code=401, next=safe_next(target, ""),
                          error="login.failed", name=name)
        throttle.clear_failed_logins(uow.session, name)
        uow.commit()
        sessions.log_in(request, user.id, user.password_hash)
        return redirect(safe_next(target, home_of(user.role)))


@router.post("/logout")
def logout(request: Request) -> Response:
    sessions.log_out(request)
    sessions.flash(request, "login.logged_out")
    return redirect("/login")


PageUser = Annotated[Principal, Depends(require_page_user())]


@router.get("/account/password", name="password", response_class=HTMLResponse)
def password_page(request: Request, principal: PageUser) -> Response:
    return render(request, "password.html", errors=[])


@router.post("/account/password")
def change_password(request: Request, principal: PageUser, form: Form) -> Response:
    current, new, repeat = (field(form, "current", 1000), field(form, "new", 1000), field(form, "repeat", 1000))
    errors: list[str] = []
    with UnitOfWork() as uow:
        user = uow.session.get(User, principal.user_id)
        if user is None or not verify_password(user.password_hash, current):
            errors.append("password.wrong_current")
        if len(new) < MIN_PASSWORD:
            errors.append("password.too_short")
        if new != repeat:
            errors.append("password.mismatch")
        if errors or user is None:
            return render(request, "password.html", status_code=422, errors=errors)
        try:
            user.password_hash = hash_password(new)
        except AccountError:
            return render(request, "password.html", status_code=422, errors=["password.too_short"])
        uow.commit()
        # other sessions carry the old fingerprint and end; this one continues with the new one
        sessions.session(request)[sessions.PASSWORD_VERSION] = sessions.password_version(user.password_hash)
    sessions.flash(request, "password.changed", "success")
    return redirect("/account/password")


def install_page_errors(app: FastAPI) -> None:
    """HTML answers for page errors: the error page, or the login page for anonymous visitors."""

    async def page_error(request: Request, exc: PageError) -> Response:
        return render(request, "error.html", status_code=exc.status, message_key=exc.key, params=exc.params,
                      status=exc.status)

    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    app.add_exception_handler(PageError, page_error)  # type: ignore[arg-type]
    app.add_exception_handler(LoginRequired, login_required)  # type: ignore[arg-type]
