"""The FastAPI application: intake and validation routers, health checks, error handling, size limits.

``uvicorn --factory einvoice.web.app:create_app`` (or ``einvoice serve``) runs it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from einvoice import __version__
from einvoice.config import Settings, get_settings
from einvoice.web.deps import MULTIPART_ALLOWANCE
from einvoice.web.errors import install_error_handlers
from einvoice.web.limits import BodyLimitMiddleware

log = logging.getLogger("einvoice.web")

DESCRIPTION = """\
Receives electronic invoices (XRechnung UBL/CII, ZUGFeRD/Factur-X, Peppol BIS 3.0), records them
unchanged in a tamper-evident ledger, validates them with the official rules and shows the result.

Authenticate with `Authorization: Bearer <token>` (`einvoice tokens create --user NAME`).
`POST /api/v1/validate` is compatible with the KoSIT validator's daemon mode.
"""


def create_app(settings: Settings | None = None, *, embedded_worker: bool = False) -> FastAPI:
    """A new application; ``settings`` defaults to the process settings (``EINVOICE_*``).

    ``embedded_worker=True`` runs the processing actors on threads of this process for the app's
    lifetime (embedded mode: only valid without ``EINVOICE_REDIS_URL``).
    """
    from einvoice.connectors.routes import router as connectors_router
    from einvoice.export.routes import router as export_router
    from einvoice.intake.routes import router as intake_router
    from einvoice.peppol.routes import router as peppol_router
    from einvoice.validation.routes import router as validation_router
    from einvoice.web.ui import install as install_pages
    from einvoice.workflow.routes import router as workflow_router

    settings = settings or get_settings()
    if embedded_worker and settings.redis_url:
        raise ValueError("the embedded worker runs only without EINVOICE_REDIS_URL (use `einvoice worker`)")
    app = FastAPI(
        lifespan=_embedded_lifespan if embedded_worker else None,
        title="einvoice",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    # Refuse larger bodies while they stream in; the routes also cap the document itself.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_document_bytes + MULTIPART_ALLOWANCE,
                       document_limit=settings.max_document_bytes)
    install_error_handlers(app)
    app.include_router(intake_router)
    app.include_router(validation_router)
    app.include_router(workflow_router)
    app.include_router(export_router)
    app.include_router(peppol_router)
    app.include_router(connectors_router)
    install_pages(app, settings)  # server-rendered pages: portal, staff, entry form, dashboard, admin

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["operations"], summary="Database, rule packs and broker are usable",
             responses={503: {"description": "Not ready; `detail` lists the reasons."}})
    async def readyz() -> JSONResponse:
        checks = await run_in_threadpool(readiness_checks, settings)
        problems = [f"{name}: {problem}" for name, problem in checks.items() if problem]
        body: dict[str, Any] = {"checks": {name: problem or "ok" for name, problem in checks.items()}}
        if problems:
            return JSONResponse({"status": "not ready", "detail": problems, **body}, status_code=503)
        return JSONResponse({"status": "ready", **body})

    return app


def create_service_app() -> FastAPI:
    """The app as a server runs it: with the embedded worker unless Redis is configured.

    ``uvicorn --factory einvoice.web.app:create_service_app``; one embedded worker per server
    process, which is right because the in-process queue is per process too.
    """
    settings = get_settings()
    return create_app(settings, embedded_worker=not settings.redis_url)


@asynccontextmanager
async def _embedded_lifespan(app: FastAPI) -> AsyncIterator[None]:
    from einvoice.db import create_schema
    from einvoice.intake.embedded import EmbeddedWorker

    await run_in_threadpool(create_schema)  # embedded first start: the database may be new
    worker = await run_in_threadpool(lambda: EmbeddedWorker().start())
    app.state.embedded_worker = worker
    try:
        yield
    finally:
        await run_in_threadpool(worker.stop)


# --------------------------------------------------------------------------- readiness


def readiness_checks(settings: Settings) -> dict[str, str | None]:
    """Each check's problem in words, or None when it is fine."""
    checks: dict[str, str | None] = {
        "database": _check_database(),
        "rules": _check_rules(settings),
    }
    if settings.redis_url:
        checks["broker"] = _check_redis(settings.redis_url)
    return checks


def _check_database() -> str | None:
    from einvoice.db import engine

    try:
        return _select_one(engine())
    except Exception as exc:
        return f"unreachable ({type(exc).__name__}: {_first_line(exc)})"


def _select_one(bind: Engine) -> str | None:
    # A raw DBAPI connection: SQLAlchemy's SQLite set-up would take the write lock on BEGIN.
    connection = bind.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
        cursor.close()
    finally:
        connection.close()
    return None if row and row[0] == 1 else "SELECT 1 gave an unexpected answer"


def _check_rules(settings: Settings) -> str | None:
    """Every pack the scenarios need (and KoSIT's report stylesheet) is installed."""
    from einvoice.rules.store import RulePackError, read_packs_json
    from einvoice.validation.reports import KOSIT_REPORT_XSL
    from einvoice.validation.scenarios import ScenarioConfigError, ScenarioSet

    try:
        installed = read_packs_json(settings.rules_dir)
        scenarios = ScenarioSet.load(settings.rules_config_dir / "scenarios.toml", settings.rules_dir / "cache")
    except (RulePackError, ScenarioConfigError) as exc:
        return str(exc)
    needed = {KOSIT_REPORT_XSL.partition(":")[0]}
    for scenario in scenarios.scenarios:
        if scenario.reject:
            continue
        needed.update(scenario.schematron)
        if scenario.xsd:
            needed.add(scenario.xsd.partition(":")[0])
    missing = sorted(name for name in needed
                     if name not in installed or not (settings.rules_dir / name).is_dir())
    if missing:
        return f"rule packs not installed: {', '.join(missing)} (run: einvoice rules install)"
    return None


def _check_redis(url: str) -> str | None:
    from redis import Redis

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        return f"Redis unreachable ({type(exc).__name__}: {_first_line(exc)})"
    finally:
        client.close()
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:300]
