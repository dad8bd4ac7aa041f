"""Applying a net to data: ``net[x]``, ``net[batch]``, ``net[<|port -> x|>, NetEvaluationMode -> "Train"]``.

Data arrives batch-first as Wolfram writes it and is turned batch-last for the
executor (see layers/base.py). An input of the port's rank is one example, one
rank more is a batch (a list of examples), as Wolfram's GuessBatchSize.
Evaluation never changes the net: Train mode only changes how outputs are
computed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EvaluationError, ShapeError
from ..expr import (among, Association, Expr, Symbol, input_form, is_integer, is_list, is_rule,
                    list_items, list_length, packed,
                    to_atom, to_ndarray)
from ..graph.container import Container
from ..graph.edit import with_declared_port
from ..graph.inference import infer
from ..graph.states import with_state_ports
from ..layers import base
from ..layers.base import AbstractArray, Layer, Net
from ..layers.coders import NetDecoder, NetEncoder, decoded
from ..layers.combine import MultiInputLayer
from ..layers.shapes import LengthVar, Mismatch, PortType, has_length_var, shape_words, unify_shape
from . import lanes
from .context import Ctx
from .device import check_device, check_precision
from .inner_ports import exposed, inner_port_specs
from .plan import check_finite, compile_plan, missing_array_error
from .port_gradient import abstract_gradients, is_port_gradient, port_gradients, wanted
from .ragged import equal_shape_groups, stacked
from ..printer import short

S = Symbol


@dataclass
class Call:
    """One evaluation request, whatever it came from (the language or Python)."""

    inputs: dict[str, np.ndarray]   # batch-first arrays by port
    batched: bool
    train: bool = False
    port: str | None = None         # one output port, or None for all
    seed: Any = None
    prop: Any = None                # a decoder property: "Probabilities", ...


EVAL_OPTIONS = ("NetEvaluationMode", "BatchSize", "TargetDevice", "WorkingPrecision",
                "RandomSeeding")


# ---------------------------------------------------------------- from the language
def apply_net(net: Net, args: tuple, shape_only: bool = False,
              states: dict[Any, Any] | None = None, sink: dict[Any, Any] | None = None) -> Any:
    """``net[args...]`` in the language; ``shape_only`` (netdsl check): the output's
    dimensions as an AbstractArray, nothing computed. ``states`` (NetStateObject): the
    initial recurrent states by position (one example); ``sink`` receives the final ones."""
    head = net.head_name
    if not net.port_names()[0]:     # NetArrayLayer[...][]: a net without inputs
        first = args[0] if args else None
        if isinstance(first, Association):     # <||>, or output gradients to seed
            if any(not is_port_gradient(k) for k in first.keys()):
                raise EvaluationError(f"The net has no input ports: evaluate it as "
                                      f"{head}[...][] (not with {short(first, 40)}).",
                                      symbol=head, tag="invargc")
        elif first is None or is_rule(first) or isinstance(first, str) or wanted(first) \
                or first is S("None") or _all_states(first):
            args = (Association(()),) + tuple(args)     # only options, a port, a property
        else:
            raise EvaluationError(f"The net has no input ports: evaluate it as {head}[...][] "
                                  f"(not with {short(first, 40)}).", symbol=head,
                                  tag="invargc")
    if not args:
        raise EvaluationError(f"{head} was applied to no input.", symbol=head, tag="invargc")
    data, rest = args[0], args[1:]
    inner = next((a for a in rest if inner_port_specs(a) is not None), None)
    if inner is not None:       # net[x, NetPort[{2, "Output"}]]: values inside the net
        return _inner_values(net, data, inner, [a for a in rest if a is not inner],
                             shape_only, head)
    port, train, seed, prop = None, False, None, None
    gradient: Any = None
    out_grads: dict[str, np.ndarray] = {}
    want_states, initial_states = False, None
    if isinstance(data, Association):   # <|..., NetPort[All, "States"] -> <|...|>|>
        initial_states = next((v for k, v in data.items() if _all_states(k)), None)
        if initial_states is not None:
            data = Association((k, v, False) for k, v in data.items() if not _all_states(k))
    if isinstance(data, Association):   # <|..., NetPortGradient["Output"] -> g|>
        given = [(k, v) for k, v in data.items() if is_port_gradient(k)]
        if given:
            data = Association((k, v, False) for k, v in data.items() if not is_port_gradient(k))
            for k, v in given:
                out_grads[str(k.args[0]) if k.args else ""] = _as_array(v, "gradient", head)
    for a in rest:
        if wanted(a):
            gradient = a
        elif is_rule(a) and not (prop is None and _decoder_property(net, a)):
            # (a rule a decoder reads is a property: "TopDecodings" -> n, below)
            key = a.args[0].name if isinstance(a.args[0], Symbol) else a.args[0]
            value = a.args[1]
            if key == "NetEvaluationMode":
                if not among(value, ("Test", "Train")):
                    raise EvaluationError(f'NetEvaluationMode -> {input_form(value)} should be '
                                          f'"Test" or "Train".', symbol=head, tag="evmode")
                train = value == "Train"
            elif key == "RandomSeeding":
                seed = value
            elif key == "TargetDevice":
                check_device(value, head)
            elif key == "WorkingPrecision":
                check_precision(value, head)
            elif key == "BatchSize":
                pass
            else:
                raise EvaluationError(f"Unknown option {input_form(a.args[0])} for evaluating "
                                      f"a net; known options: {', '.join(EVAL_OPTIONS)}.",
                                      symbol=head, tag="optx")
        elif _all_states(a):
            want_states = True
        elif prop is None and (_decoder_property(net, a) or a is S("None")):
            prop = a        # None: the raw output, not decoded
        elif isinstance(a, str) and port is None:
            port = a
        elif _net_port(a) is not None and port is None:   # NetPort["State"]
            port = _net_port(a)
        elif a is S("All"):
            port = None
        else:
            raise EvaluationError(f"{input_form(a)} is not an output port or an evaluation "
                                  f"option.", symbol=head, tag="badarg")
    if states is not None:
        if want_states or initial_states is not None:
            raise EvaluationError('A NetStateObject keeps its own states: NetPort[All, '
                                  '"States"] cannot be given or asked for.', symbol=head,
                                  tag="badstates")
        initial_states = Association((key_expr(k), v, False) for k, v in states.items())
    if want_states or initial_states is not None:
        return _apply_with_states(net, data, initial_states, want_states,
                                  Call({}, False, train, port, seed, prop), shape_only, head,
                                  sink)
    keys = [k for k, _ in data.items()] if isinstance(data, Association) else []
    net = show_optional_ports(net, keys, port)
    net = _for_positional(net, data)
    raw = raw_inputs(net, data, head)
    net = settle_shapes(net, raw, head)
    inputs, batched = normalise_inputs(net, raw, head)
    if gradient is not None or out_grads:
        if gradient is None:
            raise EvaluationError("Output gradients were given but no NetPortGradient was "
                                  "asked for.", symbol=head, tag="badgrad")
        if shape_only:
            if not net.initialized:
                raise missing_array_error(net, head)
            return abstract_gradients(net, inputs, batched, gradient, head)
        grads = {p: (g if batched else g[None]) for p, g in out_grads.items()}
        return port_gradients(net, inputs, batched, gradient, grads, head)
    call = Call(inputs, batched, train, port, seed, prop)
    if shape_only:
        if not net.initialized:
            raise missing_array_error(net, head)
        _seed(seed, head)          # RandomSeeding -> x: as when run
        return abstract_result(net, call, head)
    outputs = evaluate(net, call, head)
    return to_expression(net, outputs, call)


def _inner_values(net: Net, data: Any, spec: Any, rest: list[Any], shape_only: bool,
                  head: str) -> Any:
    """The values of the inner ports ``spec`` names (runtime/inner_ports.py): one value
    for one NetPort, else an association by NetPort."""
    specs = inner_port_specs(spec)
    assert specs is not None
    graph, names = exposed(net, specs, head)
    outs = apply_net(graph, (data, *rest), shape_only=shape_only)
    values = {out: (outs.get(out) if isinstance(outs, Association) else outs)
              for _, out in names}
    if len(specs) == 1 and not is_list(spec) and spec.args[0] is not S("All"):
        return values[names[0][1]]
    return Association((key, values[out], False) for key, out in names)


def _all_states(a: Any) -> bool:
    """NetPort[All, "States"]: every recurrent state of the net."""
    return isinstance(a, Expr) and a.head is S("NetPort") and len(a.args) == 2 \
        and a.args[0] is S("All") and a.args[1] == "States"


def _state_key(k: Any) -> Any:
    """A state's position as given: {2, "State"}, NetPort[{2, "State"}], "State"."""
    if isinstance(k, Expr) and k.head is S("NetPort") and len(k.args) == 1:
        k = k.args[0]
    if isinstance(k, Expr) and k.head is S("List"):
        return tuple(k.args)
    return k


