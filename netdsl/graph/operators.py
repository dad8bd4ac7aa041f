"""NetMapOperator, NetMapThreadOperator, NetFoldOperator, NetBidirectionalOperator,
NetNestOperator and NetPairEmbeddingOperator: containers of inner nets that run them
step by step (or on a reversed copy) of a sequence, n times in a row, or on both arrays
of a pair.

An operator is a ``Container`` whose nodes are its inner nets (``"Net"``, or
``"ForwardNet"`` and ``"BackwardNet"``, Wolfram's parameter names, so NetExtract,
NetInitialize, Information, training and net files reach the inner arrays by path)
plus its own port nodes. It has no edges: its ports relate to the inner nets' by the
operator's own shape rule (``own_inference``), not by equality, and the executor runs it
as one step (runtime/operator_steps.py) around the inner nets' own plans.

Wolfram's definitions (NeuralNetworks paclet):

- NetMapOperator[net]: Input {n, in...} -> Output {n, out...}; ``net`` has ports Input
  (in...) and Output (out...); the length n is "Varying" unless given.
- NetMapThreadOperator[net, spec] (``Thread`` below): ``net`` (any inputs and outputs)
  applied to corresponding elements of its inputs, mapped over their first n levels:
  spec n (default 1), or {"in" -> n_in, ...} / <|...|> giving each input's depth (an
  input not named has depth 0); n is the largest depth. Every output has the n levels;
  an input of depth d < n has the first d of them and is replicated over the others (d
  = 0: given whole to every application). The mapped levels' sizes are one per level
  across the ports; the first may be "Varying".
- NetFoldOperator[net, feedback, constants, outputs] (``Fold`` below): ``feedback`` is a
  list of rules "out" -> "in" (default {"Output" -> "State"}): the inner output ``out``
  of each step is the inner input ``in`` of the next, and the two have one shape.
  ``constants`` (default {}) are inner inputs given once, the same at every step; every
  other inner input is mapped over (a sequence port of the fold, all of one length).
  ``outputs`` (default: every inner output) are the outputs whose sequences of values
  the fold gives. Each fed-back input is a recurrent state named after it, as the
  recurrent layers have theirs: its initial value (zeros unless given) an optional input
  port, its final value an optional output port, shown when used
  (``with_optional_ports``).
- NetBidirectionalOperator[{f, b}, agg] (or [net, agg]: two copies with their own
  arrays): f on the input, b on the input reversed along its first level; when the
  output is a sequence (its first dimension a length, or its rank at least 2 and at
  least the input's) b's output is reversed back. agg: Catenate (default; joined along
  the first level after the length), Total or Mean. Messages: "First argument should be
  a valid net or a pair of valid nets.", "Second argument should be one of Catenate,
  Total, or Mean.", "Type inconsistency in NetBidirectionalOperator: shapes of forward
  and backward net are incompatible."
- NetNestOperator[net, n]: ``net`` applied n times (a positive integer, "Iterations"), its
  output the next application's input; ``net`` has ports Input and Output of one type,
  which is also the operator's Input and Output. The n applications share the inner
  net's arrays (one "Net" slot).
- NetPairEmbeddingOperator[net, DistanceFunction -> f]: Input {2, in...} (a pair) ->
  Output a real number; ``net`` (ports Input in... -> Output out...) embeds both arrays
  of the pair (one "Net" slot, one set of arrays) and f compares the two embeddings e1,
  e2 over all their levels. As Wolfram computes it (its MXNet writer, not its reference
  page's wording): EuclideanDistance (the default) is the *squared* distance
  Total[(e1 - e2)^2]; CosineDistance is 1 - Total[e1 e2] / (|e1| |e2|), each norm
  computed as Sqrt[Total[e^2] + 10^-10] (MXNet's L2Normalization). The "Input" option
  gives the shape of *each* array of the pair (Wolfram: "Input" -> {n1, n2, ...} fixes
  the input dimensions of each of the pair). NetTrain attaches a ContrastiveLossLayer
  (Target True: the pair should be far apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..errors import EvaluationError, ShapeError
from ..expr import Association, Expr, Symbol, input_form, is_integer, is_list, is_rule, list_items
from ..layers.base import (Clash, Infer, Layer, Net, ValidationFail, multiplier_spec,
                           run_layer_rule)
from ..layers.shapes import (UNKNOWN, LengthVar, Mismatch, PortType, VaryingSize,
                             port_type_from_spec, unify)
from ..layers.text import layer_input_form
from .build import _hoist_shared, to_net
from .container import NET, Container, PortNode
from .inference import infer

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

S = Symbol
AGGREGATIONS = ("Catenate", "Total", "Mean")
DISTANCES = ("EuclideanDistance", "CosineDistance")
MAX_DEPTH = 16          # NetMapThreadOperator's levels: far beyond any real array's rank
SLOTS = {"NetMapOperator": ("Net",), "NetFoldOperator": ("Net",), "NetMapThreadOperator": ("Net",),
         "NetBidirectionalOperator": ("ForwardNet", "BackwardNet"), "NetNestOperator": ("Net",),
         "NetPairEmbeddingOperator": ("Net",)}
INNER_PORTS = {"NetMapOperator": ({"Input"}, {"Output"}),
               "NetBidirectionalOperator": ({"Input"}, {"Output"}),
               "NetNestOperator": ({"Input"}, {"Output"}),
               "NetPairEmbeddingOperator": ({"Input"}, {"Output"})}


@dataclass(frozen=True)
class Fold:
    """What a NetFoldOperator does with its inner net's ports (see the module docstring)."""

    feedback: tuple[tuple[str, str], ...]   # (inner output, inner input it feeds)
    constants: tuple[str, ...]
    outputs: tuple[str, ...]                # inner outputs given as sequences
    mapped: tuple[str, ...]                 # inner inputs taken one element per step

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(i for _, i in self.feedback)

    def is_default(self) -> bool:
        return (self.feedback == (("Output", "State"),) and not self.constants
                and self.outputs == ("Output",))


