"""netdsl: neural-net specs written as Wolfram Language text, run with NumPy.

    >>> import netdsl
    >>> netdsl.evaluate("Total[Range[10]]")
    55

Importing netdsl changes no process-wide state (recursion limit, allocator, garbage
collector, signal handlers, warning filters, matplotlib's backend); the ``netdsl``
command and REPL tune the allocator for speed (``tune_malloc``), which programs may
also call.
"""

from __future__ import annotations

from typing import Any

from . import printer as _printer  # noqa: F401  (gives expressions their text forms)
from . import builtins as _builtins  # noqa: F401  (registers every built-in)
from .errors import (EvaluationError, InitializationError, NetDSLError, NumericalError,
                     ParseError, ShapeError)
from .expr import Association, Expr, Symbol, full_form, input_form, output_form
from .layers import Layer, Net, register_layer
from .runtime.memory import tune_malloc
from .session import Session, evaluate
from .syntax import parse_statements
from .version import __version__


def parse(text: str, source: str | None = None) -> Any:
    """The expression in ``text`` (unevaluated); a list of them if there are several."""
    exprs = [e for e, _ in parse_statements(text, source)]
    return exprs[0] if len(exprs) == 1 else exprs


__all__ = [
    "Session", "evaluate", "parse", "NetDSLError", "ParseError", "EvaluationError",
    "ShapeError", "InitializationError", "NumericalError", "Expr", "Symbol", "Association",
    "full_form", "input_form", "output_form", "Layer", "Net", "register_layer",
    "tune_malloc", "__version__",
]
