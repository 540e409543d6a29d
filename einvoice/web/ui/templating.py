"""Jinja2 rendering for the pages: autoescaped templates from several folders, the per-request context
(translator, user, CSRF token, flash messages, navigation) and the security headers of every page."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from einvoice.web.ui import sessions
from einvoice.web.ui.auth import current_principal
from einvoice.web.ui.i18n import LANGUAGES, Translator

LOCAL_TIME = ZoneInfo("Europe/Berlin")
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
# Pages may frame only our own pages (the invoice visualisation); scripts and styles only from /static.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation, shown to the given roles (``None``: everyone logged in)."""

    key: str  # catalogue key of the label
    href: str
    roles: frozenset[str] | None
    order: int


_lock = threading.Lock()
_dirs: list[Path] = [TEMPLATE_DIR]
_nav: list[NavItem] = []
_env: Environment | None = None


def register_template_dir(path: Path) -> None:
    """Add a folder of templates (looked up after the ones already registered)."""
    global _env
    with _lock:
        if path not in _dirs:
            _dirs.append(path)
            _env = None


def register_nav(key: str, href: str, roles: tuple[str, ...] | None = None, order: int = 100) -> None:
    """Add a navigation link once (registering the same href again replaces it)."""
    with _lock:
        _nav[:] = [item for item in _nav if item.href != href]
        _nav.append(NavItem(key, href, frozenset(roles) if roles is not None else None, order))
        _nav.sort(key=lambda item: (item.order, item.href))


def environment() -> Environment:
    global _env
    with _lock:
        if _env is None:
            env = Environment(loader=ChoiceLoader([FileSystemLoader(str(d)) for d in _dirs]),
                              autoescape=select_autoescape(default=True, default_for_string=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
            env.filters["date"] = _format_date
            env.filters["datetime"] = _format_datetime
            env.filters["money"] = _format_money
            _env = env
        return _env


def _format_date(value: date | datetime | None, lang: str = "de") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.date()
    return value.strftime("%d.%m.%Y") if lang == "de" else value.isoformat()


def _format_datetime(value: datetime | None, lang: str = "de") -> str:
    """Stored times are UTC (SQLite gives them back naive); people read them in German local time."""
    if value is None:
        return "–"
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TIME)
    return value.strftime("%d.%m.%Y %H:%M") if lang == "de" else value.strftime("%Y-%m-%d %H:%M")


def _format_money(value: Decimal | str | None, currency: str | None = None, lang: str = "de") -> str:
    if value is None or value == "":
        return "–"
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.2f}"
    if lang == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {currency}" if currency else text


def url_with(request: Request, **params: Any) -> str:
    """The current path with some query parameters replaced (``None`` removes one)."""
    query = dict(request.query_params)
    for name, value in params.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = str(value)
    return request.url.path + ("?" + urlencode(query) if query else "")


def context(request: Request, **extra: Any) -> dict[str, Any]:
    """What every template gets: ``t``, ``lang``, ``user``, ``csrf_token``, ``flashes``, ``nav``…"""
    lang = sessions.language(request)
    token = sessions.csrf_token(request)
    principal = current_principal(request)
    nav = [item for item in _nav
           if principal is not None and (item.roles is None or principal.role in item.roles)]
    path = request.url.path
    matching = [item.href for item in nav if path == item.href or path.startswith(item.href.rstrip("/") + "/")]
    return {
        "request": request,
        "nav_current": max(matching, key=len) if matching else None,
        "t": Translator(lang),
        "lang": lang,
        "languages": LANGUAGES,
        "user": principal,
        "csrf_token": token,
        "csrf_field": lambda: Markup(f'<input type="hidden" name="csrf_token" value="{escape(token)}">'),
        "flashes": sessions.pop_flashes(request),
        "nav": nav,
        "path": path,
        "url_with": lambda **params: url_with(request, **params),
        **extra,
    }


def render(request: Request, template: str, status_code: int = 200, headers: dict[str, str] | None = None,
           **values: Any) -> HTMLResponse:
    """A page: the template rendered with ``context`` plus ``values``, with the page security headers."""
    html = environment().get_template(template).render(context(request, **values))
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
