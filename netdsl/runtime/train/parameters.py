"""Learned arrays during training: one flat float32 buffer, and learning-rate multipliers.

The optimiser updates the buffer with a few vector operations; every plan step reads
views of it, so an update is seen at once. Auxiliary arrays (moving statistics) live
beside it, untouched by the optimiser.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...expr import (Association, Expr, Symbol, input_form, is_integer, is_list, is_number,
                     is_rule, list_items, make_list)
from ...graph.container import Container, replace_leaves
from ...patterns import Matcher, is_pattern
from ...layers.arrays import SharedRef
from ...layers.base import Layer, Net, multiplier_for
from ..initialize import few_collections
from .. import forked
from ..steps import Plan, Step
from .common import error

S = Symbol


class Parameters:
    """Learned arrays in one flat buffer; auxiliary arrays (moving statistics) beside it."""

    def __init__(self, plan: Plan, multipliers: dict[tuple, float], dtype=np.float32):
        """``dtype`` float64 is for gradient checks; training uses float32."""
        self.multipliers = multipliers   # by array key, moving statistics included
        self.offsets: dict[tuple, tuple[int, tuple]] = {}
        self.aux: dict[tuple, np.ndarray] = {}
        chunks: list[np.ndarray] = []
        scales: list[np.ndarray] = []
        n = 0
        for step in plan.steps:
            aux_names = {a.name for a in step.layer.array_specs if a.aux}
            for name, arr in step.arrays.items():
                key = step.keys[name]
                if name in aux_names:
                    self.aux.setdefault(key, np.array(arr, dtype=dtype))
                    continue
                if key in self.offsets:
                    continue
                self.offsets[key] = (n, arr.shape)
                chunks.append(np.asarray(arr, dtype).ravel())
                scales.append(np.full(arr.size, multipliers.get(key, 1.0), dtype))
                n += arr.size
        # shared memory where training lanes may run in forked workers, which read it
        self.flat = forked.shared_copy(np.concatenate(chunks) if chunks else np.zeros(0, dtype))
        self.grad = np.zeros_like(self.flat)
        self.forked: forked.Forked | forked.NoWorkers | None = None   # their workers (forked.py)
        scale = np.concatenate(scales) if scales else np.zeros(0, dtype)
        self.scale = None if np.all(scale == 1) else scale
        self.frozen_all = bool(self.flat.size == 0 or (self.scale is not None
                                                       and not self.scale.any()))
        # every step reads views of the buffer, so optimiser updates are seen at once
        self.steps = []
        for step in plan.steps:
            arrays = {}
            for name in step.arrays:
                key = step.keys[name]
                arrays[name] = self.aux[key] if key in self.aux else self.view(key)
            self.steps.append(Step(step.layer, arrays, step.ins, step.outs, step.path,
                                   step.keys, step.frees))

    def close(self) -> None:
        """End the training run's worker processes, if any (forked.py)."""
        if self.forked is not None:
            self.forked.close()
            self.forked = None

    def view(self, key: tuple) -> np.ndarray:
        off, shape = self.offsets[key]
        return self.flat[off:off + math.prod(shape)].reshape(shape)

    def add_grad(self, key: tuple, g: np.ndarray) -> None:
        self.add_grad_into(self.grad, key, g)

    def add_grad_into(self, buf: np.ndarray, key: tuple, g: np.ndarray) -> None:
        """Add an array's gradient into ``buf`` (``grad``, or a lane's buffer like it)."""
        if key not in self.offsets:
            return
        off, shape = self.offsets[key]
        size = math.prod(shape)
        buf[off:off + size] += g.reshape(-1)

    def lane_grads(self, k: int) -> list[np.ndarray]:
        """Zeroed gradient buffers for lanes 1..k-1 (kept from one step to the next)."""
        kept = self.__dict__.setdefault("_lane_grads", [])
        while len(kept) < k - 1:
            kept.append(np.zeros_like(self.grad))
        for buf in kept[:k - 1]:
            buf[...] = 0
        return kept[:k - 1]

    def by_position(self, net: Net, buf: np.ndarray, prefix: tuple = ()) -> Association:
        """The learned arrays of ``net`` (its positions as keys) read from ``buf``: the
        weights (``flat``) or the last batch's gradient (``grad``), as copies."""
        rules = []
        for key, pos in array_positions(net, prefix):
            if key in self.offsets:
                off, shape = self.offsets[key]
                rules.append((pos, buf[off:off + math.prod(shape)].reshape(shape).copy(), False))
        return Association(rules)

    def snapshot(self) -> tuple[np.ndarray, dict[tuple, np.ndarray]]:
        return self.flat.copy(), {k: v.copy() for k, v in self.aux.items()}

    def restore(self, snap) -> None:
        flat, aux = snap
        self.flat[...] = flat
        for k, v in aux.items():
            self.aux[k][...] = v

    def write_back(self, net: Net) -> Net:
        """A new net holding the trained values (frozen copies)."""
        def frozen(a):
            a = np.array(a, dtype=np.float32)
            a.flags.writeable = False
            return a
        with few_collections():
            return self._write_back(net, frozen)

    def _write_back(self, net: Net, frozen) -> Net:
        new_leaves = {}
        shared = dict(net.shared)
        for path, layer in net.leaves():
            arrays = dict(layer.arrays)
            for spec in layer.array_specs:
                v = arrays.get(spec.name)
                key: tuple = ("shared", v.name) if isinstance(v, SharedRef) else (path, spec.name)
                if isinstance(v, SharedRef):
                    if key in self.offsets:
                        shared[v.name] = frozen(self.view(key))
                    continue
                if key in self.offsets:
                    arrays[spec.name] = frozen(self.view(key))
                elif key in self.aux:
                    arrays[spec.name] = frozen(self.aux[key])
            new_leaves[path] = layer.evolve(arrays=arrays)
        return replace_leaves(net, new_leaves).evolve(shared=shared)


