"""Layers with several inputs: CatenateLayer, TotalLayer, ThreadingLayer.

Their input ports are numbered ("Input1", "Input2", ...); a NetGraph edge
``{a, b} -> layer`` sets how many there are, and so does applying a layer alone to a list
of k arrays (``for_inputs``). "Inputs" -> n, {"a", "b"} or {shape1, shape2} (or
InputPorts) fixes their number, names or shapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Expr, Symbol, is_integer, is_list, list_items
from .registry import register_layer
from .base import Infer, Layer, Option, Param
from .functions import Program, as_data, compile_function, function_argument
from .shapes import LengthVar, PortType, is_length_var, port_type_from_spec, unify_shape
from .text import value_text


class PortShapes(tuple):
    """"Inputs" -> {shape1, shape2, ...}: numbered ports of those shapes, kept as written
    (so the option prints back as given)."""

    def types(self) -> list[PortType]:
        return [port_type_from_spec(x) for x in self]


_TYPE_WORDS = ("Real", "Integer", "Varying")


def _unpacked(x: Any) -> Any:
    """A shape given as a packed array ({2, 3} in {{2, 3}, {2, 4}}) as a List expression."""
    if isinstance(x, np.ndarray):
        return Expr(Symbol("List"), *[_unpacked(v) for v in list_items(x)])
    return x


def _inputs_option(x: Any) -> Any:
    """"Inputs" -> n, {"a", "b", ...} or {shape1, shape2, ...} (n, {d1, d2}, "Real",
    {"Varying", d}, ...): how many input ports, their names or their shapes."""
    if x is Symbol("Automatic"):
        return None
    if is_integer(x) and x >= 1:
        return int(x)
    if is_list(x):
        items = list_items(x)
        if items and all(isinstance(n, str) and n not in _TYPE_WORDS for n in items):
            if len(set(items)) == len(items):
                return tuple(items)
            raise ValueError("the port names are not distinct")
        if items:
            for i, spec in enumerate(items, 1):
                try:
                    port_type_from_spec(spec)
                except ValueError as e:
                    raise ValueError(f"port {i}: {e}") from None
            return PortShapes(_unpacked(x) for x in items)
    raise ValueError("expected a number of inputs, a list of distinct port names or a list of "
                     "port shapes")


INPUTS_OPTIONS = (Option("Inputs", None, _inputs_option),
                  Option("InputPorts", None, _inputs_option, shown=False))


class MultiInputLayer(Layer):
    """Input ports Input1..InputN; N is a parameter fixed when the layer is wired. With the
    option "Inputs" -> {"a", "b"} (or "InputPorts"), the ports have those names instead."""

    default_inputs = 2

    def _declared_inputs(self) -> Any:
        return self.values.get("Inputs") or self.values.get("InputPorts")

    @property
    def input_count(self) -> int:
        given = self._declared_inputs()
        if isinstance(given, tuple):
            return len(given)
        if isinstance(given, int):
            return given
        return self.values.get("$Inputs") or self.default_inputs

    def input_port(self, i: int) -> str:
        """The name of the i-th input port (1-based)."""
        given = self._declared_inputs()
        named = isinstance(given, tuple) and not isinstance(given, PortShapes)
        return given[i - 1] if named else f"Input{i}"

    def declared_shapes(self, s: Infer) -> None:
        """"Inputs" -> {shape1, ...}: each input port takes its declared shape (every
        multi-input layer's rule starts with this)."""
        given = self._declared_inputs()
        if isinstance(given, PortShapes):
            for i, t in enumerate(given.types(), 1):
                s.refine(self.input_port(i), t, "its InputPorts shape")

    def count_fixed(self) -> bool:
        """Whether the number of inputs was fixed (by "Inputs", or by a graph's edges)."""
        return self._declared_inputs() is not None or bool(self.values.get("$Inputs"))

    def for_inputs(self, k: int) -> "MultiInputLayer":
        """This layer applied alone to a list of k arrays (CatenateLayer[][{a, b, c}]): with
        k inputs, as Wolfram infers the ports from the list, unless their number is fixed."""
        if k < 2 or k == self.input_count or self.count_fixed():
            return self
        return self.with_input_count(k)

    def port_names(self):
        return tuple(self.input_port(i) for i in range(1, self.input_count + 1)), self.outputs

    def with_input_count(self, n: int) -> "MultiInputLayer":
        given = self._declared_inputs()
        if given is not None and n != self.input_count:
            raise self.error("inpcount", f"{self.name} was declared with {self.input_count} "
                                         f"inputs, but {n} were connected.")
        values = dict(self.values)
        values["$Inputs"] = n
        names = [self.input_port(i) for i in range(1, n + 1)]
        ports = {p: self.ports.get(p, PortType()) for p in names}
        ports["Output"] = self.ports.get("Output", PortType())
        declared_ports = {p: self.declared[1].get(p, PortType()) for p in ports}
        return self.evolve(values=values, ports=ports,
                           declared=({**self.declared[0], "$Inputs": n}, declared_ports)).inferred()

    def input_names(self):
        return self.port_names()[0]


def _level(x: Any) -> int:
    if is_integer(x) and x != 0:
        return int(x)
    raise ValueError("expected a non-zero integer level")


@register_layer
class CatenateLayer(MultiInputLayer):
    name = "CatenateLayer"
    moves_numbers = True
    summary = ("joins its inputs along level 1 (CatenateLayer[n]: level n); lower-rank inputs "
               "are repeated along the leading levels they lack")
    positional = (Param("Level", _level, optional=True, default=1),)
    options = INPUTS_OPTIONS

    def _level_index(self, s: Infer | None, ranks: list[int]) -> int:
        """0-based output axis joined: the level counts from the first level of the
        lowest-rank input (negative: from its end)."""
        level = (s.value("Level") if s is not None else self.values.get("Level")) or 1
        lo, hi = min(ranks), max(ranks)
        k = level if level > 0 else lo + level + 1
        if not 1 <= k <= lo:
            if s is not None:
                s.fail(f"specified level ({level}) cannot exceed rank of lowest-rank input "
                       f"({lo})")
            raise ValueError(level)
        return k - 1 + hi - lo

    def infer(self, s: Infer) -> None:
        self.declared_shapes(s)
        names = self.input_names()
        shapes = [s.port(n) for n in names]
        y = s.port("Output")
        if any(x is None for x in shapes):
            # the ranks are all needed to place lower-rank inputs; with equal ranks (the
            # usual case) the output's rank and off-level sizes flow to unknown inputs
            known = [x for x in shapes if x is not None] + ([y] if y is not None else [])
            if not known or any(len(x) != len(known[0]) for x in known):
                return
            rank = len(known[0])
            for n in names:
                if s.port(n) is None:
                    s.refine(n, (None,) * rank, "the other ports")
            shapes = [s.port(n) for n in names]
        ranks = [len(x) for x in shapes]
        if min(ranks) == 0:
            s.fail("the inputs must be arrays of rank ≥ 1")
        r = max(ranks)
        axis = self._level_index(s, ranks)
        if y is not None and len(y) != r:
            s.fail(f"the output has rank {len(y)} but the inputs have rank up to {r}")
        full = [(None,) * (r - len(x)) + tuple(x) for x in shapes]
        # off-level sizes agree across inputs and the output
        off = [None] * r
        for x in full + ([tuple(y)] if y is not None else []):
            for i, d in enumerate(x):
                if i == axis or d is None:
                    continue
                if off[i] is not None and off[i] != d and (is_length_var(off[i])
                                                           or is_length_var(d)):
                    # one length: with each other, "Varying" lengths unify; with a size, it wins
                    d = unify_shape((off[i],), (d,))[0]  # type: ignore[index]  # two dims in, one out
                elif off[i] is not None and off[i] != d:
                    s.fail(f"cannot catenate when off-level dimensions {off[i]} and {d} do not "
                           f"match")
                off[i] = d
        for n, x in zip(names, shapes):
            lead = r - len(x)
            s.refine(n, tuple(x[j] if j + lead == axis else off[j + lead]
                              for j in range(len(x))), "the other ports")
        sizes = [s.port(n)[axis - (r - len(s.port(n)))] for n in names]
        total = sum(sizes) if None not in sizes else None
        s.refine("Output", tuple(total if i == axis else off[i] for i in range(r)), "the inputs")
        # backward: the output's size on the level less the others' is the one input unknown
        total = s.port("Output")[axis]
        unknown = [i for i, d in enumerate(sizes) if d is None]
        if isinstance(total, int) and len(unknown) == 1:
            rest = total - sum(d for d in sizes if d is not None)
            if rest < 1:
                s.fail(f"the output's size at the joined level ({total}) leaves {rest} for "
                       f'"{names[unknown[0]]}"')
            n = names[unknown[0]]
            x = s.port(n)
            j = axis - (r - len(x))
            s.refine(n, tuple(rest if i == j else d for i, d in enumerate(x)), '"Output" port')

    def joins_channels(self) -> bool:
        ranks = {len(x) if x is not None else -1
                 for x in (self.ports[n].shape for n in self.input_names())}
        if len(ranks) != 1 or -1 in ranks:
            return False
        try:
            return self._level_index(None, list(ranks)) == 0
        except ValueError:
            return False

    # ---- numerics: joined along one example axis of batch-last data; a lower-rank input is
    # broadcast over the leading axes it lacks (its gradient sums over them) ----------------
    def forward(self, ctx, arrays, *xs):
        ranks = [x.ndim - 1 for x in xs]
        r = max(ranks)
        axis = self._level_index(None, ranks)
        yshape = self.ports["Output"].shape
        big = next(x for x in xs if x.ndim - 1 == r)     # a "Varying" length's actual size
        parts = []
        for x in xs:
            if x.ndim - 1 < r:
                lead = tuple(big.shape[i] if is_length_var(d) else d
                             for i, d in enumerate(yshape[:r - (x.ndim - 1)]))
                x = np.broadcast_to(x, lead + x.shape)
            parts.append(x)
        y = np.concatenate(parts, axis=axis)
        return [y], (([x.shape for x in xs], axis) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        xshapes, axis = cache
        r = dy.ndim - 1
        sizes = [xs[axis - (r - (len(xs) - 1))] for xs in xshapes]
        parts = np.split(dy, np.cumsum(sizes)[:-1], axis=axis)
        out = []
        for g, xs in zip(parts, xshapes):
            lead = r - (len(xs) - 1)
            out.append(g.sum(axis=tuple(range(lead))) if lead else g)
        return out, {}


@register_layer
class TotalLayer(MultiInputLayer):
    name = "TotalLayer"
    summary = "adds its inputs element by element"
    options = INPUTS_OPTIONS
    fresh_output = True      # a new sum (or copy): a ResNet's Ramp after it runs in place

    def infer(self, s: Infer) -> None:
        self.declared_shapes(s)
        _all_same(s, self.input_names())

    # ---- numerics: every input's gradient is dy itself (shared, read-only) ----------------
    def forward(self, ctx, arrays, *xs):
        y = np.add(xs[0], xs[1]) if len(xs) > 1 else xs[0].copy()
        for x in xs[2:]:
            y += x
        return [y], (len(xs) if ctx.grad else None)

    def backward(self, ctx, arrays, count, dy):
        return [dy] * count, {}



def _one_bspec(x: Any) -> Any:
    if x is Symbol("Automatic") or x is Symbol("None"):
        return x.name
    if is_integer(x) and x != 0:
        return int(x)
    raise ValueError("expected Automatic, None, a level n or -n, or a list of those (one per "
                     "input)")


def _broadcasting(x: Any) -> Any:
    """bspec: Automatic, None, n, -n, or {spec1, spec2, ...} (one per input, a tuple)."""
    if is_list(x):
        items = list_items(x)
        if items:
            return tuple(_one_bspec(i) for i in items)
    return _one_bspec(x)


def _bspec_expr(v: Any) -> Any:
    if isinstance(v, tuple):
        return Expr(Symbol("List"), *[_bspec_expr(x) for x in v])
    return Symbol(v) if isinstance(v, str) else v


def _input_levels(spec: Any, k: int, r: int) -> tuple[int, ...] | None:
    """The output levels (0-based) an input of rank k fills in an output of rank r under
    its broadcasting spec, or None when the spec cannot place it:
    - same rank: level for level (size-1 levels broadcast);
    - Automatic: aligned with the output's last levels (NumPy's rule);
    - n > 0: its first level at output level n;
    - -n: the missing levels inserted at level -n counted from the end, so -1 puts them
      after the input's last level (Wolfram: "inserting dimensions at the deepest level",
      as listable Plus threads a vector over a matrix's rows)."""
    if k == r:
        return tuple(range(r))
    if spec == "Automatic":
        return tuple(range(r - k, r))
    if not isinstance(spec, int):
        return None                   # None: no levels are inserted
    if spec > 0:
        return tuple(range(spec - 1, spec - 1 + k)) if spec - 1 + k <= r else None
    before = k + spec + 1             # the input's levels before the inserted ones
    if not 0 <= before <= k:
        return None
    return tuple(range(before)) + tuple(range(before + r - k, r))


@register_layer
class ThreadingLayer(MultiInputLayer):
    name = "ThreadingLayer"
    summary = ("applies f (Plus, Times, #1 - #2 &, #a + 2 #b &, ...) element by element across "
               "its inputs, broadcasting size-1 levels")
    positional = (Param("Function", function_argument(None, "ThreadingLayer")),
                  Param("Broadcasting", _broadcasting, optional=True, default="Automatic",
                        display=_bspec_expr))
    options = INPUTS_OPTIONS

    @property
    def input_count(self) -> int:
        program = self.values.get("Function")
        if program is not None and program.names:
            return len(program.names)
        if self._declared_inputs() is not None:
            return super().input_count
        n = self.values.get("$Inputs")
        if n:
            return n
        return program.arity if program is not None and program.arity > 1 else 2

    def input_port(self, i: int) -> str:
        program = self.values.get("Function")
        if program is not None and program.names:      # #a + 2 #b &: ports "a" and "b"
            return program.names[i - 1]
        return super().input_port(i)

    def count_fixed(self) -> bool:
        program = self.values.get("Function")
        return super().count_fixed() or program is None or bool(program.names) \
            or not _variadic(program)

    def check_options(self) -> None:
        program = self.values["Function"]
        n = self.values.get("$Inputs") or (
            self.input_count if self._declared_inputs() is not None else None)
        if n and program.arity != n:
            if not _variadic(program) or n < 2:
                raise self.error("invopt", f"The function takes {program.arity} argument"
                                           f"{'s' if program.arity != 1 else ''} but the layer "
                                           f"has {n} input{'s' if n != 1 else ''}.")
            # ThreadingLayer[Plus, "Inputs" -> 3]: Plus of three (the layer is new: its
            # values are its own until ``declared`` is taken from them)
            self.values["Function"] = compile_function(program.source, n, "ThreadingLayer")
        b = self.values.get("Broadcasting")
        if isinstance(b, tuple) and len(b) != self.input_count:
            raise self.error("invopt", f"The broadcasting specification gives settings for "
                                       f"{len(b)} inputs, but the layer has "
                                       f"{self.input_count}.")

    def with_input_count(self, n: int):
        program = self.values["Function"]
        if _variadic(program) and program.arity != n:
            if n < 2:       # (Plus of one input is no elementwise function)
                raise self.error("inpcount", f"ThreadingLayer[{program.source}] takes 2 or "
                                             f"more inputs, but {n} was connected.")
            f = compile_function(program.source, n, "ThreadingLayer")
            # declared too: a reset (new input shapes) keeps Plus of n, not of 2
            wider = self.evolve(values={**self.values, "Function": f},
                                declared=({**self.declared[0], "Function": f}, self.declared[1]))
            return super(ThreadingLayer, wider).with_input_count(n)
        if program.arity != n:
            raise self.error("inpcount", f"ThreadingLayer[{program.source}] takes "
                                         f"{program.arity} inputs, but {n} were connected.")
        return super().with_input_count(n)

    def _specs(self, count: int) -> list[Any]:
        b = self.values.get("Broadcasting") or "Automatic"
        return list(b) if isinstance(b, tuple) else [b] * count

    def output_levels(self, ranks: list[int]) -> list[tuple[int, ...] | None]:
        """For each input (of these example ranks), the output levels (0-based) its levels
        fill; None where its broadcasting spec cannot place it."""
        r = max(ranks)
        specs = self._specs(len(ranks))
        if len(specs) != len(ranks):
            return [None] * len(ranks)
        return [_input_levels(b, k, r) for b, k in zip(specs, ranks)]

    def infer(self, s: Infer) -> None:
        self.declared_shapes(s)
        names = self.input_names()
        b = s.value("Broadcasting")
        if b == "None":
            _all_same(s, names)
            return
        if isinstance(b, tuple) and len(b) != len(names):
            s.fail(f"the broadcasting specification gives settings for {len(b)} inputs, but "
                   f"the layer has {len(names)}")
        # ports whose shape is unknown take the others' (the unbroadcast case)
        shapes = [s.port(n) for n in names]
        y = s.port("Output")
        known = [x for x in shapes if x is not None]
        # (not from a single number alone: a number is threaded over any input, so
        # FunctionLayer[{1., 2.}[[#t]] * #x0 &] leaves "x0" to its data, as Wolfram does)
        if y is not None or (known and len(known) < len(shapes) and all(
                x == known[0] for x in known) and len(known[0]) > 0):
            fill = y if y is not None else known[0]
            for n, x in zip(names, shapes):
                if x is None:
                    s.refine(n, fill, '"Output" port' if y is not None else "the other inputs")
        shapes = [s.port(n) for n in names]
        if any(x is None for x in shapes):
            return
        ranks = [len(x) for x in shapes]
        r = max(ranks)
        levels = self.output_levels(ranks)
        for n, spec, k, lv in zip(names, self._specs(len(names)), ranks, levels):
            if lv is None:
                s.fail(f'the broadcasting {spec} cannot place "{n}" (of rank {k}) inside the '
                       f"output's rank {r}")
        out: list = []
        for level in range(r):
            dims = [x[lv.index(level)] for x, lv in zip(shapes, levels)
                    if lv is not None and level in lv]
            sizes = {d for d in dims if d is not None and d != 1 and not isinstance(d, LengthVar)}
            lengths = [d for d in dims if isinstance(d, LengthVar)]
            if lengths and len(sizes) <= 1:
                # sequences threaded together have one length: unify their "Varying" lengths
                # (with each other, or with the fixed size of the other inputs)
                sizes = sizes or {min(lengths)}
                self._unify_length(s, names, shapes, levels, level, next(iter(sizes)))
            if len(sizes) > 1:
                s.fail(f"inputs of dimensions {', '.join(value_text(tuple(x)) for x in shapes)} cannot "
                       f"be threaded together: at level {level + 1} the sizes "
                       f"{' and '.join(map(str, sorted(sizes)))} differ (only size 1 "
                       f"broadcasts)")
            if len(sizes) == 1 and None in dims:
                # an unknown size threaded with a known one is taken to be it (not a
                # broadcast 1, which would be written): ReplicateLayer[Automatic] before a
                # ThreadingLayer[Subtract] learns the other input's size, as in Wolfram
                self._fill_unknown(s, names, shapes, levels, level, next(iter(sizes)))
            if sizes:
                out.append(sizes.pop())
            elif None in dims:
                out.append(None)
            else:
                out.append(1)
        s.refine("Output", tuple(out), "the inputs")
        for n, spec in zip(names, self._specs(len(names))):
            if spec == "None":            # {None, ...}: this input is not replicated
                s.refine(n, s.port("Output"), '"Output" port')

    @staticmethod
    def _fill_unknown(s: Infer, names, shapes, levels, level: int, size: int) -> None:
        for n, x, lv in zip(names, shapes, levels):
            if lv is not None and level in lv and x[lv.index(level)] is None:
                j = lv.index(level)
                s.refine(n, x[:j] + (size,) + x[j + 1:], "the other inputs")

    @staticmethod
    def _unify_length(s: Infer, names, shapes, levels, level: int, size: Any) -> None:
        for n, x, lv in zip(names, shapes, levels):
            if lv is None or level not in lv:
                continue
            j = lv.index(level)
            if isinstance(x[j], LengthVar) and x[j] is not size:
                s.refine(n, x[:j] + (size,) + x[j + 1:], "the other inputs")

    # ---- numerics: each input viewed at the output's rank (size-1 levels inserted where it
    # has none), NumPy broadcasting does the rest; gradients sum over broadcast levels -------
    def view_shapes(self, shapes: list[tuple]) -> list[tuple]:
        """Each input's example shape at the output's rank: size 1 at the levels it lacks
        (a reshape, as the order of its levels is kept; the torch and ONNX forms insert the
        same size-1 levels from ``output_levels``)."""
        ranks = [len(x) for x in shapes]
        r = max(ranks)
        out = []
        for x, lv in zip(shapes, self.output_levels(ranks)):
            assert lv is not None, "shapes checked by inference"
            full = [1] * r
            for j, level in enumerate(lv):
                full[level] = x[j]
            out.append(tuple(full))
        return out

    def _views(self, xs):
        if len({x.ndim for x in xs}) == 1:          # equal ranks: NumPy broadcasts as they are
            return list(xs)
        shapes = self.view_shapes([x.shape[:-1] for x in xs])
        return [x.reshape(v + x.shape[-1:]) for x, v in zip(xs, shapes)]

    def forward(self, ctx, arrays, *xs):
        views = self._views(xs)
        shape = np.broadcast_shapes(*(v.shape for v in views))
        like = np.broadcast_to(np.zeros((), xs[0].dtype), shape)
        y = as_data(self.values["Function"](*views), like)
        return [y], ((views, [x.shape for x in xs]) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        views, shapes = cache
        out = []
        for v, xshape, d in zip(views, shapes, self.values["Function"].partials(*views)):
            g = as_data(dy * d, dy)
            axes = tuple(i for i, (a, b) in enumerate(zip(v.shape, g.shape)) if a == 1 and b != 1)
            if axes:
                g = g.sum(axis=axes, keepdims=True)
            out.append(np.ascontiguousarray(g.reshape(xshape)))
        return out, {}


def _all_same(s: Infer, names: tuple[str, ...]) -> None:
    """Every input and the output have one type. The inputs are compared with each other
    first, so a clash between two inputs is reported as such ("Input1" vs "Input2")."""
    for n in names[1:]:
        s.same(names[0], n)
    for n in names:
        s.same(n, "Output")
    for n in names:
        s.same(n, "Output")


def _variadic(program: Program) -> bool:
    return isinstance(program.source, Symbol) and program.source.name in (
        "Plus", "Times", "Max", "Min", "KroneckerDelta")
