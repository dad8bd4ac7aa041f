"""Net built-ins: every layer head, NetChain, NetGraph, NetPort, NetExtract, Information.

The runtime (applying, initialising, training), the net files and the extra Information
properties are imported by the built-ins that use them: ``netdsl check`` of a chain
builds and infers it and needs none of them (start-up time, issue 14)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import EvaluationError, NetDSLError
from ..expr import (
    Association,
    is_number,
    Expr,
    Symbol,
    input_form,
    is_integer,
    is_list,
    is_rule,
    list_items,
    make_list,
    packed,
)
from ..graph.build import build_chain, build_graph, to_net
from ..graph.container import Container, replace_leaves, with_shared
from ..graph.edit import replace_part, with_declared_port
from ..graph.inference import infer
from ..graph.operators import build_operator
from ..graph.surgery import graph_of
from ..layers.arrays import NO_ARRAY, SharedRef
from ..layers.base import AbstractArray, Layer, Net
from ..layers.registry import LAYER_TYPES, on_register
from ..layers.shapes import port_type_from_spec
from ..layers.text import to_expr
from ..runtime.train.defaults import OPTION_DEFAULTS
from .io import may_write, output_path
from .registry import NOT_APPLICABLE, REGISTRY, LazyBuiltin, applier, builtin, wrong_call

S = Symbol


# ---------------------------------------------------------------- layer heads
def _register_layer(cls: type[Layer]) -> None:
    """Every registered layer type, netdsl's own or a user's, gets its head."""
    @builtin(cls.name, f"{cls.forms()[:-1]}{', ' if cls.positional else ''}opts]",
             cls.summary, wants_call=True, section="Layers")
    def _make(ev, *args, call, _cls=cls):
        if any(type(a) is Expr and a.head is _FUNCTION for a in args):
            args = tuple(_closed(ev, a) for a in args)
        if any(is_rule(a) and isinstance(a.args[1], str) and a.args[1] in ("Boolean", "Scalar")
               for a in args):
            args = tuple(_coder_word(a) for a in args)
        layer = _cls.build(args, call)
        layer.span = call.span
        return layer


_FUNCTION, _SLOT, _SLOTS = S("Function"), S("Slot"), S("SlotSequence")


def _coder_word(rule: Any) -> Any:
    """"Output" -> "Boolean" | "Scalar" on a layer: that decoder on an output port, that
    encoder on an input, as Wolfram's "port" -> "type"."""
    if not (is_rule(rule) and isinstance(rule.args[0], str)
            and isinstance(rule.args[1], str) and rule.args[1] in ("Boolean", "Scalar")):
        return rule
    from ..layers.coders import NetDecoder, NetEncoder
    kind = NetDecoder if rule.args[0].startswith("Output") else NetEncoder
    return Expr(rule.head, rule.args[0], kind.build((rule.args[1],)))


def _closed(ev, f: Any) -> Any:
    """A pure function given to a layer with the parts of its body that do not use its
    arguments evaluated, as Wolfram evaluates the body on symbolic arguments:
    ``alpha = 0.1; ElementwiseLayer[Ramp[#] - alpha Ramp[-#] &]`` uses 0.1, and
    ``#*Apply[Times, dims] &`` the product. A part that fails to evaluate stays as
    written (the layer then says what it cannot use)."""
    if not (type(f) is Expr and f.head is _FUNCTION and f.args):
        return f
    params = ()
    if len(f.args) >= 2:
        spec = f.args[0]
        params = tuple(list_items(spec)) if is_list(spec) else (spec,)
    body = f.args[-1]

    def uses_arguments(e: Any) -> bool:
        if type(e) is Symbol:
            return e in params
        if type(e) is not Expr:
            return False
        if e.head is _SLOT or e.head is _SLOTS or e.head is _FUNCTION:
            return True
        return uses_arguments(e.head) or any(uses_arguments(a) for a in e.args)

    def close(e: Any) -> Any:
        if type(e) is Symbol and e not in params or (type(e) is Expr
                                                     and not uses_arguments(e)):
            try:
                value = ev.evaluate(e)
            except NetDSLError:
                return e
            return value if is_number(value) or type(value) is Symbol or \
                type(value) is Expr else e
        if type(e) is not Expr or e.head is _SLOT or e.head is _FUNCTION:
            return e
        return Expr(e.head, *(close(a) for a in e.args), span=e.span)
    return Expr(f.head, *f.args[:-1], close(body), span=f.span)


on_register(_register_layer)   # the layer types imported so far, and any imported later
for _name, _module in LAYER_TYPES.unloaded().items():   # the rest: head now, module on use
    REGISTRY[_name] = LazyBuiltin(_name, _module)  # type: ignore[assignment]