@dataclass(frozen=True)
class Thread:
    """What a NetMapThreadOperator maps (see the module docstring): each inner input's
    depth, the inner outputs, and the spec as written (None: the default 1)."""

    depths: tuple[tuple[str, int], ...]
    outputs: tuple[str, ...]
    spec: Any = None

    @property
    def n(self) -> int:
        return max(d for _, d in self.depths)

    def depth(self, port: str) -> int:
        return dict(self.depths).get(port, self.n)

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.depths)


def _error(head: str, tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=head, tag=tag)


class Operator(Container):
    """An operator value (see the module docstring). ``aggregation`` is how the inner
    outputs combine: Catenate, Total or Mean (NetBidirectionalOperator), or the distance
    function (NetPairEmbeddingOperator)."""

    iterations: int | None = None    # NetNestOperator's n

    thread: Thread | None = None     # NetMapThreadOperator's levels

    def __init__(self, kind: str, nets: dict[str, Net], ports: dict[str, PortType],
                 aggregation: str | None = None, shared: dict[str, Any] | None = None,
                 fold: Fold | None = None, thread: Thread | None = None):
        g = nx.DiGraph()
        for name, net in nets.items():
            g.add_node(name, **{NET: net})
        ins = (fold.mapped + fold.constants if fold is not None else
               thread.inputs if thread is not None else ("Input",))
        for p in ports:
            g.add_node(PortNode("in" if p in ins else "out", p))
        super().__init__(kind, g, list(nets), True, ports, shared)
        self.aggregation = aggregation
        self.operator = kind
        self.fold = fold
        self.thread = thread
        self.optional_inputs = fold.states if fold else ()
        self.optional_outputs = (tuple(i for i in fold.states if i not in fold.outputs)
                                 if fold else ())

    def evolve(self, **changes: Any) -> "Operator":
        unknown = set(changes) - {"graph", "ports", "shared"}
        if unknown:
            raise TypeError(f"Operator.evolve: unknown fields {sorted(unknown)}")
        new = object.__new__(type(self))
        Container.__init__(new, self.kind, changes.get("graph", self.graph), self.order, True,
                           changes.get("ports", self.ports), changes.get("shared", self.shared))
        new.aggregation = self.aggregation
        new.operator = self.operator
        new.fold = self.fold
        new.thread = self.thread
        new.iterations = self.iterations
        new.multipliers = self.multipliers
        new.optional_inputs = self.optional_inputs
        new.optional_outputs = self.optional_outputs
        new.span = self.span
        new.declared_ports = self.declared_ports
        return new

    def with_optional_ports(self, inputs: tuple[str, ...] = (),
                            outputs: tuple[str, ...] = ()) -> "Operator":
        """This fold with a state (e.g. "State") shown as an input (the initial state
        given) and/or an output (the final state read), as ``Layer.with_optional_ports``;
        kept by ``reset``."""
        nodes = ([PortNode("in", p) for p in inputs if p in self.optional_inputs]
                 + [PortNode("out", p) for p in outputs if p in self.optional_outputs])
        nodes = [n for n in nodes if n not in self.graph]
        if not nodes:
            return self
        g = self.graph.copy()
        g.add_nodes_from(nodes)
        states = {n.name: UNKNOWN for n in nodes}
        new = self.evolve(graph=g, ports={**states, **self.ports})
        new.declared_ports = {**states, **self.declared_ports}
        return new.own_inference(infer, self.kind, "")

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, Operator) and self.aggregation == other.aggregation
                and self.fold == other.fold and self.thread == other.thread
                and self.multipliers == other.multipliers
                and self.iterations == other.iterations
                and super().__eq__(other))

    def __hash__(self) -> int:
        return hash((self.kind, self.aggregation))

    # ---- text ---------------------------------------------------------------------
    def label(self, name: str) -> str:
        return f'the "{name}" net'

    def title(self) -> str:
        inner = ", ".join(_inner_title(self.net(n)) for n in self.order)
        n = "" if self.iterations is None else f", {self.iterations}"
        return f"{self.kind}[{inner}{n}]"

    def short_form(self) -> str:
        state = "initialized" if self.initialized else "uninitialized"
        return f"{self.kind}[<{state}>]"

    def input_form(self) -> str:
        nets = [_inner_text(self.net(n)) for n in self.order]
        parts = [nets[0] if len(nets) == 1 else "{" + ", ".join(nets) + "}"]
        if self.kind == "NetPairEmbeddingOperator":
            if self.aggregation != DISTANCES[0]:
                parts.append(f"DistanceFunction -> {self.aggregation}")
        elif self.aggregation is not None and self.aggregation != "Catenate":
            parts.append(self.aggregation)
        if self.iterations is not None:
            parts.append(str(self.iterations))
        if self.fold is not None and not self.fold.is_default():
            parts.extend(input_form(a) for a in _fold_args(self.fold))
        if self.thread is not None and self.thread.spec is not None:
            parts.append(input_form(self.thread.spec))
        for p, d in self.declared_ports.items():       # a decoder given on an output
            if d.coder is not None and p in self.port_names()[1]:
                parts.append(f'"{p}" -> {input_form(d.coder.expr())}')
        for p in (self.fold.mapped if self.fold else self.thread.inputs if self.thread
                  else ("Input",)):
            t = self.ports.get(p)
            if t is not None and self.kind == "NetPairEmbeddingOperator":
                t = element(t)     # its "Input" option is each array's shape
            if t is not None and t.shape is not None:
                parts.append(f'"{p}" -> {input_form(t.spec())}')
        if self.multipliers is not None:
            parts.append(f"LearningRateMultipliers -> {input_form(self.multipliers)}")
        return f"{self.kind}[{', '.join(parts)}]"

    # ---- shapes ---------------------------------------------------------------------
    def own_inference(self, infer: Callable[..., Container], head: str,
                      where: str) -> "Operator":
        """The operator's shape rule, the inner nets inferred with ``infer`` (inference.py)."""
        rule = {"NetMapOperator": _infer_map, "NetFoldOperator": _infer_fold,
                "NetBidirectionalOperator": _infer_bidirectional,
                "NetNestOperator": _infer_nest, "NetPairEmbeddingOperator": _infer_pair,
                "NetMapThreadOperator": _infer_thread}[self.kind]
        return rule(self, _Inner(self, infer, head, where))

    def around(self, nets: dict[str, Net], head: str) -> "Operator":
        """This operator (its kind, aggregation and declared ports) around other inner nets,
        inferred again (NetReplace)."""
        inner = [nets[n] for n in self.order]
        first: Any = inner[0] if len(inner) == 1 else Expr(S("List"), *inner)
        pair = self.kind == "NetPairEmbeddingOperator"
        args = (first,) + ((S(self.aggregation),) if self.aggregation and not pair else ())
        if self.iterations is not None:
            args += (self.iterations,)
        if self.fold is not None:
            args += _fold_args(self.fold)
        if self.thread is not None and self.thread.spec is not None:
            args += (self.thread.spec,)
        opts = {p: t.spec() for p, t in self.declared_ports.items()
                if t.shape is not None and p not in self.optional_inputs}
        if pair:     # its "Input" option is each array's shape
            opts = {**{p: (element(port_type_from_spec(t)).spec() if p == "Input" else t)
                       for p, t in opts.items()},
                    "DistanceFunction": S(self.aggregation or DISTANCES[0])}
        if self.multipliers is not None:
            opts["LearningRateMultipliers"] = self.multipliers
        ins, outs = self.port_names()
        return build_operator(self.kind, args, opts).with_optional_ports(ins, outs)

    def automatic_loss(self) -> tuple[str, tuple] | None:
        """NetTrain's loss for the operator's output: a pair embedding's distance is
        trained with ContrastiveLossLayer (Target True: far apart), as Wolfram does."""
        return ("ContrastiveLossLayer", ()) if self.kind == "NetPairEmbeddingOperator" else None

    def sequential_output(self) -> bool:
        """NetBidirectionalOperator: whether the output is a sequence (b's is reversed back)."""
        x = self.ports["Input"].shape
        f = self.net("ForwardNet").ports["Output"].shape
        return _sequential(x, f)


