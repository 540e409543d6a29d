"""Webhook delivery: one signed HTTP POST of the JSON record per invoice.

The body is signed with HMAC-SHA256 under the unit's shared secret
(``X-Einvoice-Signature: sha256=<hex>``), so the receiver can tell it came from us and was not
altered; ``X-Einvoice-Idempotency-Key`` is the same on every retry of the same delivery, so a
receiver that saw a request but whose acknowledgement got lost can recognise the repeat. Only a
2xx answer counts as acknowledged; redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import httpx

from einvoice import __version__

SIGNATURE_HEADER = "X-Einvoice-Signature"
IDEMPOTENCY_HEADER = "X-Einvoice-Idempotency-Key"
ATTEMPT_HEADER = "X-Einvoice-Delivery-Attempt"
EVENT = "invoice.approved"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def body_of(record: dict[str, Any]) -> str:
    """The exact JSON text that is sent and signed (stored, so every retry sends the same bytes)."""
    return json.dumps({"event": EVENT, **record}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str | None) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return bool(signature) and hmac.compare_digest(sign(body, secret), signature or "")


@dataclass(frozen=True)
class Delivery:
    acknowledged: bool
    status_code: int | None
    error: str | None


def post(url: str, body: str, *, secret: str, idempotency_key: str, attempt: int,
         client: httpx.Client | None = None) -> Delivery:
    """POST ``body`` once; never raises for network or HTTP errors (they are a failed attempt)."""
    data = body.encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"einvoice/{__version__}",
        SIGNATURE_HEADER: sign(data, secret),
        IDEMPOTENCY_HEADER: idempotency_key,
        ATTEMPT_HEADER: str(attempt),
    }
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        response = http.post(url, content=data, headers=headers)
    except httpx.HTTPError as exc:
        return Delivery(False, None, f"{type(exc).__name__}: {exc}")
    finally:
        if own:
            http.close()
    if 200 <= response.status_code < 300:
        return Delivery(True, response.status_code, None)
    return Delivery(False, response.status_code, f"HTTP {response.status_code}: {response.text[:500]}")
