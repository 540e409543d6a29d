"""Intake: commit received documents to the ledger, then validate and extract them as Dramatiq jobs.

``service.submit`` is the entry point of every channel; ``broker`` picks Redis or the in-process
broker; ``actors`` holds the job; ``sweeper`` re-enqueues work that was committed but never
finished; ``embedded`` runs the jobs on threads inside ``einvoice serve``.
"""
