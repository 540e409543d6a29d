"""Authorisation of the pages against the real server: suppliers never reach staff pages, anonymous
visitors are sent to the login, and EVERY page route that takes a POST refuses a request without a valid
CSRF token — the routes are read from the app, so forms added later are covered automatically."""

from __future__ import annotations

import re
from contextlib import closing
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from tests.browser.conftest import PASSWORD, LiveServer, audit, login, screenshot

STAFF_PAGES = ["/staff/tasks", "/staff/search", "/staff/duplicates", "/staff/clearing"]


def page_post_routes() -> list[str]:
    """Every POST route of the app outside the JSON API (``/api``), path parameters filled with dummies."""
    from einvoice.web.app import create_app

    paths = set()
    for route in iter_route_contexts(create_app().routes):
        path, methods = route.path, route.methods or set()
        if path and "POST" in methods and not path.startswith("/api") and path != "/":
            paths.add(re.sub(r"\{[^}]+\}", "x0", path))
    return sorted(paths)


POST_ROUTES = page_post_routes()


def _session(live_server: LiveServer, name: str | None) -> httpx.Client:
    """An HTTP client with a session cookie (logged in as ``name`` when given)."""
    client = httpx.Client(base_url=live_server.url, timeout=60, follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    if name is not None:
        done = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)})
        assert done.status_code == 303, done.text
    return client


def test_the_route_list_covers_the_forms() -> None:
    assert {"/login", "/logout", "/account/password", "/portal/upload", "/portal/register",
            "/staff/tasks/x0/decision", "/staff/invoices/x0/coding", "/staff/clearing/x0/assign",
            "/staff/duplicates/x0"} <= set(POST_ROUTES)


@pytest.mark.parametrize("path", POST_ROUTES)
def test_every_page_post_without_csrf_token_is_refused(live_server: LiveServer, path: str) -> None:
    if "authz-admin" not in live_server.users:
        live_server.add_user("authz-admin", "admin")
    for who in (None, "authz-admin"):
        with closing(_session(live_server, who)) as client:
            missing = client.post(path, data={"decision": "approve", "name": "authz-admin", "password": PASSWORD})
            assert missing.status_code == 403, (who, path, missing.status_code, missing.text[:300])
            assert "Sicherheitstoken" in missing.text
            wrong = client.post(path, data={"csrf_token": "forged"})
            assert wrong.status_code == 403, (who, path, wrong.status_code)
            multipart = client.post(path, files={"files": ("a.xml", b"<x/>", "application/xml")})
            assert multipart.status_code == 403, (who, path, multipart.status_code)
            no_form = client.post(path, content=b"{}", headers={"Content-Type": "application/json"})
            assert no_form.status_code == 403, (who, path, no_form.status_code)


def test_a_supplier_cannot_reach_staff_pages(page: Any, live_server: LiveServer) -> None:
    live_server.add_user("nur-lieferant", "supplier")
    with closing(_session(live_server, "nur-lieferant")) as client:
        for path in STAFF_PAGES:
            answer = client.get(path)
            assert answer.status_code == 403, (path, answer.status_code)
            assert "Zugriff verweigert" in answer.text
    login(page, "nur-lieferant")
    response = page.goto("/staff/tasks")
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "Zugriff verweigert"
    audit(page)
    screenshot(page, "error-403")


def test_anonymous_visitors_are_sent_to_the_login(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60, follow_redirects=False) as client:
        for path in [*STAFF_PAGES, "/portal", "/portal/invoices", "/account/password"]:
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path


def test_session_cookie_flags_and_page_headers(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        answer = client.get("/login")
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
