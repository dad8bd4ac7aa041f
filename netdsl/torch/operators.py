"""NetMapOperator, NetMapThreadOperator, NetFoldOperator, NetBidirectionalOperator,
NetNestOperator, NetPairEmbeddingOperator and AttentionLayer[net] /
SequenceAttentionLayer[net] as torch functions, batch-first, running their inner nets'
plans as the NumPy executor does (runtime/operator_steps.py):

- a map: the inner net once on the (N n, element...) tensor the length makes when
  folded into the batch;
- a fold: the inner net once per step on element t of each mapped input, the constants
  and the states (zeros unless given), each fed-back output the next state; the final
  states are the state output ports when read;
- a bidirectional operator: the forward net on the input, the backward net on it
  reversed along the length (its output reversed back when it is a sequence), then
  Catenate, Total or Mean;
- a nest: the inner net n times, each output the next input;
- a map over n levels (NetMapThreadOperator): each input expanded over the levels below
  its depth and those levels folded into the batch, as the map;
- a pair embedding: the inner net once on the (N 2, element...) tensor of both arrays
  of each pair, then the distance of the two embeddings (squared Euclidean or cosine,
  graph/operators.py);
- a net as the scoring net: the scoring net once on every (example, head, query, key)
  pair, then the layer's softmax, masks and rescaling (torch/attention.py).

The inner arrays are the operator step's flat ones ("plan/step/array"), so the module's
parameters keep their NetExtract paths; moving statistics of inner BatchNormalization
layers move once per pass (a fold: once per step, in step order, as netdsl's).
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import EvaluationError
from ..layers.attention_core import weights_dims
from .attention import _attend_scores, _heads
from .layers import TORCH_LAYERS, register_torch_layer

HEAD = "netdsl.torch"


class _InnerPlan:
    """One inner plan of an operator step, each of its steps converted."""

    def __init__(self, runner: Any, p: int):
        plan = runner.plans[p]
        self.inputs, self.outputs, self.n_slots = plan.inputs, plan.outputs, plan.n_slots
        self.steps = []
        for j, st in enumerate(plan.steps):
            convert = TORCH_LAYERS.get(st.layer.name)
            if convert is None:
                raise EvaluationError(f"{st.layer.name} (inside {runner.name}) has no PyTorch "
                                      f"counterpart; register one with "
                                      f"netdsl.torch.register_torch_layer.", symbol=HEAD,
                                      tag="notorch")
            self.steps.append((convert(st.layer), runner.flat[p][j], st.ins, st.outs))
        self.batch_statistics = any(getattr(op, "batch_statistics", False)
                                    for op, *_ in self.steps)

    def run(self, a: dict, inputs: dict, training: bool, sync: Any = None
            ) -> tuple[dict, dict]:
        """The outputs by port, and the moving statistics moved (by flat name; ``a`` is
        updated with them, so a fold's next step moves them further)."""
        values: list[Any] = [None] * self.n_slots
        for port, slot in self.inputs.items():
            values[slot] = inputs[port]
        batch = next(iter(inputs.values())).shape[0]
        moved = {}
        for op, names, ins, outs in self.steps:
            extra: dict[str, Any] = {}
            if sync is not None and getattr(op, "batch_statistics", False):
                extra["sync"] = sync
            if getattr(op, "needs_batch", False):
                extra["batch"] = batch
            ys, moving = op({n: a[f] for n, f in names.items()}, [values[i] for i in ins],
                            training, **extra)
            for slot, y in zip(outs, ys):
                values[slot] = y
            for name, value in moving.items():
                a[names[name]] = moved[names[name]] = value
        return {p: values[s] for p, s in self.outputs.items()}, moved


def _operator(build):
    """Register ``build(runner, plans) -> fn(a, xs, training, sync) -> (ys, moved)`` as the
    converter of an operator step, with the attributes NetModule asks ops for."""
    def convert(runner):
        plans = [_InnerPlan(runner, p) for p in range(len(runner.plans))]
        fn = build(runner, plans)

        def op(a, xs, training, sync=None):
            return fn(dict(a), xs, training, sync)
        op.batch_statistics = any(p.batch_statistics for p in plans)  # type: ignore[attr-defined]
        return op
    return convert


@register_torch_layer("NetMapOperator")
@_operator
def _map(runner, plans):
    inner = plans[0]

    def fn(a, xs, training, sync):
        x = xs[0]
        n, batch = x.shape[1], x.shape[0]
        outs, moved = inner.run(a, {"Input": x.reshape((batch * n,) + tuple(x.shape[2:]))},
                                training, sync)
        y = outs["Output"]
        return [y.reshape((batch, n) + tuple(y.shape[1:]))], moved
    return fn


@register_torch_layer("NetFoldOperator")
@_operator
def _fold(runner, plans):
    inner, fold = plans[0], runner.fold

    def fn(a, xs, training, sync):
        given = dict(zip(runner.in_names, xs))
        first = given[fold.mapped[0]]
        batch, n = first.shape[0], first.shape[1]
        states = {i: given[i] if i in given else
                  first.new_zeros((batch,) + runner.shapes[i]) for i in fold.states}
        ys: dict[str, list] = {o: [] for o in fold.outputs}
        moved: dict[str, Any] = {}
        for t in range(n):
            feeds = {**{c: given[c] for c in fold.constants}, **states,
                     **{m: given[m][:, t] for m in fold.mapped}}
            outs, step_moved = inner.run(a, feeds, training, sync)
            moved.update(step_moved)
            states = {i: outs[o] for o, i in fold.feedback}
            for o in fold.outputs:
                ys[o].append(outs[o])
        result = [(torch.stack(ys[p], 1) if n else
                   first.new_zeros((batch, 0) + runner.shapes[p])) if p in ys else states[p]
                  for p in runner.out_names]
        return result, moved
    return fn


@register_torch_layer("NetNestOperator")
@_operator
def _nest(runner, plans):
    inner = plans[0]

    def fn(a, xs, training, sync):
        x, moved = xs[0], {}
        for _ in range(runner.iterations):
            outs, step_moved = inner.run(a, {"Input": x}, training, sync)
            moved.update(step_moved)
            x = outs["Output"]
        return [x], moved
    return fn


@register_torch_layer("NetBidirectionalOperator")
@_operator
def _bidirectional(runner, plans):
    forward, backward = plans
    axis = 2 if runner.sequential else 1

    def fn(a, xs, training, sync):
        x = xs[0]
        f, moved = forward.run(a, {"Input": x}, training, sync)
        b, moved_b = backward.run(a, {"Input": x.flip(1)}, training, sync)
        f, b = f["Output"], b["Output"]
        if runner.sequential:
            b = b.flip(1)
        if runner.aggregation == "Catenate":
            y = torch.cat([f, b], axis)
        else:
            y = f + b if runner.aggregation == "Total" else (f + b) * 0.5
        return [y], {**moved, **moved_b}
    return fn


@register_torch_layer("NetMapThreadOperator")
@_operator
def _map_thread(runner, plans):
    inner, thread = plans[0], runner.thread
    n = thread.n

    def fn(a, xs, training, sync):
        given = dict(zip(runner.in_names, xs))
        full = next(x for p, x in given.items() if thread.depth(p) == n)
        batch, lead = full.shape[0], tuple(full.shape[1:1 + n])
        feeds = {}
        for p, x in given.items():
            d = thread.depth(p)
            rest = tuple(x.shape[1 + d:])
            x = x.reshape((batch,) + tuple(x.shape[1:1 + d]) + (1,) * (n - d) + rest)
            feeds[p] = x.expand((batch,) + lead + rest).reshape((-1,) + rest)
        outs, moved = inner.run(a, feeds, training, sync)
        return [outs[o].reshape((batch,) + lead + tuple(outs[o].shape[1:]))
                for o in runner.out_names], moved
    return fn


@register_torch_layer("NetPairEmbeddingOperator")
@_operator
def _pair(runner, plans):
    inner = plans[0]

    def fn(a, xs, training, sync):
        x = xs[0]
        batch = x.shape[0]
        outs, moved = inner.run(a, {"Input": x.reshape((batch * 2,) + tuple(x.shape[2:]))},
                                training, sync)
        e = outs["Output"].reshape(batch, 2, -1)
        e1, e2 = e[:, 0], e[:, 1]
        if runner.distance == "EuclideanDistance":
            return [((e1 - e2) ** 2).sum(1)], moved
        n1, n2 = (torch.sqrt((v * v).sum(1) + 1e-10) for v in (e1, e2))
        return [1 - (e1 * e2).sum(1) / (n1 * n2)], moved
    return fn


def _scored(runner, plans):
    """AttentionLayer[net] and SequenceAttentionLayer[net]."""
    inner, layer = plans[0], runner.template
    heads = bool(layer.head_levels)
    window = getattr(layer, "window", None)
    rescaling = layer.values.get("ScoreRescaling")
    dropout = float(layer.values.get("Dropout", 0.0))

    def fn(a, xs, training, sync):
        key, value, query = (xs[0], xs[0], xs[1]) if runner.self_attention else xs
        k, v, q = _heads(key, heads), _heads(value, heads), _heads(query, heads)
        n, h, length, m = k.shape[0], k.shape[1], k.shape[2], q.shape[2]
        pairs = n * h * m * length
        keys = k[:, :, None].expand(n, h, m, length, k.shape[3]).reshape(pairs, -1)
        queries = q[:, :, :, None].expand(n, h, m, length, q.shape[3]).reshape(pairs, -1)
        outs, moved = inner.run(a, {"Input": keys, "Query": queries}, training, sync)
        scores = outs["Output"].reshape(n, h, m, length)
        out, att = _attend_scores(scores, v, q.shape[-1], window, rescaling, dropout, training)
        ys = [out.transpose(1, 2).reshape(query.shape[:-1] + (value.shape[-1],))]
        if runner.weights_shown:
            dims = weights_dims(tuple(query.shape[1:]), tuple(key.shape[1:]),
                                layer.head_levels)
            ys.append(att.permute(0, 2, 1, 3).reshape((n,) + tuple(dims)))
        return ys, moved
    return fn


register_torch_layer("AttentionLayer[net]")(_operator(_scored))
register_torch_layer("SequenceAttentionLayer[net]")(_operator(_scored))