def read_multipliers(spec: Any, tnet: Net) -> dict[tuple, float]:
    """Per-array learning-rate multipliers: the layers' own option, then NetTrain's
    LearningRateMultipliers -> {layer -> m, {layer, "array"} -> m, All -> m} or a number."""
    out: dict[tuple, float] = {}
    all_keys = _array_keys(tnet)
    for path, array, key, specs in all_keys:
        for given, base in specs:   # the layer's own first, then its containers' outwards
            m = _spec_value(given, path[len(base):], array, tnet)
            if m is not None:
                out[key] = m
                break
    if spec is S("Automatic") or spec is None:
        return out
    out.update(rule_values(spec, tnet, "LearningRateMultipliers", "lrmult", none=0.0))
    return out


def multipliers_by_position(net: Net, spec: Any) -> Association:
    """Every array's learning-rate multiplier by its position ({2, "Weights"},
    NetSharedArray["w"]), as Information and NetTrain's results give them: the net's own
    options, then NetTrain's ``spec``; 1 where nothing says otherwise."""
    given = read_multipliers(spec, net)
    rules = []
    for key, pos in array_positions(net):
        m = given.get(key, 1.0)
        rules.append((pos, int(m) if m == int(m) else m, False))
    return Association(rules)


def array_positions(net: Net, prefix: tuple = ()):
    """(the training key, the position as Wolfram writes it: {2, "Weights"},
    NetSharedArray["w"]) of every array of ``net``, once each; ``prefix``: the path of
    ``net`` inside the training net."""
    seen: set[str] = set()
    for path, position, layer in _positions(net, (), ()):
        for slot, v, _dims in layer.array_slots(seen):
            if isinstance(v, SharedRef):
                yield ("shared", v.name), Expr(S("NetSharedArray"), v.name)
            else:
                yield (prefix + path, slot.name), (
                    make_list(list(position) + [slot.name]) if position else slot.name)


def _positions(net: Net, path: tuple, position: tuple):
    """(path of names, position as Wolfram writes it: integers in unnamed containers,
    layer) for every layer."""
    if isinstance(net, Layer):
        yield path, position, net
        return
    assert isinstance(net, Container)
    for i, (name, sub) in enumerate(net.layers(), 1):
        yield from _positions(sub, path + (name,), position + (name if net.named else i,))


