"""Plain-language hints for the most common rules, for suppliers and accounts staff.

The official rule texts name business terms (BT-/BG-numbers) but rarely say what to change. These
hints do, in German and English. They paraphrase the rules of EN 16931 (CEN), XRechnung (KoSIT) and
Peppol BIS Billing 3.0 as found in their Schematron files; the finding's own message stays the
authoritative text.
"""

from __future__ import annotations

import re

from einvoice.validation.reports.labels import normalize_lang

_DE: dict[str, str] = {
    # ------------------------------------------------------------------ input and processing
    "XSD": (
        "Der Aufbau der XML-Datei entspricht nicht dem XML-Schema: ein Element fehlt, steht an der falschen "
        "Stelle, ist falsch geschrieben, oder ein Wert hat ein falsches Format (Datum als JJJJ-MM-TT, "
        "Beträge mit Punkt als Dezimaltrennzeichen, keine Tausenderpunkte). Die Meldung nennt Zeile und "
        "Element. Meist muss der Rechnungsexport der Software korrigiert werden."
    ),
    "XML-DOCTYPE": (
        "Die Datei enthält eine DOCTYPE-Deklaration (<!DOCTYPE ...>). Aus Sicherheitsgründen werden solche "
        "Dateien nicht verarbeitet, und E-Rechnungen brauchen sie nicht. Bitte die Rechnung ohne DOCTYPE "
        "erzeugen."
    ),
    "XML-NOT-WELLFORMED": (
        "Die Datei ist kein lesbares XML – sie ist beschädigt, abgeschnitten oder gar keine XML-Datei "
        "(z. B. ein Word- oder Bilddokument mit der Endung .xml). Bitte die Rechnung erneut exportieren und "
        "unverändert senden."
    ),
    "XML-ENCODING": (
        "Die Zeichenkodierung der Datei passt nicht zu ihrem Inhalt (z. B. Umlaute in einer als UTF-8 "
        "deklarierten Datei, die tatsächlich in Windows-1252 gespeichert ist). Bitte als UTF-8 speichern."
    ),
    "XML-TOO-DEEP": (
        "Die XML-Struktur ist ungewöhnlich tief verschachtelt und wird zum Schutz des Systems nicht "
        "verarbeitet. Eine normale Rechnung ist davon nie betroffen – bitte die erzeugende Software prüfen."
    ),
    "PDF-NO-INVOICE": (
        "Die PDF-Datei enthält keine eingebettete XML-Rechnung. Ein reines PDF ist keine E-Rechnung im Sinne "
        "von § 14 UStG. Bitte eine XRechnung (XML) oder ein ZUGFeRD-/Factur-X-PDF mit eingebetteter "
        "Rechnungsdatei (factur-x.xml, zugferd-invoice.xml oder xrechnung.xml) senden."
    ),
    "NO-SCENARIO": (
        "Der Rechnungstyp wurde nicht erkannt. Entscheidend ist die Spezifikationskennung (BT-24: UBL "
        "cbc:CustomizationID, CII GuidelineSpecifiedDocumentContextParameter/ID). Angenommen werden "
        "XRechnung 3.0 (UBL oder CII), Peppol BIS Billing 3.0 und ZUGFeRD/Factur-X ab Profil EN 16931. "
        "Bitte im Rechnungsprogramm eines dieser Formate wählen."
    ),
    "SCENARIO-REJECTED": (
        "Das Format wurde erkannt, ist aber keine zulässige E-Rechnung (z. B. ZUGFeRD-Profil MINIMUM oder "
        "BASIC WL, oder ZUGFeRD 1.0). Bitte als XRechnung oder als ZUGFeRD im Profil EN 16931, EXTENDED oder "
        "XRECHNUNG senden."
    ),
    "PROCESSING-ERROR": (
        "Bei der Prüfung ist ein technischer Fehler aufgetreten; das muss nicht an der Rechnung liegen. Weil "
        "nicht alle Regeln geprüft werden konnten, gilt die Rechnung als nicht angenommen. Bitte später "
        "erneut senden oder den Rechnungsempfänger informieren."
    ),
    "NOT-ACCEPTED": (
        "Die Rechnung wurde nicht angenommen; die Begründung steht oben im Bericht."
    ),
    # ------------------------------------------------------------------ EN 16931: mandatory content
    "BR-01": (
        "Die Angabe fehlt, nach welchem Standard die Rechnung erstellt ist (Spezifikationskennung BT-24). "
        "Für XRechnung 3.0 lautet sie urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0."
    ),
    "BR-02": "Die Rechnungsnummer (BT-1) fehlt. Jede Rechnung braucht eine eindeutige Nummer.",
    "BR-03": "Das Rechnungsdatum (BT-2) fehlt. Format: JJJJ-MM-TT.",
    "BR-04": (
        "Die Rechnungsart (BT-3) fehlt, z. B. 380 für eine Rechnung, 381 für eine Gutschrift, 384 für eine "
        "Rechnungskorrektur."
    ),
    "BR-05": "Die Währung der Rechnung (BT-5) fehlt, z. B. EUR.",
    "BR-06": "Der Name des Verkäufers/Rechnungsstellers (BT-27) fehlt.",
    "BR-07": "Der Name des Käufers/Rechnungsempfängers (BT-44) fehlt.",
    "BR-08": "Die Postanschrift des Verkäufers (BG-5) fehlt.",
    "BR-09": "In der Anschrift des Verkäufers fehlt der Ländercode (BT-40), z. B. DE.",
    "BR-10": "Die Postanschrift des Käufers (BG-8) fehlt.",
    "BR-11": "In der Anschrift des Käufers fehlt der Ländercode (BT-55), z. B. DE.",
    "BR-12": "Die Summe der Nettobeträge aller Rechnungspositionen (BT-106) fehlt.",
    "BR-13": "Der Gesamtbetrag ohne Umsatzsteuer (BT-109) fehlt.",
    "BR-14": "Der Gesamtbetrag einschließlich Umsatzsteuer (BT-112) fehlt.",
    "BR-15": "Der fällige Zahlungsbetrag (BT-115) fehlt.",
    "BR-16": "Die Rechnung enthält keine Rechnungsposition (BG-25). Mindestens eine Position ist Pflicht.",
    # ------------------------------------------------------------------ EN 16931: calculations and coherence
    "BR-CO-09": (
        "Eine Umsatzsteuer-Identifikationsnummer (BT-31, BT-48 oder BT-63) beginnt nicht mit einem "
        "Ländercode, z. B. DE123456789. Eine deutsche Steuernummer (ohne Ländercode) gehört nicht in dieses "
        "Feld, sondern in die Steuernummer des Verkäufers (BT-32)."
    ),
    "BR-CO-10": (
        "Die Summe der Positionen (BT-106) stimmt nicht mit der Summe der einzelnen Positionsnettobeträge "
        "(BT-131) überein. Häufige Ursache: Rundung – jede Position zuerst auf zwei Nachkommastellen runden, "
        "dann summieren."
    ),
    "BR-CO-13": (
        "Der Gesamtbetrag ohne Umsatzsteuer (BT-109) muss gleich Summe der Positionen (BT-131) minus "
        "Nachlässe (BT-107) plus Zuschläge (BT-108) auf Dokumentebene sein. Bitte die Summen nachrechnen."
    ),
    "BR-CO-14": (
        "Der Umsatzsteuer-Gesamtbetrag (BT-110) muss gleich der Summe der Steuerbeträge je Steuerkategorie "
        "(BT-117) sein."
    ),
    "BR-CO-15": (
        "Der Bruttobetrag (BT-112) muss gleich Nettobetrag (BT-109) plus Umsatzsteuer (BT-110) sein."
    ),
    "BR-CO-16": (
        "Der Zahlbetrag (BT-115) muss gleich Bruttobetrag (BT-112) minus bereits gezahlter Betrag (BT-113) "
        "plus Rundungsbetrag (BT-114) sein."
    ),
    "BR-CO-25": (
        "Ist ein Betrag zu zahlen, muss die Rechnung ein Fälligkeitsdatum (BT-9) oder Zahlungsbedingungen "
        "(BT-20) enthalten, z. B. \"Zahlbar innerhalb von 30 Tagen ohne Abzug\"."
    ),
    "BR-CO-26": (
        "Der Verkäufer muss eindeutig identifizierbar sein: Bitte eine Verkäuferkennung (BT-29), eine "
        "Registernummer (BT-30, z. B. Handelsregister) oder die USt-IdNr. (BT-31) angeben."
    ),
    "BR-S-08": (
        "Für jeden Umsatzsteuersatz der Kategorie \"S\" (Normalsatz) muss die Bemessungsgrundlage in der "
        "Steueraufschlüsselung (BT-116) gleich der Summe der Positionen mit diesem Satz plus Zuschläge minus "
        "Nachlässe sein. Häufige Ursachen: Positionen mit falschem Steuersatz oder Rundungsdifferenzen."
    ),
    # ------------------------------------------------------------------ code lists
    "BR-CL-01": (
        "Die Rechnungsart (BT-3) ist kein zulässiger Code (UNTDID 1001), z. B. 380 Rechnung, 381 Gutschrift, "
        "384 Rechnungskorrektur, 389 Gutschriftsverfahren."
    ),
    "BR-CL-03": "Ein Währungscode (Attribut currencyID) ist unzulässig: bitte ISO 4217 verwenden, z. B. EUR.",
    "BR-CL-04": "Der Währungscode der Rechnung (BT-5) ist unzulässig: bitte ISO 4217 verwenden, z. B. EUR.",
    "BR-CL-05": "Der Code der Steuerwährung (BT-6) ist unzulässig: bitte ISO 4217 verwenden, z. B. EUR.",
    "BR-CL-14": (
        "Ein Ländercode ist unzulässig: bitte zweistellige Codes nach ISO 3166-1 verwenden, z. B. DE, AT, FR "
        "(nicht \"D\" oder \"GER\")."
    ),
    "BR-CL-15": (
        "Ein Ländercode ist unzulässig: bitte zweistellige Codes nach ISO 3166-1 verwenden, z. B. DE, AT, FR "
        "(nicht \"D\" oder \"GER\")."
    ),
    "BR-CL-16": (
        "Der Code der Zahlungsart (BT-81) ist unzulässig (UNCL 4461), z. B. 58 SEPA-Überweisung, "
        "59 SEPA-Lastschrift, 30 Überweisung, 48 Kartenzahlung."
    ),
    "BR-CL-17": (
        "Die Umsatzsteuerkategorie ist unzulässig (UNCL 5305): S Normalsatz/ermäßigt, Z Nullsatz, "
        "E steuerbefreit, AE Steuerschuldnerschaft des Leistungsempfängers, K innergemeinschaftliche "
        "Lieferung, G Ausfuhr, O nicht steuerbar, L/M IGIC/IPSI."
    ),
    "BR-CL-18": (
        "Die Umsatzsteuerkategorie ist unzulässig (UNCL 5305): S Normalsatz/ermäßigt, Z Nullsatz, "
        "E steuerbefreit, AE Steuerschuldnerschaft des Leistungsempfängers, K innergemeinschaftliche "
        "Lieferung, G Ausfuhr, O nicht steuerbar, L/M IGIC/IPSI."
    ),
    "BR-CL-23": (
        "Eine Mengeneinheit ist kein Code nach UN/ECE Empfehlung 20/21, z. B. H87 Stück, C62 Einheit, "
        "HUR Stunde, DAY Tag, KGM Kilogramm, MTR Meter, LTR Liter, LS pauschal. Freitext wie \"Stk\" ist "
        "nicht zulässig. (In XRechnung nur eine Warnung.)"
    ),
    "BR-CL-24": (
        "Ein Anhang hat einen unzulässigen Dateityp (MIME-Code). Erlaubt sind application/pdf, image/png, "
        "image/jpeg, text/csv, Excel (.xlsx) und OpenDocument-Tabellen (.ods)."
    ),
    "BR-CL-25": (
        "Das Schema der elektronischen Adresse (schemeID von BT-34/BT-49) ist kein Code der EAS-Liste, "
        "z. B. EM für E-Mail, 0204 für die Leitweg-ID, 9930 für die deutsche USt-IdNr."
    ),
    # ------------------------------------------------------------------ XRechnung (CIUS Germany)
    "BR-DE-1": (
        "Zahlungsinformationen (BG-16) fehlen. Bitte die Zahlungsart (BT-81) angeben, z. B. 58 für eine "
        "SEPA-Überweisung zusammen mit der IBAN des Zahlungsempfängers (BT-84)."
    ),
    "BR-DE-2": (
        "Die Kontaktdaten des Verkäufers (BG-6) fehlen: Ansprechpartner (BT-41), Telefon (BT-42) und E-Mail "
        "(BT-43) sind in XRechnung Pflicht."
    ),
    "BR-DE-3": "Der Ort in der Anschrift des Verkäufers (BT-37) fehlt.",
    "BR-DE-4": "Die Postleitzahl in der Anschrift des Verkäufers (BT-38) fehlt.",
    "BR-DE-5": "Der Ansprechpartner bzw. die Kontaktstelle des Verkäufers (BT-41) fehlt.",
    "BR-DE-6": "Die Telefonnummer des Verkäufer-Kontakts (BT-42) fehlt.",
    "BR-DE-7": "Die E-Mail-Adresse des Verkäufer-Kontakts (BT-43) fehlt.",
    "BR-DE-8": "Der Ort in der Anschrift des Käufers (BT-52) fehlt.",
    "BR-DE-9": "Die Postleitzahl in der Anschrift des Käufers (BT-53) fehlt.",
    "BR-DE-10": "Ist eine Lieferanschrift angegeben (BG-15), muss sie einen Ort (BT-77) enthalten.",
    "BR-DE-11": "Ist eine Lieferanschrift angegeben (BG-15), muss sie eine Postleitzahl (BT-78) enthalten.",
    "BR-DE-14": (
        "In der Steueraufschlüsselung fehlt der Umsatzsteuersatz (BT-119). Er ist auch bei steuerfreien "
        "Umsätzen anzugeben (dann 0)."
    ),
    "BR-DE-15": (
        "Die Käuferreferenz (BT-10) fehlt. Bei öffentlichen Auftraggebern ist das die Leitweg-ID, die der "
        "Auftraggeber mitteilt (z. B. 04011000-1234512345-06); sonst eine mit dem Käufer vereinbarte "
        "Referenz. UBL: cbc:BuyerReference, CII: ram:BuyerReference."
    ),
    "BR-DE-16": (
        "Bei steuerpflichtigen Umsätzen muss die USt-IdNr. des Verkäufers (BT-31), seine Steuernummer "
        "(BT-32) oder ein Steuervertreter (BG-11) angegeben sein."
    ),
    "BR-DE-17": (
        "Die Rechnungsart (BT-3) sollte einer der in XRechnung vorgesehenen Codes sein: 380 Rechnung, "
        "381 Gutschrift, 384 Rechnungskorrektur, 389 Gutschriftsverfahren, 326 Teilrechnung, 875/876/877 "
        "Bau-Abschlags-/Teilschluss-/Schlussrechnung."
    ),
    "BR-DE-18": (
        "Skonto-Angaben in den Zahlungsbedingungen (BT-20) haben ein festes Format: jede Zeile "
        "#SKONTO#TAGE=14#PROZENT=2.00# und danach ein Zeilenumbruch; optional #BASISBETRAG=100.00# vor dem "
        "letzten #. Großbuchstaben, Punkt als Dezimaltrennzeichen, genau zwei Nachkommastellen, keine "
        "Leerzeichen."
    ),
    "BR-DE-19": (
        "Bei Zahlungsart 58 (SEPA-Überweisung) sollte die Kontonummer (BT-84) eine gültige IBAN sein. Bitte "
        "die IBAN auf Tippfehler prüfen und ohne Leerzeichen angeben."
    ),
    "BR-DE-20": (
        "Bei Zahlungsart 59 (SEPA-Lastschrift) sollte das belastete Konto (BT-91) eine gültige IBAN sein."
    ),
    "BR-DE-21": (
        "Die Spezifikationskennung (BT-24) entspricht nicht XRechnung. Für XRechnung 3.0 lautet sie exakt "
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0 (ohne Leerzeichen)."
    ),
    "BR-DE-22": "Mehrere Anhänge haben denselben Dateinamen. Jeder Anhang braucht einen eigenen Namen.",
    "BR-DE-23": (
        "Bei Überweisung (Zahlungsart 30 oder 58) müssen die Kontoangaben (BG-17, IBAN) enthalten sein; "
        "Kartenangaben (BG-18) und Lastschriftmandat (BG-19) dürfen dann nicht vorkommen."
    ),
    "BR-DE-24": (
        "Bei Kartenzahlung (Zahlungsart 48, 54 oder 55) müssen Kartenangaben (BG-18) enthalten sein; "
        "Kontoangaben (BG-17) und Lastschriftmandat (BG-19) dürfen dann nicht vorkommen."
    ),
    "BR-DE-25": (
        "Bei Lastschrift (Zahlungsart 59) muss das Lastschriftmandat (BG-19) enthalten sein; Kontoangaben "
        "für Überweisung (BG-17) und Kartenangaben (BG-18) dürfen dann nicht vorkommen."
    ),
    "BR-DE-26": (
        "Bei einer Rechnungskorrektur (Rechnungsart 384) sollte die ursprüngliche Rechnung angegeben werden "
        "(BG-3: Nummer und Datum der vorausgegangenen Rechnung)."
    ),
    "BR-DE-27": "Die Telefonnummer (BT-42) sollte mindestens drei Ziffern enthalten.",
    "BR-DE-28": (
        "Die E-Mail-Adresse (BT-43) hat kein gültiges Format, z. B. rechnung@firma.de (genau ein @, keine "
        "Leerzeichen)."
    ),
    "BR-DE-29": "Bei Lastschrift (BG-19) muss die Mandatsreferenz (BT-89) angegeben werden.",
    "BR-DE-30": "Bei Lastschrift (BG-19) muss die Gläubiger-Identifikationsnummer (BT-90) angegeben werden.",
    "BR-DE-31": "Bei Lastschrift (BG-19) muss die IBAN des zu belastenden Kontos (BT-91) angegeben werden.",
    "BR-DE-TMP-32": (
        "Die Rechnung sollte das Liefer- oder Leistungsdatum enthalten: Lieferdatum (BT-72), "
        "Abrechnungszeitraum (BG-14) oder je Position einen Zeitraum (BG-26)."
    ),
    "BR-TMP-2": (
        "Der Verweis auf ein externes Dokument (BT-124) muss eine vollständige Adresse sein, z. B. "
        "https://www.example.com/anlage.pdf."
    ),
    # ------------------------------------------------------------------ Peppol BIS Billing 3.0
    "PEPPOL-EN16931-R001": (
        "Die Prozesskennung (BT-23, cbc:ProfileID) fehlt, in Peppol üblicherweise "
        "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0."
    ),
    "PEPPOL-EN16931-R003": (
        "Es muss eine Käuferreferenz (BT-10) oder eine Bestellnummer (BT-13) angegeben sein."
    ),
    "PEPPOL-EN16931-R008": (
        "Die Rechnung enthält leere Elemente (z. B. <cbc:Note/>). Leere Elemente sind nicht erlaubt – bitte "
        "weglassen oder befüllen."
    ),
    "PEPPOL-EN16931-R010": (
        "Die elektronische Adresse des Käufers (BT-49, cbc:EndpointID mit schemeID) fehlt, z. B. seine "
        "Leitweg-ID (schemeID 0204) oder Peppol-ID."
    ),
    "PEPPOL-EN16931-R053": (
        "Es darf nur eine Steuersumme (cac:TaxTotal) mit Steueraufschlüsselung geben; eine zweite TaxTotal "
        "ist nur für die Steuerwährung und dann ohne Aufschlüsselung erlaubt."
    ),
    "PEPPOL-EN16931-R120": (
        "Der Positionsnettobetrag (BT-131) muss gleich Menge × (Preis ÷ Basismenge) plus Zuschläge minus "
        "Nachlässe der Position sein. Bitte die Berechnung und Rundung der Position prüfen."
    ),
    "PEPPOL-EN16931-R121": "Die Basismenge des Preises (BT-149) muss größer als null sein.",
    # ------------------------------------------------------------------ syntax rules raised by XRechnung
    "UBL-CR-646": (
        "Unterpositionen (SubInvoiceLine) sind nur in der XRechnung-Extension erlaubt. Bitte ohne "
        "Unterpositionen senden oder die Extension-Kennung in BT-24 verwenden."
    ),
    "CII-SR-452": "Es darf nur ein Block Zahlungsbedingungen (SpecifiedTradePaymentTerms) vorkommen.",
    "CII-SR-453": (
        "Es darf nur eine Beschreibung der Zahlungsbedingungen (SpecifiedTradePaymentTerms/Description) "
        "vorkommen; mehrere Zeilen (z. B. Skonto) gehören in dieselbe Beschreibung."
    ),
    "CII-SR-454": "Jede Rechnungsposition darf nur genau eine Steuerangabe (ApplicableTradeTax) haben.",
}

