"""Workflow definitions: readable YAML in ``workflows/``, validated on load with errors that name the
file and the field.

A definition is a list of stages. Approval stages give tasks to roles within the invoice's unit and
may require account coding, skip small amounts, demand a second approver above a limit, cap each
approver's amount and keep their approvers apart from those of earlier stages (four-eyes). The last
stage is ``kind: export``: reaching it approves the invoice and hands it to bookkeeping.

Which definition applies: the unit's own choice (``einvoice units add … --workflow NAME``), else the
definition with the highest ``applies_when.priority`` whose conditions (unit names, buyer-reference
pattern, amount range) all hold.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

STAFF_ROLES = ("clerk", "approver", "admin")
CODING_FIELDS = ("account", "cost_center", "budget_line", "tax_key")
_ID = r"^[a-z][a-z0-9_]{0,63}$"


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """An approver's amount limit: for a named user, or for everyone with a role. ``null`` = unlimited."""

    user: str | None = None
    role: str | None = None
    max_amount: Decimal | None

    @model_validator(mode="after")
    def _one_subject(self) -> Limit:
        if (self.user is None) == (self.role is None):
            raise ValueError("a limit names exactly one of 'user' or 'role'")
        if self.role is not None and self.role not in STAFF_ROLES:
            raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}, not {self.role!r}")
        if self.max_amount is not None and self.max_amount < 0:
            raise ValueError("max_amount must not be negative")
        return self


class Stage(_Strict):
    id: str = Field(pattern=_ID)
    title: str
    kind: Literal["approval", "export"] = "approval"
    roles: list[str] = Field(default_factory=list)
    requires_coding: bool = False
    skip_below: Decimal | None = None  # small-amount limit: invoices below it skip this stage
    second_approver_above: Decimal | None = None  # above it, two different people must approve
    separate_from: list[str] = Field(default_factory=list)  # four-eyes: their approvers may not act here
    limits: list[Limit] = Field(default_factory=list)  # empty: no amount limit in this stage

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = [r for r in roles if r not in STAFF_ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(STAFF_ROLES)}")
        return roles

    @model_validator(mode="after")
    def _consistent(self) -> Stage:
        if self.kind == "approval" and not self.roles:
            raise ValueError(f"approval stage {self.id!r} needs at least one role")
        if self.kind == "export" and (self.roles or self.requires_coding or self.limits or self.skip_below
                                      or self.second_approver_above or self.separate_from):
            raise ValueError(f"export stage {self.id!r} takes no roles, coding, limits or thresholds")
        if (self.skip_below is not None and self.second_approver_above is not None
                and self.second_approver_above < self.skip_below):
            raise ValueError("second_approver_above must not be below skip_below")
        return self

    def skipped_for(self, amount: Decimal) -> bool:
        return self.skip_below is not None and amount < self.skip_below

    def approvals_needed(self, amount: Decimal) -> int:
        return 2 if self.second_approver_above is not None and amount > self.second_approver_above else 1

    def limit_for(self, user_name: str, role: str) -> tuple[bool, Decimal | None]:
        """(has a limit entry, its maximum); a stage without limits admits any amount."""
        if not self.limits:
            return True, None
        for limit in self.limits:
            if limit.user == user_name:
                return True, limit.max_amount
        for limit in self.limits:
            if limit.role == role:
                return True, limit.max_amount
        return False, None


class Match(_Strict):
    """When this definition applies (all given conditions must hold)."""

    priority: int = 0
    units: list[str] = Field(default_factory=list)  # unit names
    buyer_reference: str | None = None  # regular expression over BT-10 (full match)
    min_amount: Decimal | None = None  # inclusive
    max_amount: Decimal | None = None  # exclusive

    @field_validator("buyer_reference")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return pattern

    def holds(self, *, unit: str | None, buyer_reference: str | None, amount: Decimal) -> bool:
        if self.units and unit not in self.units:
            return False
        if self.buyer_reference is not None and not re.fullmatch(self.buyer_reference, buyer_reference or ""):
            return False
        if self.min_amount is not None and amount < self.min_amount:
            return False
        return not (self.max_amount is not None and amount >= self.max_amount)


CodingField = Literal["account", "cost_center", "budget_line", "tax_key"]


class Coding(_Strict):
    required_fields: list[CodingField] = Field(default_factory=lambda: list[CodingField](["account"]))


class Reminders(_Strict):
    skonto_days_before: int = Field(3, ge=0, le=60)


