"""A net from its netdsl text without the evaluator: what a file's description may do.

A net file's metadata is netdsl text (``NetChain[{...}, "Input" -> ...]``). It comes
from a file, so it is not run as a program: only net constructors are *built* here
(layer heads, NetChain, NetGraph, with lists, associations and rules as their
arguments); every other expression (NetPort, NetSharedArray, a pure function, a symbol)
stays inert data that the layer and container declarations check. Nothing in the text
can assign, print, read or write files, or evaluate arbitrary code.
"""

from __future__ import annotations

from typing import Any

from ..errors import EvaluationError, NetDSLError, ParseError
from ..expr import Association, Expr, Symbol, is_rule
from ..graph.build import build_chain, build_graph
from ..graph.operators import build_operator, is_operator_expr
from ..layers.base import Net
from ..layers.registry import LAYER_TYPES
from ..printer import short
from ..syntax import parse_statements

S = Symbol
MAX_TEXT = 16 * 2 ** 20      # a description longer than this is not a net's architecture


def net_from_text(text: str, where: str, symbol: str = "Import") -> Net:
    """The net described by ``text``; a netdsl error naming ``where`` if it is not one."""
    if len(text) > MAX_TEXT:
        raise _bad(where, f"its net description is {len(text):,} characters long", symbol)
    try:
        statements = parse_statements(text, where)
    except ParseError as e:
        raise _bad(where, f"its net description is not valid netdsl text ({e.text})",
                   symbol) from None
    except RecursionError:
        raise _bad(where, "its net description is nested too deeply", symbol) from None
    if len(statements) != 1:
        raise _bad(where, f"its net description has {len(statements)} expressions, not one",
                   symbol)
    try:
        net = build(statements[0][0])
    except RecursionError:
        raise _bad(where, "its net description is nested too deeply", symbol) from None
    except NetDSLError as e:
        raise _bad(where, f"its net description does not build a net: "
                          f"{e.symbol}::{e.tag}: {e.text}", symbol) from None
    if not isinstance(net, Net):
        raise _bad(where, f"its net description is {short(net)}, not a net", symbol)
    return net


def build(e: Any) -> Any:
    """Build the net constructors in ``e`` bottom-up; everything else stays as written."""
    if not isinstance(e, Expr):
        return e
    head = e.head
    if head is S("List"):
        return Expr(S("List"), *[build(a) for a in e.args])
    if head is S("Association"):
        rules = []
        for r in e.args:
            if not is_rule(r):
                raise EvaluationError(f"{short(r)} in an association is not a rule.",
                                      symbol="Association", tag="invrl")
            rules.append((build(r.args[0]), build(r.args[1]), False))
        return Association(rules)
    if head is S("Rule"):
        return Expr(S("Rule"), *[build(a) for a in e.args])
    if not isinstance(head, Symbol):
        return e
    if head.name in LAYER_TYPES:
        args = tuple(build(a) for a in e.args)
        return LAYER_TYPES[head.name].build(args, e)
    if head.name in ("NetChain", "NetGraph"):
        built = [build(a) for a in e.args]
        need = 1 if head.name == "NetChain" else 2
        if len(built) < need:
            raise EvaluationError(f"{short(e)} has too few arguments.", symbol=head.name,
                                  tag="argx")
        opts = _options(built[need:], head.name)
        if head.name == "NetChain":
            return build_chain(built[0], opts, "NetChain")
        return build_graph(built[0], built[1], opts, "NetGraph")
    if head.name == "NetGANOperator":     # graph/gan.py
        from ..graph.gan import build_gan
        built = [build(a) for a in e.args]
        return build_gan(tuple(a for a in built if not is_rule(a)),
                         _options([a for a in built if is_rule(a)], head.name))
    if is_operator_expr(e):
        built = [build(a) for a in e.args]
        positional = tuple(a for a in built if not is_rule(a))
        opts = _options([a for a in built if is_rule(a)], head.name)
        return build_operator(head.name, positional, opts)
    return e   # inert: NetPort, NetSharedArray, Function, Restricted, symbols, ...


def _options(rules: list, head: str) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for r in rules:
        key = r.args[0] if is_rule(r) else None
        name = key.name if isinstance(key, Symbol) else key
        if not isinstance(name, str):
            raise EvaluationError(f"{short(r)} is not a port option.", symbol=head, tag="argx")
        opts[name] = r.args[1]
    return opts


def _bad(where: str, why: str, symbol: str) -> EvaluationError:
    return EvaluationError(f"{where} is not a valid netdsl net file: {why}.", symbol=symbol,
                           tag="fmterr")


