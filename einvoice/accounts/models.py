"""Accounts: people and connectors that send or process invoices, their API tokens and units."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class Role(StrEnum):
    SUPPLIER = "supplier"
    CLERK = "clerk"
    APPROVER = "approver"
    ADMIN = "admin"
    CONNECTOR = "connector"  # mail/Peppol connectors hand documents over on behalf of senders


class Unit(Base):
    """An organisational unit (Dienststelle, cost centre) addressed by Leitweg-ID / buyer reference."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    leitweg_id: Mapped[str | None] = mapped_column(String(46), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """Bearer tokens are stored only as SHA-256 digests; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Failed password logins per user name (its SHA-256: also for names that do not exist), shared by
    every API replica so the throttle holds however many processes serve the login page."""

    __tablename__ = "login_failures"

    name_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # first failure of the window
