#!/usr/bin/env python
"""End-to-end intake: HTTP upload → final status, embedded mode and PostgreSQL + Redis with two workers.

Run:  python benchmarks/bench_intake.py [--rules-dir DIR] [--rounds N] [--concurrency N] [--quick] [--json FILE]

For each mode a fresh stack is started on loopback from the real commands (``einvoice serve``,
``einvoice worker``, ``einvoice users add``, ``einvoice tokens create``); the 86 KoSIT test-suite
documents are uploaded with at most ``--concurrency`` uploads in flight and followed with
``GET /api/v1/invoices/{id}`` until they leave ``received``/``validating``. Every round appends an
XML comment with the round number to each document, so the bytes are new (no idempotent replay)
while the invoice numbers repeat: from the second round on most documents end
``duplicate_suspected``, which needs the same validation work as ``accepted``.

Latency "upload → final" is measured exactly, not at polling resolution: the client's wall clock
at the start of the upload against the time of the verdict in the invoice's journal (same host,
same clock); the latency seen by polling is reported next to it. The pure validation throughput
of issue 2 (``bench_validation.serial_runs``) is measured in the same run on the same corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_validation import (  # noqa: E402  (needs the path above)
    CORPUS_GLOB,
    fmt,
    machine_facts,
    percentile,
    print_table,
    serial_runs,
    standards_dir,
)

from tests.services import free_port, missing_postgres, postgres_cluster  # noqa: E402  (needs the path above)

PENDING = frozenset({"received", "validating"})
VERDICT_EVENTS = frozenset({"accepted", "rejected", "duplicate_suspected", "failed"})
USER = "bench-supplier"
HOST = "127.0.0.1"
START_TIMEOUT = 180.0  # seconds for a server or worker to come up (compiling the rule packs)
UPLOAD_TIMEOUT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A stack that does not come up or a round that does not finish: the run stops with the reason."""


# ------------------------------------------------------------------ corpus


def load_corpus(standards: Path) -> list[tuple[str, bytes]]:
    """The KoSIT test-suite documents as (name relative to the test folder, bytes), sorted."""
    paths = sorted(standards.glob(CORPUS_GLOB))
    base = standards / "xrechnung-testsuite" / "src" / "test"
    return [(str(p.relative_to(base)) if p.is_relative_to(base) else p.name, p.read_bytes()) for p in paths]


def stamped(data: bytes, tag: str) -> bytes:
    """The same document with a trailing comment: new bytes (new SHA-256), same content."""
    return data.rstrip() + f"\n<!-- einvoice bench {tag} -->\n".encode("ascii")


