#!/usr/bin/env python
"""Validation throughput: our engine versus an eu-einvoice-style pipeline, on the KoSIT test suite.

Run:  python benchmarks/bench_validation.py [--rules-dir DIR] [--quick] [--json FILE] [--install]

Measures (all after a warm-up pass, stylesheets compiled once per process):
  (a) baseline pipeline with the official XSLTs (CEN's compiled XSLT + Mustang's XRechnung 3.0),
  (b) baseline pipeline with our compiled XSLTs,
  (c) our Validator (XSD + CEN + XRechnung, one Saxon tree per document), one process,
  (d) ours through ``validate_many(..., jobs=2)`` (worker start-up reported separately),
then the time per invoice for generated UBL invoices of 10 … 5,000 lines, a per-step profile,
and a timing-free check that ours and the baselines reach the same verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

CORPUS_GLOB = "xrechnung-testsuite/src/test/**/*.xml"
STEP_NAMES = {"cen-ubl": "CEN", "cen-cii": "CEN", "xrechnung-ubl": "XRechnung", "xrechnung-cii": "XRechnung"}


# ------------------------------------------------------------------ small helpers

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; good enough for a few hundred samples."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine_facts() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "saxonche": pkg("saxonche"),
        "lxml": pkg("lxml"),
    }


def standards_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    return Path(os.environ.get("EINVOICE_STANDARDS_DIR", ROOT.parent / "shared" / "standards")).resolve()


def serial_runs(contenders: dict[str, Any], docs: list[tuple[str, bytes]],
                rounds: int) -> dict[str, dict[str, Any]]:
    """Each round validates the whole corpus once per contender, contenders interleaved.

    Interleaving spreads background load (a shared machine) evenly over the contenders; the
    throughput is that of the median round, the latencies are over all documents of all rounds.
    """
    latencies: dict[str, list[float]] = {label: [] for label in contenders}
    round_seconds: dict[str, list[float]] = {label: [] for label in contenders}
    cpu_seconds: dict[str, list[float]] = {label: [] for label in contenders}
    for _ in range(rounds):
        for label, contender in contenders.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            for name, data in docs:
                t0 = time.perf_counter()
                contender.validate_bytes(data, name)
                latencies[label].append((time.perf_counter() - t0) * 1000)
            round_seconds[label].append(time.perf_counter() - started)
            cpu_seconds[label].append(time.process_time() - cpu_started)
    figures = {}
    for label in contenders:
        per_second = len(docs) / statistics.median(round_seconds[label])
        figures[label] = {
            "documents": len(docs),
            "rounds": rounds,
            "invoices_per_s": per_second,
            "invoices_per_s_per_core": per_second,
            "best_round_invoices_per_s": len(docs) / min(round_seconds[label]),
            "ms_median": statistics.median(latencies[label]),
            "ms_p95": percentile(latencies[label], 95),
            "ms_mean": statistics.fmean(latencies[label]),
            # CPU time of this process (all its threads): less sensitive to other load on the machine
            "cpu_ms_per_invoice": 1000 * statistics.median(cpu_seconds[label]) / len(docs),
        }
    return figures


def pool_run(paths: list[Path], rounds: int, jobs: int) -> dict[str, Any]:
    """``validate_many`` over one warm-up pass + ``rounds`` passes of the corpus.

    Outcomes arrive in input order, so the time at which the last warm-up outcome arrives splits
    cold start (spawning workers, compiling every stylesheet in each) from warm throughput.
    """
    from einvoice.validation.batch import validate_many

    warm = list(paths)
    measured = list(paths) * rounds
    started = time.perf_counter()
    first = boundary = None
    accepted = 0
    for index, outcome in enumerate(validate_many(warm + measured, fmt="json", jobs=jobs)):
        now = time.perf_counter()
        if index == 0:
            first = now
        if index == len(warm) - 1:
            boundary = now
        accepted += outcome.result.accepted
    ended = time.perf_counter()
    assert first is not None and boundary is not None
    warm_rate = len(measured) / (ended - boundary)
    return {
        "jobs": jobs,
        "documents": len(warm) + len(measured),
        "first_result_s": first - started,
        "cold_total_s": ended - started,
        "cold_invoices_per_s": (len(warm) + len(measured)) / (ended - started),
        "warm_invoices_per_s": warm_rate,
        "warm_invoices_per_s_per_core": warm_rate / jobs,
        "warm_ms_per_invoice_wall": 1000 / warm_rate,
    }


# ------------------------------------------------------------------ profile

def profile_ours(validator: Any, name: str, data: bytes) -> dict[str, float]:
    """ms per step of our engine for one document.

    XSD, Schematron and the lxml load come from the step durations the engine records; the Saxon
    tree (from the text with attachment placeholders, as the engine builds it for these rules) and
    the scenario match are timed in a separate call (the engine does not time them), and "other"
    is what remains of the total (result objects, bookkeeping).
    """
    from einvoice import saxon
    from einvoice.formats.detect import load_document
    from einvoice.schematron.opacity import without_attachment_content
    from einvoice.validation.model import StepKind

    t0 = time.perf_counter()
    doc = load_document(data, name)
    lean = without_attachment_content(doc.tree)
    node = saxon.parse_text(lean if lean is not None else doc.text)
    t1 = time.perf_counter()
    validator.scenarios.match(node)
    t2 = time.perf_counter()
    result = validator.validate_bytes(data, name)
    total = (time.perf_counter() - t2) * 1000
    load_ms = sum(s.duration_ms for s in result.steps if s.kind == StepKind.WELLFORMED)
    steps = {"parse + detect (lxml)": load_ms, "Saxon tree": (t1 - t0) * 1000 - load_ms,
             "scenario match": (t2 - t1) * 1000}
    for step in result.steps:
        if step.kind == StepKind.XSD:
            steps["XSD"] = step.duration_ms
        elif step.kind == StepKind.SCHEMATRON:
            steps[f"Schematron {STEP_NAMES.get(step.id, step.id)}"] = step.duration_ms
    steps["other"] = total - sum(steps.values())
    steps["= total"] = total
    return steps


def profile_baseline(baseline: Any, name: str, data: bytes) -> dict[str, float]:
    """ms per step of the baseline pipeline for one document (it times its own steps)."""
    t0 = time.perf_counter()
    result = baseline.validate_bytes(data, name)
    total = (time.perf_counter() - t0) * 1000
    steps: dict[str, float] = {}
    for key, ms in result.timings.items():
        step, _, sub = key.partition(":")
        label = {"parse": "parse + detect (lxml)", "write-temp": "write temp file", "xsd": "XSD"}.get(step)
        if label is None:
            label = f"Schematron {STEP_NAMES.get(step, step)}" + (" SVRL parse" if sub else "")
        steps[label] = steps.get(label, 0.0) + ms
    steps["other"] = total - sum(steps.values())
    steps["= total"] = total
    return steps


def profile(contenders: dict[str, tuple[Callable[[Any, str, bytes], dict[str, float]], Any]],
            docs: list[tuple[str, bytes]], repeats: int) -> dict[str, dict[str, float]]:
    """Mean over documents of the per-step minimum over ``repeats`` interleaved runs.

    The minimum of repeated runs filters out bursts of load from other processes; interleaving
    the contenders document by document exposes them to the same conditions.
    """
    best: dict[str, list[dict[str, float]]] = {label: [{} for _ in docs] for label in contenders}
    for _ in range(repeats):
        for index, (name, data) in enumerate(docs):
            for label, (run, contender) in contenders.items():
                for step, ms in run(contender, name, data).items():
                    slot = best[label][index]
                    slot[step] = min(slot.get(step, ms), ms)
    result: dict[str, dict[str, float]] = {}
    for label, per_doc in best.items():
        keys = list(dict.fromkeys(k for d in per_doc for k in d))
        result[label] = {k: sum(d.get(k, 0.0) for d in per_doc) / len(per_doc) for k in keys}
    return result


# ------------------------------------------------------------------ verdicts

def compare_verdicts(docs: list[tuple[str, bytes]], ours: Any, baselines: dict[str, Any],
                     root: Path) -> list[dict[str, Any]]:
    disagreements = []
    for name, data in docs:
        mine = ours.validate_bytes(data, name)
        mine_rules = sorted({f.rule for f in mine.findings if f.level.rejects})
        for label, baseline in baselines.items():
            other = baseline.validate_bytes(data, name)
            if other.accepted != mine.accepted:
                disagreements.append({
                    "file": str(Path(name).relative_to(root)) if Path(name).is_relative_to(root) else name,
                    "baseline": label,
                    "ours_accepted": mine.accepted, "ours_errors": mine_rules,
                    "baseline_accepted": other.accepted, "baseline_errors": sorted(other.error_rules),
                    "baseline_error": other.error,
                })
    return disagreements


# ------------------------------------------------------------------ output

def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths,
                                                                                               strict=True))))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def fmt_list(values: list[float]) -> str:
    return "/".join(fmt(v) for v in values)


# ------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules-dir", help="installed rule packs (default: EINVOICE_RULES_DIR or settings)")
    parser.add_argument("--standards",
                        help="standards folder (default: EINVOICE_STANDARDS_DIR or ../shared/standards)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and sizes (about a minute)")
    parser.add_argument("--rounds", type=int, help="timed passes over the corpus (default 5, quick 2)")
    parser.add_argument("--json", dest="json_file", help="write all figures to this JSON file")
    parser.add_argument("--install", action="store_true", help="install the rule packs first if missing")
    args = parser.parse_args(argv)

    if args.rules_dir:
        os.environ["EINVOICE_RULES_DIR"] = str(Path(args.rules_dir).resolve())  # workers inherit it
    from einvoice.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    rules_dir = settings.rules_dir
    standards = standards_dir(args.standards)
    if not (rules_dir / "packs.json").exists():
        if not args.install:
            print(f"no rule packs in {rules_dir}; run with --install or: "
                  f"einvoice rules install --from {standards}")
            return 2
        from einvoice.rules.install import install

        print(f"installing rule packs from {standards} into {rules_dir} …")
        install(standards, rules_dir)

    from baseline import BaselineRules, BaselineValidator, CustomLevels

    from einvoice import samples
    from einvoice.validation.engine import Validator

    rounds = args.rounds or (2 if args.quick else 5)
    paths = sorted(standards.glob(CORPUS_GLOB))
    if not paths:
        print(f"no test-suite files under {standards / CORPUS_GLOB}")
        return 2
    docs = [(str(p), p.read_bytes()) for p in paths]
    figures: dict[str, Any] = {"machine": machine_facts(), "rules_dir": str(rules_dir),
                               "corpus": {"files": len(docs), "bytes": sum(len(d) for _, d in docs)},
                               "rounds": rounds, "quick": args.quick}
    m = figures["machine"]
    m["loadavg_at_start"] = os.getloadavg()
    print(f"load average at start: {m['loadavg_at_start'][0]:.2f} (other processes distort the figures)")
    print(f"machine: {m['cpu_count']} CPUs ({m['usable_cpus']} usable), {m['cpu_model']}")
    print(f"python {m['python']}, saxonche {m['saxonche']}, lxml {m['lxml']}, {m['platform']}")
    print(f"corpus: {len(docs)} KoSIT test-suite files ({figures['corpus']['bytes'] / 1024:.0f} KiB), "
          f"{rounds} timed rounds after one warm-up pass")

    custom_levels = CustomLevels(settings.rules_config_dir / "scenarios.toml")
    contenders: dict[str, Any] = {}
    started = time.perf_counter()
    contenders["(a) baseline, official XSLT"] = BaselineValidator(BaselineRules.official(rules_dir),
                                                                  custom_levels)
    contenders["(b) baseline, our XSLT"] = BaselineValidator(BaselineRules.ours(rules_dir), custom_levels)
    ours = Validator.from_settings(settings)
    contenders["(c) ours, 1 process"] = ours
    for contender in contenders.values():
        contender.warm_up()
    figures["compile_s"] = time.perf_counter() - started
    print(f"compiling all stylesheets and schemas: {figures['compile_s']:.1f} s")

    # warm-up pass, which also yields the verdicts for the sanity check
    for contender in contenders.values():
        for name, data in docs:
            contender.validate_bytes(data, name)

    serial = serial_runs(contenders, docs, rounds)
    figures["serial"] = serial

    # validate_many: jobs=1 and jobs=2 alternately, several trials; the median trial counts. Three
    # times the serial rounds: with jobs=2 a short window is dominated by scheduling noise.
    trials: dict[str, list[dict[str, Any]]] = {"jobs=1": [], "jobs=2": []}
    for _ in range(2 if args.quick else 3):
        for jobs in (1, 2):
            trials[f"jobs={jobs}"].append(pool_run(paths, rounds * 3, jobs))
    pool: dict[str, dict[str, Any]] = {}
    for key, runs in trials.items():
        rates = [r["warm_invoices_per_s"] for r in runs]
        median_run = next(r for r in runs if r["warm_invoices_per_s"] == statistics.median_low(rates))
        pool[key] = dict(median_run, trials_warm_invoices_per_s=rates, best_warm_invoices_per_s=max(rates))
    figures["validate_many"] = pool
    speedup = pool["jobs=2"]["warm_invoices_per_s"] / pool["jobs=1"]["warm_invoices_per_s"]
    best_speedup = pool["jobs=2"]["best_warm_invoices_per_s"] / pool["jobs=1"]["best_warm_invoices_per_s"]
    figures["speedup_2_vs_1"] = speedup
    figures["speedup_2_vs_1_best"] = best_speedup

    ours_rate = serial["(c) ours, 1 process"]["invoices_per_s"]
    a_rate = serial["(a) baseline, official XSLT"]["invoices_per_s"]
    a_cpu = serial["(a) baseline, official XSLT"]["cpu_ms_per_invoice"]
    rows = [[label, fmt(s["invoices_per_s"]), fmt(s["invoices_per_s_per_core"]), fmt(s["ms_median"]),
             fmt(s["ms_p95"]), fmt(s["cpu_ms_per_invoice"]), fmt(s["invoices_per_s"] / a_rate, 2) + "x",
             fmt(a_cpu / s["cpu_ms_per_invoice"], 2) + "x"] for label, s in serial.items()]
    for jobs in (1, 2):
        p = pool[f"jobs={jobs}"]
        rows.append([f"(d) ours, validate_many jobs={jobs} (warm)", fmt(p["warm_invoices_per_s"]),
                     fmt(p["warm_invoices_per_s_per_core"]), "-", "-", "-",
                     fmt(p["warm_invoices_per_s"] / a_rate, 2) + "x", "-"])
    print_table(f"KoSIT test suite, {len(docs)} files x {rounds} rounds (latency: per document, all rounds)",
                ["pipeline", "inv/s", "inv/s/core", "ms med", "ms p95", "CPU ms/inv", "inv/s vs (a)",
                 "CPU vs (a)"], rows)
    print(f"  validate_many jobs=2: speed-up vs jobs=1 {speedup:.2f}x (warm, median trial; best trials "
          f"{best_speedup:.2f}x; trials jobs=1 {fmt_list(pool['jobs=1']['trials_warm_invoices_per_s'])}, "
          f"jobs=2 {fmt_list(pool['jobs=2']['trials_warm_invoices_per_s'])} inv/s)")
    print(f"  jobs=2: first result after {pool['jobs=2']['first_result_s']:.1f} s (spawn + compile in each worker); "
          f"including start-up {pool['jobs=2']['cold_invoices_per_s']:.1f} inv/s over "
          f"{pool['jobs=2']['documents']} documents")
    b_rate = serial["(b) baseline, our XSLT"]["invoices_per_s"]
    figures["ratios"] = {"ours_vs_baseline_official": ours_rate / a_rate,
                         "ours_vs_baseline_our_xslt": ours_rate / b_rate,
                         "baseline_our_xslt_vs_official": b_rate / a_rate}
    print(f"  ours/baseline(official) {ours_rate / a_rate:.2f}x = pipeline {ours_rate / b_rate:.2f}x "
          f"x compiled XSLT {b_rate / a_rate:.2f}x (throughput)")
    cpu = {label: s["cpu_ms_per_invoice"] for label, s in serial.items()}
    c_cpu, b_cpu = cpu["(c) ours, 1 process"], cpu["(b) baseline, our XSLT"]
    figures["ratios"].update({"cpu_ours_vs_baseline_official": a_cpu / c_cpu,
                              "cpu_ours_vs_baseline_our_xslt": b_cpu / c_cpu,
                              "cpu_baseline_our_xslt_vs_official": a_cpu / b_cpu})
    print(f"  by CPU time: {a_cpu / c_cpu:.2f}x = pipeline {b_cpu / c_cpu:.2f}x "
          f"x compiled XSLT {a_cpu / b_cpu:.2f}x")

    # time versus number of invoice lines
    sizes = (10, 100, 1000) if args.quick else (10, 100, 1000, 5000)
    size_rows = []
    figures["lines"] = {}
    for lines in sizes:
        data = samples.make_ubl_invoice(lines)
        reps = 5 if lines <= 100 else (3 if lines <= 1000 else 2)
        entry: dict[str, Any] = {"bytes": len(data)}
        times: dict[str, list[float]] = {label: [] for label in contenders}
        accepted = dict.fromkeys(contenders, True)
        if lines <= 1000:
            for contender in contenders.values():
                contender.validate_bytes(data, f"lines-{lines}")  # first run of a new size: discard
        for _ in range(reps):
            for label, contender in contenders.items():  # interleaved, as for the corpus
                t0 = time.perf_counter()
                result = contender.validate_bytes(data, f"lines-{lines}")
                times[label].append((time.perf_counter() - t0) * 1000)
                accepted[label] = accepted[label] and result.accepted
        a_ms = statistics.median(times["(a) baseline, official XSLT"])
        for label in contenders:
            ms = statistics.median(times[label])
            entry[label] = {"ms": ms, "ms_per_line": ms / lines, "accepted": accepted[label], "reps": reps}
            size_rows.append([f"{lines:>5} lines  {label}", fmt(ms), fmt(ms / lines, 3),
                              fmt(a_ms / ms, 2) + "x", "yes" if accepted[label] else "NO"])
        figures["lines"][str(lines)] = entry
    print_table("Generated XRechnung UBL invoices: time per invoice versus number of lines",
                ["invoice / pipeline", "ms", "ms/line", "speed vs (a)", "accepted"], size_rows)

    # where the time goes
    base_a, base_b = contenders["(a) baseline, official XSLT"], contenders["(b) baseline, our XSLT"]
    big_lines = sizes[-1]
    scopes = {"KoSIT corpus": docs, f"{big_lines}-line invoice": [(f"lines-{big_lines}",
                                                                   samples.make_ubl_invoice(big_lines))]}
    runners = {"ours": (profile_ours, ours), "baseline official": (profile_baseline, base_a),
               "baseline our XSLT": (profile_baseline, base_b)}
    figures["profile"] = {}
    for scope, scope_docs in scopes.items():
        per = profile(runners, scope_docs, repeats=3)
        figures["profile"][scope] = per
        keys = list(dict.fromkeys(k for column in per.values() for k in column))
        keys = [k for k in keys if k != "= total"] + ["= total"]
        print_table(f"Profile, ms per document and step ({scope}; mean over documents of the best of 3 runs)",
                    ["step", *per], [[k, *(fmt(col[k], 2) if k in col else "" for col in per.values())]
                                     for k in keys])

    # verdict agreement (timing-free)
    baselines = {label: c for label, c in contenders.items() if label.startswith(("(a)", "(b)"))}
    disagreements = compare_verdicts(docs, ours, baselines, standards)
    figures["verdicts"] = {"disagreements": disagreements,
                           "accepted_by_ours": sum(ours.validate_bytes(d, n).accepted for n, d in docs)}
    print(f"\nverdicts: ours accepts {figures['verdicts']['accepted_by_ours']} of {len(docs)} "
          "test-suite files; "
          f"{len(disagreements)} disagreement(s) with the baselines")
    for item in disagreements:
        print(f"  DISAGREE {item['baseline']}: {item['file']}: ours accepted={item['ours_accepted']} "
              f"{item['ours_errors']}; baseline accepted={item['baseline_accepted']} "
              f"{item['baseline_errors']}"
              f"{' ' + item['baseline_error'] if item['baseline_error'] else ''}")

    figures["machine"]["loadavg_at_end"] = os.getloadavg()
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
        print(f"\nfigures written to {args.json_file}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
