"""NetGANOperator[{generator, discriminator}] and NetGANOperator[{g, d}, loss]: a net that
trains a generative adversarial network, as Wolfram's.

Ports (Wolfram's): inputs "Sample" (real examples, which the discriminator should score
high) and "Latent" (the generator's seed); outputs "LossReal" (the discriminator's loss
on the real sample), "LossFake" (its loss on the generated one) and "GeneratedFake"
(generator[latent]). The generator and the discriminator each have exactly one input
and one output (any names); the generator's output has the discriminator's input type
(so "Sample" = "GeneratedFake" = the discriminator's input, inferred both ways) and the
discriminator gives one real number.

The loss (Wolfram's reference page):

- "JensenShannon": LossReal = -Log[d[sample]], LossFake = -Log[1 - d[g[latent]]]
  (the discriminator's output is a probability);
- "Wasserstein": LossReal = -d[sample], LossFake = d[g[latent]];
- Automatic (the default): from the discriminator's output layer: "JensenShannon" when
  it gives probabilities (its automatic NetTrain loss is binary cross-entropy: a
  LogisticSigmoid), "Wasserstein" otherwise.

NetTrain minimises LossReal + LossFake; the gradient that LossFake sends from the
discriminator back into the generator is reversed (runtime/gan_step.py), so the
generator maximises LossFake (the minimax game). The nets sit at "Generator" and
"Discriminator" (NetExtract, TrainingUpdateSchedule, LearningRateMultipliers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..errors import EvaluationError
from ..expr import Expr, Symbol, input_form, is_list, list_items
from ..printer import short
from ..layers.base import Net, multiplier_spec
from ..layers.shapes import UNKNOWN, Mismatch, PortType, unify
from .build import _hoist_shared, to_net
from .container import LINKS, NET, Container, PortNode
from .inference import infer
from .operators import Operator, _Inner, _inner_text, _port_options

if TYPE_CHECKING:
    import networkx as nx
else:
    from .networkx_lazy import nx

S = Symbol
KIND = "NetGANOperator"
SLOTS = ("Generator", "Discriminator")
INPUTS = ("Sample", "Latent")
OUTPUTS = ("LossReal", "LossFake", "GeneratedFake")
LOSSES = ("JensenShannon", "Wasserstein")
SCALAR = PortType(())


def _error(tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=KIND, tag=tag)


class GANOperator(Operator):
    """A NetGANOperator value. ``aggregation`` holds the loss as written: "Automatic",
    "JensenShannon" or "Wasserstein" (``loss_type`` resolves Automatic)."""

    loss_outputs = ("LossReal", "LossFake")     # NetTrain's losses; GeneratedFake is not

    def __init__(self, nets: dict[str, Net], ports: dict[str, PortType], loss: str,
                 shared: dict[str, Any] | None = None):
        g = nx.DiGraph()
        for name, net in nets.items():
            g.add_node(name, **{NET: net})
        for p in INPUTS + OUTPUTS:
            g.add_node(PortNode("in" if p in INPUTS else "out", p))
        Container.__init__(self, KIND, g, list(nets), True, ports, shared)
        self.aggregation = loss
        self.operator = KIND
        self.fold = None
        self.thread = None
        self.optional_inputs = ()
        self.optional_outputs = ()

    def loss_type(self) -> str:
        """"JensenShannon" or "Wasserstein": the loss written, or Automatic's choice."""
        if self.aggregation in LOSSES:
            return self.aggregation
        return "JensenShannon" if gives_probability(self.net("Discriminator")) else "Wasserstein"

    def automatic_loss(self) -> tuple[str, tuple] | None:
        return None

    def input_form(self) -> str:
        nets = ", ".join(_inner_text(self.net(n)) for n in self.order)
        parts = ["{" + nets + "}"]
        if self.aggregation != "Automatic":
            parts.append(f'"{self.aggregation}"')
        for p in INPUTS:
            t = self.declared_ports.get(p)
            if t is not None and t.shape is not None:
                parts.append(f'"{p}" -> {input_form(t.spec())}')
        if self.multipliers is not None:
            parts.append(f"LearningRateMultipliers -> {input_form(self.multipliers)}")
        return f"{KIND}[{', '.join(parts)}]"

    def own_inference(self, infer: Callable[..., Container], head: str,
                      where: str) -> "GANOperator":
        result = _infer_gan(self, _Inner(self, infer, head, where))
        assert isinstance(result, GANOperator)
        return result

    def around(self, nets: dict[str, Net], head: str) -> "GANOperator":
        """This operator around other inner nets, inferred again (NetReplace)."""
        opts: dict[str, Any] = {p: t.spec() for p, t in self.declared_ports.items()
                                if t.shape is not None and p in INPUTS}
        if self.multipliers is not None:
            opts["LearningRateMultipliers"] = self.multipliers
        args: tuple = (Expr(S("List"), *(nets[n] for n in self.order)),)
        if self.aggregation != "Automatic":
            args += (self.aggregation,)
        return build_gan(args, opts)


def gives_probability(net: Net) -> bool:
    """Whether the layer making ``net``'s one output gives probabilities of a yes/no
    target (asks for binary cross-entropy as its automatic loss: a LogisticSigmoid)."""
    layer = _producer(net, net.port_names()[1][0])
    ask = getattr(layer, "automatic_loss", None)
    return ask is not None and ask() == ("CrossEntropyLossLayer", ("Binary",))


