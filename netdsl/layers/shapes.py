"""Port types: partially known shapes, their unification, and words for messages.

A shape is ``None`` (nothing known, not even the rank) or a tuple whose
entries are sizes or ``None`` (that size unknown). Unification only adds
knowledge, which is what makes inference a terminating fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..expr import Expr, Symbol, input_form, is_integer, is_list, list_items

Shape = tuple | None


class LengthVar:
    """A sequence length known only symbolically ("Varying"): Wolfram's LengthVar.

    It stands in a shape tuple where a size would. Two ports share a length only when a
    layer's rule unifies them (the recurrent and elementwise layers do; SequenceLastLayer
    drops it). A LengthVar unifies with a fixed size (the sequence then has that length)
    and with another LengthVar (the one made first wins, so inference still terminates).
    """

    _next = 0
    __slots__ = ("id",)

    def __init__(self) -> None:
        LengthVar._next += 1
        self.id = LengthVar._next

    def __repr__(self) -> str:
        return "n"

    def __lt__(self, other: "LengthVar") -> bool:
        if not isinstance(other, LengthVar):
            raise VaryingSize()
        return self.id < other.id

    # Arithmetic a shape rule may do on a length. Adding zero or multiplying by one keeps
    # it; adding a size (padding, catenating) gives a new "Varying" length; anything that
    # needs a number (a product of sizes, an index) is a VaryingSize mismatch, which
    # inference reports as a validation failure naming the layer.
    def __add__(self, other: Any) -> "LengthVar":
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        if isinstance(other, (int, LengthVar)):
            return LengthVar()
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Any) -> "LengthVar":
        return self + (-other if isinstance(other, int) else other)

    def __mul__(self, other: Any) -> "LengthVar":
        if isinstance(other, int) and other == 1:
            return self
        raise VaryingSize()

    __rmul__ = __mul__

    def __index__(self) -> int:
        raise VaryingSize()

    def __gt__(self, other: Any) -> bool:
        raise VaryingSize()

    __le__ = __ge__ = __floordiv__ = __truediv__ = __mod__ = __rsub__ = __gt__


def is_length_var(d: Any) -> bool:
    return isinstance(d, LengthVar)


def has_length_var(shape: Shape) -> bool:
    return shape is not None and any(isinstance(d, LengthVar) for d in shape)


class Mismatch(Exception):
    """Two descriptions of one port disagree; ``kind`` is Rank, Dimension or Type."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(kind)


class VaryingSize(Mismatch):
    """A layer needed a fixed size (a number of elements) where a length is "Varying"."""

    def __init__(self) -> None:
        super().__init__("Dimension")


@dataclass(frozen=True)
class PortType:
    """What flows through a port: a real array of ``shape``, or integers (class indices)."""

    shape: Shape = None
    integer: bool = False
    classes: int | None = None  # Restricted["Integer", n]: indices 1..n
    # a NetEncoder or NetDecoder on this port (layers/coders.py); not part of equality, so
    # that inference's fixed point only looks at shapes
    coder: Any = field(default=None, compare=False)
    # a spec that gave a shape only (4, {"Varying", 3}): integers or reals, as the layer
    # reading it takes them ("Input" -> "Varying" before an EmbeddingLayer is indices)
    open_kind: bool = field(default=False, compare=False)

    @property
    def known(self) -> bool:
        return self.shape is not None and all(d is not None for d in self.shape)

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    def with_shape(self, shape: Shape) -> "PortType":
        return PortType(shape, self.integer, self.classes, self.coder)

    def words(self) -> str:
        words = shape_words(self.shape, self.integer, self.classes)
        return words if self.coder is None else f"{self.coder.words()}: {words}"

    def spec(self) -> Any:
        """The Wolfram spec that builds this type back: 3, {3, 32, 32}, "Real", ..."""
        if self.coder is not None:
            base = self.coder.port_type().shape
            if self.shape is not None and base is not None and len(self.shape) > len(base):
                lead = PortType(self.shape[:len(self.shape) - len(base)]).spec()
                lead_dims = lead.args if isinstance(lead, Expr) else (lead,)   # "Varying"
                return Expr(Symbol("List"), *lead_dims, self.coder)   # {"Varying", coder}
            return self.coder
        if self.integer:
            if self.classes is not None and self.shape == ():
                return Expr(Symbol("Restricted"), "Integer", self.classes)
            if self.shape == ():
                return "Integer"
            if self.shape is not None:   # {5, Restricted["Integer", 10]}: 5 indices
                element = PortType((), True, self.classes).spec()
                dims = [Symbol("Automatic") if d is None else "Varying"
                        if isinstance(d, LengthVar) else d for d in self.shape]
                return Expr(Symbol("List"), *dims, element)
        if self.shape is None:
            return Symbol("Automatic")
        if self.shape == ():
            return "Real"
        # only a first dimension can be written "Varying"; a later length (attention
        # weights {n, n2}) is Automatic, inferred again from the layer
        dims = [Symbol("Automatic") if d is None or isinstance(d, LengthVar) and i
                else "Varying" if isinstance(d, LengthVar) else d
                for i, d in enumerate(self.shape)]
        if dims == ["Varying"]:
            return "Varying"
        if len(dims) == 1 and dims[0] is not Symbol("Automatic"):
            return dims[0]
        return Expr(Symbol("List"), *dims)


