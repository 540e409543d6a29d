"""Which nodes can a match pattern match? Lets the walk apply only the modes that can fire.

ISO Schematron visits every element and attribute for every pattern; applying a pattern's mode
to a node that none of its rules can match only ends in the mode's empty fallback template. The
analysis here is conservative: whatever it does not understand may match anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from einvoice.schematron.xpath import (
    Token,
    XPathSyntaxError,
    closing,
    expanded_name,
    is_function,
    is_name_call,
    is_op,
    split_arguments,
    split_keyword,
    string_value,
    strip_parens,
    tokenize,
)


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
    split = _split_predicates(step)
    if split is None:
        return EVERYTHING
    step, predicates = split
    if step[0].kind == "op" and step[0].text == "(":
        # a parenthesised union, e.g. (/a | /b)[$x]: what it matches is what its branches match
        if closing(step, 0) != len(step) - 1:
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


def _split_predicates(step: list[Token]) -> tuple[list[Token], list[tuple[Token, ...]]] | None:
    """A step without its trailing ``[...]`` predicates, and those predicates (None if odd)."""
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
    return (step[:end], found) if end else None


def _name_condition(tokens: list[Token], uri: str, local: str, namespaces: dict[str, str]) -> bool | None:
    """True/False if the predicate's value depends on the element name only, else None."""
    tokens = strip_parens(tokens)
    if not tokens:
        return None
    for keyword, combine in (("or", any), ("and", all)):
        parts = split_keyword(tokens, keyword)
        if len(parts) > 1:
            values = [_name_condition(part, uri, local, namespaces) for part in parts]
            if keyword == "or" and True in values:
                return True
            if keyword == "and" and False in values:
                return False
            return combine(values) if None not in values else None
    if is_function(tokens, 0, "not") and closing(tokens, 1) == len(tokens) - 1:
        inner = _name_condition(tokens[2:-1], uri, local, namespaces)
        return None if inner is None else not inner
    if len(tokens) == 3 and tokens[0].text == "self" and is_op(tokens, 1, "::") and tokens[2].kind == "name":
        if "*" in tokens[2].text:
            return None
        try:
            return expanded_name(tokens[2].text, namespaces) == f"{{{uri}}}{local}"
        except KeyError:
            return None
    for function in ("ends-with", "starts-with", "contains"):
        if is_function(tokens, 0, function) and closing(tokens, 1) == len(tokens) - 1:
            args = split_arguments(tokens, 1, len(tokens) - 1)
            if len(args) != 2 or args[1][1] - args[1][0] != 1 or tokens[args[1][0]].kind != "str":
                return None
            text = string_value(tokens[args[1][0]])
            subject = tokens[args[0][0]:args[0][1]]
            if is_name_call(subject, "local-name"):
                value = local
            elif is_name_call(subject, "name") and function == "ends-with" and ":" not in text:
                value = local  # see rewrite_name_suffixes
            else:
                return None
            return {"ends-with": value.endswith, "starts-with": value.startswith,
                    "contains": value.__contains__}[function](text)
    return None
