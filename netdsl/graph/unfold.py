"""NetUnfold: the elementary net of a recurrent net, one step with its states as ports.

Wolfram's ``NetUnfold[fnet]`` gives the net that performs a single step of the recurrence
``s_t = f(x_t, s_{t-1})``, ``y_t = g(s_t)``: the sequence inputs become one element,
the sequence outputs one element, and every recurrent state an input (its value before
the step) and an output (its value after it), so generation can feed each step's states
back instead of running the whole sequence again. As the reference page says:

- ``NetUnfold[NetFoldOperator[net, ...]]`` is ``net`` itself (the inverse of the fold):
  its fed-back inputs are the states, the outputs feeding them the next states.
- A recurrent layer alone (Basic, Gated, LongShortTermMemory) gives a NetGraph with the
  inputs "Input" (one vector), "State" (and "CellState") and the outputs "Output",
  "StateOut" (and "CellStateOut"). The step is the layer itself run on a sequence of
  one element (ReplicateLayer[1] before it, SequenceLastLayer[] after), so its gate
  formulas, arrays, export and training are exactly the layer's.
- A NetChain or NetGraph: every recurrent layer or fold becomes its step, a
  NetMapOperator its inner net, a SequenceLastLayer on the sequence is dropped, and the
  layers acting on each element alone (elementwise, softmax over the last level,
  embedding, dropout, threading) take one element. Each state is an input named after
  its position in the net, as ``NetPort[All, "States"]`` keys it (``"2/State"``,
  ``"lstm/CellState"``, ``"enc/1/State"``), and an output of that name followed by
  ``Out``. The result is a NetGraph.

The page's example outputs are pictures, so the port names here are netdsl's own: a
NetGraph cannot have an input and an output of one name, hence the ``Out`` suffix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import EvaluationError
from ..layers.base import Layer, Net
from ..layers.registry import LAYER_TYPES
from ..layers.shapes import LengthVar, PortType
from .container import LINKS, NET, Container, PortNode, with_shared
from .inference import infer
from .operators import element

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

HEAD = "NetUnfold"
OUT = "Out"     # a state's output port: its input's name followed by this
# layers that act on each element of a sequence alone, so one step takes one element
PER_ELEMENT = frozenset({"ElementwiseLayer", "DropoutLayer", "EmbeddingLayer",
                         "UnitVectorLayer", "SoftmaxLayer", "ThreadingLayer", "TotalLayer"})

State = tuple[tuple, str, str]    # (position key, input port, output port) of a step net


def error(tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=HEAD, tag=tag)


def net_unfold(net: Any) -> Net:
    """NetUnfold[net] (see the module docstring)."""
    if not isinstance(net, Net):
        raise error("arg1", "The argument of NetUnfold should be a net.")
    lengths = _lengths(net)
    if lengths is None:
        raise error("nofold", f"{net.short_form()} has no recurrent layer or NetFoldOperator "
                              f"to unfold.")
    new, _ = _unfold(net, lengths, ())
    return new


# ---- which ports are sequences ----------------------------------------------------------
def _recurrent_states(net: Net) -> tuple[str, ...]:
    """A recurrent layer's state ports (optional both ways, as graph/states.py finds them)."""
    return tuple(p for p in net.optional_outputs if p in net.optional_inputs)


def _is_fold(net: Net) -> bool:
    return getattr(net, "operator", None) == "NetFoldOperator"


def _state_names(net: Net) -> tuple[str, ...]:
    """The state ports of a recurrent layer or fold as the enclosing graph names them."""
    if _is_fold(net):
        return tuple(net.fold.states)     # type: ignore[attr-defined]
    return _recurrent_states(net) if isinstance(net, Layer) else ()


def _lengths(net: Net) -> set[Any] | None:
    """The lengths of the sequences the net folds over: the first dimensions of its
    recurrent layers' and folds' sequence inputs (a fixed length, or a "Varying" one);
    None when it has none. Any "Varying" length in the net also marks a sequence."""
    found: set[Any] = set()
    folds = False

    def walk(n: Net) -> None:
        nonlocal folds
        if getattr(n, "operator", None) == "NetBidirectionalOperator":
            raise error("unidir", "NetBidirectionalOperator runs over the sequence in both "
                                  "directions; only a net going one way along it (a folded "
                                  "net) has a single step to unfold.")
        if isinstance(n, Layer) and n.name == "AttentionLayer" and \
                n.values.get("Mask") not in (None, "None"):
            raise error("notyet", "Unfolding an AttentionLayer with causal masking (its "
                                  "keys and values as growing states) is not supported yet.")
        if isinstance(n, Layer) and _recurrent_states(n):
            folds = True
            shape = n.ports["Input"].shape
            if shape:
                found.add(shape[0])
            return
        if _is_fold(n):
            folds = True
            for p in n.fold.mapped:     # type: ignore[attr-defined]
                shape = n.ports[p].shape
                if shape:
                    found.add(shape[0])
            return
        if isinstance(n, Container) and n.operator is None:
            for _, sub in n.layers():
                walk(sub)
                for t in sub.ports.values():
                    if t.shape and isinstance(t.shape[0], LengthVar):
                        found.add(t.shape[0])
    walk(net)
    return found if folds else None


