"""Does a Schematron schema ever read the content of embedded attachments? A static, conservative check.

Embedded attachments (BG-24: ``cbc:EmbeddedDocumentBinaryObject``, ``ram:AttachmentBinaryObject``)
are often hundreds of kilobytes of base64. Building them into the Saxon tree and copying them in
generic rules costs more than all other checks together. If no expression of a schema can observe
their text except for "is it empty?", the validator may hand Saxon a copy of the document in which
each such text is replaced by a short non-empty placeholder: every rule fires exactly as on the
original. This module decides that, per schema, and errs on the side of "it may read them".

The text of an attachment is observable through the string value of the attachment element, of its
text node, or of any of its ancestors up to the document node (the *chain*). An expression is safe
when none of these can reach an *atomizing* position (comparison, arithmetic, most function
arguments, ``value-of``) — with one exception: a string value that is only tested for emptiness
(``not(normalize-space(x))``, ``boolean(string(x))``) is safe, because the placeholder is non-empty
exactly when the original is. Types are tracked as sets of element names (``*``, ``node()``,
``..``, variables of unknown origin and functions whose results are unknown count as "any node").
Anything the analysis does not understand makes the schema unsafe.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

SCH = "{http://purl.oclc.org/dsdl/schematron}"
XSL = "{http://www.w3.org/1999/XSL/Transform}"

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"

#: The only elements whose text the validator replaces, each with the exact ancestor chain it must
#: have (root first). Everything else stays as it is.
ATTACHMENT_CHAINS: tuple[tuple[str, ...], ...] = (
    (f"{{{UBL_INVOICE}}}Invoice", f"{{{CAC}}}AdditionalDocumentReference", f"{{{CAC}}}Attachment",
     f"{{{CBC}}}EmbeddedDocumentBinaryObject"),
    (f"{{{UBL_CREDIT_NOTE}}}CreditNote", f"{{{CAC}}}AdditionalDocumentReference", f"{{{CAC}}}Attachment",
     f"{{{CBC}}}EmbeddedDocumentBinaryObject"),
    (f"{{{RSM}}}CrossIndustryInvoice", f"{{{RSM}}}SupplyChainTradeTransaction",
     f"{{{RAM}}}ApplicableHeaderTradeAgreement", f"{{{RAM}}}AdditionalReferencedDocument",
     f"{{{RAM}}}AttachmentBinaryObject"),
)

#: Attribute on the compiled stylesheet: "unread" when the schema never reads attachment content.
ATTACHMENT_CONTENT = "{urn:einvoice:schematron:opacity}attachment-content"

ANY = "#any"  # any node (or an item of unknown kind)
TEXT = "#text"
DOC = "#document"
ATTR = "#attribute"
ATOMIC = "#atomic"
OTHER = "#other-node"  # comments, processing instructions: their string values do not change
CHAIN = frozenset(name for chain in ATTACHMENT_CHAINS for name in chain) | {ANY, TEXT, DOC}
#: Elements of the chains that are not the attachment itself: their own text children do not change.
PARENTS = frozenset(name for chain in ATTACHMENT_CHAINS for name in chain[:-1])

Type = frozenset[str]
T_ANY: Type = frozenset({ANY})
T_ATOMIC: Type = frozenset({ATOMIC})

# Functions that look at nodes without reading their string values; the result is atomic.
_NODE_INSPECTING = frozenset({
    "count", "exists", "empty", "not", "boolean", "name", "local-name", "namespace-uri", "node-name",
    "generate-id", "has-children", "nilled", "position", "last", "true", "false", "lang", "path",
    "base-uri", "document-uri"})
# Functions whose result is (part of) their first argument's sequence.
_PASS_THROUGH = frozenset({
    "exactly-one", "zero-or-one", "one-or-more", "reverse", "subsequence", "head", "tail", "remove",
    "unordered", "innermost", "outermost", "trace", "sort", "insert-before"})
# Functions that return atomic values (their arguments are read); anything not listed is not understood.
_ATOMIC_RESULT = frozenset({
    "concat", "contains", "starts-with", "ends-with", "substring", "substring-before", "substring-after",
    "string-length", "normalize-space", "upper-case", "lower-case", "translate", "matches", "replace",
    "tokenize", "string-join", "codepoints-to-string", "string-to-codepoints", "compare", "codepoint-equal",
    "normalize-unicode", "encode-for-uri", "iri-to-uri", "escape-html-uri", "contains-token",
    "format-number", "format-integer", "format-date", "format-dateTime", "format-time", "string", "data",
    "number", "abs", "ceiling", "floor", "round", "round-half-to-even", "sum", "avg", "min", "max",
    "distinct-values", "index-of", "deep-equal", "current-date", "current-dateTime", "current-time",
    "implicit-timezone", "year-from-date", "month-from-date", "day-from-date", "year-from-dateTime",
    "month-from-dateTime", "day-from-dateTime", "hours-from-dateTime", "minutes-from-dateTime",
    "seconds-from-dateTime", "timezone-from-date", "timezone-from-dateTime", "hours-from-time",
    "minutes-from-time", "seconds-from-time", "years-from-duration", "months-from-duration",
    "days-from-duration", "hours-from-duration", "minutes-from-duration", "seconds-from-duration",
    "adjust-date-to-timezone", "adjust-dateTime-to-timezone", "adjust-time-to-timezone", "dateTime",
    "QName", "local-name-from-QName", "namespace-uri-from-QName", "prefix-from-QName", "resolve-QName",
    "in-scope-prefixes", "namespace-uri-for-prefix", "error", "regex-group", "system-property",
    "default-collation", "static-base-uri", "exists", "empty"})
# Zero-argument forms that read the context item's string value.
_IMPLICIT_STRING = frozenset({"string", "normalize-space", "string-length", "number", "data"})
# Functions whose string reading only matters for "is it empty?" when their result is used as a boolean.
_EMPTINESS = frozenset({"normalize-space", "string"})
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">=", "eq", "ne", "lt", "le", "gt", "ge"})
_ARITHMETIC = frozenset({"+", "-", "*", "div", "idiv", "mod", "||", "to"})
_BOOLEAN_OPS = frozenset({"and", "or"})
_UNIONS = frozenset({"|", "union", "intersect", "except", ","})


def _stub(arity: int) -> Any:
    """A callable with ``arity`` parameters: elementpath reads a function's arity from its signature."""
    def stub(*args: Any) -> None:
        return None

    stub.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_OR_KEYWORD) for i in range(arity)])
    return stub


