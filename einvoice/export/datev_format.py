"""The DATEV-Format "Buchungsstapel" (EXTF, header version 700, category 21, format version 13).

Shared by the writer (:mod:`einvoice.export.datev`) and the format check
(:mod:`einvoice.export.datev_check`). Source: DATEV's public format description on
developer.datev.de (DATEV-Format, "Header" and "Buchungsstapel"): a CSV file in Windows-1252,
fields separated by ``;``, lines ended by CR LF, text fields in double quotes (quotes doubled),
no control characters inside fields, decimal comma, no thousands separators; the first line is
the header (31 fields), the second the column headings (125 for format version 13), then one
line per booking.
"""

from __future__ import annotations

ENCODING = "cp1252"
SEPARATOR = ";"
NEWLINE = "\r\n"

HEADER_MARK = "EXTF"  # EXTF = written by a third-party program (DTVF is reserved for DATEV)
HEADER_VERSION = 700
CATEGORY = 21  # Buchungsstapel
FORMAT_NAME = "Buchungsstapel"
FORMAT_VERSION = 13
HEADER_FIELDS = 31
MAX_ROWS = 99_999  # DATEV's limit of bookings per batch file

# Header positions (1-based, as DATEV numbers them).
H_MARK, H_VERSION, H_CATEGORY, H_NAME, H_FORMAT_VERSION, H_CREATED = 1, 2, 3, 4, 5, 6
H_ORIGIN, H_EXPORTED_BY, H_IMPORTED_BY = 8, 9, 10
H_CONSULTANT, H_CLIENT, H_FY_START, H_ACCOUNT_LENGTH, H_DATE_FROM, H_DATE_TO = 11, 12, 13, 14, 15, 16
H_LABEL, H_DICTATION, H_BOOKING_TYPE, H_PURPOSE, H_LOCKED, H_CURRENCY = 17, 18, 19, 20, 21, 22
H_DERIVATIVE, H_CHART, H_APP_INFO = 24, 27, 31
HEADER_TEXT_FIELDS = frozenset({1, 4, 8, 9, 10, 17, 18, 22, 24, 27, 30, 31})


def _columns() -> tuple[str, ...]:
    names = [
        "Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs", "Basis-Umsatz",
        "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum",
        "Belegfeld 1", "Belegfeld 2", "Skonto", "Buchungstext", "Postensperre", "Diverse Adressnummer",
        "Geschäftspartnerbank", "Sachverhalt", "Zinssperre", "Beleglink",
    ]
    for n in range(1, 9):
        names += [f"Beleginfo - Art {n}", f"Beleginfo - Inhalt {n}"]
    names += [
        "KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge", "EU-Land u. UStID (Bestimmung)",
        "EU-Steuersatz (Bestimmung)", "Abw. Versteuerungsart", "Sachverhalt L+L", "Funktionsergänzung L+L",
        "BU 49 Hauptfunktionstyp", "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung",
    ]
    for n in range(1, 21):  # DATEV writes "Zusatzinformation- Inhalt" without the space: kept as specified
        names += [f"Zusatzinformation - Art {n}", f"Zusatzinformation- Inhalt {n}"]
    names += [
        "Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr", "Zugeordnete Fälligkeit",
        "Skontotyp", "Auftragsnummer", "Buchungstyp", "USt-Schlüssel (Anzahlungen)", "EU-Land (Anzahlungen)",
        "Sachverhalt L+L (Anzahlungen)", "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)",
        "Herkunft-Kz", "Buchungs GUID", "KOST-Datum", "SEPA-Mandatsreferenz", "Skontosperre",
        "Gesellschaftername", "Beteiligtennummer", "Identifikationsnummer", "Zeichnernummer",
        "Postensperre bis", "Bezeichnung SoBil-Sachverhalt", "Kennzeichen SoBil-Buchung", "Festschreibung",
        "Leistungsdatum", "Datum Zuord. Steuerperiode", "Fälligkeit", "Generalumkehr (GU)", "Steuersatz",
        "Land", "Abrechnungsreferenz", "BVV-Position", "EU-Land u. UStID (Ursprung)",
        "EU-Steuersatz (Ursprung)", "Abw. Skontokonto",
    ]
    return tuple(names)


COLUMNS = _columns()
COLUMN_COUNT = len(COLUMNS)  # 125
POSITION = {name: index + 1 for index, name in enumerate(COLUMNS)}  # 1-based

# Columns this project fills, by DATEV position.
C_AMOUNT, C_DEBIT_CREDIT, C_CURRENCY = 1, 2, 3
C_ACCOUNT, C_CONTRA, C_TAX_KEY, C_DATE, C_DOC1, C_DOC2, C_SKONTO, C_TEXT = 7, 8, 9, 10, 11, 12, 13, 14
C_LINK = 20
C_INFO = tuple((21 + 2 * i, 22 + 2 * i) for i in range(8))  # (Art, Inhalt) pairs
C_KOST1, C_KOST2 = 37, 38
C_EXTRA = tuple((48 + 2 * i, 49 + 2 * i) for i in range(20))  # Zusatzinformation (Art, Inhalt)
C_DUE = 117  # Fälligkeit, TTMMJJJJ

# Text columns (quoted) and their maximum lengths; every other column is a number, date or empty.
TEXT_LIMITS: dict[int, int] = {
    C_DEBIT_CREDIT: 1, C_CURRENCY: 3, 6: 3, C_TAX_KEY: 4, C_DOC1: 36, C_DOC2: 12, C_TEXT: 60,
    C_LINK: 210, C_KOST1: 36, C_KOST2: 36, 40: 15, 103: 36, 105: 35, 120: 2,
}
for _art, _inhalt in (*C_INFO, *C_EXTRA):
    TEXT_LIMITS[_art] = 20
    TEXT_LIMITS[_inhalt] = 210
# Belegfeld 1 allows letters, digits and $ % - / only (DATEV: ^(["][\w$%\-\/]{0,36}["])$).
DOC1_ALLOWED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$%-/"
