"""Reply texts in German and English: receipt, rejection with reasons, nothing accepted, limits.

Each function returns (subject, body). The language comes from the mailbox setting (``lang``);
German is the default. Texts name the ledger id, so a supplier can refer to it when asking.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED_DE = ("XRechnung (UBL oder CII) als XML-Datei, ZUGFeRD/Factur-X als PDF mit eingebetteter XML, "
               "oder diese Dateien in einem ZIP-Archiv")
ACCEPTED_EN = ("XRechnung (UBL or CII) as an XML file, ZUGFeRD/Factur-X as a PDF with embedded XML, "
               "or these files in a ZIP archive")


@dataclass(frozen=True)
class Received:
    filename: str
    invoice_id: str
    again: bool  # the same file was received before


@dataclass(frozen=True)
class Reason:
    rule: str
    text: str  # plain-language hint, else the rule's message


def _re(title: str, subject: str) -> str:
    """Our title first (what happened), then the sender's subject so the reply is found in the thread."""
    subject = " ".join(subject.split())[:200]
    if not subject:
        return title
    return f"{title} - {subject if subject.lower().startswith(('re:', 'aw:')) else 'Re: ' + subject}"


def _problems(problems: list[str], lang: str) -> str:
    if not problems:
        return ""
    head = "Nicht verarbeitet:" if lang == "de" else "Not processed:"
    return f"\n{head}\n" + "".join(f"- {p}\n" for p in problems)


def acknowledgement(lang: str, subject: str, received: list[Received], problems: list[str],
                    message_id: str) -> tuple[str, str]:
    if lang == "en":
        lines = "".join(f"- {r.filename}: reference {r.invoice_id}"
                        f"{' (received before)' if r.again else ''}\n" for r in received)
        return (_re("Your invoice was received", subject), (
            "Hello,\n\n"
            f"we have received {len(received)} invoice file(s) from your message {message_id}:\n\n"
            f"{lines}{_problems(problems, lang)}\n"
            "The invoice is now checked automatically; if it cannot be accepted, you will receive "
            "a separate message with the reasons.\n\n"
            "This message was generated automatically.\n"))
    lines = "".join(f"- {r.filename}: Referenz {r.invoice_id}"
                    f"{' (bereits früher eingegangen)' if r.again else ''}\n" for r in received)
    return (_re("Eingangsbestätigung Ihrer Rechnung", subject), (
        "Guten Tag,\n\n"
        f"wir haben aus Ihrer Nachricht {message_id} {len(received)} Rechnungsdatei(en) erhalten:\n\n"
        f"{lines}{_problems(problems, lang)}\n"
        "Die Rechnung wird jetzt automatisch geprüft; kann sie nicht angenommen werden, erhalten Sie "
        "eine gesonderte Nachricht mit den Gründen.\n\n"
        "Diese Nachricht wurde automatisch erstellt.\n"))


def no_invoice(lang: str, subject: str, found: list[str], problems: list[str],
               message_id: str) -> tuple[str, str]:
    if lang == "en":
        files = ", ".join(found) if found else "no attachment"
        return (_re("No invoice found in your message", subject), (
            "Hello,\n\n"
            f"your message {message_id} contains no electronic invoice we can process (found: {files}).\n"
            f"{_problems(problems, lang)}\n"
            f"We accept: {ACCEPTED_EN}. A scanned or plain PDF is not an electronic invoice.\n"
            "Please send one message per invoice with the file attached.\n\n"
            "This message was generated automatically.\n"))
    files = ", ".join(found) if found else "kein Anhang"
    return (_re("Keine Rechnung in Ihrer Nachricht", subject), (
        "Guten Tag,\n\n"
        f"Ihre Nachricht {message_id} enthält keine elektronische Rechnung, die wir verarbeiten können "
        f"(gefunden: {files}).\n{_problems(problems, lang)}\n"
        f"Wir nehmen an: {ACCEPTED_DE}. Ein gescanntes oder einfaches PDF ist keine elektronische Rechnung.\n"
        "Bitte senden Sie je Rechnung eine Nachricht mit der Datei im Anhang.\n\n"
        "Diese Nachricht wurde automatisch erstellt.\n"))


