"""netdsl check: functions of data known only by its dimensions (AbstractArray).

Check mode never computes data: random arrays, tables, imported files are
AbstractArrays, and arithmetic on them gives the dimensions of its result by
Wolfram's rules (Listable functions thread over leading axes; Total drops the
first axis; Dot contracts the inner one) without computing a number. A function
with no rule here reports that check does not compute it (evaluator: "datadep").

``abstract_value(name, args)`` is asked by the evaluator, in check mode only,
before and after a built-in runs: it gives the AbstractArray result, or None when
no argument is abstract or the arguments are not numeric data.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import Expr, List, Symbol, is_integer, is_number
from ..layers.base import AbstractArray
from .numeric import dims_text

Shape = tuple[int, ...]

# Listable numeric functions: the result has the dimensions of the largest operand
ELEMENTWISE = frozenset({
    "Plus", "Times", "Power", "Subtract", "Divide", "Minus", "Sqrt", "Exp", "Log", "Tanh",
    "Sin", "Cos", "Abs", "Ramp", "LogisticSigmoid", "Erf", "Round", "Floor", "Ceiling", "N",
})


def shape_of(x: Any) -> Shape | None:
    """The dimensions of numeric data (a number is ``()``), or None for anything else."""
    if isinstance(x, AbstractArray):
        return x.shape
    if isinstance(x, np.ndarray):
        return x.shape if x.dtype.kind in "biuf" else None
    if is_number(x):
        return ()
    if isinstance(x, Expr) and isinstance(x.head, Symbol):
        if x.head.name in ELEMENTWISE:        # Power[x, -1] held inside Times
            return _broadcast(x.head.name, [shape_of(a) for a in x.args])
        if x.head is List:
            return _stack([shape_of(a) for a in x.args])
    return None


def holds_abstract(x: Any, depth: int = 2) -> bool:
    if isinstance(x, AbstractArray):
        return True
    if depth and isinstance(x, Expr):
        return any(holds_abstract(a, depth - 1) for a in x.args)
    return False


def _stack(shapes: list[Shape | None]) -> Shape | None:
    """``{a, b, ...}`` of equal dimensions is one array of one more dimension."""
    if not shapes or any(s is None for s in shapes):
        return None
    first = shapes[0]
    if any(s != first for s in shapes):
        return None
    assert first is not None
    return (len(shapes),) + first


def _broadcast(head: str, shapes: list[Shape | None]) -> Shape | None:
    """Wolfram's Listable threading: every shape a prefix of the longest."""
    if not shapes or any(s is None for s in shapes):
        return None
    known = [s for s in shapes if s is not None]
    longest: Shape = max(known, key=len)
    for i, s in enumerate(known):
        if longest[:len(s)] != s:
            a, b = (s, longest) if i < known.index(longest) else (longest, s)
            raise EvaluationError(
                f"Objects of unequal length in {head}[<list of dimensions {dims_text(a)}>, "
                f"<list of dimensions {dims_text(b)}>] cannot be combined.",
                symbol="Thread", tag="tdlen")
    return longest


# ---------------------------------------------------------------- rules
def _elementwise(name: str) -> Callable[[tuple], Shape | None]:
    return lambda args: _broadcast(name, [shape_of(a) for a in args])


def _first_axis_dropped(args: tuple) -> Shape | None:
    s = shape_of(args[0]) if len(args) == 1 else None
    return s[1:] if s else None


def _total(args: tuple) -> Shape | None:
    s = shape_of(args[0]) if args else None
    if not s:
        return None
    if len(args) == 1:
        return s[1:]
    if len(args) == 2 and is_integer(args[1]) and args[1] >= 1:
        return s[min(args[1], len(s)):]
    return None


def _dot(args: tuple) -> Shape | None:
    shapes = [shape_of(a) for a in args]
    if len(shapes) < 2 or any(not s for s in shapes):
        return None
    acc = shapes[0]
    for s in shapes[1:]:
        assert acc is not None and s is not None
        if not acc or acc[-1] != s[0]:
            raise EvaluationError(f"Tensors of dimensions {dims_text(acc)} and {dims_text(s)} "
                                  f"have incompatible shapes.", symbol="Dot", tag="dotsh")
        acc = acc[:-1] + s[1:]
    return acc


def _scalar(args: tuple) -> Shape | None:
    return () if all(shape_of(a) is not None for a in args) else None


def _same(args: tuple) -> Shape | None:
    return shape_of(args[0]) if len(args) == 1 else None


def _reverse(args: tuple) -> Shape | None:
    """Reverse[x] and Reverse[x, n] or Reverse[x, {n1, ...}] (levels n >= 1): x's shape;
    None for a number, which Reverse rejects when run."""
    if len(args) == 2:
        levels = list(args[1].args) if isinstance(args[1], Expr) and args[1].head is List \
            else args[1].tolist() if isinstance(args[1], np.ndarray) else [args[1]]
        if not levels or not all(is_integer(n) and n >= 1 for n in levels):
            return None
        return shape_of(args[0]) or None
    return _same(args) or None      # (a number has no elements to reverse)


def _transpose(args: tuple) -> Shape | None:
    s = shape_of(args[0]) if len(args) == 1 else None
    return (s[1], s[0]) + s[2:] if s is not None and len(s) >= 2 else None


def _flatten(args: tuple) -> Shape | None:
    """Flatten[x] is a vector; Flatten[x, n] joins the first n + 1 levels."""
    s = shape_of(args[0]) if args else None
    if not s:
        return None
    if len(args) == 1:
        return (int(np.prod(s, dtype=object)),)
    if len(args) == 2 and is_integer(args[1]) and args[1] >= 0:
        k = min(args[1] + 1, len(s))
        return (int(np.prod(s[:k], dtype=object)),) + s[k:]
    return None


def _join(args: tuple) -> Shape | None:
    shapes = [shape_of(a) for a in args]
    if not shapes or any(not s for s in shapes):
        return None
    rest = {s[1:] for s in shapes if s}
    if len(rest) != 1:
        return None
    return (sum(s[0] for s in shapes if s),) + rest.pop()


RULES: dict[str, Callable[[tuple], Shape | None]] = {
    **{name: _elementwise(name) for name in ELEMENTWISE},
    "List": lambda args: _stack([shape_of(a) for a in args]),
    "Total": _total, "Mean": _first_axis_dropped, "Variance": _first_axis_dropped,
    "StandardDeviation": _first_axis_dropped, "Max": _scalar, "Min": _scalar, "Dot": _dot,
    "Reverse": _reverse, "Transpose": _transpose, "Flatten": _flatten, "Join": _join,
}


def abstract_value(name: str, args: tuple) -> Any:
    """``name[args]`` at the level of dimensions: an AbstractArray (or, for Length, the
    number); None when no argument is abstract or the rule does not apply."""
    if name == "Length" and len(args) == 1 and isinstance(args[0], AbstractArray):
        return args[0].shape[0] if args[0].shape else 0
    rule = RULES.get(name)
    if rule is None or not any(holds_abstract(a) for a in args):
        return None
    shape = rule(args)
    return None if shape is None else AbstractArray(shape, "array")