def states_by_key(given: Association, known: Any, head: str) -> dict[Any, Any]:
    """An association of states by position (NetPort[All, "States"] -> ..., a
    NetStateObject's seed): the values by key, each key one of ``known``."""
    out = {}
    for k, v in given.items():
        key = _state_key(k)
        if key not in known:
            names = ", ".join(input_form(key_expr(x)) for x in known) or "none"
            raise EvaluationError(f"{input_form(k)} is not a recurrent state of the net that "
                                  f"can be set (its states: {names}).", symbol=head,
                                  tag="inpunk")
        out[key] = v
    return out


def _apply_with_states(net: Net, data: Any, initial: Any, want: bool, how: Call,
                       shape_only: bool, head: str, sink: dict[Any, Any] | None = None) -> Any:
    """net[data, NetPort[All, "States"]] (the final states by position) and
    net[<|..., NetPort[All, "States"] -> <|position -> state, ...|>|>] (initial states;
    zeros for those not given). ``sink``: receives the final states (one example)."""
    raw = raw_inputs(net, data, head)
    net = settle_shapes(net, raw, head)
    own, batched = normalise_inputs(net, raw, head)
    if sink is not None and batched:
        raise EvaluationError("A NetStateObject evaluates one example at a time (its states "
                              "are one example's); give one input, not a batch.",
                              symbol=head, tag="stbatch")
    copy, ins, outs = with_state_ports(net)
    given = {}
    if initial is not None:
        if not isinstance(initial, Association):
            raise EvaluationError(f'NetPort[All, "States"] should be given an association of '
                                  f"states by position, not {short(initial, 80)}.",
                                  symbol=head, tag="badstates")
        for key, v in states_by_key(initial, ins, head).items():
            given[ins[key]] = _as_array(v, ins[key], head)
    n = len(next(iter(own.values())))
    for p in ins.values():
        if p not in given:
            shape = copy.ports[p].shape or ()
            given[p] = np.zeros(((n,) if batched else ()) + tuple(shape), np.float32)
    inputs, _ = normalise_inputs(copy, {**raw, **given}, head)
    call = Call(inputs, batched, how.train, None, how.seed, how.prop)
    if shape_only:
        if not copy.initialized:
            raise missing_array_error(copy, head)
        found = abstract_result(copy, call, head)
        values = dict(found.items()) if isinstance(found, Association) else {}
    else:
        outputs = evaluate(copy, call, head)
        values = {p: y for p, y in outputs.items()}
        if sink is not None:
            sink.update({k: values[p][0] for k, p in outs.items()})
    if want:
        return Association((key_expr(k), values[p] if shape_only else
                            _value(values[p], batched), False) for k, p in outs.items())
    if shape_only:
        mine = net.port_names()[1]
        return values[mine[0]] if len(mine) == 1 else Association(
            (p, values[p], False) for p in mine)
    return to_expression(net, {p: values[p] for p in net.port_names()[1]},
                         Call(inputs, batched, how.train, how.port, how.seed, how.prop))