@applier(Net)
def _apply_net(ev, net, args):
    """net[x], net[x, "port"], net[x, NetEvaluationMode -> "Train"]."""
    from ..runtime.apply import apply_net
    return apply_net(net, args, shape_only=bool(getattr(ev.host, "shape_only", False)))


def _rules_to_options(rules: tuple, head: str, call: Any) -> dict[str, Any]:
    opts = {}
    for r in rules:
        if not is_rule(r):
            raise wrong_call(head, call, f"{input_form(r)} is not an option (a rule)")
        key = r.args[0]
        name = key.name if isinstance(key, Symbol) else key
        if not isinstance(name, str):
            raise wrong_call(head, call, f"{input_form(key)} is not a port name")
        opts[name] = r.args[1]
    return opts


@builtin("NetChain", ("NetChain[{layer1, layer2, ...}]", "NetChain[<|\"name\" -> layer, ...|>]",
                      'NetChain[..., "Input" -> shape, "Output" -> shape]'),
         "layers in sequence; integers, Ramp-like functions and lists are shorthands",
         args=(1, None), wants_call=True, section="Containers")
def _net_chain(ev, spec, *rules, call):
    opts, multipliers = _container_multipliers(_rules_to_options(rules, "NetChain", call),
                                               "NetChain")
    net = build_chain(spec, opts, "NetChain")
    net.span = call.span
    net.multipliers = multipliers
    return net


def _container_multipliers(opts: dict[str, Any], head: str) -> tuple[dict[str, Any], Any]:
    """NetChain's and NetGraph's LearningRateMultipliers option (a number, or rules
    part -> r relative to the container), apart from the port options."""
    opts = dict(opts)
    spec = opts.pop("LearningRateMultipliers", None)
    if spec is None or spec is S("Automatic"):
        return opts, None
    rules = list_items(spec) if is_list(spec) else [spec]
    if not all(is_rule(r) and (is_number(r.args[1]) or r.args[1] is S("None")) or
               is_number(r) for r in rules):
        raise EvaluationError(f"LearningRateMultipliers -> {input_form(spec)} should be a "
                              f'number, or rules part -> r (a layer, {{layer, "array"}}, '
                              f"m ;; n, _).", symbol=head, tag="lrmult")
    return opts, spec


@builtin("NetGraph", ("NetGraph[{layers}, {connections}]", "NetGraph[<|\"name\" -> layer, ...|>, "
                      "{\"a\" -> \"b\", ...}]", 'NetGraph[..., "port" -> shape]',
                      "NetGraph[chain]", "NetGraph[layer]"),
         "layers wired by connections: 1 -> 2, {1, 2} -> 3, NetPort[\"in\"] -> 1, 3 -> NetPort[\"out\"]",
         args=(1, None), wants_call=True, section="Containers")
def _net_graph(ev, layers, edges=None, *rules, call):
    if isinstance(layers, Net) or edges is None or is_rule(edges) and isinstance(
            edges.args[0], str):
        # NetGraph[chain] or NetGraph[layer]: the equivalent minimal graph
        if not isinstance(layers, Net):
            if is_list(layers) or isinstance(layers, Association):
                raise wrong_call("NetGraph", call, "a NetGraph of layers needs its connections")
            layers = to_net(layers, "NetGraph", "the argument")
        rules = ((edges,) if edges is not None else ()) + rules
        net: Net = graph_of(layers)
        opts = _rules_to_options(rules, "NetGraph", call)
        if opts:
            net = build_graph_options(graph_of(layers), opts)
        net.span = call.span
        return net
    opts, multipliers = _container_multipliers(_rules_to_options(rules, "NetGraph", call),
                                               "NetGraph")
    net = build_graph(layers, edges, opts, "NetGraph")
    net.span = call.span
    net.multipliers = multipliers
    return net


def _operator(head: str, usage: tuple[str, ...], summary: str, most: int) -> None:
    @builtin(head, usage, summary, args=(1, None), wants_call=True, section="Containers")
    def _make(ev, *args, call, _head=head, _most=most):
        positional = [a for a in args if not is_rule(a)]
        rules = tuple(a for a in args if is_rule(a))
        if len(positional) + len(rules) != len(args) or not 1 <= len(positional) <= _most:
            what = ("a net or a pair of nets, and an aggregation,"
                    if _head == "NetBidirectionalOperator" else
                    "a net and a number of iterations," if _head == "NetNestOperator" else
                    "a net and a level specification," if _head == "NetMapThreadOperator"
                    else "a net")
            raise wrong_call(_head, call, f"{_head} takes {what} and port rules")
        net = build_operator(_head, tuple(positional), _rules_to_options(rules, _head, call))
        net.span = call.span
        return net


_operator("NetMapOperator", ("NetMapOperator[net]", 'NetMapOperator[net, "Input" -> shape]'),
          "net applied to each element of a sequence (the first level of the input)", 1)
