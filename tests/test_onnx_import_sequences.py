"""Import["model.onnx"] of recurrent models: ONNX's LSTM/GRU/RNN operators (as PyTorch
exports them, time-major between Transposes, zero initial states computed from the
input's Shape) become netdsl's recurrent layers on a "Varying" input, giving PyTorch's
outputs on several lengths; netdsl's own exports of the sequence layers come back equal;
what Wolfram's layers cannot compute is an Import::onnxop error saying why."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX import tests need onnx: pip install 'netdsl[onnx]'")
from onnx import TensorProto, helper  # noqa: E402

from netdsl.errors import NetDSLError  # noqa: E402
from netdsl.expr import make_list  # noqa: E402
from netdsl.formats.onnx_export import to_onnx  # noqa: E402
from netdsl.formats.onnx_import import from_model, load  # noqa: E402
from tests.test_onnx_export import build  # noqa: E402

LAYERS = {"LSTM": "LongShortTermMemoryLayer", "GRU": "GatedRecurrentLayer",
          "RNN": "BasicRecurrentLayer"}


def _torch():
    return pytest.importorskip("torch")


def _export(torch, m, x, path, varying: bool = True):
    axes = {"x": {0: "N", 1: "T"}, "y": {0: "N", 1: "T"}} if varying else \
        {"x": {0: "N"}, "y": {0: "N"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (x,), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes=axes)


def _stacked(torch, kind: str, tail=None):
    cls = getattr(torch.nn, kind)

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = cls(3, 4, batch_first=True)
            self.b = cls(4, 5, batch_first=True)
            self.lin = torch.nn.Linear(5, 2)

        def forward(self, x):
            y = self.b(self.a(x)[0])[0]
            return y if tail is None else self.lin(tail(y))

    torch.manual_seed(0)
    m = M().eval()
    if kind == "GRU":       # Wolfram's GRU has no bias inside r*(Wms.s): torch's b_hn = 0
        with torch.no_grad():
            m.a.bias_hh_l0[8:] = 0
            m.b.bias_hh_l0[10:] = 0
    return m


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_pytorch_recurrent_models_give_pytorch_outputs_on_any_length(tmp_path, kind):
    torch = _torch()
    m = _stacked(torch, kind)
    _export(torch, m, torch.randn(2, 5, 3), tmp_path / "rnn.onnx")
    net = load(tmp_path / "rnn.onnx")
    assert [layer.name for _, layer in net.leaves()] == [LAYERS[kind]] * 2
    assert net.ports["Input"].spec() == make_list(["Varying", 3])
    for n in (1, 4, 9):
        x = torch.randn(3, n, 3)
        np.testing.assert_allclose(net(x.numpy()), m(x).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("tail, layer", [(lambda y: y[:, -1], "SequenceLastLayer"),
                                         (lambda y: y[:, 2], "PartLayer")])
def test_pytorch_last_step_classifier(tmp_path, tail, layer):
    torch = _torch()
    m = _stacked(torch, "LSTM", tail)
    _export(torch, m, torch.randn(2, 5, 3), tmp_path / "clf.onnx", varying=layer != "PartLayer")
    net = load(tmp_path / "clf.onnx")
    assert [v.name for _, v in net.leaves()] == [LAYERS["LSTM"]] * 2 + [layer, "LinearLayer"]
    for n in ((3, 5, 8) if layer != "PartLayer" else (5,)):
        x = torch.randn(4, n, 3)
        np.testing.assert_allclose(net(x.numpy()), m(x).detach().numpy(), atol=1e-5)


def test_netdsl_exports_of_sequence_nets_come_back_equal():
    net = build('NetChain[{GatedRecurrentLayer[4], SequenceReverseLayer[], SequenceRestLayer[], '
                'BasicRecurrentLayer[3], SequenceMostLayer[], LongShortTermMemoryLayer[3], '
                'SequenceLastLayer[], LinearLayer[2]}, "Input" -> {"Varying", 3}]')
    back = from_model(to_onnx(net))
    assert [v.name for _, v in back.leaves()] == [v.name for _, v in net.leaves()]
    for (_, a), (_, b) in zip(net.leaves(), back.leaves()):
        for name, value in a.arrays.items():
            if hasattr(value, "shape"):
                np.testing.assert_array_equal(b.arrays[name], value)
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(back(x), net(x))


def _refused(tmp_path, m, x, match: str):
    torch = _torch()
    _export(torch, m, x, tmp_path / "m.onnx")
    with pytest.raises(NetDSLError, match=match):
        load(tmp_path / "m.onnx")


def test_what_wolfram_layers_cannot_compute_is_refused(tmp_path):
    torch = _torch()
    x = torch.randn(2, 5, 3)
    gru = _stacked(torch, "GRU")
    with torch.no_grad():
        gru.a.bias_hh_l0[8:] = 0.5
    _refused(tmp_path, gru, x, r"GRU .* bias inside its reset gate's product \(Rbh, torch's b_hn\)")

    class Bi(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.a(x)[0]
    _refused(tmp_path, Bi().eval(), x, r"LSTM .* runs bidirectional; netdsl's recurrent layers "
                                      r"run forward")

    class States(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.LSTM(3, 4, batch_first=True)

        def forward(self, x):
            return self.a(x)[1][1][0]          # the cell state c_n: Y_c
    _refused(tmp_path, States().eval(), x, r"LSTM .* second output")


def _model(nodes, inits, x_shape=("N", "T", 3)):
    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _gru_inits(h=2, d=3):
    rng = np.random.default_rng(0)
    return [onnx.numpy_helper.from_array(rng.normal(size=s).astype(np.float32), n)
            for n, s in (("W", (1, 3 * h, d)), ("R", (1, 3 * h, h)))]


def test_a_gru_resetting_before_its_linear_map_is_refused():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]),
             helper.make_node("GRU", ["t", "W", "R"], ["Y"], hidden_size=2)]
    with pytest.raises(NetDSLError, match="linear_before_reset = 0"):
        from_model(_model(nodes, _gru_inits()))


def test_time_major_data_outside_a_recurrent_operator_is_refused():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]),
             helper.make_node("Relu", ["t"], ["y"])]
    with pytest.raises(NetDSLError, match=r"dimensions \[None, None, 3\]; .*a symbolic "
                                             r"second one only for a sequence read by LSTM"):
        from_model(_model(nodes, []))
    with pytest.raises(NetDSLError, match="time-major layout"):
        from_model(_model(nodes, [], ("N", 4, 3)))


def test_layout_1_takes_batch_first_data():
    """ONNX's layout = 1: (N, n, d) in, Y (N, n, 1, H) out, no Transposes."""
    torch = _torch()
    inits = _gru_inits()
    nodes = [helper.make_node("GRU", ["x", "W", "R"], ["Y"], hidden_size=2, layout=1,
                              linear_before_reset=1),
             helper.make_node("Squeeze", ["Y", "ax"], ["y"])]
    inits.append(onnx.numpy_helper.from_array(np.array([2], np.int64), "ax"))
    net = from_model(_model(nodes, inits))
    w, r = (onnx.numpy_helper.to_array(t) for t in inits[:2])
    ref = torch.nn.GRU(3, 2, batch_first=True, bias=False)
    with torch.no_grad():         # ONNX's rows z, r, h are torch's r, z, n reordered
        ref.weight_ih_l0.copy_(torch.tensor(np.concatenate([w[0, 2:4], w[0, :2], w[0, 4:]])))
        ref.weight_hh_l0.copy_(torch.tensor(np.concatenate([r[0, 2:4], r[0, :2], r[0, 4:]])))
    x = torch.randn(2, 6, 3)
    np.testing.assert_allclose(net(x.numpy()), ref(x)[0].detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("kind, last", [("GRU", lambda out: out[1][-1]),
                                        ("LSTM", lambda out: out[1][0][-1]),
                                        ("RNN", lambda out: out[1].squeeze(0))])
def test_the_last_state_output_is_sequence_last(tmp_path, kind, last):
    """torch's h_n (ONNX's Y_h) of a one-layer forward net is the last of the states:
    SequenceLastLayer; the cell state c_n (Y_c) stays refused."""
    torch = _torch()

    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = getattr(torch.nn, kind)(3, 4, batch_first=True)
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.lin(last(self.a(x)))

    torch.manual_seed(1)
    m = M().eval()
    if kind == "GRU":
        with torch.no_grad():
            m.a.bias_hh_l0[8:] = 0
    _export(torch, m, torch.randn(2, 5, 3), tmp_path / "h.onnx")
    net = load(tmp_path / "h.onnx")
    assert [v.name for _, v in net.leaves()] == [LAYERS[kind], "SequenceLastLayer", "LinearLayer"]
    for n in (1, 6):
        x = torch.randn(3, n, 3)
        np.testing.assert_allclose(net(x.numpy()), m(x).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("text", [
    'NetChain[{EmbeddingLayer[16, 95, "Input" -> "Varying"], LongShortTermMemoryLayer[12], '
    'SequenceLastLayer[], LinearLayer[95], SoftmaxLayer[]}]',
    'NetChain[{UnitVectorLayer[6, "Input" -> "Varying"], GatedRecurrentLayer[4]}]',
    'NetChain[{EmbeddingLayer[3, 5, "Input" -> {4}]}]'])
def test_class_index_inputs_come_back(text):
    """netdsl's exports of EmbeddingLayer (Cast, Sub 1, Gather) and UnitVectorLayer (Cast,
    Sub 1, OneHot) import as those layers, with an input of class indices 1..n."""
    net = build(text)
    back = from_model(to_onnx(net))
    assert [v.name for _, v in back.leaves()] == [v.name for _, v in net.leaves()]
    assert back.ports["Input"].words() == net.ports["Input"].words()
    rng = np.random.default_rng(0)
    classes = net.ports["Input"].classes
    for n in ((4,) if "{4}" in text else (1, 5)):
        x = rng.integers(1, classes + 1, size=(3, n))
        np.testing.assert_array_equal(back(x), net(x))


def test_pytorch_embeddings_need_indices_from_1(tmp_path):
    """nn.Embedding reads rows from 0: imported as is, netdsl's EmbeddingLayer (rows from 1)
    would shift every index, so it is refused; a model reading row x - 1 imports."""
    torch = _torch()

    class M(torch.nn.Module):
        def __init__(self, shift):
            super().__init__()
            self.shift = shift
            self.e = torch.nn.Embedding(7, 3)
            self.r = torch.nn.GRU(3, 4, batch_first=True)

        def forward(self, x):
            return self.r(self.e(x - self.shift))[0]

    torch.manual_seed(0)
    x = torch.randint(1, 7, (2, 5))          # rows 0..6 or 1..7: valid for both
    for shift in (0, 1):
        m = M(shift).eval()
        with torch.no_grad():
            m.r.bias_hh_l0[8:] = 0
        _export(torch, m, x, tmp_path / "e.onnx")
        if shift == 0:
            with pytest.raises(NetDSLError, match=r"indices from 0, as PyTorch's nn.Embedding\); "
                                                  r"netdsl's class indices run from 1"):
                load(tmp_path / "e.onnx")
            continue
        net = load(tmp_path / "e.onnx")
        assert [v.name for _, v in net.leaves()] == ["EmbeddingLayer", "GatedRecurrentLayer"]
        for n in (1, 6):
            xs = torch.randint(1, 8, (3, n))
            np.testing.assert_allclose(net(xs.numpy()), m(xs).detach().numpy(), atol=1e-5)
