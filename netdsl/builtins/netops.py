"""Net operation built-ins: NetTake, NetDrop (graph/surgery.py), NetAppend, NetPrepend,
NetJoin, NetFlatten, NetReplace (graph/compose.py), NetInsert, NetDelete, NetRename
(graph/rename.py), net[[...]], NetMeasurements
(runtime/train/measure.py) and NetPortGradient (runtime/port_gradient.py)."""

from __future__ import annotations

from typing import Any, Callable

from ..expr import Association, Expr, Symbol, input_form, is_list, is_rule, list_items
from ..graph.build import to_net
from ..graph.compose import net_append, net_flatten, net_join, net_replace
from ..graph.rename import net_delete, net_insert, net_rename
from ..graph.surgery import net_drop, net_take
from ..layers.base import Net
from ..patterns import is_pattern, substitute
from .lists import PART_HOOKS
from .nets import extract, undataset
from .registry import NOT_APPLICABLE, builtin, wrong_call

S = Symbol


def _net(head: str, net: Any, call: Expr) -> Net:
    if not isinstance(net, Net):
        raise wrong_call(head, call, "the first argument is not a net")
    return net


def _port_rules(head: str, rules: tuple, call: Expr) -> dict[str, Any]:
    out = {}
    for r in rules:
        if not (is_rule(r) and isinstance(r.args[0], str)):
            raise wrong_call(head, call, f"{input_form(r)} is not a port specification "
                                         f'"port" -> shape')
        out[r.args[0]] = r.args[1]
    return out


@builtin("NetTake", ("NetTake[net, end]", "NetTake[net, {start, end}]",
                     'NetTake[net, spec, "port" -> shape]'),
         "the layers of net up to end (from start): a layer n or \"name\", NetPort[layer, "
         "\"port\"], NetPort[\"port\"], All or a list of these", args=(2, None),
         section="Nets")
def _net_take(ev, net, spec, *rules):
    call = Expr(S("NetTake"), net, spec, *rules)
    result = net_take(_net("NetTake", net, call), spec, "NetTake",
                      _port_rules("NetTake", rules, call))
    result.span = getattr(net, "span", None)
    return result


@builtin("NetDrop", ("NetDrop[chain, n]", "NetDrop[chain, -n]", "NetDrop[chain, {m, n}]",
                     'NetDrop[chain, spec, "port" -> shape]'),
         "the chain without its first n (last n, layers m to n) layers; port rules give "
         "the result's ports shapes or coders", args=(2, None), section="Nets")
def _net_drop(ev, net, spec, *rules):
    call = Expr(S("NetDrop"), net, spec, *rules)
    return net_drop(_net("NetDrop", net, call), spec, "NetDrop",
                    _port_rules("NetDrop", rules, call))


@builtin("NetAppend", ("NetAppend[net, layer]", "NetAppend[net, {layer1, layer2, ...}]",
                       'NetAppend[net, "name" -> layer]'),
         "net with layers added at the end (after a graph's single output)", args=2,
         section="Nets")
def _net_append(ev, net, spec):
    return net_append(_net("NetAppend", net, Expr(S("NetAppend"), net, spec)), spec,
                      "NetAppend", at_end=True)


@builtin("NetPrepend", ("NetPrepend[net, layer]", "NetPrepend[net, {layer1, layer2, ...}]",
                        'NetPrepend[net, "name" -> layer]'),
         "net with layers added at the start (before a graph's single input)", args=2,
         section="Nets")
def _net_prepend(ev, net, spec):
    return net_append(_net("NetPrepend", net, Expr(S("NetPrepend"), net, spec)), spec,
                      "NetPrepend", at_end=False)


@builtin("NetJoin", "NetJoin[chain1, chain2, ...]",
         "one NetChain of the layers of the chains (and layers) given, in order",
         args=(1, None), section="Nets")
def _net_join(ev, *nets):
    call = Expr(S("NetJoin"), *nets)
    if not nets or not isinstance(nets[0], Net):
        raise wrong_call("NetJoin", call, "the first argument is not a net")
    return net_join([to_net(n, "NetJoin", f"argument {i}") for i, n in enumerate(nets, 1)])


@builtin("NetInsert", ("NetInsert[chain, layer, n]", 'NetInsert[chain, "name" -> layer, n]',
                       'NetInsert[chain, layer, "name"]'),
         "the chain with layer put before its layer n (n = length + 1 or -1: at the end)",
         args=3, section="Nets")
def _net_insert(ev, net, spec, pos):
    return net_insert(_net("NetInsert", net, Expr(S("NetInsert"), net, spec, pos)), spec, pos)


@builtin("NetDelete", ("NetDelete[net, n]", 'NetDelete[net, "name"]', "NetDelete[net, {n1, ...}]"),
         "net without those layers (in a NetGraph, their connections go too)", args=2,
         section="Nets")
def _net_delete(ev, net, spec):
    return net_delete(_net("NetDelete", net, Expr(S("NetDelete"), net, spec)), spec)


@builtin("NetRename", ('NetRename[net, "old" -> "new"]', "NetRename[net, {rule1, ...}]",
                       'NetRename[net, n -> "new"]', "NetRename[net, f]",
                       'NetRename[net, NetPort["old"] -> NetPort["new"]]'),
         "net with layers renamed (an unnamed container's layers keep their numbers as "
         "names; f maps each layer's name to its new one), or its ports", args=2,
         section="Nets")
def _net_rename(ev, net, rules):
    c = _net("NetRename", net, Expr(S("NetRename"), net, rules))
    if is_rule(rules) or is_list(rules):
        return net_rename(c, rules)
    return net_rename(c, rules, rename=lambda name: ev.call(rules, name))