# ------------------------------------------------------------------ processes


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@dataclass
class Service:
    """A subprocess with its log file; ``stop`` terminates it (SIGTERM, then SIGKILL)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log)}")

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def spawn(name: str, command: list[str], env: dict[str, str], folder: Path) -> Service:
    log = folder / f"{name}.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    return Service(name, proc, log)


def einvoice_cli(env: dict[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run ``einvoice ARGS`` (as ``python -m einvoice.cli``) and return its standard output."""
    done = subprocess.run([sys.executable, "-m", "einvoice.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise BenchError(f"einvoice {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def create_supplier_token(env: dict[str, str]) -> str:
    """Schema, supplier account and bearer token through the CLI, as an operator would."""
    einvoice_cli(env, "db", "upgrade")
    einvoice_cli(env, "users", "add", USER, "--role", "supplier")
    lines = [line.strip() for line in einvoice_cli(env, "tokens", "create", "--user", USER,
                                                   "--label", "benchmark").splitlines() if line.strip()]
    if not lines:
        raise BenchError("einvoice tokens create printed no token")
    return lines[-1]


def wait_http_ready(service: Service, base_url: str, timeout: float = START_TIMEOUT) -> None:
    import httpx

    def ready() -> bool:
        service.check_alive()
        try:
            return httpx.get(f"{base_url}/readyz", timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout, f"{service.name} at {base_url}/readyz")


def wait_log(service: Service, text: str, timeout: float = START_TIMEOUT) -> None:
    def seen() -> bool:
        service.check_alive()
        return text in tail(service.log, 100_000)

    wait_for(seen, timeout, f"{text!r} from {service.name}")


def base_env(rules_dir: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any EINVOICE_* of the caller, plus the mode's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EINVOICE_")}
    env.update({"EINVOICE_ENV": "production", "EINVOICE_SECRET_KEY": os.urandom(16).hex(),
                "EINVOICE_RULES_DIR": str(rules_dir), "EINVOICE_DATA_DIR": str(data_dir),
                "PYTHONUNBUFFERED": "1", **extra})
    env["NO_PROXY"] = env["no_proxy"] = HOST
    return env


# ------------------------------------------------------------------ CPU accounting


def _proc_stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process incl. its reaped children)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return int(fields[1]), ticks / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and all its live descendants (PostgreSQL backends, for example)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(entry.name)
            parents[pid], cpu[pid] = _proc_stat(pid)
    tree, grew = {root}, True
    while grew:
        grown = tree | {pid for pid, ppid in parents.items() if ppid in tree}
        grew, tree = len(grown) > len(tree), grown
    return sum(cpu.get(pid, 0.0) for pid in tree)


def cpu_snapshot(components: dict[str, list[int]]) -> dict[str, float]:
    snap = {name: sum(tree_cpu_seconds(pid) for pid in pids) for name, pids in components.items()}
    snap["client (this process)"] = time.process_time()
    return snap


# ------------------------------------------------------------------ stacks


@dataclass
class Stack:
    """A running mode: where to upload, as whom, and which processes to account CPU time to."""

    mode: str
    base_url: str
    token: str
    components: dict[str, list[int]]
    describe: str
    services: list[Service] = field(default_factory=list)


@contextlib.contextmanager
def embedded_stack(rules_dir: Path, threads: int) -> Iterator[Stack]:
    """``einvoice serve`` with SQLite and the in-process worker, fresh data folder."""
    folder = Path(tempfile.mkdtemp(prefix="einvoice-bench-embedded-"))
    server: Service | None = None
    try:
        env = base_env(rules_dir, folder / "data")
        token = create_supplier_token(env)
        port = free_port()
        server = spawn("serve", [sys.executable, "-m", "einvoice.cli", "serve", "--host", HOST, "--port", str(port),
                                 "--worker-threads", str(threads), "--log-level", "warning"], env, folder)
        base_url = f"http://{HOST}:{port}"
        wait_http_ready(server, base_url)
        yield Stack("embedded", base_url, token, {"einvoice serve (API + worker)": [server.proc.pid]},
                    f"einvoice serve, SQLite (WAL, synchronous=FULL), in-process worker with {threads} thread(s)",
                    [server])
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def missing_for_postgres_mode() -> str | None:
    """Why the PostgreSQL + Redis mode cannot run here, or None."""
    missing = [problem for problem in (missing_postgres(), None if shutil.which("redis-server") else
                                       "redis-server is not installed (apt-get install redis-server)") if problem]
    return "; ".join(missing) or None


@contextlib.contextmanager
def postgres_redis_stack(rules_dir: Path, threads: int, workers: int) -> Iterator[Stack]:
    """PostgreSQL + ``redis-server --save ''`` + ``einvoice serve`` (API only) + ``workers`` × ``einvoice worker``."""
    folder = Path(tempfile.mkdtemp(prefix="einvoice-bench-pg-"))
    os.chmod(folder, 0o755)  # the postgres user must reach its cluster folder inside
    services: list[Service] = []
    try:
        with postgres_cluster(folder, durable=True) as cluster:
            postmaster = cluster.pid
            try:
                database = cluster.create_database("einvoice_bench")
                redis_port = free_port()
                redis = spawn("redis", [shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
                                        "--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no",
                                        "--dir", str(folder)], dict(os.environ), folder)
                services.append(redis)
                wait_for(lambda: _redis_ping(redis, redis_port), 30, "redis-server")
                env = base_env(rules_dir, folder / "data", EINVOICE_DATABASE_URL=database,
                               EINVOICE_REDIS_URL=f"redis://{HOST}:{redis_port}/0")
                token = create_supplier_token(env)
                port = free_port()
                server = spawn("serve", [sys.executable, "-m", "einvoice.cli", "serve", "--host", HOST, "--port",
                                         str(port), "--log-level", "warning"], env, folder)
                services.append(server)
                workers_ = [spawn(f"worker-{index + 1}", [sys.executable, "-m", "einvoice.cli", "worker",
                                                          "--threads", str(threads), "--log-level", "info"],
                                  env, folder) for index in range(workers)]
                services.extend(workers_)
                base_url = f"http://{HOST}:{port}"
                wait_http_ready(server, base_url)
                for worker in workers_:
                    wait_log(worker, "worker ready")
                yield Stack("postgres+redis", base_url, token, {
                    "einvoice serve (API)": [server.proc.pid],
                    f"einvoice worker x{workers}": [w.proc.pid for w in workers_],
                    "PostgreSQL": [postmaster],
                    "Redis": [redis.proc.pid],
                }, f"einvoice serve (API only) + {workers} x einvoice worker --threads {threads}, "
                   "PostgreSQL (fsync on, synchronous_commit on), redis-server --save ''", services)
            finally:  # before PostgreSQL stops
                for service in reversed(services):
                    service.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _redis_ping(redis: Service, port: int) -> bool:
    redis.check_alive()
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# ------------------------------------------------------------------ the client


@dataclass
class DocTiming:
    name: str
    wall_start: float  # client wall clock when the upload request started
    upload_ms: float = float("nan")
    http_status: int = 0
    invoice_id: str = ""
    status: str = ""
    observed_final_wall: float | None = None
    received_at: float | None = None  # journal times (server wall clock, same host)
    validating_at: float | None = None
    verdict_at: float | None = None
    polls: int = 0
    error: str = ""


class PollScheduler:
    """At most ``rate`` status requests per second across all documents, the oldest upload first.

    Jobs are processed roughly in upload order, so the oldest pending documents are the ones about
    to finish: serving them first keeps the polling delay small without raising the request rate.
    """

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self.arrived = asyncio.Event()
        self.counter = itertools.count()

    async def wait(self, priority: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (priority, next(self.counter), future))
        self.arrived.set()
        await future

    async def run(self) -> None:
        """Grant one waiting request per interval until cancelled."""
        while True:
            if not self.waiting:
                self.arrived.clear()
                await self.arrived.wait()
                continue
            _, _, future = heapq.heappop(self.waiting)
            if future.done():  # its task was cancelled
                continue
            future.set_result(None)
            await asyncio.sleep(self.interval)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _journal_times(timing: DocTiming, events: list[dict[str, Any]]) -> None:
    for event in events:
        at = _epoch(event["at"])
        if event["event"] == "received" and timing.received_at is None:
            timing.received_at = at
        elif event["event"] == "validating" and timing.validating_at is None:
            timing.validating_at = at
        elif event["event"] in VERDICT_EVENTS:
            timing.verdict_at = at


@dataclass(frozen=True)
class ClientOptions:
    concurrency: int
    poll_rate: float
    first_poll: float
    max_poll_interval: float
    round_timeout: float


async def _run_round(base_url: str, token: str, docs: list[tuple[str, bytes]],
                     options: ClientOptions) -> list[DocTiming]:
    import httpx

    uploads = asyncio.Semaphore(options.concurrency)
    polls = PollScheduler(options.poll_rate)
    scheduler = asyncio.create_task(polls.run())
    deadline = time.monotonic() + options.round_timeout
    limits = httpx.Limits(max_connections=options.concurrency + 8, max_keepalive_connections=options.concurrency + 8)

    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=UPLOAD_TIMEOUT, trust_env=False) as client:

        async def one(name: str, data: bytes) -> DocTiming:
            async with uploads:
                timing = DocTiming(name, time.time())
                started = time.perf_counter()
                try:
                    response = await client.post("/api/v1/invoices",
                                                 files={"file": (Path(name).name, data, "application/xml")})
                except httpx.HTTPError as exc:
                    timing.error = f"upload: {type(exc).__name__}: {exc}"
                    return timing
                timing.upload_ms = (time.perf_counter() - started) * 1000
            timing.http_status = response.status_code
            if response.status_code not in (200, 202):
                timing.error = f"upload: HTTP {response.status_code}: {response.text[:300]}"
                return timing
            answer = response.json()
            timing.invoice_id, timing.status = answer["id"], answer["status"]
            delay = options.first_poll
            while timing.status in PENDING:
                if time.monotonic() > deadline:
                    timing.error = f"still {timing.status} after {options.round_timeout:.0f} s"
                    return timing
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, options.max_poll_interval)
                await polls.wait(timing.wall_start)
                try:
                    got = await client.get(f"/api/v1/invoices/{timing.invoice_id}")
                except httpx.HTTPError as exc:
                    timing.error = f"poll: {type(exc).__name__}: {exc}"
                    continue
                timing.polls += 1
                if got.status_code != 200:
                    timing.error = f"poll: HTTP {got.status_code}"
                    continue
                detail = got.json()
                timing.status = detail["status"]
                if timing.status not in PENDING:
                    timing.observed_final_wall = time.time()
                    timing.error = ""
                    _journal_times(timing, detail.get("events", []))
            return timing

        tasks = [asyncio.create_task(one(name, data)) for name, data in docs]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*tasks), options.round_timeout + UPLOAD_TIMEOUT))
        except TimeoutError as exc:
            raise BenchError(f"round did not finish within {options.round_timeout + UPLOAD_TIMEOUT:.0f} s") from exc
        finally:
            for task in [*tasks, scheduler]:
                task.cancel()
            await asyncio.gather(*tasks, scheduler, return_exceptions=True)


