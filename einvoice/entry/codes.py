"""The code lists the entry form offers: small, checked subsets with German and English labels.

Each list is a subset of the code list XRechnung 3.0 allows (UN/ECE Rec. 20 units, UNTDID 5305 VAT
categories, UNTDID 5189/7161 allowance and charge reasons, EAS electronic address schemes), so a
choice from the form can never be rejected for its code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class Code(NamedTuple):
    code: str
    de: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


UNITS: tuple[Code, ...] = (
    Code("C62", "Stück", "piece (unit)"),
    Code("H87", "Stück (Artikel)", "piece (article)"),
    Code("HUR", "Stunde", "hour"),
    Code("MIN", "Minute", "minute"),
    Code("DAY", "Tag", "day"),
    Code("WEE", "Woche", "week"),
    Code("MON", "Monat", "month"),
    Code("ANN", "Jahr", "year"),
    Code("KGM", "Kilogramm", "kilogram"),
    Code("TNE", "Tonne", "tonne"),
    Code("MTR", "Meter", "metre"),
    Code("KMT", "Kilometer", "kilometre"),
    Code("MTK", "Quadratmeter", "square metre"),
    Code("MTQ", "Kubikmeter", "cubic metre"),
    Code("LTR", "Liter", "litre"),
    Code("SET", "Satz", "set"),
    Code("LS", "Pauschale", "lump sum"),
    Code("KWH", "Kilowattstunde", "kilowatt hour"),
)

VAT_CATEGORIES: tuple[Code, ...] = (
    Code("S", "Regelsteuersatz", "standard rate"),
    Code("Z", "Nullsatz", "zero rated"),
    Code("E", "Steuerbefreit", "exempt from VAT"),
    Code("AE", "Umkehrung der Steuerschuldnerschaft", "reverse charge"),
    Code("K", "Innergemeinschaftliche Lieferung", "intra-community supply"),
    Code("G", "Ausfuhr außerhalb der EU", "export outside the EU"),
    Code("O", "Nicht steuerbar", "not subject to VAT"),
)

#: Rates offered for category S in Germany; other positive rates can still be typed.
STANDARD_RATES: tuple[Decimal, ...] = (Decimal("19"), Decimal("7"))

ALLOWANCE_REASONS: tuple[Code, ...] = (  # UNTDID 5189
    Code("95", "Rabatt", "discount"),
    Code("100", "Sonderrabatt", "special rebate"),
    Code("102", "Langfristiger Rabatt", "fixed long term"),
    Code("104", "Standardrabatt", "standard"),
    Code("105", "Jahresumsatzrabatt", "yearly turnover"),
)

CHARGE_REASONS: tuple[Code, ...] = (  # UNTDID 7161
    Code("FC", "Frachtkosten", "freight service"),
    Code("ABL", "Verpackung", "additional packaging"),
    Code("PC", "Verpackungskosten", "packing"),
    Code("ADT", "Abholung", "pick-up"),
    Code("IN", "Versicherung", "insurance"),
)

ELECTRONIC_SCHEMES: tuple[Code, ...] = (  # EAS
    Code("EM", "E-Mail-Adresse", "e-mail address"),
    Code("0204", "Leitweg-ID", "Leitweg-ID"),
    Code("0088", "GLN", "GLN"),
    Code("9930", "USt-IdNr. (DE)", "VAT number (DE)"),
)

COUNTRIES: tuple[Code, ...] = (
    Code("DE", "Deutschland", "Germany"),
    Code("AT", "Österreich", "Austria"),
    Code("BE", "Belgien", "Belgium"),
    Code("CH", "Schweiz", "Switzerland"),
    Code("DK", "Dänemark", "Denmark"),
    Code("ES", "Spanien", "Spain"),
    Code("FR", "Frankreich", "France"),
    Code("IT", "Italien", "Italy"),
    Code("LU", "Luxemburg", "Luxembourg"),
    Code("NL", "Niederlande", "Netherlands"),
    Code("PL", "Polen", "Poland"),
    Code("CZ", "Tschechien", "Czechia"),
    Code("GB", "Vereinigtes Königreich", "United Kingdom"),
    Code("US", "Vereinigte Staaten", "United States"),
)


def codes(table: tuple[Code, ...]) -> frozenset[str]:
    return frozenset(entry.code for entry in table)
