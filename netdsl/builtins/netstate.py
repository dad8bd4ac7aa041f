"""NetStateObject: a net that keeps its recurrent states from one evaluation to the next.

Wolfram's ``NetStateObject[net]`` (zeros to start) or ``NetStateObject[net, seed]`` (an
association of initial states by position, as ``NetPort[All, "States"]`` keys them:
``{2, "State"}``, ``{"lstm", "CellState"}``). ``obj[data]`` evaluates the net from the
stored states and stores the final ones, so the same input can give a different result
the next time (generation one element at a time). ``NetExtract[obj, "States"]`` gives the
stored states, ``Normal[obj]`` the net. States fed by another layer of a NetGraph are not
stored (they are not settable). Messages are Wolfram's (NeuralNetworks paclet): "arg1"
(not a net), "nostate" (no recurrent state), "arg2" (a seed that is not Automatic or an
association); the net must be initialised, as Wolfram's.

The object is mutable, like Wolfram's: every copy of it (another variable) sees the same
states. It evaluates one example at a time (its states are one example's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Association, Opaque, Symbol, input_form, packed, to_ndarray
from ..graph.states import with_state_ports
from ..layers.base import Net
from ..printer import short
from ..runtime.apply import apply_net, key_expr, states_by_key
from ..runtime.plan import missing_array_error
from .nets import EXTRACT_HOOKS
from .registry import applier, builtin

S = Symbol
HEAD = "NetStateObject"


class NetStateObject(Opaque):
    """A net with its stored states, by position key (a tuple or a port name)."""

    head_name = HEAD

    def __init__(self, net: Net, states: dict[Any, np.ndarray]):
        self.net = net
        self.states = states
        self.evaluations = 0

    def normal(self) -> Net:
        return self.net

    def states_expr(self) -> Association:
        return Association((key_expr(k), packed(v), False) for k, v in self.states.items())

    def input_form(self) -> str:
        return f"{HEAD}[{self.net.input_form()}, {input_form(self.states_expr())}]"

    def output_form(self) -> str:
        n = len(self.states)
        return (f"{HEAD}[{self.net.short_form()}, <{n} stored state{'s' if n != 1 else ''}, "
                f"{self.evaluations} evaluation{'s' if self.evaluations != 1 else ''}>]")


@builtin(HEAD, ("NetStateObject[net]", "NetStateObject[net, <|position -> state, ...|>]"),
         "net keeping its recurrent states between evaluations (zeros, or the seed given)",
         args=(1, 2), section="Nets")
def _net_state_object(ev, net, seed=None):
    if not isinstance(net, Net):
        raise EvaluationError("First argument to NetStateObject should be a valid net.",
                              symbol=HEAD, tag="arg1")
    if not net.initialized:
        raise missing_array_error(net, HEAD)
    _, ins, _ = with_state_ports(net)
    if not ins:
        raise EvaluationError("Cannot create a NetStateObject for a net that has no recurrent "
                              "state (no recurrent layer, or every state is fed by another "
                              "layer of the graph).", symbol=HEAD, tag="nostate")
    shapes = {}
    for k in ins:
        shape = _shape_of(net, k)
        if shape is None or not all(isinstance(d, int) for d in shape):
            raise EvaluationError(f"The state {input_form(key_expr(k))} of the net has no "
                                  f"fixed size yet; give the net's input shape.",
                                  symbol=HEAD, tag="nostate")
        shapes[k] = shape
    states = {k: np.zeros(shape, np.float32) for k, shape in shapes.items()}
    if seed is not None and seed is not S("Automatic"):
        if not isinstance(seed, Association):
            raise EvaluationError(f"Second argument to NetStateObject should be Automatic or "
                                  f"an association of initial states, not {short(seed, 80)}.",
                                  symbol=HEAD, tag="arg2")
        for key, v in states_by_key(seed, states, HEAD).items():
            k = key_expr(key)
            try:
                value = np.asarray(v if isinstance(v, np.ndarray) else to_ndarray(v), np.float32)
            except (TypeError, ValueError):
                value = None
            if value is None or value.shape != states[key].shape:
                raise EvaluationError(f"The state {input_form(k)} should be an array of "
                                      f"dimensions {list(states[key].shape)}, not "
                                      f"{short(v, 80)}.", symbol=HEAD, tag="badstates")
            states[key] = value
    return NetStateObject(net, states)


def _shape_of(net: Net, key: Any) -> tuple | None:
    copy, ins, _ = with_state_ports(net)
    t = copy.ports[ins[key]]
    return None if t.shape is None else tuple(t.shape)


@applier(NetStateObject)
def _apply(ev, obj, args):
    """obj[data, ...]: the net from the stored states; the final states stored."""
    shape_only = bool(getattr(ev.host, "shape_only", False))
    found: dict[Any, Any] = {}
    result = apply_net(obj.net, args, shape_only=shape_only, states=dict(obj.states),
                       sink=found)
    obj.states.update({k: np.asarray(v, np.float32) for k, v in found.items()})
    obj.evaluations += 1
    return result


def _extract(obj: NetStateObject, spec: Any) -> Any:
    if spec == "States":
        return obj.states_expr()
    if spec == "Net":
        return obj.net
    raise EvaluationError(f'{input_form(spec)} is not a part of a NetStateObject; give "States" '
                          f'or "Net".', symbol="NetExtract", tag="nopart")


EXTRACT_HOOKS[NetStateObject] = _extract
