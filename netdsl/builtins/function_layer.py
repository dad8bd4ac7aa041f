"""FunctionLayer[f]: a pure function on arrays compiled to the NetGraph of layers that
computes it, as Wolfram converts it internally ("The function f is internally converted
to a net, which can be one layer or a graph of several layers"; ``NetGraph[FunctionLayer
[...]]`` is that graph). netdsl's value *is* that NetGraph.

The ports, as Wolfram's: ``#`` is the one input "Input"; named slots ``#x`` are ports
named after them; ``Apply[f]`` with ``#1, #2, ...`` gives "Input1", "Input2", ...; the
result is "Output", or one output per key of an association ``<|"a" -> ..., ...|>``.

How a body compiles (``_Tracer``): the largest parts made only of elementwise arithmetic
and functions on the inputs (and numbers) become one ElementwiseLayer (one operand) or
ThreadingLayer (several, broadcast as that layer does); the rest map to layers: ``Dot``
(DotLayer), ``Total``/``Mean``/one-argument ``Max``/``Min`` (AggregationLayer over the
first level, or the levels given), ``Part`` (PartLayer), ``Transpose`` (TransposeLayer),
``Flatten`` (FlattenLayer), ``ArrayReshape`` (ReshapeLayer), ``Join`` and ``Catenate``
(CatenateLayer), ``Reverse`` (SequenceReverseLayer), ``Softmax`` written as
``SoftmaxLayer[][x]``, and any layer or net applied to a part (``LinearLayer[8][#]``:
that layer, its arrays learned). Parts that do not use the inputs are evaluated first
(values defined elsewhere), as in ElementwiseLayer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError, NetDSLError
from ..expr import Association, Expr, Symbol, input_form, is_integer, is_list, is_number, \
    is_rule, list_items, make_list
from ..graph.build import build_graph
from ..layers.base import Net
from ..layers.registry import LAYER_TYPES
from .registry import builtin

S = Symbol
HEAD = "FunctionLayer"
SLOT, FUNCTION = S("Slot"), S("Function")

# heads compiled to layers of their own (not elementwise); Max and Min with one argument too
STRUCTURAL = frozenset({"Dot", "Total", "Mean", "Part", "Transpose", "Flatten",
                        "ArrayReshape", "Join", "Catenate", "Reverse", "List"})


def _error(text: str, tag: str = "invfun") -> EvaluationError:
    return EvaluationError(text, symbol=HEAD, tag=tag)


@builtin(HEAD, ("FunctionLayer[f]", "FunctionLayer[#x + #y &]", "FunctionLayer[Apply[f]]",
                'FunctionLayer[f, "port" -> shape]'),
         "a net layer that applies f to its input: f's body compiled to the NetGraph of "
         "layers that computes it (elementwise parts, Dot, Total, Mean, Part, Transpose, "
         "Flatten, Join, layers applied to parts)", args=(1, None), section="Layers")
def _function_layer(ev, f, *rules):
    if not all(is_rule(r) for r in rules):
        raise _error(f"FunctionLayer takes a function and port rules, not "
                     f"{input_form(rules[0])[:60]}.", tag="argx")
    options = {(r.args[0].name if isinstance(r.args[0], Symbol) else r.args[0]): r.args[1]
               for r in rules}
    for key in ("Inputs", "InputPorts"):
        # <|"Q" -> {n, d}, "K" -> {n, d}|>: each named input port's shape, as InputPorts
        # names them for multi-input layers (FunctionLayer's page only shows "Q" -> shape)
        spec = options.get(key)
        pairs = list(spec.items()) if isinstance(spec, Association) else \
            [tuple(r.args) for r in list_items(spec)] if is_list(spec) and \
            all(is_rule(r) for r in list_items(spec)) and list_items(spec) else None
        if pairs is not None:
            del options[key]
            for name, shape in pairs:
                options.setdefault(name, shape)
    return _Tracer(ev).compile(f, options)


class _Tracer:
    """One FunctionLayer being compiled: the layers made so far and their connections."""

    def __init__(self, ev):
        self.ev = ev
        self.layers: list[Net] = []
        self.edges: list[Expr] = []
        self.ports: list[str] = []          # input ports, in order of first use
        self.numbered = False               # Apply[f]: #1, #2, ... are Input1, Input2, ...

    # ---- the function ----------------------------------------------------------------
    def compile(self, f: Any, options: dict[str, Any]) -> Net:
        if isinstance(f, Expr) and f.head is S("Apply") and len(f.args) == 1:
            self.numbered, f = True, f.args[0]
        params: tuple = ()
        if isinstance(f, Expr) and f.head is FUNCTION and f.args:
            if len(f.args) >= 2:     # Function[x, body] or Function[x, body, attributes]
                spec = f.args[0]
                params = tuple(list_items(spec)) if is_list(spec) else (spec,)
            body = f.args[1] if len(f.args) >= 2 else f.args[0]
        elif isinstance(f, Symbol):            # FunctionLayer[Sin]: Sin[#]
            body = Expr(f, Expr(SLOT, 1))
        else:
            raise _error(f"{input_form(f)[:80]} is not a function (write f[#] & or a symbol).")
        if params:       # Function[x, body] / Function[{x, y}, body]: slots in their place
            body = _with_slots(body, params, self.numbered)
        if isinstance(body, Association) or (isinstance(body, Expr)
                                             and body.head is S("Association")):
            outs = [(k, v) for k, v in (body.items() if isinstance(body, Association) else
                                        [tuple(r.args) for r in body.args])]
        else:
            outs = [("Output", body)]
        for name, e in outs:
            end = self.node(e)
            if end[0] == "const":
                raise _error(f'The output "{name}" of {input_form(f)[:60]} does not depend on '
                             f"the input.")
            if end[0] == "port":                # the input itself: an identity layer
                end = self.add(LAYER_TYPES["ElementwiseLayer"].build(
                    (Expr(FUNCTION, Expr(SLOT, 1)),), None), [end])
            self.edges.append(Expr(S("Rule"), self.ref(end), Expr(S("NetPort"), name)))
        try:
            return build_graph(make_list(self.layers), make_list(self.edges), options, HEAD)
        except NetDSLError as e:
            e.symbol = HEAD
            raise

    # ---- nodes: ("port", name), ("layer", index, port) or ("const", value) ----------
    def ref(self, node: tuple) -> Expr:
        if node[0] == "port":
            return Expr(S("NetPort"), node[1])
        return Expr(S("NetPort"), node[1], node[2])

    def add(self, layer: Net, inputs: list[tuple]) -> tuple:
        self.layers.append(layer)
        i = len(self.layers)
        for port, src in zip(layer.port_names()[0], inputs):
            self.edges.append(Expr(S("Rule"), self.ref(src), Expr(S("NetPort"), i, port)))
        return ("layer", i, layer.port_names()[1][0])

    def slot(self, e: Expr) -> tuple:
        key = e.args[0] if e.args else 1
        if isinstance(key, str):
            name = key
        elif is_integer(key) and key >= 1:
            if not self.numbered and key != 1:
                raise _error(f"#{key} needs several arguments: write FunctionLayer[Apply[f]] "
                             f"(ports Input1, Input2, ...), or name the inputs (#x, #y).")
            name = f"Input{key}" if self.numbered else "Input"
        else:
            raise _error(f"{input_form(e)} is not a slot FunctionLayer can read.")
        if name not in self.ports:
            self.ports.append(name)
        return ("port", name)

    def node(self, e: Any) -> tuple:
        """The node computing ``e``."""
        if isinstance(e, Expr) and e.head is SLOT:
            return self.slot(e)
        if not _uses_slots(e):
            value = self.ev.evaluate(e)
            if isinstance(value, Net):
                raise _error(f"{input_form(e)[:60]} is a net, not applied to the input.")
            return ("const", value)
        if isinstance(e, Expr) and not isinstance(e.head, Symbol):   # a layer applied
            return self.applied(e)
        name = e.head.name
        if name in STRUCTURAL or (name in ("Max", "Min") and len(e.args) == 1):
            return self.structural(name, e)
        return self.elementwise(e)

    def applied(self, e: Expr) -> tuple:
        net = self.ev.evaluate(e.head)
        if not isinstance(net, Net):
            raise _error(f"{input_form(e.head)[:60]} is not a layer or a function FunctionLayer "
                         f"can compile.")
        args = [self.node(a) for a in e.args]
        if any(a[0] == "const" for a in args):
            raise _error(f"{input_form(e)[:60]}: a layer must be applied to the input or a "
                         f"part computed from it.")
        return self.add(net, args)

    def array_node(self, e: Any) -> tuple:
        """The node of an operand of Dot, Join, ...: a constant array becomes a
        ConstantArrayLayer (a number cannot stand there)."""
        node = self.node(e)
        if node[0] != "const":
            return node
        value = node[1]
        if is_number(value) or not (is_list(value) or hasattr(value, "shape")):
            raise _error(f"{input_form(e)[:60]} is not an array; it cannot be an operand here.")
        try:
            # a constant of the function, not a learned array (NetArray is that): frozen
            return self.add(LAYER_TYPES["ConstantArrayLayer"].build(
                (Expr(S("Rule"), "Array", value),
                 Expr(S("Rule"), S("LearningRateMultipliers"), 0)), None), [])
        except NetDSLError as err:
            raise _error(f"{input_form(e)[:60]} cannot be a constant array: {err.text}") from None

    def structural(self, name: str, e: Expr) -> tuple:
        args = list(e.args)
        most = {"Dot": None, "Total": 2, "Mean": 1, "Max": 1, "Min": 1, "Part": None,
                "Transpose": 2, "Flatten": 2, "ArrayReshape": 2, "Join": None,
                "Catenate": 1, "Reverse": 1, "List": None}[name]
        least = 2 if name in ("Part", "ArrayReshape", "Dot") else 1
        if len(args) < least or (most is not None and len(args) > most):
            raise _error(f"{input_form(e)[:80]}: netdsl's FunctionLayer compiles {name} with "
                         f"{least}{'' if most == least else ' or more' if most is None else f' to {most}'}"
                         f" argument{'' if least == 1 and most == 1 else 's'}.")

        def layer(kind: str, *xs: Any) -> Net:
            return LAYER_TYPES[kind].build(tuple(xs), None)
        if name == "Dot":
            nodes = [self.array_node(a) for a in args]
            out = nodes[0]
            for nxt in nodes[1:]:
                out = self.add(layer("DotLayer"), [out, nxt])
            return out
        if name in ("Total", "Mean", "Max", "Min"):
            levels: Any = args[1] if len(args) == 2 else (S("All") if name in ("Max", "Min")
                                                          else 1)
            if is_integer(levels) and name in ("Total", "Mean") and levels > 1:
                levels = Expr(S("Span"), 1, levels)        # the first n levels
            if levels is S("Infinity"):
                levels = S("All")
            return self.add(layer("AggregationLayer", S(name), levels), [self.node(args[0])])
        if name == "Part" and len(args) == 2 and _uses_slots(args[1]):
            # an index computed by the net (an "Integer" port): a lookup per example,
            # x[[#t]] = Extract[x, {#t}]; the array may be a constant of the function
            return self.add(layer("ExtractLayer"), [self.array_node(args[0]),
                                                    self.node(args[1])])
        if name == "Part":
            return self.add(layer("PartLayer", make_list(args[1:]) if len(args) > 2
                                  else args[1]), [self.node(args[0])])
        if name == "Transpose":
            return self.add(layer("TransposeLayer", *args[1:]), [self.node(args[0])])
        if name == "Flatten":
            return self.add(layer("FlattenLayer", *args[1:]), [self.node(args[0])])
        if name == "ArrayReshape":
            return self.add(layer("ReshapeLayer", args[1]), [self.node(args[0])])
        if name == "Reverse":
            return self.add(layer("SequenceReverseLayer"), [self.node(args[0])])
        if name in ("Join", "Catenate"):
            level = None
            if name == "Join" and len(args) > 2 and is_integer(args[-1]):   # Join[a, b, n]
                level, args = args[-1], args[:-1]
            parts = list_items(args[0]) if name == "Catenate" and len(args) == 1 and \
                is_list(args[0]) else args
            nodes = [self.array_node(a) for a in parts]
            return self.add(layer("CatenateLayer", *([level] if level else [])), nodes)
        raise _error(f"{name}[...] of arrays cannot be compiled by netdsl's FunctionLayer "
                     f"(a list of arrays must be an argument of Join or Catenate).")

    def elementwise(self, e: Expr) -> tuple:
        """The largest elementwise part of ``e``: one Elementwise/ThreadingLayer over its
        operands (the inputs and the structural parts inside it)."""
        operands: list[tuple] = []

        def constant(value: Any) -> Any:
            """A number stays in the function; a constant array (a mask, ConstantArray
            [...]) becomes a frozen ConstantArrayLayer operand, broadcast by ThreadingLayer
            as the arithmetic would be."""
            if not (is_list(value) or isinstance(value, np.ndarray) and value.ndim):
                return value
            operands.append(self.array_node(value))
            return Expr(SLOT, len(operands))

        def lift(x: Any) -> Any:
            if isinstance(x, Expr) and (x.head is SLOT or not isinstance(x.head, Symbol)
                                        or x.head.name in STRUCTURAL
                                        or (x.head.name in ("Max", "Min") and len(x.args) == 1)):
                node = self.node(x)
                if node[0] == "const":
                    return constant(node[1])
                if node not in operands:
                    operands.append(node)
                return Expr(SLOT, operands.index(node) + 1)     # #1, #2, ...
            if not _uses_slots(x):
                return constant(self.ev.evaluate(x))
            if isinstance(x, Expr):
                return Expr(x.head, *(lift(a) for a in x.args))
            return x
        fn = Expr(FUNCTION, lift(e))
        kind = "ElementwiseLayer" if len(operands) == 1 else "ThreadingLayer"
        try:
            layer = LAYER_TYPES[kind].build((fn,), None)
        except NetDSLError as err:
            raise _error(f"{input_form(e)[:80]} cannot be compiled: {err.text[:400]}") from None
        return self.add(layer, operands)


def _uses_slots(e: Any) -> bool:
    if isinstance(e, Expr):
        if e.head is SLOT:
            return True
        return _uses_slots(e.head) or any(_uses_slots(a) for a in e.args)
    return False


def _with_slots(body: Any, params: tuple, numbered: bool) -> Any:
    """Function[{x, y}, body]'s parameters as slots: #1, #2 (Apply[f]), or #x, #y."""
    def sub(e: Any) -> Any:
        if isinstance(e, Symbol) and e in params:
            i = params.index(e)
            return Expr(SLOT, i + 1 if numbered or len(params) == 1 else e.name)
        if isinstance(e, Expr):
            return Expr(sub(e.head), *(sub(a) for a in e.args))
        return e
    return sub(body)