def rule_values(spec: Any, tnet: Net, option: str, tag: str, none: float | None = None,
                keys: list | None = None) -> dict[tuple, float]:
    """A number for every array a rule names: ``r`` (all), or rules part -> r, where a part
    is a layer, {layer, "array"}, m ;; n, a pattern or All; the first matching rule gives
    an array's value, as Wolfram's LearningRateMultipliers. ``none``: what None means."""
    keys = _array_keys(tnet) if keys is None else keys
    rules = [spec] if is_number(spec) else list_items(spec) if is_list(spec) else [spec]
    out: dict[tuple, float] = {}
    for r in rules:
        if is_number(r):
            target, m = S("All"), r
        elif is_rule(r) and (is_number(r.args[1]) or r.args[1] is S("None") and none is not None):
            target, m = r.args[0], none if r.args[1] is S("None") else r.args[1]
        else:
            raise error(tag, f"{input_form(r)} is not a specification of {option} (a number, "
                             f'or rules layer -> r, {{layer, "array"}} -> r, _ -> r).')
        matched = False
        for path, array, key, _ in keys:
            inner = path[1:] if path and path[0] == "net" else path
            if _lr_match(target, inner, array, tnet):
                out.setdefault(key, float(m))   # the first matching rule
                matched = True
        if not matched and not _names_a_layer(target, tnet):
            raise error(tag, f"{input_form(target)} in {option} does not name a layer or "
                             f"array of the net.")
    return out


def _names_a_layer(target: Any, tnet: Net) -> bool:
    """Whether ``target`` names a layer that has no arrays (a Ramp in {2 -> 0}): a rule
    that reaches nothing to train, which Wolfram accepts."""
    for path, _ in tnet.leaves():
        inner = path[1:] if path and path[0] == "net" else path
        if inner and _lr_match(target, inner, "", tnet):
            return True
    return False


PER_PART = {"l2": ("L2Regularization", 0.0), "gradient_clipping": ("GradientClipping", np.inf),
            "weight_clipping": ("WeightClipping", np.inf)}


def per_part_settings(settings: Any, tnet: Net, params: "Parameters") -> None:
    """L2Regularization, GradientClipping and WeightClipping given as rules by part
    (kept raw in ``settings.extra`` by options.py) as per-element arrays of the flat
    buffer: unnamed arrays get no regularisation and no clipping."""
    for attr, (option, default) in PER_PART.items():
        spec = settings.extra.get(attr)
        if spec is None:
            continue
        values = np.full(params.flat.size, default, params.flat.dtype)
        for key, v in rule_values(spec, tnet, option, "method").items():
            if key in params.offsets:
                off, shape = params.offsets[key]
                values[off:off + math.prod(shape)] = v
        setattr(settings, attr, values)


def _array_keys(tnet: Net) -> list[tuple[tuple, str, tuple, tuple]]:
    """Every array: (layer path, array name, parameter key, the LearningRateMultipliers
    specs that reach it)."""
    out = []
    for path, layer, specs in _leaves_with_multipliers(tnet, (), ()):
        for a in layer.array_specs:
            v = layer.arrays.get(a.name)
            key = ("shared", v.name) if isinstance(v, SharedRef) else (path, a.name)
            out.append((path, a.name, key, specs))
    return out


def read_update_schedule(spec: Any, tnet: Net, params: "Parameters") -> list[np.ndarray] | None:
    """TrainingUpdateSchedule -> {group1, group2, ...}: for each optimisation step in turn
    (cycling), which elements of the flat buffer are updated (the others, and every array
    no group names, stay as they are). A group is a part as LearningRateMultipliers names
    one, ``_``, ``spec1 | spec2``, or ``group -> s`` (s steps in a row)."""
    if spec is None or spec is S("Automatic") or spec is S("All"):
        return None
    groups = list_items(spec) if is_list(spec) else [spec]
    keys = _array_keys(tnet)
    masks = []
    for g in groups:
        repeat = 1
        if is_rule(g) and is_integer(g.args[1]) and g.args[1] >= 1:
            g, repeat = g.args[0], int(g.args[1])
        alternatives = (list(g.args) if isinstance(g, Expr) and g.head is S("Alternatives")
                        else [g])
        mask = np.zeros(params.flat.size, bool)
        for path, array, key, _ in keys:
            inner = path[1:] if path and path[0] == "net" else path
            if key in params.offsets and any(a is S("Blank") or (isinstance(a, Expr) and
                                             a.head is S("Blank") and not a.args) or
                                             _lr_match(a, inner, array, tnet)
                                             for a in alternatives):
                off, shape = params.offsets[key]
                mask[off:off + math.prod(shape)] = True
        if not mask.any():
            raise error("updsched", f"{input_form(g)} in TrainingUpdateSchedule names no "
                                    f"trainable array of the net.")
        masks.extend([mask] * repeat)
    return masks