_operator("NetFoldOperator", ("NetFoldOperator[net]", 'NetFoldOperator[net, "Input" -> shape]',
                             'NetFoldOperator[net, {"out" -> "in", ...}]',
                             "NetFoldOperator[net, feedback, constants, outputs]"),
          'net folded over a sequence: by default net has ports "Input", "State" -> "Output" '
          "and gives the sequence of states, starting from the \"State\" port (zeros when not "
          "given); feedback rules name the outputs fed back to inputs, constants the inputs "
          "not mapped over, outputs the sequences given", 4)
_operator("NetNestOperator", ("NetNestOperator[net, n]", 'NetNestOperator[net, n, "Input" -> shape]'),
          'net applied n times, each output the next input (net has ports "Input" and '
          '"Output" of one shape; the n applications share its arrays)', 2)
_operator("NetBidirectionalOperator", ("NetBidirectionalOperator[net]",
                                       "NetBidirectionalOperator[{fnet, bnet}]",
                                       "NetBidirectionalOperator[nets, Catenate | Total | Mean]"),
          "fnet on a sequence and bnet on it reversed, their outputs joined (Catenate), "
          "added (Total) or averaged (Mean)", 2)
_operator("NetMapThreadOperator", ("NetMapThreadOperator[net]", "NetMapThreadOperator[net, n]",
                                   'NetMapThreadOperator[net, <|"in1" -> n1, ...|>]',
                                   'NetMapThreadOperator[net, "in" -> shape]'),
          "net applied to corresponding elements of its inputs, mapped over their first n "
          "levels (1 by default); with depths per input, inputs of smaller depth are "
          "replicated (depth 0: given whole to every application)", 2)
_operator("NetPairEmbeddingOperator", ("NetPairEmbeddingOperator[net]",
                                       "NetPairEmbeddingOperator[net, DistanceFunction -> "
                                       "CosineDistance]",
                                       'NetPairEmbeddingOperator[net, "Input" -> shape]'),
          "net embeds both arrays of a pair {x1, x2}; the output is the distance of the two "
          "embeddings (EuclideanDistance: Total[(e1 - e2)^2], as Wolfram computes it; or "
          "CosineDistance); NetTrain attaches a ContrastiveLossLayer", 1)


# ---- NetGANOperator (graph/gan.py) ----
@builtin("NetGANOperator", ("NetGANOperator[{generator, discriminator}]",
                            'NetGANOperator[{generator, discriminator}, "JensenShannon" | '
                            '"Wasserstein"]',
                            'NetGANOperator[{g, d}, "Latent" -> shape, "Sample" -> shape]'),
         'a generative adversarial network to train: inputs "Sample" (real data) and '
         '"Latent" (the generator\'s seed), outputs "LossReal", "LossFake" and '
         '"GeneratedFake"; NetTrain minimises LossReal + LossFake for the discriminator '
         "while the generator maximises LossFake", args=(1, None), wants_call=True,
         section="Containers")
def _net_gan_operator(ev, *args, call):
    from ..graph.gan import build_gan
    positional = tuple(a for a in args if not is_rule(a))
    rules = tuple(a for a in args if is_rule(a))
    if len(positional) + len(rules) != len(args) or not 1 <= len(positional) <= 2:
        raise wrong_call("NetGANOperator", call, "NetGANOperator takes a list {generator, "
                                                 "discriminator}, a loss and port rules")
    net = build_gan(positional, _rules_to_options(rules, "NetGANOperator", call))
    net.span = call.span
    return net


@builtin("NetPort", ('NetPort["port"]', 'NetPort[layer, "port"]'),
         "a port of a graph or of one of its layers, in NetGraph connections", args=(1, 2),
         section="Containers")
def _net_port(ev, *args):
    return NOT_APPLICABLE


@builtin("NetSharedArray", 'NetSharedArray["name"]',
         "an array shared by every layer that names it (also written NetArray)", args=1,
         section="Containers")
def _net_shared_array(ev, name):
    if not isinstance(name, str) and name is not S("All"):
        raise wrong_call("NetSharedArray", Expr(S("NetSharedArray"), name), "the name must be a string")
    return NOT_APPLICABLE


@builtin("NetArray", ('NetArray["name"]', "NetArray[]", "NetArray[All]"),
         "the newer spelling of NetSharedArray; NetArray[] is a shared array with a new "
         "unique name", args=(0, 1), section="Containers")
def _net_array(ev, name=None):
    if name is None:                     # Wolfram names it with a UUID
        import uuid
        return Expr(S("NetSharedArray"), str(uuid.UUID(int=int(ev.rng.integers(2 ** 63)))))
    if isinstance(name, str) or name is S("All"):
        return Expr(S("NetSharedArray"), name)
    if is_rule(name):
        raise wrong_call("NetArray", Expr(S("NetArray"), name),
                         'NetArray[prop -> value] is not supported; name the array, '
                         'NetArray["name"], and give its value with NetReplacePart[net, '
                         'NetArray["name"] -> value]')
    return _net_shared_array(ev, name)


