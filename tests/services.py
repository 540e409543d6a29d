"""Real services for the tests and benchmarks, started on loopback in throw-away folders.

PostgreSQL (Debian's binaries; ``initdb`` refuses root, so then it runs as the ``postgres`` user) and an
SMTP sink (aiosmtpd) that keeps what it receives. Dovecot lives in ``tests/integration/dovecot.py``.
"""

from __future__ import annotations

import email
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them under /usr/lib/postgresql)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]), reverse=True)
    if found:
        return found[0].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def missing_postgres() -> str | None:
    """Why a cluster cannot be started here, or None."""
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "there is no 'postgres' system user (initdb refuses to run as root)"
    return None


@dataclass(frozen=True)
class PostgresCluster:
    port: int
    pid: int  # the postmaster, for tests that kill it
    root: Path

    @property
    def server_url(self) -> str:
        """The URL without a database name."""
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}"

    def url(self, database: str) -> str:
        return f"{self.server_url}/{database}"

    def create_database(self, name: str) -> str:
        return create_database(self.port, name)


def create_database(port: int, name: str) -> str:
    """A fresh database (dropped first if it exists); its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(host=HOST, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@{HOST}:{port}/{name}"


@contextmanager
def postgres_cluster(folder: Path | None = None, *, durable: bool = False,
                     settings: tuple[str, ...] = ()) -> Iterator[PostgresCluster]:
    """A throw-away cluster on loopback; ``durable`` keeps fsync on (benchmarks), tests turn it off.

    ``settings``: extra ``name=value`` server settings (e.g. ``timezone=Europe/Berlin``).
    """
    problem = missing_postgres()
    if problem:
        raise RuntimeError(problem)
    bindir = postgres_bindir()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="einvoice-pg-", dir=folder))
    run_as: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    options = " ".join([f"-p {port} -k {root} -c listen_addresses={HOST} -c max_connections=200",
                        *([] if durable else ["-c fsync=off"]), *(f"-c {s}" for s in settings)])
    started = False
    try:
        subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                        "--no-locale", "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                        str(root / "postgres.log"), "-w", "-t", "60", "start"], check=True, capture_output=True,
                       timeout=90)
        started = True
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield PostgresCluster(port=port, pid=pid, root=root)
    except subprocess.CalledProcessError as exc:
        log = root / "postgres.log"
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')[-2000:]}\n"
                           f"{log.read_text(errors='replace')[-2000:] if log.exists() else ''}") from exc
    finally:
        if started:
            subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate" if not durable
                            else "fast", "-t", "30", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- SMTP


class SmtpSink:
    """Received messages as (recipients, parsed message), in arrival order."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if recipient in rcpts]

    def wait(self, count: int, timeout: float = 20.0) -> list[tuple[list[str], EmailMessage]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} messages arrived"
        return self.messages


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname=HOST, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def require(problem: str | None) -> None:
    """Skip a test whose service is missing here; in CI (``CI`` set) that is a failure instead."""
    if problem is None:
        return
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{problem} — required in CI")
    pytest.skip(problem)


# --------------------------------------------------------------------------- the service itself

CLEARED_SETTINGS = ("EINVOICE_DATABASE_URL", "EINVOICE_REDIS_URL", "EINVOICE_BLOB_DIR", "EINVOICE_SMTP_URL",
                    "EINVOICE_WORKFLOWS_DIR", "EINVOICE_MAIL_IMAP_URL", "EINVOICE_MAIL_MAILBOXES",
                    "EINVOICE_PEPPOL_SPOOL_DIR")


def service_env(rules_dir: Path, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a throw-away embedded installation (SQLite and blobs in ``data_dir``)."""
    env = {**os.environ, "EINVOICE_ENV": "test", "EINVOICE_DATA_DIR": str(data_dir),
           "EINVOICE_RULES_DIR": str(rules_dir)}
    for name in CLEARED_SETTINGS:
        env.pop(name, None)
    env.update({f"EINVOICE_{name.upper()}": value for name, value in settings.items()})
    return env


SERVICE_VARIABLES = (*CLEARED_SETTINGS, "EINVOICE_SMTP_FROM", "EINVOICE_MAIL_CA_FILE",
                     "EINVOICE_MAIL_MAX_MESSAGE_BYTES", "EINVOICE_MAIL_MAX_ATTACHMENTS",
                     "EINVOICE_MAIL_PROCESSED_FOLDER", "EINVOICE_PEPPOL_OUTBOUND_DIR",
                     "EINVOICE_PEPPOL_OUTBOUND_URL")


def _forget_process_state() -> None:
    from einvoice import db
    from einvoice.config import get_settings
    from einvoice.intake import broker
    from einvoice.intake import service as intake

    broker.reset()
    intake.reset()
    db.reset()
    get_settings.cache_clear()


@contextmanager
def fresh_process_state(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *, validator: Any | None = None,
                        **env: str) -> Iterator[Path]:
    """This process's settings pointed at an embedded installation in ``data_dir``, migrated to the head.

    Settings, engines, broker, blob store and validator are cached per process, so a test that changes
    the environment must drop them on the way in and out, or it sees (or leaves) another test's database.
    Every ``SERVICE_VARIABLES`` entry is unset first; ``env`` then sets variables by their full names
    (``EINVOICE_DATABASE_URL=url``); ``validator`` is installed instead of one built from the rules.
    ``monkeypatch`` restores the environment itself.
    """
    from einvoice import db
    from einvoice.intake import service as intake

    for name in SERVICE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EINVOICE_DATA_DIR", str(data_dir))
    for name, value in env.items():
        if not name.startswith("EINVOICE_"):
            raise ValueError(f"{name}: pass settings by their full variable name (EINVOICE_…)")
        monkeypatch.setenv(name, value)
    try:
        _forget_process_state()
        intake.install_validator(validator)
        db.create_schema()
        yield data_dir
    finally:
        _forget_process_state()


@contextmanager
def einvoice_server(env: dict[str, str], log: Path, *, timeout: float = 90,
                    log_level: str = "info") -> Iterator[str]:
    """``uvicorn einvoice.web.app:create_service_app`` on a free loopback port; yields its URL once
    ``/healthz`` answers, stops it with SIGTERM (then SIGKILL) afterwards."""
    import signal
    import sys

    import httpx

    port = free_port()
    root = Path(__file__).resolve().parent.parent
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "einvoice.web.app:create_service_app",
             "--host", HOST, "--port", str(port), "--log-level", log_level],
            env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"server exited: {log.read_text(errors='replace')}"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server not up after {timeout:.0f} s: {log.read_text()}"
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