def _spec_value(spec: Any, rel: tuple, array: str, tnet: Net) -> float | None:
    """What a layer's or container's LearningRateMultipliers gives one of its arrays:
    a number, or the first rule whose part (relative to the container: a layer,
    {layer, "array"}, m ;; n, a pattern) or array name matches; None if none does."""
    if spec is None or spec is S("Automatic"):
        return None
    if is_number(spec):
        return float(spec)
    if spec is S("None"):      # LearningRateMultipliers -> None: frozen
        return 0.0
    if not rel:   # a layer's own: rules by array name
        return multiplier_for(spec, array)
    for r in list_items(spec) if is_list(spec) else [spec]:
        if is_number(r):
            return float(r)
        target, value = r.args
        if (isinstance(target, str) and target == array) or _lr_match(target, rel, array, tnet):
            return 0.0 if value is S("None") else float(value)
    return None


def _leaves_with_multipliers(net: Net, path: tuple, outer: tuple):
    """Every layer with the LearningRateMultipliers specs that reach it, each with the
    path of its owner: its own, then those of the containers around it (innermost
    first; an operator's or a NetChain's/NetGraph's ``multipliers``, AttentionLayer[net]'s
    its template layer's option)."""
    if isinstance(net, Layer):
        yield path, net, ((net.values.get("LearningRateMultipliers"), path),) + outer
        return
    assert isinstance(net, Container)
    template = getattr(net, "template", None)
    own = (template.values.get("LearningRateMultipliers") if template is not None
           else net.multipliers)
    outer = (((own, path),) if own is not None else ()) + outer
    for name, sub in net.layers():
        yield from _leaves_with_multipliers(sub, path + (name,), outer)


def _lr_match(target: Any, path: tuple, array: str, tnet: Net) -> bool:
    if target is S("All"):
        return True
    parts = list_items(target) if is_list(target) else [target]
    if not parts:   # {} names nothing
        return False
    *layer_parts, last = parts
    base = _base_container(tnet, path)
    if isinstance(last, str) and last == array and layer_parts:
        return _path_prefix(layer_parts, path, base)
    return _path_prefix(parts, path, base)


def _base_container(tnet: Net, path: tuple) -> Any:
    """The container ``path`` starts in: the user's net inside NetTrain's loss wrapper
    (whose own layer is "net"), else ``tnet`` itself."""
    if isinstance(tnet, Container) and path and path[0] not in tnet.order \
            and "net" in tnet.order:
        return tnet.net("net")
    return tnet


def _at_position(container: Any, p: int, name: str) -> bool:
    """Whether layer ``name`` is the p-th (from the end if negative) of ``container``: an
    integer part names a chain's layer by position even when its layers have names, as
    NetExtract[chain, 2] does (NetJoin and NetTake keep the names "1", "2", ...)."""
    order = getattr(container, "order", None) if isinstance(container, Container) else None
    if not order or p == 0 or abs(p) > len(order):
        return False
    return order[p - 1 if p > 0 else p] == name


_MATCHER = Matcher()


def _path_prefix(parts: list, path: tuple, base: Any = None) -> bool:
    if len(parts) > len(path):
        return False
    here = base
    for p, name in zip(parts, path):
        container, here = here, (here.net(name) if isinstance(here, Container)
                                 and name in here.order else None)
        if isinstance(p, np.ndarray):   # a packed list of numbers names no layer
            return False
        if isinstance(p, Expr) and p.head is S("Span") and len(p.args) == 2 \
                and all(is_integer(e) for e in p.args):   # m ;; n: layers m through n
            if not (name.isdigit() and p.args[0] <= int(name) <= p.args[1]):
                return False
        elif is_pattern(p):   # {"target" -> 1, _ -> None}: a pattern of layer names
            if not _MATCHER.matches(p, int(name) if name.isdigit() else name):
                return False
        elif is_integer(p):
            if str(p) != name and not _at_position(container, p, name):
                return False
        elif p != name:
            return False
    return True