class Unsupported(Exception):
    """An expression the analysis does not understand (the schema is then treated as unsafe)."""


@dataclass
class _Function:
    """A user function declared in the schema (``xsl:function``) whose body is plain expressions."""

    params: list[str]
    lets: list[tuple[str, str]]  # xsl:variable name, select
    result: str  # xsl:sequence / xsl:value-of select


@dataclass
class Analysis:
    namespaces: dict[str, str]
    functions: dict[str, _Function] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ entry points

    def expression(self, text: str, context: Type, variables: dict[str, Type], *, atomized: bool = False,
                   where: str = "") -> Type:
        """The type of ``text``; records why it may read attachment content."""
        from elementpath.xpath31 import XPath31Parser

        parser = XPath31Parser(namespaces=self.namespaces, strict=False)
        for name, function in self.functions.items():
            prefix, _, local = name.partition(":")
            if prefix in self.namespaces:  # declared for parsing only; never called
                arity = len(function.params)
                parser.external_function(_stub(arity), name=local, prefix=prefix,
                                         sequence_types=("item()*",) * (arity + 1))
        try:
            token = parser.parse(text)
        except Exception as exc:
            raise Unsupported(f"{where}: cannot parse {text!r}: {exc}") from exc
        self._where = where
        result = self._type(token, context, variables, ebv=False)
        if atomized:
            self._atomize(result, token)
        return result

    # ------------------------------------------------------------------ the type walk

    def _atomize(self, kind: Type, token: Any) -> None:
        if kind & CHAIN:
            self.reasons.append(f"{self._where}: reads the string value of {sorted(kind & CHAIN)} in "
                                f"{str(getattr(token, 'source', token))[:120]!r}")

    def _name(self, token: Any) -> Type:
        symbol, label = token.symbol, token.label
        if symbol == "(name)":
            return frozenset({f"{{}}{token.value}"})
        if symbol == ":":
            prefix, local = token[0].value, token[1].value
            if local == "*" or prefix == "*" or prefix not in self.namespaces:
                return T_ANY
            return frozenset({f"{{{self.namespaces[prefix]}}}{local}"})
        if symbol == "*" or label == "wildcard symbol":
            return T_ANY
        raise Unsupported(f"name test {symbol!r}")

    def _type(self, token: Any, ctx: Type, env: dict[str, Type], *, ebv: bool) -> Type:
        symbol: str = token.symbol
        label: str = token.label
        kids = list(token)

        def sub(child: Any, context: Type = ctx, *, as_ebv: bool = False) -> Type:
            return self._type(child, context, env, ebv=as_ebv)

        def atom(child: Any, context: Type = ctx) -> Type:
            kind = sub(child, context)
            self._atomize(kind, child)
            return T_ATOMIC

        if label == "literal":
            return T_ATOMIC
        if symbol == ":" and kids and "function" in kids[1].label:
            call = kids[1]
            return self._call(f"{kids[0].value}:{call.value}", list(call), ctx, env, ebv, token)
        if symbol in ("(name)", ":") or label == "wildcard symbol" or (symbol == "*" and label != "operator"):
            return self._name(token)
        if symbol == ".":
            return ctx
        if symbol == "..":
            return T_ANY
        if symbol == "@" or label == "attribute reference":
            return frozenset({ATTR})
        if label == "kind test" and symbol == "text":
            # Only the attachment elements' own text changes; other elements' text stays as it is.
            return frozenset({TEXT}) if ctx & (CHAIN - {DOC}) - PARENTS else frozenset({OTHER})
        if label == "kind test":
            return {"text": frozenset({TEXT}), "comment": frozenset({OTHER}),
                    "processing-instruction": frozenset({OTHER}), "attribute": frozenset({ATTR}),
                    "document-node": frozenset({DOC})}.get(symbol, T_ANY)
        if label == "axis":
            test = sub(kids[0]) if kids else T_ANY
            return frozenset({ATTR}) if symbol == "attribute" else test
        if symbol == "$":
            return env.get(kids[0].value, T_ANY) if kids else T_ANY
        if symbol in ("/", "//"):
            if len(kids) == 1:  # absolute: /X, //X
                start = frozenset({DOC}) if symbol == "/" else T_ANY
                return sub(kids[0], start)
            if not kids:
                return frozenset({DOC})
            left = sub(kids[0])
            return sub(kids[1], left if symbol == "/" else T_ANY)
        if symbol == "[":
            base = sub(kids[0])
            for predicate in kids[1:]:
                sub(predicate, base, as_ebv=True)
                if ANY in base and _excludes_chain(predicate):
                    base = (base - {ANY}) | {OTHER}
            return base
        if symbol == "!":
            return sub(kids[1], sub(kids[0]))
        if symbol == "(":
            return sub(kids[0], as_ebv=ebv) if kids else T_ATOMIC
        if symbol in _UNIONS:
            return frozenset().union(*(sub(k, as_ebv=ebv) for k in kids))
        if symbol in _BOOLEAN_OPS:
            for k in kids:
                sub(k, as_ebv=True)
            return T_ATOMIC
        if symbol in _COMPARISONS or symbol in _ARITHMETIC:
            for k in kids:
                atom(k)
            return T_ATOMIC
        if symbol in ("is", "<<", ">>"):
            for k in kids:
                sub(k)
            return T_ATOMIC
        if symbol in ("instance", "treat"):  # the second child is a sequence type, not an expression
            kind = sub(kids[0])
            return T_ATOMIC if symbol == "instance" else kind
        if symbol in ("cast", "castable"):
            atom(kids[0])
            return T_ATOMIC
        if symbol == "if":
            sub(kids[0], as_ebv=True)
            return sub(kids[1], as_ebv=ebv) | sub(kids[2], as_ebv=ebv)
        if symbol in ("some", "every", "for", "let"):
            return self._binding(symbol, kids, ctx, env, ebv)
        if "function" in label:
            return self._call(symbol, kids, ctx, env, ebv, token)
        raise Unsupported(f"{symbol!r} ({label})")

    def _binding(self, symbol: str, kids: list[Any], ctx: Type, env: dict[str, Type], ebv: bool) -> Type:
        scope = dict(env)
        pairs, body = kids[:-1], kids[-1]
        for i in range(0, len(pairs), 2):
            name = pairs[i][0].value
            scope[name] = self._type(pairs[i + 1], ctx, scope, ebv=False)
        if symbol in ("for", "let"):
            return self._type(body, ctx, scope, ebv=ebv)
        self._type(body, ctx, scope, ebv=True)  # some/every: the condition is a boolean
        return T_ATOMIC

    def _call(self, name: str, kids: list[Any], ctx: Type, env: dict[str, Type], ebv: bool,
              token: Any) -> Type:
        local = name[3:] if name.startswith("fn:") else name
        if local in _NODE_INSPECTING:
            for k in kids:
                self._type(k, ctx, env, ebv=local in ("not", "boolean", "exists", "empty"))
            return T_ATOMIC
        if local in _PASS_THROUGH:
            first = self._type(kids[0], ctx, env, ebv=ebv) if kids else T_ATOMIC
            if local == "insert-before" and len(kids) == 3:
                return first | self._type(kids[2], ctx, env, ebv=ebv)
            for k in kids[1:]:
                self._atomize(self._type(k, ctx, env, ebv=False), k)
            return first
        if local == "root":
            for k in kids:
                self._type(k, ctx, env, ebv=False)
            return frozenset({DOC})
        if local in ("id", "element-with-id", "idref", "doc", "collection"):
            for k in kids:
                self._atomize(self._type(k, ctx, env, ebv=False), k)
            return T_ANY
        if local in _EMPTINESS and ebv and len(kids) <= 1:
            # Only "is the string value empty?" is observed: the placeholder keeps that answer.
            for k in kids:
                self._type(k, ctx, env, ebv=False)
            return T_ATOMIC
        if not kids and local in _IMPLICIT_STRING:
            self._atomize(ctx, token)
            return T_ATOMIC
        if name in self.functions:
            return self._user_function(name, kids, ctx, env)
        if not (local in _ATOMIC_RESULT or name.startswith(("xs:", "math:"))):
            raise Unsupported(f"function {name}() is not known to return only atomic values")
        for k in kids:
            self._atomize(self._type(k, ctx, env, ebv=False), k)
        return T_ATOMIC

    def _user_function(self, name: str, kids: list[Any], ctx: Type, env: dict[str, Type]) -> Type:
        function = self.functions[name]
        if len(function.params) != len(kids):
            raise Unsupported(f"{name} called with {len(kids)} arguments")
        scope = {param: self._type(k, ctx, env, ebv=False) for param, k in zip(function.params, kids, strict=True)}
        where = self._where
        for var, select in function.lets:
            scope[var] = self.expression(select, T_ANY, scope, where=f"{where} → {name}")
        result = self.expression(function.result, T_ANY, scope, where=f"{where} → {name}")
        self._where = where
        return result


