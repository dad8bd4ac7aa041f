"""Net files (.safetensors): round trips, tensor names, metadata, foreign files, and hostile
files that must give a netdsl error without allocating or evaluating anything."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

import netdsl
from netdsl import budget
from netdsl.errors import NetDSLError
from netdsl.formats import netfile

safetensors_numpy = pytest.importorskip("safetensors.numpy")

EVERY_LAYER = '''NetInitialize@NetGraph[<|
  "conv" -> ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1, "Stride" -> 2],
  "bn" -> BatchNormalizationLayer["Momentum" -> 0.8, "Epsilon" -> 0.01],
  "act" -> ElementwiseLayer[Max[#, 0.1 #] &],
  "pool" -> PoolingLayer[{2, 2}, "Function" -> Mean, "PaddingSize" -> "Same"],
  "drop" -> DropoutLayer[0.3],
  "flat" -> FlattenLayer[],
  "lin" -> LinearLayer[6, "Biases" -> None],
  "cat" -> CatenateLayer[],
  "tot" -> TotalLayer[],
  "thr" -> ThreadingLayer[#1 * #2 - #1 &],
  "re" -> ReshapeLayer[{2, Automatic}],
  "fl2" -> FlattenLayer[],
  "sm" -> SoftmaxLayer[],
  "sum" -> SummationLayer[]|>,
  {NetPort["Input"] -> "conv" -> "bn" -> "act" -> "pool" -> "drop" -> "flat" -> "lin",
   {"lin", "lin"} -> "cat", {"lin", "lin"} -> "tot", {"lin", "tot"} -> "thr",
   "cat" -> "re" -> "fl2" -> "sm" -> NetPort["Probs"], "thr" -> "sum" -> NetPort["Total"]},
  "Input" -> {2, 9, 9}]'''


def ev(text: str):
    return netdsl.Session().evaluate(text)


def roundtrip(net, tmp_path, name="net.safetensors"):
    path = tmp_path / name
    netdsl.save(net, path)
    return netdsl.load(path)


def assert_bit_exact(a, b):
    for (pa, la), (pb, lb) in zip(a.leaves(), b.leaves()):
        assert pa == pb and type(la) is type(lb)
        for k in la.arrays:
            x, y = la.arrays[k], lb.arrays[k]
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype == np.float32
                assert x.tobytes() == y.tobytes()
            else:
                assert x is y or x == y
    for k, v in a.shared.items():
        assert v.tobytes() == b.shared[k].tobytes()


@pytest.mark.parametrize("text", [
    'NetInitialize@NetChain[{ConvolutionLayer[3, 3], BatchNormalizationLayer[], Ramp, '
    'PoolingLayer[2, 2], FlattenLayer[], LinearLayer[10], SoftmaxLayer[]}, "Input" -> {1, 12, 12}]',
    'NetInitialize@NetChain[<|"conv" -> ConvolutionLayer[2, {3}], "bn" -> BatchNormalizationLayer[],'
    ' "t" -> Tanh|>, "Input" -> {3, 10}]',
    'NetInitialize@LinearLayer[3, "Input" -> {2, 2}]',
    'NetInitialize@NetChain[{NetChain[<|"a" -> LinearLayer[4], "b" -> ElementwiseLayer["ELU"]|>], '
    '{LinearLayer[2], LogisticSigmoid}}, "Input" -> 3]',
    EVERY_LAYER,
    'NetInitialize@NetChain[{DeconvolutionLayer[2, {3, 3}, "Stride" -> 2], NormalizationLayer[], '
    'ParametricRampLayer[], ConstantPlusLayer[], ConstantTimesLayer[], PaddingLayer[{{0, 0}, '
    '{1, 1}, {0, 2}}], PartLayer[{All, 1 ;; 3}], TransposeLayer[], ReplicateLayer[2], '
    'AggregationLayer[Max]}, "Input" -> {3, 4, 4}]',
    'NetInitialize@NetGraph[{ConstantArrayLayer["Output" -> {2, 3}], DotLayer[], '
    'EmbeddingLayer[4, 6, "Input" -> "Integer"]}, {{1, NetPort["x"]} -> 2}, "x" -> {3, 2}]',
    'NetInitialize@NetGraph[<|"lin" -> LinearLayer[3], "mse" -> MeanSquaredLossLayer[], '
    '"sig" -> LogisticSigmoid, "ce" -> CrossEntropyLossLayer["Binary"]|>, '
    '{"lin" -> NetPort["mse", "Input"], "lin" -> "sig" -> NetPort["ce", "Input"]}, "Input" -> 2]',
])
def test_round_trip_is_equal_and_bit_exact(text, tmp_path):
    net = ev(text)
    back = roundtrip(net, tmp_path)
    assert back == net
    assert_bit_exact(net, back)
    assert netdsl.input_form(back) == netdsl.input_form(net)


def test_every_layer_net_evaluates_the_same_after_loading(tmp_path):
    net = ev(EVERY_LAYER)
    back = roundtrip(net, tmp_path)
    x = np.random.default_rng(0).normal(size=(5, 2, 9, 9)).astype(np.float32)
    for port in ("Probs", "Total"):
        assert np.array_equal(net(x, port=port), back(x, port=port))


def test_shared_arrays_and_missing_biases(tmp_path):
    net = ev('NetInitialize@NetChain[{LinearLayer[3, "Weights" -> NetSharedArray["w"]], Ramp, '
             'LinearLayer[3, "Weights" -> NetSharedArray["w"], "Biases" -> None]}, "Input" -> 3]')
    path = tmp_path / "s.safetensors"
    netdsl.save(net, path)
    raw = safetensors_numpy.load_file(str(path))
    assert sorted(raw) == ["1/Biases", "shared/w"]
    back = netdsl.load(path)
    assert back == net and back.shared["w"].tobytes() == net.shared["w"].tobytes()


def test_insert_shared_arrays_names(tmp_path):
    net = ev('NetInsertSharedArrays@NetInitialize@NetChain[<|"bn" -> BatchNormalizationLayer[], '
             '"lin" -> LinearLayer[2]|>, "Input" -> 3]')
    path = tmp_path / "s.safetensors"
    netdsl.save(net, path)
    names = set(safetensors_numpy.load_file(str(path)))
    assert names == {"shared/bn/Scaling", "shared/bn/Biases", "bn/MovingMean",
                     "bn/MovingVariance", "shared/lin/Weights", "shared/lin/Biases"}
    assert netdsl.load(path) == net


def test_tensor_names_are_netextract_paths_and_metadata_is_text(tmp_path):
    net = ev('NetInitialize@NetChain[<|"conv" -> ConvolutionLayer[2, 3], '
             '"bn" -> BatchNormalizationLayer[]|>, "Input" -> {1, 5, 5}]')
    path = tmp_path / "n.safetensors"
    netdsl.save(net, path)
    from safetensors import safe_open
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        names = set(f.keys())
        assert np.array_equal(f.get_tensor("bn/MovingMean"),
                              np.asarray(ev_extract(net, '{"bn", "MovingMean"}')))
    assert names == {"conv/Weights", "conv/Biases", "bn/Scaling", "bn/Biases",
                     "bn/MovingMean", "bn/MovingVariance"}
    assert meta["format"] == "netdsl-net" and meta["format_version"] == "1"
    assert meta["netdsl_version"] == netdsl.__version__
    # the architecture is NetInitialize[net, None]: no numbers
    s = netdsl.Session()
    s["net"] = net
    assert meta["net"] == netdsl.input_form(s.evaluate("NetInitialize[net, None]"))
    assert "Weights" not in meta["net"]


def ev_extract(net, spec):
    s = netdsl.Session()
    s["net"] = net
    return s.evaluate(f"NetExtract[net, {spec}]")


def test_uninitialized_net_and_elements(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    s.evaluate('net = NetChain[{LinearLayer[3], Ramp}, "Input" -> 2]; '
               'Export["u.safetensors", net]')
    assert s.evaluate('Import["u.safetensors"] == net') is netdsl.Symbol("True")
    s.evaluate('Export["i.safetensors", NetInitialize[net]]')
    assert s.evaluate('Import["i.safetensors", "UninitializedNet"] == net') \
        is netdsl.Symbol("True")
    keys = s.evaluate('Keys[Import["i.safetensors", "ArrayAssociation"]]')
    assert list(keys.args) == ["1/Biases", "1/Weights"]


def test_foreign_file_imports_as_association(tmp_path):
    path = tmp_path / "plain.safetensors"
    arrays = {"w": np.arange(6, dtype=np.float64).reshape(2, 3), "i": np.array([1, 2], np.int64)}
    safetensors_numpy.save_file(arrays, str(path))
    s = netdsl.Session()
    s["f"] = str(path)
    a = s.evaluate("Import[f]")
    assert isinstance(a, netdsl.Association) and set(a.keys()) == {"w", "i"}
    assert np.array_equal(a.get("w"), arrays["w"])
    with pytest.raises(NetDSLError, match="ArrayAssociation") as e:
        s.evaluate('Import[f, "Net"]')
    assert e.value.tag == "nonet"
    assert set(netdsl.load(path)) == {"w", "i"}


def test_torch_saved_file_imports_as_association(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    m = torch.nn.Linear(3, 2)
    save_file(dict(m.state_dict()), str(tmp_path / "t.safetensors"))
    d = netdsl.load(tmp_path / "t.safetensors")
    assert set(d) == {"weight", "bias"}
    assert np.array_equal(d["weight"], m.weight.detach().numpy())


def test_export_association_writes_plain_tensors(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    s.evaluate('Export["a.safetensors", <|"x" -> {{1., 2.}, {3., 4.}}|>]')
    assert np.array_equal(safetensors_numpy.load_file(str(tmp_path / "a.safetensors"))["x"],
                          [[1, 2], [3, 4]])


def test_wl_text_export_and_get(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    s.evaluate('net = NetInitialize@NetChain[{LinearLayer[3, "Weights" -> NetSharedArray["w"]],'
               ' LinearLayer[3, "Weights" -> NetSharedArray["w"]]}, "Input" -> 3]; '
               'Export["net.wl", net]')
    text = (tmp_path / "net.wl").read_text()
    assert text.startswith("NetReplacePart[NetChain[")
    assert s.evaluate('Get["net.wl"] == net') is netdsl.Symbol("True")
    assert netdsl.load(tmp_path / "net.wl") == s["net"]


# ---------------------------------------------------------------- hostile files
def write_raw(path, header: dict | bytes, data: bytes = b"", length: int | None = None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if length is None else length
    path.write_bytes(struct.pack("<Q", n) + raw + data)
    return path


def meta_of(net) -> dict:
    return {"format": "netdsl-net", "format_version": "1", "net": netfile.architecture(net)}


SMALL = 'NetInitialize@NetChain[{LinearLayer[2]}, "Input" -> 2]'


@pytest.mark.parametrize("header,data,length,match", [
    (b"", b"", None, "not JSON"),
    ({}, b"", 10 ** 15, "claims"),
    (b"not json at all", b"", None, "not JSON"),
    (b"[1, 2]", b"", None, "not a JSON object"),
    ({"x": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"00", None, "BF16"),
    ({"x": {"dtype": "O", "shape": [1], "data_offsets": [0, 8]}}, b"0" * 8, None, "dtype"),
    ({"x": {"dtype": "F32", "shape": [10 ** 6, 10 ** 6, 10 ** 6],
            "data_offsets": [0, 4 * 10 ** 18]}}, b"", None, "outside"),
    ({"x": {"dtype": "F32", "shape": [10 ** 6, 10 ** 6], "data_offsets": [0, 8]}},
     b"0" * 8, None, "needs"),
    ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"0" * 4, None, "shape"),
    ({"x": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"0" * 4, None, "shape"),
    ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"0" * 12, None, "same bytes"),
    ({"__metadata__": {"net": 5}}, b"", None, "metadata"),
])
def test_hostile_headers_are_netdsl_errors(tmp_path, header, data, length, match):
    path = write_raw(tmp_path / "bad.safetensors", header, data, length)
    with pytest.raises(NetDSLError, match=match) as e:
        netdsl.load(path)
    assert e.value.symbol == "Import"


def test_truncated_file(tmp_path):
    net = ev(SMALL)
    path = tmp_path / "n.safetensors"
    netdsl.save(net, path)
    raw = path.read_bytes()
    for cut, match in ((4, "fewer than the 8"), (9, "claims"), (len(raw) // 2, "claims"),
                       (len(raw) - 1, "outside")):
        (tmp_path / "t.safetensors").write_bytes(raw[:cut])
        with pytest.raises(NetDSLError, match=match):
            netdsl.load(tmp_path / "t.safetensors")


def test_budget_is_checked_before_reading(tmp_path):
    net = ev(SMALL)
    path = tmp_path / "n.safetensors"
    netdsl.save(net, path)
    budget.set_limit(8)
    try:
        with pytest.raises(NetDSLError) as e:
            netdsl.load(path)
        assert e.value.tag == "tnsrmaxsz"
    finally:
        budget.set_limit(None)


@pytest.mark.parametrize("text,match", [
    ('Export["PWNED.csv", {1}]', "not a net"),
    ('NetChain[{LinearLayer[2], Export["PWNED.csv", {1}]}, "Input" -> 2]', "not a layer"),
    ('x = 5', "not a net"),
    ('NetChain[{LinearLayer[2]}, "Input" -> 2]; Quit[3]', "not a net"),
    ('NetChain[{LinearLayer[2]}, "Input" -> 2]\nQuit[3]', "expressions"),
    ('NetChain[{LinearLayer[2]', "not valid netdsl text"),
    ('ElementwiseLayer[Export["PWNED.csv", {#}] &]', "does not build a net"),
    ('NetChain[{LinearLayer[2, "Biases" -> RandomReal[1, 10^9]]}]', "does not build a net"),
])
def test_hostile_architecture_text_is_never_evaluated(tmp_path, monkeypatch, text, match):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.safetensors"
    safetensors_numpy.save_file({}, str(path), metadata={"format": "netdsl-net",
                                                          "format_version": "1", "net": text})
    with pytest.raises(NetDSLError, match=match):
        netdsl.load(path)
    assert not (tmp_path / "PWNED.csv").exists()


def test_tensors_that_do_not_fit_the_architecture(tmp_path):
    net = ev(SMALL)
    meta = meta_of(net)
    cases = [
        ({"1/Weights": np.zeros((3, 2), np.float32)}, "dimensions"),
        ({"1/Weights": np.zeros((2, 2), np.float64)}, "float32"),
        ({"1/Gamma": np.zeros((2,), np.float32)}, "names no array"),
        ({"1/Weights": np.full((2, 2), np.nan, np.float32)}, "NaN"),
    ]
    for tensors, match in cases:
        path = tmp_path / "x.safetensors"
        safetensors_numpy.save_file(tensors, str(path), metadata=meta)
        with pytest.raises(NetDSLError, match=match):
            netdsl.load(path)


def test_other_format_version_is_refused(tmp_path):
    path = tmp_path / "v.safetensors"
    meta = {**meta_of(ev(SMALL)), "format_version": "99"}
    safetensors_numpy.save_file({}, str(path), metadata=meta)
    with pytest.raises(NetDSLError, match="version 99"):
        netdsl.load(path)


def test_import_errors_name_the_file(tmp_path):
    s = netdsl.Session()
    s.base_dir = str(tmp_path)
    with pytest.raises(NetDSLError) as e:
        s.evaluate('Import["missing.safetensors"]')
    assert e.value.tag == "nffil"
    write_raw(tmp_path / "b.safetensors", b"xx")
    with pytest.raises(NetDSLError, match="b.safetensors"):
        s.evaluate('Import["b.safetensors"]')
    with pytest.raises(NetDSLError) as e:
        s.evaluate('Import["b.safetensors", "Graph"]')
    assert e.value.tag == "noelem"
    with pytest.raises(NetDSLError) as e:
        s.evaluate('Export["x.safetensors", "text"]')
    assert e.value.tag == "type"
