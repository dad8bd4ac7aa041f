"""A small harness for testing one layer's forward and backward directly.

Layers are built from netdsl text (so their ports and parameters come from the real
inference rules), given random arrays of their declared shapes, and run on batch-last
data, the executor's layout: an example of shape (d1..dk) is stored as (d1..dk, N).
References in the tests are written batch-first, the natural layout; ``to_batch_last``
and ``to_batch_first`` convert.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

import netdsl
from netdsl.layers.base import NO_ARRAY, Layer
from netdsl.runtime.context import Ctx


def build(text: str) -> Layer:
    layer = netdsl.evaluate(text)
    assert isinstance(layer, Layer), f"{text} did not give a layer: {layer!r}"
    return layer


def make_arrays(layer: Layer, seed: int = 0, dtype=np.float64, **given) -> dict[str, np.ndarray]:
    """Random arrays of the layer's declared shapes (absent ones, e.g. "Biases" -> None,
    are left out); ``given`` overrides by name. Variances are drawn positive."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in layer.array_shapes().items():
        if layer.arrays.get(name) is NO_ARRAY:
            continue
        if name in given:
            out[name] = np.asarray(given[name], dtype)
        elif name == "MovingVariance":
            out[name] = rng.uniform(0.5, 2.0, shape).astype(dtype)
        else:
            out[name] = rng.standard_normal(shape).astype(dtype)
    return out


def to_batch_last(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(np.asarray(x), 0, -1))


