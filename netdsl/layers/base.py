"""Layers, declared once: options, arrays, ports, shape rule, forward, backward.

A layer type is one subclass of ``Layer`` (registered by ``__init_subclass__``)
that declares, as class attributes:

    name        the Wolfram head, e.g. "BatchNormalizationLayer"
    positional  ``Param``s read from positional arguments (ConvolutionLayer[n, k])
    options     ``Option``s with Wolfram's defaults and validators
    hidden      names of inferred parameters (e.g. "Channels"), for messages
    array_specs ``ArraySpec``s: name, dims as parameter names, initial values
    inputs, outputs   port names

and implements ``infer(s)`` (the shape rule, both directions where it is
determined), ``forward`` and ``backward``, and is registered with
``register_layer`` (netdsl/layers/registry.py). A layer *value* is an immutable
instance: its option/parameter values, port types and arrays.

What the executor and trainer need beyond that, they ask the layer through the
capability methods at the end of ``Layer`` (the automatic loss after it, moving
statistics, the algebra the executor's rewrite rules rely on); the defaults claim
nothing, so a layer that declares none is simply run as it is.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Self

import numpy as np

from .. import budget
from ..errors import EvaluationError, ShapeError, Span
from ..expr import (Expr, Opaque, Symbol, input_form, is_integer, is_list, is_number, is_rule,
                    list_items, to_ndarray)
from .arrays import NO_ARRAY, SharedRef
from .shapes import Mismatch, PortType, UNKNOWN, VaryingSize, has_length_var, port_type_from_spec, \
    same_ports, shape_words, unify, unify_value
from .text import layer_input_form, layer_summary, to_expr
from ..printer import short

S = Symbol


# ---------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Option:
    """A layer option: Wolfram name, default, and a validator turning an expression into a value."""

    name: str
    default: Any
    convert: Callable[[Any], Any]
    doc: str = ""
    shown: bool = True         # listed in the layer's summary (False: Interleaving, ...)


# Every layer with learned arrays takes this option; NetTrain reads it (per-array rates).
def multiplier_spec(x: Any) -> Any:
    """A layer's (or an operator's) LearningRateMultipliers: None/Automatic, a number r
    (every array), or rules "array" -> r (All -> r for the rest)."""
    if x is None or x is Symbol("Automatic"):
        return None
    if is_number(x) or x is Symbol("None"):       # None: frozen, as 0
        return x
    rules = list_items(x) if is_list(x) else [x]
    if rules and all(is_rule(r) and (isinstance(r.args[0], str) or _catch_all(r.args[0]))
                     and (is_number(r.args[1]) or r.args[1] is Symbol("None")) for r in rules):
        return x
    raise ValueError('expected a number r, or rules "array" -> r (All -> r for the others)')


def _catch_all(key: Any) -> bool:
    """All, or the pattern _ that Wolfram code also writes for "every other array"."""
    return key == Symbol("All") or key == Expr(Symbol("Blank"))


def _rate(r: Any) -> float:
    return 0.0 if r is Symbol("None") else float(r)


def multiplier_for(spec: Any, array: str) -> float | None:
    """The multiplier ``spec`` (as ``multiplier_spec`` accepts) gives ``array``."""
    if spec is None:
        return None
    if is_number(spec) or spec is Symbol("None"):
        return _rate(spec)
    rules = list_items(spec) if is_list(spec) else [spec]
    for r in rules:
        if r.args[0] == array:
            return _rate(r.args[1])
    for r in rules:
        if _catch_all(r.args[0]):
            return _rate(r.args[1])
    return None


LEARNING_RATE_MULTIPLIERS = Option("LearningRateMultipliers", None, multiplier_spec, shown=False)


@dataclass(frozen=True)
class Param:
    """A positional argument stored as a parameter (e.g. the n of LinearLayer[n])."""

    name: str
    convert: Callable[[Any], Any]
    optional: bool = False
    default: Any = None        # the value when an optional argument is omitted
    # stored value -> its Wolfram expression: what NetExtract gives, the summary shows and
    # InputForm writes (a parsed specification such as (("span", 2, None),) as 2 ;; All)
    display: Callable[[Any], Any] | None = None
    # a shorter expression InputForm writes instead, when it rebuilds the same value
    # (LinearLayer[3]: Wolfram keeps "OutputDimensions" as the list {3})
    short_display: Callable[[Any], Any] | None = None

    def expr(self, v: Any) -> Any:
        """The stored value ``v`` as the expression NetExtract and the summary give."""
        return self.display(v) if self.display is not None else to_expr(v)

    def written(self, v: Any) -> Any:
        """The stored value ``v`` as InputForm writes it."""
        return self.short_display(v) if self.short_display is not None else self.expr(v)


@dataclass(frozen=True)
class ArraySpec:
    """A learned (or auxiliary) array.

    ``dims`` names the parameters giving each dimension; ``"*Name"`` splices a
    tuple parameter (a kernel size). Shapes then flow both ways: parameters
    fix the array's shape, a given array fixes the parameters.
    """

    name: str
    dims: tuple[str | int, ...]
    init: str | float = "weights"   # "weights" (by NetInitialize's method), "zeros",
    #                                 "ones", or a number every element starts at
    aux: bool = False          # MovingMean/MovingVariance: not trained, never shared
    optional: bool = False     # may be None (e.g. "Biases" -> None)
    scalar_ok: bool = False    # may be a single number (a rank-0 array)


class AbstractArray(Opaque):
    """An array known only by its dimensions: what ``netdsl check`` (shape-only mode) puts
    where numbers would be: in initialised nets, the outputs of nets, and data (random
    arrays, tables, imported files and arithmetic on them). ``what`` says which, for
    check's report ("output", "array"); shape ``()`` is a single number."""

    head_name = "AbstractArray"

    def __init__(self, shape: tuple, what: str = "output"):
        self.shape = tuple(shape)
        self.what = what

    def input_form(self) -> str:
        return f"AbstractArray[{{{', '.join(map(str, self.shape))}}}]"

    def output_form(self) -> str:
        """What Print shows: plainly not a result."""
        if not self.shape:
            return "<a number, not computed in check>"
        dims = ", ".join(map(str, self.shape))
        return f"<array of dimensions {{{dims}}}, not computed in check>"


