"""Export to bookkeeping: DATEV Buchungsstapel, CSV, JSON and signed webhooks, exactly once per invoice.

``outbox.enqueue_export`` is called by the workflow in the transaction that approves an invoice;
``outbox.run_file_exports`` / ``outbox.drain_webhooks`` deliver; ``service.mark_paid`` closes the loop.
"""