def _inner_title(net: Net) -> str:
    return net.title() if hasattr(net, "title") else net.head_name


def _inner_text(net: Net) -> str:
    return layer_input_form(net) if isinstance(net, Layer) else net.input_form()


# ---------------------------------------------------------------- construction
def build_operator(head: str, args: tuple, options: dict[str, Any]) -> Operator:
    """NetMapOperator[net], NetFoldOperator[net], NetBidirectionalOperator[net | {f, b},
    agg], NetNestOperator[net, n] with "Input"/"Output" port options (and
    LearningRateMultipliers): the operator with its shapes inferred."""
    if not args:
        raise _error(head, "argx", f"{head} called with 0 arguments; 1 argument is expected.")
    options = dict(options)
    multipliers = options.pop("LearningRateMultipliers", None)
    try:
        multipliers = multiplier_spec(multipliers)
    except ValueError as e:
        raise _error(head, "lrmult", f"LearningRateMultipliers -> {input_form(multipliers)}: "
                                     f"{e}.") from None
    op = _build_operator(head, args, options)
    op.multipliers = multipliers
    return op


def _build_operator(head: str, args: tuple, options: dict[str, Any]) -> Operator:
    aggregation, iterations = None, None
    if head == "NetBidirectionalOperator":
        if len(args) > 2:
            raise _error(head, "argt", f"{head} called with {len(args)} arguments; 1 or 2 "
                                       f"arguments are expected.")
        pair = list_items(args[0]) if is_list(args[0]) else [args[0], args[0]]
        if len(pair) != 2:
            raise _error(head, "invarg1", "First argument should be a valid net or a pair of "
                                          "valid nets.")
        nets = [_inner(head, x, "invarg1", "First argument should be a valid net or a pair of "
                                           "valid nets.") for x in pair]
        agg = args[1] if len(args) == 2 else S("Catenate")
        if not (isinstance(agg, Symbol) and agg.name in AGGREGATIONS):
            raise _error(head, "invarg2", "Second argument should be one of Catenate, Total, "
                                          "or Mean.")
        aggregation = agg.name
    elif head == "NetFoldOperator":
        net = to_net(args[0], head, "the argument")
        fold = _fold_spec(head, net, args[1:])
        ports = {p: UNKNOWN for p in fold.mapped + fold.constants + fold.outputs}
        op = Operator(head, {"Net": net}, _port_options(head, ports, options), None,
                      _hoist_shared([net], head), fold)
        return op.own_inference(infer, head, "")
    elif head == "NetMapThreadOperator":
        if len(args) > 2:
            raise _error(head, "argt", f"{head} called with {len(args)} arguments; 1 or 2 "
                                       f"arguments are expected.")
        net = to_net(args[0], head, "the argument")
        thread = _thread_spec(head, net, args[1] if len(args) == 2 else None)
        ports = {p: UNKNOWN for p in thread.inputs + thread.outputs}
        op = Operator(head, {"Net": net}, _port_options(head, ports, options), None,
                      _hoist_shared([net], head), thread=thread)
        return op.own_inference(infer, head, "")
    elif head == "NetNestOperator":
        if len(args) != 2:
            raise _error(head, "argrx", f"{head} called with {len(args)} argument"
                                        f"{'' if len(args) == 1 else 's'}; 2 arguments are "
                                        f"expected.")
        if not (is_integer(args[1]) and args[1] >= 1):
            raise _error(head, "invarg2", f"The number of iterations {input_form(args[1])} "
                                          f"should be a positive integer.")
        nets, iterations = [to_net(args[0], head, "the argument")], args[1]
    else:
        if len(args) > 1:
            raise _error(head, "argx", f"{head} called with {len(args)} arguments; 1 argument "
                                       f"is expected.")
        nets = [to_net(args[0], head, "the argument")]
        if head == "NetPairEmbeddingOperator":
            aggregation, options = _pair_options(head, options)
    ins_needed, outs_needed = INNER_PORTS[head]
    for net in nets:
        ins, outs = net.port_names()
        if set(ins) != ins_needed or set(outs) != outs_needed:
            raise _error(head, "invports", f"The net given to {head} ({net.head_name}) must have "
                                           f'the input port "Input" and the output port '
                                           f'"Output"; it has inputs {_names(ins)} and outputs '
                                           f"{_names(outs)}.")
    ports = _port_options(head, {"Input": UNKNOWN, "Output": UNKNOWN}, options)
    op = Operator(head, dict(zip(SLOTS[head], nets)), ports, aggregation,
                  _hoist_shared(nets, head))
    op.iterations = iterations
    return op.own_inference(infer, head, "")


