"""Exporter configuration per unit: the typed settings, their checks, and configure/list functions.

Settings are stored as JSON on :class:`~einvoice.export.models.ExportConfig`; this module is the
only place that reads or writes that JSON, so a misconfigured exporter is refused when it is
configured, not when the first invoice is due.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from einvoice.db import UnitOfWork
from einvoice.export.models import ExportConfig

EXPORTERS = ("datev", "csv", "json", "webhook")
FILE_EXPORTERS = ("datev", "csv", "json")
# DATEV tax keys (BU-Schlüssel) for input tax in SKR03/SKR04: 9 = 19 % Vorsteuer, 8 = 7 % Vorsteuer.
DEFAULT_TAX_KEYS = {"19": "9", "7": "8"}
_DIGITS = re.compile(r"\d{1,9}")
_MMDD = re.compile(r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")


class ExportConfigError(ValueError):
    """A configuration that cannot work (missing account, bad URL, unknown exporter...)."""


@dataclass(frozen=True)
class ExporterSettings:
    """Everything an exporter may need; each exporter checks the fields it uses."""

    out_dir: str | None = None  # file exporters: where batches go (``export run --out`` overrides)
    auto: bool = False  # file exporters: the background drainer writes batches on its own
    url: str | None = None  # webhook
    secret: str | None = None  # webhook HMAC-SHA256 key
    max_attempts: int = 8  # webhook: attempts before the delivery is marked failed
    consultant: int | None = None  # DATEV Beraternummer (1001-9999999)
    client: int | None = None  # DATEV Mandantennummer (1-99999)
    creditor_account: str | None = None  # Gegenkonto: the supplier's (Kreditor) or a collective account
    default_account: str | None = None  # expense account when an invoice has no coding
    account_length: int = 4  # DATEV Sachkontenlänge (4-9)
    fiscal_year_start: str = "0101"  # MMDD
    chart: str = ""  # DATEV SKR, e.g. "03" or "04" (optional)
    tax_keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TAX_KEYS))  # rate or category → BU
    skonto_field: bool = False  # DATEV: also put the Skonto amount in column 13 (DATEV: payments only)
    base_url: str | None = None  # makes the link to the original absolute

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ExporterSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def merged(self, **changes: Any) -> ExporterSettings:
        """These settings with every change that is not None applied."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def public(self) -> dict[str, Any]:
        """For listings: the secret is never shown."""
        data = self.to_dict()
        if data.get("secret"):
            data["secret"] = "***"
        return data


def check_settings(exporter: str, settings: ExporterSettings) -> None:
    """Refuse settings the exporter cannot work with, naming what is wrong."""
    if exporter not in EXPORTERS:
        raise ExportConfigError(f"unknown exporter {exporter!r}; choose one of {', '.join(EXPORTERS)}")
    problems: list[str] = []
    for name in ("creditor_account", "default_account"):
        value = getattr(settings, name)
        if value is not None and not _DIGITS.fullmatch(value):
            problems.append(f"{name.replace('_', '-')} must be an account number of 1-9 digits, not {value!r}")
    if not _MMDD.fullmatch(settings.fiscal_year_start):
        problems.append(f"fiscal-year-start must be MMDD (e.g. 0101), not {settings.fiscal_year_start!r}")
    if exporter == "datev":
        problems.extend(_datev_problems(settings))
    if exporter == "webhook":
        problems.extend(_webhook_problems(settings))
    if settings.max_attempts < 1:
        problems.append("max-attempts must be at least 1")
    if problems:
        raise ExportConfigError(f"{exporter} exporter: " + "; ".join(problems))


def _datev_problems(settings: ExporterSettings) -> list[str]:
    problems = []
    if settings.consultant is None or not 1001 <= settings.consultant <= 9_999_999:
        problems.append("--consultant (Beraternummer, 1001-9999999) is required")
    if settings.client is None or not 1 <= settings.client <= 99_999:
        problems.append("--client (Mandantennummer, 1-99999) is required")
    if not 4 <= settings.account_length <= 9:
        problems.append("--account-length (Sachkontenlänge) must be 4-9")
    if settings.creditor_account is None:
        problems.append("--creditor-account (Gegenkonto) is required")
    elif len(settings.creditor_account) > settings.account_length + 1:
        problems.append(f"--creditor-account {settings.creditor_account} is longer than a personal account "
                        f"({settings.account_length + 1} digits)")
    if settings.default_account is None:
        problems.append("--default-account (expense account for invoices without coding) is required")
    elif len(settings.default_account) > settings.account_length:
        problems.append(f"--default-account {settings.default_account} has more than {settings.account_length} digits")
    if settings.chart and not re.fullmatch(r"\d{2}", settings.chart):
        problems.append(f"--chart must be two digits (e.g. 03 or 04), not {settings.chart!r}")
    for key, value in settings.tax_keys.items():
        if not re.fullmatch(r"\d{1,4}", str(value)):
            problems.append(f"tax key for {key!r} must be 1-4 digits, not {value!r}")
    return problems


def _webhook_problems(settings: ExporterSettings) -> list[str]:
    problems = []
    parts = urlsplit(settings.url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append("--url must be an http(s) URL")
    if not settings.secret or len(settings.secret) < 16:
        problems.append("--secret (HMAC key) of at least 16 characters is required")
    return problems


# --------------------------------------------------------------------------- service


def configure(uow: UnitOfWork, *, unit: str, exporter: str, active: bool | None = None,
              **changes: Any) -> ExportConfig:
    """Create or update the unit's configuration of ``exporter``; options not given stay as they were."""
    from einvoice.accounts.service import unit_by_name

    exporter = exporter.strip().lower()
    if exporter not in EXPORTERS:
        raise ExportConfigError(f"unknown exporter {exporter!r}; choose one of {', '.join(EXPORTERS)}")
    unit_row = unit_by_name(uow, unit)
    row = uow.session.scalar(select(ExportConfig).where(ExportConfig.unit_id == unit_row.id,
                                                        ExportConfig.exporter == exporter))
    current = ExporterSettings.from_dict(row.settings if row else None)
    updated = current.merged(**changes)
    check_settings(exporter, updated)
    if row is None:
        row = ExportConfig(unit_id=unit_row.id, exporter=exporter, settings=updated.to_dict(),
                           active=True if active is None else active)
        uow.session.add(row)
    else:
        row.settings = updated.to_dict()
        if active is not None:
            row.active = active
    uow.session.flush()
    return row


def settings_of(config: ExportConfig) -> ExporterSettings:
    return ExporterSettings.from_dict(config.settings)


def configs_for_unit(session: Session, unit_id: str) -> list[ExportConfig]:
    """The unit's active exporter configurations, in a stable order."""
    return list(session.scalars(select(ExportConfig).where(ExportConfig.unit_id == unit_id,
                                                           ExportConfig.active.is_(True))
                                .order_by(ExportConfig.exporter, ExportConfig.id)))


def list_configs(uow: UnitOfWork) -> list[ExportConfig]:
    return list(uow.session.scalars(select(ExportConfig).order_by(ExportConfig.unit_id, ExportConfig.exporter)))
