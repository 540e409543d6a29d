"""Automatic intake connectors (e-mail, Peppol): shared bookkeeping of what each one has handled."""