def _size(size: int, lang: str) -> str:
    text = f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / (1024 * 1024):.1f} MB"
    return text.replace(".", ",") if lang == "de" else text


def too_large(lang: str, subject: str, size: int, limit: int, message_id: str) -> tuple[str, str]:
    if lang == "en":
        return (_re("Your message is too large", subject), (
            "Hello,\n\n"
            f"your message {message_id} is {_size(size, lang)}, more than our limit of {_size(limit, lang)}; "
            "it was not processed.\nPlease send the invoice file alone (an e-invoice is usually far smaller), "
            "one message per invoice.\n\nThis message was generated automatically.\n"))
    return (_re("Ihre Nachricht ist zu groß", subject), (
        "Guten Tag,\n\n"
        f"Ihre Nachricht {message_id} ist {_size(size, lang)} groß, mehr als unsere Grenze von "
        f"{_size(limit, lang)}; sie wurde nicht verarbeitet.\nBitte senden Sie nur die Rechnungsdatei "
        "(eine E-Rechnung ist meist viel kleiner), je Rechnung eine Nachricht.\n\n"
        "Diese Nachricht wurde automatisch erstellt.\n"))


def too_many(lang: str, subject: str, count: int, limit: int, message_id: str) -> tuple[str, str]:
    if lang == "en":
        return (_re("Too many attachments", subject), (
            "Hello,\n\n"
            f"your message {message_id} has {count} attachments, more than our limit of {limit}; it was not "
            "processed.\nPlease send one message per invoice.\n\nThis message was generated automatically.\n"))
    return (_re("Zu viele Anhänge", subject), (
        "Guten Tag,\n\n"
        f"Ihre Nachricht {message_id} hat {count} Anhänge, mehr als unsere Grenze von {limit}; sie wurde "
        "nicht verarbeitet.\nBitte senden Sie je Rechnung eine Nachricht.\n\n"
        "Diese Nachricht wurde automatisch erstellt.\n"))


def rejection(lang: str, *, filename: str, number: str | None, invoice_id: str, summary: str,
              reasons: list[Reason], more: int) -> tuple[str, str]:
    number = " ".join((number or "").split())[:100] or None  # from the document: one line, short
    filename = " ".join(filename.split())[:200]
    listed = "".join(f"- {r.rule}: {r.text}\n" for r in reasons)
    if lang == "en":
        extra = f"- … and {more} more, see the attached report\n" if more else ""
        title = f"Invoice {number} rejected" if number else f"Invoice {filename} rejected"
        return (title, (
            "Hello,\n\n"
            f"your invoice {number or ''} (file {filename}, reference {invoice_id}) does not meet the "
            "requirements for electronic invoices and has been rejected; it will not be paid in this form.\n\n"
            f"Summary: {summary}\n\nWhat must be corrected:\n{listed}{extra}\n"
            "The attached report lists every finding. Please correct the invoice in your invoicing software "
            "and send it again as a new message.\n\nThis message was generated automatically.\n"))
    extra = f"- … und {more} weitere, siehe den beigefügten Prüfbericht\n" if more else ""
    title = f"Rechnung {number} abgelehnt" if number else f"Rechnung {filename} abgelehnt"
    return (title, (
        "Guten Tag,\n\n"
        f"Ihre Rechnung {number or ''} (Datei {filename}, Referenz {invoice_id}) erfüllt die Anforderungen an "
        "elektronische Rechnungen nicht und wurde abgelehnt; in dieser Form wird sie nicht bezahlt.\n\n"
        f"Zusammenfassung: {summary}\n\nWas zu korrigieren ist:\n{listed}{extra}\n"
        "Der beigefügte Prüfbericht nennt alle Befunde. Bitte korrigieren Sie die Rechnung in Ihrer "
        "Rechnungssoftware und senden Sie sie als neue Nachricht erneut.\n\n"
        "Diese Nachricht wurde automatisch erstellt.\n"))