_EN: dict[str, str] = {
    "XSD": (
        "The XML does not follow the XML Schema: an element is missing, in the wrong place or misspelt, or a "
        "value has the wrong format (dates as YYYY-MM-DD, amounts with a dot as decimal separator and no "
        "thousands separators). The message names the line and element; usually the invoicing software's "
        "export must be fixed."
    ),
    "XML-DOCTYPE": (
        "The file contains a DOCTYPE declaration (<!DOCTYPE ...>). For security such files are not "
        "processed, and e-invoices never need one. Please create the invoice without a DOCTYPE."
    ),
    "XML-NOT-WELLFORMED": (
        "The file is not readable XML – it is damaged, truncated or not XML at all (e.g. a Word or image "
        "file named .xml). Please export the invoice again and send it unchanged."
    ),
    "XML-ENCODING": (
        "The file's character encoding does not match its content (e.g. umlauts in a file declared as UTF-8 "
        "but saved as Windows-1252). Please save it as UTF-8."
    ),
    "XML-TOO-DEEP": (
        "The XML is nested unusually deeply and is not processed to protect the system. A normal invoice is "
        "never affected – please check the software that produced it."
    ),
    "PDF-NO-INVOICE": (
        "The PDF contains no embedded XML invoice. A plain PDF is not an e-invoice under German VAT law (§ "
        "14 UStG). Please send an XRechnung (XML) or a ZUGFeRD/Factur-X PDF with its embedded invoice file "
        "(factur-x.xml, zugferd-invoice.xml or xrechnung.xml)."
    ),
    "NO-SCENARIO": (
        "The invoice type was not recognised. What counts is the specification identifier (BT-24: UBL "
        "cbc:CustomizationID, CII GuidelineSpecifiedDocumentContextParameter/ID). Accepted are XRechnung 3.0 "
        "(UBL or CII), Peppol BIS Billing 3.0 and ZUGFeRD/Factur-X from profile EN 16931 up. Please choose "
        "one of these formats in the invoicing software."
    ),
    "SCENARIO-REJECTED": (
        "The format was recognised but is not an acceptable e-invoice (e.g. ZUGFeRD profile MINIMUM or "
        "BASIC WL, or ZUGFeRD 1.0). Please send an XRechnung or ZUGFeRD with profile EN 16931, EXTENDED or "
        "XRECHNUNG."
    ),
    "PROCESSING-ERROR": (
        "A technical error occurred during the check; the invoice is not necessarily at fault. Because not "
        "all rules could be checked, the invoice is treated as not accepted. Please resend later or inform "
        "the recipient."
    ),
    "NOT-ACCEPTED": "The invoice was not accepted; the reason is given at the top of the report.",
    "BR-01": (
        "The statement which standard the invoice follows (specification identifier BT-24) is missing. For "
        "XRechnung 3.0 it is urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0."
    ),
    "BR-02": "The invoice number (BT-1) is missing. Every invoice needs a unique number.",
    "BR-03": "The invoice issue date (BT-2) is missing. Format: YYYY-MM-DD.",
    "BR-04": (
        "The invoice type code (BT-3) is missing, e.g. 380 for an invoice, 381 for a credit note, 384 for a "
        "corrected invoice."
    ),
    "BR-05": "The invoice currency (BT-5) is missing, e.g. EUR.",
    "BR-06": "The seller's name (BT-27) is missing.",
    "BR-07": "The buyer's name (BT-44) is missing.",
    "BR-08": "The seller's postal address (BG-5) is missing.",
    "BR-09": "The seller's address has no country code (BT-40), e.g. DE.",
    "BR-10": "The buyer's postal address (BG-8) is missing.",
    "BR-11": "The buyer's address has no country code (BT-55), e.g. DE.",
    "BR-12": "The sum of all invoice line net amounts (BT-106) is missing.",
    "BR-13": "The invoice total without VAT (BT-109) is missing.",
    "BR-14": "The invoice total with VAT (BT-112) is missing.",
    "BR-15": "The amount due for payment (BT-115) is missing.",
    "BR-16": "The invoice has no invoice line (BG-25). At least one line is required.",
    "BR-CO-09": (
        "A VAT identifier (BT-31, BT-48 or BT-63) does not start with a country code, e.g. DE123456789. A "
        "German tax number without country code belongs in the seller tax registration identifier (BT-32)."
    ),
    "BR-CO-10": (
        "The sum of lines (BT-106) does not equal the sum of the line net amounts (BT-131). Common cause: "
        "rounding – round each line to two decimals first, then add them up."
    ),
    "BR-CO-13": (
        "The total without VAT (BT-109) must equal the sum of lines (BT-131) minus document level allowances "
        "(BT-107) plus document level charges (BT-108). Please recalculate."
    ),
    "BR-CO-14": "The total VAT amount (BT-110) must equal the sum of the VAT amounts per category (BT-117).",
    "BR-CO-15": "The total with VAT (BT-112) must equal the total without VAT (BT-109) plus VAT (BT-110).",
    "BR-CO-16": (
        "The amount due (BT-115) must equal the total with VAT (BT-112) minus the prepaid amount (BT-113) "
        "plus the rounding amount (BT-114)."
    ),
    "BR-CO-25": (
        "If an amount is due, the invoice must give a payment due date (BT-9) or payment terms (BT-20), e.g. "
        "\"payable within 30 days net\"."
    ),
    "BR-CO-26": (
        "The seller must be identifiable: please give a seller identifier (BT-29), a legal registration "
        "identifier (BT-30, e.g. commercial register) or the VAT identifier (BT-31)."
    ),
    "BR-S-08": (
        "For each VAT rate of category \"S\" (standard rated) the taxable amount in the VAT breakdown "
        "(BT-116) "
        "must equal the sum of the lines with that rate plus charges minus allowances. Common causes: lines "
        "with the wrong VAT rate or rounding differences."
    ),
    "BR-CL-01": (
        "The invoice type code (BT-3) is not an allowed code (UNTDID 1001), e.g. 380 invoice, 381 credit "
        "note, 384 corrected invoice, 389 self-billed invoice."
    ),
    "BR-CL-03": "A currency code (attribute currencyID) is invalid: use ISO 4217, e.g. EUR.",
    "BR-CL-04": "The invoice currency code (BT-5) is invalid: use ISO 4217, e.g. EUR.",
    "BR-CL-05": "The VAT accounting currency code (BT-6) is invalid: use ISO 4217, e.g. EUR.",
    "BR-CL-14": (
        "A country code is invalid: use two-letter ISO 3166-1 codes such as DE, AT, FR (not \"GER\")."
    ),
    "BR-CL-15": (
        "A country code is invalid: use two-letter ISO 3166-1 codes such as DE, AT, FR (not \"GER\")."
    ),
    "BR-CL-16": (
        "The payment means code (BT-81) is invalid (UNCL 4461), e.g. 58 SEPA credit transfer, 59 SEPA direct "
        "debit, 30 credit transfer, 48 card payment."
    ),
    "BR-CL-17": (
        "The VAT category code is invalid (UNCL 5305): S standard/reduced rate, Z zero rated, E exempt, "
        "AE reverse charge, K intra-community supply, G export, O not subject to VAT, L/M IGIC/IPSI."
    ),
    "BR-CL-18": (
        "The VAT category code is invalid (UNCL 5305): S standard/reduced rate, Z zero rated, E exempt, "
        "AE reverse charge, K intra-community supply, G export, O not subject to VAT, L/M IGIC/IPSI."
    ),
    "BR-CL-23": (
        "A unit of measure is not a UN/ECE Recommendation 20/21 code, e.g. H87 piece, C62 unit, HUR hour, "
        "DAY day, KGM kilogram, MTR metre, LTR litre, LS lump sum. Free text such as \"pcs\" is not allowed. "
        "(Only a warning in XRechnung.)"
    ),
    "BR-CL-24": (
        "An attachment has a file type (MIME code) that is not allowed. Allowed are application/pdf, "
        "image/png, image/jpeg, text/csv, Excel (.xlsx) and OpenDocument spreadsheets (.ods)."
    ),
    "BR-CL-25": (
        "The electronic address scheme (schemeID of BT-34/BT-49) is not an EAS code, e.g. EM for e-mail, "
        "0204 for the German Leitweg-ID, 9930 for a German VAT number."
    ),
    "BR-DE-1": (
        "Payment instructions (BG-16) are missing. Please give the payment means (BT-81), e.g. 58 for a SEPA "
        "credit transfer together with the payee's IBAN (BT-84)."
    ),
    "BR-DE-2": (
        "The seller contact (BG-6) is missing: contact point (BT-41), telephone (BT-42) and e-mail (BT-43) "
        "are mandatory in XRechnung."
    ),
    "BR-DE-3": "The city in the seller's address (BT-37) is missing.",
    "BR-DE-4": "The post code in the seller's address (BT-38) is missing.",
    "BR-DE-5": "The seller's contact point (BT-41) is missing.",
    "BR-DE-6": "The seller contact's telephone number (BT-42) is missing.",
    "BR-DE-7": "The seller contact's e-mail address (BT-43) is missing.",
    "BR-DE-8": "The city in the buyer's address (BT-52) is missing.",
    "BR-DE-9": "The post code in the buyer's address (BT-53) is missing.",
    "BR-DE-10": "If a delivery address (BG-15) is given, it must contain a city (BT-77).",
    "BR-DE-11": "If a delivery address (BG-15) is given, it must contain a post code (BT-78).",
    "BR-DE-14": "The VAT breakdown lacks the VAT rate (BT-119). Give it for exempt supplies too (then 0).",
    "BR-DE-15": (
        "The buyer reference (BT-10) is missing. For public sector buyers this is the Leitweg-ID they give "
        "you (e.g. 04011000-1234512345-06); otherwise a reference agreed with the buyer. UBL: "
        "cbc:BuyerReference, CII: ram:BuyerReference."
    ),
    "BR-DE-16": (
        "For taxable supplies the seller's VAT identifier (BT-31), tax number (BT-32) or a tax "
        "representative (BG-11) must be given."
    ),
    "BR-DE-17": (
        "The invoice type code (BT-3) should be one of the codes XRechnung provides: 380 invoice, 381 credit "
        "note, 384 corrected invoice, 389 self-billed invoice, 326 partial invoice, 875/876/877 construction "
        "invoices."
    ),
    "BR-DE-18": (
        "Cash discount (Skonto) entries in the payment terms (BT-20) have a fixed format: each line "
        "#SKONTO#TAGE=14#PROZENT=2.00# followed by a line break; optionally #BASISBETRAG=100.00# before the "
        "final #. Upper case, dot as decimal separator, exactly two decimals, no spaces."
    ),
    "BR-DE-19": (
        "With payment means 58 (SEPA credit transfer) the account (BT-84) should be a valid IBAN. Please "
        "check it for typos and give it without spaces."
    ),
    "BR-DE-20": (
        "With payment means 59 (SEPA direct debit) the debited account (BT-91) should be a valid IBAN."
    ),
    "BR-DE-21": (
        "The specification identifier (BT-24) is not XRechnung's. For XRechnung 3.0 it is exactly "
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0 (no spaces)."
    ),
    "BR-DE-22": "Several attachments have the same file name. Each attachment needs its own name.",
    "BR-DE-23": (
        "For credit transfer (payment means 30 or 58) the account details (BG-17, IBAN) are required; card "
        "details (BG-18) and a direct debit mandate (BG-19) must not be present."
    ),
    "BR-DE-24": (
        "For card payment (payment means 48, 54 or 55) the card details (BG-18) are required; account "
        "details (BG-17) and a direct debit mandate (BG-19) must not be present."
    ),
    "BR-DE-25": (
        "For direct debit (payment means 59) the mandate (BG-19) is required; credit transfer account "
        "details (BG-17) and card details (BG-18) must not be present."
    ),
    "BR-DE-26": (
        "A corrected invoice (type code 384) should reference the original invoice (BG-3: number and date of "
        "the preceding invoice)."
    ),
    "BR-DE-27": "The telephone number (BT-42) should contain at least three digits.",
    "BR-DE-28": (
        "The e-mail address (BT-43) is not valid, e.g. invoice@company.com (exactly one @, no spaces)."
    ),
    "BR-DE-29": "For direct debit (BG-19) the mandate reference (BT-89) must be given.",
    "BR-DE-30": "For direct debit (BG-19) the bank assigned creditor identifier (BT-90) must be given.",
    "BR-DE-31": "For direct debit (BG-19) the IBAN of the account to be debited (BT-91) must be given.",
    "BR-DE-TMP-32": (
        "The invoice should state the delivery date: actual delivery date (BT-72), invoicing period (BG-14) "
        "or a period on every line (BG-26)."
    ),
    "BR-TMP-2": (
        "The external document location (BT-124) must be an absolute URL, e.g. https://www.example.com/a.pdf."
    ),
    "PEPPOL-EN16931-R001": (
        "The business process (BT-23, cbc:ProfileID) is missing; in Peppol usually "
        "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0."
    ),
    "PEPPOL-EN16931-R003": "A buyer reference (BT-10) or a purchase order reference (BT-13) must be given.",
    "PEPPOL-EN16931-R008": (
        "The invoice contains empty elements (e.g. <cbc:Note/>). Empty elements are not allowed – omit or "
        "fill them."
    ),
    "PEPPOL-EN16931-R010": (
        "The buyer's electronic address (BT-49, cbc:EndpointID with schemeID) is missing, e.g. their "
        "Leitweg-ID (schemeID 0204) or Peppol ID."
    ),
    "PEPPOL-EN16931-R053": (
        "Only one tax total (cac:TaxTotal) with a VAT breakdown is allowed; a second TaxTotal is only "
        "allowed for the VAT accounting currency and then without breakdown."
    ),
    "PEPPOL-EN16931-R120": (
        "The line net amount (BT-131) must equal quantity × (price ÷ base quantity) plus line charges minus "
        "line allowances. Please check the line's calculation and rounding."
    ),
    "PEPPOL-EN16931-R121": "The price base quantity (BT-149) must be greater than zero.",
    "UBL-CR-646": (
        "Sub invoice lines (SubInvoiceLine) are only allowed in the XRechnung extension. Send the invoice "
        "without sub lines or use the extension identifier in BT-24."
    ),
    "CII-SR-452": "Only one set of payment terms (SpecifiedTradePaymentTerms) is allowed.",
    "CII-SR-453": (
        "Only one payment terms description (SpecifiedTradePaymentTerms/Description) is allowed; several "
        "lines (e.g. cash discount) belong into the same description."
    ),
    "CII-SR-454": "Each invoice line must have exactly one VAT entry (ApplicableTradeTax).",
}

