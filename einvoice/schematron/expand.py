"""Schematron preprocessing: includes, abstract patterns and abstract rules become one plain schema.

The compiler only ever sees the result of :func:`expand_schema`, so every ISO macro feature
(``include``, ``extends``, ``pattern is-a``, ``rule abstract``) is resolved here, once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from lxml import etree

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
SCH = f"{{{SCH_NS}}}"
XSL = f"{{{XSL_NS}}}"

# Attributes that hold XPath text and so receive abstract-pattern parameter values.
MACRO_ATTRIBUTES = ("context", "test", "select", "value", "path")


class SchematronCompileError(Exception):
    """The schema cannot be turned into a stylesheet (bad include, unknown phase, ...)."""


@dataclass
class ExpandedSchema:
    """A self-contained schema plus what the compiler and the cache need to know about its origin."""

    root: etree._Element
    sources: list[Path] = field(default_factory=list)
    # prefix -> uri declared anywhere in the sources (XPath may rely on them without sch:ns)
    namespaces: dict[str, str] = field(default_factory=dict)


def secure_parser() -> etree.XMLParser:
    """No entities, no DTD, no network: schemas come from rule packs we do not control."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, huge_tree=False
    )


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _is_sch(el: etree._Element, name: str) -> bool:
    return isinstance(el.tag, str) and el.tag == SCH + name


class _Loader:
    """Loads documents once each and resolves ``include``/``extends href`` relative to their file."""

    def __init__(self) -> None:
        self.sources: list[Path] = []
        self.namespaces: dict[str, str] = {}
        self._stack: list[str] = []

    def load(self, path: Path) -> etree._Element:
        path = path.resolve()
        if not path.is_file():
            raise SchematronCompileError(f"schema file not found: {path}")
        try:
            root = etree.parse(str(path), secure_parser()).getroot()
        except etree.XMLSyntaxError as exc:
            raise SchematronCompileError(f"{path}: {exc}") from exc
        if path not in self.sources:
            self.sources.append(path)
        self._collect_namespaces(root)
        self._absolutise_foreign_hrefs(root, path)
        return root

    def _collect_namespaces(self, root: etree._Element) -> None:
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            for prefix, uri in el.nsmap.items():
                if prefix and prefix not in self.namespaces:
                    self.namespaces[prefix] = uri

    @staticmethod
    def _absolutise_foreign_hrefs(root: etree._Element, path: Path) -> None:
        """``xsl:include``/``xsl:import`` move into a stylesheet written elsewhere."""
        for el in root.iter(XSL + "include", XSL + "import"):
            href = el.get("href")
            if href and not urlparse(href).scheme:
                el.set("href", (path.parent / href).resolve().as_uri())

    def resolve(self, el: etree._Element, path: Path) -> etree._Element:
        """Return ``el`` with every nested include replaced by the included content."""
        for inc in list(el.iter(SCH + "include")):
            parent = inc.getparent()
            if parent is None:  # the root itself is an include: unusual, but well defined
                return self.fetch(inc.get("href", ""), path)
            included = self.fetch(inc.get("href", ""), path)
            index = parent.index(inc)
            tail = inc.tail
            parent.remove(inc)
            if _is_sch(included, "schema"):
                if not _is_sch(parent, "schema"):
                    raise SchematronCompileError(
                        f"{path}: a whole schema may only be included at schema level"
                    )
                items = [c for c in included if isinstance(c.tag, str) and not _is_sch(c, "title")]
            else:
                items = [included]
            for offset, item in enumerate(items):
                parent.insert(index + offset, item)
            if items:
                items[-1].tail = tail
        return el

    def fetch(self, href: str, base: Path) -> etree._Element:
        """Load ``href`` (optionally ``file#id``) relative to ``base`` with its own includes resolved."""
        if not href:
            raise SchematronCompileError(f"{base}: include without href")
        parsed = urlparse(href)
        if parsed.scheme not in ("", "file"):
            raise SchematronCompileError(f"{base}: refusing non-local include {href!r}")
        target = Path(unquote(parsed.path)) if parsed.scheme == "file" else base.parent / unquote(parsed.path)
        target = target.resolve() if parsed.path else base
        key = f"{target}#{parsed.fragment}"
        if key in self._stack:
            raise SchematronCompileError(f"include cycle: {' -> '.join([*self._stack, key])}")
        self._stack.append(key)
        try:
            root = self.load(target)
            root = self.resolve(root, target)
            if parsed.fragment:
                found = root.xpath("//*[@id=$id or @xml:id=$id]", id=parsed.fragment)
                if not found:
                    raise SchematronCompileError(f"{target}: no element with id {parsed.fragment!r}")
                root = found[0]
            return root
        finally:
            self._stack.pop()


