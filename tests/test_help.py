"""?Name help, Tab completion and highlighting: the functions directly, and the REPL
through a pipe."""

import io
import subprocess
import sys

from netdsl import help as h
from netdsl.builtins.registry import REGISTRY
from netdsl.repl import Completer, Repl, _lexer
from netdsl.session import Session


def test_short_help_is_the_call_forms_and_summary_from_the_table():
    b = REGISTRY["NetTrain"]
    text = h.answer("?NetTrain")
    assert text.split("\n")[:len(b.usage)] == list(b.usage)
    assert text.split("\n")[-1].strip() == b.summary
    assert "BatchSize ->" not in text


def test_long_help_adds_options_and_defaults():
    text = h.answer("??NetTrain")
    assert text.startswith(h.answer("?NetTrain"))
    assert "Options:" in text
    assert "  MaxTrainingRounds" in text and "RandomSeeding" in text
    line = next(ln for ln in text.split("\n") if ln.strip().startswith("RandomSeeding"))
    assert line.split("->")[1].strip() == "1234"
    layer = h.answer("??ConvolutionLayer")
    assert "Parameters, options and ports:" in layer
    assert any(ln.split() == ["PaddingSize", "->", "0"] for ln in layer.split("\n"))
    assert '"Input"' in layer


def test_pattern_lists_matches():
    found = h.answer("?NetT*").split("\n")
    assert found == sorted(n for n in set(REGISTRY) if n.startswith("NetT"))
    assert "NetTrain" in found and "NetTake" in found
    assert "No built-in or layer matches" in h.answer("?Zzz*")


def test_unknown_name_suggests():
    assert "Did you mean NetTrain?" in h.answer("?nettrain")
    assert "not a built-in or layer" in h.answer("?Qwerty")


def test_completion_of_names_symbols_and_options():
    names = [c for c, _ in h.completions("x = NetCh")]
    assert names == ["NetChain"]
    assert [c for c, _ in h.completions("Lin", ["Linus"])] == ["LinearLayer", "Linus"]
    opts = dict(h.completions("ConvolutionLayer[16, {3, 3}, Pad"))
    assert opts["PaddingSize -> "] == "option of ConvolutionLayer, default 0"
    after_bracket = [c for c, _ in h.completions("NetTrain[net, data, ")]
    assert "BatchSize -> " in after_bracket and "MaxTrainingRounds -> " in after_bracket
    ports = [c for c, _ in h.completions("LinearLayer[3, ")]
    assert '"Input" -> ' in ports
    assert h.completions('Print["Lin') == []                   # inside a string
    inside_list = [c for c, _ in h.completions("NetChain[{Lin")]
    assert inside_list == ["LinearLayer"]                      # not NetChain's options


def test_open_call():
    assert h.open_call("NetChain[{LinearLayer[3], Ramp}, ") == "NetChain"
    assert h.open_call("f[g[1], ") == "f"
    assert h.open_call('f["[", ') == "f"
    assert h.open_call("{1, ") is None


def test_repl_completer_sees_session_symbols():
    from prompt_toolkit.document import Document
    repl = Repl(Session(), out=io.StringIO(), err=io.StringIO())
    repl.feed_line("myNet = NetChain[{LinearLayer[2]}]\n")
    got = [(c.text, c.start_position) for c in Completer(repl).get_completions(
        Document("NetInitialize[my"), None)]
    assert got == [("myNet", -2)]


def test_highlighting_lexer_is_mathematica():
    lexer = _lexer()
    assert lexer is not None and lexer.pygments_lexer_cls.__name__ == "MathematicaLexer"


def test_repl_help_through_a_pipe():
    r = subprocess.run([sys.executable, "-m", "netdsl"], input="?LinearLayer\n??Ramp\n?NetJ*\n1 + 1\n",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith(REGISTRY["LinearLayer"].usage[0])
    assert "NetJoin" in out and "Out[1]= 2" in out
    assert r.stderr == ""