def build_graph_options(net: Container, opts: dict[str, Any]) -> Container:
    """NetGraph[net, "port" -> shape]: the ports declared, shapes inferred again."""
    for port, spec in opts.items():
        if port not in net.ports:
            raise EvaluationError(f'The graph has no port named "{port}"; its ports are '
                                  f"{', '.join(net.ports)}.", symbol="NetGraph", tag="noport")
        try:
            declared = with_declared_port(net, port, port_type_from_spec(spec))
        except ValueError as e:
            raise EvaluationError(f'Specification {input_form(spec)} is not compatible with '
                                  f'port "{port}": {e}.', symbol="NetGraph",
                                  tag="invspec") from None
        assert isinstance(declared, Container)
        net = declared
    return infer(net.reset(), "NetGraph")


# ---------------------------------------------------------------- NetExtract
def _sub_net(net: Net, spec: Any, head: str) -> Net | None:
    """The sub-net a layer spec names, or None when ``spec`` is not a layer spec here."""
    if not isinstance(net, Container):
        return None
    if is_integer(spec):
        n = len(net.order)
        if not (1 <= spec <= n or -n <= spec <= -1):
            raise EvaluationError(f"There is no layer {spec}: the net has {n} layers.",
                                  symbol=head, tag="nopart")
        name = net.order[spec - 1 if spec > 0 else spec]
    elif isinstance(spec, str) and spec in net.order:
        name = spec
    else:
        return None
    return with_shared(net.net(name), net.shared)


def extract_value(net: Net, name: str, head: str, root_shared: dict | None = None) -> Any:
    """An option, parameter, port or array of a layer (arrays as float32 numeric arrays)."""
    shared = root_shared if root_shared is not None else net.shared
    if isinstance(net, Layer):
        if name in net.arrays:
            v = net.arrays[name]
            if isinstance(v, SharedRef):
                v = shared.get(v.name)
            if v is None:
                return S("Automatic")
            if v is NO_ARRAY:
                return S("None")
            if isinstance(v, AbstractArray):
                return v
            return packed(v)
        if name in net.values and not name.startswith("$"):
            exported = net.exported_value(name)
            return to_expr(net.values[name]) if exported is None else exported
    if name in net.ports:
        return net.ports[name].spec()
    known = list(net.ports)
    if isinstance(net, Layer):
        known = [n for n in net.values if not n.startswith("$")] + list(net.arrays) + known
    elif isinstance(net, Container):
        known = [f'"{n}"' if net.named else n for n in net.order] + known
    raise EvaluationError(f'"{name}" is not a layer, array, parameter, option or port of '
                          f"{net.head_name}; it has {', '.join(known)}.", symbol=head,
                          tag="nopart")


def extract(net: Net, spec: Any, head: str = "NetExtract") -> Any:
    if spec is S("All"):
        return normal(net)
    if isinstance(spec, Expr) and spec.head is S("NetSharedArray"):
        return _extract_shared(net, spec, head)
    if is_list(spec):
        items = list_items(spec)
        if items and all(is_list(i) or isinstance(i, Expr) and i.head is S("NetSharedArray")
                         for i in items):
            return make_list(extract(net, i, head) for i in items)
        current: Net = net
        root_shared = net.shared
        for i, part in enumerate(items):
            sub = _sub_net(current, part, head)
            if sub is not None:
                current = sub
                continue
            rest = tuple(items[i:])
            alias = (getattr(current, "array_paths", {}).get(rest)
                     if all(isinstance(r, str) for r in rest) else None)
            if alias is not None:      # AttentionLayer: {"ScoringNet", "Linear", "Weights"}
                return extract_value(current, alias, head, root_shared)
            if not isinstance(part, str) or i != len(items) - 1:
                raise EvaluationError(f"{input_form(part)} does not name a layer of "
                                      f"{current.head_name}.", symbol=head, tag="nopart")
            return extract_value(current, part, head, root_shared)
        return current
    sub = _sub_net(net, spec, head)
    if sub is not None:
        return sub
    if isinstance(spec, str):
        return extract_value(net, spec, head)
    raise EvaluationError(f"{input_form(spec)} is not a valid part specification for "
                          f"{net.head_name}.", symbol=head, tag="nopart")


