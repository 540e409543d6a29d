"""Browser sessions: a signed cookie (Starlette's SessionMiddleware, itsdangerous) holding only ids.

The cookie carries the user id, a fingerprint of the password hash (changing the password ends every
other session), the CSRF token, the language and one-shot flash messages — nothing secret, and nothing
the server trusts without checking: each request reloads the user and refuses deactivated accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

from einvoice.config import Settings
from einvoice.web.ui.i18n import normalize

COOKIE = "einvoice_session"
MAX_AGE = 8 * 3600  # one working day; the cookie's signature carries its age
USER = "uid"
PASSWORD_VERSION = "pwv"
CSRF = "csrf"
LANG = "lang"
FLASH = "flash"


def install_sessions(app: FastAPI, settings: Settings) -> None:
    """Signed, HttpOnly, SameSite=Lax cookies; Secure everywhere but development and test."""
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=COOKIE, max_age=MAX_AGE,
                       same_site="lax", https_only=settings.env not in ("development", "test"))


def session(request: Request) -> dict[str, Any]:
    return request.session


def password_version(password_hash: str | None) -> str:
    """A short fingerprint of the stored hash: a new password gives a new value."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    data = session(request)
    token = data.get(CSRF)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        data[CSRF] = token
    return token


def csrf_matches(request: Request, presented: str | None) -> bool:
    expected = session(request).get(CSRF)
    if not presented or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def log_in(request: Request, user_id: str, password_hash: str | None) -> None:
    """Start a fresh session (new CSRF token: nothing from before the login carries over)."""
    lang = language(request)
    data = session(request)
    data.clear()
    data.update({USER: user_id, PASSWORD_VERSION: password_version(password_hash), LANG: lang,
                 CSRF: secrets.token_urlsafe(32)})


def log_out(request: Request) -> None:
    lang = language(request)
    data = session(request)
    data.clear()
    data[LANG] = lang


def language(request: Request) -> str:
    return normalize(session(request).get(LANG))


def set_language(request: Request, lang: str) -> None:
    session(request)[LANG] = normalize(lang)


def flash(request: Request, key: str, kind: str = "info", **params: str) -> None:
    """A message for the next page shown (post/redirect/get)."""
    items = list(session(request).get(FLASH) or [])
    items.append([kind, key, params])
    session(request)[FLASH] = items[-5:]


def pop_flashes(request: Request) -> list[tuple[str, str, dict[str, str]]]:
    items = session(request).pop(FLASH, None) or []
    return [(str(kind), str(key), dict(params)) for kind, key, params in items]
