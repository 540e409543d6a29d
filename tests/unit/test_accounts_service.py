"""Accounts: argon2 passwords, tokens stored as digests only, revocation, visibility per role, CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from einvoice import db
from einvoice.accounts import service
from einvoice.accounts.cli import tokens_app, units_app, users_app
from einvoice.accounts.models import ApiToken, User
from einvoice.config import get_settings
from einvoice.invoice.leitweg import make_leitweg_id

LEITWEG = make_leitweg_id("04011000-1234512345")


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite ledger in tmp_path for each test."""
    monkeypatch.setenv("EINVOICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EINVOICE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    db.reset()
    db.create_schema()
    yield tmp_path / "data" / "einvoice.db"
    db.reset()
    get_settings.cache_clear()


def _commit(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with db.UnitOfWork() as uow:
        value = fn(uow, *args, **kwargs)
        uow.commit()
        return value


# --------------------------------------------------------------------------- passwords


def test_passwords_are_argon2id_hashes_and_verify() -> None:
    hashed = service.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert service.verify_password(hashed, "correct horse")
    assert not service.verify_password(hashed, "wrong horse")
    assert not service.verify_password(None, "correct horse")
    assert not service.verify_password("not-a-hash", "correct horse")
    assert service.hash_password("same") != service.hash_password("same")  # salted


def test_user_password_is_stored_hashed_and_authenticates(database: Path) -> None:
    _commit(service.create_user, "clara", "admin", password="s3cret!")
    with db.UnitOfWork() as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.name == "clara"))
        assert stored and stored.startswith("$argon2id$")
        assert service.authenticate_password(uow, "clara", "s3cret!") is not None
        assert service.authenticate_password(uow, "clara", "S3cret!") is None
        assert service.authenticate_password(uow, "nobody", "s3cret!") is None


# --------------------------------------------------------------------------- tokens


def test_token_is_shown_once_and_only_its_digest_is_stored(database: Path) -> None:
    _commit(service.create_user, "acme", "supplier")
    issued = _commit(service.create_token, "acme", "erp")
    assert len(issued.token) >= 43  # 32 random bytes, url-safe base64
    with db.UnitOfWork() as uow:
        row = uow.session.get(ApiToken, issued.id)
        assert row is not None
        assert row.digest == hashlib.sha256(issued.token.encode()).hexdigest()
        assert row.label == "erp"
        user = service.authenticate_token(uow, issued.token)
        assert user is not None and user.name == "acme"
    # the token itself appears nowhere in the database file
    raw = database.read_bytes() + (database.with_suffix(".db-wal").read_bytes()
                                   if database.with_suffix(".db-wal").exists() else b"")
    assert issued.token.encode() not in raw


def test_tokens_are_random_and_distinct(database: Path) -> None:
    _commit(service.create_user, "acme", "supplier")
    tokens = {_commit(service.create_token, "acme").token for _ in range(5)}
    assert len(tokens) == 5


def test_unknown_revoked_and_deactivated_tokens_do_not_authenticate(database: Path) -> None:
    _commit(service.create_user, "acme", "supplier")
    first = _commit(service.create_token, "acme")
    second = _commit(service.create_token, "acme")
    with db.UnitOfWork() as uow:
        assert service.authenticate_token(uow, "x" * 43) is None
        assert service.authenticate_token(uow, "") is None
        assert service.authenticate_token(uow, first.token + "x") is None
    _commit(service.revoke_token, first.id)  # by id
    _commit(service.revoke_token, second.token)  # by the token itself
    with db.UnitOfWork() as uow:
        assert service.authenticate_token(uow, first.token) is None
        assert service.authenticate_token(uow, second.token) is None
    third = _commit(service.create_token, "acme")
    with db.UnitOfWork() as uow:
        uow.session.execute(text("UPDATE users SET active = 0 WHERE name = 'acme'"))
        uow.commit()
    with db.UnitOfWork() as uow:
        assert service.authenticate_token(uow, third.token) is None
    with pytest.raises(service.AccountError, match="no such token"):
        _commit(service.revoke_token, "does-not-exist")


def test_token_for_unknown_user_is_refused(database: Path) -> None:
    with pytest.raises(service.AccountError, match="no user named 'ghost'"):
        _commit(service.create_token, "ghost")


