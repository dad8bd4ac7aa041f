"""Numbers and numeric arrays as NumPy values, with Wolfram's list broadcasting.

Wolfram combines a list with a longer-rank list along the *leading* axes
(``{{1, 2}, {3, 4}} + {10, 20}`` is ``{{11, 12}, {23, 24}}``), where NumPy
aligns trailing axes; ``broadcast_pair`` makes NumPy do Wolfram's thing.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Expr, List, input_form, is_number, packed, to_ndarray
from .registry import wrong_call

# an array bigger than this is refused before it is allocated (tnsrmaxsz)
MAX_ARRAY_BYTES = 8 * 2 ** 30


def numeric(x: Any) -> Any:
    """A Python number or a NumPy array for ``x``, or None if ``x`` is not numeric."""
    if is_number(x):
        return x
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Expr) and x.head is List:
        try:
            arr = to_ndarray(x)
        except TypeError:
            return None
        return arr if arr.dtype.kind in "iuf" else None
    return None


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
        return packed(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def check_size(dims: tuple[int, ...], itemsize: int = 8) -> None:
    """Refuse arrays too large to allocate, with Wolfram's tnsrmaxsz message."""
    count = 1
    for d in dims:
        count *= int(d)
    nbytes = count * itemsize
    if nbytes > MAX_ARRAY_BYTES:
        total = _total_memory()
        pct = f"{100 * nbytes / total:.0f}" if total else "?"
        raise EvaluationError(
            f"Cannot create an array of dimensions {dims_text(dims)} because it would consume "
            f"{_human(nbytes)}, which is {pct}% of total system memory.",
            symbol="General", tag="tnsrmaxsz")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def dims_of(x: Any, name: str, call: Any) -> tuple[int, ...]:
    """A dimension spec ``n`` or ``{n1, n2, ...}`` of non-negative integers."""
    arr = numeric(x)
    if arr is None:
        raise wrong_call(name, call, f"{input_form(x)} is not a list of dimensions")
    a = np.atleast_1d(np.asarray(arr))
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a < 0).any():
        raise wrong_call(name, call, f"{input_form(x)} is not a list of non-negative integers")
    dims = tuple(int(d) for d in a)
    check_size(dims)
    return dims
