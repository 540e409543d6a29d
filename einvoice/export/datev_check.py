"""Format check for DATEV Buchungsstapel files (EXTF 700, category 21, format version 13).

Checks what DATEV's import checks first and what breaks imports in practice: the encoding
(Windows-1252, no BOM), CR LF line ends, the header's 31 fields and their values, the 125 column
headings, the same number of fields in every row, quoting of text fields, amounts with a decimal
comma, dates (TTMM inside the header's date range, which lies in one fiscal year), account
numbers, and field lengths. Independent of the writer: it parses the bytes itself.

``python -m einvoice.export.datev_check FILE...`` prints the problems (exit code 1 if any).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from einvoice.export import datev_format as fmt

_AMOUNT = re.compile(r"\d{1,10},\d{2}")
_SKONTO = re.compile(r"\d{1,8},\d{2}")
_ACCOUNT = re.compile(r"\d{1,9}")
_TTMM = re.compile(r"(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])")
_TTMMJJJJ = re.compile(r"(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{4}")
_DOC1 = re.compile(f"[{re.escape(fmt.DOC1_ALLOWED)}]{{0,36}}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Field:
    value: str
    quoted: bool


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, line: int, text: str) -> None:
        self.problems.append(f"line {line}: {text}")


def split_line(line: str) -> list[Field]:
    """Split one line at ``;`` outside quotes; ``""`` inside quotes is a quote (DATEV's CSV rules).

    Raises ``ValueError`` for an unterminated quote or text after a closing quote.
    """
    fields: list[Field] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            i += 1
            chars = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quoted field")
                if line[i] == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        chars.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                chars.append(line[i])
                i += 1
            if i < n and line[i] != ";":
                raise ValueError(f"text after a closing quote at character {i + 1}")
            fields.append(Field("".join(chars), True))
        else:
            end = line.find(";", i)
            end = n if end < 0 else end
            value = line[i:end]
            if '"' in value:
                raise ValueError(f"stray quote in unquoted field {value!r}")
            fields.append(Field(value, False))
            i = end
        if i >= n:
            return fields
        i += 1  # the separator
        if i == n:
            fields.append(Field("", False))
            return fields


def check_bytes(data: bytes) -> CheckResult:
    """Every problem found in ``data``; an empty list means the file passes."""
    result = CheckResult()
    if data.startswith(b"\xef\xbb\xbf"):
        result.add(1, "starts with a UTF-8 byte order mark; DATEV expects Windows-1252")
    if not data.isascii() and _is_utf8(data):
        # Windows-1252 text with umlauts is practically never valid UTF-8: this file is UTF-8,
        # and DATEV would show "BÃ¼ro" for "Büro".
        result.add(1, "not Windows-1252: the text is UTF-8 encoded (umlauts would arrive garbled)")
        return result
    try:
        content = data.decode(fmt.ENCODING)
    except UnicodeDecodeError as exc:
        result.add(data[: exc.start].count(b"\n") + 1, f"not Windows-1252 (byte 0x{data[exc.start]:02x})")
        return result
    if not content.endswith(fmt.NEWLINE):
        result.add(content.count("\n") + 1, "the last line does not end with CR LF")
    body = content[: -len(fmt.NEWLINE)] if content.endswith(fmt.NEWLINE) else content
    lines = body.split(fmt.NEWLINE)
    for number, line in enumerate(lines, start=1):
        if "\r" in line or "\n" in line:
            result.add(number, "line break that is not CR LF (a bare CR or LF)")
    if len(lines) < 2:
        result.add(1, "a Buchungsstapel needs the header line and the column headings")
        return result
    parsed: list[list[Field]] = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(split_line(line))
        except ValueError as exc:
            result.add(number, str(exc))
            parsed.append([])
    header = _check_header(parsed[0], result)
    _check_columns(parsed[1], result)
    result.rows = len(parsed) - 2
    if result.rows == 0:
        result.add(2, "the batch has no bookings")
    if result.rows > fmt.MAX_ROWS:
        result.add(len(parsed), f"{result.rows} bookings exceed DATEV's limit of {fmt.MAX_ROWS}")
    for number, row in enumerate(parsed[2:], start=3):
        if row:
            _check_row(number, row, header, result)
    return result


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_file(path: Path) -> CheckResult:
    return check_bytes(path.read_bytes())


@dataclass(frozen=True)
class _Header:
    date_from: date | None
    date_to: date | None
    account_length: int


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _yyyymmdd(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y%m%d").date() if re.fullmatch(r"\d{8}", value) else None
    except ValueError:
        return None


def _check_header(fields: list[Field], result: CheckResult) -> _Header:
    fallback = _Header(None, None, 9)
    if len(fields) != fmt.HEADER_FIELDS:
        result.add(1, f"the header has {len(fields)} fields; EXTF 700 has {fmt.HEADER_FIELDS}")
        if len(fields) < fmt.H_CURRENCY:
            return fallback

    def value(position: int) -> str:
        return fields[position - 1].value if position <= len(fields) else ""

    def expect(position: int, wanted: str, name: str) -> None:
        if value(position) != wanted:
            result.add(1, f"header field {position} ({name}) is {value(position)!r}, expected {wanted!r}")

    for position, item in enumerate(fields, start=1):
        if position in fmt.HEADER_TEXT_FIELDS and item.value and not item.quoted:
            result.add(1, f"header field {position} is text and must be in double quotes")
        if position not in fmt.HEADER_TEXT_FIELDS and item.quoted:
            result.add(1, f"header field {position} is a number and must not be quoted")
        if _CONTROL.search(item.value):
            result.add(1, f"header field {position} contains a control character")
    expect(fmt.H_MARK, fmt.HEADER_MARK, "Kennzeichen")
    expect(fmt.H_VERSION, str(fmt.HEADER_VERSION), "Versionsnummer")
    expect(fmt.H_CATEGORY, str(fmt.CATEGORY), "Formatkategorie")
    expect(fmt.H_NAME, fmt.FORMAT_NAME, "Formatname")
    expect(fmt.H_FORMAT_VERSION, str(fmt.FORMAT_VERSION), "Formatversion")
    created = value(fmt.H_CREATED)
    try:
        datetime.strptime(created[:14], "%Y%m%d%H%M%S")
        if not re.fullmatch(r"\d{17}", created):
            raise ValueError
    except ValueError:
        result.add(1, f"header field 6 (Erzeugt am) {created!r} is not YYYYMMDDHHMMSSFFF")
    if not re.fullmatch(r"([A-Z]{2})?", value(fmt.H_ORIGIN)):
        result.add(1, "header field 8 (Herkunft) must be two capital letters")
    if len(value(fmt.H_EXPORTED_BY)) > 25 or len(value(fmt.H_IMPORTED_BY)) > 25:
        result.add(1, "header fields 9/10 (Exportiert/Importiert von) allow 25 characters")
    consultant, client = _int(value(fmt.H_CONSULTANT)), _int(value(fmt.H_CLIENT))
    if consultant is None or not 1001 <= consultant <= 9_999_999:
        result.add(1, f"header field 11 (Beraternummer) {value(fmt.H_CONSULTANT)!r} is not 1001-9999999")
    if client is None or not 1 <= client <= 99_999:
        result.add(1, f"header field 12 (Mandantennummer) {value(fmt.H_CLIENT)!r} is not 1-99999")
    fy_start = _yyyymmdd(value(fmt.H_FY_START))
    if fy_start is None:
        result.add(1, f"header field 13 (WJ-Beginn) {value(fmt.H_FY_START)!r} is not a date YYYYMMDD")
    length = _int(value(fmt.H_ACCOUNT_LENGTH))
    if length is None or not 4 <= length <= 9:
        result.add(1, f"header field 14 (Sachkontenlänge) {value(fmt.H_ACCOUNT_LENGTH)!r} is not 4-9")
        length = 9
    date_from, date_to = _yyyymmdd(value(fmt.H_DATE_FROM)), _yyyymmdd(value(fmt.H_DATE_TO))
    if date_from is None or date_to is None:
        result.add(1, "header fields 15/16 (Datum vom/bis) must be dates YYYYMMDD")
    elif date_from > date_to:
        result.add(1, "header field 15 (Datum vom) lies after field 16 (Datum bis)")
    elif fy_start is not None:
        next_start = fy_start.replace(year=fy_start.year + 1)
        if not (fy_start <= date_from and date_to < next_start):
            result.add(1, "the date range (fields 15/16) must lie inside the fiscal year starting at field 13")
    if len(value(fmt.H_LABEL)) > 30:
        result.add(1, "header field 17 (Bezeichnung) allows 30 characters")
    if not re.fullmatch(r"([A-Z]{2})?", value(fmt.H_DICTATION)):
        result.add(1, "header field 18 (Diktatkürzel) must be two capital letters or empty")
    if value(fmt.H_BOOKING_TYPE) not in ("1", "2"):
        result.add(1, "header field 19 (Buchungstyp) must be 1 or 2")
    if value(fmt.H_PURPOSE) not in ("", "0", "30", "40", "50", "64"):
        result.add(1, "header field 20 (Rechnungslegungszweck) must be 0, 30, 40, 50 or 64")
    if value(fmt.H_LOCKED) not in ("0", "1"):
        result.add(1, "header field 21 (Festschreibung) must be 0 or 1")
    if not re.fullmatch(r"[A-Z]{3}", value(fmt.H_CURRENCY)):
        result.add(1, "header field 22 (WKZ) must be an ISO currency code such as EUR")
    if not re.fullmatch(r"(\d{2})?", value(fmt.H_CHART)):
        result.add(1, "header field 27 (SKR) must be two digits or empty")
    return _Header(date_from, date_to, length)


def _check_columns(fields: list[Field], result: CheckResult) -> None:
    names = tuple(f.value for f in fields)
    if len(names) != fmt.COLUMN_COUNT:
        result.add(2, f"the column headings have {len(names)} fields; format version 13 has {fmt.COLUMN_COUNT}")
    for position, (found, wanted) in enumerate(zip(names, fmt.COLUMNS, strict=False), start=1):
        if found != wanted:
            result.add(2, f"column {position} is headed {found!r}, expected {wanted!r}")
            break


def _check_row(number: int, fields: list[Field], header: _Header, result: CheckResult) -> None:
    if len(fields) != fmt.COLUMN_COUNT:
        result.add(number, f"{len(fields)} fields; every row needs {fmt.COLUMN_COUNT}")
        return

    def value(position: int) -> str:
        return fields[position - 1].value

    def problem(position: int, text: str) -> None:
        result.add(number, f"column {position} ({fmt.COLUMNS[position - 1]}): {text}")

    for position, item in enumerate(fields, start=1):
        limit = fmt.TEXT_LIMITS.get(position)
        if _CONTROL.search(item.value):
            problem(position, "contains a control character")
        if limit is not None:
            if item.value and not item.quoted:
                problem(position, "text must be in double quotes")
            if len(item.value) > limit:
                problem(position, f"{len(item.value)} characters; at most {limit}")
        elif item.quoted:
            problem(position, "numbers and dates must not be quoted")
    umsatz = value(fmt.C_AMOUNT)
    if not _AMOUNT.fullmatch(umsatz):
        problem(fmt.C_AMOUNT, f"{umsatz!r} is not an amount like 1234,56 (decimal comma, no sign)")
    elif umsatz.replace(",", "").strip("0") == "":
        problem(fmt.C_AMOUNT, "the amount must be positive")
    if value(fmt.C_DEBIT_CREDIT) not in ("S", "H"):
        problem(fmt.C_DEBIT_CREDIT, "must be S or H")
    if value(fmt.C_CURRENCY) and not re.fullmatch(r"[A-Z]{3}", value(fmt.C_CURRENCY)):
        problem(fmt.C_CURRENCY, "must be an ISO currency code")
    for position, longest in ((fmt.C_ACCOUNT, header.account_length + 1), (fmt.C_CONTRA, header.account_length + 1)):
        account = value(position)
        if not _ACCOUNT.fullmatch(account):
            problem(position, f"{account!r} is not an account number (1-9 digits)")
        elif len(account) > longest:
            problem(position, f"{account} is longer than {longest} digits (Sachkontenlänge {header.account_length})")
    if value(fmt.C_TAX_KEY) and not re.fullmatch(r"\d{1,4}", value(fmt.C_TAX_KEY)):
        problem(fmt.C_TAX_KEY, "BU-Schlüssel must be up to 4 digits")
    _check_document_date(value(fmt.C_DATE), header, lambda text: problem(fmt.C_DATE, text))
    if not value(fmt.C_DOC1):
        problem(fmt.C_DOC1, "Belegfeld 1 (invoice number) is empty")
    elif not _DOC1.fullmatch(value(fmt.C_DOC1)):
        problem(fmt.C_DOC1, "only letters, digits and $ % - / are allowed")
    if value(fmt.C_SKONTO) and not _SKONTO.fullmatch(value(fmt.C_SKONTO)):
        problem(fmt.C_SKONTO, f"{value(fmt.C_SKONTO)!r} is not an amount like 12,34")
    if value(fmt.C_DUE) and not _TTMMJJJJ.fullmatch(value(fmt.C_DUE)):
        problem(fmt.C_DUE, "must be a date TTMMJJJJ")


def _check_document_date(value: str, header: _Header, problem: Callable[[str], None]) -> None:
    if not _TTMM.fullmatch(value):
        problem(f"Belegdatum {value!r} is not TTMM")
        return
    if header.date_from is None or header.date_to is None:
        return
    day, month = int(value[:2]), int(value[2:])
    for year in range(header.date_from.year, header.date_to.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if header.date_from <= candidate <= header.date_to:
            return
    problem(f"Belegdatum {value} lies outside the header's date range "
            f"{header.date_from:%d.%m.%Y}-{header.date_to:%d.%m.%Y}")


def main(argv: list[str] | None = None) -> int:
    failed = False
    for name in argv if argv is not None else sys.argv[1:]:
        result = check_file(Path(name))
        if result.ok:
            print(f"{name}: OK ({result.rows} bookings)")
        else:
            failed = True
            print(f"{name}: {len(result.problems)} problem(s)")
            for text in result.problems:
                print(f"  {text}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
