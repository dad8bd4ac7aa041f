"""``netdsl check`` has no side effects and points at the statement that fails.

It is what people run on files they have not read: it writes nothing (Export is
reported as ``note: would write FILE``), and an error is reported where the failing
statement is written, with a note at the layer it is about.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from netdsl.check import check_text, run_check

ROOT = Path(__file__).resolve().parents[1]


def netdsl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "netdsl", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


def check(text: str, path: str = "t.wl") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_text(text, path, out, err)
    return code, out.getvalue(), err.getvalue()


def locate(text: str, marker: str) -> tuple[int, int]:
    assert text.count(marker) == 1, marker
    i = text.index(marker)
    return text.count("\n", 0, i) + 1, i - text.rfind("\n", 0, i)


WRITES = """\
data = RandomReal[1, {100, 3}];
Export["table.csv", {{1, 2}, {3, 4}}]
Export["data.npy", data]
Export["arrays.npz", <|"w" -> data, "b" -> {1., 2.}|>]
Export["plain", {1, 2}, "TSV"]
Export["sub/dir/deep.csv", {1}]
Export[#, {1, 2}] & /@ {"m1.csv", "m2.csv"};
net = NetInitialize@NetChain[{LinearLayer[2]}, "Input" -> 3];
Export["outputs.csv", net[data]]
"""


def test_a_file_full_of_writes_writes_nothing_and_notes_each(tmp_path):
    (tmp_path / "w.wl").write_text(WRITES, encoding="utf-8")
    (tmp_path / "table.csv").write_text("keep me\n", encoding="utf-8")  # never overwritten
    r = netdsl("check", "w.wl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv", "w.wl"]
    assert (tmp_path / "table.csv").read_text(encoding="utf-8") == "keep me\n"
    notes = [line for line in r.stdout.splitlines() if ": note: " in line]
    expected = []
    for name in ("table.csv", "data.npy", "arrays.npz", "plain", "sub/dir/deep.csv"):
        line, col = locate(WRITES, f'Export["{name}"')
        expected.append(f"w.wl:{line}:{col}: note: would write {name}")
    line = locate(WRITES, "Export[#")[0]
    expected += [f"w.wl:{line}:1: note: would write m1.csv",
                 f"w.wl:{line}:1: note: would write m2.csv"]
    line, col = locate(WRITES, 'Export["outputs.csv"')
    expected.append(f"w.wl:{line}:{col}: note: would write outputs.csv")
    assert notes == expected
    assert r.stdout.splitlines()[-1] == "w.wl: ok"


def test_check_still_refuses_what_a_run_would_refuse(tmp_path):
    code, out, err = check('Export["x.xyz", {1}]\nExport[5, {1}]\n')
    assert code == 1
    assert "t.wl:1:1: error: Export::fmtnosup" in err and "t.wl:2:1: error: Export::argx" in err
    assert "would write" not in out


def test_the_run_itself_still_writes(tmp_path):
    (tmp_path / "w.wl").write_text(WRITES.replace('Export["sub/dir/deep.csv", {1}]\n', ""),
                                   encoding="utf-8")
    r = netdsl("w.wl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert {"table.csv", "data.npy", "arrays.npz", "plain", "m1.csv", "outputs.csv"} <= \
        {p.name for p in tmp_path.iterdir()}


# ---------------------------------------------------------------- where errors point
LATE = """\
net = NetChain[{LinearLayer[3], Ramp}];
x = 1;
y = 2;
trained = NetInitialize[net];
"""


def test_an_error_is_reported_at_the_failing_statement_with_a_note_at_the_layer():
    code, out, err = check(LATE)
    assert code == 1
    line, col = locate(LATE, "NetInitialize[net]")
    layer_line, layer_col = locate(LATE, "LinearLayer[3]")
    assert err.splitlines() == [
        f't.wl:{line}:{col}: error: NetInitialize::nfspec: Cannot initialize net: parameter '
        f'"InputSize" of layer 1 is not fully specified. Give the shape of the input, e.g. '
        f'"Input" -> 3 for vectors or "Input" -> {{3, 32, 32}} for images, on the net or its '
        f"first layer.",
        f"t.wl:{layer_line}:{layer_col}: note: LinearLayer is written here",
        "t.wl: 1 problem"]


def test_the_same_locations_when_the_file_is_run(tmp_path):
    (tmp_path / "late.wl").write_text(LATE, encoding="utf-8")
    r = netdsl("late.wl", cwd=tmp_path)
    assert r.returncode == 1
    line, col = locate(LATE, "NetInitialize[net]")
    layer_line, layer_col = locate(LATE, "LinearLayer[3]")
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"late.wl:{line}:{col}: NetInitialize::nfspec: ")
    assert lines[1] == f"late.wl:{layer_line}:{layer_col}: note: LinearLayer is written here"


def test_an_error_inside_the_statement_keeps_its_precise_place():
    text = ("a = LinearLayer[3];\n"
            'b = NetChain[{ConvolutionLayer[16, 3], BatchNormalizationLayer["Input" -> 8]}, '
            '"Input" -> {1, 8, 8}];\n'
            "c = NetChain[{a, SoftmaxLayer[]}];\n"
            "d = NetInitialize[NetChain[{LinearLayer[2]}]];\n")
    code, out, err = check(text)
    lines = err.splitlines()
    assert lines[0].startswith("t.wl:2:40: error: NetChain::tyinc: ")
    assert lines[1].startswith("t.wl:4:29: error: NetInitialize::nfspec: ")
    assert "note" not in err


def test_a_shape_clash_with_a_layer_defined_earlier_notes_that_layer():
    text = ('bn = BatchNormalizationLayer["Input" -> 8];\n'
            "\n"
            'net = NetChain[{LinearLayer[4], bn}, "Input" -> 3];\n')
    code, out, err = check(text)
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith("t.wl:3:7: error: NetChain::tyinc: ")
    assert lines[1] == "t.wl:1:6: note: BatchNormalizationLayer is written here"


def test_run_check_on_a_file(tmp_path):
    (tmp_path / "late.wl").write_text(LATE, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run_check(str(tmp_path / "late.wl"), out, err) == 1
    assert ": note: LinearLayer is written here" in err.getvalue()


CHECKPOINTS = """\
net = NetChain[{LinearLayer[2]}, "Input" -> 3];
x = RandomReal[1, {10, 3}]; y = RandomReal[1, {10, 2}];
t = NetTrain[net, x -> y, MaxTrainingRounds -> 2, TrainingProgressReporting -> None,
  TrainingProgressCheckpointing -> {"File", "last.safetensors"}];
u = NetTrain[net, x -> y, MaxTrainingRounds -> 2, TrainingProgressReporting -> None,
  TrainingProgressCheckpointing -> {"Directory", "runs"}];
"""


def test_training_checkpoints_are_noted_not_written(tmp_path):
    (tmp_path / "c.wl").write_text(CHECKPOINTS, encoding="utf-8")
    r = netdsl("check", "c.wl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.wl"]
    assert "c.wl:3:1: note: would write last.safetensors" in r.stdout.splitlines()
    assert "c.wl:5:1: note: would write checkpoints in runs" in r.stdout.splitlines()
    r = netdsl("c.wl", cwd=tmp_path)                 # the run writes them
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "last.safetensors").is_file() and any((tmp_path / "runs").iterdir())