def _producer(net: Net, port: str) -> Net:
    """The layer producing output ``port`` of ``net``, inside nested containers."""
    if not isinstance(net, Container) or net.operator is not None:
        return net
    edges = list(net.graph.in_edges(PortNode("out", port), data=True))
    if len(edges) != 1:
        return net
    src, _, data = edges[0]
    if isinstance(src, PortNode):
        return net
    return _producer(net.net(src), data[LINKS][0][0])


# ---------------------------------------------------------------- construction
def build_gan(args: tuple, options: dict[str, Any]) -> GANOperator:
    """NetGANOperator[{generator, discriminator}, loss, "Sample" | "Latent" -> shape,
    LearningRateMultipliers -> ...]: the operator with its shapes inferred."""
    if not 1 <= len(args) <= 2:
        raise _error("argt", f"{KIND} called with {len(args)} arguments; 1 or 2 arguments "
                             f"are expected.")
    pair = list_items(args[0]) if is_list(args[0]) else None
    if pair is None or len(pair) != 2:
        raise _error("invarg1", f"The first argument of {KIND} should be a list of two nets "
                                f"{{generator, discriminator}}, not {short(args[0])}.")
    nets = []
    for slot, x in zip(SLOTS, pair):
        try:
            net = to_net(x, KIND, f"the {slot.lower()}")
        except EvaluationError:
            raise _error("invarg1", f"The {slot.lower()} given to {KIND} should be a net, not "
                                    f"{short(x)}.") from None
        ins, outs = net.port_names()
        if len(ins) != 1 or len(outs) != 1:
            raise _error("invports", f"The {slot.lower()} given to {KIND} ({net.head_name}) "
                                     f"must have exactly one input and one output port; it "
                                     f"has inputs {_names(ins)} and outputs {_names(outs)}.")
        nets.append(net)
    loss = args[1] if len(args) == 2 else S("Automatic")
    if loss is S("Automatic"):
        loss = "Automatic"
    if loss not in ("Automatic",) + LOSSES:
        raise _error("invloss", f"The loss {input_form(loss)} of {KIND} should be Automatic, "
                                f'"JensenShannon" or "Wasserstein".')
    options = dict(options)
    multipliers = options.pop("LearningRateMultipliers", None)
    try:
        multipliers = multiplier_spec(multipliers)
    except ValueError as e:
        raise _error("lrmult", f"LearningRateMultipliers -> {input_form(multipliers)}: "
                               f"{e}.") from None
    for p in options:
        if p not in INPUTS + OUTPUTS:
            raise _error("optx", f'"{p}" is not a port of {KIND}; its ports are '
                                 f"{_names(INPUTS + OUTPUTS)}.")
    ports = _port_options(KIND, {p: UNKNOWN for p in INPUTS + OUTPUTS}, options)
    op = GANOperator(dict(zip(SLOTS, nets)), ports, loss, _hoist_shared(nets, KIND))
    op.multipliers = multipliers
    return op.own_inference(infer, KIND, "")


def _names(ports: tuple) -> str:
    return ", ".join(f'"{p}"' for p in ports) or "none"


# ---------------------------------------------------------------- the shape rule
def _infer_gan(op: Operator, s: _Inner) -> Operator:
    """Latent = the generator's input; Sample = GeneratedFake = the generator's output =
    the discriminator's input; the discriminator's output and both losses real numbers."""
    (gin,), (gout,) = s.nets["Generator"].port_names()
    (din,), (dout,) = s.nets["Discriminator"].port_names()
    for p in ("LossReal", "LossFake"):
        _scalar(s, s.ports[p], f'the "{p}" port')
        s.ports[p] = SCALAR
    for _ in range(8):
        out = s.net_port("Discriminator", dout)
        _scalar(s, out, "the discriminator's output")
        if out.integer:
            raise s.fail("the discriminator's output must be a real number (a score or a "
                         "probability), not an integer.")
        changed = s.run("Discriminator", {dout: SCALAR})
        try:
            data = unify(s.ports["Sample"], s.ports["GeneratedFake"])
        except Mismatch:
            raise s.fail(f'the "Sample" port ({s.ports["Sample"].words()}) and the '
                         f'"GeneratedFake" port ({s.ports["GeneratedFake"].words()}) must '
                         f"have one shape.") from None
        made, read = s.net_port("Generator", gout), s.net_port("Discriminator", din)
        for what, t in (("the generator's output", made), ("the discriminator's input", read)):
            try:
                data = unify(data, t)
            except Mismatch:
                raise s.fail(f"{what} ({t.words()}) must have the shape of the samples "
                             f"({data.words()}): the discriminator reads real and generated "
                             f"samples alike.") from None
        changed |= s.run("Generator", {gin: s.ports["Latent"], gout: data})
        changed |= s.run("Discriminator", {din: data})
        changed |= s.refine("Latent", s.net_port("Generator", gin), "Generator", gin)
        for p in ("Sample", "GeneratedFake"):
            changed |= s.refine(p, s.net_port("Discriminator", din), "Discriminator", din)
        if not changed:
            break
    return s.result()


def _scalar(s: _Inner, t: PortType, what: str) -> None:
    if t.shape is not None and t.shape != ():
        raise s.fail(f"{what} must be a single real number, not a {t.words()}; end the "
                     f"discriminator with a layer giving one number (LinearLayer[{{}}], or "
                     f"LinearLayer[{{}}] then LogisticSigmoid for a probability).")


def is_gan(net: Any) -> bool:
    return isinstance(net, GANOperator)


