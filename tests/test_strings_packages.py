"""Strings, messages, contexts and packages (issue 9, E), and warnings for unknown
functions (issue 9, F)."""

from __future__ import annotations

import io

import pytest

from netdsl import Session
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from netdsl.expr import input_form


def run(src: str, s: Session | None = None):
    return (s or Session()).evaluate(src)


def text(src: str, s: Session | None = None) -> str:
    return input_form(run(src, s))


# ---------------------------------------------------------------- strings
def test_string_join_and_to_string():
    assert run('StringJoin["net", ToString[3], ".wlnet"]') == "net3.wlnet"
    assert run('StringJoin[{"a", {"b"}}, "c"]') == "abc"
    assert run("ToString[{1, 2.5}]") == "{1, 2.5}"
    assert run('ToString["s"]') == "s"
    assert run('ToString["s", InputForm]') == '"s"'
    with pytest.raises(NetDSLError, match="StringJoin::string"):
        run('StringJoin["a", 1]')


def test_string_length_take_drop():
    assert run('StringLength["hello"]') == 5
    assert text('StringLength[{"a", "bc"}]') == "{1, 2}"
    assert run('StringTake["abcdef", 2]') == "ab"
    assert run('StringTake["abcdef", -2]') == "ef"
    assert run('StringTake["abcdef", {2, 4}]') == "bcd"
    assert run('StringTake["abcdef", {3}]') == "c"
    assert run('StringDrop["abcdef", 2]') == "cdef"
    with pytest.raises(NetDSLError, match="StringTake::take"):
        run('StringTake["ab", 5]')


def test_string_replace_left_to_right_first_rule_wins():
    assert run('StringReplace["abcab", "ab" -> "X"]') == "XcX"
    assert run('StringReplace["abc", {"a" -> "1", "b" -> "2"}]') == "12c"
    assert run('StringReplace["aaa", {"a" -> "x", "a" -> "y"}]') == "xxx"
    assert run('StringReplace["ab", Blank[] -> "x"]') == "xx"   # _ is any one character
    with pytest.raises(NetDSLError, match="StringReplace::argx"):
        run('StringReplace["a", "b"]')                             # not a rule


def test_string_split_and_riffle():
    assert text('StringSplit["  a b\tc "]') == '{"a", "b", "c"}'
    assert text('StringSplit["a,b,,c", ","]') == '{"a", "b", "c"}'
    assert text('StringSplit["a-b_c", {"-", "_"}]') == '{"a", "b", "c"}'
    assert run('StringRiffle[{1, 2, 3}]') == "1 2 3"
    assert run('StringRiffle[{"a", "b"}, ", "]') == "a, b"
    assert run('StringRiffle[{"a", "b"}, {"(", "|", ")"}]') == "(a|b)"


def test_string_template():
    assert run('StringTemplate["`1` and `2`"][x, 3]') == "x and 3"
    assert run('StringTemplate["lr=`lr`"][<|"lr" -> 0.5|>]') == "lr=0.5"
    assert run('StringTemplate["`` then ``"][a, b]') == "a then b"
    assert run('TemplateApply["n=`1`", {4}]') == "n=4"


def test_string_predicates_and_case():
    assert text('StringStartsQ["model.wlnet", "model"]') == "True"
    assert text('StringEndsQ["model.wlnet", ".m"]') == "False"
    assert text('StringContainsQ["abc", "b"]') == "True"
    assert run('ToUpperCase["ab"]') == "AB"


def test_to_expression_uses_netdsls_parser():
    assert run('ToExpression["1 + 2"]') == 3
    assert text('ToExpression["{a, b}"]') == "{a, b}"
    with pytest.raises(NetDSLError, match="Syntax"):
        run('ToExpression["__import__(\'os\')"]')


def test_symbol_name_and_symbol():
    assert run("SymbolName[abc]") == "abc"
    assert run('x = 4; Symbol["x"]') == 4


# ---------------------------------------------------------------- messages
def test_message_with_template():
    err = io.StringIO()
    s = Session(stderr=err)
    run('Set[MessageName[f, "bad"], "`1` is not a valid size; `2` expected."]', s)
    s.evaluate('\nMessage[MessageName[f, "bad"], -1, "a positive integer"]', "m.wl")
    assert err.getvalue() == \
        'm.wl:2:1: f::bad: -1 is not a valid size; "a positive integer" expected.\n'
    assert s.messages[-1].tag == "bad"


def test_message_without_text():
    err = io.StringIO()
    run('Message[MessageName[g, "nope"]]', Session(stderr=err))
    assert err.getvalue().endswith("g::nope: -- Message text not found --\n")


def test_general_messages_apply_to_every_symbol():
    err = io.StringIO()
    s = Session(stderr=err)
    run('Set[MessageName[General, "oops"], "oops `1`"]; Message[MessageName[h, "oops"], 2]', s)
    assert err.getvalue().endswith("h::oops: oops 2\n")


def test_quiet_hides_messages():
    err = io.StringIO()
    s = Session(stderr=err)
    assert run('Quiet[Message[MessageName[f, "x"]]; 5]', s) == 5
    assert err.getvalue() == ""


def test_check_gives_the_failure_value_after_a_message_or_error():
    err = io.StringIO()
    s = Session(stderr=err)
    assert run('Check[Message[MessageName[f, "x"]]; 1, "failed"]', s) == "failed"
    assert run('Check[1 + 1, "failed"]', s) == 2
    assert run('Check[Part[{1}, 3], "failed"]', s) == "failed"


