"""Python values <-> expressions, for the Python API (``session["x"] = array``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import EvaluationError
from .expr import Association, Expr, Opaque, Symbol, boolean, make_list, packed, to_atom


def from_python(value: Any) -> Any:
    """An expression for a Python value: arrays stay arrays (read-only, no copy when possible)."""
    if isinstance(value, (Expr, Symbol, Association, Opaque)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return boolean(bool(value))
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, np.generic):
        return to_atom(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise EvaluationError(f"arrays of dtype {value.dtype} cannot be used; "
                                  "give integers or reals", tag="dtype")
        return packed(value)
    if isinstance(value, dict):
        return Association((from_python(k), from_python(v), False) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return make_list(from_python(v) for v in value)
    if value is None:
        return Symbol("None")
    raise EvaluationError(f"a Python {type(value).__name__} cannot be used as a netdsl value",
                          tag="pytype")
