"""AttentionLayer[net] and SequenceAttentionLayer[net]: attention whose scores come from
a net (Wolfram's "ScoringNet").

Wolfram's scoring net takes the ports "Input" (one key vector {k}) and "Query" (one query
vector {q}) and gives a scalar "Output": the score s = f(k, q) of that key for that query.
Its arrays are the layer's, by the path {"ScoringNet", ...} (NetExtract, NetInitialize,
NetTrain, net files).

The value is an operator (graph/operators.py): a container whose one inner net is the
scoring net, with the ports of the layer (AttentionLayer's Key, Value, Query and Output;
SequenceAttentionLayer's Input, serving as keys and values, Query and Output). Its shape
rule is the layer's (a template layer holding the options: Mask, ScoreRescaling,
MultiHead, Dropout for AttentionLayer) plus the inner net's ports Input {KeySize, or
SequenceAttentionLayer's InputSize}, Query {QuerySize} and Output {}. The executor
(runtime/operator_steps.py) runs the inner net's plan once on every key/query pair of a
group as one batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..errors import EvaluationError, ShapeError
from ..expr import is_rule
from ..layers.attention import NET_SCORING
from ..layers.base import Clash, Infer, Layer, Net, ValidationFail, run_layer_rule
from ..layers.shapes import PortType
from ..layers.text import layer_rules
from .build import _hoist_shared, to_net
from .container import NET, Container, PortNode
from .inference import infer
from .operators import Operator, _inner_text, _Inner

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

SLOT = "ScoringNet"


class ScoredAttention(Operator):
    """AttentionLayer[net, opts] or SequenceAttentionLayer[net]: ``template`` (the layer
    without arrays) holds the options and the outer ports."""

    def __init__(self, template: Layer, net: Net, shared: dict[str, Any] | None = None):
        g = nx.DiGraph()
        g.add_node(SLOT, **{NET: net})
        for p in template.inputs + template.outputs:
            g.add_node(PortNode("in" if p in template.inputs else "out", p))
        Container.__init__(self, template.name, g, [SLOT], True, dict(template.ports), shared)
        self.declared_ports = dict(template.declared[1])
        self.aggregation = None
        self.fold = None
        self.operator = template.name
        self.optional_inputs, self.optional_outputs = (), ("AttentionWeights",)
        self.template = template

    def with_optional_ports(self, inputs: tuple[str, ...] = (),
                            outputs: tuple[str, ...] = ()) -> "ScoredAttention":
        """With "AttentionWeights" shown as an output (read), as the layer's."""
        node = PortNode("out", "AttentionWeights")
        if "AttentionWeights" not in outputs or node in self.graph:
            return self
        g = self.graph.copy()
        g.add_node(node)
        new = self.evolve(graph=g, ports={**self.ports, "AttentionWeights": PortType()})
        new.declared_ports = {**self.declared_ports, "AttentionWeights": PortType()}
        return new.own_inference(infer, self.kind, "")

    def evolve(self, **changes: Any) -> "ScoredAttention":
        new = super().evolve(**changes)
        assert isinstance(new, ScoredAttention)   # Operator.evolve keeps the class
        new.template = self.template
        return new

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, ScoredAttention) and super().__eq__(other)
                and _options(self.template) == _options(other.template))

    def __hash__(self) -> int:
        return hash((self.kind, "ScoringNet"))

    @property
    def has_train_behavior(self) -> bool:
        """"Dropout" on the attention weights: Train mode computes differently."""
        return bool(self.template.values.get("Dropout", 0) > 0)

    def title(self) -> str:
        return f"{self.kind}[{_inner_title(self.net(SLOT))}]"

    def input_form(self) -> str:
        layer = self.template.evolve(ports={**self.template.ports, **self.ports})
        parts = [_inner_text(self.net(SLOT))] + layer_rules(layer, with_arrays=False)
        return f"{self.kind}[{', '.join(parts)}]"

    def own_inference(self, infer: Callable[..., Container], head: str,
                      where: str) -> "ScoredAttention":
        s = _Inner(self, infer, head, where)
        written = self.template.reset()    # its sizes inferred again, from the ports
        template = written.evolve(ports={**written.ports, **self.ports})
        for _ in range(8):
            template = _outer(template, head, where)
            key_size = template.key_size  # type: ignore[attr-defined]
            ks, qs = template.values.get(key_size), template.values.get("QuerySize")
            changed = s.run(SLOT, {"Input": PortType((ks,)), "Query": PortType((qs,)),
                                   "Output": PortType(())})
            inner = s.nets[SLOT]
            values = dict(template.values)
            for port, size in (("Input", key_size), ("Query", "QuerySize")):
                shape = inner.ports[port].shape
                if shape is not None and len(shape) == 1 and shape[0] is not None:
                    values[size] = shape[0]
            if values != template.values:
                template = template.evolve(values=values)
                changed = True
            if not changed:
                break
        out = s.result().evolve(ports=dict(template.ports))
        assert isinstance(out, ScoredAttention)   # evolve keeps the class
        out.template = template
        return out

    def around(self, nets: dict[str, Net], head: str) -> "ScoredAttention":
        """This layer's options and declared ports around another scoring net (NetReplace)."""
        new = build_scored(self.template.reset(), nets[SLOT])   # type: ignore[arg-type]
        return new.with_optional_ports((), self.port_names()[1])

    def sequential_output(self) -> bool:   # pragma: no cover  (bidirectional operators only)
        return False


