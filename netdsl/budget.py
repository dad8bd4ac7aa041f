"""The memory budget: every allocation that user input sizes is checked here first.

A request larger than the budget is refused before anything is allocated, with
Wolfram's ``General::tnsrmaxsz`` message. The budget defaults to a quarter of the
machine's physical memory; ``set_limit`` changes it (tests, services).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from .errors import EvaluationError

_limit: int | None = None


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def limit() -> int:
    """The largest allocation allowed, in bytes."""
    if _limit is not None:
        return _limit
    total = physical_memory()
    return total // 4 if total else 8 * 2 ** 30


def set_limit(nbytes: int | None) -> None:
    """Set the budget in bytes (None: back to the default)."""
    global _limit
    _limit = None if nbytes is None else int(nbytes)


def human(n: float) -> str:
    if n > 10 ** 30:
        return "more than 10^30 bytes"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"


def check(dims: tuple[int, ...], itemsize: int = 8, what: str = "an array") -> None:
    """Refuse ``what`` of dimensions ``dims`` if it would exceed the budget."""
    count = 1
    for d in dims:
        count *= int(d)
    dims_text = "{" + ", ".join(_count(int(d)) for d in dims) + "}"
    check_bytes(count * itemsize, f"{what} of dimensions {dims_text}")


def _count(n: int) -> str:
    """A count for a message: its digits, or its size when the digits would be too many."""
    return str(n) if n.bit_length() < 200 else f"about 10^{int(n.bit_length() * 0.30103)}"


def check_bytes(nbytes: int, what: str) -> None:
    """Refuse ``what`` (e.g. "an array of dimensions {10, 20}") of ``nbytes`` bytes."""
    if nbytes <= limit():
        return
    total = physical_memory()
    share = f"{_count(100 * nbytes // total)}%" if total else "more than is allowed"
    raise EvaluationError(
        f"Cannot create {what} because it would consume "
        f"{human(nbytes)}, which is {share} of total system memory (the budget is "
        f"{human(limit())}).", symbol="General", tag="tnsrmaxsz")


@contextmanager
def deep_recursion(depth: int = 12000):
    """Python's recursion limit raised to ``depth`` inside, restored on the way out.

    The evaluator and printer recurse once per nesting level of an expression; Python's
    default of 1,000 frames would stop at nets and expressions of ordinary depth. Scoped,
    so that importing or calling netdsl leaves the host process's limit as it was.
    """
    old = sys.getrecursionlimit()
    if old >= depth:
        yield
        return
    sys.setrecursionlimit(depth)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def value_bytes(x: object, depth: int = 0) -> int:
    """A quick estimate of the memory a value holds: exact for arrays, about 64 bytes an
    element for lists (judged by their first element), without walking deeper than 40
    levels."""
    import numpy as np  # already loaded by then; budget itself stays at the bottom stage

    if isinstance(x, np.ndarray):
        return int(x.nbytes)
    if isinstance(x, str):
        return len(x) + 49
    args = getattr(x, "args", None)
    if isinstance(args, tuple):
        if not args or depth > 40:
            return 64
        return 64 + len(args) * value_bytes(args[0], depth + 1)
    return 32


def check_string(length: int, what: str = "a string") -> None:
    """Refuse a string of ``length`` characters beyond the budget (string growth: StringJoin,
    StringRepeat, ToString of huge values)."""
    check_bytes(int(length) * 4, f"{what} of {int(length)} characters")
