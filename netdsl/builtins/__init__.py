"""Wolfram-facing functions. Importing this package registers all of them."""

# registration happens on import
from . import (arith, control, core, io, language, lists, netfiles, netops,  # noqa: F401
               nets, pictures, random, rules, strings)
from .registry import REGISTRY, builtin

__all__ = ["REGISTRY", "builtin"]
