"""Restructuring lists and testing them: MapThread, MapAt, Catenate, ArrayReshape,
Accumulate, Differences, RotateLeft/Right, PadLeft/Right, Pick, Extract, ReplacePart,
Insert, Delete, Tuples, Subsets, Permutations, Array, UnitVector, IdentityMatrix, Level,
Depth, ArrayDepth, VectorQ, MatrixQ, ArrayQ.

Packed (NumPy) arrays take NumPy paths (cumsum, diff, roll, pad, reshape, fancy
indexing for Tuples); every size that user input chooses (Tuples, Subsets,
Permutations, Array, PadLeft, ArrayReshape...) is checked against the memory budget
and the 10^7-element limit before anything is built.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..expr import (All, Association, Expr, List, Symbol, boolean, hash_key, head_of,
                    is_integer, is_list, is_number, list_items, make_list, packed,
                    to_ndarray)
from ..patterns import rule_parts, substitute
from ..printer import short
from .lists import MAX_ELEMENTS, _count_guard, _nonatomic, _parts, _rebuild, elements_of
from .numeric import check_size
from .registry import NOT_APPLICABLE, OPERATOR_FORMS, builtin, wrong_call
from .sorting import two_argument_operator

S = Symbol
TrueS = S("True")
Key = S("Key")
Infinity = S("Infinity")
SECTION = "Lists and arrays"


def _numeric_packed(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim >= 1 and x.dtype.kind in "iuf"


def _same_kind(a: np.ndarray, v: Any) -> bool:
    """A fill value that keeps a packed array's kind (Wolfram pads {1., 2.} with the
    Integer 0: such a result is no longer one packed array)."""
    return (is_integer(v) and a.dtype.kind in "iu" and abs(v) < 2 ** 63) or \
        (isinstance(v, float) and a.dtype.kind == "f")


def _no_overflow(a: np.ndarray, factor: int) -> bool:
    """Integer sums of up to ``factor`` entries stay within int64 (else exact Python ints)."""
    if a.dtype.kind == "f" or a.size == 0:
        return True
    return int(np.abs(a).max()) * factor < 2 ** 62


def _elements_guard(count: int, name: str, call: Any, what: str = "elements") -> None:
    """Refuse results above the 10^7-element limit or the memory budget."""
    budget.check_bytes(count * 64, f"a result of {count} {what}")
    _count_guard(count, name, call, what)


# ---------------------------------------------------------------- MapThread
def _map_thread(ev, f: Any, lists: list[Any], level: int, call: Any) -> Any:
    if level == 0:
        return ev.call(f, *lists)
    if all(isinstance(a, Association) for a in lists) and lists:
        keys = lists[0].keys()
        return Association((k, _map_thread(ev, f, [a.get(k) for a in lists], level - 1, call),
                            False) for k in keys)
    parts = [_parts(a) for a in lists]
    if any(p is None for p in parts):
        bad = next(i for i, p in enumerate(parts) if p is None)
        raise EvaluationError(f"Object {short(lists[bad])} at position {{2, {bad + 1}}} in "
                              f"{short(call)} has only 0 of required {level} dimensions.",
                              symbol="MapThread", tag="mptd")
    lengths = {len(p[1]) for p in parts if p is not None}
    if len(lengths) > 1:
        raise EvaluationError(f"Incompatible dimensions of objects at positions {{2, 1}} and "
                              f"{{2, 2}} of {short(call)}; dimensions are "
                              f"{' and '.join(str(len(p[1])) for p in parts if p)}.",
                              symbol="MapThread", tag="mptc")
    columns = list(zip(*[p[1] for p in parts if p is not None]))
    return make_list(_map_thread(ev, f, list(c), level - 1, call) for c in columns)


@builtin("MapThread", ("MapThread[f, {{a1, a2, ...}, {b1, b2, ...}}]", "MapThread[f, lists, n]",
                       "MapThread[f][lists]"),
         "{f[a1, b1], f[a2, b2], ...}: f applied to corresponding elements of the lists",
         args=(2, 3), section="Functional")
def _map_thread_fn(ev, f, lists, n=None):
    call = Expr(S("MapThread"), f, lists, *([] if n is None else [n]))
    n = 1 if n is None else n
    if not (is_integer(n) and n >= 0):
        raise wrong_call("MapThread", call, f"{short(n)} is not a non-negative level")
    if isinstance(lists, Association):
        if n == 0:   # level 0: f of the whole association's values
            return ev.call(f, *lists.values())
        keys = lists.keys()
        rows = _map_thread(ev, S("List"), lists.values(), n, call)
        return make_list(ev.call(f, Association((k, v, False) for k, v in zip(keys, row)))
                         for row in list_items(rows))
    if not is_list(lists):
        raise _nonatomic("MapThread", call, 2)
    items = list_items(lists)
    if not items:
        return lists
    return _map_thread(ev, f, items, n, call)


# ---------------------------------------------------------------- positions
def _part_error(name: str, path: tuple, x: Any) -> EvaluationError:
    return EvaluationError(f"Part {{{', '.join(short(p) for p in path)}}} of {short(x)} does not "
                           f"exist.", symbol=name, tag="partw")


def _index(i: Any, n: int, name: str, path: tuple, x: Any) -> int:
    """A 0-based index from a Wolfram position (negative counts from the end)."""
    if not is_integer(i) or not (1 <= abs(i) <= n):
        raise _part_error(name, path, x)
    return i - 1 if i > 0 else n + i


def _assoc_index(x: Association, k: Any, name: str, path: tuple) -> int:
    if isinstance(k, Expr) and k.head is Key and len(k.args) == 1:
        k = k.args[0]
    elif is_integer(k):
        return _index(k, len(x), name, path, x)
    if k not in x:
        raise _part_error(name, path, x)
    return x._index[hash_key(k)]


def update_at(x: Any, path: tuple, fn: Callable[[Any], Any], name: str,
              full: tuple | None = None) -> Any:
    """``x`` with the part at ``path`` (Wolfram indices, All, Key[k]) replaced by fn(part)."""
    full = path if full is None else full
    if not path:
        return fn(x)
    i, rest = path[0], path[1:]
    if isinstance(x, Association):
        rules = list(x.rules)
        targets = range(len(rules)) if i is All else [_assoc_index(x, i, name, full)]
        for t in targets:
            k, v, _ = rules[t]
            rules[t] = (k, update_at(v, rest, fn, name, full), False)
        return Association(rules)
    if isinstance(x, np.ndarray) and x.ndim == 1 and not rest and x.dtype.kind in "iuf" \
            and i is not All:
        t = _index(i, x.shape[0], name, full, x)
        new = fn(x[t].item())
        if is_number(new) and not isinstance(new, bool) and \
                (isinstance(new, float)) == (x.dtype.kind == "f") and is_integer(new) == \
                (x.dtype.kind in "iu") and abs(new) < 2 ** 63:
            out = x.copy()
            out[t] = new
            return packed(out)
    split = _parts(x)
    if split is None:
        raise _part_error(name, full, x)
    head, items = split
    if i == 0 and is_integer(i):
        return Expr(update_at(head, rest, fn, name, full), *items)
    targets = range(len(items)) if i is All else [_index(i, len(items), name, full, x)]
    for t in targets:
        items[t] = update_at(items[t], rest, fn, name, full)
    return _rebuild(head, items)


def _get_at(x: Any, path: tuple, name: str) -> Any:
    for depth, i in enumerate(path):
        where = path[:depth + 1]
        if isinstance(x, Association):
            x = x.rules[_assoc_index(x, i, name, path)][1]
            continue
        if isinstance(x, np.ndarray) and is_integer(i):
            if x.ndim == 0:
                raise _part_error(name, where, x)
            x = x[_index(i, x.shape[0], name, path, x)]
            x = packed(x) if isinstance(x, np.ndarray) else x
            if not isinstance(x, np.ndarray):
                from ..expr import to_atom
                x = to_atom(x)
            continue
        split = _parts(x)
        if split is None:
            raise _part_error(name, path, x)
        if i == 0 and is_integer(i):
            x = split[0]
            continue
        x = split[1][_index(i, len(split[1]), name, path, x)]
    return x


def _positions(spec: Any, name: str, call: Any) -> list[tuple]:
    """One position (``n``, ``{i, j}``, ``Key[k]``) or several (``{{i, j}, {k}}``)."""
    if is_list(spec):
        items = list_items(spec)
        if not items or any(is_list(p) and not list_items(p) for p in items):
            raise wrong_call(name, call, f"{short(spec)} is not a position: a position names "
                                         f"at least one part")
        if all(is_list(p) for p in items):
            return [tuple(list_items(p)) for p in items]
        return [tuple(items)]
    if is_integer(spec) or spec is All or (isinstance(spec, Expr) and spec.head is Key) \
            or isinstance(spec, str):
        return [(spec,)]
    raise wrong_call(name, call, f"{short(spec)} is not a position or a list of positions")


@builtin("MapAt", ("MapAt[f, expr, n]", "MapAt[f, expr, {i, j, ...}]",
                   "MapAt[f, expr, {{i1, j1, ...}, {i2, j2, ...}, ...}]", "MapAt[f, pos][expr]"),
         "expr with f applied to the part(s) at the given positions (negative from the end, "
         "All for every one)", args=(2, 3), section="Functional")
def _map_at(ev, f, x, spec=None):
    if spec is None:
        return NOT_APPLICABLE   # the operator form MapAt[f, pos] waits for its expression
    call = Expr(S("MapAt"), f, x, spec)
    for path in _positions(spec, "MapAt", call):
        x = update_at(x, path, lambda v: ev.call(f, v), "MapAt")
    return x


@builtin("Extract", ("Extract[expr, {i, j, ...}]", "Extract[expr, {{i1, ...}, {i2, ...}}]",
                     "Extract[expr, pos, h]", "Extract[pos][expr]"),
         "the part at a position (or the list of parts at several), wrapped by h if given",
         args=(1, 3), section=SECTION)
def _extract(ev, x, spec=None, h=None):
    if spec is None:
        return NOT_APPLICABLE   # the operator form Extract[pos]
    call = Expr(S("Extract"), x, spec, *([] if h is None else [h]))
    if is_list(spec) and list_items(spec) and all(is_list(p) for p in list_items(spec)):
        parts = [_get_at(x, p, "Extract") for p in _positions(spec, "Extract", call)]
        return make_list(ev.call(h, p) if h is not None else p for p in parts)
    path = _positions(spec, "Extract", call)[0]
    part = _get_at(x, path, "Extract")
    return ev.call(h, part) if h is not None else part


def _all_paths(x: Any, path: tuple = ()):
    """Every position in x (parents before children), for pattern positions."""
    split = _parts(x)
    if isinstance(x, Association):
        for k, v in x.items():
            yield path + (Expr(Key, k),)
            yield from _all_paths(v, path + (Expr(Key, k),))
        return
    if split is None:
        return
    for i, item in enumerate(split[1], 1):
        yield path + (i,)
        yield from _all_paths(item, path + (i,))


@builtin("ReplacePart", ("ReplacePart[expr, i -> new]", "ReplacePart[expr, {i, j} -> new]",
                         "ReplacePart[expr, {i1 -> new1, i2 -> new2, ...}]",
                         "ReplacePart[expr, pattern -> new]", "ReplacePart[rules][expr]"),
         "expr with the parts at the given positions (or positions matching a pattern) "
         "replaced", args=(1, 2), section=SECTION)
def _replace_part(ev, x, rules=None):
    if rules is None:
        return NOT_APPLICABLE   # the operator form ReplacePart[rules]
    call = Expr(S("ReplacePart"), x, rules)
    rule_list = list_items(rules) if is_list(rules) else [rules]
    parsed = []
    for r in rule_list:
        parts = rule_parts(r)
        if parts is None:
            raise wrong_call("ReplacePart", call, f"{short(r)} is not a rule")
        parsed.append(parts)
    literal: list[tuple[tuple, Any, bool]] = []
    patterned = []
    for lhs, rhs, delayed in parsed:
        try:
            for path in _positions(lhs, "ReplacePart", call):
                if not all(is_integer(i) or i is All or (isinstance(i, Expr) and i.head is Key)
                           for i in path):
                    raise ValueError
                literal.append((path, rhs, delayed))
        except (ValueError, EvaluationError):
            patterned.append((lhs, rhs, delayed))
    for path, rhs, delayed in literal:
        value = ev.evaluate(rhs) if delayed else rhs
        try:
            x = update_at(x, path, lambda _, v=value: v, "ReplacePart")
        except EvaluationError:
            pass   # a position that does not exist is left alone, as Wolfram does
    if patterned:
        for path in list(_all_paths(x)):
            for lhs, rhs, _ in patterned:
                probe = [Expr(List, *path)] + ([path[0]] if len(path) == 1 else [])
                b = next((m for m in (ev.match(lhs, p) for p in probe) if m is not None), None)
                if b is not None:
                    value = substitute(rhs, b)
                    value = ev.evaluate(value)
                    x = update_at(x, path, lambda _, v=value: v, "ReplacePart")
                    break
    return x


def _in_parent(x: Any, path: tuple, name: str, edit: Callable[[list, int], None],
               end_ok: bool = False) -> Any:
    """Apply ``edit(items, index)`` to the elements of the parent of position ``path``."""
    *parent, last = path

    def change(p):
        split = _parts(p)
        if split is None:
            raise _part_error(name, path, p)
        head, items = split
        n = len(items) + (1 if end_ok else 0)
        if not is_integer(last) or not 1 <= abs(last) <= n:
            raise _part_error(name, path, p)
        edit(items, last - 1 if last > 0 else n + last)
        return _rebuild(head, items)
    return update_at(x, tuple(parent), change, name)


@builtin("Insert", ("Insert[list, elem, n]", "Insert[list, elem, {i, j, ...}]",
                    "Insert[list, elem, {{i1, ...}, {i2, ...}}]", "Insert[elem, n][list]"),
         "list with elem inserted at position n (negative: counted from the end)", args=(2, 3),
         section=SECTION)
def _insert(ev, x, elem, spec=None):
    if spec is None:
        return NOT_APPLICABLE
    call = Expr(S("Insert"), x, elem, spec)
    if isinstance(x, Association):
        raise wrong_call("Insert", call, "an association takes new keys with Append or Join")
    paths = _positions(spec, "Insert", call)
    for path in sorted(paths, key=lambda p: tuple(-abs(i) if is_integer(i) else 0 for i in p)):
        x = _in_parent(x, path, "Insert", lambda items, i: items.insert(i, elem), end_ok=True)
    return x


@builtin("Delete", ("Delete[expr, n]", "Delete[expr, {i, j, ...}]",
                    "Delete[expr, {{i1, ...}, {i2, ...}}]", "Delete[n][expr]"),
         "expr without the element(s) at the given positions", args=(1, 2), section=SECTION)
def _delete(ev, x, spec=None):
    if spec is None:
        return NOT_APPLICABLE
    call = Expr(S("Delete"), x, spec)
    paths = _positions(spec, "Delete", call)
    if isinstance(x, Association) and all(len(p) == 1 for p in paths):
        drop = {_assoc_index(x, p[0], "Delete", p) for p in paths}
        return Association(r for i, r in enumerate(x.rules) if i not in drop)
    if isinstance(x, np.ndarray) and all(len(p) == 1 for p in paths):
        idx = [_index(p[0], x.shape[0], "Delete", p, x) for p in paths]
        out = np.delete(x, idx, axis=0)
        return Expr(List) if out.shape[0] == 0 else packed(out)
    # deepest and rightmost first, so that earlier deletions do not shift later positions
    for path in sorted(paths, key=lambda p: [(i if is_integer(i) and i > 0 else 10 ** 18 + (
            i if is_integer(i) else 0)) for i in p], reverse=True):
        x = _in_parent(x, path, "Delete", lambda items, i: items.pop(i))
    return x


# ---------------------------------------------------------------- Catenate, ArrayReshape
@builtin("Catenate", "Catenate[{list1, list2, ...}]",
         "the elements of all the lists (or associations' values) joined into one list",
         args=1, section=SECTION)
def _catenate(ev, x):
    call = Expr(S("Catenate"), x)
    outer = x.values() if isinstance(x, Association) else elements_of(x, "Catenate", call)[1]
    if outer and all(_numeric_packed(a) for a in outer) and \
            len({(a.shape[1:], a.dtype.kind == "f") for a in outer}) == 1:   # kinds kept
        return packed(np.concatenate(outer))
    out: list[Any] = []
    for a in outer:
        if isinstance(a, Association):
            out.extend(a.values())
        elif is_list(a):
            out.extend(list_items(a))
        else:
            raise EvaluationError(f"{short(a)} in {short(call)} is not a list or an association.",
                                  symbol="Catenate", tag="invrp")
    _elements_guard(len(out), "Catenate", call)
    return make_list(out)


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, np.ndarray):
        return [v for v in x.reshape(-1).tolist()]
    if is_list(x):
        return [leaf for a in list_items(x) for leaf in _leaves(a)]
    return [x]


def _nest(flat: list[Any], dims: tuple[int, ...]) -> Any:
    if len(dims) == 1:
        return make_list(flat)
    step = math.prod(dims[1:])
    return make_list(_nest(flat[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0]))


def _dims(spec: Any, name: str, call: Any) -> tuple[int, ...]:
    items = list_items(spec) if is_list(spec) else [spec]
    if not items or not all(is_integer(d) and d >= 0 for d in items):
        raise wrong_call(name, call, f"{short(spec)} is not a list of non-negative integers")
    return tuple(items)


@builtin("ArrayReshape", ("ArrayReshape[list, dims]", "ArrayReshape[list, dims, padding]"),
         "the elements of list (flattened) arranged in an array of dimensions dims, padded "
         "with 0 (or padding) when too few", args=(2, 3), section=SECTION)
def _array_reshape(ev, x, spec, pad=None):
    call = Expr(S("ArrayReshape"), x, spec, *([] if pad is None else [pad]))
    pad = 0 if pad is None else pad
    dims = _dims(spec, "ArrayReshape", call)
    check_size(dims)
    total = math.prod(dims)
    if _numeric_packed(x) and _same_kind(x, pad):
        flat = x.reshape(-1)[:total]
        if flat.shape[0] < total:
            fill = np.full(total - flat.shape[0], pad)
            flat = np.concatenate([flat, fill.astype(np.result_type(flat, fill))])
        return packed(flat.reshape(dims)) if total else Expr(List)
    _elements_guard(total, "ArrayReshape", call)
    flat = _leaves(x)[:total]
    flat += [pad] * (total - len(flat))
    return _nest([_atom(v) for v in flat], dims)


def _atom(v: Any) -> Any:
    from ..expr import to_atom
    return to_atom(v)


# ---------------------------------------------------------------- Accumulate, Differences
@builtin("Accumulate", "Accumulate[list]", "the running totals {a, a + b, a + b + c, ...}",
         args=1, section=SECTION)
def _accumulate(ev, x):
    call = Expr(S("Accumulate"), x)
    if _numeric_packed(x) and _no_overflow(x, x.shape[0]):
        return packed(np.cumsum(x, axis=0))
    head, items = elements_of(x, "Accumulate", call)
    out = []
    total = None
    for e in items:
        if total is None:
            total = e
        elif isinstance(total, Expr) and total.head is S("Plus"):   # a + b + c, not (a + b) + c
            total = ev.call(S("Plus"), *total.args, e)
        else:
            total = ev.call(S("Plus"), total, e)
        out.append(total)
    return _rebuild(head, out)


@builtin("Differences", ("Differences[list]", "Differences[list, n]"),
         "the successive differences {b - a, c - b, ...} (n times)", args=(1, 2),
         section=SECTION)
def _differences(ev, x, n=None):
    call = Expr(S("Differences"), x, *([] if n is None else [n]))
    n = 1 if n is None else n
    if not (is_integer(n) and n >= 0):
        raise wrong_call("Differences", call, f"{short(n)} is not a non-negative integer")
    if _numeric_packed(x) and n < 62 and _no_overflow(x, 2 ** n):
        if n >= x.shape[0]:
            return Expr(List)
        return packed(np.diff(x, n=n, axis=0))
    head, items = elements_of(x, "Differences", call)
    for _ in range(min(n, len(items))):
        items = [ev.call(S("Subtract"), b, a) for a, b in zip(items, items[1:])]
    return _rebuild(head, items if n <= len(items) or n == 0 else [])


# ---------------------------------------------------------------- rotate, pad
def _rotate(ev, name: str, x: Any, n: Any, sign: int) -> Any:
    call = Expr(S(name), x, *([] if n is None else [n]))
    shifts = [1] if n is None else (list_items(n) if is_list(n) else [n])
    if not all(is_integer(s) for s in shifts):
        raise wrong_call(name, call, f"{short(n)} is not an integer or a list of integers")
    if _numeric_packed(x) and len(shifts) <= x.ndim:
        return packed(np.roll(x, [sign * s for s in shifts], axis=tuple(range(len(shifts)))))
    return _rotate_levels(x, shifts, sign, name, call)


def _rotate_levels(x: Any, shifts: list[int], sign: int, name: str, call: Any) -> Any:
    if not shifts:
        return x
    head, items = elements_of(x, name, call)
    if items:
        k = (-sign * shifts[0]) % len(items)
        items = items[k:] + items[:k]
    return _rebuild(head, [_rotate_levels(i, shifts[1:], sign, name, call) for i in items]
                    if len(shifts) > 1 else items)


@builtin("RotateLeft", ("RotateLeft[list]", "RotateLeft[list, n]", "RotateLeft[list, {n1, n2}]"),
         "the elements cycled n places (default 1) to the left (at successive levels)",
         args=(1, 2), section=SECTION)
def _rotate_left(ev, x, n=None):
    return _rotate(ev, "RotateLeft", x, n, -1)


@builtin("RotateRight", ("RotateRight[list]", "RotateRight[list, n]",
                         "RotateRight[list, {n1, n2}]"),
         "the elements cycled n places (default 1) to the right (at successive levels)",
         args=(1, 2), section=SECTION)
def _rotate_right(ev, x, n=None):
    return _rotate(ev, "RotateRight", x, n, 1)


def _pad(ev, name: str, x: Any, n: Any, fill: Any, left: bool) -> Any:
    call = Expr(S(name), x, *([] if n is None else [n]), *([] if fill is None else [fill]))
    if not is_list(x):
        raise _nonatomic(name, call)
    fill = 0 if fill is None else fill
    if n is None:
        dims = _full_dims(x)
        sides = (left,) * len(dims)
    else:
        signed = list_items(n) if is_list(n) else [n]
        if not signed or not all(is_integer(d) for d in signed):
            raise wrong_call(name, call, f"{short(n)} is not a length or a list of lengths")
        dims = tuple(abs(d) for d in signed)
        sides = tuple(left == (d >= 0) for d in signed)   # a negative length pads the other side
    check_size(dims)
    _elements_guard(math.prod(dims), name, call)
    if _numeric_packed(x) and len(dims) <= x.ndim and _same_kind(x, fill):
        return _pad_array(x, dims, fill, sides)
    if len(_full_dims(x)) < len(dims):
        raise EvaluationError(f"{short(x)} in {short(call)} is not a list nested "
                              f"{len(dims)} levels deep, as the padding dimensions ask.",
                              symbol=name, tag="level")
    cyc = list_items(fill) if is_list(fill) else None
    return _pad_nested(x, dims, fill, cyc, sides)


def _full_dims(x: Any) -> tuple[int, ...]:
    """PadLeft[list]: the dimensions that make a ragged list full, as deep as it is a list
    of lists at every element of a level."""
    dims = []
    level = [x]
    while level and all(is_list(e) for e in level):
        dims.append(max(_len(e) for e in level))
        level = [i for e in level for i in list_items(e)]
    return tuple(dims)


def _len(x: Any) -> int:
    return x.shape[0] if isinstance(x, np.ndarray) else len(x.args)


def _pad_array(x: np.ndarray, dims: tuple[int, ...], fill: Any, sides: tuple[bool, ...]) -> Any:
    """Padding of a packed array in one np.pad; ``sides[k]``: pad level k on the left."""
    out_dtype = np.result_type(x.dtype, np.asarray(fill).dtype)
    src = x
    for axis, d in enumerate(dims):   # keep the last d (left padding) or the first d
        length = src.shape[axis]
        if length > d:
            sl = [slice(None)] * src.ndim
            sl[axis] = slice(length - d, None) if sides[axis] else slice(0, d)
            src = src[tuple(sl)]
    widths = []
    for axis in range(src.ndim):
        extra = dims[axis] - src.shape[axis] if axis < len(dims) else 0
        widths.append((extra, 0) if axis < len(dims) and sides[axis] else (0, extra))
    out = np.pad(src.astype(out_dtype, copy=False), widths, constant_values=fill)
    return packed(out) if out.shape[0] else Expr(List)


def _pad_nested(x: Any, dims: tuple[int, ...], fill: Any, cyc: list | None,
                sides: tuple[bool, ...]) -> Any:
    d, rest, left = dims[0], dims[1:], sides[0]
    items = list_items(x) if is_list(x) else []
    if len(items) > d:
        items = items[len(items) - d:] if left else items[:d]
    extra = d - len(items)

    def filler(k: int) -> Any:
        if cyc is None:
            value = fill
        else:   # cyclic padding is laid down under the whole result, the list on top
            value = cyc[k % len(cyc)] if cyc else 0
        return _pad_nested(Expr(List), rest, fill, cyc, sides[1:]) if rest else value

    body = [_pad_nested(i, rest, fill, cyc, sides[1:]) if rest else i for i in items]
    if left:   # the list's last element lies on the padding's last (Wolfram's alignment)
        out = [filler(k - d) for k in range(extra)] + body
    else:
        out = body + [filler(len(items) + k) for k in range(extra)]
    return make_list(out)


@builtin("PadLeft", ("PadLeft[list]", "PadLeft[list, n]", "PadLeft[list, n, x]",
                     "PadLeft[list, {n1, n2, ...}]"),
         "list padded on the left with 0 (or x, or cyclic copies of a list x) to length n "
         "(truncated on the left when longer); PadLeft[list] makes a ragged list full",
         args=(1, 3), section=SECTION)
def _pad_left(ev, x, n=None, fill=None):
    return _pad(ev, "PadLeft", x, n, fill, True)


@builtin("PadRight", ("PadRight[list]", "PadRight[list, n]", "PadRight[list, n, x]",
                      "PadRight[list, {n1, n2, ...}]"),
         "list padded on the right with 0 (or x, or cyclic copies of a list x) to length n "
         "(truncated when longer); PadRight[list] makes a ragged list full", args=(1, 3),
         section=SECTION)
def _pad_right(ev, x, n=None, fill=None):
    return _pad(ev, "PadRight", x, n, fill, False)


# ---------------------------------------------------------------- Pick
def _pick(ev, x: Any, sel: Any, patt: Any, call: Any) -> Any:
    if ev.match(patt, sel) is not None:
        return x
    xs, ss = _parts(x), _parts(sel)
    if xs is None or ss is None:
        return None
    if len(xs[1]) != len(ss[1]):
        raise EvaluationError(f"{short(call)} cannot be done: the list and the selector have "
                              f"different shapes.", symbol="Pick", tag="incomp")
    kept = [p for p in (_pick(ev, a, s, patt, call) for a, s in zip(xs[1], ss[1]))
            if p is not None]
    return _rebuild(xs[0], kept)


@builtin("Pick", ("Pick[list, sel]", "Pick[list, sel, patt]"),
         "the elements of list whose counterpart in sel is True (or matches patt)",
         args=(2, 3), section=SECTION)
def _pick_fn(ev, x, sel, patt=TrueS):
    call = Expr(S("Pick"), x, sel, *([] if patt is TrueS else [patt]))
    if isinstance(x, np.ndarray) and patt is TrueS and isinstance(sel, Expr) \
            and x.ndim >= 1 and len(sel.args) == x.shape[0] \
            and all(a is TrueS or a is S("False") for a in sel.args):
        mask = np.array([a is TrueS for a in sel.args], dtype=bool)
        out = x[mask]
        return packed(out) if out.shape[0] else Expr(List)
    if _parts(x) is None:
        raise _nonatomic("Pick", call, 1)
    result = _pick(ev, x, sel, patt, call)
    return result if result is not None else _rebuild(head_of(x), [])


# ---------------------------------------------------------------- Tuples, Subsets, Permutations
@builtin("Tuples", ("Tuples[list, n]", "Tuples[{list1, list2, ...}]"),
         "all n-tuples of elements of list (all ways to take one element from each list)",
         args=(1, 2), section=SECTION)
def _tuples(ev, x, n=None):
    call = Expr(S("Tuples"), x, *([] if n is None else [n]))
    if n is None:
        head, lists = elements_of(x, "Tuples", call)
        pools = []
        for k, lst in enumerate(lists):
            pools.append(elements_of(lst, "Tuples", call, f"{{1, {k + 1}}}")[1])
        count = math.prod(len(p) for p in pools)
        _elements_guard(count * max(len(pools), 1), "Tuples", call)
        return make_list(_rebuild(head, list(t)) for t in itertools.product(*pools))
    if not (is_integer(n) and n >= 0):
        raise wrong_call("Tuples", call, f"{short(n)} is not a non-negative integer")
    head, items = elements_of(x, "Tuples", call)
    if not items:   # Tuples[{}, n]: no tuple of n > 0 elements, one empty tuple for n = 0
        return make_list([make_list([])]) if n == 0 else make_list([])
    if len(items) > 1 and n * math.log2(len(items)) > 256:   # never compute a huge power
        budget.check_bytes(2 ** 256, f"the {len(items)}^{n} tuples of {short(call)}")
    count = len(items) ** n
    budget.check((count, n), 8, "the tuples")
    if _numeric_packed(x) and x.ndim == 1 and n > 0:
        idx = np.indices((x.shape[0],) * n).reshape(n, -1).T
        out = x[idx]
        return packed(out) if out.shape[0] else Expr(List)
    _elements_guard(count * max(n, 1), "Tuples", call)
    return make_list(_rebuild(head, list(t)) for t in itertools.product(items, repeat=n))


def _size_range(spec: Any, length: int, name: str, call: Any) -> range:
    """A Subsets/Permutations size spec: n (0..n), {n} (exactly), {m, n}, All."""
    if spec is None or spec is All:
        return range(0, length + 1)
    if spec is Infinity:
        return range(0, length + 1)
    if is_integer(spec) and spec >= 0:
        return range(0, min(spec, length) + 1)
    items = list_items(spec) if is_list(spec) else None
    if items and 1 <= len(items) <= 3 and all(is_integer(i) and i >= 0 for i in items):
        lo = items[0]
        hi = items[1] if len(items) >= 2 else items[0]
        step = items[2] if len(items) == 3 else 1
        return range(lo, min(hi, length) + 1, step or 1)
    raise wrong_call(name, call, f"{short(spec)} is not a size specification (n, {{n}}, "
                                 f"{{m, n}} or All)")


@builtin("Subsets", ("Subsets[list]", "Subsets[list, n]", "Subsets[list, {n}]",
                     "Subsets[list, {m, n}]", "Subsets[list, spec, k]"),
         "the subsets of list, smallest first (of at most n, exactly n, or m to n elements; "
         "the first k)", args=(1, 3), section=SECTION)
def _subsets(ev, x, spec=None, k=None):
    call = Expr(S("Subsets"), x, *[a for a in (spec, k) if a is not None])
    head, items = elements_of(x, "Subsets", call)
    sizes = _size_range(spec, len(items), "Subsets", call)
    total = sum(math.comb(len(items), r) for r in sizes)
    limit = total
    if k is not None and k is not All:
        if not (is_integer(k) and k >= 0):
            raise wrong_call("Subsets", call, f"{short(k)} is not a non-negative count")
        limit = min(total, k)
    _elements_guard(limit * max(max(sizes, default=1), 1), "Subsets", call, "subset elements")
    combos = itertools.chain.from_iterable(itertools.combinations(items, r) for r in sizes)
    return make_list(_rebuild(head, list(c)) for c in itertools.islice(combos, limit))


@builtin("Permutations", ("Permutations[list]", "Permutations[list, n]",
                          "Permutations[list, {n}]"),
         "the distinct permutations of list (of at most n, or exactly n elements)",
         args=(1, 2), section=SECTION)
def _permutations(ev, x, spec=None):
    call = Expr(S("Permutations"), x, *([] if spec is None else [spec]))
    head, items = elements_of(x, "Permutations", call)
    sizes = _size_range(spec, len(items), "Permutations", call) if spec is not None \
        else range(len(items), len(items) + 1)
    total = sum(math.perm(len(items), r) for r in sizes)
    _elements_guard(total * max(len(items), 1), "Permutations", call, "permutation elements")
    seen: set = set()
    out = []
    for r in sizes:
        for p in itertools.permutations(items, r):
            key = tuple(hash_key(e) for e in p)
            if key not in seen:
                seen.add(key)
                out.append(_rebuild(head, list(p)))
    return make_list(out)


# ---------------------------------------------------------------- Array, UnitVector...
@builtin("Array", ("Array[f, n]", "Array[f, {n1, n2, ...}]", "Array[f, n, r]",
                   "Array[f, dims, {r1, r2, ...}]"),
         "the list {f[1], ..., f[n]} (f[i, j] for several dimensions; indices from r)",
         args=(2, 3), section=SECTION)
def _array(ev, f, n, origin=None):
    call = Expr(S("Array"), f, n, *([] if origin is None else [origin]))
    origin = 1 if origin is None else origin
    dims = _dims(n, "Array", call)
    origins = list_items(origin) if is_list(origin) else [origin] * len(dims)
    if len(origins) != len(dims) or not all(is_number(o) for o in origins):
        raise wrong_call("Array", call, f"{short(origin)} is not an index origin for each "
                                        f"dimension")
    check_size(dims)
    _elements_guard(math.prod(dims), "Array", call)

    def build(level: int, index: tuple) -> Any:
        if level == len(dims):
            return ev.call(f, *index)
        return make_list(build(level + 1, index + (origins[level] + i,))
                         for i in range(dims[level]))
    return build(0, ())


@builtin("UnitVector", ("UnitVector[n, k]", "UnitVector[k]"),
         "the length-n list with 1 at position k and 0 elsewhere (n = 2 by default)",
         args=(1, 2), section=SECTION)
def _unit_vector(ev, n, k=None):
    call = Expr(S("UnitVector"), n, *([] if k is None else [k]))
    n, k = (2, n) if k is None else (n, k)
    if not (is_integer(n) and n >= 1 and is_integer(k) and 1 <= k <= n):
        raise EvaluationError(f"{short(call)}: the position {short(k)} must be a positive "
                              f"integer no larger than the length {short(n)}.",
                              symbol="UnitVector", tag="upos")
    check_size((n,))
    out = np.zeros(n, dtype=np.int64)
    out[k - 1] = 1
    return packed(out)


@builtin("IdentityMatrix", "IdentityMatrix[n]", "the n x n identity matrix", args=1,
         section=SECTION)
def _identity_matrix(ev, n):
    if not (is_integer(n) and n >= 0):
        raise EvaluationError(f"{short(Expr(S('IdentityMatrix'), n))}: {short(n)} is not a "
                              f"non-negative machine-sized integer.", symbol="IdentityMatrix",
                              tag="intnm")
    check_size((n, n))
    return packed(np.eye(n, dtype=np.int64)) if n else Expr(List)


def _triangularize(name: str, keep: Callable[[int, int, int], bool], numpy_fn):
    """UpperTriangularize / LowerTriangularize: a causal attention mask is
    UpperTriangularize[ConstantArray[-10^9, {n, n}], 1]; the k-th diagonal is j - i = k."""
    @builtin(name, (f"{name}[m]", f"{name}[m, k]"),
             f"m with the elements {'below' if name[0] == 'U' else 'above'} its k-th "
             f"diagonal (the main one by default) set to 0", args=(1, 2), section=SECTION)
    def fn(ev, m, k=None):
        call = Expr(S(name), m, *([] if k is None else [k]))
        k = 0 if k is None else k
        if not is_integer(k):
            raise EvaluationError(f"{short(call)}: the diagonal {short(k)} is not an integer.",
                                  symbol=name, tag="intm")
        if isinstance(m, np.ndarray) and m.ndim == 2:
            return packed(numpy_fn(m, k))
        rows = list_items(m) if is_list(m) else None
        if not rows or not all(is_list(r) for r in rows) or \
                len({len(list_items(r)) for r in rows}) != 1:
            raise EvaluationError(f"{short(call)}: the argument {short(m)} is not a matrix.",
                                  symbol=name, tag="matrix")
        return make_list(make_list(x if keep(i, j, k) else 0
                                   for j, x in enumerate(list_items(r)))
                         for i, r in enumerate(rows))
    return fn


@builtin("ArrayFlatten", "ArrayFlatten[{{m11, m12, ...}, {m21, m22, ...}, ...}]",
         "the matrix made by joining a matrix of matrix blocks (a number stands for a block "
         "of that number)", args=1, section=SECTION)
def _array_flatten(ev, a):
    call = Expr(S("ArrayFlatten"), a)

    def bad(why: str) -> EvaluationError:
        return EvaluationError(f"{short(call)}: {why}", symbol="ArrayFlatten", tag="consist")
    grid = [list_items(r) for r in list_items(a)] if is_list(a) and \
        all(is_list(r) for r in list_items(a)) else None
    if not grid or len({len(r) for r in grid}) != 1:
        raise bad("the argument is not a matrix of blocks.")

    def rows_of(b: Any) -> list[list[Any]] | None:
        if isinstance(b, np.ndarray) and b.ndim == 2:
            return [list_items(packed(r)) for r in b]
        if is_list(b) and list_items(b) and all(is_list(r) for r in list_items(b)):
            return [list_items(r) for r in list_items(b)]
        return None
    blocks = [[rows_of(b) for b in r] for r in grid]
    heights, widths = [], []
    for i, r in enumerate(blocks):
        hs = {len(b) for b in r if b is not None}
        if len(hs) != 1:
            raise bad(f"the blocks of block row {i + 1} do not have one number of rows.")
        heights.append(hs.pop())
    for j in range(len(grid[0])):
        ws = {len(b[0]) for b in (r[j] for r in blocks) if b is not None}
        if len(ws) != 1:
            raise bad(f"the blocks of block column {j + 1} do not have one number of columns.")
        widths.append(ws.pop())
    out: list[Any] = []
    for i, r in enumerate(blocks):
        for k in range(heights[i]):
            row: list[Any] = []
            for j, b in enumerate(r):
                if b is None:
                    row.extend([grid[i][j]] * widths[j])
                else:
                    if any(len(x) != widths[j] for x in b):
                        raise bad(f"block {{{i + 1}, {j + 1}}} is not a matrix.")
                    row.extend(b[k])
            out.append(row)
    _elements_guard(sum(heights) * sum(widths), "ArrayFlatten", call)
    result = make_list(make_list(row) for row in out)
    try:
        return packed(to_ndarray(result)) if all(is_number(x) for row in out for x in row) \
            else result
    except TypeError:
        return result


_triangularize("UpperTriangularize", lambda i, j, k: j - i >= k, np.triu)
_triangularize("LowerTriangularize", lambda i, j, k: j - i <= k, np.tril)


# ---------------------------------------------------------------- Level, Depth, array tests
def depth(x: Any) -> int:
    """Wolfram's Depth: 1 for an atom, one more than its deepest element otherwise."""
    if isinstance(x, np.ndarray):
        return x.ndim + 1
    if isinstance(x, Association):
        return 1 + max((depth(v) for v in x.values()), default=0)
    if isinstance(x, Expr):
        stack = [(x, 1)]
        best = 1
        while stack:   # iterative: deep expressions do not hit Python's recursion limit
            e, d = stack.pop()
            if isinstance(e, np.ndarray):
                best = max(best, d + e.ndim)
            elif isinstance(e, Association):
                best = max(best, d - 1 + depth(e))
            elif isinstance(e, Expr):
                best = max(best, d + 1)
                stack.extend((a, d + 1) for a in e.args)
            else:
                best = max(best, d)
        return best
    return 1


