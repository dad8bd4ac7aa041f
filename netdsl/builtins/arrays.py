"""Array operations of signal and image code: ArrayPad, ListCorrelate, ListConvolve.

ArrayPad is one ``np.pad`` (on the array itself when it is packed, else on the positions of
its elements, so any expressions can be padded); Wolfram's named paddings map onto NumPy's
modes: "Fixed" is "edge", "Periodic" "wrap", "Reflected" "reflect" (the edge element not
repeated), "Reversed" "symmetric" (repeated). ListCorrelate and ListConvolve compute the
plain form without overhangs ("valid" correlation) as one ``tensordot`` over a
``sliding_window_view``, exactly for integers (int64 where no sum can overflow, Python
integers otherwise).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import (Expr, List, Symbol, boolean, is_integer, is_list, is_number, list_items,
                    packed, to_ndarray)
from ..layers.base import AbstractArray
from .levels import full_dims, rearrange
from .numeric import check_size, exact, from_objects, numeric
from .registry import builtin, wrong_call
from .stringpatterns import show
from .structure import _elements_guard

S = Symbol
SECTION = "Lists and arrays"

_MODES = {"Fixed": "edge", "Periodic": "wrap", "Reflected": "reflect", "Reversed": "symmetric"}


# ---------------------------------------------------------------- ArrayPad
def _widths(spec: Any, depth: int, call: Any) -> list[tuple[int, int]]:
    """(before, after) for each padded level: m, {m, n} (every level) or {{m1, n1}, ...}."""
    if is_integer(spec):
        return [(spec, spec)] * depth
    items = list_items(spec) if is_list(spec) else []
    if len(items) == 2 and all(is_integer(i) for i in items):
        return [(items[0], items[1])] * depth
    pairs = [list_items(i) if is_list(i) else None for i in items]
    if items and all(p is not None and len(p) == 2 and all(is_integer(v) for v in p)
                     for p in pairs):
        if len(pairs) > depth:
            raise EvaluationError(f"The padding specification {show(spec)} in {show(call)} "
                                  f"has more levels than the full array's {depth}.",
                                  symbol="ArrayPad", tag="depth")
        return [(p[0], p[1]) for p in pairs]   # type: ignore[index]
    raise wrong_call("ArrayPad", call, f"{show(spec)} is not a padding specification m, "
                                       "{m, n} or {{m1, n1}, {m2, n2}, ...}")


def _same_kind(a: np.ndarray, v: Any) -> bool:
    return (is_integer(v) and a.dtype.kind in "iu" and abs(v) < 2 ** 63) or \
        (isinstance(v, float) and a.dtype.kind == "f")


@builtin("ArrayPad", ("ArrayPad[array, m]", "ArrayPad[array, {m, n}]",
                      "ArrayPad[array, {{m1, n1}, {m2, n2}, ...}]", "ArrayPad[array, m, x]",
                      "ArrayPad[array, m, \"Fixed\"]"),
         "the array with m zeros (or x) on every side of every level; {m, n}: m before and "
         "n after; {{m1, n1}, ...}: per level; negative widths remove elements; "
         "\"Fixed\", \"Periodic\", \"Reflected\" or \"Reversed\" pad with copies of the array",
         args=(2, 3), section=SECTION)
def _array_pad(ev, x, spec, padding=None):
    call = Expr(S("ArrayPad"), x, spec, *([] if padding is None else [padding]))
    padding = 0 if padding is None else padding
    if isinstance(x, AbstractArray):   # netdsl check: the dimensions of the result
        widths = _widths(spec, len(x.shape), call)
        return AbstractArray(tuple(d + a + b for d, (a, b) in zip(x.shape, widths))
                             + x.shape[len(widths):], x.what)
    if not is_list(x):
        raise wrong_call("ArrayPad", call, f"{show(x)} is not a list")
    dims = full_dims(x)
    widths = _widths(spec, len(dims), call)
    mode = "constant"
    if isinstance(padding, str):
        if padding not in _MODES:
            raise wrong_call("ArrayPad", call, f"the padding {show(padding)} is not supported "
                                               f"by netdsl (use a value, {', '.join(_MODES)})")
        mode = _MODES[padding]
    elif is_list(padding):
        raise wrong_call("ArrayPad", call, "cyclic padding with a list of values is not "
                                           "supported by netdsl")
    k = len(widths)
    cut = tuple(slice(max(-a, 0), d - max(-b, 0)) for (a, b), d in zip(widths, dims))
    if any(s.start > s.stop for s in cut):
        raise EvaluationError(f"Cannot remove more elements than there are in {show(call)}.",
                              symbol="ArrayPad", tag="padlen")
    grow = [(max(a, 0), max(b, 0)) for a, b in widths]
    shape = tuple(s.stop - s.start + a + b for s, (a, b) in zip(cut, grow)) + dims[k:]
    if mode != "constant" and any(s.stop == s.start and a + b for s, (a, b) in zip(cut, grow)):
        raise wrong_call("ArrayPad", call, f"there is nothing to copy for {show(padding)} "
                                           "padding along an empty level")
    check_size(shape)
    _elements_guard(math.prod(shape), "ArrayPad", call)

    def pad(a: np.ndarray) -> np.ndarray:
        a = a[cut]
        w = grow + [(0, 0)] * (a.ndim - k)
        if mode != "constant":
            return np.pad(a, w, mode=mode)
        fill = -1 if a.dtype.kind in "iu" and not packed_fill else padding
        return np.pad(a, w, constant_values=fill)
    packed_fill = isinstance(x, np.ndarray) and x.dtype != object and (
        mode != "constant" or _same_kind(x, padding))
    if isinstance(x, np.ndarray) and not packed_fill:   # pad positions: keeps kinds apart
        x = Expr(List, *list_items(x))
    return rearrange(x, k, pad, padding)


# ---------------------------------------------------------------- ListCorrelate
def _operands(name: str, ker: Any, x: Any, call: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and list as arrays of one kind: int64, float64 or exact (object)."""
    k, a = exact(ker), exact(x)
    if k is None or a is None or is_number(k) or is_number(a):
        k, a = numeric(ker), numeric(x)   # Integers and Reals mixed: Reals
        if not isinstance(k, np.ndarray) or not isinstance(a, np.ndarray) or \
                k.dtype == object or a.dtype == object:
            raise wrong_call(name, call, "netdsl correlates numeric arrays only")
        return k.astype(np.float64), a.astype(np.float64)
    if k.dtype.kind == "f" or a.dtype.kind == "f":
        return k.astype(np.float64), a.astype(np.float64)
    if k.dtype == object or a.dtype == object or not _fits(k, a):
        return k.astype(object), a.astype(object)
    return k, a


