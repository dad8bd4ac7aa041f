"""Layers with several inputs: CatenateLayer, TotalLayer, ThreadingLayer.

Their input ports are numbered ("Input1", "Input2", ...); a NetGraph edge
``{a, b} -> layer`` sets how many there are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import Symbol, is_integer
from .registry import register_layer
from .base import Infer, Layer, Param
from .functions import Program, as_data, compile_function, function_argument
from .shapes import PortType


class MultiInputLayer(Layer):
    """Input ports Input1..InputN; N is a parameter fixed when the layer is wired."""

    default_inputs = 2

    @property
    def input_count(self) -> int:
        return self.values.get("$Inputs") or self.default_inputs

    def port_names(self):
        return tuple(f"Input{i}" for i in range(1, self.input_count + 1)), self.outputs

    def with_input_count(self, n: int) -> "MultiInputLayer":
        values = dict(self.values)
        values["$Inputs"] = n
        ports = {f"Input{i}": self.ports.get(f"Input{i}", PortType()) for i in range(1, n + 1)}
        ports["Output"] = self.ports.get("Output", PortType())
        declared_ports = {p: self.declared[1].get(p, PortType()) for p in ports}
        return self.evolve(values=values, ports=ports,
                           declared=({**self.declared[0], "$Inputs": n}, declared_ports)).inferred()

    def input_names(self):
        return self.port_names()[0]


@register_layer
class CatenateLayer(MultiInputLayer):
    name = "CatenateLayer"
    summary = "joins its inputs along the first dimension (level 1)"
    positional = (Param("Level", lambda x: _level(x), optional=True),)

    def infer(self, s: Infer) -> None:
        names = self.input_names()
        shapes = [s.port(n) for n in names]
        y = s.port("Output")
        rank = next((len(x) for x in shapes + [y] if x is not None), None)
        if rank is None:
            return
        if rank == 0:
            s.fail("the inputs must be arrays of rank ≥ 1")
        for n in names:  # all ranks agree, and every dimension but the first
            s.refine(n, (None,) + (y[1:] if y is not None else (None,) * (rank - 1)),
                     '"Output" port')
        for a in names:
            for b in names:
                xa, xb = s.port(a), s.port(b)
                if xa is not None and xb is not None:
                    s.refine(a, (None,) + xb[1:], f'"{b}" port')
        shapes = [s.port(n) for n in names]
        first = sum(x[0] for x in shapes) if all(x[0] is not None for x in shapes) else None
        s.refine("Output", (first,) + shapes[0][1:], "the inputs")
        # backward: the output's first size less the others' is the one input left unknown
        total = s.port("Output")[0]
        unknown = [n for n, x in zip(names, shapes) if x[0] is None]
        if total is not None and len(unknown) == 1:
            rest = total - sum(x[0] for x in shapes if x[0] is not None)
            if rest < 1:
                s.fail(f"the output's first dimension ({total}) leaves {rest} for "
                       f'"{unknown[0]}"')
            s.refine(unknown[0], (rest,) + (None,) * (rank - 1), '"Output" port')

    # ---- numerics: level 1 is axis 0 of batch-last data; gradients are views of dy -------
    def forward(self, ctx, arrays, *xs):
        return [np.concatenate(xs, axis=0)], ([x.shape[0] for x in xs] if ctx.grad else None)

    def backward(self, ctx, arrays, sizes, dy):
        return np.split(dy, np.cumsum(sizes)[:-1], axis=0), {}


def _level(x: Any) -> int:
    if is_integer(x) and x == 1:
        return 1
    raise ValueError("only level 1 (the first dimension) is supported")


@register_layer
class TotalLayer(MultiInputLayer):
    name = "TotalLayer"
    summary = "adds its inputs element by element"

    def infer(self, s: Infer) -> None:
        _all_same(s, self.input_names())

    # ---- numerics: every input's gradient is dy itself (shared, read-only) ----------------
    def forward(self, ctx, arrays, *xs):
        y = np.add(xs[0], xs[1]) if len(xs) > 1 else xs[0].copy()
        for x in xs[2:]:
            y += x
        return [y], (len(xs) if ctx.grad else None)

    def backward(self, ctx, arrays, count, dy):
        return [dy] * count, {}



@register_layer
class ThreadingLayer(MultiInputLayer):
    name = "ThreadingLayer"
    summary = "applies f (Plus, Times, #1 - #2 &, ...) element by element across its inputs"
    positional = (Param("Function", function_argument(None, "ThreadingLayer")),)

    @property
    def input_count(self) -> int:
        n = self.values.get("$Inputs")
        if n:
            return n
        program = self.values.get("Function")
        return program.arity if program is not None and program.arity > 1 else 2

    def check_options(self) -> None:
        program = self.values["Function"]
        n = self.values.get("$Inputs")
        if n and program.arity != n and not _variadic(program):
            raise self.error("invopt", f"The function takes {program.arity} arguments but the "
                                       f"layer has {n} inputs.")

    def with_input_count(self, n: int):
        program = self.values["Function"]
        if _variadic(program) and program.arity != n:
            values = dict(self.values)
            values["Function"] = compile_function(program.source, n, "ThreadingLayer")
            return super(ThreadingLayer, self.evolve(values=values)).with_input_count(n)
        if program.arity != n:
            raise self.error("inpcount", f"ThreadingLayer[{program.source}] takes "
                                         f"{program.arity} inputs, but {n} were connected.")
        return super().with_input_count(n)

    def infer(self, s: Infer) -> None:
        _all_same(s, self.input_names())

    # ---- numerics: the compiled Program and its exact partial derivatives ----------------
    def forward(self, ctx, arrays, *xs):
        y = as_data(self.values["Function"](*xs), xs[0])
        return [y], (xs if ctx.grad else None)

    def backward(self, ctx, arrays, xs, dy):
        return [as_data(dy * d, dy) for d in self.values["Function"].partials(*xs)], {}


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
        "Plus", "Times", "Max", "Min")