def _conjuncts(token: Any) -> list[Any]:
    if token.symbol == "and":
        return [c for k in token for c in _conjuncts(k)]
    if token.symbol == "(" and len(list(token)) == 1:
        return _conjuncts(next(iter(token)))
    return [token]


def _excludes_chain(predicate: Any) -> bool:
    """``*[ends-with(name(), 'Amount') and ...]``: a name filter no element of the chains passes."""
    locals_ = {name.rsplit("}", 1)[1] for chain in ATTACHMENT_CHAINS for name in chain}
    for conjunct in _conjuncts(predicate):
        if conjunct.symbol != "ends-with":
            continue
        args = list(conjunct)
        if len(args) == 2 and args[0].symbol in ("name", "local-name") and not list(args[0]) \
                and args[1].label == "literal" and isinstance(args[1].value, str) and ":" not in args[1].value \
                and not any(local.endswith(args[1].value) for local in locals_):
            return True
    return False


# ---------------------------------------------------------------------- schemas


def _functions(schema: etree._Element, namespaces: dict[str, str]) -> dict[str, _Function]:
    """User functions with plain bodies; a function with any other instruction is left out, so a
    call to it raises Unsupported."""
    found: dict[str, _Function] = {}
    for fn in schema.iter(f"{XSL}function"):
        params, lets, result = [], [], None
        plain = True
        for child in fn:
            if not isinstance(child.tag, str):
                continue
            if child.tag == f"{XSL}param" and child.get("name"):
                params.append(child.get("name", ""))
            elif child.tag == f"{XSL}variable" and child.get("select") and child.get("name"):
                lets.append((child.get("name", ""), child.get("select", "")))
            elif child.tag in (f"{XSL}sequence", f"{XSL}value-of") and child.get("select") and result is None:
                result = child.get("select")
            else:
                plain = False
        if plain and result is not None and fn.get("name"):
            found[fn.get("name", "")] = _Function(params, lets, result)
    return found


