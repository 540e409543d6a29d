"""The application shell: health and readiness, OpenAPI, JSON errors, request size limits."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.config import Settings, get_settings
from einvoice.web.app import create_app
from tests.services import fresh_process_state

with warnings.catch_warnings():  # starlette asks for httpx2; httpx works the same here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

LIMIT = 4000


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Empty data and rules folders, a small document limit, and one supplier token."""
    with fresh_process_state(monkeypatch, tmp_path / "data", EINVOICE_RULES_DIR=str(tmp_path / "no-rules"),
                             EINVOICE_MAX_DOCUMENT_BYTES=str(LIMIT)):
        with db.UnitOfWork() as uow:
            accounts.create_user(uow, "alice", "supplier")
            token = accounts.create_token(uow, "alice").token
            uow.commit()
        yield {"Authorization": f"Bearer {token}"}


def client(settings: Settings | None = None) -> TestClient:
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_healthz_answers_while_not_ready(env: dict[str, str]) -> None:
    with client() as c:
        health = c.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ready = c.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert "rule packs not installed" in body["checks"]["rules"]
    assert any(reason.startswith("rules: ") for reason in body["detail"])


def test_readyz_names_an_unreachable_database_and_broker(env: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EINVOICE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("EINVOICE_REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    db.reset()
    with client() as c:
        ready = c.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"].startswith("unreachable (OperationalError")
    assert checks["broker"].startswith("Redis unreachable")


def test_openapi_documents_the_api(env: dict[str, str]) -> None:
    with client() as c:
        docs = c.get("/docs")
        spec = c.get("/openapi.json").json()
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert spec["info"]["title"] == "einvoice"
    for path in ("/api/v1/invoices", "/api/v1/invoices/{invoice_id}", "/api/v1/invoices/{invoice_id}/original",
                 "/api/v1/invoices/{invoice_id}/report", "/api/v1/invoices/{invoice_id}/view",
                 "/api/v1/validate", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    upload = spec["paths"]["/api/v1/invoices"]["post"]
    assert {"multipart/form-data", "application/xml", "application/pdf"} <= set(upload["requestBody"]["content"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_errors_are_json_without_stack_traces(env: dict[str, str]) -> None:
    with client() as c:
        missing = c.get("/nothing-here")
        wrong_method = c.delete("/api/v1/invoices", headers=env)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert wrong_method.status_code == 405 and wrong_method.json() == {"detail": "Method Not Allowed"}


def test_documents_over_the_limit_are_refused_with_413(env: dict[str, str]) -> None:
    big = b"<a>" + b"x" * LIMIT + b"</a>"
    with client() as c:
        declared = c.post("/api/v1/invoices", content=big, headers={**env, "Content-Type": "application/xml"})
        streamed = c.post("/api/v1/invoices", content=iter([big[:1000], big[1000:]]),
                          headers={**env, "Content-Type": "application/xml"})
        form = c.post("/api/v1/invoices", files={"file": ("a.xml", big, "application/xml")}, headers=env)
        huge = c.post("/api/v1/invoices", content=b"x" * (LIMIT + 70_000),
                      headers={**env, "Content-Type": "application/xml"})
        validate = c.post("/api/v1/validate", content=big, headers={**env, "Content-Type": "application/xml"})
        boundary = "b0undary"
        form_body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xml\"\r\n"
                     f"Content-Type: application/xml\r\n\r\n").encode() + b"x" * (LIMIT + 70_000)
        chunked_form = c.post("/api/v1/invoices", content=iter([form_body[:5000], form_body[5000:]]),
                              headers={**env, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        fits = c.post("/api/v1/invoices", content=b"<a/>", headers={**env, "Content-Type": "application/xml"})
    assert "transfer-encoding" not in declared.request.headers
    assert streamed.request.headers.get("transfer-encoding") == "chunked"
    assert chunked_form.request.headers.get("transfer-encoding") == "chunked"
    for response in (declared, streamed, form, huge, validate, chunked_form):
        assert response.status_code == 413, response.text
        assert str(LIMIT) in response.json()["detail"], response.request.url
    assert fits.status_code == 202


def test_public_validation_setting_lifts_the_token_requirement(env: dict[str, str]) -> None:
    class PublicSettings(Settings):
        validate_public: bool = True

    with client(PublicSettings()) as c:
        anonymous = c.post("/api/v1/validate", content=b"<a/>", headers={"Content-Type": "application/xml"})
    # past authentication; the empty rules folder then gives a clear 503, not a stack trace
    assert anonymous.status_code == 503
    assert anonymous.json()["detail"].startswith("validation rules are not available")
    with client() as c:
        assert c.post("/api/v1/validate", content=b"<a/>",
                      headers={"Content-Type": "application/xml"}).status_code == 401
