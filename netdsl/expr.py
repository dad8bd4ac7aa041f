"""The expression model: atoms and ``head[args]``, as in Wolfram Language.

Atoms are plain Python values where one fits, so that built-ins stay simple:

    Integer -> int        Real -> float        String -> str
    Rational -> fractions.Fraction (never with denominator 1: that is an int)
    Symbol  -> Symbol     packed List -> numpy.ndarray (read-only)
    Association -> Association      nets, layers -> subclasses of Opaque

Everything else is ``Expr(head, args)``, immutable, optionally carrying the
source ``Span`` it was parsed from (which is not part of its value).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Iterable, Iterator

import numpy as np

from .errors import Span


class Symbol:
    """An interned symbol: ``Symbol("x") is Symbol("x")``."""

    __slots__ = ("name",)
    name: str
    _table: dict[str, "Symbol"] = {}

    def __new__(cls, name: str) -> "Symbol":
        sym = cls._table.get(name)
        if sym is None:
            sym = object.__new__(cls)
            sym.name = name
            cls._table[name] = sym
        return sym

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):  # keep interning under copy
        return (Symbol, (self.name,))


class Expr:
    """A compound expression ``head[args...]``."""

    __slots__ = ("head", "args", "span")

    def __init__(self, head: Any, *args: Any, span: Span | None = None):
        self.head = head
        self.args = args
        self.span = span

    # --- value semantics -------------------------------------------------
    def __eq__(self, other: Any) -> bool:
        return same_q(self, other)

    def __ne__(self, other: Any) -> bool:
        return not same_q(self, other)

    def __hash__(self) -> int:
        return hash((expr_hash(self.head), len(self.args)))

    def __repr__(self) -> str:
        return full_form(self)

    def __str__(self) -> str:
        return input_form(self)

    # --- Python interop: numeric lists behave like arrays ----------------
    def __array__(self, dtype=None, copy=None):
        arr = to_ndarray(self)
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self) -> float:
        raise TypeError(f"{input_form(self)} is not a number")

    def __len__(self) -> int:
        return len(self.args)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.args)

    def __getitem__(self, i):
        return self.args[i]

    def has_head(self, name: str) -> bool:
        return isinstance(self.head, Symbol) and self.head.name == name


class Association:
    """``<|k1 -> v1, ...|>``: an atom, as in Wolfram, keeping insertion order."""

    __slots__ = ("rules", "_index")

    def __init__(self, rules: Iterable[tuple[Any, Any, bool]] = ()):
        # each rule: (key, value, delayed)
        index: dict[Any, int] = {}
        kept: list[tuple[Any, Any, bool]] = []
        for key, value, delayed in rules:
            k = hash_key(key)
            if k in index:  # a later key replaces an earlier one, keeping its place
                kept[index[k]] = (key, value, delayed)
            else:
                index[k] = len(kept)
                kept.append((key, value, delayed))
        self.rules = tuple(kept)
        self._index = index

    def with_rule(self, key: Any, value: Any, delayed: bool = False) -> "Association":
        """This association with ``key``'s value replaced (kept in its place) or added at
        the end: a C-level copy of the rules and the index, not a rebuild (a counting
        loop a[k] = ... over 10,000 keys stays fast)."""
        k = hash_key(key)
        new = object.__new__(Association)
        i = self._index.get(k)
        if i is None:
            new.rules = self.rules + ((key, value, delayed),)
            new._index = {**self._index, k: len(self.rules)}
        else:
            rules = list(self.rules)
            rules[i] = (key, value, delayed)
            new.rules = tuple(rules)
            new._index = self._index
        return new

    def get(self, key: Any, default: Any = None) -> Any:
        i = self._index.get(hash_key(key))
        return default if i is None else self.rules[i][1]

    def __contains__(self, key: Any) -> bool:
        return hash_key(key) in self._index

    def keys(self) -> list[Any]:
        return [k for k, _, _ in self.rules]

    def values(self) -> list[Any]:
        return [v for _, v, _ in self.rules]

    def items(self) -> list[tuple[Any, Any]]:
        return [(k, v) for k, v, _ in self.rules]

    def __len__(self) -> int:
        return len(self.rules)

    def __eq__(self, other: Any) -> bool:
        return same_q(self, other)

    def __hash__(self) -> int:
        return hash(("Association", len(self.rules)))

    def __repr__(self) -> str:
        return full_form(self)

    def __str__(self) -> str:
        return input_form(self)


class Opaque:
    """Base of atoms backed by Python objects (nets, layers, abstract arrays).

    Subclasses give their head, an ``input_form`` that re-parses to an
    equivalent value, and a readable ``output_form`` summary.
    """

    head_name = "Opaque"

    @property
    def head(self) -> Symbol:
        return Symbol(self.head_name)

    def input_form(self) -> str:
        return f"{self.head_name}[]"

    def output_form(self) -> str:
        return self.input_form()

    def __str__(self) -> str:
        return self.output_form()


# ---------------------------------------------------------------------------
# common symbols
S = Symbol
List = S("List")
Rule = S("Rule")
RuleDelayed = S("RuleDelayed")
Null = S("Null")
TrueS = S("True")
FalseS = S("False")
All = S("All")
Automatic = S("Automatic")
NoneS = S("None")
Plus = S("Plus")
Times = S("Times")
Power = S("Power")


def boolean(value: bool) -> Symbol:
    return TrueS if value else FalseS


# ---------------------------------------------------------------------------
# classification helpers
def is_integer(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def is_real(x: Any) -> bool:
    return isinstance(x, float)


def is_number(x: Any) -> bool:
    """Integer, Real or Rational."""
    return isinstance(x, (int, float, Fraction)) and not isinstance(x, bool)


def is_rational(x: Any) -> bool:
    return isinstance(x, Fraction)


def is_list(x: Any) -> bool:
    return isinstance(x, np.ndarray) or (isinstance(x, Expr) and x.head is List)


def is_rule(x: Any) -> bool:
    return isinstance(x, Expr) and (x.head is Rule or x.head is RuleDelayed) and len(x.args) == 2


def is_string(x: Any) -> bool:
    return isinstance(x, str)


def head_of(x: Any) -> Symbol | Any:
    """Wolfram's ``Head``."""
    if isinstance(x, Expr):
        return x.head
    if isinstance(x, bool):
        return S("Symbol")
    if isinstance(x, int):
        return S("Integer")
    if isinstance(x, float):
        return S("Real")
    if isinstance(x, Fraction):
        return S("Rational")
    if isinstance(x, str):
        return S("String")
    if isinstance(x, Symbol):
        return S("Symbol")
    if isinstance(x, np.ndarray):
        return List
    if isinstance(x, Association):
        return S("Association")
    if isinstance(x, Opaque):
        return x.head
    return S("Unknown")


