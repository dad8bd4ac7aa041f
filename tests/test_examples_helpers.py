"""examples/helpers.wl, a Wolfram-style package, run by netdsl and netdsl check; and the
issue's examples of pattern code in Wolfram syntax."""

from __future__ import annotations

import io
import os
from pathlib import Path

from netdsl import Session
from netdsl.check import run_check
from netdsl.cli import main
from netdsl.expr import input_form

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "helpers.wl"


def test_helpers_runs(capsys):
    assert main([str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert "= {2, 1}" in out                    # two convolutions, one dropout
    assert "= convnet-8-16-10.wl" in out
    assert "= {10}" in out                      # class probabilities of one image
    assert "= $Failed" in out
    assert "denseBlock::size: Layer size -3 is not a positive integer." in err
    assert "warning" not in err


def test_helpers_checks():
    out, err = io.StringIO(), io.StringIO()
    assert run_check(str(EXAMPLE), out, err, strict=True) == 0
    assert '"Input" 3-tensor of dimensions {1, 28, 28} -> "Output" vector of size 10' in \
        out.getvalue()
    assert out.getvalue().rstrip().endswith("helpers.wl: ok")


def test_helpers_loaded_with_get_from_another_file(tmp_path):
    main_file = tmp_path / "train.wl"
    rel = os.path.relpath(EXAMPLE, tmp_path)
    main_file.write_text(f'Get["{rel}"];\n'
                         'net2 = classifier[{4}, 3, {1, 8, 8}, "Activation" -> Tanh];\n')
    s = Session(stderr=io.StringIO())
    s.base_dir = str(tmp_path)
    s.evaluate(main_file.read_text(), str(main_file))
    text = input_form(s["net2"])
    assert "ElementwiseLayer[Tanh]" in text and "LinearLayer[3]" in text
    assert s.evaluate("denseBlock::usage").startswith("denseBlock[n] is a LinearLayer[n]")
    assert s.evaluate("$Context") == "Global`"


def test_get_with_the_operator_syntax(tmp_path):
    (tmp_path / "lib.m").write_text("twice[x_] := 2 x\n")
    s = Session()
    s.base_dir = str(tmp_path)
    assert s.evaluate("<< lib.m; twice[4]") == 8


# ---------------------------------------------------------------- the examples
def run(src: str, s: Session | None = None):
    return (s or Session()).evaluate(src)


def test_literal_definition_beats_pattern_in_wolfram_syntax():
    s = Session()
    run("f[n_] := n^2; f[0] = 1", s)
    assert input_form(run("{f[0], f[3]}", s)) == "{1, 9}"


def test_named_slots_and_slot_sequence_in_wolfram_syntax():
    assert run('#BatchSize * 2 &[<|"BatchSize" -> 16|>]') == 32
    assert input_form(run("{##} &[1, 2, 3]")) == "{1, 2, 3}"
    assert input_form(run("f[##, 0] &[a, b]")) == "f[a, b, 0]"


def test_memoised_fib_in_wolfram_syntax():
    s = Session()
    run("fib[0] = 0; fib[1] = 1; fib[n_] := fib[n] = fib[n - 1] + fib[n - 2]", s)
    assert run("fib[100]", s) == 354224848179261915075


def test_patterns_in_wolfram_syntax():
    assert input_form(run("Cases[{1, a, 2.5, b}, _Symbol | _Real]")) == "{a, 2.5, b}"
    assert input_form(run("{1, -2, 3} /. x_ /; x < 0 :> 0")) == "{1, 0, 3}"
    assert input_form(run("f[a, b, c] /. f[x_, y__] :> {x, {y}}")) == "{a, {b, c}}"
    assert input_form(run("a + b /. x_. + y_Symbol :> {x, y}")) == "{a, b}"
    assert input_form(run("c /. x_. + y_Symbol :> {x, y}")) == "{0, c}"
    assert input_form(run("{a, b} /. _Symbol -> s")) == "s[s, s]"  # heads are parts too
    assert input_form(run("MatchQ[{1, 2, 3}, {__Integer}]")) == "True"
    assert input_form(run("g[x_, y_: 5] := {x, y}; {g[1], g[1, 2]}")) == "{{1, 5}, {1, 2}}"
    assert input_form(run("h[x_?EvenQ] := x / 2; {h[4], h[3]}")) == "{2, h[3]}"
    assert input_form(run("Except[0] /@ {}")) == "{}"


def test_operators_in_wolfram_syntax():
    s = Session()
    assert run('"net" <> ToString[3] <> ".wl"', s) == "net3.wl"
    assert input_form(run("f @@@ {{1, 2}, {3, 4}}", s)) == "{f[1, 2], f[3, 4]}"
    assert run("k = 1; k++; k += 5; k", s) == 7
    assert input_form(run("(f @* g)[x]", s)) == "f[g[x]]"
    assert input_form(run("f[f[f[a]]] //. f[x_] :> x", s)) == "a"