def _options(layer: Layer) -> dict[str, Any]:
    return {o.name: layer.values.get(o.name) for o in layer.options}


def _inner_title(net: Net) -> str:
    return net.title() if hasattr(net, "title") else net.head_name


def _outer(layer: Layer, head: str, where: str) -> Layer:
    """The template's own rule on the outer ports (Wolfram's messages, as for a layer)."""
    s = Infer(layer)
    what = f"{layer.name}{where}"
    try:
        run_layer_rule(layer, s)
        layer.default_ports(s)
        run_layer_rule(layer, s)
    except Clash as c:
        raise ShapeError(f"{c.kind} of {c.slot_a} of {what} ({c.words_a}) is inconsistent "
                         f"with {c.kind.lower()} of {c.slot_b} ({c.words_b}).",
                         symbol=head, tag="tyinc", span=layer.span) from None
    except ValidationFail as v:
        raise ShapeError(f"Validation failed for {what}: {v}", symbol=head, tag="valfail",
                         span=layer.span) from None
    return layer.evolve(values=s.values, ports=s.ports)


def build_scored(template: Layer, net: Net) -> ScoredAttention:
    """The operator around ``net``, checked to have Wolfram's scoring-net ports."""
    head = template.name
    ins, outs = net.port_names()
    if set(ins) != {"Input", "Query"} or tuple(outs) != ("Output",):
        raise EvaluationError(
            f'The scoring net of {head} ({net.head_name}) must have the input ports '
            f'"Input" (a key vector) and "Query" (a query vector) and the output port '
            f'"Output" (a real number); it has inputs {", ".join(ins) or "none"} and outputs '
            f'{", ".join(outs) or "none"}.', symbol=head, tag="invscnet")
    op = ScoredAttention(template, net, _hoist_shared([net], head))
    return op.own_inference(infer, head, "")


def _build(cls: type[Layer], args: tuple, call: Any) -> ScoredAttention:
    """AttentionLayer[net, opts] (or SequenceAttentionLayer[net]): the template is the
    layer with "Bilinear" and the options, without arrays."""
    head = cls.name
    net = to_net(args[0], head, "the scoring net")
    rest = tuple(args[1:])
    if any(is_rule(a) and a.args[0] == "Weights" for a in rest):
        raise EvaluationError(f'{head}[net] has no array "Weights": its arrays are the '
                              f'scoring net\'s, {{"ScoringNet", ...}}.', symbol=head,
                              tag="invarr")
    template = cls.build(("Bilinear",) + rest, call)
    return build_scored(template.evolve(arrays={}), net)


NET_SCORING["build"] = _build
