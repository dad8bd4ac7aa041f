"""Numbers and numeric arrays as NumPy values, with Wolfram's list broadcasting.

Wolfram combines a list with a longer-rank list along the *leading* axes
(``{{1, 2}, {3, 4}} + {10, 20}`` is ``{{11, 12}, {23, 24}}``), where NumPy
aligns trailing axes; ``broadcast_pair`` makes NumPy do Wolfram's thing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..printer import short
from ..expr import MAX_RANK, Expr, List, is_number, make_list, packed, to_atom, to_ndarray
from .registry import wrong_call

INT64_MAX = 2 ** 63 - 1
# an exact integer (or rational part) of more bits than this is refused (General::ovfl):
# about 79,000 digits, which still computes and prints in a fraction of a second
MAX_INT_BITS = 2 ** 18



def numeric(x: Any) -> Any:
    """A Python number or a NumPy array for ``x``, or None if ``x`` is not numeric.

    For uses that want machine numbers (layers, data): a list holding exact integers
    beyond 64 bits or rationals comes back as a Real array. Arithmetic uses ``exact``.
    """
    if is_number(x):
        return x
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Expr) and x.head is List:
        try:
            arr = to_ndarray(x)
        except (TypeError, ValueError):
            return None
        if arr.dtype.kind == "O":
            try:
                return arr.astype(np.float64)
            except (TypeError, ValueError, OverflowError):
                return None
        return arr if arr.dtype.kind in "iuf" else None
    return None


def exact(x: Any) -> Any:
    """The value of ``x`` for arithmetic, keeping every element's kind, or None.

    A number stays itself (int, float, Fraction); a list becomes an int64 or float
    array when all its elements have that kind, an object array of Python ints and
    Fractions when it holds exact numbers beyond int64 or rationals. A list mixing
    Integers and Reals gives None, so that Listable functions thread over it element
    by element and ``{1, 2.5} + 1`` is ``{2, 3.5}``, as in Wolfram.
    """
    if is_number(x) or isinstance(x, np.ndarray):
        return x
    if isinstance(x, Expr) and x.head is List:
        try:
            arr = to_ndarray(x, exact=True)
        except (TypeError, ValueError):
            return None
        kind = arr.dtype.kind
        if kind in "iu":
            return arr
        if kind == "f":
            return arr if _all_reals(x) else None
        if kind == "O" and arr.ndim and all(
                isinstance(v, (int, Fraction)) and not isinstance(v, bool) for v in arr.flat):
            return arr
    return None


def _all_reals(x: Any) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind == "f"
    return isinstance(x, Expr) and all(_all_reals(a) for a in x.args)


def overflow(what: str = "") -> EvaluationError:
    """Wolfram's General::ovfl, for results too large to hold or compute."""
    return EvaluationError(f"Overflow occurred in computation{what}.", symbol="General",
                           tag="ovfl")


def kind_of(v: Any) -> str:
    """'f' (machine reals), 'i' (int64-sized integers) or 'O' (exact: big ints, rationals)."""
    if isinstance(v, np.ndarray):
        k = v.dtype.kind
        return "i" if k in "iu" else k
    if isinstance(v, float):
        return "f"
    if isinstance(v, int) and -INT64_MAX <= v <= INT64_MAX:
        return "i"
    return "O"


def to_float(v: Any) -> Any:
    """``v`` as machine reals; exact values too large for a Real give General::ovfl."""
    try:
        if isinstance(v, np.ndarray):
            return v if v.dtype.kind == "f" else v.astype(np.float64)
        return float(v)
    except OverflowError:
        raise overflow() from None


def to_object(v: Any) -> np.ndarray:
    """``v`` as an array of Python ints and Fractions, where arithmetic is exact."""
    if isinstance(v, np.ndarray):
        return v if v.dtype == object else v.astype(object)
    out = np.empty((), dtype=object)
    out[()] = v
    return out


def int_bound(v: Any) -> int:
    """The largest absolute value among the integers of ``v`` (a Python int)."""
    if isinstance(v, np.ndarray):
        if v.size == 0:
            return 0
        if v.dtype == object:
            return max(abs(x) for x in v.flat)
        return max(-int(v.min()), int(v.max()))
    return abs(v)


def check_bits(v: Any) -> Any:
    """``v`` if its exact numbers are of a size netdsl computes with, else General::ovfl."""
    if isinstance(v, int):
        if v.bit_length() > MAX_INT_BITS:
            raise overflow()
    elif isinstance(v, Fraction):
        if v.numerator.bit_length() > MAX_INT_BITS or v.denominator.bit_length() > MAX_INT_BITS:
            raise overflow()
    return v


def from_objects(a: np.ndarray) -> Any:
    """An object array of exact numbers back to an expression (packed where it fits)."""
    if a.ndim == 0:
        return check_bits(to_atom(a[()]))
    if a.ndim == 1:
        return make_list(check_bits(to_atom(v)) for v in a)
    return make_list(from_objects(row) for row in a)


def as_array(x: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.asarray(x)


def broadcast_pair(a: Any, b: Any, head: str = "Plus") -> tuple[Any, Any]:
    """Reshape so that NumPy broadcasting matches the leading axes, as Wolfram's Listable."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return a, b
    if a.ndim == b.ndim:
        if a.shape != b.shape:
            raise unequal_lengths(a, b, head)
        return a, b
    small, big = (a, b) if a.ndim < b.ndim else (b, a)
    if big.shape[:small.ndim] != small.shape:
        raise unequal_lengths(a, b, head)
    small = small.reshape(small.shape + (1,) * (big.ndim - small.ndim))
    return (small, big) if a.ndim < b.ndim else (big, small)


def dims_text(shape: tuple[int, ...]) -> str:
    """Dimensions as Wolfram writes them: ``{2, 3}``."""
    return "{" + ", ".join(str(int(d)) for d in shape) + "}"


def unequal_lengths(a: Any, b: Any, head: str) -> EvaluationError:
    return EvaluationError(
        f"Objects of unequal length in {head}[<list of dimensions {dims_text(np.shape(a))}>, "
        f"<list of dimensions {dims_text(np.shape(b))}>] cannot be combined.",
        symbol="Thread", tag="tdlen")


def result(x: Any) -> Any:
    """A NumPy result back to an expression (scalars become Python numbers)."""
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return from_objects(x)
        return packed(x)
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Fraction):
        return to_atom(x)
    return x


def check_size(dims: tuple[int, ...], itemsize: int = 8) -> None:
    """Refuse arrays larger than the memory budget, before allocating (tnsrmaxsz), and
    arrays of more dimensions than netdsl packs."""
    if len(dims) > MAX_RANK:
        raise EvaluationError(f"Cannot create an array of {len(dims)} dimensions; netdsl arrays "
                              f"have at most {MAX_RANK}.", symbol="General", tag="toodeep")
    budget.check(tuple(dims), itemsize)


def dims_of(x: Any, name: str, call: Any) -> tuple[int, ...]:
    """A dimension spec ``n`` or ``{n1, n2, ...}`` of non-negative integers."""
    arr = numeric(x)
    if arr is None:
        raise wrong_call(name, call, f"{short(x)} is not a list of dimensions")
    a = np.atleast_1d(np.asarray(arr))
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a < 0).any():
        raise wrong_call(name, call, f"{short(x)} is not a list of non-negative integers")
    dims = tuple(int(d) for d in a)
    check_size(dims)
    return dims