# ---------------------------------------------------------------- contexts and files
def test_package_contexts():
    s = Session()
    assert run('BeginPackage["My`"]; $Context', s) == "My`"
    assert run('Begin["`Private`"]', s) == "My`Private`"
    assert run("End[]", s) == "My`Private`"
    run("EndPackage[]", s)
    assert run("$Context", s) == "Global`"
    with pytest.raises(NetDSLError, match="Begin::cxt"):
        run('Begin["NoTick"]', s)


def test_get_relative_to_the_including_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.wl").write_text("innerValue = 42;\n")
    (tmp_path / "sub" / "outer.wl").write_text('Get["inner.wl"]; outerValue = innerValue + 1;\n')
    s = Session()
    s.base_dir = str(tmp_path)
    run('Get["sub/outer.wl"]', s)
    assert run("outerValue", s) == 43


def test_get_refuses_a_file_that_includes_itself(tmp_path):
    (tmp_path / "a.wl").write_text('Get["b.wl"]\n')
    (tmp_path / "b.wl").write_text('Get["a.wl"]\n')
    s = Session()
    s.base_dir = str(tmp_path)
    with pytest.raises(NetDSLError, match=r"Get::recursive.*a.wl -> b.wl -> a.wl"):
        run('Get["a.wl"]', s)


def test_get_of_a_missing_file():
    with pytest.raises(NetDSLError, match="Get::noopen"):
        run('Get["no-such-file.wl"]')


def test_get_errors_point_into_the_included_file(tmp_path):
    (tmp_path / "bad.wl").write_text("ok = 1;\nPart[{1}, 9]\n")
    s = Session()
    s.base_dir = str(tmp_path)
    with pytest.raises(NetDSLError) as info:
        run('Get["bad.wl"]', s)
    assert info.value.span.source.endswith("bad.wl") and info.value.span.line == 2


def test_get_respects_the_file_access_switch(tmp_path):
    (tmp_path / "p.wl").write_text("1\n")
    s = Session()
    s.base_dir = str(tmp_path)
    s.files = False  # the --no-files switch
    with pytest.raises(NetDSLError, match="Get::nofiles"):
        run('Get["p.wl"]', s)


def test_needs_loads_a_package_once(tmp_path):
    (tmp_path / "Helpers.wl").write_text("count = If[IntegerQ[count], count + 1, 1];\n")
    s = Session()
    s.base_dir = str(tmp_path)
    run('Needs["Helpers`"]; Needs["Helpers`"]', s)
    assert run("count", s) == 1
    run('Needs["NeuralNetworks`"]', s)  # a system context: nothing to load
    with pytest.raises(NetDSLError, match="Needs::nocont"):
        run('Needs["Missing`"]', s)


def test_shebang_line_of_an_included_script_is_ignored(tmp_path):
    (tmp_path / "s.wls").write_text("#!/usr/bin/env wolframscript\nv = 3;\n")
    s = Session()
    s.base_dir = str(tmp_path)
    run('Get["s.wls"]', s)
    assert run("v", s) == 3


# ---------------------------------------------------------------- warnings
def test_misspelled_builtin_warns_once_with_a_suggestion():
    err = io.StringIO()
    s = Session(stderr=err)
    run("NetInitalize[1]; NetInitalize[2]", s)
    assert err.getvalue().count("did you mean NetInitialize?") == 1
    assert "warning: NetInitalize is not a known function" in err.getvalue()


def test_unsupported_wolfram_function_warns():
    from netdsl.builtins.registry import REGISTRY
    from netdsl.builtins.unknown import KNOWN_WOLFRAM
    name = sorted(n for n in KNOWN_WOLFRAM if n not in REGISTRY)[0]
    err = io.StringIO()
    run(f"{name}[10, 3]", Session(stderr=err))
    assert f"{name} is not supported by netdsl" in err.getvalue()


def test_user_functions_and_symbols_do_not_warn():
    err = io.StringIO()
    s = Session(stderr=err)
    run("SetDelayed[myHelper[Pattern[x, Blank[]]], x]; myHelper[1]; point[1, 2]", s)
    assert err.getvalue() == ""


def test_check_reports_warnings_and_strict_makes_them_errors():
    src = "NetInitalize[3]\nx = 1\n"
    out, err = io.StringIO(), io.StringIO()
    assert check_text(src, "f.wl", out, err) == 0
    assert "f.wl:1:1: warning: NetInitalize is not a known function; did you mean " \
           "NetInitialize?" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert check_text(src, "f.wl", out, err, strict=True) == 1
    assert "f.wl:1:1: error: NetInitalize" in err.getvalue()
    assert "1 problem" in err.getvalue()


def test_unsupported_list_shrinks_when_a_layer_is_registered():
    from netdsl.builtins.registry import REGISTRY
    from netdsl.builtins.unknown import unknown_head_warning
    assert unknown_head_warning("EmbeddingLayer") is not None or "EmbeddingLayer" in REGISTRY
    assert unknown_head_warning("LinearLayer") is None  # registered: never reported


def test_data_heads_are_not_reported():
    err = io.StringIO()
    run('Missing["NotFound"]; Failure["x", <||>]; DirectedInfinity[1]', Session(stderr=err))
    assert err.getvalue() == ""
