"""Words of the human-readable reports, one catalog per language ("de" is the default)."""

from __future__ import annotations

from einvoice.validation.model import Level

DEFAULT_LANG = "de"

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Prüfbericht zur E-Rechnung",
        "accepted": "Die Rechnung wurde angenommen",
        "rejected": "Die Rechnung wurde abgelehnt",
        "accepted_short": "angenommen",
        "rejected_short": "abgelehnt",
        "reason": "Begründung",
        "incomplete_title": "Prüfung unvollständig",
        "incomplete": (
            "Die Prüfung konnte nicht vollständig durchgeführt werden — "
            "die Rechnung gilt deshalb als nicht angenommen."
        ),
        "incomplete_detail": "Folgende Prüfschritte konnten nicht ausgeführt werden:",
        "document": "Angaben zum Dokument",
        "file": "Datei",
        "sha256": "Prüfsumme (SHA-256)",
        "scenario": "Prüfszenario",
        "no_scenario": "kein passendes Prüfszenario",
        "syntax": "Syntax",
        "container": "Container",
        "container_xml": "XML-Datei",
        "container_pdf": "PDF mit eingebetteter XML-Rechnung (ZUGFeRD/Factur-X)",
        "profile": "Profil",
        "timestamp": "Zeitpunkt der Prüfung",
        "unknown": "unbekannt",
        "steps": "Prüfschritte",
        "step": "Prüfschritt",
        "step_result": "Ergebnis",
        "step_ok": "bestanden",
        "step_failed": "nicht bestanden",
        "step_error": "nicht ausgeführt",
        "findings": "Meldungen",
        "no_findings": "Es gibt keine Beanstandungen.",
        "summary": "{errors} Fehler, {warnings} Warnungen, {infos} Hinweise",
        "group_error": "Fehler",
        "group_warning": "Warnungen",
        "group_information": "Hinweise",
        "group_error_intro": "Diese Punkte führen zur Ablehnung und müssen korrigiert werden.",
        "group_warning_intro": "Diese Punkte führen nicht zur Ablehnung, sollten aber korrigiert werden.",
        "group_information_intro": "Zur Information; kein Handlungsbedarf.",
        "rule": "Regel",
        "message": "Meldung",
        "location": "Fundstelle",
        "value": "Wert",
        "hint": "Was ist zu tun?",
        "same_hint": "siehe Hinweis zur ersten Meldung dieser Regel",
        "count": "Anzahl",
        "footer": "Erstellt mit einvoice {version}. Die Prüfung folgt den Regeln der KoSIT (XRechnung) "
                  "und der Norm EN 16931.",
        "level_fatal": "FEHLER",
        "level_error": "FEHLER",
        "level_warning": "WARNUNG",
        "level_information": "HINWEIS",
    },
    "en": {
        "title": "E-invoice validation report",
        "accepted": "The invoice was accepted",
        "rejected": "The invoice was rejected",
        "accepted_short": "accepted",
        "rejected_short": "rejected",
        "reason": "Reason",
        "incomplete_title": "Check incomplete",
        "incomplete": (
            "The check could not be completed — the invoice is therefore treated as not accepted."
        ),
        "incomplete_detail": "These checks could not be run:",
        "document": "Document",
        "file": "File",
        "sha256": "Checksum (SHA-256)",
        "scenario": "Validation scenario",
        "no_scenario": "no matching validation scenario",
        "syntax": "Syntax",
        "container": "Container",
        "container_xml": "XML file",
        "container_pdf": "PDF with embedded XML invoice (ZUGFeRD/Factur-X)",
        "profile": "Profile",
        "timestamp": "Checked at",
        "unknown": "unknown",
        "steps": "Validation steps",
        "step": "Step",
        "step_result": "Result",
        "step_ok": "passed",
        "step_failed": "failed",
        "step_error": "not run",
        "findings": "Findings",
        "no_findings": "There are no findings.",
        "summary": "{errors} errors, {warnings} warnings, {infos} information",
        "group_error": "Errors",
        "group_warning": "Warnings",
        "group_information": "Information",
        "group_error_intro": "These cause the rejection and must be corrected.",
        "group_warning_intro": "These do not cause a rejection but should be corrected.",
        "group_information_intro": "For information only; nothing to do.",
        "rule": "Rule",
        "message": "Message",
        "location": "Location",
        "value": "Value",
        "hint": "What to do",
        "same_hint": "see the hint at the first message of this rule",
        "count": "Count",
        "footer": "Created with einvoice {version}. The checks follow the KoSIT rules (XRechnung) "
                  "and the standard EN 16931.",
        "level_fatal": "ERROR",
        "level_error": "ERROR",
        "level_warning": "WARNING",
        "level_information": "INFO",
    },
}

# Steps that are not named after a rule pack.
_STEP_NAMES: dict[str, dict[str, str]] = {
    "de": {
        "wellformedness": "XML-Lesbarkeit (Wohlgeformtheit)",
        "input": "Eingangsprüfung (Dateiformat, PDF/XMP)",
        "scenario": "Erkennung des Rechnungstyps",
        "processing": "Verarbeitung",
        "xsd": "XML-Schema",
    },
    "en": {
        "wellformedness": "XML well-formedness",
        "input": "Input checks (file format, PDF/XMP)",
        "scenario": "Invoice type recognition",
        "processing": "Processing",
        "xsd": "XML Schema",
    },
}

# Rule packs by name prefix: "cen-ubl" → "EN 16931 business rules (UBL)".
_PACK_FAMILIES: dict[str, dict[str, str]] = {
    "de": {
        "cen": "EN 16931 Geschäftsregeln",
        "xrechnung": "XRechnung-Regeln",
        "peppol": "Peppol BIS Billing 3.0 Regeln",
        "facturx": "ZUGFeRD/Factur-X Regeln",
    },
    "en": {
        "cen": "EN 16931 business rules",
        "xrechnung": "XRechnung rules",
        "peppol": "Peppol BIS Billing 3.0 rules",
        "facturx": "ZUGFeRD/Factur-X rules",
    },
}


def normalize_lang(lang: str | None) -> str:
    """Unknown or regional languages fall back sensibly: ``en-GB`` → ``en``, ``fr`` → ``de``."""
    base = (lang or DEFAULT_LANG).split("-")[0].split("_")[0].lower()
    return base if base in LABELS else DEFAULT_LANG


def labels(lang: str | None) -> dict[str, str]:
    return LABELS[normalize_lang(lang)]


def step_label(step_id: str, lang: str | None) -> str:
    """A readable name for a step id; rule packs are named after their family and syntax."""
    code = normalize_lang(lang)
    if step_id in _STEP_NAMES[code]:
        return _STEP_NAMES[code][step_id]
    family, _, rest = step_id.partition("-")
    name = _PACK_FAMILIES[code].get(family)
    if name is None:
        return step_id
    detail = rest.upper() if rest in ("ubl", "cii") else rest
    return f"{name} ({detail})" if detail else name


def level_label(level: Level, lang: str | None) -> str:
    return labels(lang)[f"level_{level.value}"]
