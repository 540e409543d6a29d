"""The HTTP API (FastAPI): ``create_app()`` builds it."""

from __future__ import annotations

from einvoice.web.app import create_app

__all__ = ["create_app"]