def run_round(stack: Stack, docs: list[tuple[str, bytes]], options: ClientOptions) -> list[DocTiming]:
    return asyncio.run(_run_round(stack.base_url, stack.token, docs, options))


# ------------------------------------------------------------------ figures


def pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
            "max": max(values), "n": len(values)}


def round_figures(timings: list[DocTiming]) -> dict[str, Any]:
    done = [t for t in timings if t.verdict_at is not None and not t.error]
    start = min(t.wall_start for t in timings)
    figures: dict[str, Any] = {"documents": len(timings), "final": len(done),
                               "statuses": dict(Counter(t.status or "upload failed" for t in timings)),
                               "errors": [f"{t.name}: {t.error}" for t in timings if t.error][:10]}
    if done:
        last_verdict = max(t.verdict_at for t in done if t.verdict_at is not None)
        last_seen = max(t.observed_final_wall for t in done if t.observed_final_wall is not None)
        figures.update({"seconds": last_verdict - start, "docs_per_s": len(done) / (last_verdict - start),
                        "observed_seconds": last_seen - start,
                        "observed_docs_per_s": len(done) / (last_seen - start)})
    return figures


def mode_figures(stack: Stack, rounds: list[list[DocTiming]], cpu: dict[str, float], wall: float,
                 cores: int) -> dict[str, Any]:
    every = [t for timings in rounds for t in timings]
    done = [t for t in every if t.verdict_at is not None and not t.error]
    per_round = [round_figures(timings) for timings in rounds]
    rates = [r["docs_per_s"] for r in per_round if "docs_per_s" in r]
    observed = [r["observed_docs_per_s"] for r in per_round if "observed_docs_per_s" in r]

    def ms(pairs: Iterator[tuple[float | None, float | None]]) -> list[float]:
        return [(b - a) * 1000 for a, b in pairs if a is not None and b is not None]

    total_cpu = sum(cpu.values())
    busy = sum(r.get("seconds", 0.0) for r in per_round)
    return {
        "mode": stack.mode,
        "stack": stack.describe,
        "documents": len(every),
        "final": len(done),
        "statuses": dict(Counter(t.status or "upload failed" for t in every)),
        "errors": [f"{t.name}: {t.error}" for t in every if t.error][:20],
        "docs_per_s": statistics.median(rates) if rates else float("nan"),
        "docs_per_s_rounds": rates,
        "observed_docs_per_s": statistics.median(observed) if observed else float("nan"),
        "upload_ms": pcts([t.upload_ms for t in every if t.upload_ms == t.upload_ms]),
        "upload_to_final_ms": pcts(ms((t.wall_start, t.verdict_at) for t in done)),
        "upload_to_final_observed_ms": pcts(ms((t.wall_start, t.observed_final_wall) for t in done)),
        "queue_wait_ms": pcts(ms((t.received_at, t.validating_at) for t in done)),
        "processing_ms": pcts(ms((t.validating_at, t.verdict_at) for t in done)),
        "polls_per_document": statistics.fmean([t.polls for t in every]) if every else 0.0,
        "cpu_seconds": cpu,
        "cpu_ms_per_document": {name: 1000 * s / max(1, len(done)) for name, s in cpu.items()},
        "wall_seconds_timed_rounds": wall,
        # CPU of the timed rounds over (first upload -> last verdict) of every round: how busy the
        # machine was while documents were in flight (the polling tails add a little CPU, no time).
        "cpu_utilisation_while_processing": total_cpu / (busy * cores) if busy > 0 else float("nan"),
        "rounds": per_round,
    }