class Definition(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,99}$")
    version: int = Field(ge=1)
    title: str
    description: str = ""
    applies_when: Match = Field(default_factory=Match)
    coding: Coding = Field(default_factory=Coding)
    reminders: Reminders = Field(default_factory=Reminders)
    stages: list[Stage]

    @model_validator(mode="after")
    def _stages_form_a_process(self) -> Definition:
        ids = [s.id for s in self.stages]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"stage ids must be unique: {', '.join(duplicates)}")
        if not self.stages or self.stages[-1].kind != "export":
            raise ValueError("the last stage must be the export stage (kind: export)")
        if any(s.kind == "export" for s in self.stages[:-1]):
            raise ValueError("only the last stage may be an export stage")
        if len(self.stages) < 2:
            raise ValueError("a workflow needs at least one approval stage before the export")
        for index, stage in enumerate(self.stages):
            earlier = set(ids[:index])
            wrong = [s for s in stage.separate_from if s not in earlier]
            if wrong:
                raise ValueError(f"stage {stage.id!r}: separate_from names no earlier stage: {', '.join(wrong)}")
        return self

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(stage_id)

    def index_of(self, stage_id: str) -> int:
        return [s.id for s in self.stages].index(stage_id)

    @property
    def coding_stage_index(self) -> int | None:
        """The first stage that certifies the coding: changing the coding restarts from here."""
        for index, stage in enumerate(self.stages):
            if stage.requires_coding:
                return index
        return None

    def body(self) -> dict[str, Any]:
        """JSON-safe content (what a snapshot stores)."""
        return self.model_dump(mode="json")

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body(), sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()


# ------------------------------------------------------------------ loading


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse(text: str, source: str = "<definition>") -> Definition:
    """A definition from YAML text; ``DefinitionError`` lists every problem with its field path."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{source}: not valid YAML: {exc}") from None
    return from_dict(raw, source)


def from_dict(raw: Any, source: str = "<definition>") -> Definition:
    if not isinstance(raw, dict):
        raise DefinitionError(f"{source}: a workflow definition is a mapping with name, version, title and stages")
    try:
        return Definition.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DefinitionError(f"{source}: {problems}") from None


def load_file(path: Path) -> Definition:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot be read: {exc}") from None
    return parse(text, str(path))


@dataclass(frozen=True)
class Registry:
    """The definitions of one folder, by name."""

    definitions: dict[str, Definition]

    def get(self, name: str) -> Definition:
        try:
            return self.definitions[name]
        except KeyError:
            known = ", ".join(sorted(self.definitions)) or "none"
            raise DefinitionError(f"no workflow definition named {name!r} (known: {known})") from None

    def select(self, *, unit: str | None, unit_workflow: str | None, buyer_reference: str | None,
               amount: Decimal) -> Definition | None:
        """The unit's own definition, else the highest-priority one whose conditions hold."""
        if unit_workflow:
            return self.get(unit_workflow)
        candidates = sorted(self.definitions.values(), key=lambda d: (-d.applies_when.priority, d.name))
        for definition in candidates:
            if definition.applies_when.holds(unit=unit, buyer_reference=buyer_reference, amount=amount):
                return definition
        return None


def load_dir(directory: Path) -> Registry:
    """Every ``*.yaml``/``*.yml`` in ``directory``; one broken file makes the whole folder unusable."""
    if not directory.is_dir():
        raise DefinitionError(f"workflow definitions folder {directory} does not exist")
    definitions: dict[str, Definition] = {}
    sources: dict[str, Path] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        definition = load_file(path)
        if definition.name in definitions:
            raise DefinitionError(f"{path}: the name {definition.name!r} is already used by {sources[definition.name]}")
        definitions[definition.name] = definition
        sources[definition.name] = path
    if not definitions:
        raise DefinitionError(f"no workflow definitions (*.yaml) in {directory}")
    return Registry(definitions)


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[tuple[str, int, int], ...], Registry]] = {}


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]) if directory.is_dir() else []
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def registry(directory: Path | None = None) -> Registry:
    """The definitions of ``directory`` (default: ``EINVOICE_WORKFLOWS_DIR``), re-read when a file changes.

    New invoices pick up an edited definition at once; invoices in flight keep their snapshot.
    """
    if directory is None:
        from einvoice.config import get_settings

        directory = get_settings().workflows_dir
    directory = directory.resolve()
    fingerprint = _fingerprint(directory)
    with _cache_lock:
        cached = _cache.get(directory)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    loaded = load_dir(directory)
    with _cache_lock:
        _cache[directory] = (fingerprint, loaded)
    return loaded
