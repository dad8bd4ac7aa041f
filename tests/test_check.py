"""``netdsl check FILE.wl``: every net operation at the level of shapes, no arrays."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from netdsl.check import check_text, run_check

ROOT = Path(__file__).resolve().parents[1]
OK = "examples/check_ok.wl"
ERRORS = "examples/check_errors.wl"


def netdsl_check(path: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "netdsl", "check", path], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def locate(text: str, marker: str) -> tuple[int, int]:
    """Line and column (from 1) of the one occurrence of ``marker`` in ``text``."""
    assert text.count(marker) == 1, marker
    i = text.index(marker)
    return text.count("\n", 0, i) + 1, i - text.rfind("\n", 0, i)


def check(text: str, path: str = "t.wl") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_text(text, path, out, err)
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------- the example files
def test_check_ok_example_passes_and_prints_each_nets_ports():
    r = netdsl_check(OK)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    text = (ROOT / OK).read_text(encoding="utf-8")
    lines = r.stdout.splitlines()
    assert lines[-1] == f"{OK}: ok"

    def line_of(marker):
        return locate(text, marker)[0]

    assert f'{OK}:{line_of("features = ")}: features = NetChain: "Input" 3-tensor -> "Output" ' \
           f"3-tensor of dimensions {{32, n, n}}" in lines
    classifier = ('"Input" 3-tensor of dimensions {3, 32, 32} -> "Output" vector of size 10')
    assert f"{OK}:{line_of('classifier = NetChain')}: classifier = NetChain: {classifier}" in lines
    assert f"{OK}:{line_of('block = ')}: block = NetGraph: \"Input\" 3-tensor of dimensions " \
           f"{{16, 8, 8}}, \"Skip\" 3-tensor of dimensions {{32, 8, 8}} -> \"Output\" 3-tensor " \
           f"of dimensions {{32, 8, 8}}" in lines
    assert f'{OK}:{line_of("withLoss = ")}: withLoss = NetGraph: "Input" 3-tensor of ' \
           f'dimensions {{3, 32, 32}}, "Target" index in 1..10 -> "Loss" real number' in lines
    assert f"{OK}:{line_of('net = NetInitialize')}: net = NetChain: {classifier}" in lines
    assert f"{OK}:{line_of('probabilities = ')}: probabilities = output of dimensions {{10}}" \
        in lines
    assert f"{OK}:{line_of('batch = ')}: batch = output of dimensions {{4, 10}}" in lines
    assert f"{OK}:{line_of('trained = ')}: trained = NetChain: {classifier}" in lines


# each mistake in check_errors.wl: where it is written, and the message it gets
MISTAKES = [
    ('BatchNormalizationLayer["Input" -> {8, 28, 28}]',
     'NetChain::tyinc: Dimension of "Output" port of layer 1 (ConvolutionLayer, 3-tensor of '
     'dimensions {16, 28, 28}) is inconsistent with dimension of "Input" port of layer 2 '
     '(BatchNormalizationLayer, 3-tensor of dimensions {8, 28, 28}).'),
    ('ConvolutionLayer[32, {3, 3}, "Strides" -> 2]',
     'ConvolutionLayer::optx: "Strides" is not a known parameter or option for ConvolutionLayer.'),
    ("PoolingLayer[{5, 5}]",
     "NetChain::valfail: Validation failed for layer 2 (PoolingLayer): output dimensions cannot "
     "be smaller than 1: along spatial dimension 1 the pooling window of size 5 (kernel 5, "
     "dilation 1) does not fit the input of size 4 with padding 0+0: "
     "Floor[(4 + 0 - 5)/1] + 1 = 0."),
    ("LinearLayer[-10]", "LinearLayer::invopt: The value of OutputDimensions -> -10 is not "
                         "valid"),
    ("classifier[{1., 2., 3.}]",
     'NetChain::netinvin: Input to port "Input" should be a vector of size 4'),
    ("LinearLayer[10], Ramp}]]",
     "NetInitialize::nfspec: Cannot initialize net: "),
    ("NetGraph[{LinearLayer[4], Ramp}, {1 -> 2, 2 -> 1}]",
     "NetGraph::cyc: The graph contains a cycle: 1 -> 2 -> 1. Nets must be acyclic."),
    ("NetTrain[classifier", 'NetTrain::netinvin: Input to port "Input" should be a vector of '
                            'size 4'),
]


def test_check_errors_example_reports_each_mistake_with_its_position():
    r = netdsl_check(ERRORS)
    assert r.returncode == 1
    text = (ROOT / ERRORS).read_text(encoding="utf-8")
    errors = r.stderr.splitlines()
    assert errors[-1] == f"{ERRORS}: {len(MISTAKES)} problems"
    assert len(errors) == len(MISTAKES) + 1
    for got, (marker, message) in zip(errors, MISTAKES):
        line, col = locate(text, marker)
        assert got.startswith(f"{ERRORS}:{line}:{col}: error: {message}"), (got, line, col)
    # the nets that are fine are still shown
    line = locate(text, "classifier = NetChain")[0]
    assert f'{ERRORS}:{line}: classifier = NetChain: "Input" vector of size 4 -> "Output" ' \
           f"vector of size 3" in r.stdout.splitlines()


def test_check_of_a_missing_file_and_of_a_syntax_error(tmp_path):
    r = netdsl_check(str(tmp_path / "nope.wl"))
    assert r.returncode == 2 and "cannot read" in r.stderr
    (tmp_path / "bad.wl").write_text("net = NetChain[{LinearLayer[3],\n  Ramp]\n",
                                     encoding="utf-8")
    r = netdsl_check("bad.wl", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("bad.wl:2:7: error: Syntax::")


# ---------------------------------------------------------------- shape-level evaluation
def test_check_in_process_skips_statements_that_use_a_failed_net():
    code, out, err = check('a = NetChain[{LinearLayer[3], '
                           'BatchNormalizationLayer["Input" -> 4]}];\n'
                           "b = NetChain[{a, Ramp}];\n"
                           "a[{1, 2}]\n"
                           'c = NetChain[{LinearLayer[2]}, "Input" -> 2];\n')
    assert code == 1
    assert err.splitlines() == [
        't.wl:1:31: error: NetChain::tyinc: Dimension of "Output" port of layer 1 (LinearLayer, '
        'vector of size 3) is inconsistent with dimension of "Input" port of layer 2 '
        '(BatchNormalizationLayer, vector of size 4).',
        "t.wl: 1 problem"]
    assert out.splitlines() == ['t.wl:4: c = NetChain: "Input" vector of size 2 -> "Output" '
                                'vector of size 2']


def test_check_applies_initialises_and_trains_at_shape_level():
    code, out, err = check('net = NetChain[{ConvolutionLayer[4, {3, 3}], FlattenLayer[], '
                           'LinearLayer[2]}, "Input" -> {1, 5, 5}];\n'
                           "init = NetInitialize[net];\n"
                           "init[RandomReal[1, {1, 5, 5}]]\n"
                           "init[RandomReal[1, {7, 1, 5, 5}]]\n"
                           "trained = NetTrain[net, RandomReal[1, {6, 1, 5, 5}] -> "
                           "RandomReal[1, {6, 2}], MaxTrainingRounds -> 2];\n")
    assert code == 0, err
    assert out.splitlines()[2:5] == ["t.wl:3: output of dimensions {2}",
                                     "t.wl:4: output of dimensions {7, 2}",
                                     't.wl:5: trained = NetChain: "Input" 3-tensor of dimensions '
                                     '{1, 5, 5} -> "Output" vector of size 2']
    code, out, err = check('net = NetInitialize[NetChain[{LinearLayer[2]}, "Input" -> 3]];\n'
                           "net[{{1, 2}}]\n"
                           "NetTrain[net, {{1, 2, 3} -> {1, 2, 3}}]\n")
    assert code == 1
    assert [e.split(": error: ")[1].split(": ")[0] for e in err.splitlines()[:2]] == \
        ["NetChain::netinvin", "NetTrain::netinvin"]
    assert [e.split(": error: ")[0] for e in err.splitlines()[:2]] == ["t.wl:2:1", "t.wl:3:1"]


BIG = ('net = NetChain[{LinearLayer[10^9], Ramp, LinearLayer[10]}, "Input" -> 1000];\n'
       "init = NetInitialize[net];\n"
       "init[RandomReal[1, 1000]]\n"
       'g = NetGraph[{LinearLayer[10^9], LinearLayer[10^9], TotalLayer[]}, {{1, 2} -> 3}, '
       '"Input" -> 10^4];\n'
       "NetInitialize[g];\n")


def test_a_file_with_a_billion_wide_layer_checks_fast_and_allocates_nothing(monkeypatch):
    # the weights alone would be 10^9 x 1000 floats (4 TB): any allocation would fail
    check(BIG)                                                       # warm-up
    allocs = []
    real_empty, real_zeros = np.empty, np.zeros

    def watch(real):
        def alloc(shape, *args, **kw):
            n = int(np.prod(shape, dtype=np.float64)) if not np.isscalar(shape) else shape
            if n > 10 ** 6:
                allocs.append(shape)
            return real(shape, *args, **kw)
        return alloc

    monkeypatch.setattr(np, "empty", watch(real_empty))
    monkeypatch.setattr(np, "zeros", watch(real_zeros))
    tracemalloc.start()
    start = time.process_time()
    code, out, err = check(BIG)
    elapsed = time.process_time() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert code == 0, err
    assert allocs == []
    assert peak < 5 * 2 ** 20, peak                                 # a few MB at most
    assert elapsed < 1.0, elapsed
    assert 't.wl:1: net = NetChain: "Input" vector of size 1000 -> "Output" vector of size 10' \
        in out.splitlines()
    assert "t.wl:3: output of dimensions {10}" in out.splitlines()


def test_the_billion_wide_file_from_the_command_line(tmp_path):
    (tmp_path / "big.wl").write_text(BIG, encoding="utf-8")
    start = time.process_time()
    out, err = io.StringIO(), io.StringIO()
    code = run_check(str(tmp_path / "big.wl"), out, err)
    assert code == 0 and time.process_time() - start < 1.0
    r = netdsl_check("big.wl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "big.wl: ok"


@pytest.mark.parametrize("text, message", [
    ("NetInitialize[NetChain[{LinearLayer[3]}]]",
     't.wl:1:25: error: NetInitialize::nfspec: Cannot initialize net: parameter "InputSize" of '
     "layer 1 is not fully specified."),
    ('NetInitialize[NetChain[{ConvolutionLayer[3, 2]}, "Input" -> {1, 4, 4}]][{1, 2}]',
     't.wl:1:1: error: NetChain::netinvin: Input to port "Input" should be a 3-tensor of '
     "dimensions {1, 4, 4}"),
])
def test_check_reports_uninitialisable_nets_and_wrong_data(text, message):
    code, _, err = check(text + "\n")
    assert code == 1
    assert err.startswith(message), err


def test_applying_an_uninitialized_net_is_reported_as_when_run():
    code, out, err = check('net = NetChain[{LinearLayer[10^9], Ramp}, "Input" -> 3];\n'
                           "net[{1, 2, 3}]\n")
    assert code == 1
    assert 't.wl:2:1: error: NetChain::nninit: Cannot evaluate net: unspecified value for ' \
           'array "Weights" of layer 1.' in err


def test_initialized_net_outputs_and_extracted_arrays_have_dimensions_only():
    code, out, err = check('n = NetInitialize@NetChain[{LinearLayer[10^9]}, "Input" -> 3];\n'
                           "y = n[RandomReal[1, {4, 3}]];\n"
                           "d = Dimensions[y[[All, 1]]]\n"
                           'w = NetExtract[n, {1, "Weights"}]\n')
    assert code == 0, err
    assert "t.wl:2: y = output of dimensions {4, 1000000000}" in out
    assert "t.wl:4: w = output of dimensions {1000000000, 3}" in out


def test_training_results_have_sizes_and_number_crunching_is_a_note():
    text = ('net = NetChain[{LinearLayer[2], SoftmaxLayer[]}, "Input" -> 3];\n'
            "x = RandomReal[1, {10, 3}]; y = RandomInteger[{1, 2}, 10];\n"
            "r = NetTrain[net, x -> y, All, MaxTrainingRounds -> 3, BatchSize -> 4];\n"
            'losses = r["RoundLossList"]\n'
            'n2 = r["TrainedNet"]; p = n2[x];\n'
            "Select[Flatten[p], # > 0.5 &]\n")
    code, out, err = check(text)
    assert code == 0, err
    assert "t.wl:4: losses = output of dimensions {3}" in out
    assert "t.wl:6:1: note: not checked: Select::datadep" in out


def test_relative_imports_resolve_against_the_file(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,3\n4,5,6\n")
    script = tmp_path / "s.wl"
    script.write_text('x = Import["d.csv"]; net = NetChain[{LinearLayer[2]}, "Input" -> 3];\n'
                      "NetInitialize[net][x]\n")
    out, err = io.StringIO(), io.StringIO()
    assert run_check(str(script), out, err) == 0, err.getvalue()
