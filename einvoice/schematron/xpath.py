"""Just enough XPath lexing to rewrite a few test idioms into cheaper, exactly equivalent forms.

The compiler never needs a full XPath parser: it recognises two idioms that dominate the cost of
the CEN and XRechnung rules and leaves every other expression untouched.

* Code lists: ``contains(' A B C ', concat(' ', X, ' '))`` scans a string of up to 8,000 characters
  per test. For a non-empty ``X`` without a space the result is exactly "X is one of the
  space-separated tokens", which a map answers in one lookup; other values of ``X`` still go
  through the original ``contains`` (see :func:`rewrite_code_lists`).
* Absence tests: ``not(a/b/c)`` (a relative path of plain child and attribute steps) can only be
  false when an element named ``c`` exists somewhere in the document, and the document's
  per-name element index answers that in one lookup (see :func:`absence_guard`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAP_NS = "http://www.w3.org/2005/xpath-functions/map"

_NAME_START = r"A-Za-z_\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F" \
              r"\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD"
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
    return "'" + value.replace("'", "''") + "'"


def _closing(tokens: list[Token], open_index: int) -> int:
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


def _split_arguments(tokens: list[Token], open_index: int, close_index: int) -> list[tuple[int, int]]:
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


# ------------------------------------------------------------------ code lists


def code_list_tokens(value: str) -> frozenset[str] | None:
    """The values X (non-empty, no space) for which ``contains(value, concat(' ', X, ' '))`` holds.

    ``' X '`` occurs in ``value`` exactly when X is one of the pieces between two spaces, i.e. an
    inner piece of ``value.split(' ')``. None if the string is not a code list worth a map.
    """
    pieces = value.split(" ")[1:-1]
    tokens = frozenset(p for p in pieces if p)
    return tokens if len(tokens) >= 2 else None


CodeListResolver = Callable[[Token], "str | None"]
MapRegistry = Callable[[frozenset[str]], str]


def rewrite_code_lists(expr: str, resolve: CodeListResolver, register: MapRegistry) -> str:
    """Replace ``contains(LIST, concat(' ', X, ' '))`` by a map lookup with an exact fallback.

    ``resolve`` gives the string value of the first argument (a literal or a constant variable) or
    None; ``register`` returns the name of a global variable that holds the map of the tokens.
    The result binds ``concat('', X)`` once (same atomisation and errors as the original
    ``concat``); values that are empty or contain a space take the original ``contains``.
    """
    try:
        tokens = tokenize(expr)
    except XPathSyntaxError:
        return expr
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        rewritten = _code_list_call(expr, tokens, i, resolve, register)
        if rewritten is None:
            i += 1
            continue
        end_index, text = rewritten
        edits.append((tokens[i].start, tokens[end_index].end, text))
        i = end_index + 1
    for start, end, text in reversed(edits):
        expr = expr[:start] + text + expr[end:]
    return expr


def _code_list_call(
    expr: str, tokens: list[Token], i: int, resolve: CodeListResolver, register: MapRegistry
) -> tuple[int, str] | None:
    token = tokens[i]
    if not (token.kind == "name" and token.text in ("contains", "fn:contains")):
        return None
    if i + 1 >= len(tokens) or tokens[i + 1].text != "(" or tokens[i + 1].kind != "op":
        return None
    if i > 0 and tokens[i - 1].kind == "op" and tokens[i - 1].text in ("@", "::"):
        return None
    close = _closing(tokens, i + 1)
    args = _split_arguments(tokens, i + 1, close)
    if len(args) != 2:
        return None
    (a0, a1), (b0, b1) = args
    if a1 - a0 != 1 or tokens[a0].kind not in ("str", "var"):
        return None
    value = resolve(tokens[a0])
    if value is None:
        return None
    code_tokens = code_list_tokens(value)
    if code_tokens is None:
        return None
    # second argument: concat(' ', X, ' ') and nothing else
    if not (b1 - b0 >= 4 and tokens[b0].kind == "name" and tokens[b0].text in ("concat", "fn:concat")
            and tokens[b0 + 1].text == "(" and _closing(tokens, b0 + 1) == b1 - 1):
        return None
    inner = _split_arguments(tokens, b0 + 1, b1 - 1)
    if len(inner) != 3:
        return None
    (p0, p1), (x0, x1), (s0, s1) = inner
    for lo, hi in ((p0, p1), (s0, s1)):
        if hi - lo != 1 or tokens[lo].kind != "str" or string_value(tokens[lo]) != " ":
            return None
    if x1 <= x0:
        return None
    x_text = rewrite_code_lists(expr[tokens[x0].start:tokens[x1 - 1].end], resolve, register)
    list_text = expr[tokens[a0].start:tokens[a1 - 1].end]
    map_var = register(code_tokens)
    v = "$schxc:v"
    text = (
        f"(let {v} := concat('', {x_text}) return "
        f"if ({v} = '' or contains({v}, ' ')) then contains({list_text}, concat(' ', {v}, ' ')) "
        f"else Q{{{MAP_NS}}}contains(${map_var}, {v}))"
    )
    return close, text


def map_literal(values: frozenset[str]) -> str:
    """A map constructor with constant entries (Saxon builds it once, when compiling)."""
    return "map{" + ", ".join(f"{string_literal(v)}: 1" for v in sorted(values)) + "}"


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
    while len(tokens) >= 2 and tokens[0].text == "(" and _closing(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    return _constant(tokens, variables)


def _constant(tokens: list[Token], variables: Callable[[str], str | None]) -> str | None:
    if len(tokens) == 1:
        if tokens[0].kind == "str":
            return string_value(tokens[0])
        if tokens[0].kind == "var":
            return variables(tokens[0].text[1:].strip())
        return None
    if len(tokens) >= 4 and tokens[0].kind == "name" and tokens[0].text in ("concat", "fn:concat") \
            and tokens[1].text == "(" and _closing(tokens, 1) == len(tokens) - 1:
        parts = []
        for lo, hi in _split_arguments(tokens, 1, len(tokens) - 1):
            value = _constant(tokens[lo:hi], variables)
            if value is None:
                return None
            parts.append(value)
        return "".join(parts) if len(parts) >= 2 else None
    return None


# ------------------------------------------------------------------ name suffixes


def rewrite_name_suffixes(expr: str) -> str:
    """``ends-with(name(X), 'S')`` becomes ``ends-with(local-name(X), 'S')`` if S has no colon.

    ``name()`` is ``prefix:local`` (or ``local``); a suffix without a colon cannot reach into the
    prefix, so both tests agree, and ``local-name()`` needs no new string per node. CEN's syntax
    patterns (``//*[ends-with(name(), 'Amount')]``) test this on every element.
    """
    try:
        tokens = tokenize(expr)
    except XPathSyntaxError:
        return expr
    edits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        if not (token.kind == "name" and token.text in ("ends-with", "fn:ends-with") and _is_op(tokens, i + 1, "(")):
            continue
        if i > 0 and tokens[i - 1].kind == "op" and tokens[i - 1].text in ("@", "::"):
            continue
        close = _closing(tokens, i + 1)
        args = _split_arguments(tokens, i + 1, close)
        if len(args) != 2:
            continue
        (a0, a1), (b0, b1) = args
        suffix = tokens[b0] if b1 - b0 == 1 else None
        if suffix is None or suffix.kind != "str" or ":" in string_value(suffix):
            continue
        name = tokens[a0]
        if name.kind == "name" and name.text in ("name", "fn:name") and _is_op(tokens, a0 + 1, "(") \
                and _closing(tokens, a0 + 1) == a1 - 1:
            edits.append((name.start, name.end, "local-name"))
    for start, end, text in reversed(edits):
        expr = expr[:start] + text + expr[end:]
    return expr


# ------------------------------------------------------------------ absence tests


StepPath = tuple[str, ...]  # lexical steps of a plain path: "prefix:name" or "@name"


def absence_paths(test: str) -> list[StepPath] | None:
    """The plain paths P of a test ``not(P)``, or None if the test has another form.

    P is a sequence of name tests on the child axis, optionally starting with a parenthesised
    union of names (``(a|b)/c``, which gives two paths) and ending with attribute name tests,
    without predicates. Such a test is false exactly when one of the paths selects something,
    and evaluating a plain path can only fail if the context item is not a node. (Syntax rules
    forbid elements this way; ``count(P) <= 1`` looks similar, but there P usually exists, so a
    guard would only add work.)
    """
    try:
        tokens = tokenize(test)
    except XPathSyntaxError:
        return None
    tokens = _strip_parens(tokens)
    if len(tokens) < 4 or tokens[0].kind != "name" or tokens[0].text not in ("not", "fn:not"):
        return None
    if tokens[1].text != "(" or _closing(tokens, 1) != len(tokens) - 1:
        return None
    return _expand(_plain_path(_strip_parens(tokens[2:-1])))


def _expand(path: tuple[list[list[str]], list[str]] | None) -> list[StepPath] | None:
    if path is None:
        return None
    elements, attributes = path
    paths: list[list[str]] = [[]]
    for alternatives in elements:
        paths = [[*p, name] for p in paths for name in alternatives]
    return [tuple(p + [f"@{name}" for name in attributes]) for p in paths]


def absence_guard(test: str) -> str | None:
    """For ``not(P)`` with P a plain path, a cheap condition that is false only if P is empty.

    P can only select something if some element named like its last element step, with the
    parent named like the step before and the attributes named after it, exists in the same
    tree: that is the condition returned, ``exists(root(.)//c[parent::b][@x])``. Saxon answers
    ``root(.)//c`` from the tiny tree's per-name element index. None for every other test.
    """
    paths = absence_paths(test)
    if not paths or any(path[0] == "//" for path in paths):
        return None  # //a/b already uses the index; //@a has no index to use
    conditions = []
    for path in paths:
        elements = [step for step in path if not step.startswith("@")]
        if not elements:
            return None
        predicates = f"[parent::{elements[-2]}]" if len(elements) >= 2 else ""
        predicates += "".join(f"[{step}]" for step in path if step.startswith("@"))
        conditions.append(f"exists(root(.)//{elements[-1]}{predicates})")
    return " or ".join(dict.fromkeys(conditions))


def any_path_exists(paths: list[StepPath]) -> str:
    """``exists(...)`` of all paths at once, shared prefixes evaluated once (a trie of unions).

    ``exists(a/b | a/c/d)`` becomes ``exists(a/(b | c/d))``; one ``exists`` per distinct first
    step, joined with ``or``, so evaluation stops at the first hit.
    """
    groups: dict[str, list[StepPath]] = {}
    for path in paths:
        groups.setdefault(path[0], []).append(path)
    tests = []
    for head, group in groups.items():
        if head != "//":
            tests.append(f"exists({_trie(group)})")
            continue
        # //a/b: one test per first name (Saxon finds //a by its name index);
        # //@a | //@b: one walk over all nodes for all such attributes together.
        attributes = [p[1] for p in group if len(p) == 2 and p[1].startswith("@")]
        if attributes:
            tests.append(f"exists(//({' | '.join(dict.fromkeys(attributes))}))")
        by_name: dict[str, list[StepPath]] = {}
        for p in group:
            if not (len(p) == 2 and p[1].startswith("@")):
                by_name.setdefault(p[1], []).append(p[1:])
        tests += [f"exists(//{_trie(rests)})" for rests in by_name.values()]
    return " or ".join(tests)


def _trie(paths: list[StepPath]) -> str:
    groups: dict[str, list[StepPath]] = {}
    for path in paths:
        groups.setdefault(path[0], []).append(path[1:])
    parts = []
    for head, rests in groups.items():
        if any(not rest for rest in rests):
            parts.append(head)  # the head itself is wanted; anything below it implies it
        else:
            parts.append(f"{head}/{_trie(rests)}")
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _strip_parens(tokens: list[Token]) -> list[Token]:
    while len(tokens) >= 2 and tokens[0].kind == "op" and tokens[0].text == "(" \
            and _closing(tokens, 0) == len(tokens) - 1:
        tokens = tokens[1:-1]
    return tokens


def _is_plain_name(tokens: list[Token], i: int) -> bool:
    token = tokens[i]
    if token.kind != "name" or "*" in token.text or token.text.startswith("Q{"):
        return False
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    return following is None or not (following.kind == "op" and following.text in ("(", "::", "["))


def _is_op(tokens: list[Token], i: int, text: str) -> bool:
    return i < len(tokens) and tokens[i].kind == "op" and tokens[i].text == text


def _plain_path(tokens: list[Token]) -> tuple[list[list[str]], list[str]] | None:
    """Element steps (each a list of alternative names) and trailing attribute names, or None.

    Accepts ``(a|b)/c/d/@x/@y`` and its simpler forms, and ``//c/d/@x`` (then the first element
    step is ``["//"]``); anything else is not a plain path.
    """
    elements: list[list[str]] = []
    attributes: list[str] = []
    i = 0
    if _is_op(tokens, 0, "//"):
        elements.append(["//"])
        i = 1
    while True:
        if _is_op(tokens, i, "(") and i == 0:
            close = _closing(tokens, 0)
            names = tokens[1:close]
            if len(names) % 2 == 0:
                return None
            for k in range(0, len(names), 2):
                if not _is_plain_name(names, k) or (k + 1 < len(names) and not _is_op(names, k + 1, "|")):
                    return None
            elements.append([names[k].text for k in range(0, len(names), 2)])
            i = close + 1
        elif _is_op(tokens, i, "@"):
            if not (i + 1 < len(tokens) and _is_plain_name(tokens, i + 1)):
                return None
            attributes.append(tokens[i + 1].text)
            i += 2
        elif i < len(tokens) and _is_plain_name(tokens, i) and not attributes:
            elements.append([tokens[i].text])
            i += 1
        else:
            return None
        if i == len(tokens):
            return (elements, attributes) if elements != [["//"]] or attributes else None
        if not _is_op(tokens, i, "/"):
            return None
        i += 1


# ------------------------------------------------------------------ match patterns


@dataclass(frozen=True)
class Wildcard:
    """A wildcard name test (``*``, ``p:*``, ``*:local``) and the predicates of its step.

    Predicates that depend on the element name only (``ends-with(local-name(), 'Amount')``,
    ``self::p:x``, combined with and/or/not) are evaluated per name in :meth:`may_match`.
    """

    namespace: str | None  # None: any namespace
    local: str | None  # None: any local name
    predicates: tuple[tuple[Token, ...], ...] = ()

    def may_match(self, clark: str, namespaces: dict[str, str]) -> bool:
        uri, _, local = clark[1:].partition("}")
        if (self.namespace is not None and uri != self.namespace) or (self.local is not None and local != self.local):
            return False
        return all(_name_condition(list(p), uri, local, namespaces) is not False for p in self.predicates)


@dataclass(frozen=True)
class Targets:
    """Which nodes of those the walk visits a match pattern can possibly match.

    ``elements`` holds expanded names ``{uri}local``; ``wildcards`` element tests that may match
    other names; ``any_element`` means any element at all. The analysis is conservative:
    whatever it does not understand counts as "may match anything".
    """

    elements: frozenset[str] = frozenset()
    any_element: bool = False
    attributes: bool = False
    document: bool = False
    wildcards: frozenset[Wildcard] = frozenset()

    def __or__(self, other: Targets) -> Targets:
        return Targets(
            self.elements | other.elements,
            self.any_element or other.any_element,
            self.attributes or other.attributes,
            self.document or other.document,
            self.wildcards | other.wildcards,
        )

    @property
    def unnamed_elements(self) -> bool:
        """May it match an element whose name no rule mentions?"""
        return self.any_element or bool(self.wildcards)

    def may_match_element(self, clark: str, namespaces: dict[str, str]) -> bool:
        return self.any_element or clark in self.elements or any(
            w.may_match(clark, namespaces) for w in self.wildcards
        )


EVERYTHING = Targets(any_element=True, attributes=True, document=True)
_KEYWORD_OPERATORS = {"union", "intersect", "except", "and", "or", "div", "mod", "idiv", "eq", "ne", "lt",
                      "le", "gt", "ge", "is", "to", "instance", "treat", "cast", "castable", "else", "then",
                      "return", "satisfies", "in"}


def pattern_targets(pattern: str, namespaces: dict[str, str]) -> Targets:
    """Conservative classification of an XSLT match pattern by the nodes it can match."""
    try:
        tokens = tokenize(pattern)
        return _union_targets(tokens, namespaces)
    except (XPathSyntaxError, KeyError):
        return EVERYTHING


def _union_targets(tokens: list[Token], namespaces: dict[str, str]) -> Targets:
    branches: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in ("(", "[", "{"):
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
        if depth == 0 and ((token.kind == "op" and token.text == "|")
                           or (token.kind == "name" and token.text == "union")):
            branches.append([])
        else:
            branches[-1].append(token)
    result = Targets()
    for branch in branches:
        result = result | _branch_targets(branch, namespaces)
    return result


def _branch_targets(tokens: list[Token], namespaces: dict[str, str]) -> Targets:
    if not tokens:
        return EVERYTHING
    # the last step: whatever follows the last top-level '/' or '//'
    depth = 0
    last_slash = -1
    for i, token in enumerate(tokens):
        if token.kind == "op" and token.text in ("(", "[", "{"):
            depth += 1
        elif token.kind == "op" and token.text in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and token.kind == "op" and token.text in ("/", "//"):
            last_slash = i
        elif depth == 0 and token.kind == "name" and token.text in _KEYWORD_OPERATORS and i > 0:
            return EVERYTHING
    step = tokens[last_slash + 1:]
    if not step:
        # "/" alone matches the document node; "a/" is not a pattern
        return Targets(document=True) if len(tokens) == 1 else EVERYTHING
    predicates = _predicates(step)
    bare = _without_predicates(step)
    if bare is None or predicates is None:
        return EVERYTHING
    step = bare
    if step[0].kind == "op" and step[0].text == "(":
        # a parenthesised union, e.g. (/a | /b)[$x]: what it matches is what its branches match
        if _closing(step, 0) != len(step) - 1:
            return EVERYTHING
        return _union_targets(step[1:-1], namespaces)
    axis = "child"
    if step[0].kind == "op" and step[0].text == "@":
        axis, step = "attribute", step[1:]
    elif len(step) >= 2 and step[0].kind == "name" and step[1].kind == "op" and step[1].text == "::":
        axis, step = step[0].text, step[2:]
    if len(step) != 1 or step[0].kind != "name":
        return EVERYTHING  # kind tests, function calls, variables: do not guess
    name = step[0].text
    if axis == "attribute":
        return Targets(attributes=True)
    if axis not in ("child", "descendant", "descendant-or-self", "self"):
        return EVERYTHING
    if axis in ("descendant-or-self", "self"):
        return EVERYTHING
    if "*" in name:
        return Targets(wildcards=frozenset({_wildcard(name, predicates, namespaces)}))
    return Targets(elements=frozenset({expanded_name(name, namespaces)}))


def _wildcard(name: str, predicates: list[tuple[Token, ...]], namespaces: dict[str, str]) -> Wildcard:
    if name.startswith("Q{"):
        uri, _, local = name[2:].partition("}")
        return Wildcard(uri, None if local == "*" else local, tuple(predicates))
    prefix, _, local = name.rpartition(":")
    if name == "*":
        return Wildcard(None, None, tuple(predicates))
    if prefix == "*":
        return Wildcard(None, local, tuple(predicates))
    return Wildcard(namespaces[prefix], None, tuple(predicates))


def _predicates(step: list[Token]) -> list[tuple[Token, ...]] | None:
    """The trailing ``[...]`` predicates of a step, innermost last (None if they do not parse)."""
    found: list[tuple[Token, ...]] = []
    end = len(step)
    while end and step[end - 1].kind == "op" and step[end - 1].text == "]":
        depth = 0
        for i in range(end - 1, -1, -1):
            if step[i].kind == "op" and step[i].text == "]":
                depth += 1
            elif step[i].kind == "op" and step[i].text == "[":
                depth -= 1
                if depth == 0:
                    found.insert(0, tuple(step[i + 1:end - 1]))
                    end = i
                    break
        else:
            return None
    return found


def _name_condition(tokens: list[Token], uri: str, local: str, namespaces: dict[str, str]) -> bool | None:
    """True/False if the predicate's value depends on the element name only, else None."""
    tokens = _strip_parens(tokens)
    if not tokens:
        return None
    for keyword, combine in (("or", any), ("and", all)):
        parts = _split_keyword(tokens, keyword)
        if len(parts) > 1:
            values = [_name_condition(part, uri, local, namespaces) for part in parts]
            if keyword == "or" and True in values:
                return True
            if keyword == "and" and False in values:
                return False
            return combine(values) if None not in values else None
    if _is_function(tokens, 0, "not") and _closing(tokens, 1) == len(tokens) - 1:
        inner = _name_condition(tokens[2:-1], uri, local, namespaces)
        return None if inner is None else not inner
    if len(tokens) == 3 and tokens[0].text == "self" and _is_op(tokens, 1, "::") and tokens[2].kind == "name":
        if "*" in tokens[2].text:
            return None
        try:
            return expanded_name(tokens[2].text, namespaces) == f"{{{uri}}}{local}"
        except KeyError:
            return None
    for function in ("ends-with", "starts-with", "contains"):
        if _is_function(tokens, 0, function) and _closing(tokens, 1) == len(tokens) - 1:
            args = _split_arguments(tokens, 1, len(tokens) - 1)
            if len(args) != 2 or args[1][1] - args[1][0] != 1 or tokens[args[1][0]].kind != "str":
                return None
            text = string_value(tokens[args[1][0]])
            subject = tokens[args[0][0]:args[0][1]]
            if _is_name_call(subject, "local-name"):
                value = local
            elif _is_name_call(subject, "name") and function == "ends-with" and ":" not in text:
                value = local  # see rewrite_name_suffixes
            else:
                return None
            return {"ends-with": value.endswith, "starts-with": value.startswith,
                    "contains": value.__contains__}[function](text)
    return None


def _is_function(tokens: list[Token], i: int, name: str) -> bool:
    return i < len(tokens) and tokens[i].kind == "name" and tokens[i].text in (name, f"fn:{name}") \
        and _is_op(tokens, i + 1, "(")


def _is_name_call(tokens: list[Token], name: str) -> bool:
    """``name()`` / ``name(.)`` (the context node's name)."""
    if not _is_function(tokens, 0, name):
        return False
    return len(tokens) == 3 or (len(tokens) == 4 and _is_op(tokens, 2, "."))


# After these tokens an operand must follow, so "and"/"or" there is a name test, not an operator.
_OPERAND_EXPECTED = {"/", "//", "@", "::", "(", "[", "{", ",", "|", "=", "!=", "<", "<=", ">", ">="}


def _split_keyword(tokens: list[Token], keyword: str) -> list[list[Token]]:
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
        if _is_op(tokens, i + 1, "(") or _is_op(tokens, i + 1, "::") or _is_op(tokens, i - 1, "@"):
            continue
        try:
            names.add(expanded_name(token.text, namespaces))
        except KeyError:
            continue
    return names


def _without_predicates(step: list[Token]) -> list[Token] | None:
    """The step with trailing ``[...]`` predicates removed (None if it does not parse)."""
    while step and step[-1].kind == "op" and step[-1].text == "]":
        depth = 0
        for i in range(len(step) - 1, -1, -1):
            if step[i].kind == "op" and step[i].text == "]":
                depth += 1
            elif step[i].kind == "op" and step[i].text == "[":
                depth -= 1
                if depth == 0:
                    step = step[:i]
                    break
        else:
            return None
    return step or None


def expanded_name(qname: str, namespaces: dict[str, str]) -> str:
    """``{uri}local`` for a lexical QName of an element name test (no prefix: no namespace)."""
    if qname.startswith("Q{"):
        uri, _, local = qname[2:].partition("}")
        return f"{{{uri}}}{local}"
    prefix, _, local = qname.rpartition(":")
    uri = namespaces[prefix] if prefix else ""  # KeyError for an undeclared prefix: caller gives up
    return f"{{{uri}}}{local}"
