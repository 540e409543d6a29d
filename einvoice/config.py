"""One settings object for the whole service, read from ``EINVOICE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    """Runtime configuration; every field maps to ``EINVOICE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="EINVOICE_", extra="ignore")

    env: str = Field("development", description="development | test | production")
    secret_key: str = DEFAULT_SECRET
    data_dir: Path = Path(user_data_dir("einvoice"))
    rules_dir: Path = Path(user_cache_dir("einvoice")) / "rules"
    rules_config_dir: Path = PROJECT_ROOT / "xrechnung_rules"
    # Database: a SQLite file in data_dir unless a URL (PostgreSQL) is given.
    database_url: str | None = None
    # Redis broker for Dramatiq; without it the actors run in-process (embedded mode).
    redis_url: str | None = None
    # Content-addressed store of original bytes; a folder in data_dir by default.
    blob_dir: Path | None = None
    # Background jobs: retries with exponential back-off, then the document ends "failed".
    job_max_retries: int = 5
    job_min_backoff_ms: int = 1000
    job_max_backoff_ms: int = 300_000
    job_time_limit_ms: int = 300_000
    # The sweeper re-enqueues work committed but not finished (crash, broker outage).
    sweep_interval: float = 30.0
    sweep_stale_after: float = 120.0
    # POST /api/v1/validate without a token, like the KoSIT validator daemon (trusted networks only).
    validate_public: bool = False
    # Hard limits that keep hostile input from exhausting memory or time.
    max_document_bytes: int = 50 * 1024 * 1024
    max_xml_depth: int = 256
    # Approval workflow (issue 4): the folder of definitions (YAML) and how often deadlines are checked
    # (Skonto reminders, escalation of overdue tasks) by the scheduled job, in seconds.
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    workflow_deadline_interval: float = 300.0
    # Export outbox: how often due webhooks and automatic file batches are delivered, in seconds.
    export_interval: float = 10.0
    # E-mail (rejection notices to suppliers, reminders, escalations): smtp://host:port,
    # smtp+starttls://user:password@host:587 or smtps://user:password@host:465; unset = no e-mail.
    smtp_url: str | None = None
    smtp_from: str = "einvoice@localhost"
    # Peppol connector (issue 6): the access point's spool folder (inbox/, done/, failed/), how often
    # it is scanned, and where Invoice Responses go: a folder (default <spool>/outbound) or a URL.
    peppol_spool_dir: Path | None = None
    peppol_interval: float = 30.0
    peppol_outbound_dir: Path | None = None
    peppol_outbound_url: str | None = None
    peppol_outbound_token: str | None = None
    peppol_outbound_max_attempts: int = 10
    peppol_country_c1: str = "DE"
    # E-mail intake (einvoice.mail): one mailbox as imaps://user:pass@host:993/INBOX (or imap://…?starttls=1),
    # or several as a JSON list (EINVOICE_MAIL_MAILBOXES); defaults below apply to every mailbox.
    mail_imap_url: str | None = None
    mail_mailboxes: str | None = None
    mail_poll_interval: float = 60.0
    mail_ca_file: Path | None = None  # trust this CA (PEM) in addition to the system's
    mail_processed_folder: str | None = None  # move handled messages there; unset = keyword flag only
    mail_max_message_bytes: int = 25 * 1024 * 1024
    mail_max_attachments: int = 20
    mail_zip_max_members: int = 50
    mail_zip_max_bytes: int = 100 * 1024 * 1024  # uncompressed, all members of one ZIP together
    mail_lang: str = "de"  # replies: de | en

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env not in ("development", "test") and self.secret_key == DEFAULT_SECRET:
            raise ValueError("EINVOICE_SECRET_KEY must be set outside development")
        return self


    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'einvoice.db'}"

    @property
    def effective_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process; tests clear the cache after changing the environment."""
    return Settings()