@builtin("Depth", "Depth[expr]", "1 for an atom; one more than the depth of the deepest "
                                 "element otherwise ({a} has depth 2)", args=1, section=SECTION)
def _depth(ev, x):
    return depth(x)


def _array_dims(x: Any, head: Any = List) -> list[int]:
    """The dimensions of the largest full array at the top of x (ArrayDepth's count)."""
    if isinstance(x, np.ndarray):
        return list(x.shape)
    dims: list[int] = []
    level = [x]
    while level and all((isinstance(e, Expr) and e.head is head) or isinstance(e, np.ndarray)
                        for e in level):
        lengths = {_len(e) for e in level}
        if len(lengths) != 1:
            break
        dims.append(lengths.pop())
        level = [i for e in level for i in list_items(e)]
        if not level:
            break
    return dims


@builtin("ArrayDepth", "ArrayDepth[expr]", "the number of levels to which expr is a full "
                                           "(rectangular) array", args=1, section=SECTION)
def _array_depth(ev, x):
    return len(_array_dims(x))


def _leaves_at(x: Any, k: int) -> list[Any]:
    level = [x]
    for _ in range(k):
        level = [i for e in level for i in list_items(e)]
    return level


def _test_all(ev, values: list[Any], test: Any) -> bool:
    return all(ev.call(test, v) is TrueS for v in values)


