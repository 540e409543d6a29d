"""Peppol participant identifiers (scheme ``iso6523-actorid-upis``): ``<ICD>:<value>``.

German public receivers are ``0204:<Leitweg-ID>``; German VAT ids are ``9930:DE123456789``.
Peppol treats the scheme and the value case-insensitively; we keep the value as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from einvoice.invoice.leitweg import is_valid_leitweg_id

SCHEME = "iso6523-actorid-upis"
LEITWEG_ICD = "0204"
DE_VAT_ICD = "9930"
_ICD = re.compile(r"[0-9]{4}")
# Peppol Policy for identifiers: at most 50 characters, no whitespace or control characters.
_VALUE = re.compile(r"[^\s\x00-\x1f:]{1,50}")
_DE_VAT = re.compile(r"DE[0-9]{9}", re.IGNORECASE)


class ParticipantIdError(ValueError):
    """The identifier does not follow the scheme; the message says what is wrong."""


@dataclass(frozen=True)
class ParticipantId:
    icd: str
    value: str

    def __str__(self) -> str:
        return f"{self.icd}:{self.value}"

    @property
    def leitweg_id(self) -> str | None:
        """The Leitweg-ID a 0204 receiver addresses (routing to the unit), else None."""
        return self.value if self.icd == LEITWEG_ICD else None


def parse_participant(text: str, *, authority: str | None = SCHEME) -> ParticipantId:
    """Parse and check ``0204:991-12345-67``; a ``iso6523-actorid-upis::`` prefix is accepted."""
    if authority is not None and authority.strip().lower() != SCHEME:
        raise ParticipantIdError(f"participant identifier authority {authority!r} is not supported; "
                                 f"Peppol uses {SCHEME!r}")
    raw = (text or "").strip()
    if raw.lower().startswith(SCHEME + "::"):
        raw = raw[len(SCHEME) + 2:]
    icd, sep, value = raw.partition(":")
    if not sep or not _ICD.fullmatch(icd):
        raise ParticipantIdError(f"participant identifier {raw!r} must be '<4-digit ISO 6523 ICD>:<value>', "
                                 "e.g. 0204:991-12345-67 or 9930:DE123456789")
    if not _VALUE.fullmatch(value):
        raise ParticipantIdError(f"participant identifier {raw!r}: the value must be 1-50 characters "
                                 "without spaces, control characters or ':'")
    if icd == LEITWEG_ICD and not is_valid_leitweg_id(value):
        raise ParticipantIdError(f"participant identifier {raw!r}: {value!r} is not a valid Leitweg-ID "
                                 "(format or check digits wrong)")
    if icd == DE_VAT_ICD and not _DE_VAT.fullmatch(value):
        raise ParticipantIdError(f"participant identifier {raw!r}: scheme 9930 needs a German VAT id "
                                 "'DE' + 9 digits")
    return ParticipantId(icd, value)
