"""Staff pages: workqueue, invoice page with decisions, ledger search, duplicates, clearing."""
