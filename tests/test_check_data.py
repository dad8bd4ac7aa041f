"""``netdsl check`` never computes data: it works from the dimensions of arrays.

Random arrays, tables, constant arrays, imported files and arithmetic on them are
AbstractArrays in check mode, so a file that would compute for minutes checks in
milliseconds, allocates nothing, and Print shows dimensions, marked as such.
"""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pytest

from netdsl import Session
from netdsl.check import check_text
from netdsl.layers.base import AbstractArray


def check(text: str, path: str = "t.wl") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_text(text, path, out, err)
    return code, out.getvalue(), err.getvalue()


def timed_check(text: str) -> tuple[float, int, str, str, int]:
    check(text)                                   # warm-up (first use imports modules)
    tracemalloc.start()
    start = time.process_time()
    code, out, err = check(text)
    elapsed = time.process_time() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, code, out, err, peak


def test_a_ten_million_row_table_checks_at_once():
    elapsed, code, out, err, peak = timed_check("x = Table[RandomReal[], {10^7}];\n"
                                                "y = Table[RandomReal[], {i, 10^6}, {j, 10}];\n")
    assert code == 0, err
    assert out.splitlines()[:2] == ["t.wl:1: x = array of dimensions {10000000}",
                                    "t.wl:2: y = array of dimensions {1000000, 10}"]
    assert elapsed < 1.0, elapsed
    assert peak < 2 * 2 ** 20, peak


def test_a_table_the_run_refuses_is_refused_by_check_as_fast():
    text = "big = Table[RandomReal[], {10^7}, {10}];\n"
    elapsed, code, out, err, peak = timed_check(text)
    assert elapsed < 1.0 and peak < 2 * 2 ** 20, (elapsed, peak)
    assert code == 1
    with pytest.raises(Exception) as run_error:     # the run stops with the same message
        Session(stdout=io.StringIO()).evaluate(text)
    assert err.splitlines()[0] == f"t.wl:1:7: error: {run_error.value.message}"


TEMPLATE = """\
x = RandomReal[1, {SIZE, SIZE}];
n = RandomInteger[{1, 10}, {SIZE, SIZE}];
g = RandomVariate[NormalDistribution[0, 2], {SIZE, SIZE}];
c = ConstantArray[0., {SIZE, SIZE}];
y = 2 x + n - g / 3 + Exp[c];
s = Total[y];
m = Mean[Transpose[y]];
f = Flatten[Table[RandomReal[1, 2], {6}, {c, 3}], 1];
d = x . RandomReal[1, {SIZE, 7}];
l = Length[x];
t = Table[Sin[i] + RandomReal[1, 5], {i, 10 SIZE}, {j, 3}];
net = NetInitialize@NetChain[{LinearLayer[7]}, "Input" -> 5];
p = net[t[[1]]];
"""
DATA = TEMPLATE.replace("SIZE", "10^4")


def test_random_arrays_tables_and_arithmetic_are_dimensions_only():
    elapsed, code, out, err, peak = timed_check(DATA)
    assert code == 0, err
    lines = out.splitlines()
    for shown in ["t.wl:1: x = array of dimensions {10000, 10000}",
                  "t.wl:2: n = array of dimensions {10000, 10000}",
                  "t.wl:3: g = array of dimensions {10000, 10000}",
                  "t.wl:4: c = array of dimensions {10000, 10000}",
                  "t.wl:5: y = array of dimensions {10000, 10000}",
                  "t.wl:6: s = array of dimensions {10000}",
                  "t.wl:7: m = array of dimensions {10000}",
                  "t.wl:8: f = array of dimensions {18, 2}",
                  "t.wl:9: d = array of dimensions {10000, 7}",
                  "t.wl:11: t = array of dimensions {100000, 3, 5}",
                  "t.wl:13: p = output of dimensions {3, 7}"]:
        assert shown in lines, (shown, lines)
    assert elapsed < 1.0, elapsed        # each array alone would be 800 MB
    assert peak < 4 * 2 ** 20, peak


