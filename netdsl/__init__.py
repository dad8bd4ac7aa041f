"""netdsl: neural-net specs written as Wolfram Language text, run with NumPy.

    >>> import netdsl
    >>> netdsl.evaluate("Total[Range[10]]")
    55
"""

from __future__ import annotations

from typing import Any

from . import builtins as _builtins  # noqa: F401  (registers every built-in)
from .errors import (EvaluationError, InitializationError, NetDSLError, NumericalError,
                     ParseError, ShapeError)
from .expr import Association, Expr, Symbol, full_form, input_form, output_form
from .session import Session, evaluate
from .syntax import parse_statements

__version__ = "0.1.0"


def parse(text: str, source: str | None = None) -> Any:
    """The expression in ``text`` (unevaluated); a list of them if there are several."""
    exprs = [e for e, _ in parse_statements(text, source)]
    return exprs[0] if len(exprs) == 1 else exprs


__all__ = [
    "Session", "evaluate", "parse", "NetDSLError", "ParseError", "EvaluationError",
    "ShapeError", "InitializationError", "NumericalError", "Expr", "Symbol", "Association",
    "full_form", "input_form", "output_form",
]
