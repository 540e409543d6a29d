"""ISO Schematron -> XSLT 3.0, built for speed: one tree walk serves every pattern.

ISO semantics: every pattern visits every node (the skeleton visits the document node, elements
and attributes: ``@*|*``); inside a pattern only the first rule (document order) whose context
matches fires; patterns are independent. The classic skeleton walks the whole tree once per pattern
and writes a ``fired-rule`` for every match. Here (strategy ``dispatch``, the default) one walk
visits each node once and, at each node, applies every pattern's own mode to it: the rules of a
pattern are that mode's templates, prioritised in document order, so Saxon picks exactly the first
matching rule and stops. Strategy ``next-match`` puts all rules into one mode, prioritised by
(pattern, rule), and a fired rule passes the node on with ``xsl:next-match``, telling lower rules of
its own pattern to step aside. ``full_svrl`` keeps the skeleton's per-pattern walks so that
``active-pattern`` and ``fired-rule`` can be reported. All three give the same findings; only the
order differs (document order for the first two, pattern by pattern for ``full_svrl``).

Only failed asserts and successful reports are materialised. Dynamic errors in tests, lets and
messages propagate (no try/catch); XSLT 3.0 itself treats an error while matching a rule context
as "no match" (Saxon prints a warning), exactly as it does for the officially compiled stylesheets.

``optimize`` (on by default) makes the stylesheet cheaper without changing what it reports: the
walk applies a pattern's mode only to nodes that one of its rules can match
(:mod:`~einvoice.schematron.patterns`), and tests are rewritten into exactly equivalent, cheaper
forms: code lists as map lookups, runs of ``not(path)`` asserts under one shared guard, absolute
paths of often-firing rules as global variables (:mod:`~einvoice.schematron.rewrite`).
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from einvoice.schematron.expand import (
    SCH,
    SCH_NS,
    XSL,
    XSL_NS,
    ExpandedSchema,
    SchematronCompileError,
    expand_schema,
)
from einvoice.schematron.opacity import ATTACHMENT_CONTENT, attachment_reasons
from einvoice.schematron.patterns import EVERYTHING, Targets, pattern_targets
from einvoice.schematron.rewrite import (
    StepPath,
    absence_guard,
    absence_paths,
    any_path_exists,
    hoist_absolute_paths,
    map_literal,
    rewrite_code_lists,
    rewrite_name_suffixes,
)
from einvoice.schematron.xpath import Token, binds_variable, constant_string, name_tests, string_value

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
XS_NS = "http://www.w3.org/2001/XMLSchema"
INTERNAL_NS = "urn:einvoice:schematron:compiled"
INTERNAL = "schxc"  # prefix of our own functions, modes and parameters
SVRL = f"{{{SVRL_NS}}}"
FIRED = f"{INTERNAL}:fired"
WALK_MODE = f"{INTERNAL}:walk"

LOCATION_STYLES: tuple[str, ...] = ("skeleton", "skeleton-2", "skeleton-3", "xpath")
STRATEGIES: tuple[str, ...] = ("dispatch", "next-match")
SUPPORTED_BINDINGS = {None, "", "xslt", "xslt2", "xslt3", "xpath2", "xpath3", "xpath31"}

# Location functions, one per style. "skeleton" is the ISO skeleton's default
# (schematron-select-full-path: only elements have a path, an attribute yields its value, the
# document node the path of its element); "skeleton-2"/"-3" are the skeleton's prefixed
# modes (KoSIT builds XRechnung with -3); "xpath" is XPath 3.1 path().
_LOCATION_FUNCTIONS: dict[str, str] = {
    "skeleton": f"""
  if ($n instance of element()) then
    string-join(for $e in $n/ancestor-or-self::* return concat('/',
      if (namespace-uri($e) = '') then name($e)
      else concat('*:', local-name($e), '[namespace-uri()=''', namespace-uri($e), ''']'),
      '[', 1 + count($e/preceding-sibling::*[local-name() = local-name($e)
                                               and namespace-uri() = namespace-uri($e)]), ']'), '')
  else if ($n instance of document-node()) then string-join($n/*/{INTERNAL}:location(.), '')
  else if ($n instance of attribute() or $n instance of text()) then string($n)
  else ''""",
    "skeleton-2": """
  concat(string-join(for $e in $n/ancestor-or-self::* return concat('/', name($e),
      if ($e/preceding-sibling::*[name(.) = name($e)])
      then concat('[', count($e/preceding-sibling::*[name(.) = name($e)]) + 1, ']') else ''), ''),
    if ($n instance of element()) then '' else concat('/@', name($n)))""",
    "skeleton-3": """
  concat(string-join(for $e in $n/ancestor-or-self::* return concat('/', name($e),
      if ($e/parent::*)
      then concat('[', count($e/preceding-sibling::*[name(.) = name($e)]) + 1, ']') else ''), ''),
    if ($n instance of element()) then '' else concat('/@', name($n)))""",
    "xpath": "path($n)",
}


@dataclass(frozen=True)
class CompileOptions:
    """What varies between compilations of one schema."""

    phase: str | None = None
    full_svrl: bool = False
    location_style: str = "skeleton"
    strategy: str = "dispatch"
    # Exactly equivalent, cheaper stylesheet (see the module docstring); off only to compare.
    optimize: bool = True


def _x(name: str) -> str:
    return XSL + name


def _avt(text: str) -> str:
    """A literal for an attribute value template (literal result element attributes are AVTs)."""
    return text.replace("{", "{{").replace("}", "}}")


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _children(el: etree._Element, *names: str) -> list[etree._Element]:
    wanted = {SCH + n for n in names}
    return [c for c in el if isinstance(c.tag, str) and c.tag in wanted]


class _Compiler:
    def __init__(self, expanded: ExpandedSchema, options: CompileOptions) -> None:
        self.schema = expanded.root
        self.options = options
        if options.location_style not in LOCATION_STYLES:
            raise SchematronCompileError(f"unknown location style {options.location_style!r}")
        if options.strategy not in STRATEGIES:
            raise SchematronCompileError(f"unknown strategy {options.strategy!r}")
        binding = self.schema.get("queryBinding")
        if binding is not None and binding.lower() not in SUPPORTED_BINDINGS:
            raise SchematronCompileError(f"unsupported queryBinding {binding!r} (need xslt2/xslt3)")
        self.ns_decls = self._namespace_declarations(expanded.namespaces)
        self.phase_id, self.phase = self._select_phase(options.phase)
        self.patterns = self._active_patterns()
        self.diagnostics = {d.get("id"): d for d in self.schema.iter(SCH + "diagnostic") if d.get("id")}
        self.properties = {p.get("id"): p for p in self.schema.iter(SCH + "property") if p.get("id")}
        self.constants = self._constant_lets()
        self.code_maps: dict[frozenset[str], str] = {}
        rule_lets = {let.get("name") for rule in self.schema.iter(SCH + "rule") for let in _children(rule, "let")}
        self.global_lets = {let.get("name", "") for let in self._global_let_elements()} - rule_lets
        self.hoisted: dict[str, str] = {}  # absolute path text -> global variable

    # ----------------------------------------------------------------- set-up

    def _namespace_declarations(self, found: dict[str, str]) -> dict[str, str]:
        """sch:ns wins; other prefixes declared in the sources are kept when they do not clash."""
        reserved = {"xsl": XSL_NS, "svrl": SVRL_NS, INTERNAL: INTERNAL_NS}
        declared: dict[str, str] = {}
        for ns in self.schema.iter(SCH + "ns"):
            prefix, uri = ns.get("prefix", ""), ns.get("uri", "")
            if not prefix:
                raise SchematronCompileError("sch:ns without prefix")
            if prefix in reserved and reserved[prefix] != uri:
                raise SchematronCompileError(f"sch:ns prefix {prefix!r} is reserved for {reserved[prefix]}")
            if declared.get(prefix, uri) != uri:
                raise SchematronCompileError(f"sch:ns prefix {prefix!r} bound to two namespaces")
            declared[prefix] = uri
        result = dict(reserved)
        result["xs"] = XS_NS
        for prefix, uri in found.items():
            if prefix not in reserved and uri != SCH_NS:
                result.setdefault(prefix, uri)
        result.update(declared)
        return result

    def _select_phase(self, phase: str | None) -> tuple[str, etree._Element | None]:
        wanted = phase or self.schema.get("defaultPhase") or "#ALL"
        if wanted == "#DEFAULT":
            wanted = self.schema.get("defaultPhase") or "#ALL"
        if wanted == "#ALL":
            return wanted, None
        for el in _children(self.schema, "phase"):
            if el.get("id") == wanted:
                return wanted, el
        known = [p.get("id") for p in _children(self.schema, "phase")]
        raise SchematronCompileError(f"unknown phase {wanted!r}; the schema has {known}")

    def _active_patterns(self) -> list[etree._Element]:
        patterns = _children(self.schema, "pattern")
        for pattern in patterns:
            if pattern.get("documents"):
                raise SchematronCompileError("pattern/@documents (validating other documents) is unsupported")
        if self.phase is None:
            return patterns
        active = [a.get("pattern") for a in _children(self.phase, "active")]
        known = {p.get("id") for p in patterns}
        missing = [a for a in active if a not in known]
        if missing:
            raise SchematronCompileError(f"phase {self.phase_id!r} activates unknown patterns {missing}")
        return [p for p in patterns if p.get("id") in active]

    def _global_let_elements(self) -> list[etree._Element]:
        lets = list(_children(self.schema, "let"))
        if self.phase is not None:
            lets += _children(self.phase, "let")
        for pattern in self.patterns:
            lets += _children(pattern, "let")
        return lets

    def _constant_lets(self) -> dict[str, str]:
        """Global lets whose value is a constant string and that nothing can shadow."""
        shadowed = {let.get("name") for rule in self.schema.iter(SCH + "rule") for let in _children(rule, "let")}
        shadowed |= {
            el.get("name") for el in self.schema if isinstance(el.tag, str) and el.tag in (_x("variable"), _x("param"))
        }
        values = {
            let.get("name", ""): let.get("value", "")
            for let in self._global_let_elements()
            if let.get("value") is not None and let.get("name") not in shadowed
        }
        resolved: dict[str, str] = {}
        resolving: set[str] = set()

        def lookup(name: str) -> str | None:
            if name in resolved:
                return resolved[name]
            if name not in values or name in resolving:
                return None
            resolving.add(name)
            value = constant_string(values[name], lookup)
            resolving.discard(name)
            if value is not None:
                resolved[name] = value
            return value

        for name in values:
            lookup(name)
        return resolved

    def _optimized_test(self, test: str) -> str:
        """Code lists as map lookups, name suffixes via local-name() (see :mod:`~einvoice.schematron.rewrite`)."""

        def resolve(token: Token) -> str | None:
            if token.kind == "str":
                return string_value(token)
            name = token.text[1:].strip()
            if name in self.constants and not binds_variable(test, name):
                return self.constants[name]
            return None

        def register(tokens: frozenset[str]) -> str:
            if tokens not in self.code_maps:
                self.code_maps[tokens] = f"{INTERNAL}:codes{len(self.code_maps) + 1}"
            return self.code_maps[tokens]

        return rewrite_name_suffixes(rewrite_code_lists(test, resolve, register))

    def _hoisted(self, expr: str) -> str:
        """Absolute paths become global variables: evaluated once per document, not per use."""

        def register(path: str) -> str:
            if path not in self.hoisted:
                self.hoisted[path] = f"{INTERNAL}:abs{len(self.hoisted) + 1}"
            return self.hoisted[path]

        return hoist_absolute_paths(expr, self.global_lets.__contains__, register)

    def _match(self, rule: etree._Element) -> str:
        """The rule context as a template pattern; ``optimize`` rewrites name-suffix tests."""
        context = rule.get("context", "")
        return rewrite_name_suffixes(context) if self.options.optimize else context

    # --------------------------------------------------------------- building

    def build(self) -> etree._Element:
        sheet = etree.Element(
            _x("stylesheet"),
            nsmap=self.ns_decls,
            attrib={"version": "3.0", "exclude-result-prefixes": "#all"},
        )
        # Whether the schema can observe the text of embedded attachments (einvoice.schematron.opacity):
        # the validator hands Saxon placeholders instead of the base64 only where it cannot.
        reasons = attachment_reasons(self.schema, self.ns_decls)
        sheet.set(ATTACHMENT_CONTENT, "read" if reasons else "unread")
        if reasons:
            sheet.append(etree.Comment(" attachment content may be read: " + "; ".join(reasons[:3])
                                       .replace("--", "- -") + " "))
        foreign = [c for c in self.schema if isinstance(c.tag, str) and c.tag.startswith(XSL)]
        # xsl:import must come first in a stylesheet.
        foreign.sort(key=lambda el: 0 if el.tag == _x("import") else 1)
        for el in foreign:
            sheet.append(_copy_in_scope(el))
        etree.SubElement(sheet, _x("output"), method="xml", indent="no", encoding="UTF-8")
        etree.SubElement(sheet, _x("mode"), attrib={"on-no-match": "fail"})
        self._global_lets(sheet)
        self._location_function(sheet)
        self._entry_template(sheet)
        if self.options.full_svrl:
            for index, pattern in enumerate(self.patterns, start=1):
                self._pattern_mode(sheet, index, pattern)
        elif self.options.strategy == "next-match":
            self._single_walk(sheet)
        else:
            self._dispatch_walk(sheet)
        for tokens, name in self.code_maps.items():
            etree.SubElement(sheet, _x("variable"), name=name, select=map_literal(tokens))
        for path, name in self.hoisted.items():
            etree.SubElement(sheet, _x("variable"), name=name, select=path)
        return sheet

    def _global_lets(self, sheet: etree._Element) -> None:
        seen: set[str] = set()
        for let in self._global_let_elements():
            name = let.get("name", "")
            if name in seen:
                raise SchematronCompileError(f"global let ${name} is declared twice")
            seen.add(name)
            sheet.append(self._variable(let))

    def _variable(self, let: etree._Element) -> etree._Element:
        name = let.get("name")
        if not name:
            raise SchematronCompileError("let without name")
        var = etree.Element(_x("variable"), name=name)
        if let.get("as"):
            var.set("as", let.get("as", ""))
        if let.get("value") is not None:
            var.set("select", let.get("value", ""))
        else:
            var.text = let.text
            for child in let:
                var.append(_copy_in_scope(child))
        return var

    def _location_function(self, sheet: etree._Element) -> None:
        fn = etree.SubElement(sheet, _x("function"), name=f"{INTERNAL}:location", attrib={"as": "xs:string"})
        etree.SubElement(fn, _x("param"), name="n", attrib={"as": "node()"})
        etree.SubElement(fn, _x("sequence"), select=_LOCATION_FUNCTIONS[self.options.location_style])

    def _entry_template(self, sheet: etree._Element) -> None:
        template = etree.SubElement(sheet, _x("template"), match="document-node()")
        output = etree.SubElement(template, SVRL + "schematron-output")
        title = next(iter(_children(self.schema, "title")), None)
        if title is not None:
            output.set("title", _avt("".join(title.itertext())))
        if self.schema.get("schemaVersion") is not None:
            output.set("schemaVersion", _avt(self.schema.get("schemaVersion", "")))
        if self.phase is not None:
            output.set("phase", _avt(self.phase_id))
        for ns in self.schema.iter(SCH + "ns"):
            etree.SubElement(
                output,
                SVRL + "ns-prefix-in-attribute-values",
                prefix=_avt(ns.get("prefix", "")),
                uri=_avt(ns.get("uri", "")),
            )
        if self.options.full_svrl:
            for index, pattern in enumerate(self.patterns, start=1):
                active = etree.SubElement(output, SVRL + "active-pattern", document="{document-uri(/)}")
                for attr in ("id", "role"):
                    if pattern.get(attr):
                        active.set(attr, _avt(pattern.get(attr, "")))
                name = next(iter(_children(pattern, "title")), None)
                active.set(
                    "name",
                    _avt(_normalize("".join(name.itertext())) if name is not None else pattern.get("id", "")),
                )
                etree.SubElement(output, _x("apply-templates"), select=".", mode=f"{INTERNAL}:p{index}")
        else:
            etree.SubElement(output, _x("apply-templates"), select=".", mode=WALK_MODE)

    def _walk_fallback(self, sheet: etree._Element, mode: str) -> None:
        """Lowest template of a mode: go on to attributes and child elements, like the skeleton."""
        template = etree.SubElement(
            sheet, _x("template"), match="document-node()|*|@*", mode=mode, priority="0"
        )
        etree.SubElement(template, _x("apply-templates"), select="@*|*", mode=mode)

    def _single_walk(self, sheet: etree._Element) -> None:
        rules = [
            (i, rule)
            for i, pattern in enumerate(self.patterns, start=1)
            for rule in _children(pattern, "rule")
        ]
        priority = len(rules)
        for pattern_index, rule in rules:
            self._check_rule(rule)
            template = etree.SubElement(
                sheet, _x("template"), match=self._match(rule), mode=WALK_MODE, priority=str(priority)
            )
            priority -= 1
            etree.SubElement(template, _x("param"), name=FIRED, attrib={"as": "xs:integer", "select": "0"})
            choose = etree.SubElement(template, _x("choose"))
            # Another rule of this pattern already fired for this node: step aside.
            skip = etree.SubElement(choose, _x("when"), test=f"${FIRED} eq {pattern_index}")
            _next_match(skip, pattern_index)
            body = etree.SubElement(choose, _x("otherwise"))
            self._rule_body(body, rule)
            _next_match(body, pattern_index)
        self._walk_fallback(sheet, WALK_MODE)

    def _dispatch_walk(self, sheet: etree._Element) -> None:
        """One walk; at each node every pattern's mode picks its first matching rule.

        With ``optimize`` the walk only applies the modes of patterns that have a rule whose context
        can match the node at hand (by element name, wildcard, attribute or document node), and
        only visits attributes if some pattern can match one: applying any other mode would end in
        its empty fallback template anyway.
        """
        modes: list[tuple[str, Targets]] = []
        for index, pattern in enumerate(self.patterns, start=1):
            rules = _children(pattern, "rule")
            if not rules:
                continue
            mode = f"{INTERNAL}:p{index}"
            targets = Targets()
            # An explicit empty fallback: on-no-match="deep-skip" still descends from document nodes.
            etree.SubElement(sheet, _x("template"), match="document-node()|*|@*", mode=mode, priority="0")
            for offset, rule in enumerate(rules):
                self._check_rule(rule)
                context = rule.get("context", "")
                targets = targets | (pattern_targets(context, self.ns_decls) if self.options.optimize else EVERYTHING)
                rule_template = etree.SubElement(
                    sheet,
                    _x("template"),
                    match=self._match(rule),
                    mode=mode,
                    priority=str(len(rules) - offset),
                )
                self._rule_body(rule_template, rule)
            modes.append((mode, targets))
        visit_attributes = any(t.attributes for _, t in modes)
        children = "@*|*" if visit_attributes else "*"

        def walk_template(match: str, priority: str, wanted: list[str], descend: str | None) -> None:
            template = etree.SubElement(sheet, _x("template"), match=match, mode=WALK_MODE, priority=priority)
            for mode in wanted:
                etree.SubElement(template, _x("apply-templates"), select=".", mode=mode)
            if descend:
                etree.SubElement(template, _x("apply-templates"), select=descend, mode=WALK_MODE)

        walk_template("document-node()", "0", [m for m, t in modes if t.document], children)
        # Elements whose name the rules mention get a template of their own that applies only the
        # modes that can match that name (wildcard rules such as *[ends-with(local-name(), 'ID')]
        # are decided per name here); any other element takes the generic template.
        generic = [m for m, t in modes if t.unnamed_elements]
        for name in sorted(self._mentioned_names() | {n for _, t in modes for n in t.elements}):
            wanted = [m for m, t in modes if t.may_match_element(name, self.ns_decls)]
            if wanted != generic:
                walk_template(_eqname(name), "1", wanted, children)
        walk_template("*", "0", generic, children)
        if visit_attributes:
            walk_template("@*", "0", [m for m, t in modes if t.attributes], None)

    def _mentioned_names(self) -> set[str]:
        """Element names that occur in rule contexts and tests (candidates for their own walk template)."""
        if not self.options.optimize:
            return set()
        names: set[str] = set()
        for pattern in self.patterns:
            for rule in _children(pattern, "rule"):
                names |= name_tests(rule.get("context", ""), self.ns_decls)
                for child in rule:
                    if isinstance(child.tag, str):
                        names |= name_tests(child.get("test") or child.get("value") or "", self.ns_decls)
        return names

    def _pattern_mode(self, sheet: etree._Element, index: int, pattern: etree._Element) -> None:
        """The skeleton's way: one walk per pattern, which lets fired-rule sit under its pattern."""
        mode = f"{INTERNAL}:p{index}"
        rules = _children(pattern, "rule")
        for offset, rule in enumerate(rules):
            self._check_rule(rule)
            template = etree.SubElement(
                sheet,
                _x("template"),
                match=self._match(rule),
                mode=mode,
                priority=str(len(rules) - offset),
            )
            fired = etree.SubElement(template, SVRL + "fired-rule", context=_avt(rule.get("context", "")))
            for attr in ("id", "role", "flag"):
                if rule.get(attr):
                    fired.set(attr, _avt(rule.get(attr, "")))
            self._rule_body(template, rule)
            etree.SubElement(template, _x("apply-templates"), select="@*|*", mode=mode)
        self._walk_fallback(sheet, mode)

    @staticmethod
    def _check_rule(rule: etree._Element) -> None:
        if not rule.get("context"):
            raise SchematronCompileError(f"rule without context (id={rule.get('id')!r})")

    def _rule_body(self, parent: etree._Element, rule: etree._Element) -> None:
        """Lets and assertions in document order, so each let is in scope for what follows it.

        With ``optimize``, consecutive asserts of the form ``not(plain/path)`` (Peppol/CEN syntax
        rules forbid hundreds of elements this way) share one guard that checks all their paths
        at once; only if one of them exists are the asserts evaluated one by one.
        """
        run: list[tuple[etree._Element, list[StepPath]]] = []
        for child in rule:
            if not isinstance(child.tag, str):
                continue
            paths = absence_paths(child.get("test", "")) if self.options.optimize else None
            if child.tag == SCH + "assert" and paths:
                run.append((child, paths))
                continue
            self._absence_run(parent, rule, run)
            run = []
            if child.tag == SCH + "let":
                variable = self._variable(child)
                if self.options.optimize and variable.get("select") and not _matches_once(rule.get("context", "")):
                    variable.set("select", self._hoisted(variable.get("select", "")))
                parent.append(variable)
            elif child.tag in (SCH + "assert", SCH + "report"):
                self._assertion(parent, rule, child)
        self._absence_run(parent, rule, run)

    def _absence_run(
        self, parent: etree._Element, rule: etree._Element, run: list[tuple[etree._Element, list[StepPath]]],
        depth: int = 0,
    ) -> None:
        """Asserts ``not(P)`` under one guard ``exists(P1 | P2 ...)`` (exact: false means all pass).

        Inside, runs that start with the same steps get a guard of their own (one more level).
        """
        if len(run) < 2:
            for el, _ in run:
                self._assertion(parent, rule, el)
            return
        guard = etree.SubElement(
            parent, _x("if"), test=any_path_exists([p for _, paths in run for p in paths])
        )
        if depth >= 1:
            for el, _ in run:
                self._assertion(guard, rule, el, guarded=False)
            return
        parts: list[list[tuple[etree._Element, list[StepPath]]]] = []
        for item in run:
            heads = {path[0] for path in item[1]}
            if parts and heads == {path[0] for path in parts[-1][-1][1]}:
                parts[-1].append(item)
            else:
                parts.append([item])
        if len(parts) == 1:
            for el, _ in run:
                self._assertion(guard, rule, el, guarded=False)
            return
        for part in parts:
            self._absence_run(guard, rule, part, depth + 1)

    def _assertion(
        self, parent: etree._Element, rule: etree._Element, el: etree._Element, *, guarded: bool = True
    ) -> None:
        """``guarded``: add the per-name index check for ``not(plain/path)`` (not needed in a run)."""
        test = el.get("test")
        if test is None:
            raise SchematronCompileError(f"{etree.QName(el).localname} without test (id={el.get('id')!r})")
        is_assert = el.tag == SCH + "assert"
        condition = self._optimized_test(test) if self.options.optimize else test
        if self.options.optimize and not _matches_once(rule.get("context", "")):
            condition = self._hoisted(condition)
        if is_assert:
            condition = f"not(({condition}))"
            absent = absence_guard(test) if self.options.optimize and guarded else None
            if absent:
                condition = f"({absent}) and {condition}"
        guard = etree.SubElement(parent, _x("if"), test=condition)
        result = etree.SubElement(guard, SVRL + ("failed-assert" if is_assert else "successful-report"))
        result.set("test", _avt(_normalize(test)))
        for attr in ("id", "flag", "role", "see", "icon", "fpi"):
            if el.get(attr) is not None:
                result.set(attr, _avt(el.get(attr, "")))
        subject = el.get("subject") or rule.get("subject")
        target = f"(({subject}), .)[1]" if subject else "."  # an empty subject falls back to the context
        result.set("location", f"{{{INTERNAL}:location({target})}}")
        for diagnostic_id in (el.get("diagnostics") or "").split():
            diagnostic = self.diagnostics.get(diagnostic_id)
            if diagnostic is None:
                raise SchematronCompileError(f"unknown diagnostic {diagnostic_id!r}")
            ref = etree.SubElement(result, SVRL + "diagnostic-reference", diagnostic=_avt(diagnostic_id))
            self._text(etree.SubElement(ref, SVRL + "text"), diagnostic)
        for property_id in (el.get("properties") or "").split():
            prop = self.properties.get(property_id)
            if prop is None:
                raise SchematronCompileError(f"unknown property {property_id!r}")
            ref = etree.SubElement(result, SVRL + "property-reference", property=_avt(property_id))
            for attr in ("role", "scheme"):
                if prop.get(attr):
                    ref.set(attr, _avt(prop.get(attr, "")))
            self._text(etree.SubElement(ref, SVRL + "text"), prop)
        self._text(etree.SubElement(result, SVRL + "text"), el)

    def _text(self, target: etree._Element, source: etree._Element) -> None:
        """Message content: text kept, name/value-of evaluated, emph/dir/span and the rest flattened."""
        _add_text(target, source.text)
        for child in source:
            if isinstance(child.tag, str):
                if child.tag == SCH + "name":
                    path = child.get("path")
                    etree.SubElement(target, _x("value-of"), select=f"name({path})" if path else "name(.)")
                elif child.tag == SCH + "value-of":
                    etree.SubElement(target, _x("value-of"), select=child.get("select", "''"))
                else:
                    self._text(target, child)
            _add_text(target, child.tail)


def _matches_once(context: str) -> bool:
    """Does the rule context only match the document element (``/a | /b``)? Such a rule runs once
    per document, so moving its absolute paths into global variables gains nothing (it even costs:
    ``exists(//a)`` stops at the first hit, a variable holds all of them)."""
    branches = [b.strip() for b in context.split("|")]
    return all(re.fullmatch(r"/[\w.:-]+", b) for b in branches) if branches else False


def _eqname(clark: str) -> str:
    """``{uri}local`` as an XPath EQName, usable in patterns whatever prefixes are declared."""
    uri, _, local = clark[1:].partition("}")
    return f"Q{{{uri}}}{local}"


def _add_text(target: etree._Element, text: str | None) -> None:
    if text:
        etree.SubElement(target, _x("text")).text = text


def _next_match(parent: etree._Element, pattern_index: int) -> None:
    call = etree.SubElement(parent, _x("next-match"))
    etree.SubElement(call, _x("with-param"), name=FIRED, select=str(pattern_index))


def _copy_in_scope(el: etree._Element) -> etree._Element:
    """Deep copy that keeps every namespace in scope at ``el`` (XPath inside may use any of them)."""
    new = etree.Element(el.tag, attrib=dict(el.attrib), nsmap=el.nsmap)
    new.text = el.text
    for child in el:
        copied = copy.deepcopy(child)
        copied.tail = child.tail
        new.append(copied)
    return new


def compile_expanded(expanded: ExpandedSchema, options: CompileOptions | None = None) -> str:
    """Compile an already expanded schema (lets the cache hash the sources first)."""
    sheet = _Compiler(expanded, options or CompileOptions()).build()
    return etree.tostring(sheet, encoding="unicode", pretty_print=True)


def compile_schematron(
    sch: Path,
    *,
    phase: str | None = None,
    full_svrl: bool = False,
    location_style: str = "skeleton",
) -> str:
    """Return an XSLT 3.0 stylesheet that validates documents against ``sch`` and emits SVRL."""
    expanded = expand_schema(Path(sch))
    return compile_expanded(
        expanded, CompileOptions(phase=phase, full_svrl=full_svrl, location_style=location_style)
    )


def compile_file(
    sch: Path,
    out: Path,
    *,
    phase: str | None = None,
    full_svrl: bool = False,
    location_style: str = "skeleton",
) -> Path:
    """Compile ``sch`` and write the stylesheet to ``out`` (parent folders are created)."""
    text = compile_schematron(sch, phase=phase, full_svrl=full_svrl, location_style=location_style)
    return write_stylesheet(Path(out), text)


def write_stylesheet(out: Path, text: str) -> Path:
    """Write atomically (temp file + rename), so a reader never sees half a stylesheet."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write('<?xml version="1.0" encoding="UTF-8"?>\n' + text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
