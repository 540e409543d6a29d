"""The invoice as people read it: KoSIT's XRechnung visualisation (installed rule pack).

KoSIT's two steps: UBL Invoice / UBL CreditNote / CII → the intermediate ``xr:invoice`` document
(``ubl-invoice-xr.xsl``, ``ubl-creditnote-xr.xsl``, ``cii-xr.xsl``), then ``xrechnung-html.xsl`` →
HTML. ``lang`` (de, en) selects the labels (``l10n/<lang>.xml``). The stylesheets are compiled once
per process; each call runs on its own clone, so requests on different threads do not share state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from einvoice import saxon
from einvoice.formats.detect import SYNTAX_CII, SYNTAX_UBL_CREDITNOTE, SYNTAX_UBL_INVOICE, load_document
from einvoice.formats.xml import InputError
from einvoice.rules.store import RuleStore

PACK = "xrechnung-visualization"
LANGUAGES = ("de", "en")
_TO_MODEL = {
    SYNTAX_UBL_INVOICE: "xsl/ubl-invoice-xr.xsl",
    SYNTAX_UBL_CREDITNOTE: "xsl/ubl-creditnote-xr.xsl",
    SYNTAX_CII: "xsl/cii-xr.xsl",
}
_TO_HTML = "xsl/xrechnung-html.xsl"
# The viewer is a self-contained page (inline CSS and script, attachments as data: links).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


class VisualisationError(Exception):
    """The document cannot be shown with the XRechnung visualisation (wrong syntax, unreadable)."""


def render_invoice_html(store: RuleStore, data: bytes, filename: str = "", lang: str = "de") -> str:
    """HTML for an invoice given as XML or hybrid PDF (its embedded XML is shown)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    try:
        doc = load_document(data, filename)
    except InputError as exc:
        raise VisualisationError(f"the document cannot be read: {exc.message}") from None
    step = _TO_MODEL.get(doc.syntax or "")
    if step is None:
        raise VisualisationError(
            "only UBL Invoice, UBL CreditNote and UN/CEFACT CII invoices can be visualised; this document "
            f"is {doc.syntax or 'of an unknown type'}")
    pack = store.pack(PACK)
    model = _transform(store.path(f"{PACK}:{step}"), _parse(doc.text))
    html = _transform(store.path(f"{PACK}:{_TO_HTML}"), _parse(model), lang=lang)
    if not html.strip():
        raise VisualisationError(f"the visualisation ({pack.name}) produced no output")
    return html


def _parse(text: str) -> Any:
    try:
        return saxon.parse_text(text)
    except Exception as exc:  # PySaxonApiError
        raise VisualisationError(f"the visualisation cannot parse its input: {exc}") from exc


def _transform(stylesheet: Path, node: Any, **params: str) -> str:
    executable = saxon.compile_stylesheet(str(stylesheet)).clone()
    for name, value in params.items():
        executable.set_parameter(name, saxon.processor().make_string_value(value))
    try:
        result = executable.transform_to_string(xdm_node=node)
    except Exception as exc:  # saxonche raises PySaxonApiError with the XSLT error text
        raise VisualisationError(f"the visualisation failed in {stylesheet.name}: {exc}") from exc
    if result is None:
        raise VisualisationError(f"the visualisation produced nothing in {stylesheet.name}")
    return str(result)


def without_scripts(html: str) -> str:
    """The viewer as one script-free document: every tab panel shown one below the other under a heading
    with its tab's label, the (script-driven) tab bar and the scripts removed.

    The staff and portal pages frame the view in a sandbox without scripts, where KoSIT's tabs would
    leave only the first panel reachable; this keeps all of it readable, searchable and printable.
    """
    from lxml import html as lxml_html

    root = lxml_html.document_fromstring(html)
    labels = {}
    for tab in root.xpath("//*[@role='tab'][@aria-controls]"):
        labels[tab.get("aria-controls")] = " ".join(tab.text_content().split())
    for node in root.xpath("//script | //form[.//*[@role='tablist']]"):
        node.drop_tree()
    for panel in root.xpath("//div[@role='tabpanel'][@id]"):
        heading = lxml_html.Element("h2", {"class": "panel-title"})
        heading.text = labels.get(panel.get("id"), panel.get("id"))
        panel.addprevious(heading)
        for name in ("role", "aria-labelledby", "tabindex"):
            panel.attrib.pop(name, None)
        panel.set("class", "divShow")
    style = lxml_html.Element("style")
    style.text = "h2.panel-title{font-size:1.25rem;margin:1.5rem 0 .5rem}"
    head = root.find("head")
    if head is not None:
        head.append(style)
    return "<!DOCTYPE html>\n" + lxml_html.tostring(root, encoding="unicode", method="html")