def _pair_options(head: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """NetPairEmbeddingOperator's DistanceFunction, and its "Input" option (the shape of
    each array of the pair) as the shape of the pair."""
    options = dict(options)
    f = options.pop("DistanceFunction", S("EuclideanDistance"))
    if f is S("Automatic"):
        f = S("EuclideanDistance")
    if not (isinstance(f, Symbol) and f.name in DISTANCES):
        raise _error(head, "invdist", f"DistanceFunction -> {input_form(f)} is not supported; "
                                      f"it should be EuclideanDistance or CosineDistance.")
    if "Input" in options:
        try:
            each = port_type_from_spec(options["Input"])
        except ValueError as e:
            raise _error(head, "invspec", f"Specification {input_form(options['Input'])} is not "
                                          f'compatible with port "Input": {e}.') from None
        pair = sequence_of(2, each)
        if pair is None:
            del options["Input"]
        else:
            options["Input"] = pair.spec()
    return f.name, options


def _port_options(head: str, ports: dict[str, PortType], options: dict[str, Any]
                  ) -> dict[str, PortType]:
    """``ports`` with the shapes given as options ("Input" -> {"Varying", 3})."""
    ports = dict(ports)
    for p, spec in options.items():
        if p not in ports:
            raise _error(head, "optx", f'"{p}" is not a port of {head}; its ports are '
                                       f"{_names(tuple(ports))}.")
        try:
            ports[p] = port_type_from_spec(spec)
        except ValueError as e:
            raise _error(head, "invspec", f"Specification {input_form(spec)} is not compatible "
                                          f'with port "{p}": {e}.') from None
    return ports


def _thread_spec(head: str, net: Net, spec: Any) -> Thread:
    """NetMapThreadOperator's levels: n, or the depths of named inputs (the others 0)."""
    ins, outs = net.port_names()
    if is_integer(spec) and spec > MAX_DEPTH:
        raise _error(head, "invspec", f"The depth {spec} is larger than netdsl maps over (at "
                                      f"most {MAX_DEPTH} levels).")
    if spec is None or (is_integer(spec) and spec >= 1):
        n = 1 if spec is None else spec
        return Thread(tuple((p, n) for p in ins), tuple(outs), spec)
    rules = (list(spec.items()) if isinstance(spec, Association) else
             [tuple(r.args) for r in list_items(spec)] if is_list(spec)
             and all(is_rule(r) for r in list_items(spec)) else None)
    if rules is None:
        raise _error(head, "invspec", f"The level specification {input_form(spec)} should be "
                                      f'a positive integer or rules "input" -> depth.')
    depths = dict.fromkeys(ins, 0)
    for name, d in rules:
        if name not in depths:
            raise _error(head, "invports", f'"{name}" is not an input port of the net; its '
                                           f"inputs are {_names(ins)}.")
        if not (is_integer(d) and 0 <= d <= MAX_DEPTH):
            raise _error(head, "invspec", f'The depth of "{name}", {input_form(d)}, should be an '
                                          f"integer from 0 to {MAX_DEPTH}.")
        depths[name] = d
    if max(depths.values(), default=0) == 0:
        raise _error(head, "invspec", f"{head} needs an input mapped at depth 1 or more; "
                                      f"{input_form(spec)} maps none.")
    return Thread(tuple(depths.items()), tuple(outs), spec)


def _fold_spec(head: str, net: Net, args: tuple) -> Fold:
    """NetFoldOperator's feedback, constants and outputs arguments, checked against the
    inner net's ports."""
    if len(args) > 3:
        raise _error(head, "argt", f"{head} called with {len(args) + 1} arguments; between 1 "
                                   f"and 4 arguments are expected.")
    ins, outs = net.port_names()
    feedback: list[tuple[str, str]] = [("Output", "State")]
    if args and args[0] is not S("Automatic"):
        items = list_items(args[0]) if is_list(args[0]) else [args[0]]
        if not all(is_rule(r) and all(isinstance(x, str) for x in r.args) for r in items):
            raise _error(head, "invfb", f"The feedback specification {input_form(args[0])} "
                                        f'should be a list of rules "output" -> "input".')
        feedback = [(r.args[0], r.args[1]) for r in items]
    constants = _names_arg(head, args[1] if len(args) > 1 else None, "constants", ins)
    returned = _names_arg(head, args[2] if len(args) > 2 else None, "outputs", outs)
    if len(args) < 3:
        returned = tuple(outs)
    for what, names in (("constants", constants), ("outputs", returned)):
        if len(set(names)) < len(names):
            raise _error(head, "invarg", f"The {what} of {head} name a port twice: "
                                         f"{_names(names)}.")
    if not returned:
        raise _error(head, "invarg", f"{head} must give at least one output sequence; the "
                                     f"outputs argument is empty.")
    states = [i for _, i in feedback]
    for o, i in feedback:
        if o not in outs or i not in ins:
            side, name, have = (("output", o, outs) if o not in outs else ("input", i, ins))
            raise _error(head, "invports", f'The net given to {head} ({net.head_name}) must have '
                                           f'the {side} port "{name}" to feed back "{o}" -> '
                                           f'"{i}"; its {side}s are {_names(have)}.')
    if len(set(states)) < len(states) or set(states) & set(constants):
        raise _error(head, "invfb", f"Each input of the net can be fed back once and cannot also "
                                    f"be a constant; got feedback to {_names(tuple(states))} and "
                                    f"constants {_names(constants)}.")
    mapped = tuple(p for p in ins if p not in states and p not in constants)
    if not mapped:
        raise _error(head, "invports", f"The net given to {head} ({net.head_name}) must have an "
                                       f"input to fold over besides the fed-back and constant "
                                       f"ones; its inputs are {_names(ins)}.")
    clash = set(mapped + constants) & set(returned) or set(states) & set(mapped + constants)
    if clash:
        raise _error(head, "invports", f"The port names of {head} must differ: "
                                       f"{_names(tuple(sorted(clash)))} would name an input and "
                                       f"an output.")
    return Fold(tuple(feedback), constants, returned, mapped)


def _names_arg(head: str, arg: Any, what: str, allowed: tuple) -> tuple[str, ...]:
    if arg is None or arg is S("Automatic"):
        return ()
    items = list_items(arg) if is_list(arg) else [arg]
    if not all(isinstance(x, str) for x in items):
        raise _error(head, "invarg", f"The {what} of {head} should be a list of port names, "
                                     f"not {input_form(arg)}.")
    side = "output" if what == "outputs" else "input"
    for x in items:
        if x not in allowed:
            raise _error(head, "invports", f'"{x}" is not one of the {side} ports of the net; '
                                           f"they are {_names(allowed)}.")
    return tuple(items)


def _fold_args(fold: Fold) -> tuple:
    """The fold's feedback, constants and outputs as NetFoldOperator's arguments."""
    return (Expr(S("List"), *(Expr(S("Rule"), o, i) for o, i in fold.feedback)),
            Expr(S("List"), *fold.constants), Expr(S("List"), *fold.outputs))


def _inner(head: str, x: Any, tag: str, text: str) -> Net:
    try:
        return to_net(x, head, "the argument")
    except EvaluationError:
        raise _error(head, tag, text) from None


def _names(ports: tuple) -> str:
    return ", ".join(f'"{p}"' for p in ports) or "none"


# ---------------------------------------------------------------- the shape rules
class _Inner:
    """Inferring one operator: its inner nets given port types, and its messages."""

    def __init__(self, op: Operator, infer: Callable[..., Container], head: str, where: str):
        self.op, self.infer, self.head, self.where = op, infer, head, where
        self.nets: dict[str, Net] = {n: op.net(n) for n in op.order}
        self.ports = dict(op.ports)

    def net_port(self, slot: str, port: str) -> PortType:
        return self.nets[slot].ports[port]

    def run(self, slot: str, given: dict[str, PortType]) -> bool:
        """Infer the inner net ``slot`` with its ports unified with ``given``; True if any of
        its ports changed."""
        net = self.nets[slot]
        ports = dict(net.ports)
        for p, t in given.items():
            try:
                ports[p] = unify(ports[p], t)
            except Mismatch as m:
                raise self.clash(m.kind, slot, p, ports[p], t) from None
        if isinstance(net, Container):
            new: Net = self.infer(net.evolve(ports=ports), self.head,
                                  f" of {self.op.label(slot)}{self.where}")
        else:
            assert isinstance(net, Layer)
            new = self._layer(slot, net.evolve(ports=ports))
        changed = new.ports != net.ports
        self.nets[slot] = new
        return changed

    def _layer(self, slot: str, layer: Layer) -> Layer:
        s = Infer(layer, dict(self.op.shared))
        where = f"{self.op.label(slot)}{self.where} ({layer.head_name})"
        try:
            run_layer_rule(layer, s)
            layer.default_ports(s)    # as in a container: a recurrent layer takes "Varying"
            run_layer_rule(layer, s)
        except Clash as c:
            raise ShapeError(f"{c.kind} of {c.slot_a} of {where} ({c.words_a}) is inconsistent "
                             f"with {c.kind.lower()} of {c.slot_b} ({c.words_b}).",
                             symbol=self.head, tag="tyinc", span=layer.span) from None
        except ValidationFail as v:
            raise ShapeError(f"Validation failed for {where}: {v}", symbol=self.head,
                             tag="valfail", span=layer.span) from None
        except VaryingSize:
            raise ShapeError(f'Validation failed for {where}: the layer needs fixed sizes, but '
                             f'a length is "Varying".', symbol=self.head, tag="valfail",
                             span=layer.span) from None
        return layer.evolve(values=s.values, ports=s.ports)

    def refine(self, port: str, t: PortType | None, slot: str, inner_port: str) -> bool:
        """Unify the operator's port with ``t`` (derived from the inner net ``slot``)."""
        if t is None:
            return False
        cur = self.ports[port]
        try:
            new = unify(cur, t)
        except Mismatch as m:
            raise self.clash(m.kind, slot, inner_port, self.net_port(slot, inner_port), cur,
                             outer=port) from None
        self.ports[port] = new
        return new != cur

    def clash(self, kind: str, slot: str, port: str, inner: PortType, other: PortType,
              outer: str | None = None) -> ShapeError:
        side = (f'"{outer}" port of {self.op.kind}{self.where} ({other.words()})' if outer
                else f"what {self.op.kind} gives it ({other.words()})")
        return ShapeError(f'{kind} of "{port}" port of {self.op.label(slot)}{self.where} '
                          f"({inner.words()}) is inconsistent with {kind.lower()} of {side}.",
                          symbol=self.head, tag="tyinc", span=self.op.span)

    def fail(self, text: str) -> ShapeError:
        return ShapeError(f"Validation failed for {self.op.kind}{self.where}: {text}",
                          symbol=self.head, tag="valfail", span=self.op.span)

    def result(self) -> Operator:
        g = self.op.graph.copy()
        for name, net in self.nets.items():
            g.nodes[name][NET] = net
        return self.op.evolve(graph=g, ports=self.ports)


def element(t: PortType) -> PortType:
    """The type of one element of a sequence port."""
    if t.shape is None:
        return UNKNOWN if not t.integer else PortType(None, True, t.classes)
    return PortType(tuple(t.shape[1:]), t.integer, t.classes)


def sequence_of(length: Any, t: PortType) -> PortType | None:
    """A sequence of ``length`` elements of type ``t`` (None while t's rank is unknown)."""
    if t.shape is None:
        return None
    return PortType((length,) + tuple(t.shape), t.integer, t.classes)


def _must_be_sequence(s: _Inner, port: str) -> None:
    t = s.ports[port]
    if t.shape is not None and len(t.shape) == 0:
        raise s.fail(f'the "{port}" port must be a sequence (an array of rank 1 or more), '
                     f"not a {t.words()}.")


def _first(shape: tuple | None) -> Any:
    return shape[0] if shape else None


def _words(port: str) -> str:
    return {"Input": "the input", "Output": "the output"}.get(port, f'the "{port}" port')


def _length(s: _Inner, ports: tuple[str, ...]) -> Any:
    """The one length of the sequence ports: a new "Varying" one if none has one."""
    n: Any = None
    seen = None
    for p in ports:
        a = _first(s.ports[p].shape)
        try:
            n = unify(PortType((n,)), PortType((a,))).shape[0]  # type: ignore[index]
        except Mismatch:
            raise s.fail(f"{_words(seen or p)} is a sequence of length {n} and {_words(p)} "
                         f"of length {a}; they must be equal.") from None
        if a is not None and seen is None:
            seen = p
    return n or LengthVar()


def _stepwise(s: _Inner, ins: tuple[str, ...], outs: tuple[str, ...],
              extra: Callable[[], bool] = lambda: False) -> Operator:
    """NetMapOperator, NetFoldOperator: the inner net takes one element of each sequence
    input and gives one element of each sequence output, all of one length; to a fixed
    point."""
    seq = ins + outs
    for _ in range(8):
        for p in seq:
            _must_be_sequence(s, p)
        changed = s.run("Net", {p: element(s.ports[p]) for p in seq})
        changed |= extra()
        n = _length(s, seq)
        for p in seq:
            changed |= s.refine(p, sequence_of(n, s.net_port("Net", p)), "Net", p)
        if not changed:
            break
    return s.result()


def _infer_map(op: Operator, s: _Inner) -> Operator:
    return _stepwise(s, ("Input",), ("Output",))


def _infer_fold(op: Operator, s: _Inner) -> Operator:
    fold = op.fold
    assert fold is not None

    def same(inner: str, other: str | None, outer: str | None) -> bool:
        """The inner port ``inner`` has one type with the inner port ``other`` (a
        feedback pair) and the fold's own port ``outer`` (a constant, a shown state)."""
        t = s.net_port("Net", inner)
        for o, kind in ((other, None), (outer, outer)):
            if o is None or (kind is not None and o not in s.ports):
                continue
            u = s.net_port("Net", o) if kind is None else s.ports[o]
            try:
                t = unify(t, u)
            except Mismatch as m:
                raise s.clash(m.kind, "Net", inner, t, u, outer=kind) from None
        changed = s.run("Net", {inner: t} if other is None else {inner: t, other: t})
        if outer is not None and outer in s.ports:
            changed |= s.refine(outer, s.net_port("Net", inner), "Net", inner)
        return changed

    def states_and_constants() -> bool:
        changed = False
        for o, i in fold.feedback:
            changed |= same(i, o, i)
        for c in fold.constants:
            changed |= same(c, None, c)
        return changed
    return _stepwise(s, fold.mapped, fold.outputs, states_and_constants)


def _infer_pair(op: Operator, s: _Inner) -> Operator:
    """Input a pair {2, in...} of the inner net's inputs; Output a real number."""
    s.refine("Output", PortType(()), "Net", "Output")
    for _ in range(8):
        t = s.ports["Input"]
        if t.shape is not None and (len(t.shape) == 0 or t.shape[0] not in (2, None)):
            raise s.fail(f"the input must be a pair of arrays (an array whose first dimension "
                         f"is 2), not a {t.words()}.")
        changed = s.run("Net", {"Input": element(t)})
        changed |= s.refine("Input", sequence_of(2, s.net_port("Net", "Input")), "Net", "Input")
        if not changed:
            break
    return s.result()


def _infer_thread(op: Operator, s: _Inner) -> Operator:
    """Each port's first d levels (its depth; n for outputs) are the mapped levels, one
    size per level across the ports; the rest is the inner net's port."""
    thread = op.thread
    assert thread is not None
    depth = {p: thread.depth(p) for p in thread.inputs + thread.outputs}
    for _ in range(8):
        for p, d in depth.items():
            t = s.ports[p]
            if t.shape is not None and len(t.shape) < d:
                raise s.fail(f'the "{p}" port is mapped at depth {d}, so it needs rank {d} or '
                             f"more, not a {t.words()}.")
        changed = s.run("Net", {p: _below(s.ports[p], d) for p, d in depth.items()})
        sizes = []
        for k in range(thread.n):
            size, seen = None, None
            for p, d in depth.items():
                shape = s.ports[p].shape
                if d <= k or shape is None or shape[k] is None:
                    continue
                try:
                    size = unify(PortType((size,)), PortType((shape[k],))).shape[0]  # type: ignore[index]
                except Mismatch:
                    raise s.fail(f'level {k + 1} is mapped over, so the "{seen}" and "{p}" ports '
                                 f"must have one size there ({size} and {shape[k]}).") from None
                seen = seen or p
            sizes.append(size if size is not None else (LengthVar() if k == 0 else None))
        for p, d in depth.items():
            inner = s.net_port("Net", p)
            if inner.shape is not None:
                t = PortType(tuple(sizes[:d]) + tuple(inner.shape), inner.integer, inner.classes)
                changed |= s.refine(p, t, "Net", p)
        if not changed:
            break
    return s.result()


def _below(t: PortType, depth: int) -> PortType:
    """The type of one element of a port mapped at ``depth`` levels."""
    if t.shape is None:
        return UNKNOWN if not t.integer else PortType(None, True, t.classes)
    return PortType(tuple(t.shape[depth:]), t.integer, t.classes)


def _infer_nest(op: Operator, s: _Inner) -> Operator:
    """One type for the inner net's Input and Output (each application's output is the
    next one's input) and for the operator's Input and Output."""
    for _ in range(8):
        try:
            t = unify(s.net_port("Net", "Input"), s.net_port("Net", "Output"))
        except Mismatch:
            raise _type_error(s, 'the "Input" and "Output" ports of the net must have one '
                                 "shape, as each output is the next input") from None
        changed = s.run("Net", {"Input": t, "Output": t})
        for p in ("Input", "Output"):
            changed |= s.refine(p, t, "Net", p)
        changed |= s.run("Net", {"Input": s.ports["Input"], "Output": s.ports["Output"]})
        if not changed:
            break
    return s.result()


def _sequential(x: tuple | None, f: tuple | None) -> bool:
    if not f:
        return False
    if isinstance(f[0], LengthVar):
        return True
    return len(f) >= 2 and x is not None and len(f) >= len(x)


def _infer_bidirectional(op: Operator, s: _Inner) -> Operator:
    incompatible = "shapes of forward and backward net are incompatible"
    for _ in range(8):
        _must_be_sequence(s, "Input")
        changed = False
        for slot in op.order:
            changed |= s.run(slot, {"Input": s.ports["Input"]})
            changed |= s.refine("Input", s.net_port(slot, "Input"), slot, "Input")
        if not changed:
            break
    f, b = (s.net_port(n, "Output").shape for n in op.order)
    if f is not None and b is not None:
        if len(f) != len(b):
            raise _type_error(s, "ranks of forward and backward net should be equal")
        seq = _sequential(s.ports["Input"].shape, f)
        if seq and len(f) < 2:
            raise s.fail("the output of a sequence must have a level after its length.")
        lead = 1 if seq else 0
        try:
            rest = unify(PortType(tuple(f[lead + 1:])), PortType(tuple(b[lead + 1:]))).shape
            head = unify(PortType(tuple(f[:lead])), PortType(tuple(b[:lead]))).shape
            if op.aggregation == "Catenate":
                size = None if f[lead] is None or b[lead] is None else f[lead] + b[lead]
            else:
                size = unify(PortType((f[lead],)), PortType((b[lead],))).shape[0]  # type: ignore
        except Mismatch:
            raise _type_error(s, incompatible) from None
        if isinstance(size, LengthVar):
            raise _type_error(s, incompatible)
        out = PortType(tuple(head or ()) + (size,) + tuple(rest or ()))
        s.refine("Output", out, op.order[0], "Output")
    return s.result()


def _type_error(s: _Inner, text: str) -> ShapeError:
    return ShapeError(f"Type inconsistency in {s.op.kind}{s.where}: {text}.", symbol=s.head,
                      tag="tyinc", span=s.op.span)


def is_operator_expr(e: Any) -> bool:
    return isinstance(e, Expr) and isinstance(e.head, Symbol) and e.head.name in SLOTS