def _is_seq(t: PortType, lengths: set[Any]) -> bool:
    return bool(t.shape) and t.shape[0] in lengths      # type: ignore[index]


# ---- the step of one element ------------------------------------------------------------
def _unfold(net: Net, lengths: set[Any], where: tuple) -> tuple[Net, list[State]]:
    """The step net of ``net`` and its states (keys relative to ``net``)."""
    if _is_fold(net):
        inner = with_shared(net.net("Net"), net.shared)    # type: ignore[attr-defined]
        fold = net.fold                                      # type: ignore[attr-defined]
        outs = inner.port_names()[1]
        loose = [o for o in outs if o not in fold.outputs and o not in dict(fold.feedback)]
        if loose and where:
            raise error("unfold", f"The NetFoldOperator{_at(where)} leaves the inner outputs "
                                  f"{', '.join(loose)} unused; NetUnfold cannot place them.")
        return inner, [((i,), i, o) for o, i in fold.feedback]
    if getattr(net, "operator", None) == "NetMapOperator":
        return with_shared(net.net("Net"), net.shared), []   # type: ignore[attr-defined]
    if isinstance(net, Layer) and _recurrent_states(net):
        return _layer_step(net, where)
    if isinstance(net, Container) and net.operator is None:
        return _container(net, lengths, where)
    if isinstance(net, Layer) and net.name in PER_ELEMENT:
        return _per_element(net, lengths, where), []
    raise error("unfold", f"{_what(net)}{_at(where)} acts on a whole sequence, not on each "
                          f"element alone; NetUnfold cannot make a single step of it.")


def _what(net: Net) -> str:
    title = net.title() if hasattr(net, "title") else net.head_name
    return str(title)


def _at(where: tuple) -> str:
    return f" at position {{{', '.join(map(repr, where))}}}".replace("'", '"') if where else ""


def _layer_step(layer: Layer, where: tuple) -> tuple[Net, list[State]]:
    """A recurrent layer as one step: the layer itself on a sequence of one element
    (ReplicateLayer[1] before, SequenceLastLayer[] after), its states in and out."""
    states = _recurrent_states(layer)
    x, y = layer.ports["Input"], layer.ports["Output"]
    one_x = PortType((1,) + tuple(x.shape[1:]) if x.shape else None, x.integer, x.classes)
    one_y = PortType((1,) + tuple(y.shape[1:]) if y.shape else None)
    values, declared = layer.declared
    ports = {**layer.ports, "Input": one_x, "Output": one_y}
    shown = layer.evolve(ports=ports, declared=(values, {**declared, "Input": one_x,
                                                         "Output": one_y}))
    shown = shown.with_optional_ports(states, states)     # type: ignore[assignment]
    g = nx.DiGraph()
    nodes = {"1": LAYER_TYPES["ReplicateLayer"].build((1,), None), "2": shown,
             "3": LAYER_TYPES["SequenceLastLayer"].build((), None)}
    for name, n in nodes.items():
        g.add_node(name, **{NET: n})
    g.add_edge(PortNode("in", "Input"), "1", **{LINKS: [("Input", "Input")]})
    g.add_edge("1", "2", **{LINKS: [("Output", "Input")]})
    g.add_edge("2", "3", **{LINKS: [("Output", "Input")]})
    g.add_edge("3", PortNode("out", "Output"), **{LINKS: [("Output", "Output")]})
    ports_out: dict[str, PortType] = {"Input": element(one_x), "Output": element(one_y)}
    for s in states:
        g.add_edge(PortNode("in", s), "2", **{LINKS: [(s, s)]})
        g.add_edge("2", PortNode("out", s + OUT), **{LINKS: [(s, s + OUT)]})
        ports_out[s] = ports_out[s + OUT] = shown.ports[s]
    c = Container("NetGraph", g, list(nodes), False, ports_out, dict(layer.shared))
    return infer(c, HEAD), [((s,), s, s + OUT) for s in states]


