"""Bugs the contexts fuzzer (tests/fuzz_contexts.py) found, each with the behaviour of
Wolfram's reference pages for Block, $Context, $ContextPath, EndPackage, End, Symbol and
Context."""

from __future__ import annotations

import pytest

from netdsl import Session
from netdsl.errors import NetDSLError
from netdsl.expr import Symbol


def test_block_of_context_sets_the_context_names_are_made_in():
    # Block[{$Context = "A`"}, Symbol["z"]] makes A`z, and $Context is Global` after
    s = Session()
    got = s.evaluate('Block[{$Context = "A`"}, {Context[], Symbol["z"]}]')
    assert got.args[0] == "A`" and got.args[1] == Symbol("A`z")
    assert s.evaluate("Context[]") == "Global`" and s.evaluate("$Context") == "Global`"
    assert s.evaluate('Context[A`z]') == "A`"


def test_block_of_context_path_loads_a_package_without_leaving_it_on_the_path(tmp_path):
    # the idiom Block[{$ContextPath}, Needs["P`"]]: P`f exists, the short f is not it
    (tmp_path / "P.wl").write_text('BeginPackage["P`"]\nf[x_] := 2 x\nEndPackage[]\n')
    s = Session()
    s.base_dir = str(tmp_path)
    s.evaluate('Block[{$ContextPath}, Needs["P`"]]')
    assert [str(c) for c in s.evaluate("$ContextPath").args] == ["System`", "Global`"]
    assert s.evaluate("P`f[3]") == 6
    assert s.evaluate("Context[f]") == "Global`"          # a new Global` symbol
    s.evaluate("A`w = 5")
    # the short name w finds A`w on the Blocked path, and Global`w again after it
    assert s.evaluate('Block[{$ContextPath = {"A`", "System`"}}, Symbol["w"]]') == 5
    assert s.evaluate('Symbol["w"]') == Symbol("w")


def test_block_with_a_bad_context_is_refused_and_restores():
    s = Session()
    with pytest.raises(NetDSLError) as e:
        s.evaluate("Block[{$Context = 1}, 2]")
    assert e.value.tag == "cxset"
    assert s.evaluate("$Context") == "Global`" and s.evaluate("Context[]") == "Global`"


def test_block_condition_in_a_definition_reads_symbols_in_the_blocked_context():
    s = Session()
    s.evaluate('k[x_] := Block[{$Context = "A`"}, Symbol["q"] /; x > 0]')
    assert s.evaluate("k[1]") == Symbol("A`q")
    assert s.evaluate("Context[Evaluate[k[1]]]") == "A`"


@pytest.mark.parametrize("bad", ['"`"', '"``"', '"A``"', '"a b`"', '"1A`"', '"A`B"'])
def test_malformed_context_names_are_refused(bad):
    s = Session()
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f"$Context = {bad}")
    assert e.value.tag == "cxset"
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f"$ContextPath = {{{bad}}}")
    assert e.value.tag == "cxlist"
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f"Begin[{bad}]")
    assert e.value.tag == "cxt"
    assert s.evaluate("$Context") == "Global`"


@pytest.mark.parametrize("bad", ["A`B`", "`", "``", "A``b", "x`"])
def test_symbol_of_a_context_or_malformed_name_is_refused(bad):
    s = Session()
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f'Symbol["{bad}"]')
    assert e.value.tag == "argx"
    with pytest.raises(NetDSLError) as e:
        s.evaluate(f'Context["{bad}"]')
    assert e.value.tag == "notfound"
    assert s.evaluate('Symbol["A`x"]') == Symbol("A`x")
    assert s.evaluate('Symbol["`x"]') == Symbol("x")


def test_end_package_without_a_package_keeps_an_open_begin():
    s = Session()
    s.evaluate('Begin["A`"]')
    s.evaluate("EndPackage[]")
    assert ("EndPackage", "noctx") in [(m.symbol, m.tag) for m in s.messages]
    assert s.evaluate("$Context") == "A`"
    assert s.evaluate("End[]") == "A`"
    assert s.evaluate("$Context") == "Global`"
    s.evaluate("End[]")                                  # nothing begun
    assert ("End", "noctx") in [(m.symbol, m.tag) for m in s.messages]


def test_end_package_inside_an_open_begin_puts_the_package_first():
    s = Session()
    s.evaluate('BeginPackage["A`"]\nBegin["`P`"]\nf = 1\nEndPackage[]')
    assert [str(c) for c in s.evaluate("$ContextPath").args] == ["A`", "System`", "Global`"]
    assert s.evaluate("$Context") == "Global`"
    assert s.evaluate("A`P`f") == 1


def test_check_and_lsp_run_the_statements_after_a_refused_context_assignment():
    import io

    from netdsl.check import check_text
    from netdsl.lsp.analysis import analyse
    from netdsl.syntax import parse_statements

    text = '$Context = 1\n$Context = "A`"\nx = 1\n'
    s = Session()
    for expr, span in parse_statements(text):
        try:
            s.evaluate_expr(expr, span)
        except NetDSLError:
            pass
    assert s.evaluator.contexts.context == "A`"
    result = analyse(text, "t.wl")
    assert result.session.evaluator.contexts.context == "A`"
    assert [d.code for d in result.diagnostics] == ["$Context::cxset"]
    err = io.StringIO()
    assert check_text(text, "t.wl", io.StringIO(), err) == 1
    assert err.getvalue().count("cxset") == 1 and "skipped" not in err.getvalue()
