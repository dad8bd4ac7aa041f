"""Window arithmetic shared by convolution and pooling: sizes, padding, the output formula."""

from __future__ import annotations

import math
from typing import Any

from ..expr import is_integer, is_list, list_items

SAME = "Same"


def padding_spec(x: Any) -> Any:
    """PaddingSize: n, {n1, n2, ...}, {{b1, a1}, ...} or "Same" (kept unresolved until the rank is known)."""
    if isinstance(x, str) and x == "Same":
        return SAME
    if is_integer(x) and x >= 0:
        return x
    if is_list(x):
        items = list_items(x)
        out = []
        for item in items:
            if is_integer(item) and item >= 0:
                out.append(item)
            elif is_list(item) and len(list_items(item)) == 2 and all(
                    is_integer(v) and v >= 0 for v in list_items(item)):
                out.append(tuple(list_items(item)))
            else:
                raise ValueError('expected n, {n1, n2, ...}, {{before, after}, ...} or "Same"')
        return tuple(out)
    raise ValueError('expected n, {n1, n2, ...}, {{before, after}, ...} or "Same"')


def per_dim(value: Any, d: int, what: str) -> tuple:
    """Broadcast a scalar setting to d spatial dimensions, or check a list has d entries."""
    if isinstance(value, tuple):
        if len(value) == 1 and d != 1:
            return value * d
        if len(value) != d:
            raise ValueError(f"{what} has {len(value)} entries but the input has {d} spatial "
                             f"dimension{'s' if d != 1 else ''}")
        return value
    return (value,) * d


def resolve_padding(spec: Any, d: int, sizes: tuple, kernel: tuple, stride: tuple,
                    dilation: tuple) -> tuple[tuple[int, int], ...]:
    """(before, after) padding per spatial dimension."""
    if spec == SAME:
        pads: list[tuple[Any, Any]] = []  # (None, None) where the size is unknown
        for n, k, s, dl in zip(sizes, kernel, stride, dilation):
            if n is None:
                pads.append((None, None))
                continue
            out = math.ceil(n / s)
            total = max((out - 1) * s + dl * (k - 1) + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    return tuple(p if isinstance(p, tuple) else (p, p) for p in per_dim(spec, d, "PaddingSize"))


def output_size(n: int, k: int, s: int, dl: int, before: int, after: int) -> int:
    """Floor[(n + padding - (dilation (k - 1) + 1)) / stride] + 1, as Wolfram's convolution."""
    return (n + before + after - (dl * (k - 1) + 1)) // s + 1


def explain_empty(kind: str, axis: int, n: int, k: int, s: int, dl: int, pads: tuple) -> str:
    b, a = pads
    span = dl * (k - 1) + 1
    return (f"output dimensions cannot be smaller than 1: along spatial dimension {axis} the "
            f"{kind} window of size {span} (kernel {k}, dilation {dl}) does not fit the input of "
            f"size {n} with padding {b}+{a}: Floor[({n} + {b + a} - {span})/{s}] + 1 = "
            f"{(n + b + a - span) // s + 1}.")
