"""Service commands: ``einvoice serve``, ``worker``, ``demo`` and ``db upgrade``.

``register(app)`` mounts them on the root CLI; ``python -m einvoice.server`` runs them standalone.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from einvoice.config import PROJECT_ROOT, Settings, get_settings
from einvoice.intake import DEFAULT_STALE_AFTER
from einvoice.intake import DEFAULT_SWEEP_INTERVAL as DEFAULT_INTERVAL
from einvoice.terminal import console, err_console

log = logging.getLogger("einvoice.server")

SAMPLES_DIR = PROJECT_ROOT / "samples"
DEMO_USER = "demo-supplier"

SweepInterval = Annotated[float | None, typer.Option(
    "--sweep-interval", min=0.1,
    help=f"Seconds between sweeps for stale work (default: EINVOICE_SWEEP_INTERVAL or {DEFAULT_INTERVAL:.0f}).")]
StaleAfter = Annotated[float | None, typer.Option(
    "--stale-after", min=0.0,
    help="Re-enqueue entries pending without change for this many seconds "
         f"(default: EINVOICE_SWEEP_STALE_AFTER or {DEFAULT_STALE_AFTER:.0f}).")]


@dataclass(frozen=True)
class SweepOptions:
    interval: float
    stale_after: float

    @classmethod
    def resolve(cls, settings: Settings, interval: float | None, stale_after: float | None) -> SweepOptions:
        """Command-line values first, then the (optional) settings, then the defaults."""
        return cls(
            interval if interval is not None else settings.sweep_interval,
            stale_after if stale_after is not None else settings.sweep_stale_after)


def _setup_logging(level: str = "info") -> None:
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def require_rule_packs(settings: Settings) -> None:
    """Refuse to start without rule packs: every document would otherwise be rejected."""
    from einvoice.rules.store import RulePackError, RuleStore

    try:
        packs = RuleStore(settings.rules_dir).packs()
    except RulePackError as exc:
        raise _fail(f"the rule packs in {settings.rules_dir} are unreadable: {exc}") from exc
    if not packs:
        raise _fail(
            f"no rule packs are installed in {settings.rules_dir}.\n"
            "Install them first:  einvoice rules install            (downloads the pinned releases)\n"
            "                 or  einvoice rules install --from DIR  (a folder with the official artefacts)")


# ------------------------------------------------------------------ serve


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 in containers).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    worker_threads: Annotated[int, typer.Option(
        "--worker-threads", "--workers-threads", min=1,
        help="Threads of the embedded worker (only without EINVOICE_REDIS_URL).")] = 2,
    sweep_interval: SweepInterval = None,
    stale_after: StaleAfter = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the HTTP API; without Redis also the processing workers (embedded mode)."""
    import uvicorn

    from einvoice.db import create_schema
    from einvoice.intake import broker, service
    from einvoice.intake.embedded import EmbeddedWorker
    from einvoice.intake.sweeper import Sweeper, sweep_once

    _setup_logging(log_level)
    settings = get_settings()
    require_rule_packs(settings)
    sweep = SweepOptions.resolve(settings, sweep_interval, stale_after)
    create_schema()
    jobs = broker.configure(settings)
    background: EmbeddedWorker | Sweeper
    if broker.is_embedded(jobs):
        background = EmbeddedWorker(threads=worker_threads, sweep_interval=sweep.interval,
                                    stale_after=sweep.stale_after).start()
        # Whatever was pending when the last embedded run stopped lived only in its memory.
        resumed = sweep_once(stale_after=0)
        console.print(f"embedded mode: {worker_threads} worker thread(s), {resumed} pending invoice(s) resumed")
    else:
        background = Sweeper(interval=sweep.interval, stale_after=sweep.stale_after).start()
        # The API validates too (/api/v1/validate, reports): compile in the background.
        threading.Thread(target=service.validator, name="einvoice-warm-up", daemon=True).start()
        console.print("Redis mode: jobs go to `einvoice worker` processes")
    try:
        from einvoice.web.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level=log_level.lower())
    finally:
        background.stop()


# ------------------------------------------------------------------ worker