def attachment_reasons(schema: etree._Element, namespaces: dict[str, str],
                       extra_expressions: Iterable[str] = ()) -> list[str]:
    """Why ``schema`` (expanded ISO Schematron) may read attachment content; empty: it never does.

    ``extra_expressions`` are evaluated on the document node too (e.g. the scenario matcher).
    """
    analysis = Analysis(namespaces=dict(namespaces), functions=_functions(schema, namespaces))
    try:
        # Schema- and pattern-level lets are global variables of the compiled stylesheet, evaluated
        # on the document node (as in the ISO skeleton and our compiler).
        globals_: dict[str, Type] = {}
        for let in [*schema.findall(f"{SCH}let"), *schema.findall(f"{SCH}pattern/{SCH}let")]:
            globals_[let.get("name", "")] = _let_type(analysis, let, frozenset({DOC}), globals_, "global let")
        for pattern in schema.iter(f"{SCH}pattern"):
            for rule in pattern.findall(f"{SCH}rule"):
                _rule(analysis, rule, globals_)
        for value_of in schema.iter(f"{SCH}value-of"):  # diagnostics, properties: any context
            in_check = next(value_of.iterancestors(f"{SCH}assert", f"{SCH}report"), None) is not None
            if not in_check and value_of.get("select"):
                analysis.expression(value_of.get("select", ""), T_ANY, globals_, atomized=True,
                                    where="diagnostic")
        for expr in extra_expressions:
            analysis.expression(expr, frozenset({DOC}), globals_, where="scenario")
    except Unsupported as exc:
        return [f"not analysable: {exc}"]
    return analysis.reasons


