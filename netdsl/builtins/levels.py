"""Rearranging the levels of nested lists of any elements: Transpose with a permutation
or ``m <-> n``, and Flatten with a level specification ``{{1, 3}, {2}}``.

A packed array takes one NumPy transpose and reshape. Other lists are rearranged through
an array of *positions* (an index per element), which NumPy transposes or pads, and are
rebuilt from it; Flatten of a ragged list (``Flatten[{{a, b, c}, {d, e}}, {{2}, {1}}]`` is
``{{a, d}, {b, e}, {c}}``, Wolfram's ragged transpose) groups the elements by their new
positions instead. This module sits below lists.py: it needs only expressions.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import EvaluationError
from ..expr import Expr, List, is_integer, is_list, list_items, make_list, packed
from ..printer import short

_MAX_BUILT = 10 ** 7   # elements built one expression at a time (lists.MAX_ELEMENTS)


def _length(x: Any) -> int:
    return x.shape[0] if isinstance(x, np.ndarray) else len(x.args)


def full_dims(x: Any, limit: int | None = None) -> tuple[int, ...]:
    """The dimensions of the full (rectangular) array at the top of ``x``, at most
    ``limit`` levels: Dimensions."""
    if isinstance(x, np.ndarray):
        return tuple(x.shape[:limit])
    dims: list[int] = []
    level = [x]
    while (limit is None or len(dims) < limit) and level and all(is_list(e) for e in level):
        lengths = {_length(e) for e in level}
        if len(lengths) != 1:
            break
        dims.append(lengths.pop())
        if len(dims) == limit:
            break
        level = [i for e in level for i in list_items(e)]
    return tuple(dims)


def leaves(x: Any, depth: int) -> list[Any]:
    """The elements ``depth`` levels down in a full array, in order."""
    level = [x]
    for _ in range(depth):
        level = [i for e in level for i in list_items(e)]
    return level


def build(idx: np.ndarray, items: list[Any], fill: Any = None) -> Any:
    """Nested lists from an array of positions into ``items`` (-1: ``fill``); no levels
    (a 0-d ``idx``): the item itself."""
    if idx.ndim == 0:
        return items[int(idx)] if int(idx) >= 0 else fill
    if idx.shape[0] == 0:
        return Expr(List)
    if idx.ndim == 1:
        return make_list([items[k] if k >= 0 else fill for k in idx.tolist()])
    return make_list([build(row, items, fill) for row in idx])


def rearrange(x: Any, depth: int, how: Callable[[np.ndarray], np.ndarray],
              fill: Any = None) -> Any:
    """``how`` (a NumPy rearrangement of the top ``depth`` levels) applied to ``x``: on a
    packed array itself, else on the positions of its elements."""
    if isinstance(x, np.ndarray) and x.dtype != object:
        return packed(how(x))
    dims = full_dims(x, depth)
    items = leaves(x, depth)
    idx = how(np.arange(len(items), dtype=np.int64).reshape(dims))
    if idx.size > _MAX_BUILT:
        raise EvaluationError(f"The result would have {idx.size} elements; netdsl builds at "
                              f"most 10^7 one at a time.", symbol="General", tag="toobig")
    return build(idx, items, fill)


# ---------------------------------------------------------------- Flatten levels
def level_groups(spec: Any) -> list[list[int]] | None:
    """Flatten's ``{{s11, s12, ...}, {s21, ...}, ...}``, or None if ``spec`` is not one."""
    if not is_list(spec):
        return None
    groups = []
    for g in list_items(spec):
        items = list_items(g) if is_list(g) else None
        if not items or not all(is_integer(i) and i > 0 for i in items):
            return None
        groups.append(list(items))
    flat = [i for g in groups for i in g]
    if flat and max(flat) > MAX_LEVEL:      # deeper than any array: refused before any work
        return None
    return groups if groups and len(set(flat)) == len(flat) else None


MAX_LEVEL = 64


def complete(groups: list[list[int]]) -> list[list[int]]:
    """The groups, then the levels not named (up to the deepest named), in order."""
    named = {i for g in groups for i in g}
    return groups + [[i] for i in range(1, max(named) + 1) if i not in named]


def flattened_shape(dims: tuple[int, ...], groups: list[list[int]]) -> tuple[int, ...]:
    """The dimensions of Flatten[a, groups] for an array of dimensions ``dims``."""
    groups = complete(groups)
    deepest = max(i for g in groups for i in g)
    return tuple(int(np.prod([dims[i - 1] for i in g])) for g in groups) + dims[deepest:]


def flatten_levels(x: Any, groups: list[list[int]], name: str, call: Any) -> Any:
    """Flatten[x, groups]: level i of the result combines the levels of group i; levels
    not named (up to the deepest named) follow in order."""
    groups = complete(groups)
    deepest = max(i for g in groups for i in g)
    dims = full_dims(x, deepest)
    if len(dims) == deepest:   # a full array: one transpose and reshape
        order = [i - 1 for g in groups for i in g]
        shape = tuple(int(np.prod([dims[i - 1] for i in g])) for g in groups)
        return rearrange(x, deepest, lambda a: np.transpose(a, order + list(
            range(deepest, a.ndim))).reshape(shape + a.shape[deepest:]))
    entries: list[tuple[tuple[int, ...], Any]] = []
    _walk(x, (), deepest, entries, name, call)
    return _group(entries, [[i - 1 for i in g] for g in groups])


def _walk(e: Any, path: tuple[int, ...], depth: int, out: list, name: str, call: Any) -> None:
    if len(path) == depth:
        out.append((path, e))
        if len(out) > _MAX_BUILT:
            raise EvaluationError(f"{short(call)} needs more than 10^7 elements; netdsl "
                                  f"allows at most 10^7.", symbol=name, tag="toobig")
        return
    if not is_list(e):
        raise EvaluationError(f"Level {depth} specified in {short(call.args[1])} exceeds the levels, "
                              f"{len(path)}, which can be flattened together in "
                              f"{short(call.args[0])}.", symbol=name, tag="flev")
    for k, c in enumerate(list_items(e)):
        _walk(c, path + (k,), depth, out, name, call)


def _group(entries: list[tuple[tuple[int, ...], Any]], groups: list[list[int]]) -> Any:
    """The nested lists whose level i is indexed by the positions at the levels of group
    i, in lexicographic order (so a ragged list gives ragged rows)."""
    if not groups:
        return entries[0][1]
    levels = groups[0]
    buckets: dict[tuple[int, ...], list] = {}
    for path, v in entries:
        buckets.setdefault(tuple(path[i] for i in levels), []).append((path, v))
    return make_list([_group(buckets[k], groups[1:]) for k in sorted(buckets)])


# ---------------------------------------------------------------- Transpose
def swap_permutation(spec: Any) -> list[int] | None:
    """``m <-> n`` as the permutation that swaps levels m and n."""
    if isinstance(spec, Expr) and spec.has_head("TwoWayRule") and len(spec.args) == 2 \
            and all(is_integer(i) and i > 0 for i in spec.args):
        m, n = spec.args
        perm = list(range(1, max(m, n) + 1))
        perm[m - 1], perm[n - 1] = n, m
        return perm
    return None
