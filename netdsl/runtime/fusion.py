"""Rewrite rules for plans: fewer passes over large activations.

They rely only on algebra that holds for any net, and ask the layers what holds
for them (the capability methods of ``Layer``); no rule knows a layer by name:

1. A layer that is a per-channel affine map in Test mode (``test_affine``:
   BatchNormalization), fed only by a layer that can absorb one into its arrays
   (``fold_affine``: convolution, linear), is folded into it.
2. A monotone elementwise layer (``monotone``) followed by a layer that commutes
   with monotone functions (``commutes_with_monotone``: max pooling) runs after it
   instead, on the smaller pooled tensor. Backward stays exact: max(f(x)) = f(max x),
   and the gradient f'(max) dy reaches the maximal elements either way.
3. A layer followed by such a pooling (and then, optionally, a monotone function)
   may offer one faster step for the group (``fused_with_max_pool``: convolution
   runs the pooling before its bias and activation, per pooling offset).
4. A layer that can overwrite its input (``forward_inplace``: Ramp) does so when
   the input is a fresh buffer (``fresh_output``) that nothing else reads.
5. A table lookup (``lookup_table``: EmbeddingLayer) read only by a layer that can work
   from the table and the indices (``forward_from_lookup``: LongShortTermMemoryLayer,
   whose input projection of index v is then column v of a projected table, computed
   once per plan; in training, per pass) becomes one step; its output is never built.

6. A layer that only pads with zeros (``zero_padding``: PaddingLayer with value 0)
   read only by a layer that can take the padding into its own (``absorb_padding``:
   convolution) is dropped, and that layer pads more.

7. A layer that only reshapes (``plain_reshape``: FlattenLayer) read only by a layer
   that reads each example as a flat vector anyway (``reads_examples_flat``:
   LinearLayer) is dropped; that layer reads the unreshaped input (Test mode: one
   step less per call, measurable at batch 1).

8. A layer whose output sequence is read only by a layer that keeps its last element
   (``keeps_last``: SequenceLastLayer) may compute that element alone (``forward_last``:
   LongShortTermMemoryLayer, which then keeps two states instead of the sequence; also
   after rule 5). When it declines (a gradient to come), the two run as before.

9. A layer that only joins its inputs along the channel level (``joins_channels``:
   CatenateLayer) read only by a layer that can read them unjoined
   (``reads_channel_parts``: convolution, which copies them into its padded buffer
   anyway) is dropped; that layer reads the inputs (``windows.ChannelParts``) and its
   input gradient is split back by channels.

10. An elementwise Ramp (``is_ramp``) read only after a layer that can take it into its
    own output (``fused_with_ramp``: convolution, whose compiled loops apply it while
    each output block is in cache) is dropped.

Rules 1, 3, 4, 7 and 8 are for Test mode only (Train-mode BatchNormalization needs every
convolution output and its batch statistics; the fused steps have no backward);
rules 2, 5, 6, 9 and 10 are used in training too (their backward is exact).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..layers.base import Layer
from ..layers.windows import ChannelParts
from .lanes import strongest
from .steps import Plan, Step, mark_frees


def fuse(plan: Plan, training: bool = False) -> Plan:
    """The plan rewritten; ``training`` keeps to the rules whose backward is exact."""
    steps = list(plan.steps)
    protected = set(plan.outputs.values()) | set(plan.inputs.values())
    n_slots = plan.n_slots
    steps = _absorb_padding(steps, protected)
    if not training:
        steps = _fold_affine(steps, protected)
    steps, n_slots = _activation_after_pool(steps, protected, n_slots)
    if not training:
        steps = _fused_max_pool(steps, protected)
    steps = _ramp_into_producer(steps, protected)
    if not training:
        steps = _in_place(steps, protected)
        steps = _skip_reshape(steps, protected)
    steps = _from_lookup(steps, protected)
    steps = _channel_parts(steps, protected)
    if not training:
        steps = _last_only(steps, protected)
    new = Plan(steps, plan.inputs, plan.outputs, n_slots)
    mark_frees(new)
    return new


def _consumers(steps: list[Step]) -> dict[int, list[int]]:
    uses: dict[int, list[int]] = {}
    for i, st in enumerate(steps):
        for s in st.ins:
            uses.setdefault(s, []).append(i)
    return uses


def _sole_next(steps: list[Step], i: int, uses: dict[int, list[int]],
               protected: set[int]) -> int | None:
    """The index of the only step reading step i's only output, when that step reads
    nothing else; None if there is no such step (or the value is a net output)."""
    st = steps[i]
    if len(st.outs) != 1 or st.outs[0] in protected:
        return None
    readers = uses.get(st.outs[0], [])
    if len(readers) != 1 or len(steps[readers[0]].ins) != 1:
        return None
    return readers[0]


def _ask(layer: Any, capability: str, default: Any = None) -> Any:
    """A capability of a step's layer: a flag's value, or a method the layer's type
    declares (overrides); fused steps (not layers) declare none."""
    if not isinstance(layer, Layer):
        return default
    value = getattr(layer, capability)
    if callable(value) and getattr(type(layer), capability) is getattr(Layer, capability):
        return default    # the base class's "nothing to offer"
    return value


# ---------------------------------------------------------------- rule 1
def _fold_affine(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    drop: set[int] = set()
    out = list(steps)
    for i, st in enumerate(steps):
        fold = _ask(st.layer, "fold_affine")
        if fold is None or i in drop:
            continue
        j = _sole_next(steps, i, uses, protected)
        if j is None:
            continue
        affine = _ask(steps[j].layer, "test_affine")
        pair = affine(steps[j].arrays) if affine is not None else None
        if pair is None:
            continue
        arrays = fold(st.arrays, *pair)
        if arrays is None:
            continue
        out[i] = Step(st.layer, arrays, st.ins, steps[j].outs, st.path, st.keys)
        drop.add(j)
    return [s for k, s in enumerate(out) if k not in drop]


# ---------------------------------------------------------------- rule 2
def _activation_after_pool(steps: list[Step], protected: set[int],
                           n_slots: int) -> tuple[list[Step], int]:
    uses = _consumers(steps)
    out = list(steps)
    for i, st in enumerate(steps):
        if not _ask(st.layer, "monotone", False) or len(st.ins) != 1:
            continue
        k = _sole_next(steps, i, uses, protected)
        if k is None or not _ask(steps[k].layer, "commutes_with_monotone", False):
            continue
        pool = steps[k]
        pooled = n_slots                        # a new slot between the two
        n_slots += 1
        out[i] = Step(pool.layer, pool.arrays, st.ins, [pooled], pool.path, pool.keys)
        out[k] = Step(st.layer, st.arrays, [pooled], pool.outs, st.path, st.keys)
    return out, n_slots


# ---------------------------------------------------------------- rule 3
def _fused_max_pool(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    out: list[Step | None] = list(steps)
    for i, st in enumerate(steps):
        offer = _ask(st.layer, "fused_with_max_pool")
        if offer is None or out[i] is None:
            continue
        k = _sole_next(steps, i, uses, protected)
        if k is None or not _ask(steps[k].layer, "commutes_with_monotone", False):
            continue
        a = _sole_next(steps, k, uses, protected)
        if a is not None and not _ask(steps[a].layer, "monotone", False):
            a = None
        fused = offer(steps[k].layer, steps[a].layer if a is not None else None)
        if fused is None:
            continue
        last = steps[a] if a is not None else steps[k]
        out[i] = Step(fused, st.arrays, st.ins, last.outs, st.path, st.keys)
        out[k] = None
        if a is not None:
            out[a] = None
    return [s for s in out if s is not None]


# ---------------------------------------------------------------- rule 4
class InPlace:
    """A Test-mode step that overwrites its input (see ``Layer.forward_inplace``)."""

    array_specs = ()

    def __init__(self, layer: Any):
        self.layer = layer
        self.name = layer.name

    def example_coupling(self, train: bool) -> str:
        return self.layer.example_coupling(train)

    def forward(self, ctx, arrays, x):
        y = self.layer.forward_inplace(x)
        if y is None:     # not for this data (an integer array, say): the ordinary way
            return self.layer.forward(ctx, arrays, x)
        return [y], None


def _in_place(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    producers = {s: i for i, st in enumerate(steps) for s in st.outs}
    out = list(steps)
    for i, st in enumerate(steps):
        if _ask(st.layer, "forward_inplace") is None or len(st.ins) != 1:
            continue
        (src,) = st.ins
        if src in protected or len(uses.get(src, [])) != 1 or src not in producers:
            continue
        producer = steps[producers[src]].layer
        if not (_ask(producer, "fresh_output", False) or getattr(producer, "fresh_output", False)):
            continue  # only fresh buffers: Flatten/Reshape outputs may be views of others
        out[i] = Step(InPlace(st.layer), st.arrays, st.ins, st.outs, st.path, st.keys)
    return out


# ---------------------------------------------------------------- rule 5
TABLE = "\x00LookupTable"    # the lookup's table among the fused step's arrays (no clash)


class FromLookup:
    """A step: a table lookup, then a layer that reads the table and indices (or, when that
    layer declines for these data, the two layers one after the other)."""

    array_specs = ()

    def __init__(self, lookup: Any, table_name: str, layer: Any):
        self.lookup, self.table_name, self.layer = lookup, table_name, layer
        self.name = layer.name

    def example_coupling(self, train: bool) -> str:
        return strongest([self.lookup.example_coupling(train),
                          self.layer.example_coupling(train)])

    def _split(self, arrays: dict) -> tuple[dict, dict]:
        return ({k: v for k, v in arrays.items() if k != TABLE},
                {self.table_name: arrays[TABLE]})

    def forward_last(self, ctx, arrays, idx):
        """Rule 8 after rule 5: the layer's last output element from the table and
        indices, or None."""
        own, table = self._split(arrays)
        return self.layer.forward_last(ctx, own, idx, table[self.table_name])

    def forward(self, ctx, arrays, idx):
        own, table = self._split(arrays)
        found = self.layer.forward_from_lookup(ctx, own, table[self.table_name], idx)
        if found is not None:
            return found[0], (True, found[1])
        (x,), c1 = self.lookup.forward(ctx, table, idx)
        ys, c2 = self.layer.forward(ctx, own, x)
        return ys, (False, (c1, c2))

    def backward(self, ctx, arrays, cache, dy):
        own, table = self._split(arrays)
        fused, c = cache
        if fused:
            grads, dtable = self.layer.backward_from_lookup(ctx, own, table[self.table_name],
                                                            c, dy)
        else:
            need, ctx.need_dx = ctx.need_dx, True
            (dx,), grads = self.layer.backward(ctx, own, c[1], dy)
            ctx.need_dx = need
            dtable = self.lookup.backward(ctx, table, c[0], dx)[1][self.table_name]
        return [None], {**grads, TABLE: dtable}


def _into_next(steps: list[Step], protected: set[int],
               merge: Callable[[Step, Step], Step | None]) -> list[Step]:
    """Rules 5-8 and 10: a one-input step whose output only the next step reads is merged into
    that step (``merge`` gives the merged step, reading the first step's input, or None)."""
    uses = _consumers(steps)
    out: list[Step | None] = list(steps)
    for i, st in enumerate(steps):
        if out[i] is None or len(st.ins) != 1:
            continue
        j = _sole_next(steps, i, uses, protected)
        merged = merge(st, steps[j]) if j is not None else None
        if merged is not None:
            assert j is not None
            out[j], out[i] = merged, None
    return [s for s in out if s is not None]


def _from_lookup(steps: list[Step], protected: set[int]) -> list[Step]:
    def merge(st: Step, nxt: Step) -> Step | None:
        found = _ask(st.layer, "lookup_table")
        if found is None or _ask(nxt.layer, "forward_from_lookup") is None:
            return None
        if len(nxt.ins) != 1 or len(nxt.outs) != 1:   # a recurrent "State" port
            return None
        name, table = found(st.arrays)
        return Step(FromLookup(st.layer, name, nxt.layer), {**nxt.arrays, TABLE: table},
                    st.ins, nxt.outs, nxt.path, {**nxt.keys, TABLE: st.keys.get(name, ())})
    return _into_next(steps, protected, merge)


# ---------------------------------------------------------------- rule 6
def _absorb_padding(steps: list[Step], protected: set[int]) -> list[Step]:
    def merge(st: Step, nxt: Step) -> Step | None:
        zero = _ask(st.layer, "zero_padding")
        pads = zero() if zero is not None else None
        absorb = _ask(nxt.layer, "absorb_padding") if pads is not None else None
        wider = absorb(pads) if absorb is not None else None
        return None if wider is None else Step(wider, nxt.arrays, st.ins, nxt.outs,
                                               nxt.path, nxt.keys)
    return _into_next(steps, protected, merge)


def _skip_reshape(steps: list[Step], protected: set[int]) -> list[Step]:
    """Rule 7: a plain reshape read only by a layer reading examples flat is dropped."""
    def merge(st: Step, nxt: Step) -> Step | None:
        plain = _ask(st.layer, "plain_reshape")
        if plain is None or not plain() or not _ask(nxt.layer, "reads_examples_flat", False):
            return None
        return Step(nxt.layer, nxt.arrays, st.ins, nxt.outs, nxt.path, nxt.keys)
    return _into_next(steps, protected, merge)


# ---------------------------------------------------------------- rule 8
class LastOnly:
    """A step: a layer (or a rule-5 step) whose output sequence only a ``keeps_last``
    layer reads, asked for the last element alone (``forward_last``); when it declines,
    the two layers one after the other (and backward through both)."""

    array_specs = ()

    def __init__(self, layer: Any, last: Any):
        self.layer, self.last = layer, last
        self.name = layer.name

    def example_coupling(self, train: bool) -> str:
        return strongest([self.layer.example_coupling(train), self.last.example_coupling(train)])

    def forward(self, ctx, arrays, x):
        found = self.layer.forward_last(ctx, arrays, x)
        if found is not None:
            return found, None
        ys, whole = self.layer.forward(ctx, arrays, x)
        zs, last = self.last.forward(ctx, {}, ys[0])
        return zs, (whole, last)

    def backward(self, ctx, arrays, cache, dy):
        whole, last = cache
        (dseq,), _ = self.last.backward(ctx, {}, last, dy)
        return self.layer.backward(ctx, arrays, whole, dseq)


def _last_only(steps: list[Step], protected: set[int]) -> list[Step]:
    def merge(st: Step, nxt: Step) -> Step | None:
        if not _ask(nxt.layer, "keeps_last", False):
            return None
        offers = (st.layer.forward_last if isinstance(st.layer, FromLookup)
                  else _ask(st.layer, "forward_last"))
        if offers is None:
            return None
        return Step(LastOnly(st.layer, nxt.layer), st.arrays, st.ins, nxt.outs, st.path,
                    st.keys)
    return _into_next(steps, protected, merge)


# ---------------------------------------------------------------- rule 9
class FromChannelParts:
    """A step: a layer reading the inputs of a dropped channel join as ChannelParts."""

    def __init__(self, layer: Any):
        self.layer, self.name = layer, layer.name
        self.array_specs = getattr(layer, "array_specs", ())
        self.fresh_output = getattr(layer, "fresh_output", False)

    def example_coupling(self, train: bool) -> str:
        return self.layer.example_coupling(train)

    def forward(self, ctx, arrays, *xs):
        ys, cache = self.layer.forward(ctx, arrays, ChannelParts(xs))
        return ys, ([x.shape[0] for x in xs], cache)

    def backward(self, ctx, arrays, cache, dy):
        sizes, inner = cache
        (dx,), grads = self.layer.backward(ctx, arrays, inner, dy)
        if dx is None:
            return [None] * len(sizes), grads
        return np.split(dx, np.cumsum(sizes)[:-1], axis=0), grads


def _channel_parts(steps: list[Step], protected: set[int]) -> list[Step]:
    uses = _consumers(steps)
    out: list[Step | None] = list(steps)
    for i, st in enumerate(steps):
        joins = _ask(st.layer, "joins_channels")
        if joins is None or not joins() or len(st.ins) < 2:
            continue
        j = _sole_next(steps, i, uses, protected)
        if j is None or out[j] is not steps[j] or len(steps[j].outs) != 1 \
                or not _ask(steps[j].layer, "reads_channel_parts", False):
            continue
        nxt = steps[j]
        out[j] = Step(FromChannelParts(nxt.layer), nxt.arrays, st.ins, nxt.outs, nxt.path,
                      nxt.keys)
        out[i] = None
    return [s for s in out if s is not None]


# ---------------------------------------------------------------- rule 10
def _ramp_into_producer(steps: list[Step], protected: set[int]) -> list[Step]:
    def merge(st: Step, nxt: Step) -> Step | None:
        fuse = _ask(st.layer, "fused_with_ramp")
        if fuse is None or len(st.outs) != 1 or not _ask(nxt.layer, "is_ramp", False):
            return None
        ramped = fuse()
        return None if ramped is None else Step(ramped, st.arrays, st.ins, nxt.outs,
                                                st.path, st.keys)
    return _into_next(steps, protected, merge)
