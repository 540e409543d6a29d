"""Acceptance on the production stack: real PostgreSQL, real Redis, real ``einvoice worker`` processes.

* a worker is SIGKILLed while it has jobs in hand → every received document still ends final;
* Redis is killed and restarted (empty) while documents keep arriving → the same.

PostgreSQL and Redis are started here on loopback (a throw-away ``initdb`` cluster and a
``redis-server`` without persistence). Without the binaries the tests are skipped, unless ``CI``
is set: there they must run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.services import PostgresCluster, free_port, missing_postgres, postgres_cluster, require

pytestmark = pytest.mark.integration

REDIS_SERVER = shutil.which("redis-server")

WORKER_READY = "worker ready"
FINAL_TIMEOUT = 240.0  # seconds; generous for slow CI machines, the loops end as soon as all is done


def wait_for(condition, timeout: float, what: str, poll: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    require(missing_postgres())
    with postgres_cluster() as cluster:
        yield cluster


# ------------------------------------------------------------------ Redis


class Redis:
    """A ``redis-server`` without persistence: a restart forgets every queued job."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115  (closed with the process)
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(self.ping, 20, "redis-server to answer")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    require(None if REDIS_SERVER else "redis-server is not installed (apt-get install redis-server)")
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


# ------------------------------------------------------------------ the stack


