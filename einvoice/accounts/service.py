"""Accounts: create users, units and API tokens; turn a presented token into a user and what it may see.

Tokens are 32 random bytes shown once; only their SHA-256 digest is stored, so a leaked database does
not leak usable tokens, and lookup by digest needs no secret comparison in Python (a timing attack
would have to guess a digest preimage). Passwords (for people who will log in to the portal) are
hashed with argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from einvoice.accounts.models import ApiToken, Role, Unit, User
from einvoice.db import UnitOfWork
from einvoice.ledger.models import utcnow
from einvoice.ledger.service import Visibility

TOKEN_BYTES = 32
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about accounts that cannot be fulfilled (unknown name, duplicate, bad value)."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: ``token`` is the only copy of the secret and is never stored."""

    id: str
    user_id: str
    label: str
    token: str


# --------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    if not password:
        raise AccountError("the password must not be empty")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True only for a matching argon2 hash; missing or malformed hashes never match."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def authenticate_password(uow: UnitOfWork, name: str, password: str) -> User | None:
    """The active user with this name and password. An unknown name costs the same hashing time as a
    known one, so the answer's timing does not tell which names exist."""
    user = uow.session.scalar(select(User).where(User.name == name))
    if user is None or not user.password_hash:
        verify_password(_decoy_hash(), password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


# --------------------------------------------------------------------------- units


def check_leitweg_id(leitweg_id: str) -> str:
    """The Leitweg-ID in canonical form, or ``AccountError`` when its check digits are wrong."""
    from einvoice.invoice.leitweg import is_valid_leitweg_id

    value = leitweg_id.strip()
    if not is_valid_leitweg_id(value):
        raise AccountError(f"{leitweg_id!r} is not a valid Leitweg-ID (format or check digits wrong)")
    return value


def create_unit(uow: UnitOfWork, name: str, leitweg_id: str | None = None) -> Unit:
    name = name.strip()
    if not name:
        raise AccountError("a unit needs a name")
    if uow.session.scalar(select(Unit).where(Unit.name == name)) is not None:
        raise AccountError(f"unit {name!r} exists already")
    checked = check_leitweg_id(leitweg_id) if leitweg_id else None
    if checked and uow.session.scalar(select(Unit).where(Unit.leitweg_id == checked)) is not None:
        raise AccountError(f"Leitweg-ID {checked} already belongs to another unit")
    unit = Unit(name=name, leitweg_id=checked)
    uow.session.add(unit)
    uow.session.flush()
    return unit


def unit_by_name(uow: UnitOfWork, name: str) -> Unit:
    unit = uow.session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        raise AccountError(f"no unit named {name!r}")
    return unit


def list_units(uow: UnitOfWork) -> list[Unit]:
    return list(uow.session.scalars(select(Unit).order_by(Unit.name)))


# --------------------------------------------------------------------------- users


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}") from None


def create_user(uow: UnitOfWork, name: str, role: str, *, unit: str | None = None,
                email: str | None = None, password: str | None = None) -> User:
    """A new user; staff roles (clerk, approver) must belong to a unit, or they would see nothing."""
    name = name.strip()
    if not name:
        raise AccountError("a user needs a name")
    parsed = parse_role(role)
    if uow.session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"user {name!r} exists already")
    unit_row = unit_by_name(uow, unit) if unit else None
    if parsed in (Role.CLERK, Role.APPROVER) and unit_row is None:
        raise AccountError(f"a {parsed.value} must belong to a unit (--unit)")
    user = User(
        name=name,
        role=parsed.value,
        unit_id=unit_row.id if unit_row else None,
        email=email or None,
        password_hash=hash_password(password) if password is not None else None,
    )
    uow.session.add(user)
    uow.session.flush()
    return user


def user_by_name(uow: UnitOfWork, name: str) -> User:
    user = uow.session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user named {name!r}")
    return user


def list_users(uow: UnitOfWork) -> list[User]:
    return list(uow.session.scalars(select(User).order_by(User.name)))


def visibility_for(user: User) -> Visibility:
    """Suppliers and connectors see what they sent; staff see their unit; admins see everything."""
    role = parse_role(user.role)
    if role is Role.ADMIN:
        return Visibility(everything=True)
    if role in (Role.SUPPLIER, Role.CONNECTOR):
        return Visibility(sender=user.id)
    return Visibility(unit_ids=frozenset({user.unit_id}) if user.unit_id else frozenset())


# --------------------------------------------------------------------------- tokens


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(uow: UnitOfWork, user_name: str, label: str = "") -> IssuedToken:
    user = user_by_name(uow, user_name)
    if not user.active:
        raise AccountError(f"user {user_name!r} is deactivated")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(user_id=user.id, digest=token_digest(token), label=label)
    uow.session.add(row)
    uow.session.flush()
    return IssuedToken(id=row.id, user_id=user.id, label=label, token=token)


def revoke_token(uow: UnitOfWork, token_id: str) -> ApiToken:
    """Revoke by token id (as listed) or by the token itself; revoking twice is harmless."""
    row = uow.session.get(ApiToken, token_id)
    if row is None:
        row = uow.session.scalar(select(ApiToken).where(ApiToken.digest == token_digest(token_id)))
    if row is None:
        raise AccountError("no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    uow.session.flush()
    return row


def list_tokens(uow: UnitOfWork, user_name: str | None = None) -> list[tuple[ApiToken, str]]:
    query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.created_at)
    if user_name:
        query = query.where(User.name == user_name)
    return [(row[0], row[1]) for row in uow.session.execute(query)]


def authenticate_token(uow: UnitOfWork, token: str) -> User | None:
    """The active user owning this unrevoked token, else None."""
    if not token or len(token) > 512:
        return None
    digest = token_digest(token)
    row = uow.session.scalar(select(ApiToken).where(ApiToken.digest == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.digest, digest):
        return None
    user = uow.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user