def param_substituter(params: dict[str, str]) -> Callable[[str], str]:
    """Replace ``$name`` by its value, whole names only and longest first (``$BR-1`` never hits ``$BR-10``).

    A single pass: a substituted value is not searched again for further parameters.
    """
    if not params:
        return lambda text: text
    names = sorted(params, key=len, reverse=True)
    pattern = re.compile(r"\$(" + "|".join(re.escape(n) for n in names) + r")(?![\w.\-])")
    return lambda text: pattern.sub(lambda m: params[m.group(1)], text)


def substitute_params(text: str, params: dict[str, str]) -> str:
    """One-off form of :func:`param_substituter`."""
    return param_substituter(params)(text)


def _instantiate(abstract: etree._Element, instance: etree._Element) -> etree._Element:
    """Build the concrete pattern for ``instance`` (``is-a``) from its abstract pattern."""
    params = {p.get("name", ""): p.get("value", "") for p in instance if _is_sch(p, "param")}
    substitute = param_substituter(params)
    pattern = etree.Element(SCH + "pattern", nsmap=abstract.nsmap)
    for name, value in instance.attrib.items():
        if name != "is-a":
            pattern.set(name, value)
    for child in instance:
        if isinstance(child.tag, str) and not _is_sch(child, "param"):
            pattern.append(copy.deepcopy(child))
    for child in abstract:
        if not isinstance(child.tag, str):
            continue
        new = copy.deepcopy(child)
        for el in new.iter():
            if not isinstance(el.tag, str):
                continue
            for attr in MACRO_ATTRIBUTES:
                value = el.get(attr)
                if value is not None:
                    el.set(attr, substitute(value))
        pattern.append(new)
    return pattern


def _expand_abstract_patterns(schema: etree._Element) -> None:
    abstracts = {
        p.get("id"): p for p in schema.iter(SCH + "pattern") if p.get("abstract") == "true" and p.get("id")
    }
    for instance in list(schema.iter(SCH + "pattern")):
        base = instance.get("is-a")
        if base is None:
            continue
        if base not in abstracts:
            raise SchematronCompileError(f"pattern {instance.get('id')!r}: unknown abstract pattern {base!r}")
        parent = instance.getparent()
        assert parent is not None
        concrete = _instantiate(abstracts[base], instance)
        concrete.tail = instance.tail
        parent.replace(instance, concrete)
    for abstract in abstracts.values():
        parent = abstract.getparent()
        if parent is not None:
            parent.remove(abstract)


def _expand_abstract_rules(schema: etree._Element, loader: _Loader, path: Path) -> None:
    abstract_rules = {
        r.get("id"): r for r in schema.iter(SCH + "rule") if r.get("abstract") == "true" and r.get("id")
    }

    def expand_extends(rule: etree._Element, seen: tuple[str, ...]) -> None:
        for ext in [c for c in rule if _is_sch(c, "extends")]:
            if ext.get("rule"):
                rid = ext.get("rule", "")
                if rid in seen:
                    raise SchematronCompileError(f"abstract rule cycle through {rid!r}")
                if rid not in abstract_rules:
                    raise SchematronCompileError(f"extends: unknown abstract rule {rid!r}")
                source = copy.deepcopy(abstract_rules[rid])
                expand_extends(source, (*seen, rid))
            elif ext.get("href"):
                source = copy.deepcopy(loader.fetch(ext.get("href", ""), path))
                expand_extends(source, seen)
            else:
                raise SchematronCompileError("extends needs a rule or href attribute")
            index = rule.index(ext)
            rule.remove(ext)
            for offset, child in enumerate(c for c in source if isinstance(c.tag, str)):
                rule.insert(index + offset, child)

    for rule in list(schema.iter(SCH + "rule")):
        if rule.get("abstract") != "true":
            expand_extends(rule, ())
    for rule in abstract_rules.values():
        parent = rule.getparent()
        if parent is not None:
            parent.remove(rule)
    for container in list(schema.iter(SCH + "rules")):
        parent = container.getparent()
        if parent is not None:
            parent.remove(container)


def expand_schema(path: Path) -> ExpandedSchema:
    """Load ``path`` and resolve includes, abstract patterns and abstract rules."""
    loader = _Loader()
    path = path.resolve()
    root = loader.resolve(loader.load(path), path)
    if not _is_sch(root, "schema"):
        raise SchematronCompileError(f"{path}: root element is not sch:schema but {root.tag}")
    _expand_abstract_patterns(root)
    _expand_abstract_rules(root, loader, path)
    return ExpandedSchema(root=root, sources=list(loader.sources), namespaces=dict(loader.namespaces))
