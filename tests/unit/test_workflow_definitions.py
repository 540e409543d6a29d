"""Workflow definitions: the shipped YAML files, clear errors for broken ones, and which one applies."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from einvoice.samples import DEFAULT_LEITWEG_ID
from einvoice.workflow.definitions import DefinitionError, load_dir, load_file, parse, registry

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"

MINIMAL = """
name: mini
version: 1
title: Minimal
stages:
  - id: check
    title: Check
    roles: [clerk]
  - id: export
    title: Export
    kind: export
"""


def test_shipped_definitions_load_with_the_stages_the_issue_asks_for() -> None:
    defs = load_dir(WORKFLOWS).definitions
    public, company = defs["public-sector"], defs["company"]
    assert [s.id for s in public.stages] == ["factual", "arithmetic", "payment_order", "export"]
    assert public.stage("factual").requires_coding
    assert set(public.coding.required_fields) == {"account", "cost_center", "budget_line", "tax_key"}
    order = public.stage("payment_order")
    assert order.separate_from == ["factual"] and order.roles == ["approver"]
    assert order.limit_for("kaemmerer", "approver") == (True, None)
    assert order.limit_for("anna", "approver") == (True, Decimal("10000.00"))
    assert order.limit_for("carl", "clerk") == (False, None)
    release = company.stage("release")
    assert release.skipped_for(Decimal("249.99")) and not release.skipped_for(Decimal("250.00"))
    assert release.approvals_needed(Decimal("5000.00")) == 1
    assert release.approvals_needed(Decimal("5000.01")) == 2
    assert company.coding_stage_index == 0 and public.coding_stage_index == 0


def test_selection_by_unit_setting_then_rules() -> None:
    reg = load_dir(WORKFLOWS)
    leitweg = reg.select(unit="Bauamt", unit_workflow=None, buyer_reference=DEFAULT_LEITWEG_ID, amount=Decimal(100))
    other = reg.select(unit="Einkauf", unit_workflow=None, buyer_reference="PO-4711", amount=Decimal(100))
    forced = reg.select(unit="Bauamt", unit_workflow="company", buyer_reference=DEFAULT_LEITWEG_ID,
                        amount=Decimal(100))
    assert (leitweg and leitweg.name, other and other.name, forced and forced.name) == (
        "public-sector", "company", "company")
    with pytest.raises(DefinitionError, match="no workflow definition named 'nope'"):
        reg.select(unit=None, unit_workflow="nope", buyer_reference=None, amount=Decimal(0))


def test_amount_and_unit_conditions(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text(MINIMAL.replace("name: mini", "name: big").replace(
        "title: Minimal", "title: Big\napplies_when:\n  priority: 5\n  units: [Bauamt]\n  min_amount: '1000'"))
    (tmp_path / "mini.yaml").write_text(MINIMAL)
    reg = load_dir(tmp_path)
    pick = lambda unit, amount: reg.select(unit=unit, unit_workflow=None, buyer_reference=None,  # noqa: E731
                                           amount=Decimal(amount)).name  # type: ignore[union-attr]
    assert pick("Bauamt", 1000) == "big"
    assert pick("Bauamt", 999) == "mini"
    assert pick("Kämmerei", 5000) == "mini"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("version: 1", "version: 0", "version: Input should be greater than or equal to 1"),
    ("    roles: [clerk]", "    roles: [boss]", "stages[0].roles: Value error, unknown role(s) boss"),
    ("    kind: export", "    kind: approval\n    roles: [clerk]", "the last stage must be the export stage"),
    ("    roles: [clerk]", "    roles: [clerk]\n    separate_from: [export]", "separate_from names no earlier stage"),
    ("    roles: [clerk]", "    roles: [clerk]\n    limits: [{user: a, role: clerk, max_amount: '1'}]",
     "exactly one of 'user' or 'role'"),
    ("    roles: [clerk]", "    roles: [clerk]\n    skip_below: '500'\n    second_approver_above: '100'",
     "second_approver_above must not be below skip_below"),
    ("title: Minimal", "title: Minimal\ncolour: blue", "colour: Extra inputs are not permitted"),
    ("  - id: check", "  - id: Check Stage", "stages[0].id: String should match pattern"),
], ids=["version", "role", "no-export", "separate", "limit", "thresholds", "typo", "stage-id"])
def test_broken_definitions_are_refused_with_file_and_field(tmp_path: Path, old: str, new: str,
                                                            message: str) -> None:
    assert old in MINIMAL
    path = tmp_path / "broken.yaml"
    path.write_text(MINIMAL.replace(old, new))
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_not_yaml_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="not valid YAML"):
        parse("name: [unclosed", "x.yaml")
    with pytest.raises(DefinitionError, match="a workflow definition is a mapping"):
        parse("- just a list", "x.yaml")
    (tmp_path / "a.yaml").write_text(MINIMAL)
    (tmp_path / "b.yaml").write_text(MINIMAL)
    with pytest.raises(DefinitionError, match="'mini' is already used by"):
        load_dir(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DefinitionError, match="no workflow definitions"):
        load_dir(tmp_path / "empty")
    with pytest.raises(DefinitionError, match="does not exist"):
        load_dir(tmp_path / "missing")


def test_registry_rereads_a_changed_file_and_the_digest_changes(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(MINIMAL)
    first = registry(tmp_path).get("mini")
    assert registry(tmp_path).get("mini") is first  # cached while unchanged
    path.write_text(MINIMAL.replace("version: 1", "version: 2").replace("title: Check", "title: Prüfung"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    second = registry(tmp_path).get("mini")
    assert (second.version, second.stages[0].title) == (2, "Prüfung")
    assert second.digest() != first.digest()