def worker(
    processes: Annotated[int, typer.Option(min=1, help="Worker processes (each builds its own validator).")] = 1,
    threads: Annotated[int, typer.Option(min=1, help="Threads per process.")] = 2,
    sweep_interval: SweepInterval = None,
    stale_after: StaleAfter = None,
    sweeper: Annotated[bool, typer.Option("--sweeper/--no-sweeper",
                                          help="Also re-enqueue stale work from here.")] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Process invoices from the Redis queue (needs EINVOICE_REDIS_URL)."""
    _setup_logging(log_level)
    settings = get_settings()
    if not settings.redis_url:
        raise _fail(
            "einvoice worker needs a Redis broker shared with the API: set EINVOICE_REDIS_URL "
            "(e.g. redis://localhost:6379/0).\nWithout Redis, `einvoice serve` runs the workers "
            "in-process (embedded mode); no separate worker is needed.", code=2)
    require_rule_packs(settings)
    sweep = SweepOptions.resolve(settings, sweep_interval, stale_after) if sweeper else None
    if processes == 1:
        run_worker_process(threads, sweep, log_level)
    else:
        supervise(processes, threads, sweep, log_level)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_worker_process(threads: int, sweep: SweepOptions | None, log_level: str = "info") -> None:
    """One worker process: broker, actor, one warmed-up validator, worker threads, until SIGTERM."""
    import dramatiq

    from einvoice.intake import actors, broker, service
    from einvoice.intake.sweeper import Sweeper

    _setup_logging(log_level)
    stop = threading.Event()
    _stop_on_signals(stop)
    jobs = broker.configure()
    actors.actor(jobs)
    service.validator()  # compile once, before the first job is taken
    broker.boot(jobs)
    consumer = dramatiq.Worker(jobs, queues={broker.QUEUE}, worker_threads=threads,
                              worker_timeout=100)  # ms between fetches when idle: low pick-up latency
    consumer.start()
    sweeper = Sweeper(interval=sweep.interval, stale_after=sweep.stale_after).start() if sweep else None
    log.info("worker ready: %d thread(s)", threads)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if sweeper is not None:
            sweeper.stop()
        consumer.stop(timeout=30_000)
        jobs.close()
        log.info("worker stopped")


def _child_main(threads: int, log_level: str) -> None:
    run_worker_process(threads, None, log_level)


def supervise(processes: int, threads: int, sweep: SweepOptions | None, log_level: str = "info") -> None:
    """Run ``processes`` worker processes (spawned, never forked: SaxonC must not be forked) and
    restart any that dies; the sweeper runs once, here."""
    from einvoice.intake import broker
    from einvoice.intake.sweeper import Sweeper

    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    _stop_on_signals(stop)

    def start_child() -> Any:
        child = context.Process(target=_child_main, args=(threads, log_level), daemon=False)
        child.start()
        return child

    children = [start_child() for _ in range(processes)]
    broker.configure()
    sweeper = Sweeper(interval=sweep.interval, stale_after=sweep.stale_after).start() if sweep else None
    try:
        while not stop.wait(1.0):
            for index, child in enumerate(children):
                if child.exitcode is not None:
                    log.warning("worker process %s exited with %s; starting a new one", child.pid, child.exitcode)
                    children[index] = start_child()
    finally:
        if sweeper is not None:
            sweeper.stop()
        for child in children:
            if child.exitcode is None and child.pid is not None:
                child.terminate()
        for child in children:
            child.join(60)


# ------------------------------------------------------------------ db

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (creates the database on first use)."""
    from einvoice.db import create_schema

    settings = get_settings()
    create_schema()
    console.print(f"database ready: {_redact(settings.effective_database_url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ------------------------------------------------------------------ demo


@dataclass
class DemoRow:
    file: str
    id: str
    status: str
    number: str | None
    seller: str | None
    gross: str | None
    note: str


def demo(
    url: Annotated[str | None, typer.Option(
        help="Upload over HTTP to this running server instead of in-process.")] = None,
    token: Annotated[str | None, typer.Option(
        help="Bearer token for --url (default: a new token for the demo user).")] = None,
    samples: Annotated[Path, typer.Option(help="Folder of invoices to upload.")] = SAMPLES_DIR,
    user: Annotated[str, typer.Option(help="Supplier account the samples are sent as.")] = DEMO_USER,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for processing.")] = 180.0,
) -> None:
    """Upload the sample invoices through the intake path and show the resulting ledger entries."""
    from einvoice.validation.batch import collect_paths

    logging.basicConfig(level=logging.WARNING)
    files = collect_paths([samples]) if samples.is_dir() else []
    if not files:
        raise _fail(f"no invoices (XML or PDF) in {samples}")
    if url:
        rows = _demo_over_http(url.rstrip("/"), token or _demo_token(user), files, timeout)
    else:
        rows = _demo_in_process(user, files, timeout)
    _print_rows(rows)
    pending = [r for r in rows if r.status in ("received", "validating")]
    if pending:
        raise _fail(f"{len(pending)} invoice(s) still pending after {timeout:.0f} s; is a worker running?")
    if not url:
        token = _demo_token(user)
        typer.echo("Start the service with `einvoice serve`, then for example:\n"
                   f"  curl -H 'Authorization: Bearer {token}' http://127.0.0.1:8000/api/v1/invoices\n"
                   "  open http://127.0.0.1:8000/ to log in (demo logins above), /docs for the API")


#: The demo office: a unit for the samples' Leitweg-ID and one person per role (development only).
DEMO_UNIT = "Beschaffungsamt"
DEMO_STAFF = (("sachbearbeitung", "clerk"), ("pruefung", "clerk"), ("anordnung", "approver"), ("admin", "admin"))
DEMO_PASSWORD = "einvoice-demo"


def _demo_people(supplier: str) -> None:
    """In development: the unit of the samples' Leitweg-ID, staff for each role and web logins.

    Elsewhere nobody gets a well-known password; create people with ``einvoice users add``.
    """
    from einvoice.accounts import service as accounts
    from einvoice.config import get_settings
    from einvoice.db import UnitOfWork
    from einvoice.samples import DEFAULT_LEITWEG_ID

    if get_settings().env != "development":
        return
    password_hash = accounts.hash_password(DEMO_PASSWORD)
    with UnitOfWork() as uow:
        unit = next((u for u in accounts.list_units(uow) if u.leitweg_id == DEFAULT_LEITWEG_ID), None) \
            or accounts.create_unit(uow, DEMO_UNIT, DEFAULT_LEITWEG_ID)
        existing = {u.name: u for u in accounts.list_users(uow)}
        for name, role in ((supplier, "supplier"), *DEMO_STAFF):
            user = existing.get(name) or accounts.create_user(
                uow, name, role, unit=unit.name if role in ("clerk", "approver") else None,
                email=f"{name}@example.org")
            user.password_hash = password_hash
        unit_name = unit.name
        uow.commit()
    names = ", ".join(name for name, _ in ((supplier, "supplier"), *DEMO_STAFF))
    console.print(f"demo logins (password {DEMO_PASSWORD!r}): {names}; unit {unit_name} ({DEFAULT_LEITWEG_ID})")


def _ensure_demo_user(name: str) -> str:
    from einvoice.accounts import service as accounts
    from einvoice.db import UnitOfWork

    with UnitOfWork() as uow:
        try:
            user = accounts.user_by_name(uow, name)
        except accounts.AccountError:
            user = accounts.create_user(uow, name, "supplier")
            uow.commit()
            console.print(f"created supplier account {name!r}")
        return user.id


def _demo_token(user: str) -> str:
    from einvoice.accounts import service as accounts
    from einvoice.db import UnitOfWork, create_schema

    create_schema()
    _ensure_demo_user(user)
    with UnitOfWork() as uow:
        issued = accounts.create_token(uow, user, label="einvoice demo")
        uow.commit()
    typer.echo(f"new API token for {user!r} (shown once): {issued.token}")
    return issued.token


def _content_type(path: Path) -> str:
    return "application/pdf" if path.suffix.lower() == ".pdf" else "application/xml"


def _demo_in_process(user: str, files: list[Path], timeout: float) -> list[DemoRow]:
    from sqlalchemy import select

    from einvoice.db import UnitOfWork, create_schema
    from einvoice.intake import broker, service
    from einvoice.intake.embedded import EmbeddedWorker
    from einvoice.ledger.models import Invoice

    create_schema()
    _demo_people(user)
    sender = _ensure_demo_user(user)
    runner = EmbeddedWorker(threads=2, sweep_interval=5, stale_after=60) if broker.is_embedded() else None
    if runner is None:
        console.print("EINVOICE_REDIS_URL is set: the jobs are processed by `einvoice worker` processes")
    else:
        runner.start()
    try:
        ids: list[tuple[Path, str]] = []
        for path in files:
            outcome = service.submit(data=path.read_bytes(), channel="api", sender=sender,
                                     filename=path.name, content_type=_content_type(path))
            ids.append((path, outcome.invoice_id))
        with console.status(f"processing {len(ids)} invoice(s)…"):
            service.wait_until_final([i for _, i in ids], timeout=timeout)
    finally:
        if runner is not None:
            runner.stop()
    with UnitOfWork() as uow:
        found = {inv.id: inv for inv in uow.session.scalars(
            select(Invoice).where(Invoice.id.in_([i for _, i in ids])))}
    rows = []
    for path, invoice_id in ids:
        inv = found[invoice_id]
        rows.append(DemoRow(path.name, inv.id, inv.status, inv.invoice_number, inv.seller_name,
                            _money(inv.gross_amount, inv.currency), _note(inv.duplicate_of, inv.validation,
                                                                          inv.last_error)))
    return rows


def _demo_over_http(url: str, token: str, files: list[Path], timeout: float) -> list[DemoRow]:
    import httpx

    pending_states = ("received", "validating")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        ids = []
        for path in files:
            response = client.post("/api/v1/invoices",
                                   files={"file": (path.name, path.read_bytes(), _content_type(path))})
            if response.status_code not in (200, 202):
                raise _fail(f"{path.name}: HTTP {response.status_code}: {response.text[:500]}")
            ids.append((path, response.json()["id"]))
        details: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        with console.status(f"processing {len(ids)} invoice(s)…"):
            while True:
                for _, invoice_id in ids:
                    if details.get(invoice_id, {}).get("status") not in pending_states and invoice_id in details:
                        continue
                    response = client.get(f"/api/v1/invoices/{invoice_id}")
                    response.raise_for_status()
                    details[invoice_id] = response.json()
                if all(d["status"] not in pending_states for d in details.values()) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
    rows = []
    for path, invoice_id in ids:
        d = details[invoice_id]
        gross = f"{d['gross_amount']} {d.get('currency') or ''}".strip() if d.get("gross_amount") else None
        rows.append(DemoRow(path.name, invoice_id, d["status"], d.get("invoice_number"), d.get("seller_name"),
                            gross, _note(d.get("duplicate_of"), d.get("validation"), d.get("last_error"))))
    return rows


def _money(value: Any, currency: str | None) -> str | None:
    if value is None:
        return None
    from einvoice.web.schemas import money

    return f"{money(value)} {currency or ''}".strip()


def _note(duplicate_of: str | None, validation: dict[str, Any] | None, last_error: str | None) -> str:
    if duplicate_of:
        return f"suspected duplicate of {duplicate_of[:8]}"
    if last_error:
        return last_error[:100]
    if validation and validation.get("accepted") is False:
        return str(validation.get("reason") or "")[:100]
    return ""


STATUS_STYLE = {"accepted": "green", "rejected": "red", "failed": "red", "duplicate_suspected": "yellow"}


def _print_rows(rows: list[DemoRow]) -> None:
    table = Table(title="Ledger (Rechnungseingangsbuch)")
    table.add_column("file", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("number", no_wrap=True)
    table.add_column("seller", overflow="ellipsis", no_wrap=True, max_width=24)
    table.add_column("gross", no_wrap=True, justify="right")
    table.add_column("note", overflow="fold")
    for row in rows:
        style = STATUS_STYLE.get(row.status, "cyan")
        table.add_row(row.file, row.id[:8], f"[{style}]{row.status}[/{style}]", row.number or "",
                      row.seller or "", row.gross or "", row.note)
    # Piped output gets room for the whole table instead of the 80 columns of a dumb terminal.
    (console if console.is_terminal else Console(width=160)).print(table)


# ------------------------------------------------------------------ mounting


def register(root: typer.Typer) -> None:
    """Mount ``serve``, ``worker``, ``demo`` and ``db`` on the root CLI."""
    root.command("serve")(serve)
    root.command("worker")(worker)
    root.command("demo")(demo)
    root.add_typer(db_app, name="db", help="Database schema management.")


app = typer.Typer(help="Service commands.", no_args_is_help=True, pretty_exceptions_enable=False)
register(app)

if __name__ == "__main__":
    app()