@builtin("VectorQ", ("VectorQ[expr]", "VectorQ[expr, test]"),
         "True if expr is a list none of whose elements are lists (each passing test)",
         args=(1, 2), section=SECTION)
def _vector_q(ev, x, test=None):
    if isinstance(x, np.ndarray):
        return boolean(_array_q(ev, x, 1, test))
    if not (isinstance(x, Expr) and x.head is List) or any(is_list(a) for a in x.args):
        return boolean(False)
    return boolean(test is None or _test_all(ev, list(x.args), test))


@builtin("MatrixQ", ("MatrixQ[expr]", "MatrixQ[expr, test]"),
         "True if expr is a list of lists of equal length whose elements are not lists "
         "(each passing test)", args=(1, 2), section=SECTION)
def _matrix_q(ev, x, test=None):
    return boolean(_array_q(ev, x, 2, test))


# tests that every element of a packed array of these kinds passes, without calling them
_ARRAY_TESTS = {"NumberQ": "iuf", "NumericQ": "iuf", "IntegerQ": "iu", "MachineNumberQ": "f",
                }


def _array_q(ev, x: Any, rank: int | None, test: Any) -> bool:
    if isinstance(x, np.ndarray):
        if rank is not None and x.ndim != rank:
            return False
        if test is None:
            return True
        kinds = _ARRAY_TESTS.get(test.name) if isinstance(test, Symbol) else None
        if kinds:
            return x.dtype.kind in kinds
        return _test_all(ev, [_atom(v) for v in x.reshape(-1).tolist()], test)
    if not is_list(x):
        return False
    dims = _array_dims(x)
    leaves = _leaves_at(x, len(dims))
    if any(is_list(v) for v in leaves) or (rank is not None and len(dims) != rank):
        return False
    return test is None or _test_all(ev, leaves, test)


