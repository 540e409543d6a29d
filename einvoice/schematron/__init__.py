"""ISO Schematron: our compiler to XSLT 3.0 (run by Saxon) and the runner for compiled stylesheets."""

from einvoice.schematron.compiler import CompileOptions, compile_file, compile_schematron
from einvoice.schematron.expand import SchematronCompileError
from einvoice.schematron.runner import SchematronError, SchematronRunner
from einvoice.schematron.svrl import FiredAssert, parse_svrl

__all__ = [
    "CompileOptions",
    "FiredAssert",
    "SchematronCompileError",
    "SchematronError",
    "SchematronRunner",
    "compile_file",
    "compile_schematron",
    "parse_svrl",
]