def _let_type(analysis: Analysis, let: etree._Element, ctx: Type, env: dict[str, Type], where: str) -> Type:
    value = let.get("value")
    if value is None:
        raise Unsupported(f"{where} {let.get('name')} without @value")
    return analysis.expression(value, ctx, env, where=f"{where} {let.get('name')}")


def _rule(analysis: Analysis, rule: etree._Element, env: dict[str, Type]) -> None:
    where = f"rule {rule.get('context')!r}"
    if rule.get("abstract") == "true":
        return
    context = analysis.expression(rule.get("context", ""), T_ANY, env, where=where)
    scope = dict(env)
    for let in rule.findall(f"{SCH}let"):
        scope[let.get("name", "")] = _let_type(analysis, let, context, scope, f"{where} let")
    for check in rule:
        if check.tag not in (f"{SCH}assert", f"{SCH}report"):
            continue
        label = f"{where} {check.get('id') or check.tag}"
        analysis.expression(check.get("test", ""), context, scope, where=label)
        for sub in check.iter(f"{SCH}value-of", f"{SCH}name"):
            expr = sub.get("select") if sub.tag == f"{SCH}value-of" else sub.get("path")
            if expr:
                analysis.expression(expr, context, scope, atomized=sub.tag == f"{SCH}value-of", where=label)


def expression_reasons(expressions: Iterable[str], namespaces: dict[str, str]) -> list[str]:
    """Why these expressions, evaluated on the document node, may read attachment content."""
    analysis = Analysis(namespaces=dict(namespaces))
    try:
        for expr in expressions:
            analysis.expression(expr, frozenset({DOC}), {}, where=f"expression {expr[:80]!r}")
    except Unsupported as exc:
        return [f"not analysable: {exc}"]
    return analysis.reasons


# ---------------------------------------------------------------------- documents

XML_WHITESPACE = " \t\r\n"
PLACEHOLDER = "AAAA"  # valid base64, not empty: every emptiness test answers as for the original
MIN_REPLACED = 1024  # shorter texts are not worth a second serialisation


def without_attachment_content(tree: etree._ElementTree) -> str | None:
    """The document as text with each embedded attachment's base64 replaced by :data:`PLACEHOLDER`.

    Only attachments at their place in the chains (BG-24), with a single text child longer than
    :data:`MIN_REPLACED` that is not all whitespace, are replaced; ``None`` when nothing is. The tree
    is restored before returning (the caller validates it against the XML Schema afterwards).
    """
    root = tree.getroot()
    replaced: list[tuple[etree._Element, str]] = []
    try:
        for chain in ATTACHMENT_CHAINS:
            if root.tag != chain[0]:
                continue
            for element in root.iter(chain[-1]):
                text = element.text
                if len(element) or text is None or len(text) < MIN_REPLACED or not text.strip(XML_WHITESPACE):
                    continue
                ancestors = [a.tag for a in element.iterancestors()]
                if tuple(reversed(ancestors)) != chain[:-1]:
                    continue
                replaced.append((element, text))
                element.text = PLACEHOLDER
        if not replaced:
            return None
        return etree.tostring(tree, encoding="unicode")
    finally:
        for element, text in replaced:
            element.text = text
