"""Sessions and CSRF on a minimal page app (no database): tokens per session, refusals with the 403 page,
the language switch, cookie flags, and safe redirects after login."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.testclient import TestClient

from einvoice.config import Settings
from einvoice.web.ui import sessions
from einvoice.web.ui.pages import Form, field, page_router, safe_next
from einvoice.web.ui.routes import install_page_errors


def make_app(env: str = "test") -> FastAPI:
    app = FastAPI()
    sessions.install_sessions(app, Settings(env=env, secret_key="unit-test-secret"))
    install_page_errors(app)
    router = page_router()

    @router.get("/form", response_class=HTMLResponse)
    def form_page(request: Request) -> str:
        return f'<input name="csrf_token" value="{sessions.csrf_token(request)}"> lang={sessions.language(request)}'

    @router.post("/form")
    def form_post(request: Request, form: Form) -> PlainTextResponse:
        return PlainTextResponse("ok " + field(form, "text"))

    app.include_router(router)
    return app


def token_of(client: TestClient) -> str:
    match = re.search(r'value="([^"]+)"', client.get("/form").text)
    assert match
    return match.group(1)


@pytest.fixture
def client() -> Any:
    with TestClient(make_app()) as test_client:
        yield test_client


def test_post_needs_the_sessions_token(client: TestClient) -> None:
    token = token_of(client)
    assert client.post("/form", data={"text": "hi", "csrf_token": token}).text == "ok hi"
    refused = client.post("/form", data={"text": "hi"})
    assert refused.status_code == 403 and "Sicherheitstoken" in refused.text and "<html lang=\"de\">" in refused.text
    assert client.post("/form", data={"csrf_token": token + "x"}).status_code == 403
    assert client.post("/form", data={"x": "1"}, headers={"X-CSRF-Token": token}).text == "ok "
    assert client.post("/form", content=b"{}", headers={"Content-Type": "application/json"}).status_code == 403


def test_a_token_is_bound_to_its_session() -> None:
    app = make_app()
    with TestClient(app) as alice, TestClient(app) as mallory:
        token = token_of(alice)
        token_of(mallory)
        assert mallory.post("/form", data={"csrf_token": token}).status_code == 403


def test_a_tampered_cookie_is_a_new_session(client: TestClient) -> None:
    token = token_of(client)
    value = client.cookies.get(sessions.COOKIE)
    assert value
    client.cookies.set(sessions.COOKIE, value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
    assert client.post("/form", data={"csrf_token": token}).status_code == 403


def test_language_switch_sticks_to_the_session(client: TestClient) -> None:
    assert "lang=de" in client.get("/form").text
    assert "lang=en" in client.get("/form?lang=en").text
    assert "lang=en" in client.get("/form").text
    assert "lang=de" in client.get("/form?lang=zz").text  # unknown → German


@pytest.mark.parametrize(("env", "secure"), [("test", False), ("production", True)])
def test_cookie_flags(env: str, secure: bool) -> None:
    with TestClient(make_app(env), base_url="https://testserver") as client:
        header = client.get("/form").headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and ("secure" in header) is secure


def test_safe_next_keeps_redirects_local() -> None:
    assert safe_next("/staff/tasks?x=1") == "/staff/tasks?x=1"
    for hostile in ("https://evil.example/", "//evil.example", "/\\evil.example", "", None):
        assert safe_next(hostile, "/") == "/"


def test_password_fingerprint_changes_with_the_hash() -> None:
    assert sessions.password_version("a") != sessions.password_version("b")
    assert len(sessions.password_version(None)) == 16