def key_expr(key: Any) -> Any:
    return Expr(S("List"), *key) if isinstance(key, tuple) else key


def _net_port(a: Any) -> str | None:
    """The port named by NetPort["port"], or None."""
    if isinstance(a, Expr) and a.head is S("NetPort") and len(a.args) == 1 \
            and isinstance(a.args[0], str):
        return a.args[0]
    return None


def show_optional_ports(net: Net, keys: Any, port: str | None) -> Net:
    """A net given one of its optional inputs (a recurrent layer's or a fold's initial
    "State") or asked for an optional output (its final "State") shows those ports."""
    if not (net.optional_inputs or net.optional_outputs):
        return net
    ins = tuple(k for k in keys if k in net.optional_inputs)
    outs = (port,) if port in net.optional_outputs else ()
    return net.with_optional_ports(ins, outs) if ins or outs else net


def example_array(x: Any, fill: float = 1.0) -> np.ndarray:
    """One example's numbers; in netdsl check, ``fill`` stands in for an abstract one
    (ones by default: valid class indices for an integer port too)."""
    if isinstance(x, AbstractArray):
        return np.broadcast_to(np.full((), fill, np.float32), x.shape)
    return np.asarray(to_ndarray(x))


def _as_array(x: Any, port: str, head: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, AbstractArray):  # netdsl check: ones stand in (valid class indices too)
        return example_array(x)
    try:
        return np.asarray(to_ndarray(x))
    except TypeError:
        ragged = ragged_array(x, example_array)
        if ragged is not None:
            return ragged
        raise EvaluationError(f'The input given to port "{port}" is not a numeric array: '
                              f"{short(x, 80)}.", symbol=head, tag="netinvin") from None


def ragged_array(items: Any, convert: Any) -> np.ndarray | None:
    """A list of arrays of different shapes (sequences of different lengths): a 1-d object
    array holding one array per example, or None when ``items`` is not such a list."""
    if isinstance(items, Expr):
        if items.head is not S("List") or not items.args:
            return None
        items = items.args
    elif not isinstance(items, (list, tuple)) or not items:
        return None
    try:
        parts = [convert(v) for v in items]
    except (TypeError, ValueError):
        return None
    if any(p.dtype == object or p.ndim == 0 for p in parts):
        return None
    out = np.empty(len(parts), dtype=object)
    for i, p in enumerate(parts):
        out[i] = p
    return out


def _port_array(net: Net, port: str, x: Any, head: str) -> np.ndarray:
    """The data for one input port, through the port's NetEncoder when it has one."""
    coder = net.ports[port].coder
    if isinstance(coder, NetEncoder) and not isinstance(x, (np.ndarray, AbstractArray)):
        return coder.encode(x, port, head)
    if isinstance(coder, NetEncoder) and isinstance(x, np.ndarray) and x.dtype.kind in "iuf" \
            and coder.numeric_labels():
        return coder.encode_numbers(x, port, head)   # a packed list of numeric labels
    return _as_array(x, port, head)


def _decoder_property(net: Net, a: Any) -> bool:
    """Whether ``a`` in net[x, a] asks a decoder for a property ("Probabilities", ...)."""
    return any(isinstance(net.ports[p].coder, NetDecoder) and net.ports[p].coder.is_property(a)
               for p in net.port_names()[1])


def read_inputs(net: Net, data: Any, head: str) -> tuple[dict[str, np.ndarray], bool]:
    """Arrays by input port (batch-first), and whether the data was a batch."""
    return normalise_inputs(net, raw_inputs(net, data, head), head)