def _extract_shared(net: Net, spec: Expr, head: str) -> Any:
    name = spec.args[0] if spec.args else None
    if name is S("All"):
        return Association((Expr(S("NetSharedArray"), k),
                            packed(v) if isinstance(v, np.ndarray) else S("Automatic"), False)
                           for k, v in net.shared.items())
    if name not in net.shared:
        known = ", ".join(f'"{k}"' for k in net.shared) or "none"
        raise EvaluationError(f'The net has no shared array "{name}"; its shared arrays: '
                              f"{known}.", symbol=head, tag="nopart")
    v = net.shared[name]
    return packed(v) if isinstance(v, np.ndarray) else S("Automatic")


def normal(net: Net) -> Any:
    """Normal[net]: the list (or association) of layers; for a layer, its parameters."""
    if isinstance(net, Container):
        subs = [with_shared(n, net.shared) for _, n in net.layers()]
        if net.named:
            return Association((k, v, False) for k, v in zip(net.order, subs))
        return Expr(S("List"), *subs)
    assert isinstance(net, Layer)  # a Net is a Container or a Layer
    return Association((k, extract_value(net, k, "Normal"), False)
                       for k in list(net.values) + list(net.arrays) if not k.startswith("$"))


# NetExtract of values that hold a net without being one (NetStateObject): fn(value, spec)
EXTRACT_HOOKS: dict[type, Any] = {}


@builtin("NetExtract", ('NetExtract[net, "array" | "option" | "port"]', "NetExtract[net, layer]",
                        "NetExtract[net, {layer, ..., \"array\"}]",
                        'NetExtract[net, NetSharedArray["name"]]', "NetExtract[net, All]"),
         "a layer, an option value, a port shape or an array (Automatic if not initialized)",
         args=2, section="Nets")
def _net_extract(ev, net, spec):
    hook = EXTRACT_HOOKS.get(type(net))
    if hook is not None:
        return hook(net, spec)
    if _is_coder(net):      # NetExtract[coder, "Labels"]
        return _coder_part(net, spec, "NetExtract")
    if not isinstance(net, Net):
        raise wrong_call("NetExtract", Expr(S("NetExtract"), net, spec), "the first argument is not a net")
    return extract(net, spec)


def _is_coder(x: Any) -> bool:
    """A NetEncoder or NetDecoder (asked by name: a chain's check need not import them)."""
    return getattr(x, "head_name", None) in ("NetEncoder", "NetDecoder") \
        and hasattr(x, "port_type")


def _coder_part(coder: Any, name: Any, head: str) -> Any:
    from ..layers.coders import coder_parameters
    params = coder_parameters(coder)
    if name not in params:
        raise EvaluationError(f"{input_form(name)} is not a parameter of the "
                              f'"{params["Type"]}" {coder.head_name}; it has '
                              f"{', '.join(params)}.", symbol=head, tag="nopart")
    return params[name]


# ---------------------------------------------------------------- Information
def _array_count(net: Net) -> tuple[int, int]:
    """(number of arrays, total elements), shared arrays counted once."""
    count, total = 0, 0
    seen: set[str] = set()
    for _, layer in net.leaves():
        for _spec, _value, shape in layer.array_slots(seen):
            count += 1
            if shape is not None and None not in shape:
                total += int(np.prod(shape, dtype=np.int64))
    return count, total


def _ports(net: Net, side: int) -> Association:
    names = net.port_names()[side]
    return Association((n, net.ports[n].spec(), False) for n in names)


def _layer_paths(net: Container, prefix: tuple = ()):
    """Every layer with its path as NetExtract takes it: positions (integers) in an
    unnamed container, names (strings) in a named one: {2, 1}, {"block", "conv"}."""
    for i, (name, sub) in enumerate(net.layers(), 1):
        path = prefix + (name if net.named else i,)
        if isinstance(sub, Container):
            yield from _layer_paths(sub, path)
        else:
            yield path, sub


def information(net: Net, prop: Any) -> Any:
    if prop == "Layers":
        if isinstance(net, Container):
            return Association((make_list(path), layer, False) for path, layer in _layer_paths(net))
        return Association([(make_list([]), net, False)])
    if prop == "InputPorts":
        return _ports(net, 0)
    if prop == "OutputPorts":
        return _ports(net, 1)
    if prop == "ArraysCount":
        return _array_count(net)[0]
    if prop == "ArraysTotalElementCount":
        return _array_count(net)[1]
    if prop == "LayerTypeCounts":
        counts: dict[str, int] = {}
        leaves = net.leaves()
        for _, layer in leaves:
            counts[layer.name] = counts.get(layer.name, 0) + 1
        return Association((k, v, False) for k, v in counts.items())
    if prop == "LayersCount":
        return sum(1 for _ in net.leaves())
    return None




@builtin("NetInformation", ("NetInformation[net]", 'NetInformation[net, "prop"]'),
         "Wolfram's older name for Information on nets", args=(1, 2), section="Nets")
def _net_information(ev, net, prop=None):
    return _information(ev, net, prop)