# port specs given as expressions, by head: layers/coders.py reads NetEncoder[...] and
# NetDecoder[...] (as a net file's text gives them, unevaluated)
SPEC_READERS: dict[str, Any] = {}

UNKNOWN = PortType()
REAL = PortType(())


def same_ports(a: dict[str, PortType], b: dict[str, PortType]) -> bool:
    """Equal port types, coders included (PortType equality leaves coders out).

    "Varying" lengths are compared up to renaming: each evaluation of a net's text makes
    new LengthVars, and two such nets are still the same value when their ports share
    lengths in the same pattern."""
    if a.keys() != b.keys():
        return False
    if _canonical_lengths(a) != _canonical_lengths(b):
        return False
    return all(a[k].coder == b[k].coder for k in a)


def _canonical_lengths(ports: dict[str, PortType]) -> list[PortType]:
    """The ports, by name, with each LengthVar replaced by the order of its first
    appearance."""
    names: dict[int, int] = {}
    out = []
    for _, t in sorted(ports.items()):    # port order is not part of the value
        if has_length_var(t.shape):
            assert t.shape is not None
            t = t.with_shape(tuple(("length", names.setdefault(d.id, len(names)))
                                   if isinstance(d, LengthVar) else d for d in t.shape))
        out.append(t)
    return out


def unify_shape(a: Shape, b: Shape) -> Shape:
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b):
        raise Mismatch("Rank")
    out = []
    for x, y in zip(a, b):
        if x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        elif isinstance(x, LengthVar):
            out.append(min(x, y) if isinstance(y, LengthVar) else y)
        elif isinstance(y, LengthVar):
            out.append(x)
        else:
            raise Mismatch("Dimension")
    return tuple(out)


def unify(a: PortType, b: PortType) -> PortType:
    if a is b or b == UNKNOWN or a == b:    # the common cases, without building a new type
        return a
    if a == UNKNOWN:   # (equality ignores coders: the first type's coder stays)
        return b if b.coder is a.coder else PortType(b.shape, b.integer, b.classes, a.coder)
    if a.integer != b.integer:
        # a port whose shape is known and that is not integer is real (only a type with
        # nothing known, UNKNOWN, leaves the kind open): real against integer is a clash
        # even while the integer side's shape is still open
        real = b if a.integer else a
        if real.shape is not None and not real.open_kind:
            raise Mismatch("Type")
    classes = a.classes if a.classes is not None else b.classes
    if a.classes is not None and b.classes is not None and a.classes != b.classes:
        raise Mismatch("Type")
    # the first type's coder stays: a port's coder is its own, not its neighbour's
    return PortType(unify_shape(a.shape, b.shape), a.integer or b.integer, classes, a.coder)


