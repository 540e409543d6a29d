"""Bearer-token authentication for the HTTP API: who is calling, and which invoices they may see.

The dependency returns a ``Principal`` — plain values, no ORM objects — so route code cannot touch a
session that belongs to the authentication step. Every failure is the same 401 with
``WWW-Authenticate: Bearer``, so callers cannot tell an unknown token from a revoked one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from einvoice.accounts.models import Role
from einvoice.accounts.service import authenticate_token, visibility_for
from einvoice.db import UnitOfWork
from einvoice.ledger.service import Visibility

bearer_scheme = HTTPBearer(auto_error=False, description="API token from `einvoice tokens create --user NAME`")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    name: str
    role: str
    unit_id: str | None
    visibility: Visibility


def unauthorized(detail: str = "missing or invalid bearer token") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def principal_for_token(token: str) -> Principal | None:
    """Look the token up in its own short transaction (read only)."""
    with UnitOfWork() as uow:
        user = authenticate_token(uow, token)
        if user is None:
            return None
        return Principal(user_id=user.id, name=user.name, role=user.role, unit_id=user.unit_id,
                         visibility=visibility_for(user))


async def authenticate(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """FastAPI dependency: the caller, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthorized()
    principal = await run_in_threadpool(principal_for_token, credentials.credentials.strip())
    if principal is None:
        raise unauthorized()
    return principal


def require_roles(*roles: Role | str) -> Callable[..., object]:
    """A dependency that admits only the given roles (403 for other authenticated callers)."""
    allowed = frozenset(str(r) for r in roles)

    async def _check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"role {principal.role!r} may not do this; allowed: {_list(allowed)}")
        return principal

    return _check


def _list(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
