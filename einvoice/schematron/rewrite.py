"""Exactly equivalent, cheaper forms of the test idioms that dominate the CEN and XRechnung rules.

* Code lists: ``contains(' A B C ', concat(' ', X, ' '))`` scans a string of up to 8,000 characters
  per test. For a non-empty ``X`` without a space the result is exactly "X is one of the
  space-separated tokens", which a map answers in one lookup; other values of ``X`` still go
  through the original ``contains`` (:func:`rewrite_code_lists`).
* Absence tests: ``not(a/b/c)`` (a plain relative path) is false only if the path selects
  something. Runs of such asserts share one guard that checks all their paths at once, shared
  prefixes evaluated once (:func:`absence_paths`, :func:`any_path_exists`); a lone one is guarded
  by the document's per-name element index (:func:`absence_guard`).
* Name suffixes: ``ends-with(name(), 'Amount')`` equals ``ends-with(local-name(), 'Amount')``
  and needs no new string per node (:func:`rewrite_name_suffixes`).
* Absolute paths (``//a[b]``) depend only on the document; in rules that fire many times per
  document they become global variables, evaluated once (:func:`hoist_absolute_paths`).
"""

from __future__ import annotations

from collections.abc import Callable

from einvoice.schematron.xpath import (
    Token,
    XPathSyntaxError,
    closing,
    is_op,
    split_arguments,
    string_literal,
    string_value,
    strip_parens,
    tokenize,
)

MAP_NS = "http://www.w3.org/2005/xpath-functions/map"


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
# The let variable of a rewritten code-list test; the compiler declares the prefix (reserved).
CODE_VARIABLE = "$schxc:v"


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
    close = closing(tokens, i + 1)
    args = split_arguments(tokens, i + 1, close)
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
            and tokens[b0 + 1].text == "(" and closing(tokens, b0 + 1) == b1 - 1):
        return None
    inner = split_arguments(tokens, b0 + 1, b1 - 1)
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
    v = CODE_VARIABLE
    text = (
        f"(let {v} := concat('', {x_text}) return "
        f"if ({v} = '' or contains({v}, ' ')) then contains({list_text}, concat(' ', {v}, ' ')) "
        f"else Q{{{MAP_NS}}}contains(${map_var}, {v}))"
    )
    return close, text


def map_literal(values: frozenset[str]) -> str:
    """A map constructor with constant entries (Saxon builds it once, when compiling)."""
    return "map{" + ", ".join(f"{string_literal(v)}: 1" for v in sorted(values)) + "}"


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
        if not (token.kind == "name" and token.text in ("ends-with", "fn:ends-with") and is_op(tokens, i + 1, "(")):
            continue
        if i > 0 and tokens[i - 1].kind == "op" and tokens[i - 1].text in ("@", "::"):
            continue
        close = closing(tokens, i + 1)
        args = split_arguments(tokens, i + 1, close)
        if len(args) != 2:
            continue
        (a0, a1), (b0, b1) = args
        suffix = tokens[b0] if b1 - b0 == 1 else None
        if suffix is None or suffix.kind != "str" or ":" in string_value(suffix):
            continue
        name = tokens[a0]
        if name.kind == "name" and name.text in ("name", "fn:name") and is_op(tokens, a0 + 1, "(") \
                and closing(tokens, a0 + 1) == a1 - 1:
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
    tokens = strip_parens(tokens)
    if len(tokens) < 4 or tokens[0].kind != "name" or tokens[0].text not in ("not", "fn:not"):
        return None
    if tokens[1].text != "(" or closing(tokens, 1) != len(tokens) - 1:
        return None
    return _expand(_plain_path(strip_parens(tokens[2:-1])))


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


def _is_plain_name(tokens: list[Token], i: int) -> bool:
    token = tokens[i]
    if token.kind != "name" or "*" in token.text or token.text.startswith("Q{"):
        return False
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    return following is None or not (following.kind == "op" and following.text in ("(", "::", "["))


def _plain_path(tokens: list[Token]) -> tuple[list[list[str]], list[str]] | None:
    """Element steps (each a list of alternative names) and trailing attribute names, or None.

    Accepts ``(a|b)/c/d/@x/@y`` and its simpler forms, and ``//c/d/@x`` (then the first element
    step is ``["//"]``); anything else is not a plain path.
    """
    elements: list[list[str]] = []
    attributes: list[str] = []
    i = 0
    if is_op(tokens, 0, "//"):
        elements.append(["//"])
        i = 1
    while True:
        if is_op(tokens, i, "(") and i == 0:
            close = closing(tokens, 0)
            names = tokens[1:close]
            if len(names) % 2 == 0:
                return None
            for k in range(0, len(names), 2):
                if not _is_plain_name(names, k) or (k + 1 < len(names) and not is_op(names, k + 1, "|")):
                    return None
            elements.append([names[k].text for k in range(0, len(names), 2)])
            i = close + 1
        elif is_op(tokens, i, "@"):
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
        if not is_op(tokens, i, "/"):
            return None
        i += 1