@builtin("ArrayQ", ("ArrayQ[expr]", "ArrayQ[expr, n]", "ArrayQ[expr, n, test]"),
         "True if expr is a full array (of depth n; elements passing test)", args=(1, 3),
         section=SECTION)
def _array_q_fn(ev, x, n=None, test=None):
    call = Expr(S("ArrayQ"), x, *[a for a in (n, test) if a is not None])
    rank = None
    if n is not None and n is not S("_") and not (isinstance(n, Expr) and n.head is S("Blank")):
        if not (is_integer(n) and n >= 0):
            raise wrong_call("ArrayQ", call, f"{short(n)} is not a depth")
        rank = n
    return boolean(_array_q(ev, x, rank, test))


def _level_bound(b: Any, name: str, call: Any) -> float:
    if is_integer(b):
        return b
    if b is Infinity:
        return math.inf
    raise wrong_call(name, call, f"{short(b)} is not a level (an integer or Infinity)")


def _at_level(d: int, dep: int, bound: float, above: bool) -> bool:
    """Level d (from the top) or -dep (from the leaves, for a negative bound) is on the
    right side of one bound of a level specification."""
    level = d if bound >= 0 else -dep
    return level >= bound if above else level <= bound


def _level_items(x: Any, lo: float, hi: float, d: int, out: list[Any]) -> None:
    """Parts of x between levels lo and hi (negative levels count from the leaves),
    children before their parent, as Wolfram's Level lists them."""
    split = (None, x.values()) if isinstance(x, Association) else _parts(x)
    if split is not None and (hi < 0 or d < hi):
        for item in split[1]:
            _level_items(item, lo, hi, d + 1, out)
    dep = depth(x) if lo < 0 or hi < 0 else 0
    if _at_level(d, dep, lo, True) and _at_level(d, dep, hi, False):
        out.append(x)


@builtin("Level", ("Level[expr, n]", "Level[expr, {n}]", "Level[expr, {m, n}]",
                   "Level[expr, {-1}]"),
         "the parts of expr at levels 1 through n (just n; m to n; negative levels count "
         "from the leaves, {-1} being the atoms)", args=2, section=SECTION)
def _level(ev, x, spec):
    call = Expr(S("Level"), x, spec)
    if is_list(spec):
        items = list_items(spec)
        if not 1 <= len(items) <= 2:
            raise wrong_call("Level", call, f"{short(spec)} is not a level specification")
        lo, hi = _level_bound(items[0], "Level", call), _level_bound(items[-1], "Level", call)
    else:
        lo, hi = 1, _level_bound(spec, "Level", call)
    out: list[Any] = []
    with budget.deep_recursion():
        _level_items(x, lo, hi, 0, out)
    return make_list(out)


OPERATOR_FORMS.update({"MapThread": False, "Extract": True, "ReplacePart": True,
                       "Delete": True})
two_argument_operator("MapAt", 1)
two_argument_operator("Insert", 0)


__all__ = ["update_at", "depth", "MAX_ELEMENTS"]