def measure_mode(stack: Stack, corpus: list[tuple[str, bytes]], rounds: int, warm_docs: int,
                 options: ClientOptions, cores: int) -> dict[str, Any]:
    """One warm-up pass (compiles in the workers, fills caches), then ``rounds`` timed passes."""
    print(f"\n[{stack.mode}] {stack.describe}")
    started = time.perf_counter()
    wait_api_validator(stack, *corpus[0])
    warm = run_round(stack, [(n, stamped(d, "warm-up")) for n, d in corpus[:warm_docs]], options)
    warm_figures = round_figures(warm)
    print(f"  warm-up: {warm_docs} documents in {time.perf_counter() - started:.1f} s, {warm_figures['statuses']}")
    if warm_figures["final"] < len(warm):
        raise BenchError(f"warm-up did not finish: {warm_figures['errors']}")
    results: list[list[DocTiming]] = []
    before = cpu_snapshot(stack.components)
    wall_started = time.perf_counter()
    for index in range(1, rounds + 1):
        for service in stack.services:
            service.check_alive()
        timings = run_round(stack, [(n, stamped(d, f"round {index}")) for n, d in corpus], options)
        results.append(timings)
        f = round_figures(timings)
        rate = f"{f['docs_per_s']:.1f} docs/s" if "docs_per_s" in f else "no document final"
        print(f"  round {index}: {rate}, {f['statuses']}" + (f", errors: {f['errors'][:3]}" if f["errors"] else ""))
    wall = time.perf_counter() - wall_started
    after = cpu_snapshot(stack.components)
    cpu = {name: after[name] - before[name] for name in before}
    figures = mode_figures(stack, results, cpu, wall, cores)
    finished = [t.invoice_id for t in results[-1] if t.invoice_id and t.status not in PENDING]
    if finished:
        figures["status_request_server_cpu_ms"] = status_request_cost(stack, finished[0])
    return figures