# ------------------------------------------------------------------ absolute paths

# Tokens after which a "/" or "//" starts a new (absolute) path rather than continuing one.
_PATH_START_AFTER = {"(", "[", "{", ",", "|", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "||", "!", ":=",
                     "<<", ">>", "=>"}

_OPERATOR_WORDS = {"and", "or", "div", "idiv", "mod", "eq", "ne", "lt", "le", "gt", "ge", "is", "to", "union",
                   "intersect", "except", "instance", "treat", "castable", "cast", "return", "satisfies", "in",
                   "then", "else", "of", "as"}


def hoist_absolute_paths(expr: str, is_global: Callable[[str], bool], register: Callable[[str], str]) -> str:
    """Replace absolute path expressions (``//a[b]/c``, ``/x/y``) by global variables.

    An absolute path depends only on the document, so its value is the same wherever in that
    document it is evaluated: a global variable (evaluated at most once per transformation, on
    first use) gives the same nodes in the same order. Paths that use ``current()``, local or
    range variables, or anything this lexer does not follow are left alone. ``register`` returns
    the variable name for a path text (the same name for the same text).
    """
    try:
        tokens = tokenize(expr)
    except XPathSyntaxError:
        return expr
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        starts_path = token.kind == "op" and token.text in ("/", "//") and (
            i == 0
            or (tokens[i - 1].kind == "op" and tokens[i - 1].text in _PATH_START_AFTER)
            or (tokens[i - 1].kind == "name" and tokens[i - 1].text in _OPERATOR_WORDS
                and _operator_position(tokens, i - 1))
        )
        if not starts_path:
            i += 1
            continue
        end = _path_end(tokens, i)
        if end is None or (end == i + 1 and token.text == "/"):
            i += 1
            continue
        if _hoistable(tokens[i:end], is_global):
            text = expr[token.start:tokens[end - 1].end]
            edits.append((token.start, tokens[end - 1].end, f"${register(text)}"))
        i = end
    for start, stop, text in reversed(edits):
        expr = expr[:start] + text + expr[stop:]
    return expr


def _operator_position(tokens: list[Token], i: int) -> bool:
    """Is the word at ``i`` an operator (it follows a complete operand)?"""
    if i == 0:
        return False
    before = tokens[i - 1]
    if before.kind == "op":
        return before.text in (")", "]", "}", ".", "..", "*")
    return before.kind in ("str", "num", "var", "name")


def _path_end(tokens: list[Token], start: int) -> int | None:
    """Index just past the path expression that starts at ``start`` (None if it is odd)."""
    i = start
    expect_step = True
    while i < len(tokens):
        token = tokens[i]
        if expect_step:
            if token.kind == "op" and token.text in ("/", "//"):
                if i != start:
                    return None
                i += 1
                if i == len(tokens) or not _step_start(tokens[i]):
                    return i if token.text == "/" else None
                continue
            if token.kind == "op" and token.text == "@":
                i += 1
                continue
            if token.kind == "name" and is_op(tokens, i + 1, "::"):
                i += 2
                continue
            if token.kind == "name" and is_op(tokens, i + 1, "("):
                i = closing(tokens, i + 1) + 1
            elif token.kind == "op" and token.text == "(":
                i = closing(tokens, i) + 1
            elif token.kind == "name" or (token.kind == "op" and token.text in (".", "..", "*")):
                i += 1
            else:
                return None
            while is_op(tokens, i, "["):
                i = closing(tokens, i) + 1
            expect_step = False
            continue
        if token.kind == "op" and token.text in ("/", "//"):
            expect_step = True
            i += 1
            continue
        return i
    return None if expect_step else i


def _step_start(token: Token) -> bool:
    if token.kind == "name":
        return token.text not in _OPERATOR_WORDS
    return token.kind == "op" and token.text in ("@", "(", ".", "..", "*")


def _hoistable(tokens: list[Token], is_global: Callable[[str], bool]) -> bool:
    for i, token in enumerate(tokens):
        if token.kind == "var" and not is_global(token.text[1:].strip()):
            return False
        if token.kind == "name" and is_op(tokens, i + 1, "(") and (
            token.text.removeprefix("fn:").startswith("current") or token.text.removeprefix("fn:") == "regex-group"
        ):
            return False  # current(), current-group() ...: the focus of the template, not of the path
        if token.kind == "name" and token.text in ("for", "let", "some", "every") and i + 1 < len(tokens) \
                and tokens[i + 1].kind == "var":
            return False  # binds variables of its own: leave such paths alone
    return True