def raw_inputs(net: Net, data: Any, head: str) -> dict[str, np.ndarray]:
    """The data by input port, as given (not yet checked against the ports' shapes)."""
    ins = net.port_names()[0]
    if isinstance(data, Association):
        given = {}
        for k, v in data.items():
            if k not in ins:
                raise EvaluationError(f'Unknown input "{k}" provided.', symbol=head,
                                      tag="inpunk")
            given[k] = _port_array(net, k, v, head)
        for p in ins:
            if p not in given:
                raise EvaluationError(f'Required input slot "{p}" was not provided.',
                                      symbol=head, tag="inpmiss")
        raw = given
    elif len(ins) == 1:
        raw = {ins[0]: _port_array(net, ins[0], data, head)}
    elif _positional_inputs(net, data, ins):
        # CatenateLayer[][{{1, 2}, {3, 4, 5}}]: a layer taking several arrays, given as a list
        # (0-d arrays, not NumPy scalars, for the numbers of {1, 2})
        items = [np.asarray(v) for v in data] if isinstance(data, np.ndarray) else data.args
        raw = {p: _port_array(net, p, v, head) for p, v in zip(ins, items)}
    else:
        raise EvaluationError(f"The net has {len(ins)} inputs ({', '.join(ins)}); give them as "
                              f"an association <|\"{ins[0]}\" -> ..., ...|>.", symbol=head,
                              tag="invargc")
    return raw


def _for_positional(net: Net, data: Any) -> Net:
    """A multi-input layer applied alone to a list of k arrays: the layer with k inputs,
    as Wolfram infers the ports from the list (unless their number is fixed)."""
    if not isinstance(net, MultiInputLayer):
        return net
    if isinstance(data, np.ndarray) and data.ndim >= 1:
        return net.for_inputs(data.shape[0])
    if isinstance(data, Expr) and data.head is S("List"):
        return net.for_inputs(len(data.args))
    return net


def _positional_inputs(net: Net, data: Any, ins: tuple) -> bool:
    """A single layer with input ports Input1..InputN applied to a list of N arrays."""
    if not isinstance(net, MultiInputLayer):
        return False
    if isinstance(data, np.ndarray):
        return data.ndim >= 1 and data.shape[0] == len(ins)
    return isinstance(data, Expr) and data.head is S("List") and len(data.args) == len(ins)


# ---------------------------------------------------------------- just-in-time inference
_JIT_CACHE_SIZE = 16


def settle_shapes(net: Net, raw: dict[str, np.ndarray], head: str) -> Net:
    """Wolfram's JITInferNet: a net whose input shapes are still partly open (e.g.
    ``ElementwiseLayer[Ramp]``, or a layer whose arrays were all given) takes them from
    the data. The data is read as one example first, then as a batch; the settled net is
    cached on ``net`` by the data's shapes, so evaluating again does no graph work."""
    ins = net.port_names()[0]
    if all(net.ports[p].known for p in ins) or set(raw) != set(ins):
        return net
    if any(x.size == 0 for x in raw.values()):
        raise EvaluationError("Empty inputs are not permitted.", symbol=head, tag="netemptin")
    key = tuple((p, raw[p].shape, _ragged_tail(raw[p])) for p in ins)
    cache = net.__dict__.setdefault("_jit", {})
    if key in cache:
        return cache[key]
    first_error = None
    for batched in (False, True):
        shapes = {}
        for p in ins:
            x = raw[p]
            shape = x.shape[1:] if batched else x.shape
            if batched and x.ndim == 0:
                break
            if batched and x.dtype == object:   # sequences of different lengths: the
                tail = _ragged_tail(x)          # port's length, the elements' other sizes
                declared = net.ports[p].shape
                if tail is None or not declared:
                    break
                shape = (declared[0],) + tail
            try:
                unify_shape(net.ports[p].shape, shape)
            except Mismatch:
                break
            shapes[p] = shape
        else:
            try:
                new = with_port_types(net, {p: net.ports[p].with_shape(tuple(sh))
                                            for p, sh in shapes.items()
                                            if not net.ports[p].known})
            except ShapeError as e:
                first_error = first_error or e
                continue
            if all(new.ports[p].known for p in ins):
                if len(cache) >= _JIT_CACHE_SIZE:
                    cache.pop(next(iter(cache)))
                cache[key] = new
                return new
    if first_error is not None:
        p = next(p for p in ins if not net.ports[p].known)
        raise EvaluationError(f'The input to port "{p}", {_a(shape_words(raw[p].shape))}, does '
                              f"not fit the net: {first_error.text}", symbol=head,
                              tag="netinvin")
    return net  # normalise_inputs explains what is wrong


def _ragged_tail(x: np.ndarray) -> tuple | None:
    """The sizes after the length shared by every sequence of a batch of different
    lengths (a 1-d object array), or None (a regular array, or sizes that differ)."""
    if x.dtype != object:
        return None
    tails = {np.shape(e)[1:] for e in x}
    return tails.pop() if len(tails) == 1 else None


def with_port_types(net: Net, types: dict[str, PortType]) -> Net:
    """``net`` with those ports declared as ``types`` and every shape inferred again (as
    NetReplacePart[net, "Input" -> shape] does); arrays are kept. Raises ShapeError when
    they do not fit."""
    new = net
    for p, t in types.items():
        new = with_declared_port(new, p, t)
    if isinstance(new, Container):
        return infer(new.reset(), net.head_name)
    assert isinstance(new, Layer)  # a Net is a Container or a Layer
    return new.reset().inferred()