class Stack:
    """This test process submits like the API does; the workers are real ``einvoice worker`` processes."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(self, name: str, *, threads: int = 2) -> subprocess.Popen[bytes]:
        log_path = self.folder / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "einvoice.cli", "worker", "--threads", str(threads),
                 "--sweep-interval", "1", "--stale-after", "4", "--log-level", "info"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        proc.log_path = log_path  # type: ignore[attr-defined]
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
        log_path: Path = proc.log_path  # type: ignore[attr-defined]

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            return WORKER_READY in log_path.read_text(errors="replace")

        wait_for(ready, timeout, "the worker to be ready")

    def stop_all(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log_path.read_text(errors='replace')[-4000:]}"  # type: ignore[attr-defined]
                         for p in self.workers)


@pytest.fixture
def stack(postgres: PostgresCluster, redis_server: Redis, rules_dir: Path, tmp_path: Path,
          request: pytest.FixtureRequest) -> Iterator[tuple[Stack, Redis]]:
    from einvoice import db
    from einvoice.config import get_settings
    from einvoice.intake import broker, service

    database = postgres.create_database(f"intake_{request.node.name.lower()[:40]}")
    settings = {
        "EINVOICE_ENV": "test",
        "EINVOICE_DATABASE_URL": database,
        "EINVOICE_REDIS_URL": redis_server.url,
        "EINVOICE_DATA_DIR": str(tmp_path / "data"),
        "EINVOICE_BLOB_DIR": str(tmp_path / "blobs"),
        "EINVOICE_RULES_DIR": str(rules_dir),
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    get_settings.cache_clear()
    db.reset()
    broker.reset()
    service.reset()
    db.create_schema()
    broker.configure()
    running = Stack({**os.environ, **settings, "PYTHONUNBUFFERED": "1"}, tmp_path)
    try:
        yield running, redis_server
    finally:
        running.stop_all()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        broker.reset()
        service.reset()
        db.reset()
        get_settings.cache_clear()


def documents(prefix: str, count: int, lines: int = 200) -> list[tuple[str, bytes]]:
    """Distinct valid invoices (own numbers, so no duplicate suspicion) heavy enough to keep workers busy."""
    from einvoice.samples import make_ubl_invoice

    return [(f"{prefix}-{i:04d}.xml", make_ubl_invoice(lines, number=f"{prefix}-{i:04d}")) for i in range(count)]


class Feeder(threading.Thread):
    """Submits documents one after the other, the way the API does, while the test breaks things."""

    def __init__(self, docs: list[tuple[str, bytes]], pause: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.docs, self.pause = docs, pause
        self.ids: list[str] = []
        self.errors: list[BaseException] = []
        self.outage = threading.Event()
        self.during_outage: list[str] = []

    def run(self) -> None:
        from einvoice.intake.service import submit

        try:
            for name, data in self.docs:
                outcome = submit(data=data, channel="api", sender="load-test", filename=name,
                                 content_type="application/xml")
                self.ids.append(outcome.invoice_id)
                if self.outage.is_set():
                    self.during_outage.append(outcome.invoice_id)
                time.sleep(self.pause)
        except BaseException as exc:  # a submission must never fail because a worker or Redis is down
            self.errors.append(exc)

    def finish(self) -> list[str]:
        self.join(FINAL_TIMEOUT)
        assert not self.is_alive(), "submissions did not finish"
        assert not self.errors, f"a submission failed: {self.errors[0]!r}"
        assert len(self.ids) == len(self.docs)
        return self.ids


def status_counts(ids: list[str]) -> Counter[str]:
    from einvoice.intake.service import statuses

    return Counter(statuses(ids).values())


def assert_all_final_once(ids: list[str], stack: Stack) -> dict[str, float]:
    """Every id reaches ``accepted``, with exactly one verdict in the journal, and the chain is intact."""
    from sqlalchemy import func, select

    from einvoice.db import UnitOfWork
    from einvoice.intake.service import blobs, wait_until_final
    from einvoice.ledger import journal
    from einvoice.ledger.models import JournalEntry

    started = time.monotonic()
    final = wait_until_final(ids, timeout=FINAL_TIMEOUT, poll=0.25)
    waited = time.monotonic() - started
    counts = Counter(final.values())
    assert counts == {"accepted": len(ids)}, f"{counts}\n{stack.logs()}"
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(JournalEntry.invoice_id, func.count()).where(
                JournalEntry.invoice_id.in_(ids), JournalEntry.event.in_(["accepted", "rejected", "failed"]))
            .group_by(JournalEntry.invoice_id))
        verdicts = {invoice_id: count for invoice_id, count in rows}
        report = journal.verify(uow.session, blobs())
    assert set(verdicts) == set(ids) and set(verdicts.values()) == {1}, "a document got two verdicts"
    assert report.ok, report.summary()
    return {"waited_for_final_s": round(waited, 2)}


# ------------------------------------------------------------------ the tests


def redone(ids: list[str]) -> list[str]:
    """Invoices whose validation was started more than once (a job interrupted and taken up again)."""
    from sqlalchemy import func, select

    from einvoice.db import UnitOfWork
    from einvoice.ledger.models import JournalEntry

    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(JournalEntry.invoice_id).where(JournalEntry.invoice_id.in_(ids),
                                                  JournalEntry.event == "validating")
            .group_by(JournalEntry.invoice_id).having(func.count() > 1))
        return [invoice_id for (invoice_id,) in rows]


def test_sigkill_worker_while_jobs_are_running(stack: tuple[Stack, Redis]) -> None:
    running, _ = stack
    first, second = running.start_worker("worker-a"), running.start_worker("worker-b")
    running.wait_ready(first)
    running.wait_ready(second)

    feeder = Feeder(documents("KILL", 60, lines=400))
    started = time.monotonic()
    feeder.start()
    # Two threads per worker: with three invoices in ``validating`` both workers hold running jobs.
    snapshot: Counter[str] = Counter()

    def both_busy() -> bool:
        snapshot.clear()
        snapshot.update(status_counts(list(feeder.ids)))
        return snapshot["accepted"] >= 2 and snapshot["validating"] >= 3

    wait_for(both_busy, 120, "both workers to be busy", poll=0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic() - started

    replacement = running.start_worker("worker-c")
    ids = feeder.finish()
    running.wait_ready(replacement)
    timings = assert_all_final_once(ids, running)
    total = time.monotonic() - started
    interrupted = redone(ids)
    assert interrupted, "no job was interrupted by the kill and redone"
    print(f"\nSIGKILL test: {len(ids)} invoices, worker A killed {killed_at:.1f} s after the first "
          f"submission (state then: {dict(snapshot)}), {len(interrupted)} interrupted job(s) redone, "
          f"all accepted after {total:.1f} s; {timings}")


def test_redis_restart_under_load(stack: tuple[Stack, Redis]) -> None:
    running, redis_server = stack
    workers = [running.start_worker("worker-a"), running.start_worker("worker-b")]
    for proc in workers:
        running.wait_ready(proc)

    feeder = Feeder(documents("REDIS", 60, lines=100), pause=0.05)
    started = time.monotonic()
    feeder.start()
    wait_for(lambda: len(feeder.ids) >= 15, 60, "the first submissions")
    feeder.outage.set()
    redis_server.kill()
    down_at = time.monotonic() - started
    wait_for(lambda: len(feeder.during_outage) >= 5 or not feeder.is_alive(), 60, "submissions during the outage")
    redis_server.start()
    feeder.outage.clear()
    up_at = time.monotonic() - started
    ids = feeder.finish()
    assert len(feeder.during_outage) >= 5

    timings = assert_all_final_once(ids, running)
    total = time.monotonic() - started
    assert all(p.poll() is None for p in workers), "a worker died with Redis"
    assert "sweeper re-enqueued" in running.logs(), "the lost jobs were not re-enqueued by the sweeper"
    print(f"\nRedis restart test: {len(ids)} invoices, Redis down from {down_at:.1f} s to {up_at:.1f} s "
          f"({len(feeder.during_outage)} submitted meanwhile), all accepted after {total:.1f} s; {timings}")


def test_worker_supervisor_replaces_a_killed_process(stack: tuple[Stack, Redis]) -> None:
    """``einvoice worker --processes 2``: a child that dies is replaced, the work goes on."""
    running, _ = stack
    log_path = running.folder / "supervisor.log"
    with open(log_path, "wb") as log:
        parent = subprocess.Popen(
            [sys.executable, "-m", "einvoice.cli", "worker", "--processes", "2", "--threads", "1",
             "--sweep-interval", "1", "--stale-after", "4"],
            cwd=ROOT, env=running.env, stdout=log, stderr=subprocess.STDOUT)
    parent.log_path = log_path  # type: ignore[attr-defined]
    running.workers.append(parent)
    wait_for(lambda: log_path.read_text().count(WORKER_READY) >= 2, 90, "two worker processes")
    children = [pid for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # not the resource tracker
    assert len(children) == 2
    os.kill(int(children[0]), signal.SIGKILL)

    feeder = Feeder(documents("SUP", 20, lines=50))
    feeder.start()
    ids = feeder.finish()
    assert_all_final_once(ids, running)
    wait_for(lambda: log_path.read_text().count(WORKER_READY) >= 3, 90, "the replacement process")
    assert "starting a new one" in log_path.read_text()
    assert parent.poll() is None
