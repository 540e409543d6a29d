"""Server-rendered web pages (issue 5): sessions, CSRF, translations, templates and page authorisation.

``install(app, settings)`` adds the session middleware, the static files, the page error handlers and
every page router (core, supplier portal, staff); see README.md in this folder for adding pages.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from einvoice.config import Settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Routers other packages add: "module:attribute" (imported lazily, so a missing optional package is loud).
PAGE_ROUTERS = [
    "einvoice.web.ui.routes:router",
    "einvoice.portal.routes:router",
    "einvoice.staff.routes:router",
    "einvoice.entry.routes:router",
    "einvoice.dashboard.routes:router",
    "einvoice.admin.routes:router",
    "einvoice.connectors.pages:router",
]


def install(app: FastAPI, settings: Settings, extra_routers: list[str] | None = None) -> None:
    """Mount the pages on ``app`` (called once by ``create_app``)."""
    from importlib import import_module

    from einvoice.web.ui.routes import install_page_errors
    from einvoice.web.ui.sessions import install_sessions

    install_sessions(app, settings)
    install_page_errors(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for spec in [*PAGE_ROUTERS, *(extra_routers or [])]:
        module_name, _, attribute = spec.partition(":")
        app.include_router(getattr(import_module(module_name), attribute))