# --------------------------------------------------------------------------- users, units, visibility


def test_units_check_the_leitweg_id(database: Path) -> None:
    unit = _commit(service.create_unit, "Bauamt", LEITWEG)
    assert unit.leitweg_id == LEITWEG
    wrong = LEITWEG[:-2] + f"{(int(LEITWEG[-2:]) + 1) % 100:02d}"
    with pytest.raises(service.AccountError, match="not a valid Leitweg-ID"):
        _commit(service.create_unit, "Kämmerei", wrong)
    with pytest.raises(service.AccountError, match="exists already"):
        _commit(service.create_unit, "Bauamt")
    with pytest.raises(service.AccountError, match="already belongs"):
        _commit(service.create_unit, "Kämmerei", LEITWEG)


def test_users_need_known_roles_unique_names_and_staff_a_unit(database: Path) -> None:
    _commit(service.create_unit, "Bauamt", LEITWEG)
    _commit(service.create_user, "acme", "Supplier")
    with pytest.raises(service.AccountError, match="unknown role 'boss'"):
        _commit(service.create_user, "x", "boss")
    with pytest.raises(service.AccountError, match="exists already"):
        _commit(service.create_user, "acme", "supplier")
    with pytest.raises(service.AccountError, match="must belong to a unit"):
        _commit(service.create_user, "carl", "clerk")
    with pytest.raises(service.AccountError, match="no unit named 'Nowhere'"):
        _commit(service.create_user, "carl", "clerk", unit="Nowhere")
    clerk = _commit(service.create_user, "carl", "clerk", unit="Bauamt", email="carl@example.org")
    assert clerk.unit_id is not None and clerk.email == "carl@example.org"


def test_visibility_per_role(database: Path) -> None:
    unit = _commit(service.create_unit, "Bauamt", LEITWEG)
    supplier = _commit(service.create_user, "acme", "supplier")
    connector = _commit(service.create_user, "mailbox", "connector")
    clerk = _commit(service.create_user, "carl", "clerk", unit="Bauamt")
    approver = _commit(service.create_user, "anna", "approver", unit="Bauamt")
    admin = _commit(service.create_user, "root", "admin")

    assert service.visibility_for(supplier).sender == supplier.id
    assert not service.visibility_for(supplier).everything
    assert not service.visibility_for(supplier).unit_ids
    assert service.visibility_for(connector).sender == connector.id
    for staff in (clerk, approver):
        vis = service.visibility_for(staff)
        assert vis.unit_ids == frozenset({unit.id}) and vis.sender is None and not vis.everything
    assert service.visibility_for(admin).everything


# --------------------------------------------------------------------------- CLI


def test_cli_creates_units_users_and_prints_only_the_token(database: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(units_app, ["add", "Bauamt", "--leitweg-id", LEITWEG])
    assert result.exit_code == 0, result.output
    result = runner.invoke(units_app, ["add", "Bad", "--leitweg-id", "04011000-1234512345-00"])
    assert result.exit_code == 1 and "not a valid Leitweg-ID" in result.output
    result = runner.invoke(users_app, ["add", "carl", "--role", "clerk", "--unit", "Bauamt",
                                       "--password-stdin"], input="pa55word\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(users_app, ["add", "dora", "--role", "dictator"])
    assert result.exit_code == 1 and "unknown role" in result.output

    result = runner.invoke(tokens_app, ["create", "--user", "carl", "--label", "laptop"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token and len(token) >= 43
    with db.UnitOfWork() as uow:
        user = service.authenticate_token(uow, token)
        assert user is not None and user.name == "carl"
        assert service.authenticate_password(uow, "carl", "pa55word") is not None

    listing = runner.invoke(users_app, ["list"])
    assert "carl" in listing.output and "Bauamt" in listing.output
    assert "Bauamt" in runner.invoke(units_app, ["list"]).output
    tokens = runner.invoke(tokens_app, ["list", "--user", "carl"])
    assert "laptop" in tokens.output and token not in tokens.output

    result = runner.invoke(tokens_app, ["revoke", token])
    assert result.exit_code == 0, result.output
    with db.UnitOfWork() as uow:
        assert service.authenticate_token(uow, token) is None