def _fits(k: np.ndarray, a: np.ndarray) -> bool:
    """Sums of kernel-size products of these int64 arrays stay within int64."""
    if k.size == 0 or a.size == 0:
        return True
    big_k = max(abs(int(k.min())), abs(int(k.max())))
    big_a = max(abs(int(a.min())), abs(int(a.max())))
    return big_k * big_a * k.size < 2 ** 62


def _correlate(name: str, ker: Any, x: Any, extra: tuple, flip: bool) -> Any:
    call = Expr(S(name), ker, x, *extra)
    if extra:
        raise wrong_call(name, call, "overhangs and padding are not supported by netdsl: "
                                     f"only {name}[ker, list], without overhang")
    shapes = [v.shape if isinstance(v, AbstractArray) else None for v in (ker, x)]
    if any(shapes):   # netdsl check: the dimensions of the result
        k_shape = shapes[0] or np.shape(numeric(ker))
        a_shape = shapes[1] or np.shape(numeric(x))
        return AbstractArray(tuple(ad - kd + 1 for kd, ad in zip(k_shape, a_shape))
                             + tuple(a_shape[len(k_shape):]), "array")
    k, a = _operands(name, ker, x, call)
    if k.ndim > a.ndim or k.ndim == 0:
        raise wrong_call(name, call, f"the kernel {show(ker)} must be an array of at most the "
                                     f"depth of the list")
    r = k.ndim
    if any(kd > ad for kd, ad in zip(k.shape, a.shape)) or 0 in k.shape:
        raise EvaluationError(f"The kernel {show(ker)} is larger than the list {show(x)} it "
                              f"is moved over in {show(call)}.", symbol=name, tag="kldims")
    if flip:
        k = k[(slice(None, None, -1),) * r]
    out_shape = tuple(ad - kd + 1 for kd, ad in zip(k.shape, a.shape)) + a.shape[r:]
    check_size(out_shape)
    windows = np.lib.stride_tricks.sliding_window_view(a, k.shape, axis=tuple(range(r)))
    # windows: (out dims..., element dims..., kernel dims...)
    out = np.tensordot(windows, k, axes=(tuple(range(windows.ndim - r, windows.ndim)),
                                         tuple(range(r))))
    return from_objects(out) if out.dtype == object else packed(np.ascontiguousarray(out))


@builtin("ListCorrelate", "ListCorrelate[ker, list]",
         "the correlation of the kernel with the list, without overhang: element i is "
         "ker . (the run of list starting at i); 1-D, 2-D or any depth", args=(2, 4),
         section=SECTION)
def _list_correlate(ev, ker, x, *extra):
    return _correlate("ListCorrelate", ker, x, extra, False)