def test_values_are_unchanged_when_the_file_runs():
    s = Session(stdout=io.StringIO())
    s.evaluate("SeedRandom[1]; " + TEMPLATE.replace("SIZE", "50"))
    assert s["y"].shape == (50, 50) and s["d"].shape == (50, 7) and s["s"].shape == (50,)
    assert s["l"] == 50 and s["f"].shape == (18, 2)
    assert np.shape(s["t"]) == (500, 3, 5) and s["p"].shape == (3, 7)


def test_print_shows_dimensions_marked_as_not_computed():
    code, out, err = check('x = RandomReal[1, {100, 3}];\n'
                           'Print[x];\n'
                           'Print["total: ", Total[Flatten[x]]];\n'
                           'Echo[Dimensions[x]];\n'
                           'Print[{1, 2} + 1];\n')
    assert code == 0, err
    assert out.splitlines()[1:] == [
        "<array of dimensions {100, 3}, not computed in check>",
        "total: <a number, not computed in check>",
        ">> {100, 3}",
        "{2, 3}",
        "t.wl: ok"]


def test_tables_that_are_not_arrays_are_evaluated_once():
    code, out, err = check("r = Table[Range[i], {i, 3}];\nPrint[r];\n"
                           "Table[Print[i], {i, 3}];\n"
                           "layers = Table[LinearLayer[k], {k, 2, 4}];\n"
                           'net = NetChain[layers, "Input" -> 2];\n'
                           "ragged = Table[RandomReal[1, i], {i, 1, 4}];\n"
                           "Print[Length[ragged]];\n"
                           "sizes = Table[2^k, {k, 3}];\n"
                           'sized = NetChain[LinearLayer /@ sizes, "Input" -> 2];\n')
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:4] == ["{{1}, {1, 2}, {1, 2, 3}}", "1", "2", "3"]
    assert 't.wl:5: net = NetChain: "Input" vector of size 2 -> "Output" vector of size 4' \
        in lines
    assert "4" in lines
    assert 't.wl:9: sized = NetChain: "Input" vector of size 2 -> "Output" vector of size 8' \
        in lines                         # a few numbers are structure: computed


@pytest.mark.parametrize("text, message", [
    ("RandomReal[1, {100, 3}] + RandomReal[1, 50]",
     "t.wl:1:1: error: Thread::tdlen: Objects of unequal length in Plus[<list of dimensions "
     "{100, 3}>, <list of dimensions {50}>] cannot be combined."),
    ("RandomReal[1, {100, 3}] . RandomReal[1, {4, 2}]",
     "t.wl:1:1: error: Dot::dotsh: Tensors of dimensions {100, 3} and {4, 2} have "
     "incompatible shapes."),
])
def test_shape_mistakes_in_data_are_found_without_computing(text, message):
    code, out, err = check(text + "\n")
    assert code == 1
    assert err.splitlines()[0] == message


def test_imported_data_is_known_by_its_header(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((1000, 30), dtype=np.float32))
    np.savez(tmp_path / "z.npz", w=np.ones((4, 5)), b=np.arange(3))
    (tmp_path / "d.csv").write_text("1,2,3\n4,5,6\n\n", encoding="utf-8")
    (tmp_path / "h.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    text = ('a = Import["big.npy"];\nz = Import["z.npz"];\nw = z["w"];\n'
            'c = Import["d.csv"];\nh = Import["h.csv"];\nPrint[h];\n')
    out, err = io.StringIO(), io.StringIO()
    from netdsl.check import run_check
    (tmp_path / "i.wl").write_text(text, encoding="utf-8")
    assert run_check(str(tmp_path / "i.wl"), out, err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert f"{tmp_path / 'i.wl'}:1: a = array of dimensions {{1000, 30}}" in lines
    assert f"{tmp_path / 'i.wl'}:3: w = array of dimensions {{4, 5}}" in lines
    assert f"{tmp_path / 'i.wl'}:4: c = array of dimensions {{2, 3}}" in lines
    assert '{{a, b}, {1, 2}}' in lines          # text tables are read as a run reads them


def test_abstract_arrays_print_in_input_form_for_the_record():
    assert AbstractArray((2, 3), "array").input_form() == "AbstractArray[{2, 3}]"
    assert AbstractArray(()).output_form() == "<a number, not computed in check>"