def normalise_inputs(net: Net, raw: dict[str, np.ndarray],
                     head: str) -> tuple[dict[str, np.ndarray], bool]:
    if not raw:         # a net without inputs: one example
        return {}, False
    batched_flags = set()
    out = {}
    for port, x in raw.items():
        t: PortType = net.ports[port]
        x, batched = _fit(x, t, port, head)
        batched_flags.add(batched)
        out[port] = x
    if len(batched_flags) > 1:
        raise EvaluationError("Some inputs are single examples and others are batches.",
                              symbol=head, tag="invargc")
    sizes = {x.shape[0] for x in out.values()}
    if len(sizes) > 1:
        raise EvaluationError(f"The inputs hold different numbers of examples: "
                              f"{sorted(sizes)}.", symbol=head, tag="invargc")
    if 0 in sizes:
        raise EvaluationError("Empty inputs are not permitted.", symbol=head, tag="netemptin")
    check_shared_lengths(net, out, head)
    return out, batched_flags.pop()


def check_shared_lengths(net: Net, arrays: dict[str, np.ndarray], head: str) -> None:
    """Ports whose shapes share one "Varying" length (inputs threaded together; in
    NetTrain, an input and the per-step targets computed from it) must get sequences of
    one length, example by example."""
    by_length: dict[Any, list[str]] = {}
    for port in arrays:
        shape = net.ports[port].shape
        if shape and isinstance(shape[0], LengthVar):
            by_length.setdefault(shape[0], []).append(port)
    for ports in by_length.values():
        first = sequence_lengths(arrays[ports[0]])
        for p in ports[1:]:
            bad = np.flatnonzero(sequence_lengths(arrays[p]) != first)
            if bad.size:
                i = int(bad[0])
                raise EvaluationError(
                    f'Ports "{ports[0]}" and "{p}" share one sequence length, but example '
                    f"{i + 1} gives them sequences of lengths {first[i]} and "
                    f"{sequence_lengths(arrays[p])[i]}.", symbol=head, tag="netseqlen")


def sequence_lengths(x: np.ndarray) -> np.ndarray:
    """Each example's sequence length (batch-first data)."""
    if x.dtype == object:
        return np.fromiter((len(e) for e in x), np.int64, len(x))
    return np.full(len(x), x.shape[1], np.int64)


def _fit(x: np.ndarray, t: PortType, port: str, head: str) -> tuple[np.ndarray, bool]:
    """Batch-first array of the port's element type; one example becomes a batch of one."""
    if t.shape is None or None in t.shape:
        raise EvaluationError(f'The shape of port "{port}" is not known ({t.words()}), so the '
                              f"net cannot be evaluated; give it, e.g. \"{port}\" -> "
                              f"{{...}}.", symbol=head, tag="nfspec")
    r = len(t.shape)
    if has_length_var(t.shape):
        return _fit_sequences(x, t, port, head)
    if x.dtype == object:
        raise EvaluationError(
            f'Input to port "{port}" should be {_a(shape_words(t.shape, t.integer, t.classes))} '
            f"or a list of them, but it is a list of arrays of different dimensions.",
            symbol=head, tag="netinvin")
    if x.ndim == r and x.shape == t.shape:
        batched, x = False, x[None]
    elif x.ndim == r + 1 and x.shape[1:] == t.shape:
        batched = True
    else:
        raise EvaluationError(
            f'Input to port "{port}" should be {_a(shape_words(t.shape, t.integer, t.classes))} '
            f"or a list of them, but it is {_a(shape_words(x.shape))}.", symbol=head,
            tag="netinvin")
    return _element_type(x, t, port, head), batched


def _fits_sequence(shape: tuple, t: PortType) -> bool:
    """An array of ``shape`` is one sequence for a port of type ``t`` (length first)."""
    assert t.shape is not None
    return len(shape) == len(t.shape) and shape[0] >= 1 and all(
        d == e or not isinstance(e, int) for d, e in zip(shape, t.shape))


def _fit_sequences(x: np.ndarray, t: PortType, port: str, head: str) -> tuple[np.ndarray, bool]:
    """One sequence, a batch of equal-length ones (a regular array), or a batch of
    sequences of different lengths (a 1-d object array of per-example arrays)."""
    if _empty_sequence(x, len(t.shape or ())):
        raise EvaluationError(f'A sequence was provided that was less than the minimum '
                              f'required length (1) at port "{port}".', symbol=head,
                              tag="netseqlen")
    if x.dtype == object:
        if not all(_fits_sequence(e.shape, t) for e in x):
            bad = next(e for e in x if not _fits_sequence(e.shape, t))
            raise EvaluationError(
                f'Input to port "{port}" should be a list of sequences, each '
                f"{_a(shape_words(t.shape, t.integer, t.classes))}, but one is "
                f"{_a(shape_words(bad.shape))}.", symbol=head, tag="netinvin")
        out = np.empty(len(x), dtype=object)
        for i, e in enumerate(x):
            out[i] = _element_type(e, t, port, head)
        return out, True
    if _fits_sequence(x.shape, t):
        return _element_type(x[None], t, port, head), False
    if x.ndim == len(t.shape or ()) + 1 and _fits_sequence(x.shape[1:], t):
        return _element_type(x, t, port, head), True
    raise EvaluationError(
        f'Input to port "{port}" should be {_a(shape_words(t.shape, t.integer, t.classes))} '
        f"or a list of them, but it is {_a(shape_words(x.shape))}.", symbol=head,
        tag="netinvin")