@builtin("Information", ("Information[net]", 'Information[net, "prop"]',
                         'Information[net, {"prop1", ...}]'),
         'facts about a net: "Layers", "InputPorts", "OutputPorts", "Arrays", '
         '"ArraysDimensions", "ArraysCount", "ArraysTotalElementCount", "LayerTypeCounts", '
         '"Properties", ...', args=(1, 2), section="Nets")
def _information(ev, net, prop=None):
    call = Expr(S("Information"), net, *([] if prop is None else [prop]))
    if isinstance(net, Expr) and net.head is S("List") and prop is not None:
        return make_list(_information(ev, n, prop) for n in net.args)
    if not isinstance(net, Net):
        raise wrong_call("Information", call, "the first argument is not a net")
    if prop is None:   # Wolfram's panel of the main facts, as an association
        return Association((p, _information(ev, net, p), False) for p in (
            "LayersCount", "ArraysCount", "SharedArraysCount", "InputPortNames",
            "OutputPortNames", "ArraysTotalElementCount", "ArraysTotalSize"))
    if is_list(prop) and not isinstance(prop, np.ndarray) and \
            all(isinstance(p, str) for p in list_items(prop)):
        return make_list(_information(ev, net, p) for p in list_items(prop))
    from .information import PROPERTIES as INFORMATION_PROPERTIES
    from .information import more_information
    value = None
    if isinstance(prop, str):   # (an array given as the property compares elementwise)
        value = information(net, prop)
        if value is None:
            value = more_information(net, prop)
    if value is None:
        raise EvaluationError(f"{input_form(prop)} is not a known property; known properties: "
                              f"{', '.join(INFORMATION_PROPERTIES)}.", symbol="Information",
                              tag="notprop")
    return value


# ---------------------------------------------------------------- NetInitialize, NetReplacePart
@builtin("NetInitialize", ("NetInitialize[net]", "NetInitialize[net, All]", "NetInitialize[net, None]",
                           "NetInitialize[{net1, net2, ...}]"),
         'gives every unset array a value (Method -> "Kaiming", RandomSeeding -> 1234); All '
         "re-initialises every array, None removes them",
         args=(1, 2), options={"Method": "Kaiming", "RandomSeeding": 1234}, section="Nets")
def _net_initialize(ev, net, which=None, *, opts):
    if is_list(net) and isinstance(net, Expr):
        return make_list(_net_initialize(ev, n, which, opts=opts) for n in net.args)
    if not isinstance(net, Net):
        raise EvaluationError("First argument to NetInitialize should be a net or list of nets.",
                              symbol="NetInitialize", tag="arg1")
    modes = {None: "missing", S("Automatic"): "missing", S("All"): "all", S("None"): "none"}
    if not (which is None or isinstance(which, Symbol) and which in modes):
        raise EvaluationError("Second argument should be either All, Automatic or None.",
                              symbol="NetInitialize", tag="arg2")
    from ..runtime.initialize import initialize, parse_method, rng_for
    method = parse_method(opts["Method"])
    rng = rng_for(opts["RandomSeeding"])
    shape_only = bool(getattr(ev.host, "shape_only", False))
    result = initialize(net, modes[which], method, rng, shape_only=shape_only)
    result.span = getattr(net, "span", None)
    return result


@builtin("NetReplacePart", ('NetReplacePart[net, "array" -> value]', 'NetReplacePart[net, "Input" -> shape]',
                            'NetReplacePart[net, {layer, "array"} -> value]',
                            "NetReplacePart[net, layer -> newlayer]",
                            'NetReplacePart[net, NetSharedArray["name"] -> value]',
                            "NetReplacePart[net, {rule1, rule2, ...}]"),
         "a copy of net with arrays, port shapes or layers replaced (shapes are checked again)",
         args=2, section="Nets")
def _net_replace_part(ev, net, rules):
    if _is_coder(net):      # NetReplacePart[coder, "Labels" -> ...]
        from ..layers.coders import with_coder_parameter
        for r in (list_items(rules) if is_list(rules) else [rules]):
            if not (is_rule(r) and isinstance(r.args[0], str)):
                raise wrong_call("NetReplacePart", Expr(S("NetReplacePart"), net, rules),
                                 f'{input_form(r)} is not a rule "parameter" -> value')
            _coder_part(net, r.args[0], "NetReplacePart")
            net = with_coder_parameter(net, r.args[0], r.args[1])
        return net
    if not isinstance(net, Net):
        raise wrong_call("NetReplacePart", Expr(S("NetReplacePart"), net, rules),
                         "the first argument is not a net")
    items = list_items(rules) if is_list(rules) and not is_rule(rules) else [rules]
    for r in items:
        if not is_rule(r):
            raise wrong_call("NetReplacePart", Expr(S("NetReplacePart"), net, rules),
                             f"{input_form(r)} is not a rule part -> value")
        net = replace_part(net, r.args[0], r.args[1])
    return net


