"""Browser tests: the real service (uvicorn, embedded worker, SQLite in tmp) driven by Debian's Chromium.

Fixtures and helpers for every browser test (also engineer B's):
- ``live_server`` (module): a running server with its own data folder; ``live_server.cli(...)`` runs the
  ``einvoice`` command line against the same database, ``live_server.add_user(...)`` creates people.
- ``page`` (function): a fresh browser context (no cookies) with ``base_url`` set to the server.
- ``login(page, name, password)``, ``audit(page)`` (axe-core, zero WCAG 2.1 A/AA violations) and
  ``screenshot(page, name)`` (test-artifacts/screenshots/, gitignored).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.services import einvoice_server, service_env

CHROMIUM = os.environ.get("EINVOICE_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PASSWORD = "Sicher-genug-2026"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (``-m browser`` selects them, ``-m 'not browser'`` skips)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    home: Path
    log: Path
    users: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """``einvoice ARGS`` against this server's database, in its own process."""
        done = subprocess.run([sys.executable, "-m", "einvoice.cli", *args], env=self.env, cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == expect, (args, done.returncode, done.stdout, done.stderr)
        return done

    def add_unit(self, name: str, leitweg_id: str | None = None, workflow: str | None = None) -> None:
        args = ["units", "add", name]
        if leitweg_id:
            args += ["--leitweg-id", leitweg_id]
        if workflow:
            args += ["--workflow", workflow]
        self.cli(*args)

    def add_user(self, name: str, role: str, unit: str | None = None, password: str = PASSWORD) -> str:
        args = ["users", "add", name, "--role", role, "--password-stdin"]
        if unit:
            args += ["--unit", unit]
        self.cli(*args, stdin=password + "\n")
        self.users[name] = password
        return password

    def python(self, code: str) -> str:
        """Run Python code against this server's database and settings (e.g. service functions)."""
        done = subprocess.run([sys.executable, "-c", code], env=self.env, cwd=ROOT, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, (code, done.stdout, done.stderr)
        return done.stdout.strip()

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(what: str, check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@contextmanager
def serving(rules_dir: Path, tmp_path_factory: pytest.TempPathFactory, **settings: str) -> Iterator[LiveServer]:
    """A migrated installation and the server on it; ``settings`` as for ``service_env`` (e.g. database_url)."""
    home = tmp_path_factory.mktemp("web")
    env = service_env(rules_dir, home / "data", secret_key="browser-test-secret", **settings)
    subprocess.run([sys.executable, "-m", "einvoice.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=180)
    log = home / "server.log"
    with einvoice_server(env, log, log_level="warning") as url:
        yield LiveServer(url=url, env=env, home=home, log=log)


@pytest.fixture(scope="module")
def live_server(rules_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The embedded installation (SQLite); a module may override this fixture with another database."""
    with serving(rules_dir, tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    _wait_for_the_next_document_after_clicks(sync_api.Locator)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (.ci/run installs Debian's chromium)")
    if not AXE.exists():
        pytest.skip(f"axe-core missing at {AXE}: npm install --prefix tests/browser")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _wait_for_the_next_document_after_clicks(locator_class: Any) -> None:
    """A click that starts a navigation returns once the new document is committed, not yet parsed: a count
    read right then can see an empty table (CI saw it). Every click and check here waits for the load event
    of whatever document is current afterwards (at once when nothing navigated)."""
    for name in ("click", "check"):
        original = getattr(locator_class, name)
        if getattr(original, "waits_for_load", False):
            continue

        def waiting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            result = _original(self, *args, **kwargs)
            self.page.wait_for_load_state()
            return result

        waiting.waits_for_load = True  # type: ignore[attr-defined]
        setattr(locator_class, name, waiting)


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, locale="de-DE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def login(page: Any, name: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the start page of the role."""
    page.goto("/login")
    page.locator("#name").fill(name)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {name} failed: {page.locator('main').inner_text()}"


def audit(page: Any, *, exclude: list[str] | None = None) -> None:
    """Run axe-core on the current page: zero WCAG 2.0/2.1 A and AA violations, else a readable failure."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated over the DevTools protocol: the pages' CSP (no inline scripts) stays in force
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}}
    excluded = [[selector] for selector in exclude or []]
    result = page.evaluate("([excluded, opts]) => axe.run(excluded.length ? {include: [['html']], exclude: excluded}"
                           " : document, opts)", [excluded, options])
    violations = result["violations"]
    if violations:
        lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} — {violation['helpUrl']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    at {json.dumps(node['target'])}: {node.get('failureSummary', '').strip()}")
        pytest.fail("\n".join(lines))


def screenshot(page: Any, name: str) -> Path:
    """A full-page PNG under test-artifacts/screenshots/ for reviewers (never committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def csrf_of(page: Any) -> str:
    """The CSRF token of the page's session (from any form on the page)."""
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))
