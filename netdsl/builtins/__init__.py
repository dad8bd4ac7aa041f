"""Wolfram-facing functions. Importing this package registers all of them."""

# registration happens on import
from . import (arith, coders, control, core, datafiles, io, language, lists,  # noqa: F401
               netfiles, netops, nets, onnxfiles, pictures, random, rules, strings)
from .registry import REGISTRY, builtin

__all__ = ["REGISTRY", "builtin"]