# ---------------------------------------------------------------- errors inside one layer
class Clash(Exception):
    """Two slots of one layer disagree, e.g. its "Input" port and its array "Biases"."""

    def __init__(self, kind: str, slot_a: str, words_a: str, slot_b: str, words_b: str):
        self.kind, self.slot_a, self.words_a = kind, slot_a, words_a
        self.slot_b, self.words_b = slot_b, words_b
        super().__init__(kind)


class OptionError(ValueError):
    """An option validator's own message (Wolfram's tag and text) instead of invopt's."""

    def __init__(self, tag: str, text: str):
        super().__init__(text)
        self.tag, self.text = tag, text


class ValidationFail(Exception):
    """A layer's own check failed (Wolfram's valfail): e.g. a convolution output below 1."""


# ---------------------------------------------------------------- inference state
class Infer:
    """One layer's knowledge during inference; ``refine`` only ever adds to it."""

    def __init__(self, layer: "Layer", shared: dict[str, Any] | None = None):
        self.layer = layer
        self.ports: dict[str, PortType] = dict(layer.ports)
        self.values: dict[str, Any] = dict(layer.values)
        self.shared = shared if shared is not None else {}
        self.changed = False
        self.origin: dict[str, tuple[str, str]] = {}   # parameter -> the array that set it

    # ports
    def port(self, name: str):
        return self.ports[name].shape

    def port_type(self, name: str) -> PortType:
        return self.ports[name]

    def refine(self, name: str, new: PortType | tuple | None, because: str) -> None:
        if new is None:
            return
        cur = self.ports[name]
        if new is cur:
            return
        new_t = new if isinstance(new, PortType) else cur.with_shape(new)
        try:
            merged = unify(cur, new_t)
        except Mismatch as m:
            raise Clash(m.kind, f'"{name}" port', cur.words(), because, new_t.words()) from None
        if merged != cur:
            self.ports[name] = merged
            self.changed = True

    def same(self, a: str, b: str) -> None:
        """Ports a and b have the same type (Output = Input for elementwise layers); for a
        layer that computes with reals, the same shape (integers in, reals out)."""
        whole = self.layer.moves_numbers
        self.refine(a, self.ports[b] if whole else self.ports[b].shape, f'"{b}" port')
        self.refine(b, self.ports[a] if whole else self.ports[a].shape, f'"{a}" port')

    def carry_integers(self) -> None:
        """A layer that moves numbers: integer inputs give integer outputs (with the
        inputs' class count when they agree)."""
        ins, outs = self.layer.port_names()
        kinds = [self.ports[p] for p in ins if p in self.ports]
        if not kinds or not all(t.integer for t in kinds):
            return
        classes = {t.classes for t in kinds}
        n = classes.pop() if len(classes) == 1 else None
        for p in outs:   # (the rule's shapes made them real: the kind is the inputs')
            t = self.ports.get(p)
            if t is not None and t.shape is not None and not t.integer:
                self.ports[p] = PortType(t.shape, True, n, t.coder)
                self.changed = True

    # parameters
    def value(self, name: str) -> Any:
        return self.values.get(name)

    def set_value(self, name: str, v: Any, because: str) -> None:
        if v is None:
            return
        cur = self.values.get(name)
        try:
            merged = unify_value(cur, v)
        except Mismatch:
            origin = self.origin.get(name)
            if origin is not None and because.startswith("parameter"):
                # LinearLayer[3, "Biases" -> {1, 2}]: name the array the user wrote, not
                # the hidden parameter it set ("OutputSize")
                raise Clash("Dimension", origin[0], origin[1], because,
                            _value_words(v)) from None
            raise Clash("Value", f'parameter "{name}"', _value_words(cur), because,
                        _value_words(v)) from None
        if merged != cur:
            self.values[name] = merged
            self.changed = True

    def normalize(self, name: str, v: Any) -> None:
        """Replace a value by an equivalent, more explicit one (a kernel size 3 by {3, 3})."""
        if self.values.get(name) != v:
            self.values[name] = v
            self.changed = True

    def fail(self, text: str) -> None:
        raise ValidationFail(text)

    # arrays: their shapes follow the parameters named in ArraySpec.dims, and back
    def array_step(self) -> None:
        for spec in self.layer.array_specs:
            arr = self.layer.arrays.get(spec.name)
            if arr is None or arr is NO_ARRAY:    # not given: nothing to learn from it
                continue
            actual = self._array_shape(arr)
            expected = self.array_shape(spec)
            if actual is None:
                if isinstance(arr, SharedRef) and expected is not None \
                        and all(d is not None for d in expected):
                    self.shared.setdefault(arr.name, expected)
                continue
            if expected is not None and len(expected) != len(actual):
                raise Clash("Rank", f'array "{spec.name}"', shape_words(actual),
                            "its parameters", shape_words(expected))
            self._values_from_shape(spec, actual)

    def _array_shape(self, arr: Any) -> tuple | None:
        if isinstance(arr, (np.ndarray, AbstractArray)):
            return arr.shape
        if isinstance(arr, SharedRef):
            known = self.shared.get(arr.name)
            if isinstance(known, (np.ndarray, AbstractArray)):
                return known.shape
            return known if isinstance(known, tuple) else None
        return None

    def array_shape(self, spec: ArraySpec) -> tuple | None:
        """The shape the parameters imply (entries None where unknown); None if the rank is."""
        dims: list[Any] = []
        for d in spec.dims:
            if isinstance(d, int):
                dims.append(d)
            elif d.startswith("*"):
                v = self.values.get(d[1:])
                if not isinstance(v, tuple):  # unknown, or a size whose rank is not known yet
                    return None
                dims.extend(v)
            else:
                dims.append(self.values.get(d))
        return tuple(dims)

    def _values_from_shape(self, spec: ArraySpec, actual: tuple) -> None:
        i = 0
        because = f'array "{spec.name}" ({shape_words(actual)})'

        def clash(param: str, known: Any) -> Clash:
            # the array is what the user wrote that disagrees: name it first, by its shape
            return Clash("Dimension", f'array "{spec.name}"', shape_words(actual),
                         f'parameter "{param}"', _value_words(known))

        for d in spec.dims:
            if isinstance(d, int):
                if actual[i] != d:
                    raise Clash("Dimension", f'array "{spec.name}"', shape_words(actual),
                                "its declaration", f"size {d} at position {i + 1}")
                i += 1
            elif d.startswith("*"):
                cur = self.values.get(d[1:])
                n = len(cur) if isinstance(cur, tuple) else len(actual) - (len(spec.dims) - 1)
                given = tuple(actual[i:i + n])
                if isinstance(cur, int):  # a scalar size: the array fixes the rank
                    if any(g != cur for g in given):
                        raise Clash("Dimension", f'array "{spec.name}"', shape_words(actual),
                                    f'parameter "{d[1:]}"', str(cur))
                    self.normalize(d[1:], given)
                else:
                    if isinstance(cur, tuple) and (len(cur) != len(given) or any(
                            c is not None and c != g for c, g in zip(cur, given))):
                        raise clash(d[1:], cur)
                    self.set_value(d[1:], given, because)
                i += n
            else:
                cur = self.values.get(d)
                if cur is not None and cur != actual[i]:
                    raise clash(d, cur)
                if cur is None:
                    self.origin[d] = (f'array "{spec.name}"', shape_words(actual))
                self.set_value(d, actual[i], because)
                i += 1


