"""The login throttle in the database, on SQLite and on a real PostgreSQL: limits per name (known or not),
a new window after the old one, cleared by a success, and parallel failures from several
connections all counted (one atomic upsert each)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from einvoice import db
from einvoice.accounts import throttle
from tests.integration.test_ledger_pipeline import postgres_url  # noqa: F401  (the throw-away server)
from tests.services import create_database, fresh_process_state

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    env = {}
    if request.param == "postgresql":
        port = int(request.getfixturevalue("postgres_url").rsplit(":", 1)[1])
        env["EINVOICE_DATABASE_URL"] = create_database(port, f"throttle_{uuid.uuid4().hex[:12]}")
    with fresh_process_state(monkeypatch, tmp_path / "data", **env):
        yield


def _fail(name: str, at: datetime) -> None:
    with db.UnitOfWork() as uow:
        throttle.record_failed_login(uow.session, name, now=at)
        uow.commit()


def _blocked(name: str, at: datetime) -> bool:
    with db.UnitOfWork() as uow:
        return throttle.login_blocked(uow.session, name, now=at)


def test_a_name_is_blocked_after_the_limit_until_its_window_passes(database: None) -> None:
    for minute in range(throttle.LIMIT):
        assert not _blocked("Anna", T0 + timedelta(minutes=minute))
        _fail("anna ", T0 + timedelta(minutes=minute))  # names compare trimmed and case-blind
    assert _blocked("ANNA", T0 + timedelta(minutes=10)) and not _blocked("bert", T0 + timedelta(minutes=10))
    assert _blocked("anna", T0 + timedelta(minutes=14, seconds=59))
    assert not _blocked("anna", T0 + throttle.WINDOW)  # counted from the first failure
    _fail("anna", T0 + timedelta(minutes=16))  # a new window starts at one
    with db.UnitOfWork() as uow:
        assert throttle.failures_of(uow.session, "anna") == 1
        throttle.clear_failed_logins(uow.session, "anna")
        uow.commit()
        assert throttle.failures_of(uow.session, "anna") == 0


def test_old_rows_are_swept_so_invented_names_do_not_pile_up(database: None) -> None:
    for index in range(50):
        _fail(f"invented-{index}", T0)
    _fail("someone", T0 + throttle.WINDOW + timedelta(seconds=1))
    with db.UnitOfWork() as uow:
        assert throttle.failures_of(uow.session, "invented-7") == 0
        assert throttle.failures_of(uow.session, "someone") == 1


def test_parallel_failures_from_many_connections_are_all_counted(database: None) -> None:
    barrier, errors = threading.Barrier(8), []

    def guess() -> None:
        try:
            barrier.wait(30)
            for _ in range(5):
                _fail("target", T0)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with db.UnitOfWork() as uow:
        assert throttle.failures_of(uow.session, "target") == 40


def test_the_login_page_refuses_a_guessed_name_for_every_replica(database: None) -> None:
    """Two app instances (two replicas) share the count: guesses spread over both are still limited."""
    import re
    import warnings

    from starlette.exceptions import StarletteDeprecationWarning

    from einvoice.accounts import service as accounts
    from einvoice.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from fastapi.testclient import TestClient

    with db.UnitOfWork() as uow:
        accounts.create_user(uow, "kasse", "supplier", password="Sicher-genug-2026")
        uow.commit()
    replicas = [TestClient(create_app()), TestClient(create_app())]

    def attempt(client: TestClient, password: str) -> int:
        client.cookies.clear()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        return client.post("/login", data={"name": "kasse", "password": password, "csrf_token": token.group(1)},
                           follow_redirects=False).status_code

    assert attempt(replicas[0], "Sicher-genug-2026") == 303
    codes = [attempt(replicas[i % 2], f"guess-{i}") for i in range(throttle.LIMIT)]
    assert codes == [401] * throttle.LIMIT
    assert attempt(replicas[1], "Sicher-genug-2026") == 429  # even the right password waits out the window
    assert attempt(replicas[0], "another-guess") == 429
