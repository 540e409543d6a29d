"""Plain-language hints: coverage of the common rules, both languages, families and fallbacks."""

from __future__ import annotations

import pytest

from einvoice.validation.reports.hints import hint_for, known_rules
from einvoice.validation.reports.labels import LABELS, normalize_lang, step_label

REQUIRED = (
    [
        f"BR-DE-{n}"
        for n in (
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            14,
            15,
            16,
            17,
            18,
            19,
            20,
            21,
            22,
            26,
            27,
            28,
            29,
            30,
            31,
        )
    ]
    + ["BR-DE-23-a", "BR-DE-23-b", "BR-DE-24-a", "BR-DE-24-b", "BR-DE-25-a", "BR-DE-25-b"]
    + [f"BR-{n:02d}" for n in range(1, 17)]
    + [f"BR-CO-{n}" for n in ("09", "10", "13", "14", "15", "16", "25", "26")]
    + ["BR-S-08", "BR-CL-01", "BR-CL-23", "BR-CL-99"]
    + [f"PEPPOL-EN16931-R{n}" for n in ("001", "003", "008", "010", "053", "120", "121")]
    + ["UBL-CR-001", "UBL-CR-646", "CII-SR-001", "CII-SR-454"]
    + [
        "XSD",
        "XML-DOCTYPE",
        "XML-NOT-WELLFORMED",
        "PDF-NO-INVOICE",
        "PDF-XMP-PROFILE",
        "NO-SCENARIO",
        "PROCESSING-ERROR",
        "SCENARIO-REJECTED",
    ]
)


@pytest.mark.parametrize("rule", REQUIRED)
@pytest.mark.parametrize("lang", ["de", "en"])
def test_common_rules_have_hints_in_both_languages(rule: str, lang: str) -> None:
    hint = hint_for(rule, lang)
    assert hint and len(hint) > 20


def test_languages_differ_and_cover_the_same_rules() -> None:
    assert hint_for("BR-DE-15", "de") != hint_for("BR-DE-15", "en")
    assert "Leitweg-ID" in (hint_for("BR-DE-15", "de") or "")
    assert "Leitweg-ID" in (hint_for("BR-DE-15", "en") or "")
    for rule in known_rules():
        assert hint_for(rule, "de") and hint_for(rule, "en"), rule


def test_skonto_hint_shows_the_exact_syntax() -> None:
    assert "#SKONTO#TAGE=14#PROZENT=2.00#" in (hint_for("BR-DE-18") or "")


def test_spec_id_hint_names_the_xrechnung_identifier() -> None:
    assert "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0" in (
        hint_for("BR-DE-21") or ""
    )


def test_specific_hint_beats_family_hint() -> None:
    assert hint_for("UBL-CR-646", "en") != hint_for("UBL-CR-001", "en")
    assert hint_for("BR-CL-23", "de") != hint_for("BR-CL-99", "de")
    assert "ISO 6523" in (hint_for("BR-CL-21", "en") or "")


def test_unknown_rules_have_no_hint_and_languages_fall_back() -> None:
    assert hint_for("FOO-1") is None
    assert hint_for("", "en") is None
    assert hint_for("BR-02", "fr") == hint_for("BR-02", "de")
    assert hint_for("BR-02", "en-GB") == hint_for("BR-02", "en")
    assert hint_for(" BR-02 ", "en") == hint_for("BR-02", "en")


def test_label_catalogs_have_the_same_keys() -> None:
    assert set(LABELS["de"]) == set(LABELS["en"])
    assert normalize_lang(None) == "de"
    assert normalize_lang("EN_us") == "en"


def test_step_labels() -> None:
    assert step_label("cen-ubl", "de") == "EN 16931 Geschäftsregeln (UBL)"
    assert step_label("xrechnung-cii", "en") == "XRechnung rules (CII)"
    assert step_label("xsd", "en") == "XML Schema"
    assert step_label("my-own-pack", "en") == "my-own-pack"