def to_batch_first(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(np.asarray(x), -1, 0)


def ctx(train: bool = False, grad: bool = False, seed: int = 0) -> Ctx:
    return Ctx(train=train, grad=grad, rng=np.random.default_rng(seed))


def forward(layer: Layer, arrays: dict, *xs_first: np.ndarray, train: bool = False,
            seed: int = 0, dtype=np.float32) -> list[np.ndarray]:
    """Run forward on batch-first inputs (converted to batch-last ``dtype``; integer inputs
    stay int64) and return batch-first outputs. Arrays are cast to float32 like real ones."""
    xs = [to_batch_last(np.asarray(x, np.int64 if np.asarray(x).dtype.kind in "iu" else dtype))
          for x in xs_first]
    arrs = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
    outs, _ = layer.forward(ctx(train, False, seed), arrs, *xs)
    assert all(o.flags.c_contiguous for o in outs)
    if dtype == np.float32:
        assert all(o.dtype == np.float32 for o in outs), [o.dtype for o in outs]
    return [to_batch_first(o) for o in outs]


# ---------------------------------------------------------------- gradients
def _loss(layer, arrays, xs, weights, train, seed):
    outs, _ = layer.forward(ctx(train, False, seed), arrays, *xs)
    return sum(float(np.sum(o * w)) for o, w in zip(outs, weights))


def check_gradients(layer: Layer, arrays: dict[str, np.ndarray], xs: Sequence[np.ndarray],
                    train: bool = False, seed: int = 0, h: float = 1e-6, tol: float = 1e-5,
                    skip_arrays: Sequence[str] = ("MovingMean", "MovingVariance"),
                    skip_inputs: Sequence[int] = ()) -> None:
    """Central differences in float64 for every element of every real input and every
    learned array, against backward, for the scalar loss Sum[w_k out_k] (random w)."""
    xs = [np.ascontiguousarray(x) for x in xs]
    arrays = {k: np.ascontiguousarray(v, np.float64) for k, v in arrays.items()}
    outs, cache = layer.forward(ctx(train, True, seed), arrays, *xs)
    rng = np.random.default_rng(1234)
    weights = [rng.standard_normal(o.shape) for o in outs]
    dxs, darrays = layer.backward(ctx(train, True, seed), arrays, cache, *weights)
    assert len(dxs) == len(xs)

    def numeric(target: np.ndarray) -> np.ndarray:
        g = np.zeros(target.shape)
        flat, gflat = target.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + h
            up = _loss(layer, arrays, xs, weights, train, seed)
            flat[i] = old - h
            down = _loss(layer, arrays, xs, weights, train, seed)
            flat[i] = old
            gflat[i] = (up - down) / (2 * h)
        return g

    checked = []
    for i, (x, dx) in enumerate(zip(xs, dxs)):
        if x.dtype.kind in "iu" or i in skip_inputs:
            continue
        assert dx is not None, f"no gradient for input {i + 1}"
        _compare(f"input {i + 1}", np.asarray(dx), numeric(x), tol)
        checked.append(f"input {i + 1}")
    for name, a in arrays.items():
        if name in skip_arrays:
            assert name not in darrays, f"{name} is not learned but got a gradient"
            continue
        assert name in darrays, f"no gradient for array {name}"
        _compare(f"array {name}", np.asarray(darrays[name]), numeric(a), tol)
        checked.append(name)
    assert checked, "nothing was checked"


def _compare(what: str, analytic: np.ndarray, numeric: np.ndarray, tol: float) -> None:
    assert analytic.shape == numeric.shape, (what, analytic.shape, numeric.shape)
    scale = max(np.abs(numeric).max(), np.abs(analytic).max(), 1e-3)
    err = np.abs(analytic - numeric).max() / scale
    assert err < tol, f"{what}: relative error {err:.3g}\nanalytic {analytic}\nnumeric {numeric}"


# ---------------------------------------------------------------- ONNX
def onnx_run(net, feeds: dict, opset: int = 17):
    """``net`` exported to ONNX (checked by strict shape inference) and run in onnxruntime
    on ``feeds`` (batch first, by input port): its first output. Skips the test when onnx
    or onnxruntime is missing."""
    import pytest
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from netdsl.formats.onnx_export import to_onnx
    model = to_onnx(net, opset)
    onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


# ---------------------------------------------------------------- files and training
def file_round_trip(net, tmp_path, name: str = "net.safetensors"):
    """``net`` saved as a net file and loaded back, checked equal (skips without
    safetensors)."""
    import pytest
    pytest.importorskip("safetensors.numpy")
    path = tmp_path / name
    netdsl.save(net, path)
    back = netdsl.load(path)
    assert back == net
    return back


def round_losses(session, data: str, rounds: int, extra: str = "") -> np.ndarray:
    """NetTrain of the session's ``net`` on ``data`` (netdsl text), batches of 8, seeded,
    quiet: its "RoundLossList"."""
    session.evaluate(f"r = NetTrain[net, {data}, All, MaxTrainingRounds -> {rounds}, "
                     f"BatchSize -> 8, RandomSeeding -> 1, TrainingProgressReporting -> None"
                     f"{', ' + extra if extra else ''}]")
    return np.asarray(session.evaluate('r["RoundLossList"]'), float)


def plan_input_gradients(net, feed: dict[str, np.ndarray], seeds: dict[str, np.ndarray],
                         h: float = 1e-6) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For a net's plan (float64, batch-last ``feed`` by input port): each input's gradient
    of Total[output * seed] (``seeds`` by output port) from the backward pass, and by
    central finite differences: port -> (analytic, numeric)."""
    from netdsl.runtime.gradients import backward
    from netdsl.runtime.plan import compile_plan
    plan = compile_plan(net, "t")

    def value(f: dict) -> float:
        outs, _, _ = plan.run(Ctx(), f)
        return float(sum(np.sum(outs[p] * s) for p, s in seeds.items()))

    c = Ctx(grad=True)
    c.keep_input_grads = True
    _, values, caches = plan.run(c, feed, keep=True)
    grads = backward(plan.steps, c, values, caches,
                     {plan.outputs[p]: s for p, s in seeds.items()}, lambda k, g: None,
                     set(plan.inputs.values()))
    out = {}
    for port, x in feed.items():
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            up, down = dict(feed), dict(feed)
            up[port], down[port] = x.copy(), x.copy()
            up[port][i] += h
            down[port][i] -= h
            numeric[i] = (value(up) - value(down)) / (2 * h)
        out[port] = (grads[plan.inputs[port]], numeric)
    return out
