"""Just enough XPath lexing for the compiler's rewrites: tokens, brackets, arguments, names.

The compiler never needs a full XPath parser. It recognises a few idioms by their tokens
(:mod:`einvoice.schematron.rewrite`, :mod:`einvoice.schematron.patterns`) and leaves every
expression it does not fully understand untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# XML name characters (NameStartChar / NameChar), as regular-expression classes.
_NAME_START = (r"A-Za-z_\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
               r"\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD")
_NAME_CHAR = _NAME_START + r"\-.0-9\u00B7\u0300-\u036F\u203F-\u2040"
_NCNAME = f"[{_NAME_START}][{_NAME_CHAR}]*"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<var>\$\s*(?:Q\{{[^{{}}]*\}}{_NCNAME}|{_NCNAME}(?::{_NCNAME})?))
  | (?P<name>Q\{{[^{{}}]*\}}(?:{_NCNAME}|\*)|(?:{_NCNAME}|\*):(?:{_NCNAME}|\*)|{_NCNAME}|\*)
  | (?P<op>//|::|:=|!=|<=|>=|<<|>>|=>|\|\||\.\.|[()\[\]{{}},/@|=<>+\-!?#.:;^%&~])
    """,
    re.VERBOSE,
)


class XPathSyntaxError(ValueError):
    """The text is not something this lexer understands; callers then leave it unchanged."""


@dataclass(frozen=True)
class Token:
    """One lexical token and where it stands in the expression (for splicing rewrites in)."""

    kind: str  # "str" | "num" | "var" | "name" | "op"
    text: str
    start: int
    end: int


def tokenize(expr: str) -> list[Token]:
    """Tokens without whitespace and comments; raises XPathSyntaxError on anything unexpected."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(expr):
        if expr.startswith("(:", pos):
            pos = _skip_comment(expr, pos)
            continue
        match = _TOKEN.match(expr, pos)
        if match is None or match.end() == pos:
            raise XPathSyntaxError(f"cannot lex {expr[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos, match.end()))
        pos = match.end()
    return tokens


def _skip_comment(expr: str, pos: int) -> int:
    depth = 0
    while pos < len(expr):
        if expr.startswith("(:", pos):
            depth += 1
            pos += 2
        elif expr.startswith(":)", pos):
            depth -= 1
            pos += 2
            if depth == 0:
                return pos
        elif expr[pos] in "'\"":
            pos += 1  # quotes inside comments are plain characters
        else:
            pos += 1
    raise XPathSyntaxError("unterminated comment")


def string_value(token: Token) -> str:
    """The value of a string literal token (doubled quotes undone)."""
    quote = token.text[0]
    return token.text[1:-1].replace(quote * 2, quote)


def string_literal(value: str) -> str:
    """An XPath string literal for ``value``."""
    return "'" + value.replace("'", "''") + "'"


def closing(tokens: list[Token], open_index: int) -> int:
    """Index of the bracket that closes ``tokens[open_index]``."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    for i in range(open_index, len(tokens)):
        text = tokens[i].text if tokens[i].kind == "op" else ""
        if text in pairs:
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return i
    raise XPathSyntaxError("unbalanced brackets")


def split_arguments(tokens: list[Token], open_index: int, close_index: int) -> list[tuple[int, int]]:
    """(first, last+1) token ranges of the comma-separated arguments between two brackets."""
    args: list[tuple[int, int]] = []
    depth = 0
    start = open_index + 1
    for i in range(open_index + 1, close_index):
        token = tokens[i]
        if token.kind != "op":
            continue
        if token.text in ("(", "[", "{"):
            depth += 1
        elif token.text in (")", "]", "}"):
            depth -= 1
        elif token.text == "," and depth == 0:
            args.append((start, i))
            start = i + 1
    if start < close_index or args:
        args.append((start, close_index))
    return args