def wait_api_validator(stack: Stack, name: str, data: bytes) -> None:
    """Block until the API process has compiled its validator, which ``serve`` does in the background
    at start: otherwise that compilation (seconds of CPU) would fall into the measurement."""
    import httpx

    response = httpx.post(f"{stack.base_url}/api/v1/validate", content=data, timeout=START_TIMEOUT,
                          headers={"Authorization": f"Bearer {stack.token}", "Content-Type": "application/xml"},
                          trust_env=False)
    if response.status_code not in (200, 406):
        raise BenchError(f"POST /api/v1/validate answered {response.status_code} for {name}: {response.text[:300]}")


def status_request_cost(stack: Stack, invoice_id: str, count: int = 100) -> float:
    """Server CPU ms of one ``GET /api/v1/invoices/{id}`` (what each poll costs), measured on an idle stack."""
    import httpx

    api_pid = next(iter(stack.components.values()))[0]
    with httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.token}"},
                      timeout=UPLOAD_TIMEOUT, trust_env=False) as client:
        client.get(f"/api/v1/invoices/{invoice_id}").raise_for_status()
        before = tree_cpu_seconds(api_pid)
        for _ in range(count):
            client.get(f"/api/v1/invoices/{invoice_id}").raise_for_status()
        return 1000 * (tree_cpu_seconds(api_pid) - before) / count


# ------------------------------------------------------------------ pure validation


class ValidateAndExtract:
    """What a job computes without the database: validation plus extraction of the business terms."""

    def __init__(self, validator: Any) -> None:
        self.validator = validator

    def validate_bytes(self, data: bytes, name: str) -> Any:
        from einvoice.formats.detect import load_document
        from einvoice.invoice.extract import extract_document

        result = self.validator.validate_bytes(data, name)
        with contextlib.suppress(Exception):
            extract_document(load_document(data, name))
        return result


def measure_validation(corpus: list[tuple[str, bytes]], rounds: int) -> dict[str, Any]:
    """Issue 2's single-process figure (``serial_runs``), plus the same with extraction added."""
    from einvoice.config import get_settings
    from einvoice.validation.engine import Validator

    get_settings.cache_clear()
    started = time.perf_counter()
    validator = Validator.from_settings()
    validator.warm_up()
    compile_s = time.perf_counter() - started
    with_extraction = ValidateAndExtract(validator)
    contenders: dict[str, Any] = {"Validator (issue 2)": validator, "Validator + extraction": with_extraction}
    accepted = sum(validator.validate_bytes(data, name).accepted for name, data in corpus)  # warm-up pass
    for name, data in corpus:
        with_extraction.validate_bytes(data, name)
    figures = serial_runs(contenders, corpus, rounds)
    return {"compile_s": compile_s, "accepted": accepted, **figures}


