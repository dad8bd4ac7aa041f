"""Piecewise and logical functions of numbers: Sign, Unitize, UnitStep, KroneckerDelta, Clip,
Rescale, Boole, Xor, Between.

As in Wolfram: Sign, UnitStep, KroneckerDelta and Boole are Listable and give Integers
(``Sign[-2.5]`` is -1); Clip returns its bounds as given (``Clip[5., {0, 3}]`` is 3);
Rescale is exact for exact numbers. Packed arrays are computed by NumPy in one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, Symbol, boolean, is_list, is_number, list_items, make_list
from ..printer import short
from .arith import _equal_values, numbers_equal
from .integers import listable
from .numeric import exact, result
from .registry import LISTABLE, NOT_APPLICABLE, OPERATOR_FORMS, builtin, wrong_call

S = Symbol
TRUE, FALSE = S("True"), S("False")


def _sign(x: Any) -> int:
    return (x > 0) - (x < 0)


@builtin("Sign", "Sign[x]", "-1, 0 or 1, the sign of x, as an Integer (also for Reals); "
         "Listable", args=1, attributes=(LISTABLE,), section="Elementary functions")
def _sign_fn(ev, x):
    return listable(ev, "Sign", (x,), _sign, lambda v: np.sign(v).astype(np.int64))


@builtin("Unitize", "Unitize[x]", "0 for x == 0, 1 otherwise, as an Integer; Listable",
         args=1, attributes=(LISTABLE,), section="Elementary functions")
def _unitize_fn(ev, x):
    return listable(ev, "Unitize", (x,), lambda v: int(v != 0),
                    lambda v: (v != 0).astype(np.int64))


@builtin("UnitStep", ("UnitStep[x]", "UnitStep[x1, x2, ...]"),
         "1 for x >= 0, 0 for x < 0 (the product over several arguments); Listable",
         args=(0, None), attributes=(LISTABLE,), section="Elementary functions")
def _unit_step(ev, *xs):
    if not xs:
        return 1

    def step(*v):
        return int(all(a >= 0 for a in v))

    def steps(*arrays):
        out = arrays[0] >= 0
        for a in arrays[1:]:
            out = out & (a >= 0)
        return out.astype(np.int64)
    return listable(ev, "UnitStep", xs, step, steps)


@builtin("KroneckerDelta", ("KroneckerDelta[n]", "KroneckerDelta[n1, n2, ...]"),
         "1 if all the ni are equal (n == 0 for one argument), else 0; Listable",
         args=(0, None), attributes=(LISTABLE,), section="Elementary functions")
def _kronecker_delta(ev, *ns):
    if not ns:
        return 1
    if len(ns) == 1:
        ns = (ns[0], 0)
    if any(is_list(n) for n in ns):
        return listable(ev, "KroneckerDelta", ns, None,  # type: ignore[arg-type]
                        lambda *a: np.logical_and.reduce(np.broadcast_arrays(
                            *[x == a[0] for x in a[1:]])).astype(np.int64))
    if all(is_number(n) for n in ns):
        return int(all(numbers_equal(ns[0], n) for n in ns[1:]))
    eq = _equal_values(ns)
    return NOT_APPLICABLE if eq is None else int(eq)


@builtin("Boole", "Boole[expr]", "1 for True, 0 for False; Listable", args=1,
         attributes=(LISTABLE,), section="Logic")
def _boole(ev, x):
    if x is TRUE:
        return 1
    if x is FALSE:
        return 0
    if is_list(x):
        return make_list(_boole(ev, a) if is_list(a) or a in (TRUE, FALSE)
                         else Expr(S("Boole"), a) for a in list_items(x))
    return NOT_APPLICABLE


@builtin("Xor", "Xor[e1, e2, ...]", "True if an odd number of the ei are True (all must be "
         "True or False)", section="Logic")
def _xor(ev, *xs):
    if not all(x is TRUE or x is FALSE for x in xs):
        return NOT_APPLICABLE
    return boolean(sum(x is TRUE for x in xs) % 2 == 1)


@builtin("Between", ("Between[x, {min, max}]", "Between[x, {{min1, max1}, ...}]",
                     "Between[{min, max}][x]"),
         "True if min <= x <= max (for any of several ranges)", args=2, section="Logic")
def _between(ev, x, spec):
    call = Expr(S("Between"), x, spec)
    items = list_items(spec) if is_list(spec) else None
    if items is None or not items:
        raise wrong_call("Between", call, f"{short(spec)} is not a range {{min, max}}")
    ranges = items if all(is_list(r) for r in items) else [spec]
    verdict: Any = FALSE
    for r in ranges:
        ends = list_items(r)
        if len(ends) != 2:
            raise wrong_call("Between", call, f"{short(r)} is not a range {{min, max}}")
        out = ev.call(S("LessEqual"), ends[0], x, ends[1])
        if out is TRUE:
            return TRUE
        if out is not FALSE:
            verdict = NOT_APPLICABLE
    return verdict


OPERATOR_FORMS["Between"] = True   # Between[range][x] is Between[x, range]


def _bounds(spec: Any, name: str, call: Any, numbers: bool = True) -> tuple[Any, Any]:
    items = list_items(spec) if is_list(spec) else []
    if len(items) != 2 or (numbers and not all(is_number(v) for v in items)):
        raise wrong_call(name, call, f"{short(spec)} is not a pair {{min, max}} of numbers")
    return items[0], items[1]


@builtin("Clip", ("Clip[x]", "Clip[x, {min, max}]", "Clip[x, {min, max}, {vmin, vmax}]"),
         "x clipped to [min, max] ([-1, 1]): min below, max above (or vmin, vmax, any "
         "values); "
         "elementwise on lists", args=(1, 3), section="Elementary functions")
def _clip(ev, x, spec=None, values=None):
    call = Expr(S("Clip"), x, *([] if spec is None else [spec]),
                *([] if values is None else [values]))
    lo, hi = (-1, 1) if spec is None else _bounds(spec, "Clip", call)
    vlo, vhi = (lo, hi) if values is None else _bounds(values, "Clip", call, numbers=False)
    v = exact(x)
    if isinstance(v, np.ndarray) and v.dtype.kind in "if":
        kinds = {type(b) for b in (lo, hi, vlo, vhi)}
        same = kinds == {float} if v.dtype.kind == "f" else kinds == {int}
        if same and values is None:
            return result(np.clip(v, lo, hi))
        if same:
            return result(np.where(v < lo, vlo, np.where(v > hi, vhi, v)).astype(v.dtype))
    if is_list(x):
        return make_list(_clip(ev, a, spec, values) for a in list_items(x))
    if not is_number(x):
        return NOT_APPLICABLE
    return vlo if x < lo else vhi if x > hi else x


@builtin("Rescale", ("Rescale[x, {min, max}]", "Rescale[x, {min, max}, {ymin, ymax}]",
                     "Rescale[list]"),
         "x mapped linearly from [min, max] to [0, 1] (or [ymin, ymax]); a list alone uses "
         "its own Min and Max; exact for exact numbers", args=(1, 3),
         section="Elementary functions")
def _rescale(ev, x, spec=None, target=None):
    call = Expr(S("Rescale"), x, *([] if spec is None else [spec]),
                *([] if target is None else [target]))
    if spec is None:
        if not is_list(x):
            return NOT_APPLICABLE
        lo, hi = ev.call(S("Min"), x), ev.call(S("Max"), x)
        if not (is_number(lo) and is_number(hi)):
            return NOT_APPLICABLE
    else:
        lo, hi = _bounds(spec, "Rescale", call)
    y0, y1 = (0, 1) if target is None else _bounds(target, "Rescale", call)
    if lo == hi:
        raise wrong_call("Rescale", call, f"the range {{{short(lo)}, {short(hi)}}} is empty")
    shifted = ev.call(S("Plus"), x, ev.call(S("Times"), -1, lo))
    scale = ev.call(S("Times"), ev.call(S("Plus"), y1, ev.call(S("Times"), -1, y0)),
                    ev.call(S("Power"), ev.call(S("Plus"), hi, ev.call(S("Times"), -1, lo)), -1))
    return ev.call(S("Plus"), ev.call(S("Times"), shifted, scale), y0)