def strip_parens(tokens: list[Token]) -> list[Token]:
    """Without parentheses that enclose the whole expression."""
    while len(tokens) >= 2 and tokens[0].kind == "op" and tokens[0].text == "(" \
            and closing(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    return tokens


def is_op(tokens: list[Token], i: int, text: str) -> bool:
    return i < len(tokens) and tokens[i].kind == "op" and tokens[i].text == text


def is_function(tokens: list[Token], i: int, name: str) -> bool:
    return i < len(tokens) and tokens[i].kind == "name" and tokens[i].text in (name, f"fn:{name}") \
        and is_op(tokens, i + 1, "(")


def is_name_call(tokens: list[Token], name: str) -> bool:
    """``name()`` / ``name(.)`` (the context node's name)."""
    if not is_function(tokens, 0, name):
        return False
    return len(tokens) == 3 or (len(tokens) == 4 and is_op(tokens, 2, "."))


# After these tokens an operand must follow, so "and"/"or" there is a name test, not an operator.
_OPERAND_EXPECTED = {"/", "//", "@", "::", "(", "[", "{", ",", "|", "=", "!=", "<", "<=", ">", ">="}


def split_keyword(tokens: list[Token], keyword: str) -> list[list[Token]]:
    """Split at top-level ``and``/``or`` operators."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in ("(", "[", "{"):
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
        is_operator = bool(parts[-1]) and not (
            parts[-1][-1].kind == "op" and parts[-1][-1].text in _OPERAND_EXPECTED
        )
        if depth == 0 and token.kind == "name" and token.text == keyword and is_operator:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def expanded_name(qname: str, namespaces: dict[str, str]) -> str:
    """``{uri}local`` for a lexical QName of an element name test (no prefix: no namespace)."""
    if qname.startswith("Q{"):
        uri, _, local = qname[2:].partition("}")
        return f"{{{uri}}}{local}"
    prefix, _, local = qname.rpartition(":")
    uri = namespaces[prefix] if prefix else ""  # KeyError for an undeclared prefix: caller gives up
    return f"{{{uri}}}{local}"


def name_tests(expr: str, namespaces: dict[str, str]) -> set[str]:
    """Expanded names of the prefixed element name tests in an expression (a superset is fine)."""
    try:
        tokens = tokenize(expr)
    except XPathSyntaxError:
        return set()
    names = set()
    for i, token in enumerate(tokens):
        if token.kind != "name" or ":" not in token.text or "*" in token.text:
            continue
        if is_op(tokens, i + 1, "(") or is_op(tokens, i + 1, "::") or is_op(tokens, i - 1, "@"):
            continue
        try:
            names.add(expanded_name(token.text, namespaces))
        except KeyError:
            continue
    return names


def binds_variable(expr: str, name: str) -> bool:
    """Does ``expr`` bind ``$name`` itself (for/let/some/every, inline function)? Then it may shadow."""
    try:
        tokens = tokenize(expr)
    except XPathSyntaxError:
        return True
    for i, token in enumerate(tokens):
        if token.kind == "name" and token.text == "function" and i + 1 < len(tokens) and tokens[i + 1].text == "(":
            return True
        if token.kind == "var" and token.text[1:].strip() == name and i + 1 < len(tokens):
            if tokens[i + 1].kind == "op" and tokens[i + 1].text == ":=":
                return True
            if tokens[i + 1].kind == "name" and tokens[i + 1].text == "in":
                return True
    return False


def constant_string(expr: str, variables: Callable[[str], str | None]) -> str | None:
    """Value of a string literal or ``concat`` of literals and constant variables, else None."""
    try:
        tokens = tokenize(expr)
    except XPathSyntaxError:
        return None
    return _constant(strip_parens(tokens), variables)


def _constant(tokens: list[Token], variables: Callable[[str], str | None]) -> str | None:
    if len(tokens) == 1:
        if tokens[0].kind == "str":
            return string_value(tokens[0])
        if tokens[0].kind == "var":
            return variables(tokens[0].text[1:].strip())
        return None
    if len(tokens) >= 4 and tokens[0].kind == "name" and tokens[0].text in ("concat", "fn:concat") \
            and tokens[1].text == "(" and closing(tokens, 1) == len(tokens) - 1:
        parts = []
        for lo, hi in split_arguments(tokens, 1, len(tokens) - 1):
            value = _constant(tokens[lo:hi], variables)
            if value is None:
                return None
            parts.append(value)
        return "".join(parts) if len(parts) >= 2 else None
    return None
