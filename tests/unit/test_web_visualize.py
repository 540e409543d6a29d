"""The framed visualisation: KoSIT's tabbed viewer turned into one script-free document."""

from __future__ import annotations

from einvoice.web.visualize import without_scripts

VIEWER = """<html lang="de"><head><title>XRechnung</title><script>function show(e){}</script></head><body>
<div role="main"><form><div class="menue" role="navigation"><div role="tablist" class="innen">
<button role="tab" aria-controls="uebersicht" type="button" onclick="show(this)"><span>Übersicht</span></button>
<button role="tab" aria-controls="details" type="button" onclick="show(this)"><span>Details</span></button>
</div></div></form><div class="inhalt"><div class="innen">
<div id="uebersicht" class="divShow" role="tabpanel" aria-labelledby="menueUebersicht" tabindex="0">Summe</div>
<div id="details" class="divHide" role="tabpanel" aria-labelledby="menueDetails" tabindex="0">Positionen</div>
</div></div></div></body></html>"""


def test_every_panel_is_shown_under_its_tab_label_without_scripts_or_tab_bar() -> None:
    out = without_scripts(VIEWER)
    assert out.startswith("<!DOCTYPE html>")
    assert "<script" not in out and "tablist" not in out and "onclick" not in out
    assert '<h2 class="panel-title">Übersicht</h2><div id="uebersicht" class="divShow">' in out
    assert '<h2 class="panel-title">Details</h2><div id="details" class="divShow">' in out
    assert "divHide" not in out and "Positionen" in out