def _empty_sequence(x: np.ndarray, rank: int) -> bool:
    """Whether the data (one sequence or a batch) holds a sequence of length 0."""
    if x.dtype == object:
        return any(np.ndim(e) == rank and len(e) == 0 for e in x)
    return x.ndim in (rank, rank + 1) and x.shape[x.ndim - rank] == 0


def _element_type(x: np.ndarray, t: PortType, port: str, head: str) -> np.ndarray:
    """``x`` as int64 class indices or float32 reals, as the port wants."""
    if t.integer:
        if x.dtype.kind not in "iub":
            if x.dtype.kind != "f" or not np.isfinite(x).all() \
                    or not np.all(np.equal(np.mod(x, 1), 0)):
                raise EvaluationError(f'Input to port "{port}" should be integers.',
                                      symbol=head, tag="netinvin")
        x = x.astype(np.int64)
        if t.classes is not None and ((x < 1) | (x > t.classes)).any():
            raise EvaluationError(f'Input to port "{port}" should be class indices between 1 '
                                  f"and {t.classes}.", symbol=head, tag="netinvin")
    else:
        if x.dtype.kind not in "iuf":
            raise EvaluationError(f'Input to port "{port}" is not numeric.', symbol=head,
                                  tag="netinvin")
        x = x.astype(np.float32, copy=False)
    return x


# ---------------------------------------------------------------- running
def evaluate(net: Net, call: Call, head: str) -> dict[str, np.ndarray]:
    """Batch-first outputs by port. Sequences of different lengths are run in groups of
    equal lengths (so no padding can leak into a result) and put back in order; an output
    whose examples differ in shape is a 1-d object array of per-example arrays."""
    if not any(x.dtype == object for x in call.inputs.values()):
        return _evaluate(net, call, head)
    n = len(next(iter(call.inputs.values())))
    results: dict[str, list[Any]] = {}
    for idx in equal_shape_groups(call.inputs, n):
        sub = {p: stacked(x, idx) for p, x in call.inputs.items()}
        part = _evaluate(net, Call(sub, True, call.train, call.port, call.seed), head)
        for p, y in part.items():
            slot = results.setdefault(p, [None] * n)
            for j, i in enumerate(idx):
                slot[i] = y[j]
    out = {}
    for p, ys in results.items():
        if len({y.shape for y in ys}) == 1:
            out[p] = np.stack(ys)
        else:
            arr = np.empty(n, dtype=object)
            for i, y in enumerate(ys):
                arr[i] = y
            out[p] = arr
    return out


def _evaluate(net: Net, call: Call, head: str) -> dict[str, np.ndarray]:
    # a net whose layers all compute the same in both modes runs its (faster) Test plan
    train = call.train and _trains_differently(net)
    plan = compile_plan(net, head, mode="train" if train else "test")
    ctx, lock = plan.context(train=train, seed=_seed(call.seed, head))
    try:
        outputs = lanes.run(plan, ctx, call.inputs, owned=lock is not None, batch_first=True)
    finally:
        if lock is not None:
            lock.release()
    check_finite(plan, Ctx(train=train, seed=0), call.inputs, outputs, net, head)
    return outputs


def _trains_differently(net: Net) -> bool:
    """Whether some layer computes differently in Train mode (cached on the net value); an
    operator may too (AttentionLayer[net]'s "Dropout")."""
    known = net.__dict__.get("_train_behavior")
    if known is None:
        known = net.__dict__["_train_behavior"] = any(
            layer.has_train_behavior for _, layer in net.leaves()) or any(
            getattr(c, "has_train_behavior", False) for c in _containers(net))
    return known


def _containers(net: Net):
    if isinstance(net, Container):
        yield net
        for _, sub in net.layers():
            yield from _containers(sub)


def _seed(seed: Any, head: str) -> int | None:
    """RandomSeeding -> n | "string" | Automatic for Train-mode randomness (Dropout)."""
    if seed is None or seed is S("Automatic") or seed is S("Inherited"):
        return None
    if is_integer(seed):
        return abs(seed)
    if isinstance(seed, str):
        return zlib.crc32(seed.encode())
    raise EvaluationError(f"Value of option RandomSeeding -> {input_form(seed)} is not "
                          f"Automatic, an integer, or a string.", symbol=head, tag="seeding")


def to_expression(net: Net, outputs: dict[str, np.ndarray], call: Call) -> Any:
    outs = net.port_names()[1]
    if call.port is not None:
        if call.port not in outputs:
            raise EvaluationError(f'The net has no output port "{call.port}"; its outputs are '
                                  f"{', '.join(outs)}.", symbol=net.head_name, tag="noport")
        return _decoded(net, call.port, outputs[call.port], call)
    if len(outs) == 1:
        return _decoded(net, outs[0], outputs[outs[0]], call)
    return Association((p, _decoded(net, p, outputs[p], call), False) for p in outs)


def _decoded(net: Net, port: str, y: np.ndarray, call: Call) -> Any:
    """An output through its port's NetDecoder (labels), or the plain array."""
    coder = net.ports[port].coder
    if isinstance(coder, NetDecoder) and call.prop is not S("None"):
        return decoded(coder, y, call.batched, call.prop or "Decision", net.head_name,
                       _seed(call.seed, net.head_name))
    return _value(y, call.batched)


def _value(y: np.ndarray, batched: bool) -> Any:
    if y.dtype == object:    # sequences of different lengths
        return Expr(S("List"), *(_value(e[None], False) for e in y)) if batched \
            else _value(y[0][None], False)
    y = y if batched else y[0]
    if y.ndim == 0:
        return to_atom(y.item())
    return packed(y)