# ------------------------------------------------------------------ output


def fsync_ms(folder: Path, count: int = 50) -> float:
    """Median time of one fsync of a 4 KiB append: what each SQLite commit (synchronous=FULL) pays at least."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    samples = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            t0 = time.perf_counter()
            os.fsync(fd)
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    return statistics.median(samples)


def print_summary(figures: dict[str, Any]) -> None:
    validation = figures["validation"]
    modes = {name: m for name, m in figures["modes"].items() if "docs_per_s" in m}

    def trio(p: dict[str, float]) -> str:
        return f"{fmt(p['p50'], 0)} / {fmt(p['p95'], 0)} / {fmt(p['p99'], 0)}"

    rows = [[name, str(m["documents"]), fmt(m["docs_per_s"]), fmt(m["observed_docs_per_s"]),
             trio(m["upload_ms"]), trio(m["upload_to_final_ms"]), fmt(m["upload_to_final_observed_ms"]["p50"], 0),
             f"{fmt(m['queue_wait_ms']['p50'], 0)} / {fmt(m['processing_ms']['p50'], 0)}",
             fmt(sum(m["cpu_ms_per_document"].values()))]
            for name, m in modes.items()]
    for label, v in validation.items():
        if isinstance(v, dict):
            rows.append([f"pure: {label}, 1 process", str(v["documents"] * v["rounds"]), fmt(v["invoices_per_s"]),
                         "-", "-", f"{fmt(v['ms_median'], 1)} (median)", "-", "-", fmt(v["cpu_ms_per_invoice"])])
    print_table(f"Intake, KoSIT test suite ({figures['corpus']['files']} files) x {figures['rounds']} rounds, "
                f"{figures['concurrency']} uploads in flight",
                ["mode", "docs", "docs/s", "docs/s seen", "upload ms p50/95/99", "upload->final ms p50/95/99",
                 "seen p50", "queue/proc ms p50", "CPU ms/doc"], rows)
    print("  docs/s: first upload start -> last verdict in the journal (median round); 'seen': -> last final poll;"
          " CPU ms/doc: all processes of the mode incl. this client")
    for name, m in modes.items():
        parts = ", ".join(f"{k} {fmt(v, 1)}" for k, v in m["cpu_ms_per_document"].items())
        poll_cost = m.get("status_request_server_cpu_ms", float("nan"))
        print(f"  {name}: CPU ms per document: {parts}; cores busy while processing "
              f"{100 * m['cpu_utilisation_while_processing']:.0f} %; {m['polls_per_document']:.1f} polls/document "
              f"at {poll_cost:.1f} server CPU ms each; statuses {m['statuses']}")
    for name, m in figures["modes"].items():
        if "skipped" in m:
            print(f"  {name}: skipped: {m['skipped']}")


# ------------------------------------------------------------------ main


def default_rules_dir() -> Path:
    return Path(os.environ.get("EINVOICE_RULES_DIR") or ROOT / ".einvoice" / "test" / "rules")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules-dir", help="installed rule packs (default: EINVOICE_RULES_DIR or "
                                            "<root>/.einvoice/test/rules)")
    parser.add_argument("--standards", help="standards folder (default: EINVOICE_STANDARDS_DIR or ../shared/standards)")
    parser.add_argument("--install", action="store_true", help="install the rule packs first if missing")
    parser.add_argument("--rounds", type=int, help="timed passes over the corpus per mode (default 3, quick 1)")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight (default 8)")
    parser.add_argument("--worker-threads", type=int, default=2,
                        help="threads of the embedded worker and of each einvoice worker (default 2)")
    parser.add_argument("--poll-rate", type=float, default=50.0,
                        help="status requests per second at most, all documents together, oldest upload "
                             "first (default 50)")
    parser.add_argument("--round-timeout", type=float, default=240.0, help="seconds a round may take (default 240)")
    parser.add_argument("--mode", choices=["all", "embedded", "postgres"], default="all")
    parser.add_argument("--quick", action="store_true", help="one round, short warm-up (about a minute)")
    parser.add_argument("--json", dest="json_file", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.worker_threads < 1 or args.poll_rate <= 0:
        parser.error("--concurrency, --worker-threads and --poll-rate must be positive")

    rules_dir = Path(args.rules_dir).resolve() if args.rules_dir else default_rules_dir().resolve()
    os.environ["EINVOICE_RULES_DIR"] = str(rules_dir)  # for the Validator built here
    standards = standards_dir(args.standards)
    if not (rules_dir / "packs.json").exists():
        if not args.install:
            print(f"no rule packs in {rules_dir}; run with --install or: einvoice rules install --from {standards}")
            return 2
        from einvoice.rules.install import install

        print(f"installing rule packs from {standards} into {rules_dir} …")
        install(standards, rules_dir)
    corpus = load_corpus(standards)
    if not corpus:
        print(f"no test-suite files under {standards / CORPUS_GLOB}")
        return 2

    rounds = args.rounds or (1 if args.quick else 3)
    warm_docs = 16 if args.quick else len(corpus)
    options = ClientOptions(concurrency=args.concurrency, poll_rate=args.poll_rate, first_poll=0.2,
                            max_poll_interval=0.5, round_timeout=args.round_timeout)
    machine = machine_facts()
    machine["loadavg_at_start"] = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="einvoice-bench-fsync-") as probe:
        machine["fsync_ms_median"] = fsync_ms(Path(probe))
    cores = int(machine["usable_cpus"] or 1)
    figures: dict[str, Any] = {
        "machine": machine, "rules_dir": str(rules_dir), "rounds": rounds, "quick": args.quick,
        "concurrency": args.concurrency, "worker_threads": args.worker_threads, "client": asdict(options),
        "corpus": {"files": len(corpus), "bytes": sum(len(d) for _, d in corpus)},
        "command": " ".join(["python", "benchmarks/bench_intake.py", *(argv if argv is not None else sys.argv[1:])]),
        "modes": {},
    }
    print(f"command: {figures['command']}")
    print(f"load average at start: {machine['loadavg_at_start'][0]:.2f} (other processes distort the figures)")
    print(f"machine: {machine['cpu_count']} CPUs ({machine['usable_cpus']} usable), {machine['cpu_model']}")
    print(f"python {machine['python']}, saxonche {machine['saxonche']}, lxml {machine['lxml']}, {machine['platform']}")
    print(f"fsync of a 4 KiB append: {machine['fsync_ms_median']:.2f} ms (median)")
    print(f"corpus: {len(corpus)} KoSIT test-suite files ({figures['corpus']['bytes'] / 1024:.0f} KiB); "
          f"{rounds} timed round(s) per mode, {args.concurrency} uploads in flight, polls <= {args.poll_rate:.0f}/s")

    print("\n[validation] single process, same corpus …")
    figures["validation"] = measure_validation(corpus, rounds=max(rounds, 2))
    v = figures["validation"]["Validator (issue 2)"]
    print(f"  Validator: {v['invoices_per_s']:.1f} inv/s, {v['ms_median']:.1f} ms median "
          f"(compile {figures['validation']['compile_s']:.1f} s, accepts {figures['validation']['accepted']}"
          f"/{len(corpus)})")

    status = 0
    modes: list[tuple[str, Callable[[], contextlib.AbstractContextManager[Stack]]]] = []
    if args.mode in ("all", "embedded"):
        modes.append(("embedded", lambda: embedded_stack(rules_dir, args.worker_threads)))
    if args.mode in ("all", "postgres"):
        modes.append(("postgres+redis", lambda: postgres_redis_stack(rules_dir, args.worker_threads, workers=2)))
    for name, make_stack in modes:
        if name == "postgres+redis" and (reason := missing_for_postgres_mode()):
            print(f"\n[{name}] skipped: {reason}")
            figures["modes"][name] = {"skipped": reason}
            continue
        try:
            with make_stack() as stack:
                figures["modes"][name] = measure_mode(stack, corpus, rounds, warm_docs, options, cores)
        except BenchError as exc:
            print(f"\n[{name}] FAILED: {exc}")
            figures["modes"][name] = {"failed": str(exc)}
            status = 1
        if figures["modes"][name].get("errors"):
            status = 1

    machine["loadavg_at_end"] = os.getloadavg()
    print_summary(figures)
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
        print(f"\nfigures written to {args.json_file}")
    return status


if __name__ == "__main__":
    sys.exit(main())