# ---------------------------------------------------------------- NetTrain


@builtin("NetTrain", ("NetTrain[net, {x1 -> y1, ...}]", "NetTrain[net, {xs} -> {ys}]",
                      'NetTrain[net, <|"port" -> {...}, ...|>]', 'NetTrain[net, data, "prop"]',
                      "NetTrain[net, data, All]",
                      "NetTrain[net, data, lossLayer]"),
         "trains net (a loss is attached as Wolfram does); options BatchSize, MaxTrainingRounds, "
         "Method, LearningRate, ValidationSet, TimeGoal, LearningRateMultipliers, ...",
         args=(2, 3), options=OPTION_DEFAULTS, section="Nets")
def _net_train(ev, net, data, prop=None, *, opts):
    # the training loop is imported when first used (start-up: issue 14)
    from ..formats.netfile import save_net
    from ..runtime.train.checkpoint import read_checkpointing
    from ..runtime.train.loop import net_train
    from ..runtime.train.results import (OLD_NAMES, PROPERTIES, TrainResults, property_value,
                                         results)
    if not isinstance(net, Net):
        raise EvaluationError("First argument to NetTrain should be a fully specified net.",
                              symbol="NetTrain", tag="invnet")
    data = undataset(data)
    input_form_rest = _input_form_rest(prop, opts)
    if _is_loss_spec(prop):   # NetTrain[net, data, lossLayer]: the loss to train on
        opts = {**opts, "LossFunction": prop}
        prop = None
    opts = _reporting_functions(opts)
    if is_rule(prop):   # a rule left over by the option parser names no NetTrain option
        key = prop.args[0]
        raise EvaluationError(f"Unknown option {input_form(key)} for NetTrain; known options: "
                              f"{', '.join(opts)}.", symbol="NetTrain", tag="optx")

    def prop_name(p):   # BatchSize (the symbol) as well as "BatchSize"
        return p.name if isinstance(p, Symbol) and p is not S("All") else p
    prop = make_list(prop_name(p) for p in list_items(prop)) if is_list(prop) \
        else prop_name(prop)
    if not (prop is None or prop is S("All") or isinstance(prop, str)
            or is_list(prop) and all(isinstance(p, str) for p in list_items(prop))):
        raise wrong_call("NetTrain", Expr(S("NetTrain"), net, data, prop),
                         "the third argument must be a property name or All")
    for p in (list_items(prop) if is_list(prop) else [prop]):
        if isinstance(p, str) and p not in PROPERTIES and p not in OLD_NAMES:
            property_value({}, p)     # the unknown-property error before training
    shape_only = bool(getattr(ev.host, "shape_only", False))
    save = save_net
    checkpoints = read_checkpointing(opts.get("TrainingProgressCheckpointing"))
    if checkpoints:   # the file gate; netdsl check notes what training would write
        targets = [c.path if c.kind == "File" else f"checkpoints in {c.path}"
                   for c in checkpoints]
        if not all([may_write(ev, "NetTrain", t) for t in targets]):
            save = None
    logs = [f.args[0] for f in _files_in(opts.get("TrainingProgressReporting"))]
    opts = {**opts, "$callable": ev.callable,   # for TrainingProgressFunction and friends
            "$log": all([may_write(ev, "NetTrain", f"the training log {t}") for t in logs])}
    trained, history = net_train(net, data, opts, shape_only=shape_only,
                                 interruptible=bool(getattr(ev.host, "interactive", False)),
                                 save_checkpoint=save,
                                 resolve_path=lambda name: str(output_path(ev, name)))
    props = results(trained, history)
    # Wolfram's form: HoldForm[NetTrain][Placeholder["net"], Placeholder["data"], rest...]
    props["NetTrainInputForm"] = Expr(Expr(S("HoldForm"), S("NetTrain")),
                                      Expr(S("Placeholder"), "net"),
                                      Expr(S("Placeholder"), "data"), *input_form_rest)
    if prop is None:
        return trained
    if prop is S("All"):
        return TrainResults(props)
    if isinstance(prop, str):
        return property_value(props, prop)
    return make_list(property_value(props, p) for p in list_items(prop))


def _input_form_rest(prop: Any, opts: dict[str, Any]) -> list[Any]:
    """The arguments after net and data for "NetTrainInputForm": the property (or loss)
    given, then the options as rules. Options are known here with their defaults filled
    in, so those still at the default are left out (a default written out is lost)."""
    rest = [] if prop is None else [prop]
    for key, value in opts.items():
        default = OPTION_DEFAULTS.get(key)
        if key.startswith("$") or (default is not None
                                    and input_form(value) == input_form(default)):
            continue
        rest.append(Expr(S("Rule"), S(key) if key in OPTION_DEFAULTS else key, value))
    return rest


