"""Wolfram-facing functions. Importing this package registers all of them."""

# registration happens on import
from . import (arith, control, core, io, language, lists, netfiles, nets, onnxfiles,  # noqa: F401
               random, rules, strings)
from .registry import REGISTRY, builtin

__all__ = ["REGISTRY", "builtin"]