def _per_element(layer: Layer, lengths: set[Any], where: tuple) -> Layer:
    """A layer acting on each element alone, given one element."""
    ins, outs = layer.port_names()
    seq = {p for p in ins + outs if _is_seq(layer.ports[p], lengths)}
    if layer.name == "SoftmaxLayer" and layer.values.get("Level", -1) > 0:
        raise error("unfold", f"SoftmaxLayer{_at(where)} normalises over level "
                              f"{layer.values['Level']}; only a softmax over the last level "
                              f"(a negative level) acts on each element alone.")
    if layer.name in ("ThreadingLayer", "TotalLayer") and any(p not in seq for p in ins):
        raise error("unfold", f"{layer.name}{_at(where)} combines a sequence with an array "
                              f"that is not one; NetUnfold cannot make a single step of it.")
    values, declared = layer.declared

    def one(p: str, t: PortType) -> PortType:
        return element(t) if p in seq and t.shape else t
    ports = {p: one(p, t) for p, t in layer.ports.items()}
    declared = {p: one(p, t) if p in seq else t for p, t in declared.items()}
    return layer.evolve(values=dict(values), ports=ports,
                        declared=(values, declared)).inferred()


def _container(c: Container, lengths: set[Any], where: tuple) -> tuple[Net, list[State]]:
    """A NetChain or NetGraph as one step: a NetGraph of its layers' steps, each state an
    input named after its position and an output of that name followed by "Out"."""
    g = c.graph
    new: dict[str, Net] = {}
    subs: dict[str, list[State]] = {}
    dropped: set[str] = set()
    for name, sub in c.layers():
        sub = with_shared(sub, c.shared)
        ins, outs = sub.port_names()
        if not any(_is_seq(sub.ports[p], lengths) for p in ins + outs):
            new[name] = sub          # acts on what is no sequence (after a SequenceLast)
        elif sub.head_name == "SequenceLastLayer":
            dropped.add(name)        # the page: the SequenceLastLayer is dropped
        else:
            position = name if c.named else int(name)
            new[name], subs[name] = _unfold(sub, lengths, where + (position,))
    order = [n for n in c.order if n not in dropped]
    rename = {n: n if c.named else str(i) for i, n in enumerate(order, 1)}

    def source(u: Any, port: str) -> tuple[Any, str]:
        """What feeds (u, port) in the step net: through dropped layers, and a state
        read from a recurrent layer or fold becomes its step's state output."""
        if isinstance(u, PortNode):
            return PortNode("in", u.name), port
        if u in dropped:
            ((v, links),) = [(v, d[LINKS]) for v, _, d in g.in_edges(u, data=True)]
            return source(v, links[0][0])
        if u in subs and port in _state_names(c.net(u)):
            return rename[u], {k[-1]: o for k, _, o in subs[u]}[port]
        return rename[u], port

    out_g = nx.DiGraph()
    for n in order:
        out_g.add_node(rename[n], **{NET: new[n]})

    def link(src: Any, sp: str, dst: Any, dp: str) -> None:
        if out_g.has_edge(src, dst):
            out_g.edges[src, dst][LINKS].append((sp, dp))
        else:
            out_g.add_edge(src, dst, **{LINKS: [(sp, dp)]})
    ports: dict[str, PortType] = {}
    for u, v, d in g.edges(data=True):
        if v in dropped:
            continue
        for sp, dp in d[LINKS]:
            if not isinstance(v, PortNode) and dp in {i for _, i, _ in subs.get(v, [])}:
                raise error("unfold", f'The initial state "{dp}" of {c.label(v)}{_at(where)} is '
                                      f"fed by another layer; NetUnfold exposes every state "
                                      f"as an input. Remove that connection first.")
            src, port = source(u, sp)
            if isinstance(src, PortNode):
                t = c.ports[src.name]
                ports[src.name] = element(t) if _is_seq(t, lengths) else t
            dst = PortNode("out", v.name) if isinstance(v, PortNode) else rename[v]
            if isinstance(v, PortNode):
                t = c.ports[v.name]
                ports[v.name] = element(t) if _is_seq(t, lengths) else t
            link(src, port, dst, dp)
    states: list[State] = []
    for n in order:
        position = n if c.named else int(n)
        for key, i, o in subs.get(n, []):
            full = (position,) + key
            name = "/".join(map(str, full))
            link(PortNode("in", name), name, rename[n], i)
            link(rename[n], o, PortNode("out", name + OUT), name + OUT)
            ports[name] = ports[name + OUT] = new[n].ports[i]
            states.append((full, name, name + OUT))
    shared = {k: v for k, v in c.shared.items()}
    step = Container("NetGraph", out_g, [rename[n] for n in order], c.named, ports, shared)
    return infer(step, HEAD), states
