"""Running an operator (graph/operators.py) as one plan step around its inner nets' plans.

Data is batch-last: a sequence input is (n, element..., N). The inner nets are compiled
into plans of their own (with the outer net's shared arrays); an operator's step holds
them and every inner array under a flat name ("plan/step/array") whose key is the inner
array's own, so the trainer's parameter buffer, NetTrain's write-back and the
learning-rate multipliers see the inner arrays exactly as in a container.

- NetMapOperator: the n elements of every example are one inner batch of n*N (one
  forward and one backward pass of the inner plan, as Wolfram batches it).
- NetFoldOperator: the inner plan once per step (each step vectorised over the batch)
  on one element of each mapped input, the constants, and the states (each starting at
  its input port when shown, else zeros; next the inner output fed back to it); each
  state's final value is its output port when shown. Backward through time runs the
  inner backward per step in reverse, carrying each state's gradient (seeded by the
  final state's, and given back as the initial state's); a constant's gradient is the
  sum over the steps.
- NetBidirectionalOperator: the forward plan on the input, the backward plan on the
  input reversed along its first level (its output reversed back when it is a
  sequence); Catenate, Total or Mean.
- NetNestOperator: the inner plan n times, each output the next input (one set of
  arrays); backward runs the inner backward n times in reverse, each input gradient the
  seed of the pass before, the arrays' gradients summed over the passes.
- NetMapThreadOperator: like a map, over the first n levels of every port: each input
  (replicated over the levels below its depth) has its n levels folded into the batch,
  one inner batch of L1*...*Ln*N; backward sums a replicated input's gradient over the
  levels it was replicated on.
- NetPairEmbeddingOperator: the pair's two arrays of every example are one inner batch
  of 2N, as a map over a length-2 sequence; the distance of the two embeddings (squared
  Euclidean or cosine, see graph/operators.py) and its gradient are computed here.
- AttentionLayer[net] (graph/attention_net.py): the scoring net's plan once on all
  N x H x M x L key/query pairs of a group (one inner batch), its scores then rescaled,
  masked and softmaxed as for "Dot" (layers/attention_core.py); backward sums each
  pair's Input and Query gradients over the queries and keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..layers.attention_core import (attend, from_heads, score_grads, to_heads, weights_dims,
                                     weights_in, weights_out)
from ..layers.base import ArraySpec
from .context import Ctx
from .gradients import backward as plan_backward
from .lanes import plan_coupling, strongest
from .steps import Plan, Step


class OperatorStep:
    """What the executor runs for an operator: forward and backward over flat arrays."""

    def __init__(self, net: Any, plans: list[Plan]):
        # (AttentionLayer[net] is not the layer AttentionLayer: converters keyed by name
        # must not take it for one)
        scored = getattr(net, "template", None) is not None
        self.name = f"{net.kind}[net]" if scored else net.kind
        self.kind = "AttentionLayer" if scored else net.kind
        self.plans = plans
        self.flat: list[list[dict[str, str]]] = []   # plan, step -> array -> flat name
        self.arrays: dict[str, np.ndarray] = {}
        self.keys: dict[str, tuple] = {}
        specs = []
        for p, plan in enumerate(plans):
            per_plan = []
            for j, st in enumerate(plan.steps):
                names = {}
                aux = {a.name for a in getattr(st.layer, "array_specs", ()) if a.aux}
                for name, arr in st.arrays.items():
                    flat = f"{p}/{j}/{name}"
                    names[name] = flat
                    self.arrays[flat] = arr
                    self.keys[flat] = st.keys[name]
                    specs.append(ArraySpec(flat, (), aux=name in aux))
                per_plan.append(names)
            self.flat.append(per_plan)
        self.array_specs = tuple(specs)
        self.by_key: dict[tuple, str] = {}
        for flat, key in self.keys.items():
            self.by_key.setdefault(key, flat)
        if self.kind == "NetFoldOperator":
            self.fold = net.fold
            inner = net.net("Net").ports
            self.shapes = {p: tuple(inner[p].shape) for p in self.fold.states + self.fold.outputs}
            self.in_names, self.out_names = net.port_names()
        if self.kind == "NetNestOperator":
            self.iterations = net.iterations
        if self.kind == "NetPairEmbeddingOperator":
            self.distance = net.aggregation
        if self.kind == "NetMapThreadOperator":
            self.thread = net.thread
            self.in_names, self.out_names = net.port_names()
        if self.kind == "NetBidirectionalOperator":
            self.sequential = net.sequential_output()
            self.aggregation = net.aggregation
            f = net.net("ForwardNet").ports["Output"].shape
            self.split = f[1 if self.sequential else 0]
        if self.kind == "AttentionLayer":
            self.template = net.template
            self.weights_shown = "AttentionWeights" in net.port_names()[1]
            # SequenceAttentionLayer: its one "Input" is the keys and the values
            self.self_attention = "Input" in net.template.inputs

    def example_coupling(self, train: bool) -> str:
        """The inner steps' strongest (every operator runs each example apart: a map
        merges the sequence into the batch, a fold steps each example's state)."""
        kinds = [plan_coupling(p, train) for p in self.plans]
        if self.kind == "AttentionLayer" and train and self.template.values["Dropout"] > 0:
            kinds.append("random")
        return strongest(kinds)

    def moving_updates(self, arrays: dict[str, Any], cache: Any) -> dict[str, Any]:
        """The inner layers' moving statistics (BatchNormalization) after a training step,
        by flat name: from the one inner pass of a map, the two of a bidirectional
        operator, and every step of a fold in turn (each step's statistics move the
        values the previous step left, as Wolfram's loop over the steps, unrolled or
        MXNet's foreach, updates the one moving array at every step)."""
        if cache is None:
            return {}
        steps = cache[0]
        if self.kind in ("NetFoldOperator", "NetNestOperator"):
            runs = [(0, caches) for _, caches in cache[1]]
        elif self.kind in ("NetMapOperator", "NetPairEmbeddingOperator", "NetMapThreadOperator",
                           "AttentionLayer"):
            runs = [(0, cache[2])]
        else:
            runs = [(0, cache[2]), (1, cache[4])]
        out: dict[str, Any] = {}
        for p, caches in runs:
            for j, st in enumerate(steps[p]):
                current = {n: out.get(self.flat[p][j][n], v) for n, v in st.arrays.items()}
                for name, value in st.layer.moving_updates(current, caches[j]).items():
                    out[self.flat[p][j][name]] = value
        return out

    # ---- the inner plans, bound to the arrays of this pass ----------------------------
    def bound(self, arrays: dict[str, np.ndarray]) -> list[list[Step]]:
        return [[Step(st.layer, {n: arrays[f] for n, f in names.items()}, st.ins, st.outs,
                      st.path, st.keys, st.frees)
                 for st, names in zip(plan.steps, flat)]
                for plan, flat in zip(self.plans, self.flat)]

    def _run(self, ctx: Ctx, p: int, steps: list[Step], inputs: dict[str, np.ndarray]):
        batch = ctx.batch
        try:
            return self.plans[p].run(ctx, inputs, keep=ctx.grad, steps=steps)
        finally:
            ctx.batch = batch

    def _back(self, ctx: Ctx, p: int, steps: list[Step], values: list, caches: list,
              seeds: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> dict[str, Any]:
        """One inner backward pass; array gradients added into ``grads`` (by flat name);
        the gradients of the inner plan's inputs by port."""
        plan = self.plans[p]

        def on_grad(key: tuple, g: np.ndarray) -> None:
            flat = self.by_key[key]
            if flat in grads:
                grads[flat] = grads[flat] + g
            else:
                grads[flat] = g

        saved = ctx.need_dx, ctx.keep_input_grads
        ctx.keep_input_grads = True
        try:
            by_slot = plan_backward(steps, ctx, values, caches,
                                    {plan.outputs[k]: v for k, v in seeds.items()}, on_grad,
                                    set(plan.inputs.values()))
        finally:
            ctx.need_dx, ctx.keep_input_grads = saved
        return {port: by_slot[slot] for port, slot in plan.inputs.items()}

    # ---- forward ----------------------------------------------------------------------
    def forward(self, ctx: Ctx, arrays: dict[str, np.ndarray], x: np.ndarray, *given):
        steps = self.bound(arrays)
        if self.kind == "AttentionLayer":     # given: the Value and Query (or the Query)
            if self.self_attention:
                return self._attention(ctx, steps, x, x, *given)
            return self._attention(ctx, steps, x, *given)
        if self.kind == "NetMapOperator":
            return self._map(ctx, steps, x)
        if self.kind == "NetPairEmbeddingOperator":
            return self._pair(ctx, steps, x)
        if self.kind == "NetMapThreadOperator":
            return self._thread(ctx, steps, dict(zip(self.in_names, (x,) + given)))
        if self.kind == "NetFoldOperator":
            return self._fold(ctx, steps, dict(zip(self.in_names, (x,) + given)))
        if self.kind == "NetNestOperator":
            return self._nest(ctx, steps, x)
        return self._bidirectional(ctx, steps, x)

    def _nest(self, ctx, steps, x):
        shape, record = x.shape, []
        for _ in range(self.iterations):
            outs, values, caches = self._run(ctx, 0, steps[0], {"Input": x})
            x = outs["Output"]
            if ctx.grad:
                record.append((values, caches))
        return [np.ascontiguousarray(x)], ((steps, record, shape) if ctx.grad else None)

    def _map(self, ctx, steps, x):
        outs, values, caches = self._run(ctx, 0, steps[0], {"Input": _merge(x)})
        y = _split(outs["Output"], x.shape[:1], x.shape[-1])
        return [y], ((steps, values, caches, x.shape) if ctx.grad else None)

    def _thread(self, ctx, steps, xs):
        thread, n = self.thread, self.thread.n
        full = next(a for p, a in xs.items() if thread.depth(p) == n)
        lead, batch = full.shape[:n], full.shape[-1]
        merged = {}
        for p, a in xs.items():
            d = thread.depth(p)
            a = np.broadcast_to(a.reshape(a.shape[:d] + (1,) * (n - d) + a.shape[d:]),
                                lead + a.shape[d:])
            merged[p] = _merge(a, n)
        outs, values, caches = self._run(ctx, 0, steps[0], merged)
        ys = [_split(outs[o], lead, batch) for o in self.out_names]
        return ys, ((steps, values, caches, {p: a.shape for p, a in xs.items()}, lead, batch)
                    if ctx.grad else None)

    def _thread_back(self, ctx, cache, douts, grads):
        steps, values, caches, shapes, lead, batch = cache
        n = len(lead)
        seeds = {o: _merge(g, n) for o, g in douts.items()}
        d = self._back(ctx, 0, steps[0], values, caches, seeds, grads)
        dtype = next(iter(douts.values())).dtype
        dxs = []
        for p in self.in_names:
            shape, depth = shapes[p], self.thread.depth(p)
            g = _split_or_zeros(d[p], shape[depth:-1], lead, batch, dtype)  # (L1..Ln, ..., N)
            if depth < n:                                       # replicated: summed back
                g = g.sum(axis=tuple(range(depth, n)))
            dxs.append(np.ascontiguousarray(g))
        return dxs, grads

    def _pair(self, ctx, steps, x):
        outs, values, caches = self._run(ctx, 0, steps[0], {"Input": _merge(x)})
        e = _split(outs["Output"], (2,), x.shape[-1])
        e1, e2 = (a.reshape(int(np.prod(a.shape[:-1])), a.shape[-1]) for a in e)   # (D, N)
        if self.distance == "EuclideanDistance":
            diff = e1 - e2
            d, inner = np.einsum("dn,dn->n", diff, diff), diff
        else:
            n1, n2 = (np.sqrt(np.einsum("dn,dn->n", a, a) + np.float32(1e-10)) for a in (e1, e2))
            u1, u2 = e1 / n1, e2 / n2
            c = np.einsum("dn,dn->n", u1, u2)
            d, inner = 1 - c, (u1, u2, n1, n2, c)
        cache = (steps, values, caches, x.shape, e.shape, inner) if ctx.grad else None
        return [d], cache

    def _pair_back(self, ctx, cache, dd, grads):
        steps, values, caches, shape, eshape, inner = cache
        if self.distance == "EuclideanDistance":
            de1 = 2 * inner * dd
            de2 = -de1
        else:           # d = 1 - c, dc/de1 = (u2 - c u1) / n1
            u1, u2, n1, n2, c = inner
            de1 = -dd * (u2 - c * u1) / n1
            de2 = -dd * (u1 - c * u2) / n2
        de = np.stack([de1, de2]).reshape(eshape)
        dxs = self._back(ctx, 0, steps[0], values, caches, {"Output": _merge(de)}, grads)
        return [_split_or_zeros(dxs["Input"], shape[1:-1], shape[:1], shape[-1], dd.dtype)], \
            grads

    def _fold(self, ctx, steps, xs):
        fold = self.fold
        first = xs[fold.mapped[0]]
        n, batch, dtype = first.shape[0], first.shape[-1], first.dtype
        states = {i: (np.asarray(xs[i], dtype) if i in xs
                      else np.zeros(self.shapes[i] + (batch,), dtype)) for i in fold.states}
        given = {c: xs[c] for c in fold.constants}
        ys: dict[str, list] = {o: [] for o in fold.outputs}
        record = []
        for t in range(n):
            inputs = {**given, **states, **{m: xs[m][t] for m in fold.mapped}}
            outs, values, caches = self._run(ctx, 0, steps[0], inputs)
            states = {i: outs[o] for o, i in fold.feedback}
            for o in fold.outputs:
                ys[o].append(outs[o])
            if ctx.grad:
                record.append((values, caches))
        result = [(np.stack(ys[p]) if n else np.zeros((0,) + self.shapes[p] + (batch,), dtype))
                  if p in ys else np.ascontiguousarray(states[p]) for p in self.out_names]
        shapes = {p: np.shape(xs[p]) for p in fold.mapped + fold.constants}
        return result, ((steps, record, shapes, batch) if ctx.grad else None)

    def _bidirectional(self, ctx, steps, x):
        out_f, values_f, caches_f = self._run(ctx, 0, steps[0], {"Input": x})
        out_b, values_b, caches_b = self._run(ctx, 1, steps[1],
                                              {"Input": np.ascontiguousarray(x[::-1])})
        f, b = out_f["Output"], out_b["Output"]
        if self.sequential:
            b = b[::-1]
        if self.aggregation == "Catenate":
            y = np.concatenate([f, b], axis=1 if self.sequential else 0)
        elif self.aggregation == "Total":
            y = f + b
        else:
            y = (f + b) * 0.5
        cache = (steps, values_f, caches_f, values_b, caches_b) if ctx.grad else None
        return [np.ascontiguousarray(y)], cache

    def _attention(self, ctx, steps, key, value, query):
        layer = self.template
        heads = bool(layer.head_levels)
        k, v, q = to_heads(key, heads), to_heads(value, heads), to_heads(query, heads)
        n, h, length, m = k.shape[0], k.shape[1], k.shape[2], q.shape[2]
        pairs = n * h * m * length
        # every (example, head, query, key) pair, channels first: one inner batch
        keys = np.broadcast_to(k[:, :, None], (n, h, m, length, k.shape[3]))
        queries = np.broadcast_to(q[:, :, :, None], (n, h, m, length, q.shape[3]))
        inputs = {"Input": np.ascontiguousarray(np.moveaxis(keys, -1, 0).reshape(-1, pairs)),
                  "Query": np.ascontiguousarray(np.moveaxis(queries, -1, 0).reshape(-1, pairs))}
        outs, values, caches = self._run(ctx, 0, steps[0], inputs)
        scores = outs["Output"].reshape(n, h, m, length)
        out, (att, inner) = attend(ctx, k, v, q, None, getattr(layer, "window", None),
                                   layer.values.get("ScoreRescaling"),
                                   layer.values.get("Dropout", 0.0), scores=scores)
        ys = [from_heads(out, query.shape[:-2] + (value.shape[-2], query.shape[-1]))]
        if self.weights_shown:
            dims = weights_dims(query.shape[:-1], key.shape[:-1], layer.head_levels)
            ys.append(weights_out(att, dims + (query.shape[-1],)))
        cache = ((steps, values, caches, inner, key.shape, value.shape, query.shape)
                 if ctx.grad else None)
        return ys, cache

    def _attention_back(self, ctx, cache, dy, dweights, grads):
        steps, values, caches, inner, kshape, vshape, qshape = cache
        heads = bool(self.template.head_levels)
        datt = weights_in(dweights[0], inner[5].shape) if dweights else None
        dvalues, dscores = score_grads(inner, to_heads(dy, heads), datt)
        n, h, m, length = dscores.shape
        d = self._back(ctx, 0, steps[0], values, caches,
                       {"Output": np.ascontiguousarray(dscores.reshape(-1))}, grads)
        kc, qc = kshape[-2], qshape[-2]
        dk = _or_zeros(d["Input"], (kc, n * h * m * length), dy.dtype)
        dq = _or_zeros(d["Query"], (qc, n * h * m * length), dy.dtype)
        dkeys = dk.reshape(kc, n, h, m, length).sum(axis=3)         # (k, N, H, L)
        dqueries = dq.reshape(qc, n, h, m, length).sum(axis=4)      # (q, N, H, M)
        dkey = from_heads(np.moveaxis(dkeys, 0, -1), kshape)
        dquery = from_heads(np.moveaxis(dqueries, 0, -1), qshape)
        if self.self_attention:    # the one Input is the keys and the values
            return [dkey + from_heads(dvalues, vshape), dquery], grads
        return [dkey, from_heads(dvalues, vshape), dquery], grads

    # ---- backward ---------------------------------------------------------------------
    def backward(self, ctx: Ctx, arrays: dict[str, np.ndarray], cache: Any, dy: np.ndarray,
                 *dfinal):
        grads: dict[str, np.ndarray] = {}
        if self.kind == "AttentionLayer":
            return self._attention_back(ctx, cache, dy, dfinal, grads)
        if self.kind == "NetMapOperator":
            steps, values, caches, shape = cache
            dxs = self._back(ctx, 0, steps[0], values, caches, {"Output": _merge(dy)}, grads)
            return [_split_or_zeros(dxs["Input"], shape[1:-1], shape[:1], shape[-1],
                                    dy.dtype)], grads
        if self.kind == "NetPairEmbeddingOperator":
            return self._pair_back(ctx, cache, dy, grads)
        if self.kind == "NetMapThreadOperator":
            return self._thread_back(ctx, cache, dict(zip(self.out_names, (dy,) + dfinal)),
                                     grads)
        if self.kind == "NetFoldOperator":
            return self._fold_back(ctx, cache, dict(zip(self.out_names, (dy,) + dfinal)),
                                   grads), grads
        if self.kind == "NetNestOperator":
            steps, record, shape = cache
            d = dy
            for values, caches in reversed(record):
                d = _or_zeros(self._back(ctx, 0, steps[0], values, caches,
                                         {"Output": np.ascontiguousarray(d)}, grads)["Input"],
                              shape, dy.dtype)
            return [np.ascontiguousarray(d)], grads
        steps, values_f, caches_f, values_b, caches_b = cache
        axis = 1 if self.sequential else 0
        if self.aggregation == "Catenate":
            index = [slice(None)] * dy.ndim
            index[axis] = slice(0, self.split)
            df = dy[tuple(index)]
            index[axis] = slice(self.split, None)
            db = dy[tuple(index)]
        else:
            df = db = dy if self.aggregation == "Total" else dy * 0.5
        if self.sequential:
            db = db[::-1]
        dxf = self._back(ctx, 0, steps[0], values_f, caches_f,
                         {"Output": np.ascontiguousarray(df)}, grads)["Input"]
        dxb = self._back(ctx, 1, steps[1], values_b, caches_b,
                         {"Output": np.ascontiguousarray(db)}, grads)["Input"]
        shape = values_f[self.plans[0].inputs["Input"]].shape
        dx = _or_zeros(dxf, shape, dy.dtype) + _or_zeros(dxb, shape, dy.dtype)[::-1]
        return [np.ascontiguousarray(dx)], grads


    def _fold_back(self, ctx, cache, douts, grads):
        """Backward through time: the gradients of the fold's inputs, in port order."""
        steps, record, shapes, batch = cache
        fold, dtype = self.fold, next(iter(douts.values())).dtype
        dx = {m: np.zeros(shapes[m], dtype) for m in fold.mapped}
        dconst: dict[str, Any] = {c: np.zeros(shapes[c], dtype) for c in fold.constants}
        dstates = {i: (np.array(douts[i], dtype) if i in douts
                       else np.zeros(self.shapes[i] + (batch,), dtype)) for i in fold.states}
        for t in range(len(record) - 1, -1, -1):
            values, caches = record[t]
            seeds = {o: douts[o][t] for o in fold.outputs}
            for o, i in fold.feedback:
                seeds[o] = seeds[o] + dstates[i] if o in seeds else dstates[i]
            d = self._back(ctx, 0, steps[0], values, caches, seeds, grads)
            for m in fold.mapped:
                if d[m] is not None:
                    dx[m][t] = d[m]
            for c in fold.constants:
                if d[c] is not None:
                    dconst[c] += d[c]
            dstates = {i: _or_zeros(d[i], dstates[i].shape, dtype) for i in fold.states}
        found = {**dx, **dconst, **dstates}
        return [found[p] for p in self.in_names]


def _merge(a: np.ndarray, n: int = 1) -> np.ndarray:
    """(L1..Ln, element..., N) -> (element..., L1*...*Ln*N): the elements of every example
    (over its first n levels) as one batch."""
    moved = np.moveaxis(a, tuple(range(n)), tuple(range(a.ndim - 1 - n, a.ndim - 1)))
    size = int(np.prod(a.shape[:n], dtype=np.int64)) * a.shape[-1]
    return np.ascontiguousarray(moved).reshape(moved.shape[:a.ndim - 1 - n] + (size,))


def _split(y: np.ndarray, lead: tuple, batch: int) -> np.ndarray:
    """(element..., L1*...*Ln*N) -> (L1..Ln, element..., N), the inverse of ``_merge``."""
    n = len(lead)
    y = y.reshape(y.shape[:-1] + tuple(lead) + (batch,))
    k = y.ndim - 1 - n
    return np.ascontiguousarray(np.moveaxis(y, tuple(range(k, k + n)), tuple(range(n))))


def _split_or_zeros(g: Any, element: tuple, lead: tuple, batch: int, dtype: Any) -> np.ndarray:
    """An inner input gradient (element..., L1*...*Ln*N) as (L1..Ln, element..., N)
    (zeros if None)."""
    size = int(np.prod(lead, dtype=np.int64)) * batch
    return _split(_or_zeros(g, tuple(element) + (size,), dtype), lead, batch)


def _or_zeros(g: Any, shape: tuple, dtype: Any) -> np.ndarray:
    return np.zeros(shape, dtype) if g is None else g