@builtin("ListConvolve", "ListConvolve[ker, list]",
         "the convolution of the kernel with the list, without overhang: ListCorrelate with "
         "the kernel reversed", args=(2, 4), section=SECTION)
def _list_convolve(ev, ker, x, *extra):
    return _correlate("ListConvolve", ker, x, extra, True)


# ---------------------------------------------------------------- NumericArray
_NUMERIC_TYPES: dict[str, Any] = {
    "Real32": np.float32, "Real64": np.float64, "Real16": np.float32,
    "Integer8": np.int8, "Integer16": np.int16, "Integer32": np.int32, "Integer64": np.int64,
    "UnsignedInteger8": np.uint8, "UnsignedInteger16": np.uint16,
    "UnsignedInteger32": np.uint32, "UnsignedInteger64": np.uint64,
}


@builtin("NumericArray", ('NumericArray[array]', 'NumericArray[array, "type"]'),
         'the array of numbers itself, checked to fit "type" ("Real32" (the default for '
         'reals), "Real64", "Integer8" ... "UnsignedInteger64"): nets take it as any array',
         args=(1, 2), section="Lists and arrays")
def _numeric_array(ev, x, kind="Real32"):
    """Wolfram code wraps net data in NumericArray for speed; netdsl's packed arrays are
    that already, so the value is the array (Normal of it is the same array)."""
    call = Expr(S("NumericArray"), x, kind)
    if not isinstance(kind, str) or kind not in _NUMERIC_TYPES:
        raise wrong_call("NumericArray", call, f"{show(kind)} is not a numeric array type "
                                               f"such as \"Real32\" or \"Integer64\"")
    arr = numeric(x) if not isinstance(x, np.ndarray) else x
    if not isinstance(arr, np.ndarray) or arr.ndim == 0 or arr.dtype.kind not in "iuf":
        raise wrong_call("NumericArray", call, f"{show(x)} is not a rectangular array of "
                                               f"numbers")
    target = np.dtype(_NUMERIC_TYPES[kind])
    if target.kind in "iu":
        info = np.iinfo(target)
        if arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)) or \
                arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise EvaluationError(f"The array cannot be converted to a NumericArray of type "
                                  f"\"{kind}\": its values are not integers in "
                                  f"{info.min}..{info.max}.", symbol="NumericArray",
                                  tag="nconvss")
        return packed(arr.astype(np.int64))
    return packed(arr.astype(np.float32 if target == np.float32 else np.float64))


_PACK_TYPES = {"Integer": "i", "Real": "f"}


def _packable(x: Any) -> np.ndarray | None:
    """``x`` as a rectangular array of machine integers or reals, else None (rationals,
    big integers, symbols and ragged lists do not pack in Wolfram either)."""
    if isinstance(x, np.ndarray):
        return x if x.ndim and x.dtype.kind in "iuf" else None
    if not is_list(x):
        return None
    try:   # exact: rationals and big integers stay objects, and do not pack
        arr = to_ndarray(x, exact=True)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim and arr.dtype.kind in "iuf" else None


@builtin("ToPackedArray", ("Developer`ToPackedArray[expr]",
                           "Developer`ToPackedArray[expr, type]"),
         "expr as a packed array when it is a rectangular array of machine numbers "
         "(type Integer or Real converts), else expr unchanged", args=(1, 2),
         section="Lists and arrays")
def _to_packed_array(ev, x, kind=None):
    """Packages call it for speed before indexing; netdsl lists of numbers are packed
    already, so this only converts the type and otherwise returns ``x``."""
    kind_name = kind.name if isinstance(kind, Symbol) else None
    if kind is not None and kind_name not in _PACK_TYPES:
        raise wrong_call("ToPackedArray", Expr(S("ToPackedArray"), x, kind),
                         f"{show(kind)} is not Integer or Real")
    arr = _packable(x)
    if arr is None:
        return x
    if kind_name == "Real":
        return packed(arr.astype(np.float64))
    if kind_name == "Integer":
        if arr.dtype.kind == "f":
            return x    # reals do not pack as integers: unchanged, as in Wolfram
        return packed(arr.astype(np.int64))
    return packed(arr)


@builtin("PackedArrayQ", ("Developer`PackedArrayQ[expr]",
                          "Developer`PackedArrayQ[expr, type]"),
         "True for a rectangular array of machine numbers (of type Integer or Real)",
         args=(1, 2), section="Lists and arrays")
def _packed_array_q(ev, x, kind=None):
    arr = _packable(x)
    if arr is None:
        return boolean(False)
    if isinstance(kind, Symbol) and kind.name in _PACK_TYPES:
        return boolean(arr.dtype.kind.replace("u", "i") == _PACK_TYPES[kind.name])
    return boolean(True)