# ---------------------------------------------------------------- from Python
def call_from_python(net: Net, data: Any, evaluation_mode: str = "Test",
                     port: str | None = None) -> Any:
    """``net(x)``: NumPy in, NumPy out; a dict of arrays for several inputs or outputs."""
    if type(evaluation_mode) is not str:      # net(x1, x2): several inputs go in a dict
        raise EvaluationError(f'evaluation_mode must be "Test" or "Train", not a '
                              f"{type(evaluation_mode).__name__}; give several inputs as a "
                              f'dict, net({{"Input1": x1, "Input2": x2}}).',
                              symbol=net.head_name, tag="evmode")
    if type(data) is np.ndarray and port is None and evaluation_mode == "Test":
        known = net.__dict__.get("_fast_call")
        if known is not None and known.shape == data.shape and known.dtype == data.dtype:
            return known.run(data)
    head = net.head_name
    if evaluation_mode not in ("Test", "Train"):
        raise EvaluationError(f'evaluation_mode must be "Test" or "Train", not '
                              f"{evaluation_mode!r}.", symbol=head, tag="evmode")
    original = net
    net = show_optional_ports(net, list(data) if isinstance(data, dict) else [], port)
    ins = net.port_names()[0]
    if isinstance(data, dict):
        raw = {k: _py_input(net, k, v, head) for k, v in data.items()}
        unknown = set(raw) - set(ins)
        if unknown:
            raise EvaluationError(f'Unknown input "{sorted(unknown)[0]}" provided.', symbol=head,
                                  tag="inpunk")
        missing = [p for p in ins if p not in raw]
        if missing:
            raise EvaluationError(f'Required input slot "{missing[0]}" was not provided.',
                                  symbol=head, tag="inpmiss")
    elif len(ins) == 1:
        raw = {ins[0]: _py_input(net, ins[0], data, head)}
    else:
        raise EvaluationError(f"The net has inputs {', '.join(ins)}: pass a dict.",
                              symbol=head, tag="invargc")
    net = settle_shapes(net, raw, head)
    inputs, batched = normalise_inputs(net, raw, head)
    call = Call(inputs, batched, evaluation_mode == "Train", port)
    outputs = evaluate(net, call, head)
    outs = net.port_names()[1]
    if type(data) is np.ndarray and port is None and evaluation_mode == "Test":
        _remember_fast_call(original, net, data, batched)

    def value(y: np.ndarray) -> Any:
        if y.dtype == object:
            return [value_of(e) for e in y] if batched else value_of(y[0])
        return value_of(y if batched else y[0])

    def value_of(y: np.ndarray) -> Any:
        if any(np.may_share_memory(y, x) for x in raw.values()):
            y = y.copy()  # an identity-like net (Dropout in Test mode) must not alias the input
        return y if y.ndim else float(y)
    if port is not None:
        if port not in outputs:
            raise EvaluationError(f'The net has no output port "{port}".', symbol=head,
                                  tag="noport")
        return value(outputs[port])
    if len(outs) == 1:
        return value(outputs[outs[0]])
    return {p: value(outputs[p]) for p in outs}


class _FastCall:
    """``net(x)`` again with an array of the shape and dtype of one that was evaluated
    fine (Test mode, one regular real input, one output): what the first call worked
    out (the settled net, whether x is a batch, the plan) is kept, so the call only
    runs the plan. Everything skipped depends on the shape and dtype alone: checks of
    the data against the port, shape settling, conversion (the dtype is already the
    port's float32). Issue 14: at batch 1 that work cost as much as a conv step."""

    __slots__ = ("shape", "dtype", "net", "batched", "port", "out", "plan", "one", "example",
                 "ctx")

    def __init__(self, net: Net, data: np.ndarray, batched: bool):
        self.shape, self.dtype, self.net, self.batched = data.shape, data.dtype, net, batched
        self.port = net.port_names()[0][0]
        self.out = net.port_names()[1][0]
        self.plan = compile_plan(net, net.head_name, mode="test")
        # Test mode keeps nothing in a Ctx across calls: one, with the plan's scratch
        # buffers, is reused whenever the plan's lock is free (as plan.context would give)
        self.ctx = Ctx(scratch=self.plan.scratch)
        # one example: batch-last and batch-first are reshapes (the batch axis has size 1)
        self.one = not batched or data.shape[0] == 1
        self.example = data.shape[1:] if batched else data.shape

    def run(self, data: np.ndarray) -> Any:
        plan = self.plan
        lock: Any = plan.lock
        if lock.acquire(blocking=False):
            ctx = self.ctx
        else:
            ctx, lock = Ctx(), None
        # one example: batch-last is a reshape; more: the lanes convert (lanes.run)
        x = np.ascontiguousarray(data).reshape(self.example + (1,)) if self.one else data
        try:
            outputs = lanes.run(plan, ctx, {self.port: x}, owned=lock is not None,
                                batch_first=not self.one)
        finally:
            if lock is not None:
                lock.release()
        y = outputs[self.out]
        if self.one:
            y = np.ascontiguousarray(y).reshape(((1,) if self.batched else ()) + y.shape[:-1])
        if not np.isfinite(y).all():
            check_finite(plan, Ctx(seed=0), {self.port: x.reshape((1,) + self.example)
                                            if self.one else data}, {self.out: y}, self.net,
                         self.net.head_name)
        if np.may_share_memory(y, data):
            y = y.copy()  # an identity-like net (Dropout in Test mode) must not alias the input
        return y if y.ndim else float(y)