def list_items(x: Any) -> list[Any]:
    """The elements of a List, packed or not, as expressions."""
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            raise TypeError("not a list")
        if x.ndim == 1:
            return [to_atom(v) for v in x.tolist()]
        return [readonly(row) for row in x]
    if isinstance(x, Expr) and x.head is List:
        return list(x.args)
    raise TypeError("not a list")


def list_length(x: Any) -> int:
    if isinstance(x, np.ndarray):
        return x.shape[0]
    return len(x.args)


def to_atom(v: Any) -> Any:
    """Normalise a Python/NumPy scalar into an expression atom."""
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return boolean(bool(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v)
    return v


def readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def packed(a: np.ndarray) -> Any:
    """Wrap a NumPy result as an expression: 0-d arrays become numbers."""
    if a.ndim == 0:
        return to_atom(a.item())
    if a.dtype == np.bool_:
        return _bool_list(a)
    if a.dtype.kind in "iu":
        a = a.astype(np.int64, copy=False)
    elif a.dtype.kind == "f":
        if a.dtype != np.float32:
            a = a.astype(np.float64, copy=False)
    elif a.dtype == object:  # exact numbers beyond int64: nested lists of Python numbers
        if a.ndim == 1:
            return make_list(to_atom(v) for v in a)
        return make_list(packed(row) for row in a)
    else:
        raise TypeError(f"cannot hold arrays of {a.dtype}")
    return readonly(a)


def _bool_list(a: np.ndarray) -> Expr:
    return Expr(List, *[_bool_list(r) if r.ndim else boolean(bool(r)) for r in a])


_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# lists nested deeper than this stay unpacked (NumPy allows 64 dimensions, and some of
# its operations add one): they are still lists, just not arrays
MAX_RANK = 32


def make_list(items: Iterable[Any], span: Span | None = None) -> Any:
    """Build ``List[items]``, packing it into an array when it is rectangular and numeric.

    Packing needs homogeneous entries (all Integer or all Real, or equal-shape
    arrays of one kind), as Wolfram's automatic packing does, so that
    ``{1, 2.5}`` keeps printing its integer.
    """
    items = list(items)
    if items:
        first = items[0]
        if is_integer(first):
            if all(is_integer(x) and _INT64_MIN <= x <= _INT64_MAX for x in items):
                return readonly(np.array(items, dtype=np.int64))
        elif isinstance(first, float):
            if all(isinstance(x, float) for x in items):
                return readonly(np.array(items, dtype=np.float64))
        elif isinstance(first, np.ndarray) and first.ndim < MAX_RANK:
            shape, kind = first.shape, first.dtype.kind
            if all(isinstance(x, np.ndarray) and x.shape == shape and x.dtype.kind == kind
                   for x in items):
                dtype = np.result_type(*{x.dtype for x in items})
                return readonly(np.stack(items).astype(dtype, copy=False))
    return Expr(List, *items, span=span)


def to_ndarray(x: Any, exact: bool = False) -> np.ndarray:
    """A numeric array from a number or a (possibly unpacked) rectangular list.

    Rationals and integers beyond 64 bits become Reals, unless ``exact``: then such a
    list is an object array of Python ints and Fractions (for exact arithmetic).
    """
    arr = _to_ndarray(x)
    if arr.dtype == object and not exact:
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            raise TypeError("the list is not a numeric array") from None
    return arr


def _to_ndarray(x: Any, depth: int = 0) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if is_number(x):
        if isinstance(x, Fraction) or (isinstance(x, int) and not _INT64_MIN <= x <= _INT64_MAX):
            out = np.empty((), dtype=object)
            out[()] = x
            return out
        return np.asarray(x)
    if isinstance(x, Expr) and x.head is List:
        if depth >= MAX_RANK:  # stop early: lists nested deeper are not arrays anyway
            raise TypeError(f"the list is nested deeper than {MAX_RANK} levels")
        parts = [_to_ndarray(a, depth + 1) for a in x.args]
        if not parts:
            return np.zeros((0,))
        shape = parts[0].shape
        if any(p.shape != shape for p in parts):
            raise TypeError("the list is not rectangular")
        if len(shape) >= MAX_RANK:
            raise TypeError(f"the list is nested deeper than {MAX_RANK} levels")
        dtype = np.result_type(*[p.dtype for p in parts])
        return np.stack(parts).astype(dtype, copy=False)
    raise TypeError("the value is not a numeric array")


# ---------------------------------------------------------------------------
# equality
def hash_key(x: Any) -> Any:
    """A hashable stand-in for an expression, for association keys."""
    if isinstance(x, np.ndarray):
        return ("array", x.shape, x.tolist().__repr__())
    if isinstance(x, float) and math.isfinite(x) and x == int(x):
        return ("real", x)
    if isinstance(x, Fraction):
        return ("rational", x)
    if isinstance(x, Expr):
        return ("expr", hash_key(x.head), tuple(hash_key(a) for a in x.args))
    if isinstance(x, Association):
        return ("assoc", tuple((hash_key(k), hash_key(v)) for k, v in x.items()))
    return x


def expr_hash(x: Any) -> int:
    if isinstance(x, np.ndarray):
        return hash((List, x.shape[0] if x.ndim else 0))
    if isinstance(x, Expr) and x.head is List:
        return hash((List, len(x.args)))
    try:
        return hash(x)
    except TypeError:
        return 0


def same_q(a: Any, b: Any) -> bool:
    """Wolfram's ``SameQ``: structural identity (1 and 1. differ; packing does not matter)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return _same_array(a, b)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if type(a) is not type(b):
        return False
    if isinstance(a, Expr):
        return (len(a.args) == len(b.args) and same_q(a.head, b.head)
                and all(same_q(x, y) for x, y in zip(a.args, b.args)))
    if isinstance(a, Association):
        return (len(a) == len(b) and all(
            same_q(k1, k2) and same_q(v1, v2)
            for (k1, v1), (k2, v2) in zip(a.items(), b.items())))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def among(x: Any, options: Iterable[Any]) -> bool:
    """``x in options`` for expressions: safe when ``x`` is an array (plain ``in`` asks
    NumPy for the truth of an elementwise comparison)."""
    return any(same_q(x, o) for o in options)


def _same_array(a: Any, b: Any) -> bool:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        other, arr = (b, a) if isinstance(a, np.ndarray) else (a, b)
        if not (isinstance(other, Expr) and other.head is List):
            return False
        if len(other.args) != arr.shape[0]:
            return False
        return all(same_q(x, y) for x, y in zip(list_items(arr), other.args))
    if a.shape != b.shape:
        return False
    if (a.dtype.kind in "iu") != (b.dtype.kind in "iu"):
        return False
    return bool(np.array_equal(a, b))


# ---------------------------------------------------------------------------
# printing
def int_text(n: int) -> str:
    """The decimal digits of ``n``, however many.

    Python refuses ``str`` of integers above 4300 digits (a guard against slow
    conversion); halving by a power of ten keeps the conversion fast without
    changing that global limit.
    """
    try:
        return str(n)
    except ValueError:
        pass
    if n < 0:
        return "-" + int_text(-n)
    half = int(n.bit_length() * 0.30103) // 2
    high, low = divmod(n, 10 ** half)
    return int_text(high) + int_text(low).rjust(half, "0")


def format_real_input(x: float) -> str:
    """Shortest text that re-parses to exactly ``x``: ``2.``, ``0.1``, ``1.5*^-6``."""
    if math.isnan(x):
        return "Indeterminate"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    r = repr(x)
    if "e" in r:
        mant, exp = r.split("e")
        if "." not in mant:
            mant += "."
        return f"{mant}*^{int(exp)}"
    if r.endswith(".0"):
        return r[:-1]
    return r


def format_real_output(x: float, digits: int = 6) -> str:
    """Wolfram's display of a machine real: ``digits`` significant digits, trailing
    zeros dropped, positional for magnitudes 10^-5 .. 10^6 and ``m*10^e`` outside:
    ``0.89999``, ``1.``, ``100.``, ``0.00001``, ``1.5*10^-6``, ``1.23457*10^6``."""
    if math.isnan(x):
        return "Indeterminate"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0."
    sign = "-" if x < 0 else ""
    mant, exp_text = f"{abs(x):.{digits - 1}e}".split("e")
    exp = int(exp_text)
    figures = mant.replace(".", "").rstrip("0") or "0"   # significant digits, rounded
    if -5 <= exp < 6:
        if exp < 0:
            return f"{sign}0.{'0' * (-exp - 1)}{figures}"
        whole, frac = figures[:exp + 1], figures[exp + 1:]
        return f"{sign}{whole.ljust(exp + 1, '0')}.{frac}"
    text = figures[0] + "." + figures[1:]
    return f"{sign}{text}*10^{exp}"


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote_string(s: str) -> str:
    return '"' + "".join(_ESCAPES.get(c, c) for c in s) + '"'


def full_form(x: Any) -> str:
    """``FullForm``: every compound in ``head[args]`` form."""
    if isinstance(x, Expr):
        head = full_form(x.head)
        if head.startswith("-"):  # -3[a] would read as Times[-1, 3[a]]
            head = f"({head})"
        return f"{head}[{', '.join(full_form(a) for a in x.args)}]"
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return full_form(to_atom(x.item()))
        return "List[" + ", ".join(full_form(a) for a in list_items(x)) + "]"
    if isinstance(x, Association):
        return "Association[" + ", ".join(
            f"{'RuleDelayed' if d else 'Rule'}[{full_form(k)}, {full_form(v)}]"
            for k, v, d in x.rules) + "]"
    if isinstance(x, float):
        return format_real_input(x)
    if isinstance(x, Fraction):
        return f"Rational[{x.numerator}, {x.denominator}]"
    if isinstance(x, str):
        return quote_string(x)
    if isinstance(x, Opaque):
        return x.input_form()
    if isinstance(x, int) and not isinstance(x, bool):
        return int_text(x)
    if isinstance(x, Symbol):
        return TEXT_FORMS["symbol"](x)
    return str(x)


# InputForm and OutputForm are drawn by netdsl.printer, which needs this module: it fills
# TEXT_FORMS when it is imported (the package imports it first), so expressions can print
# themselves without this module importing upwards.
TEXT_FORMS: dict[str, Any] = {"input": full_form, "output": full_form,
                               "symbol": lambda sym: sym.name}   # contexts.symbol_text


def input_form(x: Any) -> str:
    """``InputForm``: operator syntax, exact reals; re-parses to the same expression."""
    return TEXT_FORMS["input"](x)


def output_form(x: Any, max_elements: int | None = 2000) -> str:
    """What ``Out[n]=`` shows: 6-digit reals, long lists elided with ``<<n>>``."""
    return TEXT_FORMS["output"](x, max_elements)