def _value_words(v: Any) -> str:
    if isinstance(v, tuple):
        return "{" + ", ".join("n" if x is None else str(x) for x in v) + "}"
    return "unknown" if v is None else str(v)


# ---------------------------------------------------------------- the layer value
class Net(Opaque, ABC):
    """What layers and containers share: the interface every stage above relies on.

    A net is an immutable value: ``evolve`` gives a changed copy, ``reset`` the copy as
    it was written (inferred sizes forgotten, arrays kept).
    """

    head_name = "Net"
    ports: dict[str, PortType]         # port name -> what flows through it
    shared: dict[str, Any]             # NetSharedArray name -> array (held at the root)
    span: Span | None                  # where it was written, for messages
    # ports shown only when used: a recurrent layer's "State" (its initial value in, its
    # final value out), connected in a NetGraph or given in net[<|...|>]; see
    # Layer.with_optional_ports
    optional_inputs: tuple[str, ...] = ()
    optional_outputs: tuple[str, ...] = ()

    def with_optional_ports(self, inputs: tuple[str, ...] = (),
                            outputs: tuple[str, ...] = ()) -> "Net":
        """This net with some of its optional ports shown (a net without any: itself)."""
        return self

    @abstractmethod
    def port_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(input port names, output port names), in order."""

    @property
    @abstractmethod
    def initialized(self) -> bool:
        """Whether every array has a value."""

    @abstractmethod
    def leaves(self, prefix: tuple = ()) -> Iterator[tuple[tuple, "Layer"]]:
        """Every layer inside, with its path of names (a layer alone: ``((), self)``)."""

    @abstractmethod
    def evolve(self, **changes: Any) -> "Net":
        """A copy with some fields replaced (``ports=``, ``shared=``, ...)."""

    @abstractmethod
    def reset(self) -> "Net":
        """The net as written: the starting point for inferring its shapes again."""

    @abstractmethod
    def short_form(self) -> str:
        """A one-line description for messages: ``NetChain[<3 layers, initialized>]``."""

    def parameter_count(self) -> int | None:
        """How many numbers the net's arrays hold (a shared array once, moving statistics
        included, as Wolfram's "ArraysTotalElementCount"); None while a shape is unknown."""
        total = 0
        seen: set[str] = set()
        for _, layer in self.leaves():
            for _spec, _value, shape in layer.array_slots(seen):
                if shape is None or None in shape:
                    return None
                total += math.prod(shape)
        return total

    @abstractmethod
    def output_form(self) -> str:
        """The readable summary (OutputForm): ports, layers or parameters, arrays."""

    def __repr__(self) -> str:
        return self.short_form()

    def __str__(self) -> str:
        return self.output_form()

    def _repr_html_(self) -> str:
        """Jupyter: the summary table (and a diagram for containers)."""
        if "html" not in VIEWS:
            load_stages_above()
        return VIEWS["html"](self) if "html" in VIEWS else f"<pre>{self.short_form()}</pre>"

    def __call__(self, data: Any, evaluation_mode: str = "Test", port: str | None = None) -> Any:
        """From Python: ``net(x)`` gives a NumPy array (a batch when ``x`` is one)."""
        if "call" not in RUNTIME:
            load_stages_above()
        call = RUNTIME.get("call")
        if call is None:  # pragma: no cover  (netdsl/__init__ registers the loader)
            raise EvaluationError("The netdsl runtime is not loaded: import netdsl first.")
        return call(self, data, evaluation_mode, port)