def _remember_fast_call(original: Net, net: Net, data: np.ndarray, batched: bool) -> None:
    """Keep a ``_FastCall`` on ``original`` when ``net(data)`` qualifies for one."""
    ins, outs = net.port_names()
    if len(ins) != 1 or len(outs) != 1 or original.port_names() != (ins, outs) \
            or data.dtype != np.float32:
        return
    t = net.ports[ins[0]]
    if t.integer or t.coder is not None or t.shape is None or has_length_var(t.shape) \
            or net.ports[outs[0]].coder is not None:
        return
    original.__dict__["_fast_call"] = _FastCall(net, data, batched)


def _py_array(x: Any) -> np.ndarray:
    """NumPy data from Python; a list of arrays of different lengths stays a list."""
    if isinstance(x, np.ndarray) and x.dtype != object:
        return x
    try:     # (an object array of numbers is numbers; of arrays, examples of other shapes)
        arr = np.asarray(x.tolist() if isinstance(x, np.ndarray) else x)
    except (ValueError, TypeError, OverflowError):
        arr = np.empty(0, dtype=object)
    if arr.dtype != object:
        return arr
    try:
        items = list(x)
    except TypeError:       # None, an integer too big for any array type
        items = None
    ragged = ragged_array(items, np.asarray) if items is not None else None
    if ragged is None:
        raise EvaluationError("The input is not a numeric array or a list of them.",
                              symbol="Net", tag="netinvin")
    return ragged


def _py_input(net: Net, port: str, x: Any, head: str) -> np.ndarray:
    """A Python input; labels, strings or booleans go through the port's NetEncoder."""
    t = net.ports.get(port)
    coder = t.coder if t is not None else None
    if isinstance(coder, NetEncoder):
        try:
            kind = np.asarray(x).dtype.kind
        except ValueError:          # sequences of different lengths: not labels
            kind = "f"
        if kind not in "iuf":   # numbers are already encoded (bool is not)
            return coder.encode(x, port, head)
        if coder.numeric_labels():   # ... unless they are the labels themselves
            return coder.encode_numbers(np.asarray(x), port, head)
    return _py_array(x)


# ---------------------------------------------------------------- netdsl check
def abstract_result(net: Net, call: Call, head: str) -> Any:
    n = next(iter(call.inputs.values())).shape[0] if call.inputs else 1   # (no inputs: one)
    lengths = {}   # a "Varying" length the data fixes (one length for the whole batch)
    for p, x in call.inputs.items():
        shape = net.ports[p].shape
        if shape and has_length_var(shape) and x.dtype != object:
            lengths[shape[0]] = x.shape[1]

    def one(port: str) -> AbstractArray:
        dims = tuple(lengths.get(d, d) for d in net.ports[port].shape or ())
        coder = net.ports[port].coder
        if isinstance(coder, NetDecoder) and call.prop is not S("None"):
            dims = _decoded_dims(coder, dims, call.prop or "Decision", head, call.batched)
        return AbstractArray(((n,) if call.batched else ()) + dims)

    outs = net.port_names()[1]
    if call.port is not None:
        if call.port not in outs:     # as to_expression's check when run
            raise EvaluationError(f'The net has no output port "{call.port}"; its outputs are '
                                  f"{', '.join(outs)}.", symbol=net.head_name, tag="noport")
        return one(call.port)
    if len(outs) == 1:
        return one(outs[0])
    return Association((p, one(p), False) for p in outs)


PROBE_LIMIT = 1 << 16   # elements of the stand-in output a decoder reads in netdsl check


def _decoded_dims(dec: NetDecoder, dims: tuple, prop: Any, head: str,
                  batched: bool = False) -> tuple:
    """netdsl check: the dimensions of one decoded example (a label: none; "InputDepth":
    the levels mapped over; a CTC decoding: a length of its own; an association, alone,
    its length, as Dimensions counts it). The decoder reads a stand-in of uniform
    probabilities, so a property it lacks fails as when run."""
    probe = tuple(d if isinstance(d, int) else 1 for d in dims)
    if 0 in probe or int(np.prod(probe)) > PROBE_LIMIT:
        return tuple(dims[:dec.mapped])
    y = np.full((1,) + probe, 1.0 / (probe[-1] if probe else 2), np.float32)
    value = dec.decode(y, prop, head, 0)[0]
    if dec.kind == "CTCBeamSearch":   # a decoding, or a list of them (or of rules)
        nested = is_list(value) and list_length(value) and is_list(list_items(value)[0])
        return (LengthVar(), LengthVar()) if nested else (LengthVar(),) if is_list(value) \
            else ()
    shape: list[Any] = []
    while is_list(value) and list_length(value):
        shape.append(list_length(value))
        value = list_items(value)[0]
    if isinstance(value, Association) and not (batched or shape):   # "Probabilities"
        shape.append(len(value))
    return tuple(dims[:dec.mapped]) + tuple(shape[dec.mapped:])


def _a(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words





base.RUNTIME["call"] = call_from_python   # net(x) from Python (see layers/base.py)
