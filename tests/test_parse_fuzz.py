"""Parse-side fuzzing: token soups, random operator runs and deep nesting give either an
expression or a ``netdsl.ParseError`` with a line and column — never another exception,
never a hang (each case runs under hypothesis' deadline). What parses also prints, and
its InputForm reads back as the same expression."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdsl import ParseError, full_form, input_form
from netdsl.syntax import parse_statements

OPERATORS = [
    ";", ";;", "=", ":=", "^=", "^:=", "=.", "|->", "/:", "//", "&", "+=", "-=", "*=", "/=",
    "/.", "//.", "->", ":>", "<->", "/;", "~~", ":", "|", "..", "...", "||", "&&", "!",
    "===", "=!=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", ".", "^", "<>",
    "/@", "//@", "@@", "@@@", "~", "@", "/*", "@*", "++", "--", "?", "::", "\\[Rule]",
    "\\[Element]", "\\[Times]", "\\[Not]", "∈", "×",
]
ATOMS = [
    "a", "x_", "_", "__h", "x___", "x_.", "_.", "1", "2.5", "1.*^3", "16^^FF", "1.5`20",
    '"s"', '"a\\nb"', '"\\[Alpha]"', "#", "#2", "#name", "##", "##2", "%", "%%",
    "<<file.m", ">> out.m", "a`b", "`c", "\\[Alpha]", "π", "∞", "f::usage", "$x",
]
BRACKETS = ["[", "]", "[[", "]]", "{", "}", "(", ")", "<|", "|>", ","]
OTHER = [" ", "\n", "\r\n", "\t", "(* c *)", '"unterminated', "(* open", "\\", "'", "`",
         "\\[Foo]", "\ufeff", "#!", "\x01", "é", "_", "0", "99999999999999999999999"]
SETTINGS = settings(max_examples=400, deadline=2000,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(text: str) -> None:
    try:
        statements = parse_statements(text)
    except ParseError as e:
        assert e.span is not None and e.line >= 1 and e.column >= 1, text
        assert e.text and "Token(" not in e.text and "lark" not in e.text.lower(), e.text
        return
    for expr, _ in statements:
        printed = input_form(expr)
        full_form(expr)
        back = [x for x, _ in parse_statements(printed)]
        assert len(back) == 1 and back[0] == expr, (
            f"{text!r}\n  parsed  {full_form(expr)}\n  printed {printed}\n  read    "
            f"{[full_form(b) for b in back]}")


@SETTINGS
@given(st.lists(st.sampled_from(OPERATORS + ATOMS + BRACKETS + OTHER), max_size=30))
def test_token_soup(tokens):
    check("".join(tokens))


@SETTINGS
@given(st.lists(st.sampled_from(OPERATORS + ATOMS + BRACKETS), max_size=30))
def test_token_soup_with_spaces(tokens):
    check(" ".join(tokens))


@SETTINGS
@given(st.sampled_from(ATOMS),
       st.lists(st.tuples(st.sampled_from(OPERATORS), st.sampled_from(ATOMS)), max_size=25))
def test_operator_runs(first, rest):
    check(first + "".join(f" {op} {atom}" for op, atom in rest))


@SETTINGS
@given(st.lists(st.sampled_from(["f[", "{", "(", "<|a -> ", "-(", "a^(", "x[[", "!"]),
                min_size=1, max_size=400),
       st.sampled_from(ATOMS))
def test_deep_nesting(openers, atom):
    closers = {"f[": "]", "{": "}", "(": ")", "<|a -> ": "|>", "-(": ")", "a^(": ")",
               "x[[": "]]", "!": ""}
    check("".join(openers) + atom + "".join(closers[o] for o in reversed(openers)))


@settings(max_examples=30, deadline=3000)
@given(st.sampled_from(OPERATORS), st.integers(1000, 20000))
def test_long_operator_chains(op, n):
    check("a" + f" {op} a" * n)
