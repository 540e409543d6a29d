"""Who is looking at a page: the session's user as a ``Principal`` (the same shape and visibility rules as
the bearer-token API), and ``require_page_user(roles=...)`` for routes.

Not logged in → redirect to the login page (``LoginRequired``); logged in with the wrong role → the 403
page (``PageError``). Staff visibility comes from ``einvoice.accounts.service.visibility_for``, so the
pages can show nothing the JSON API would not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fastapi import Request
from sqlalchemy.orm import Session

from einvoice.accounts.models import User
from einvoice.accounts.service import visibility_for
from einvoice.db import UnitOfWork
from einvoice.security import Principal
from einvoice.web.ui import sessions

STAFF = ("clerk", "approver", "admin")
SUPPLIER = ("supplier",)


class PageError(Exception):
    """An error page: ``status`` and a catalogue key (with parameters) that says what went wrong."""

    def __init__(self, status: int, key: str, **params: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params


class LoginRequired(Exception):
    """No (valid) session: the handler redirects to the login page and back afterwards."""


def load_user(session: Session, request: Request) -> User | None:
    """The session's user if it still exists, is active and has not changed its password since."""
    data = sessions.session(request)
    user_id = data.get(sessions.USER)
    if not isinstance(user_id, str):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.role == "connector":
        return None
    if data.get(sessions.PASSWORD_VERSION) != sessions.password_version(user.password_hash):
        return None
    return user


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, name=user.name, role=user.role, unit_id=user.unit_id,
                     visibility=visibility_for(user))


def current_principal(request: Request) -> Principal | None:
    """The logged-in user (cached per request), or None; a stale session is cleared."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal = None
    if sessions.session(request).get(sessions.USER):
        with UnitOfWork() as uow:
            user = load_user(uow.session, request)
            principal = principal_of(user) if user is not None else None
        if principal is None:
            sessions.log_out(request)
    request.state.principal = principal
    return principal


def require_page_user(roles: Iterable[str] | None = None) -> Callable[[Request], Principal]:
    """A dependency: the logged-in user, restricted to ``roles`` when given (403 page otherwise)."""
    allowed = frozenset(roles) if roles is not None else None

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise LoginRequired()
        if allowed is not None and principal.role not in allowed:
            raise PageError(403, "errors.forbidden_role")
        return principal

    return dependency
