"""Intake: commit received documents to the ledger, then validate and extract them as Dramatiq jobs.

``service.submit`` is the entry point of every channel; ``broker`` picks Redis or the in-process
broker; ``actors`` holds the job; ``sweeper`` re-enqueues work that was committed but never
finished; ``embedded`` runs the jobs on threads inside ``einvoice serve``.
"""

# Sweeper defaults, here so the CLI can show them without importing the database layer.
DEFAULT_SWEEP_INTERVAL = 30.0  # seconds between sweeps
DEFAULT_STALE_AFTER = 120.0  # seconds an entry may stay pending before it is re-enqueued