def unify_value(a: Any, b: Any) -> Any:
    """Unify two parameter values (ints or tuples of ints; None is unknown)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, tuple) and isinstance(b, tuple):
        return unify_shape(a, b)
    if a != b:
        raise Mismatch("Value")
    return a


_RANK_NAMES = {1: "vector", 2: "matrix"}


def shape_words(shape: Shape, integer: bool = False, classes: int | None = None) -> str:
    """'vector of size 10', 'matrix of dimensions {3, 4}', '3-tensor of dimensions {16, 26, 26}'."""
    if integer and shape == ():
        return f"index in 1..{classes}" if classes else "integer"
    if integer:
        prefix = "array of integers"
        return prefix if shape is None else f"{prefix} of dimensions {_dims(shape)}"
    if shape is None:
        return "array"
    if shape == ():
        return "real number"
    rank = len(shape)
    name = _RANK_NAMES.get(rank, f"{rank}-tensor")
    if rank == 1:
        return "vector" if shape[0] is None else f"vector of size {shape[0]}"
    if all(d is None for d in shape):
        return name
    return f"{name} of dimensions {_dims(shape)}"


def _dims(shape: tuple) -> str:
    return "{" + ", ".join("n" if d is None else str(d) for d in shape) + "}"


def port_type_from_spec(spec: Any) -> PortType:
    """Read a Wolfram port spec: n, {n1, n2}, "Real", "Integer", Restricted["Integer", n],
    {n1, n2, "Integer"} and {n, Restricted["Integer", k]} (arrays of integers), with
    Automatic for sizes to be inferred. Raises ValueError with a reason."""
    if spec is Symbol("Automatic"):
        return UNKNOWN
    if hasattr(spec, "port_type") and not isinstance(spec, Expr):   # NetEncoder, NetDecoder
        return spec.port_type()
    if isinstance(spec, Expr) and isinstance(spec.head, Symbol) and spec.head.name in SPEC_READERS:
        return SPEC_READERS[spec.head.name](spec)   # unevaluated NetEncoder[...] (net files)
    if is_integer(spec):
        if spec < 1:
            raise ValueError(f"the size {spec} is not a positive integer")
        return PortType((spec,), open_kind=True)
    if isinstance(spec, str):
        if spec == "Real":
            return REAL
        if spec == "Integer":
            return PortType((), integer=True)
        if spec == "Varying":
            return PortType((LengthVar(),), open_kind=True)
        if spec in ("Boolean", "Scalar"):     # containers and layers attach the coder first
            raise ValueError(f'"{spec}" names a coder: give NetEncoder["{spec}"] or '
                             f'NetDecoder["{spec}"]')
        raise ValueError(f'"{spec}" is not a port type; use n, {{n1, n2, ...}}, "Real" or "Integer"')
    if isinstance(spec, Expr) and spec.has_head("Restricted") and len(spec.args) == 2 \
            and spec.args[0] == "Integer" and is_integer(spec.args[1]) and spec.args[1] >= 1:
        return PortType((), integer=True, classes=spec.args[1])
    if is_list(spec):
        items = list_items(spec) if not isinstance(spec, np.ndarray) else spec.tolist()
        if len(items) > 1 and hasattr(items[-1], "mapped_over") and not isinstance(items[-1],
                                                                                   Expr):
            # {"Varying", NetEncoder[...]}, {n, NetDecoder[...]}: the coder on each element
            lead = port_type_from_spec(Expr(Symbol("List"), *items[:-1])).shape or ()
            coder = items[-1].mapped_over(len(lead))
            inner = coder.port_type()
            skip = getattr(coder, "mapped", 0)          # a decoder's own leading levels
            return PortType(tuple(lead) + tuple(inner.shape or ())[skip:], inner.integer,
                            inner.classes, coder)
        if items and len(items) > 1 and (
                isinstance(items[-1], str) and items[-1] != "Varying"
                or isinstance(items[-1], Expr) and items[-1].has_head("Restricted")):
            # {n1, ..., "Integer"}, {n, Restricted["Integer", k]}: an array of that element
            element = port_type_from_spec(items[-1])
            if element.shape != ():
                raise ValueError(f"{input_form(items[-1])} is not an element type")
            dims_of = port_type_from_spec(Expr(Symbol("List"), *items[:-1])).shape
            return PortType(dims_of, element.integer, element.classes)
        dims: list[Any] = []
        for i, d in enumerate(items):
            if isinstance(d, np.ndarray):   # a nested list such as {{4, 4}, 60}
                raise ValueError(f"{input_form(d)} is not a positive integer size")
            if d == "Varying" and i == 0:
                dims.append(LengthVar())
            elif d is Symbol("Automatic"):
                dims.append(None)
            elif is_integer(d) and d >= 1:
                dims.append(int(d))
            elif d == "Varying":
                raise ValueError('only the first dimension can be "Varying"')
            else:
                raise ValueError(f"{input_form(d)} is not a positive integer size")
        return PortType(tuple(dims), open_kind=True)
    raise ValueError(f"{input_form(spec)} is not a port type; use n, {{n1, n2, ...}}, "
                     '"Real" or "Integer"')


def prod(dims) -> int:
    """The number of elements; a "Varying" length has none fixed (VaryingSize)."""
    out = 1
    for d in dims:
        if isinstance(d, LengthVar):
            raise VaryingSize()
        out *= d
    return out
