"""Wolfram-facing functions. Importing this package registers all of them."""

from . import arith, core, io, lists, netfiles, nets, onnxfiles, random  # noqa: F401  (registration happens on import)
from .registry import REGISTRY, builtin

__all__ = ["REGISTRY", "builtin"]