def undataset(data: Any) -> Any:
    """Dataset[rows] (Wolfram's training data form) as its rows: netdsl has no Dataset
    object, so the wrapper is only read through."""
    if isinstance(data, Expr) and data.head is S("Dataset") and len(data.args) >= 1:
        return data.args[0]
    return data


def _reporting_functions(opts: dict[str, Any]) -> dict[str, Any]:
    """TrainingProgressReporting -> f (or {f, "Interval" -> i}, or among a list of specs):
    Wolfram shows f's result as training goes (every round by default); here it is
    printed, by running Print[f[#]] & as a TrainingProgressFunction. The panel or lines
    are then not shown unless asked for too."""
    spec = opts.get("TrainingProgressReporting")
    items = list_items(spec) if is_list(spec) and not _with_suboptions(spec) else [spec]
    kept, added = [], []
    for item in items:
        fn, sub = (list_items(item)[0], list_items(item)[1:]) if _with_suboptions(item) \
            else (item, [])
        if not _is_function(fn):
            kept.append(item)
            continue
        printer = Expr(S("Function"), Expr(S("Print"), Expr(fn, Expr(S("Slot"), 1))))
        interval = sub or [Expr(S("Rule"), "Interval", Expr(S("Quantity"), 1, "Rounds"))]
        added.append(Expr(S("List"), printer, *interval))
    if not added:
        return opts
    given = opts.get("TrainingProgressFunction")
    before = [] if given is None or given is S("None") else (
        [given] if not is_list(given) or _with_suboptions(given) else list_items(given))
    rest = kept[0] if len(kept) == 1 else make_list(kept) if kept else S("None")
    return {**opts, "TrainingProgressReporting": rest,
            "TrainingProgressFunction": make_list(before + added)}


def _with_suboptions(x: Any) -> bool:
    """{spec, "Interval" -> ...}: one spec with its suboptions."""
    items = list_items(x) if is_list(x) else []
    return len(items) >= 2 and all(is_rule(i) for i in items[1:])


def _is_function(x: Any) -> bool:
    return isinstance(x, Expr) and x.head is S("Function")


def _files_in(spec: Any) -> list[Expr]:
    """The File[...] specs in a TrainingProgressReporting value."""
    if isinstance(spec, Expr) and spec.head is S("File"):
        return [spec]
    return [f for item in list_items(spec) for f in _files_in(item)] if is_list(spec) else []


def _is_loss_spec(x: Any) -> bool:
    """A loss layer, "port" -> loss layer, or a list of such rules (NetTrain's third
    argument given as LossFunction)."""
    if isinstance(x, Layer):
        return bool(getattr(x, "is_loss", False))
    if is_rule(x):
        return isinstance(x.args[0], str) and isinstance(x.args[1], Net)
    return is_list(x) and bool(list_items(x)) and all(_is_loss_spec(i) and is_rule(i)
                                                       for i in list_items(x))


@builtin("NetInsertSharedArrays", ("NetInsertSharedArrays[net]", 'NetInsertSharedArrays[net, "prefix"]'),
         'makes every learned array of net a NetSharedArray named by its position ("1/Weights"); '
         "moving statistics stay per layer", args=(1, 2), section="Nets")
def _net_insert_shared(ev, net, prefix=""):
    if not isinstance(net, Net):
        raise wrong_call("NetInsertSharedArrays", Expr(S("NetInsertSharedArrays"), net),
                         "the argument is not a net")
    if prefix is S("None"):
        prefix = ""
    if not isinstance(prefix, str):
        raise EvaluationError(f"Prefix {input_form(prefix)} should be either None or a string.",
                              symbol="NetInsertSharedArrays", tag="badprefix")
    shared = dict(net.shared)
    new = {}
    for path, layer in net.leaves():
        arrays = dict(layer.arrays)
        for spec in layer.array_specs:
            v = arrays.get(spec.name)
            if spec.aux or v is NO_ARRAY or isinstance(v, SharedRef):
                continue  # MovingMean/MovingVariance are never shared
            name = prefix + "/".join(list(path) + [spec.name])
            if name in shared:
                raise EvaluationError(f'Cannot share array at {"/".join(path) or "top"} because '
                                      f'the target name "{name}" already exists.',
                                      symbol="NetInsertSharedArrays", tag="nameclash")
            shared[name] = v
            arrays[spec.name] = SharedRef(name)
        new[path] = layer.evolve(arrays=arrays, shared={})
    if len(shared) == len(net.shared):
        sys.stderr.write("NetInsertSharedArrays::noarr: Net contained no arrays that could be "
                         "shared, returning net unchanged.\n")
        return net
    return replace_leaves(net, new).evolve(shared=shared)
