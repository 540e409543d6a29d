"""Supplier portal pages: registration, upload with an immediate answer, my invoices."""
