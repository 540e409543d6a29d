"""Validate many files, optionally spread over worker processes (``einvoice validate --jobs N``)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from einvoice.validation.engine import Validator
from einvoice.validation.model import ValidationResult

INVOICE_SUFFIXES = {".xml", ".pdf"}


@dataclass
class Outcome:
    """What a worker sends back: the result and its rendering in the requested format."""

    path: Path
    result: ValidationResult
    rendered: str


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders searched recursively for XML and PDF files, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INVOICE_SUFFIXES))
        else:
            found.append(path)
    return found


_worker_validator: Validator | None = None
_worker_format = "json"
_worker_lang = "de"


def _init_worker(fmt: str, lang: str) -> None:
    global _worker_validator, _worker_format, _worker_lang
    _worker_validator = Validator.from_settings()
    _worker_validator.warm_up()
    _worker_format, _worker_lang = fmt, lang


def _validate_one(path: Path) -> Outcome:
    assert _worker_validator is not None
    return render_outcome(_worker_validator, path, _worker_format, _worker_lang)


def render_outcome(validator: Validator, path: Path, fmt: str, lang: str) -> Outcome:
    from einvoice.validation.reports import render

    result = validator.validate_file(path)
    scenario = validator.scenarios.by_id(result.scenario) if result.scenario else None
    report_xsl = validator.store.path("kosit-report:xrechnung-report.xsl") if fmt == "kosit" else None
    rendered = render(result, fmt, scenario=scenario, scenarios=validator.scenarios, lang=lang,
                      report_xsl=report_xsl)
    result.xml = None  # not needed by the caller; keeps inter-process traffic small
    return Outcome(path, result, rendered)


def validate_many(
    paths: list[Path], *, fmt: str, lang: str = "de", jobs: int = 1,
    on_done: Callable[[Outcome], None] | None = None,
) -> Iterator[Outcome]:
    """Yield outcomes in input order; ``jobs > 1`` uses that many processes, each compiling once."""
    if jobs <= 1:
        _init_worker(fmt, lang)
        for path in paths:
            yield _validate_one(path)
        return
    # spawn: SaxonC's runtime must not be forked once started.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(fmt, lang)) as pool:
        chunk = max(1, min(16, len(paths) // (jobs * 4) or 1))
        yield from pool.map(_validate_one, paths, chunksize=chunk)