@builtin("NetFlatten", ("NetFlatten[net]", "NetFlatten[net, n]"),
         "moves the layers of nested NetChains and NetGraphs up (n levels); names join with "
         "\"/\"", args=(1, 2), section="Nets")
def _net_flatten(ev, net, level=None):
    return net_flatten(_net("NetFlatten", net, Expr(S("NetFlatten"), net)), level)


@builtin("NetReplace", ("NetReplace[net, layer -> new]", "NetReplace[net, _LayerType -> new]",
                        "NetReplace[net, x_LayerType /; cond :> new]",
                        "NetReplace[net, {rule1, rule2, ...}]"),
         "net with every layer equal to layer, or matching a pattern (_LinearLayer, "
         "x_LinearLayer :> ..., with conditions; LayerType alone is _LayerType), replaced by "
         "new, at any depth", args=2, section="Nets")
def _net_replace(ev, net, rules):
    call = Expr(S("NetReplace"), net, rules)
    items = list_items(rules) if is_list(rules) else [rules]
    if isinstance(rules, Association):
        items = [Expr(S("Rule"), k, v) for k, v in rules.items()]
    if not all(is_rule(r) for r in items):
        raise wrong_call("NetReplace", call, "the second argument must be a rule or a list of "
                                             "rules")
    original = _net("NetReplace", net, call)
    out = net_replace(original, [_pattern_rule(ev, r) if is_pattern(r.args[0]) else
                                 tuple(r.args) for r in items])
    if out is original:     # Wolfram: a message, and the net back unchanged
        ev.message("NetReplace", "norep", "No layer of the net matched; the net is returned "
                                          "unchanged.")
    return out


def _pattern_rule(ev, rule: Expr) -> Callable[[Net], Any]:
    """``lhs -> rhs`` / ``lhs :> rhs`` with a pattern on the left, as Replace applies it:
    the layer's bindings put into the right side, evaluated (a ``:>`` right side is held
    until then); a ``:>`` right side ``new /; cond`` applies only where cond holds."""
    lhs, rhs = rule.args
    delayed = rule.head is S("RuleDelayed")

    def attempt(layer: Net) -> Any:
        for b in ev.matcher._match(lhs, layer, {}):
            body = rhs
            if delayed and isinstance(rhs, Expr) and rhs.head is S("Condition") \
                    and len(rhs.args) == 2:
                if not ev._condition(rhs.args[1], b):
                    continue
                body = rhs.args[0]
            return ev.evaluate(substitute(body, b)) if delayed or b else body
        return None
    return attempt


def part_of_net(net: Net, specs: list[Any]) -> Any:
    """net[[2]], net[[3, "Weights"]], net[["conv"]]: NetExtract with the parts as a path."""
    spec = specs[0] if len(specs) == 1 else Expr(S("List"), *specs)
    return extract(net, spec, "Part")


PART_HOOKS[Net] = part_of_net


@builtin("NetMeasurements", ('NetMeasurements[net, data, "measurement"]',
                             "NetMeasurements[net, data, {m1, m2, ...}]"),
         'measurements of net on data, computed in one vectorised pass: "Loss", "Accuracy", '
         '"ErrorRate", "Precision", "Recall", "F1Score", "ConfusionMatrix", "MeanSquare", '
         '"RSquared", ... or NetPort["port"]', args=3, section="Nets",
         options={"BatchSize": S("Automatic"), "TargetDevice": "CPU",
                  "WorkingPrecision": "Real32"})
def _net_measurements(ev, net, data, spec, *, opts):
    """(BatchSize, TargetDevice and WorkingPrecision are accepted, as Wolfram's: the pass
    is batched in chunks of its own, on the CPU, in float32.)"""
    from ..runtime.train.measure import measure   # imported when first used (start-up)
    data = undataset(data)
    call = Expr(S("NetMeasurements"), net, data, spec)
    return measure(_net("NetMeasurements", net, call), data, spec,
                   shape_only=bool(getattr(ev.host, "shape_only", False)))


@builtin("ClassifierMeasurements", ('ClassifierMeasurements[net, data, "measurement"]',
                                    "ClassifierMeasurements[net, data, {m1, m2, ...}]"),
         'for a net (a classifier with a "Class" decoder): NetMeasurements[net, data, '
         'measurement]', args=3, section="Nets")
def _classifier_measurements(ev, net, data, spec):
    """Wolfram code measures net classifiers with ClassifierMeasurements too; for a net it
    gives the same numbers as NetMeasurements (Classify's own classifiers are not nets)."""
    from ..runtime.train.measure import measure   # imported when first used (start-up)
    data = undataset(data)
    call = Expr(S("ClassifierMeasurements"), net, data, spec)
    return measure(_net("ClassifierMeasurements", net, call), data, spec,
                   shape_only=bool(getattr(ev.host, "shape_only", False)))


@builtin("NetPortGradient", ('net[x, NetPortGradient["Input"]]',
                             'net[x, NetPortGradient[{layer, ..., "Weights"}]]',
                             "net[x, NetPortGradient[All]]",
                             'net[<|"Input" -> x, NetPortGradient["Output"] -> g|>, '
                             'NetPortGradient["Input"]]'),
         "the gradient of the sum of net's outputs (or of their dot product with g) with "
         "respect to an input (per example) or an array (summed over the batch)",
         args=1, section="Nets")
def _net_port_gradient(ev, spec):
    return NOT_APPLICABLE