# The runtime stage, above this one, registers how a net is evaluated from Python.
RUNTIME: dict[str, Callable[..., Any]] = {}
# The graph stage registers how a net shows itself in Jupyter ("html").
VIEWS: dict[str, Callable[..., str]] = {}
# The stages above are imported on first use (start-up time); the built-ins register here
# how to load them, for a net made without them (from Python, or read from a file).
LOADERS: list[Callable[[], None]] = []


def load_stages_above() -> None:
    for load in LOADERS:
        load()


class Layer(Net):
    name: ClassVar[str] = "Layer"
    positional: ClassVar[tuple[Param, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    hidden: ClassVar[tuple[str, ...]] = ()
    array_specs: ClassVar[tuple[ArraySpec, ...]] = ()
    summary: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ("Input",)
    outputs: ClassVar[tuple[str, ...]] = ("Output",)
    # Train mode computes differently (BatchNormalization's batch statistics, Dropout):
    # a net with no such layer evaluates the same in both modes.
    has_train_behavior: ClassVar[bool] = False
    # a loss: its output is what NetTrain minimises (one number per example)
    is_loss: ClassVar[bool] = False
    # Integers (class indices, OrderingLayer's positions) through a layer. One that only
    # moves numbers (parts, sequence steps, reshapes, copies) gives integers for
    # integers. Any other computes with reals: its outputs are real, and an integer input
    # is converted to float32 before its forward pass (runtime/plan.py), unless
    # ``reads_integers`` says the port takes them as they are (EmbeddingLayer's indices).
    moves_numbers: ClassVar[bool] = False

    def reads_integers(self, port: str) -> bool:
        """Whether the input ``port`` takes integer data as it is."""
        return self.moves_numbers

    def example_coupling(self, train: bool) -> str:
        """How forward treats the examples of a batch (in Train mode when ``train``), for
        the executor's lanes, which split a batch across threads: "none" (an example's
        outputs depend on that example alone), "random" (so too, but drawn from
        ``ctx.rng``, so the draws depend on how the batch is cut: Train-mode Dropout),
        "sums" (on the other examples only through sums over the batch, which forward and
        backward take as ``ctx.across(partial sum)``: Train-mode BatchNormalization's
        batch statistics), "batch" (otherwise on the other examples). Default: "batch" for
        a layer that computes differently in Train mode (it may use the batch), else
        "none"."""
        return "batch" if train and self.has_train_behavior else "none"

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "name" in cls.__dict__:
            cls.head_name = cls.name

    def __init__(self, values: dict[str, Any], ports: dict[str, PortType],
                 arrays: dict[str, Any], shared: dict[str, Any] | None = None):
        self.values = values          # options and parameters by name
        self.ports = ports            # port name -> PortType
        self.arrays = arrays          # array name -> ndarray | None | NO_ARRAY | SharedRef
        self.shared = shared or {}    # shared array name -> ndarray | None (owned here at root)
        self.span = None              # where the layer was written, for messages
        self.declared = (values, ports)  # as written, before inference: see reset()

    # ---- declared behaviour (overridden by each layer type) ----------------
    def infer(self, s: Infer) -> None:
        """Refine port types and parameters. Default: Output has Input's type."""
        s.same("Input", "Output")

    # The executor's contract. Data is *batch-last*: an input for a port of shape
    # (d1, ..., dk) arrives as an array of shape (d1, ..., dk, N), float32 (float64 in
    # gradient tests; keep the input's dtype), C-contiguous; integer ports (class
    # indices) arrive as int64 arrays. Arrays are this layer's own, by name, read-only.
    #
    # forward(ctx, arrays, *xs) -> (outputs, cache): one output per output port, in
    #   port_names() order; cache is whatever backward needs (None when not ctx.grad).
    # backward(ctx, arrays, cache, *dys) -> (dxs, darrays): one input gradient per input
    #   port (None for integer ports or when not needed), and a gradient per learned array.
    # Loss layers output the loss of each example: shape (N,).
    def forward(self, ctx, arrays: dict[str, Any], *xs: Any) -> tuple[list[Any], Any]:
        raise NotImplementedError(f"{self.name} has no forward pass")

    def backward(self, ctx, arrays: dict[str, Any], cache: Any,
                 *dys: Any) -> tuple[list[Any], dict[str, Any]]:
        raise NotImplementedError(f"{self.name} has no backward pass")

    def port_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if not (self.optional_inputs or self.optional_outputs):
            return self.inputs, self.outputs
        shown_in, shown_out = self.values.get("$Shown") or ((), ())
        return (self.inputs + tuple(p for p in self.optional_inputs if p in shown_in),
                self.outputs + tuple(p for p in self.optional_outputs if p in shown_out))

    def with_optional_ports(self, inputs: tuple[str, ...] = (),
                            outputs: tuple[str, ...] = ()) -> Self:
        """This layer with some of its optional ports shown (ordinary ports from then on,
        kept by ``reset``): an initial "State" connected or given, a final one read."""
        shown_in, shown_out = self.values.get("$Shown") or ((), ())
        shown = (tuple(p for p in self.optional_inputs if p in shown_in or p in inputs),
                 tuple(p for p in self.optional_outputs if p in shown_out or p in outputs))
        if shown == (tuple(shown_in), tuple(shown_out)):
            return self
        new_ports = {p: PortType() for p in shown[0] + shown[1]}
        ports = {**new_ports, **self.ports}
        declared = ({**self.declared[0], "$Shown": shown}, {**new_ports, **self.declared[1]})
        return self.evolve(values={**self.values, "$Shown": shown}, ports=ports,
                           declared=declared).inferred()

    def leaves(self, prefix: tuple = ()) -> Iterator[tuple[tuple, "Layer"]]:
        yield prefix, self

    # ---- construction -------------------------------------------------------
    @classmethod
    def build(cls, args: tuple, call: Any) -> "Layer":
        positional = [a for a in args if not is_rule(a)]
        rules = [a for a in args if is_rule(a)]
        first_rule = next((i for i, a in enumerate(args) if is_rule(a)), len(args))
        if any(not is_rule(a) for a in args[first_rule:]):
            raise cls.error("argx", f"positional arguments must come before options in "
                                    f"{short(call, 100)}.")
        values: dict[str, Any] = {o.name: o.default for o in cls.options}
        values.update({p.name: None for p in cls.positional})
        values.update({h: None for h in cls.hidden})
        required = [p for p in cls.positional if not p.optional]
        if len(positional) > len(cls.positional) or len(positional) < len(required):
            raise cls.error("argx", f"{short(call, 100)} has {len(positional)} positional "
                                    f"argument{'s' if len(positional) != 1 else ''}; expected "
                                    f"{cls.forms()}.")
        for p, a in zip(cls.positional, positional):
            values[p.name] = cls._convert(p.name, p.convert, a, call)
        for p in cls.positional[len(positional):]:
            if p.default is not None:
                values[p.name] = p.default
        options: dict[str, Any] = {o.name: o for o in cls.options}
        options.update({p.name: p for p in cls.positional})  # also accepted as rules

        def rule_name(r: Any) -> Any:
            key = r.args[0]
            return key.name if isinstance(key, Symbol) else key if isinstance(key, str) else None
        for r in rules:   # options first: they may decide the ports ("Inputs" -> {"a", "b"})
            name = rule_name(r)
            if name in options:
                values[name] = cls._convert(name, options[name].convert, r.args[1], call)
        ins, outs = cls(values, {}, {}).port_names()
        ports = {n: UNKNOWN for n in ins + outs}
        arrays: dict[str, Any] = {a.name: None for a in cls.array_specs}
        shared: dict[str, Any] = {}
        array_names = {a.name: a for a in cls.array_specs}
        for r in rules:
            key = r.args[0]
            name = rule_name(r)
            value = r.args[1]
            if name in options:
                continue
            elif name in array_names:
                arrays[name] = cls._array_value(array_names[name], value, shared)
            elif name in ports:
                ports[name] = cls._port_value(name, value)
            elif name == "Input" and is_list(value) and list_items(value) and all(
                    is_rule(p) and rule_name(p) in ports for p in list_items(value)):
                # "Input" -> {"Input1" -> {2}, "Input2" -> {2}}: each input port by name
                for p in list_items(value):
                    ports[rule_name(p)] = cls._port_value(rule_name(p), p.args[1])
            else:
                known = list(options) + list(array_names) + list(ports)
                raise cls.error("optx", f"{input_form(key)} is not a known parameter or option "
                                        f"for {cls.name}. Valid parameters and options include: "
                                        f"{', '.join(known)}.")
        layer = cls(values, ports, arrays, shared)
        layer.check_options()
        layer.declared = (dict(layer.values), dict(layer.ports))
        return layer.inferred()

    @classmethod
    def _port_value(cls, name: str, value: Any) -> PortType:
        try:
            return port_type_from_spec(value)
        except ValueError as e:
            raise cls.error("invspec", f"Specification {input_form(value)} is not "
                                       f'compatible with port "{name}": {e}.') from None

    @classmethod
    def _convert(cls, name: str, convert: Callable, value: Any, call: Any) -> Any:
        try:
            return convert(value)
        except OptionError as e:
            raise cls.error(e.tag, e.text) from None
        except ValueError as e:
            raise cls.error("invopt", f"The value of {name} -> {short(value, 100)} is not valid: "
                                      f"{e}.") from None

    @classmethod
    def _array_value(cls, spec: ArraySpec, value: Any, shared: dict[str, Any]) -> Any:
        if isinstance(value, Expr) and value.head in (S("NetSharedArray"), S("NetArray")) \
                and len(value.args) == 1 and isinstance(value.args[0], str):
            if spec.aux:
                raise cls.error("noshare", f'The "{spec.name}" array of {cls.name} cannot be '
                                           f"shared: it holds moving statistics that each copy "
                                           f"of the layer keeps for itself. Only learned arrays "
                                           f"can be shared.")
            shared.setdefault(value.args[0], None)
            return SharedRef(value.args[0])
        if value is S("Automatic"):
            return None
        if value is S("None"):
            if not spec.optional:
                raise cls.error("invarr", f'The array "{spec.name}" of {cls.name} cannot be None.')
            return NO_ARRAY
        if isinstance(value, AbstractArray) and value.shape:
            # netdsl check: an array known by its dimensions (ConstantArray[0, n]) stands
            # for its numbers; zeros of that shape, never allocated
            arr = np.broadcast_to(np.zeros((), np.float32), value.shape)
            return arr
        try:
            arr = to_ndarray(value)
        except TypeError:
            raise cls.error("invarr", f'The value given for array "{spec.name}" is not a numeric '
                                      f"array: {short(value, 100)}.") from None
        if arr.dtype.kind not in "iuf":
            raise cls.error("invarr", f'The value given for array "{spec.name}" is not numeric.')
        if arr.ndim == 0 and not spec.scalar_ok:
            raise cls.error("invarr", f'The value given for array "{spec.name}" of {cls.name} is '
                                      f"a number; an array (a list) is expected.")
        arr = np.require(arr, np.float32, "C")     # (ascontiguousarray makes 0-d arrays 1-d)
        if not np.all(np.isfinite(arr)):
            raise cls.error("invarr", f'The array "{spec.name}" contains NaN or infinite values.')
        arr.flags.writeable = False
        return arr

    def check_options(self) -> None:
        """Cross-option validation after construction (override when needed)."""

    def inferred(self, shared: dict[str, Any] | None = None) -> Self:
        """This layer with its own shape rule run to a fixed point (standalone)."""
        s = Infer(self, dict(self.shared) if shared is None else shared)
        try:
            run_layer_rule(self, s)
        except Clash as c:
            raise ShapeError(f"{c.kind} of {c.slot_a} ({c.words_a}) is inconsistent with "
                             f"{c.kind.lower()} of {c.slot_b} ({c.words_b}).",
                             symbol=self.name, tag="tyinc") from None
        except ValidationFail as v:
            raise ShapeError(f"Validation failed for {self.name}: {v}", symbol=self.name,
                             tag="valfail") from None
        except VaryingSize:
            raise ShapeError(f'Validation failed for {self.name}: the layer needs fixed sizes, '
                             f'but a length is "Varying".', symbol=self.name,
                             tag="valfail") from None
        return self.evolve(values=s.values, ports=s.ports)

    # ---- value semantics ------------------------------------------------------
    def evolve(self, **changes: Any) -> Self:
        new = object.__new__(type(self))
        new.values = changes.get("values", self.values)
        new.ports = changes.get("ports", self.ports)
        new.arrays = changes.get("arrays", self.arrays)
        new.shared = changes.get("shared", self.shared)
        new.span = self.span
        new.declared = changes.get("declared", self.declared)
        if "_array_shapes" in self.__dict__:
            new._array_shapes = self._array_shapes   # checked against ``values`` on use
        return new

    def reset(self) -> Self:
        """Back to what was written (inferred sizes forgotten, arrays kept): the starting
        point for inferring again after a change such as a new input shape."""
        values, ports = self.declared
        return self.evolve(values=dict(values), ports=dict(ports))

    @classmethod
    def error(cls, tag: str, text: str) -> EvaluationError:
        return EvaluationError(text, symbol=cls.name, tag=tag)

    @classmethod
    def forms(cls) -> str:
        args = ", ".join(p.name.lower() if not p.optional else f"[{p.name.lower()}]"
                         for p in cls.positional)
        return f"{cls.name}[{args}]"

    def __eq__(self, other: Any) -> bool:
        return (type(self) is type(other) and _eq_dict(self.values, other.values)
                and same_ports(self.ports, other.ports) and _eq_dict(self.arrays, other.arrays)
                and _eq_dict(self.shared, other.shared))

    def __hash__(self) -> int:
        return hash(self.name)

    # ---- facts used by containers, NetInitialize and display --------------------
    @property
    def initialized(self) -> bool:
        return all(self.array_value(a.name) is not None for a in self.array_specs)

    def array_value(self, name: str) -> Any:
        v = self.arrays.get(name)
        if isinstance(v, SharedRef):
            return self.shared.get(v.name)
        return v

    def array_slots(self, seen: set[str] | None = None
                    ) -> Iterator[tuple["ArraySpec", Any, tuple | None]]:
        """The layer's arrays as (spec, value or SharedRef, dimensions or None): absent
        ones ("Biases" -> None) left out, and a shared array only the first time ``seen``
        (shared across the layers of a net) meets its name."""
        shapes = self.array_shapes()
        for spec in self.array_specs:
            v = self.arrays.get(spec.name)
            if v is NO_ARRAY:
                continue
            if isinstance(v, SharedRef) and seen is not None:
                if v.name in seen:
                    continue
                seen.add(v.name)
            yield spec, v, shapes.get(spec.name)

    def array_shapes(self) -> dict[str, tuple | None]:
        """Array name -> shape implied by the parameters. Layers are values (``evolve``
        makes new ones), so the result is kept while ``values`` is the same dict: a
        20,000-layer net asks for it several times per layer. Do not mutate the result."""
        cached = self.__dict__.get("_array_shapes")
        if cached is not None and cached[0] is self.values:
            return cached[1]
        s = Infer(self)
        shapes = {a.name: s.array_shape(a) for a in self.array_specs}
        self._array_shapes = (self.values, shapes)
        return shapes

    def input_form(self) -> str:
        return layer_input_form(self)

    def output_form(self) -> str:
        return layer_summary(self)

    def short_form(self) -> str:
        return f"{self.name}[<{'initialized' if self.initialized else 'uninitialized'}>]"

    def default_ports(self, s: Infer) -> None:
        """Once a container's inference has settled: defaults for ports still open (a
        LinearLayer whose weights are known takes a vector)."""

    def title(self) -> str:
        """How a container's summary names this layer (ElementwiseLayer adds its function)."""
        return self.name

    # ---- capabilities: what stages above may ask (the defaults claim nothing) ------------
    def option_rules(self) -> list[Any]:
        """Options[layer]: its options, arrays and ports as rules, sorted by name (Wolfram)."""
        rules: dict[str, Any] = {}
        for o in self.options:
            exported = self.exported_value(o.name)
            rules[o.name] = to_expr(self.values.get(o.name)) if exported is None else exported
        for a in self.array_specs:
            v = self.array_value(a.name)
            rules[a.name] = (Symbol("None") if v is NO_ARRAY else
                             to_expr(v) if isinstance(v, np.ndarray) else Symbol("Automatic"))
        ins, outs = self.port_names()
        for p in ins + outs:
            rules[p] = self.ports[p].spec()
        return [Expr(Symbol("Rule"), k, rules[k]) for k in sorted(rules)]

    @classmethod
    def declared_option_rules(cls) -> list[Any]:
        """Options[ConvolutionLayer] for a type that needs arguments to be built: its
        declared options with their defaults, arrays and ports Automatic (sorted by name)."""
        auto = Symbol("Automatic")
        rules: dict[str, Any] = {}
        for o in cls.options:
            rules[o.name] = auto if o.default is None else to_expr(o.default)
        for a in cls.array_specs:
            rules[a.name] = auto
        for p in cls.inputs + cls.outputs:
            rules[p] = auto
        return [Expr(Symbol("Rule"), k, rules[k]) for k in sorted(rules)]

    def exported_value(self, name: str) -> Any:
        """The expression NetExtract gives (and the summary shows) for parameter or option
        ``name`` when ``to_expr`` of the stored value would not be it, or None: a parsed
        specification through its ``Param.display`` (PartLayer's {All, 2 ;; -1}); a
        convolution overrides it for "Stride" 1 as {1, 1} once its dimensionality is known.
        Overrides fall back to this one."""
        v = self.values.get(name)
        if v is None:
            return None
        for p in self.positional:
            if p.name == name:
                return p.expr(v) if p.display is not None else None
        return None

    @classmethod
    def from_shorthand(cls, x: Any) -> "Layer | None":
        """The layer of this type that a bare container element stands for (LinearLayer: an
        integer n; ElementwiseLayer: Ramp, Tanh, a pure function), or None."""
        return None

    def automatic_loss(self) -> tuple[str, tuple] | None:
        """The loss NetTrain attaches to an output this layer feeds, as (layer name,
        arguments): SoftmaxLayer gives ("CrossEntropyLossLayer", ("Index",)). None:
        MeanSquaredLossLayer."""
        return None

    def for_target(self, target_shape: tuple, input_shape: tuple | None) -> "Layer":
        """A loss layer suited to targets of ``target_shape`` (per example), e.g.
        cross-entropy on class indices or on probability vectors. Other layers: self."""
        return self

    def moving_updates(self, arrays: dict[str, Any], cache: Any) -> dict[str, Any]:
        """New values of the auxiliary arrays (ArraySpec aux=True) after a training step,
        from the forward pass's cache: BatchNormalization's moving statistics."""
        return {}

    def test_affine(self, arrays: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """(scale, shift) when in Test mode this layer is y = scale x + shift along the
        first (channel) axis; the executor then folds it into the layer before it."""
        return None

    def fold_affine(self, arrays: dict[str, Any], scale: np.ndarray,
                    shift: np.ndarray) -> dict[str, Any] | None:
        """This layer's arrays changed so that its output is followed by y = scale y + shift
        along the first axis (``scale`` may cover the first axis in blocks), or None."""
        return None

    @property
    def monotone(self) -> bool:
        """One input, elementwise, never decreasing: commutes with max pooling."""
        return False

    @property
    def commutes_with_monotone(self) -> bool:
        """f after this layer equals this layer after f, for monotone elementwise f and for
        adding a per-channel constant (max pooling)."""
        return False

    # forward() returns buffers it owns (never a view of an input or an array), so the
    # next layer may overwrite them
    fresh_output: ClassVar[bool] = False

    def forward_inplace(self, x: np.ndarray) -> np.ndarray | None:
        """Test-mode forward writing into ``x`` (which dies here), or None if not supported."""
        return None

    def plain_reshape(self) -> bool:
        """Whether forward only reshapes the batch-last data (a free view, nothing
        computed): a next layer that reads examples flat (``reads_examples_flat``) may
        take this layer's input instead (Test mode)."""
        return False

    # forward reads each example as a flat vector whatever its shape (a matrix
    # (prod(dims), N) of the batch-last input), so a plain reshape before it changes nothing
    reads_examples_flat: ClassVar[bool] = False

    @property
    def is_ramp(self) -> bool:
        """Whether forward is Max[x, 0] element by element (ElementwiseLayer[Ramp])."""
        return False

    def fused_with_ramp(self) -> "Layer | None":
        """This layer with Max[., 0] applied to its output, as one layer (Test mode, fusion
        rule 10: the Ramp read only after it is dropped), or None."""
        return None

    def joins_channels(self) -> bool:
        """Whether forward only joins its inputs, all of one rank, along the channel level
        (the first of each example): a next layer that ``reads_channel_parts`` may take
        the inputs as they are instead (fusion rule 9)."""
        return False

    # forward accepts its input as windows.ChannelParts (arrays to be read as joined along
    # the channel level), and its backward's input gradient is for the joined input
    reads_channel_parts: ClassVar[bool] = False

    def zero_padding(self) -> tuple[tuple[int, int], ...] | None:
        """((before, after), ...) per level (channel first) when this layer only pads its
        input with zeros, else None: the next layer may absorb it (``absorb_padding``)."""
        return None

    def absorb_padding(self, pads: tuple[tuple[int, int], ...]) -> "Layer | None":
        """This layer applied to its input zero-padded by ``pads`` (per level, channel
        first), as one layer of the same kind taking the unpadded input, or None. The
        executor then drops the padding step (in training too: it is the same function)."""
        return None

    def fused_with_max_pool(self, pool: "Layer", activation: "Layer | None") -> "Layer | None":
        """A step computing this layer, then ``pool`` (``commutes_with_monotone``), then the
        monotone ``activation``, faster than the three apart (Test mode), or None."""
        return None

    def lookup_table(self, arrays: dict[str, Any]) -> tuple[str, np.ndarray] | None:
        """(array name, table) when this layer maps 1-based integer indices to the rows of
        ``table`` along a new last level (EmbeddingLayer's "Weights"), else None."""
        return None

    def forward_from_lookup(self, ctx: Any, arrays: dict[str, Any], table: np.ndarray,
                            idx: np.ndarray) -> tuple[list[np.ndarray], Any] | None:
        """Forward when the input is the rows of ``table`` picked by the 1-based indices
        ``idx`` (a ``lookup_table`` layer's output), without building that input: (outputs,
        cache for ``backward_from_lookup``), or None when the ordinary way is as fast."""
        return None

    def backward_from_lookup(self, ctx: Any, arrays: dict[str, Any], table: np.ndarray,
                             cache: Any, dy: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
        """After ``forward_from_lookup``: the arrays' gradients and the table's."""
        raise NotImplementedError

    # forward keeps only the last element of its input sequence (SequenceLastLayer)
    keeps_last: ClassVar[bool] = False

    def forward_last(self, ctx: Any, arrays: dict[str, Any], x: np.ndarray,
                     table: np.ndarray | None = None) -> list[np.ndarray] | None:
        """The last element of this layer's output sequence alone (Test mode, no
        gradient), cheaper than the whole sequence; with ``table``, ``x`` are the 1-based
        indices of its rows, as for ``forward_from_lookup``. None: not offered now."""
        return None


def run_layer_rule(layer: Layer, s: Infer) -> None:
    """The layer's rule and its array shapes, repeated until nothing changes."""
    for _ in range(50):
        s.changed = False
        s.array_step()
        layer.infer(s)
        if layer.moves_numbers:
            s.carry_integers()
        s.array_step()
        if not s.changed:
            _fixed_array_sizes(layer, s)
            return
    raise ValidationFail("shape inference did not settle")  # pragma: no cover


def _fixed_array_sizes(layer: Layer, s: Infer) -> None:
    """A learned array has a size: it cannot follow a "Varying" length."""
    for spec in layer.array_specs:
        shape = s.array_shape(spec)
        if shape is not None and has_length_var(shape):
            raise ValidationFail(f'the array "{spec.name}" would have {shape_words(shape)}, '
                                 f'but a "Varying" length has no fixed size; give the input a '
                                 f"fixed length")


def check_batch_size(shape: tuple, itemsize: int, what: str) -> None:
    """Refuse (General::tnsrmaxsz) a batch-last array of ``shape`` that a forward pass is
    about to make when it would exceed the memory budget: an array sized by a parameter
    (ReplicateLayer[10^10], a padding of 10^10, a stride of 10^5) can be far larger than
    the data, so such layers ask here before allocating. Not done in shape inference:
    that runs without a batch, and in ``netdsl check``, which never allocates."""
    count = math.prod(shape)
    if count * itemsize <= budget.limit():
        return
    n = shape[-1] if shape else 1
    dims = "{" + ", ".join(str(d) for d in shape[:-1]) + "}"
    budget.check_bytes(count * itemsize, f"{what} ({n} example{'s' if n != 1 else ''} of "
                                         f"dimensions {dims})")


def _eq_dict(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
                    and x.shape == y.shape and np.array_equal(x, y)):
                return False
        elif x != y:
            return False
    return True




# ---------------------------------------------------------------- validators
def positive_int(x: Any) -> int:
    if is_integer(x) and x >= 1:
        return x
    raise ValueError("expected a positive integer")


def nonneg_int(x: Any) -> int:
    if is_integer(x) and x >= 0:
        return x
    raise ValueError("expected a non-negative integer")


def real_number(x: Any) -> float:
    if is_number(x):
        return float(x)
    raise ValueError("expected a real number")


def positive_real(x: Any) -> float:
    if is_number(x) and x > 0:
        return float(x)
    raise ValueError("expected a positive number")


def real_between(lo: float, hi: float) -> Callable[[Any], float]:
    def convert(x: Any) -> float:
        if is_number(x) and lo <= x <= hi:
            return float(x)
        raise ValueError(f"expected a number between {lo} and {hi}")
    return convert


def boolean(x: Any) -> bool:
    if x is S("True"):
        return True
    if x is S("False"):
        return False
    raise ValueError("expected True or False")


def int_tuple(allow_zero: bool = False, length: int | None = None) -> Callable[[Any], tuple]:
    """n or {n1, n2, ...} of positive (or non-negative) integers."""
    low = 0 if allow_zero else 1

    def convert(x: Any) -> tuple:
        if is_integer(x) and x >= low:
            return (x,) if length is None else (x,) * length
        if is_list(x):
            items = list_items(x)
            if items and all(is_integer(i) and i >= low for i in items):
                if length is not None and len(items) != length:
                    raise ValueError(f"expected {length} sizes")
                return tuple(items)
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"expected a {kind} integer or a list of them")
    return convert


def any_value(x: Any) -> Any:
    return x


