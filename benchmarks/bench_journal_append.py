#!/usr/bin/env python
"""Cost of the workflow digest in every journal append (``einvoice.workflow.record``).

Run:  python benchmarks/bench_journal_append.py [--appends 2000] [--rounds 3]

A fresh embedded (SQLite) ledger in a temp folder with 200 received invoices; each round times
``journal.append`` for an invoice (median of ``--appends`` calls, each in its own rolled-back unit of
work) with the workflow digest as shipped, and as the baseline in the same round with the digest
switched off (what every append cost before the workflow record was covered).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="einvoice-journal-bench-") as tmp:
        os.environ["EINVOICE_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ.pop("EINVOICE_DATABASE_URL", None)
        from einvoice import db
        from einvoice.ledger import journal
        from einvoice.ledger import service as ledger
        from einvoice.ledger.blobs import BlobStore
        from einvoice.samples import make_ubl_invoice

        db.create_schema()
        blobs = BlobStore(Path(tmp) / "blobs")
        ids = [ledger.receive_committed(blobs, data=make_ubl_invoice(number=f"J-{i}"), channel="api", sender="s",
                                        filename=f"J-{i}.xml").invoice_id for i in range(200)]

        def median_ms() -> float:
            times = []
            for k in range(args.appends):
                with db.UnitOfWork() as uow:
                    start = time.perf_counter()
                    journal.append(uow.session, event="bench", actor="bench", invoice_id=ids[k % len(ids)])
                    times.append(time.perf_counter() - start)
                    uow.rollback()
            return statistics.median(times) * 1000

        shipped = journal.workflow_digest
        print(f"machine: {os.cpu_count()} cores; {args.appends} appends per measurement, SQLite")
        for round_no in range(1, args.rounds + 1):
            journal.workflow_digest = shipped
            with_digest = median_ms()
            journal.workflow_digest = lambda session, invoice_id: None  # the baseline
            without = median_ms()
            print(f"round {round_no}: append {with_digest:.3f} ms with the workflow digest, {without:.3f} ms "
                  f"without (+{with_digest - without:.3f} ms)")
        journal.workflow_digest = shipped
        db.reset()


if __name__ == "__main__":
    main()
