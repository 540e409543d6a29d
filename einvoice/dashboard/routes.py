"""The dashboard page: admins see every unit, approvers the units they belong to or lead."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from einvoice.accounts.models import Role, Unit
from einvoice.dashboard import stats
from einvoice.dashboard.chart import COLOURS, Bar, stacked_bars
from einvoice.db import UnitOfWork
from einvoice.security import Principal
from einvoice.web.ui import sessions
from einvoice.web.ui.auth import require_page_user
from einvoice.web.ui.i18n import Translator
from einvoice.web.ui.pages import page_router
from einvoice.web.ui.templating import register_nav, render
from einvoice.workflow.models import UnitSettings

router = page_router(prefix="/dashboard")
Lead = Annotated[Principal, Depends(require_page_user(roles=(Role.APPROVER.value, Role.ADMIN.value)))]
PERIODS = (7, 30, 90)

register_nav("dashboard.nav", "/dashboard", roles=(Role.APPROVER.value, Role.ADMIN.value), order=60)


def units_of(uow: UnitOfWork, principal: Principal) -> tuple[frozenset[str] | None, list[str]]:
    """The unit ids the dashboard covers (None: all) and their names for the heading."""
    if principal.role == Role.ADMIN.value:
        return None, []
    led = set(uow.session.scalars(select(UnitSettings.unit_id).where(UnitSettings.lead_user_id == principal.user_id)))
    if principal.unit_id:
        led.add(principal.unit_id)
    names = list(uow.session.scalars(select(Unit.name).where(Unit.id.in_(sorted(led))).order_by(Unit.name)))
    return frozenset(led), names


@router.get("", response_class=HTMLResponse)
def dashboard_page(request: Request, principal: Lead, days: Annotated[int, Query()] = 30) -> Response:
    days = days if days in PERIODS else 30
    t = Translator(sessions.language(request))
    with UnitOfWork() as uow:
        unit_ids, unit_names = units_of(uow, principal)
        figures = stats.dashboard(uow.session, unit_ids, now=datetime.now(UTC), days=days)
    fmt = "%d.%m." if t.lang == "de" else "%m-%d"
    bars = [Bar(day.day.strftime(fmt), tuple(day.counts.get(c, 0) for c in figures.channels)) for day in figures.days]
    total = sum(day.total for day in figures.days)
    chart = stacked_bars(bars, title=t("dashboard.chart_title", days=str(days)),
                         description=t("dashboard.chart_desc", days=str(days), total=str(total)), chart_id="intake")
    lead_hours = (figures.average_lead_time.total_seconds() / 3600) if figures.average_lead_time else None
    return render(request, "dashboard/index.html", figures=figures, chart=chart, total=total, days=days,
                  periods=PERIODS, unit_names=unit_names, lead_hours=lead_hours,
                  colours=COLOURS, all_units=unit_ids is None)
