"""ONNX's own conformance tests run through Import and netdsl's executor.

Cases: the node tests that ``onnx.backend.test.case.node`` generates, and the model
suites shipped in the onnx package (pytorch-converted, pytorch-operator, simple): each a
model with inputs and expected outputs. A case is in scope when every operator it uses
is one netdsl maps (``MAPPED``); parameters that a node test feeds as inputs (weights,
statistics, shapes) become initializers first (``prepare``). An in-scope case whose
model needs something netdsl lacks is refused by Import with an ``Import::onnxop``
error: it is skipped, with that reason.
Every other in-scope case must give ONNX's outputs at ONNX's tolerances (rtol 1e-3,
atol 1e-7). ``python tests/onnx_suite.py`` prints the counts and the skip reasons.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

MAPPED = set("""Conv BatchNormalization Relu Sigmoid Tanh Exp Log Sqrt Abs Sin Cos Erf Elu Selu
LeakyRelu Softplus Softsign HardSigmoid HardSwish Mish Gelu Neg Reciprocal Clip Pow MaxPool
AveragePool GlobalAveragePool GlobalMaxPool Gemm MatMul Add Sub Mul Div Max Min Sum Mean Flatten
Reshape Softmax Concat Dropout Identity Constant Transpose ReduceMean ReduceSum ReduceMax
ReduceMin PRelu LayerNormalization Pad LSTM GRU RNN Gather Slice Squeeze Shape ConstantOfShape
Unsqueeze""".split())
SUITES = ("pytorch-converted", "pytorch-operator", "simple")


def cases():
    """(name, model, [(inputs, outputs)]) for every case in scope (``in_scope``)."""
    import onnx
    from onnx.backend.test.case.node import collect_testcases
    import warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        node_cases = collect_testcases()
    for c in node_cases:
        ops = {n.op_type for n in c.model.graph.node}
        if ops <= MAPPED:
            yield c.name, c.model, [(list(i), list(o)) for i, o in c.data_sets]
    root = Path(onnx.__file__).parent / "backend" / "test" / "data"
    for suite in SUITES:
        for d in sorted((root / suite).glob("*/")):
            if not (d / "model.onnx").exists():
                continue
            model = onnx.load(str(d / "model.onnx"))
            if not in_scope(model):
                continue
            sets = []
            for s in sorted(d.glob("test_data_set_*")):
                sets.append((_read(s, "input"), _read(s, "output")))
            yield f"{suite}/{d.name}", model, sets


# where an operator takes arrays (weights, biases, statistics, shapes, bounds): a node test
# feeds these as graph inputs, netdsl holds them in its layers, so they become initializers
PARAMETERS = {"Conv": {1, 2}, "BatchNormalization": {1, 2, 3, 4}, "Gemm": {1, 2},
              "MatMul": {1}, "Clip": {1, 2}, "Reshape": {1}, "Dropout": {1, 2},
              "PRelu": {1}, "LayerNormalization": {1, 2}, "ReduceMean": {1}, "ReduceSum": {1},
              "ReduceMax": {1}, "ReduceMin": {1}, "Pad": {1, 2, 3},
              "LSTM": {1, 2, 3, 4, 5, 6, 7}, "GRU": {1, 2, 3, 4, 5}, "RNN": {1, 2, 3, 4, 5},
              "Gather": {1}, "Slice": {1, 2, 3, 4}, "Squeeze": {1}, "Unsqueeze": {1}}


def in_scope(model) -> bool:
    """Every operator of the model is one netdsl maps."""
    return {n.op_type for n in model.graph.node} <= MAPPED


def prepare(model, sets):
    """The model with its parameter inputs as initializers (their values from the data,
    the same in every data set) and input shapes filled in from the data where the model
    leaves them open; the data sets without those inputs."""
    import onnx
    from onnx import numpy_helper
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    names = [i.name for i in g.input if i.name not in {t.name for t in g.initializer}]
    params = {node.input[k] for node in g.node for k in PARAMETERS.get(node.op_type, ())
              if k < len(node.input) and node.input[k] in names}
    params = {p for p in params
              if all(np.array_equal(xs[names.index(p)], sets[0][0][names.index(p)])
                     for xs, _ in sets)}
    for p in params:
        g.initializer.append(numpy_helper.from_array(sets[0][0][names.index(p)], p))
    keep = [i for i, n in enumerate(names) if n not in params]
    for i in list(g.input):
        if i.name in params:
            g.input.remove(i)
    for vi in g.input:
        if vi.name in names and vi.name not in params and vi.type.HasField("tensor_type"):
            t = vi.type.tensor_type
            if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
                x = sets[0][0][names.index(vi.name)]
                t.ClearField("shape")
                for n in x.shape:
                    t.shape.dim.add().dim_value = n
    return model, [([xs[i] for i in keep], ys) for xs, ys in sets]


def _read(folder: Path, kind: str) -> list[np.ndarray]:
    """input_0.pb, input_1.pb, ... (or output_*) of one data set, in order."""
    import onnx
    from onnx import numpy_helper
    out = []
    for f in sorted(folder.glob(f"{kind}_*.pb"), key=lambda p: int(p.stem.split("_")[1])):
        t = onnx.TensorProto()
        t.ParseFromString(f.read_bytes())
        out.append(numpy_helper.to_array(t))
    return out


def run_case(model, sets) -> str | None:
    """None if netdsl gives the outputs; else the skip reason (Import::onnxop's text)."""
    from netdsl.formats.onnx_import import Unsupported, from_model
    for _, ys in sets:
        if any(isinstance(y, np.ndarray) and y.dtype.kind == "f" and not np.isfinite(y).all()
               for y in ys):
            return ("the expected outputs hold NaN or Infinity, which netdsl reports as an "
                    "error (General::netnan)")
    model, sets = prepare(model, sets)
    try:
        net = from_model(model)
    except Unsupported as e:
        return e.text
    inputs = [i.name for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    outputs = [o.name for o in model.graph.output]
    for xs, ys in sets:
        got = net(xs[0]) if len(inputs) == 1 else net(dict(zip(inputs, xs)))
        got = got if isinstance(got, dict) else {outputs[0]: got}
        for name, y in zip(outputs, ys):
            np.testing.assert_allclose(np.asarray(got[name]), y, rtol=1e-3, atol=1e-7,
                                       err_msg=name)
    return None


def reason_group(text: str) -> str:
    """A skip reason without the node's and values' names, to group cases."""
    text = re.sub(r'\(node "[^"]*"\) ', "", text)
    text = re.sub(r'"[^"]*"', '"..."', text)
    text = re.sub(r"\[[-0-9, ]*\]", "[...]", text)
    text = re.sub(r"axis -?\d+", "axis k", text)
    text = re.sub(r"rank-\d+", "rank-r", text)
    return text


def summary():
    passed, skipped, failed = [], defaultdict(list), []
    for name, model, sets in cases():
        try:
            why = run_case(model, sets)
        except AssertionError as e:
            failed.append((name, str(e).splitlines()[0:6]))
            continue
        except Exception as e:  # noqa: BLE001
            failed.append((name, [f"{type(e).__name__}: {e}"]))
            continue
        if why is None:
            passed.append(name)
        else:
            skipped[reason_group(why)].append(name)
    return passed, skipped, failed


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    passed, skipped, failed = summary()
    print(f"passed {len(passed)}, skipped {sum(map(len, skipped.values()))}, failed {len(failed)}")
    for why, names in sorted(skipped.items(), key=lambda kv: -len(kv[1])):
        print(f"- {len(names)}: {why} ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})")
    for name, msg in failed:
        print("FAILED", name, msg)
