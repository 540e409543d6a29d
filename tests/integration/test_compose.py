"""``docker-compose.yml`` describes a stack that can run: no Docker engine here, so check it against the code.

Every ``EINVOICE_*`` variable must be a field of ``Settings`` (and the values must pass its
validation), every command of our image must be a real ``einvoice`` command with real options,
and the URLs must point at the services of the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from einvoice.config import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SETTINGS_ENV = {f"EINVOICE_{name.upper()}": name for name in Settings.model_fields}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run our image."""
    return {name: svc for name, svc in compose["services"].items()
            if "build" in svc or str(svc.get("image", "")).startswith("einvoice")}


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR:?message}``: defaults used, required ones filled in."""
    def replace(match: re.Match[str]) -> str:
        return match["arg"] if match["op"] == "-" else "x" * 40
    return INTERPOLATION.sub(replace, value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def resolve_command(argv: list[str]) -> Any:
    """Parse ``argv`` (without ``einvoice``) with the real CLI: unknown commands, options or bad
    values raise AssertionError. (Typer may bundle its own click, hence the duck typing.)"""
    from einvoice.cli import app

    command: Any = typer.main.get_command(app)
    args = list(argv)
    path = ["einvoice"]
    while hasattr(command, "list_commands"):  # a group
        assert args and not args[0].startswith("-"), f"{' '.join(path)} needs a subcommand"
        name = args.pop(0)
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"`{' '.join(path)} {name}` is not a command of the einvoice CLI"
        command, path = sub, [*path, name]
    try:
        command.make_context(" ".join(path), list(args))  # parses and converts every option, runs nothing
    except Exception as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else repr(exc)
        raise AssertionError(f"`{' '.join([*path, *args])}`: {message}") from exc
    return command


def test_every_service_of_the_stack_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "api", "worker", "migrate"} <= set(services)
    assert str(services["postgres"]["image"]).startswith("postgres:")
    assert str(services["redis"]["image"]).startswith("redis:")
    assert int(services["api"]["deploy"]["replicas"]) >= 2
    assert set(ours(compose)) >= {"api", "worker", "migrate"}


def test_our_services_are_configured_only_through_settings(compose: dict[str, Any]) -> None:
    for name, service in ours(compose).items():
        env = environment(service)
        unknown = sorted(set(env) - set(SETTINGS_ENV))
        assert not unknown, f"{name}: {unknown} are not fields of Settings"
        # The values must pass the settings' own validation (types, production secret rule).
        Settings(**{SETTINGS_ENV[key]: value for key, value in env.items()})
        assert env.get("EINVOICE_ENV") == "production", name
        for required in ("EINVOICE_DATABASE_URL", "EINVOICE_REDIS_URL", "EINVOICE_SECRET_KEY"):
            assert required in env, f"{name} lacks {required}"
        assert "${EINVOICE_SECRET_KEY" in str(service["environment"]["EINVOICE_SECRET_KEY"]), \
            f"{name}: the secret must come from the operator's environment, not the file"


def test_urls_point_at_the_services_of_the_file(compose: dict[str, Any]) -> None:
    postgres_env = environment(compose["services"]["postgres"])
    for name, service in ours(compose).items():
        env = environment(service)
        database = make_url(env["EINVOICE_DATABASE_URL"])
        assert database.get_backend_name() == "postgresql" and database.get_driver_name() == "psycopg"
        assert database.host == "postgres", name
        assert (database.username, database.password, database.database) == (
            postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_PASSWORD"], postgres_env["POSTGRES_DB"])
        assert env["EINVOICE_REDIS_URL"].startswith("redis://redis:"), name


def test_every_command_is_a_real_cli_command(compose: dict[str, Any]) -> None:
    seen = {}
    for name, service in ours(compose).items():
        command = service.get("command")
        assert isinstance(command, list) and command[0] == "einvoice", f"{name}: exec form `einvoice ...`"
        seen[name] = resolve_command(command[1:]).name
    assert seen["api"] == "serve" and seen["worker"] == "worker" and seen["migrate"] == "upgrade"
    assert "install" in seen.values(), "the rule packs are installed by a one-shot service"


def test_api_listens_on_all_interfaces_in_the_container(compose: dict[str, Any]) -> None:
    command = compose["services"]["api"]["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_workers_start_after_migration_and_share_the_blob_store(compose: dict[str, Any]) -> None:
    services = ours(compose)
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    blob_dir = Path(environment(services["api"])["EINVOICE_BLOB_DIR"])

    def volume_for(service: dict[str, Any]) -> str:
        for spec in service.get("volumes", []):
            source, target = str(spec).split(":")[:2]
            if blob_dir == Path(target) or Path(target) in blob_dir.parents:
                return source
        raise AssertionError("no volume holds the blob store")

    assert volume_for(services["api"]) == volume_for(services["worker"]) in compose["volumes"]


def test_dockerfile_default_command_is_a_real_cli_command() -> None:
    lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    assert len(lines) == 1
    command = json.loads(lines[0].removeprefix("CMD "))
    assert command[0] == "einvoice" and resolve_command(command[1:]).name == "serve"


def test_a_wrong_option_would_be_caught() -> None:
    """The checker itself must be able to fail."""
    with pytest.raises(AssertionError, match="no-such-option"):
        resolve_command(["validate", "--no-such-option", "x.xml"])
    with pytest.raises(AssertionError, match="not a command"):
        resolve_command(["no-such-command"])
    with pytest.raises(AssertionError, match="needs a subcommand"):
        resolve_command(["rules"])