# Families of rules that share one explanation; checked in order after the exact ids.
_FAMILIES: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (re.compile(r"^BR-CL-(10|11|21|26)$"), {
        "de": "Das Kennungsschema (Attribut schemeID) ist kein Code der Liste ISO 6523 ICD, z. B. 0088 "
              "für GLN. Ohne gültiges Schema die schemeID weglassen.",
        "en": "The identifier scheme (attribute schemeID) is not an ISO 6523 ICD code, e.g. 0088 for GLN. "
              "Without a valid scheme, omit the schemeID.",
    }),
    (re.compile(r"^BR-CL-"), {
        "de": "Ein Code stammt nicht aus der vorgeschriebenen Codeliste. Bitte den Wert an der Fundstelle "
              "mit der in der Meldung genannten Liste abgleichen (Tippfehler, Leerzeichen, "
              "Groß-/Kleinschreibung).",
        "en": "A code is not from the required code list. Please compare the value at the location with "
              "the list named in the message (typos, spaces, upper/lower case).",
    }),
    (re.compile(r"^UBL-CR-"), {
        "de": "Die Rechnung enthält ein UBL-Element, das in EN 16931 nicht vorgesehen ist. Der Empfänger "
              "wertet es nicht aus; es sollte in der Rechnungssoftware weggelassen werden.",
        "en": "The invoice contains a UBL element that EN 16931 does not use. The recipient ignores it; "
              "the invoicing software should leave it out.",
    }),
    (re.compile(r"^CII-SR-"), {
        "de": "Die Rechnung enthält ein CII-Element, das in EN 16931 nicht vorgesehen ist oder zu oft "
              "vorkommt. Es sollte in der Rechnungssoftware weggelassen werden.",
        "en": "The invoice contains a CII element that EN 16931 does not use or that occurs too often. "
              "The invoicing software should leave it out.",
    }),
    (re.compile(r"^(UBL|CII)-DT-"), {
        "de": "Ein Attribut ist an dieser Stelle in EN 16931 nicht vorgesehen und sollte weggelassen werden.",
        "en": "An attribute is not used by EN 16931 at this place and should be left out.",
    }),
    (re.compile(r"^(UBL|CII)-SR-"), {
        "de": "Ein Element kommt öfter vor als erlaubt oder fehlt. Bitte die Struktur an der Fundstelle "
              "prüfen.",
        "en": "An element occurs more often than allowed or is missing. Please check the structure at the "
              "location.",
    }),
    (re.compile(r"^BR-DEX-"), {
        "de": "Regel der XRechnung-Extension: die Meldung nennt die betroffene Angabe.",
        "en": "Rule of the XRechnung extension: the message names the field concerned.",
    }),
    (re.compile(r"^BR-DE-"), {
        "de": "Nationale Regel der XRechnung (Deutschland): die Meldung nennt die betroffene Angabe "
              "(BT-/BG-Nummer).",
        "en": "German national XRechnung rule: the message names the field concerned (BT/BG number).",
    }),
    (re.compile(r"^XML-"), {
        "de": "Die Datei konnte nicht als XML gelesen werden. Bitte die Rechnung erneut exportieren und "
              "unverändert senden.",
        "en": "The file could not be read as XML. Please export the invoice again and send it unchanged.",
    }),
    (re.compile(r"^PDF-"), {
        "de": "Die PDF-Datei ist keine gültige ZUGFeRD-/Factur-X-Rechnung (eingebettete XML-Datei oder "
              "Metadaten fehlen oder passen nicht zusammen). Bitte das PDF mit der Rechnungssoftware neu "
              "erzeugen.",
        "en": "The PDF is not a valid ZUGFeRD/Factur-X invoice (the embedded XML or its metadata is "
              "missing or inconsistent). Please create the PDF again with the invoicing software.",
    }),
]

_CATALOG = {"de": _DE, "en": _EN}
_VARIANT = re.compile(r"^(BR-DE-\d+)-[a-z]$")


def hint_for(rule: str, lang: str = "de") -> str | None:
    """A plain-language explanation of what to change for ``rule``, or None if there is none."""
    code = normalize_lang(lang)
    catalog = _CATALOG[code]
    rule = rule.strip()
    if rule in catalog:
        return catalog[rule]
    variant = _VARIANT.match(rule)
    if variant and variant.group(1) in catalog:  # BR-DE-23-a / BR-DE-23-b share one hint
        return catalog[variant.group(1)]
    for pattern, texts in _FAMILIES:
        if pattern.search(rule):
            return texts[code]
    return None


def known_rules() -> frozenset[str]:
    """Rule ids with a specific (not family) hint; both languages cover the same ids."""
    return frozenset(_DE)
