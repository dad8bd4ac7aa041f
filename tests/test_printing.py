"""Printing: InputForm and FullForm re-parse to the same expression (hypothesis),
InputForm stays readable for the common shapes, OutputForm shows what Wolfram shows."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdsl import Expr, Symbol, full_form, input_form, output_form, parse
from netdsl.expr import format_real_input, format_real_output, make_list

S = Symbol
a, b, c, d, x, y = (S(n) for n in "abcdxy")


def E(head: str, *args) -> Expr:
    return Expr(S(head), *args)


# ---------------------------------------------------------------- strategies
names = st.from_regex(r"[A-Za-z$][A-Za-z0-9$]{0,4}", fullmatch=True)
symbols = st.one_of(names.map(S), st.sampled_from([x, y, S("All"), S("Null"), S("Plus")]))
integers = st.one_of(st.integers(-3, 3), st.integers(-10**30, 10**30))
reals = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.1, -2.5, 2.0, -0.0, 1e-300, 5e-324, 1.7e308, 1e16, 1.5e-6, 123456.7]))
strings = st.text(alphabet=st.sampled_from(list('ab "\\\n\t\r(*)é')), max_size=8)
atoms = st.one_of(integers, reals, strings, symbols)

# heads the printer writes with operators, with the argument counts they take there
ARITY = {
    "Plus": (2, 4), "Times": (2, 4), "Power": (2, 2), "Rule": (2, 2), "RuleDelayed": (2, 2),
    "List": (0, 3), "Part": (2, 3), "Span": (2, 3), "Function": (1, 1),
    "CompoundExpression": (2, 3), "Set": (2, 2), "SetDelayed": (2, 2), "Equal": (2, 3),
    "Less": (2, 3), "Unequal": (2, 2), "SameQ": (2, 2), "And": (2, 3), "Or": (2, 3),
    "Not": (1, 1), "Dot": (2, 3), "Map": (2, 2), "Apply": (2, 2),
    # the operators of Wolfram's wider syntax
    "UpSet": (2, 2), "UpSetDelayed": (2, 2), "Unset": (1, 1), "TagSet": (3, 3),
    "TagSetDelayed": (3, 3), "TagUnset": (2, 2), "AddTo": (2, 2), "SubtractFrom": (2, 2),
    "TimesBy": (2, 2), "DivideBy": (2, 2), "ReplaceAll": (2, 2), "ReplaceRepeated": (2, 2),
    "TwoWayRule": (2, 2), "Condition": (2, 2), "StringExpression": (2, 3),
    "Alternatives": (2, 3), "Repeated": (1, 1), "RepeatedNull": (1, 1), "Element": (2, 3),
    "UnsameQ": (2, 3), "StringJoin": (2, 3), "Factorial": (1, 1), "MapAll": (2, 2),
    "MapApply": (2, 2), "Composition": (2, 3), "RightComposition": (2, 3),
    "PreIncrement": (1, 1), "PreDecrement": (1, 1), "Increment": (1, 1), "Decrement": (1, 1),
    "PatternTest": (2, 2), "Optional": (1, 2), "Pattern": (2, 2),
}


def compounds(children):
    def shaped(head):
        lo, hi = ARITY[head]
        return st.lists(children, min_size=lo, max_size=hi).map(lambda args: E(head, *args))

    any_arity = st.builds(lambda h, args: E(h, *args), st.sampled_from(sorted(ARITY)),
                          st.lists(children, max_size=4))          # Plus[a], Span[a, b, c, d]...
    rule = st.builds(lambda k, v, delayed: E("RuleDelayed" if delayed else "Rule", k, v),
                     children, children, st.booleans())
    association = st.lists(rule, max_size=3).map(lambda rs: E("Association", *rs))
    # the shapes a - b, a - 2 b, a/b come from
    negated = st.builds(lambda k, fs: E("Times", k, *fs),
                        st.sampled_from([-1, -2, -1.0, -0.5, -0.0]),
                        st.lists(children, min_size=1, max_size=3))
    reciprocal = children.map(lambda v: E("Power", v, -1))
    part_of_symbol = st.builds(lambda s, i: E("Part", s, *i), symbols,
                               st.lists(children, min_size=1, max_size=2))
    assignment = st.builds(lambda h, lhs, rhs: E(h, lhs, rhs),
                           st.sampled_from(["Set", "SetDelayed"]),
                           st.one_of(symbols, part_of_symbol), children)
    slot = st.integers(-1, 3).map(lambda n: E("Slot", n))
    out = st.one_of(st.just(E("Out")), st.integers(-3, 3).map(lambda n: E("Out", n)))
    other_head = st.builds(lambda h, args: Expr(h, *args), children, st.lists(children, max_size=3))
    # patterns: x_h, __, x_., x:p, x_:v, x:p:v
    blank = st.builds(lambda h, head: E(h, *([head] if head is not None else [])),
                      st.sampled_from(["Blank", "BlankSequence", "BlankNullSequence"]),
                      st.one_of(st.none(), symbols, children))
    pattern = st.builds(lambda name, p: E("Pattern", name, p), symbols,
                        st.one_of(blank, children))
    optional = st.builds(lambda p, v: E("Optional", p, *v), st.one_of(blank, pattern),
                         st.lists(children, max_size=1))
    slots = st.one_of(names.map(lambda n: E("Slot", n)), strings.map(lambda n: E("Slot", n)),
                      st.integers(0, 3).map(lambda n: E("SlotSequence", n)))
    files = st.builds(lambda h, args: E(h, *args), st.sampled_from(["Get", "Put", "PutAppend"]),
                      st.lists(st.one_of(strings, children), min_size=1, max_size=2))
    message = st.builds(lambda f, tags: E("MessageName", f, *tags), st.one_of(symbols, children),
                        st.lists(st.one_of(names, strings), min_size=1, max_size=2))
    return st.one_of(st.sampled_from(sorted(ARITY)).flatmap(shaped), any_arity, association,
                     negated, reciprocal, assignment, slot, out, other_head, blank, pattern,
                     optional, slots, files, message)


expressions = st.recursive(atoms, compounds, max_leaves=20)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(expressions)
def test_input_form_round_trips(e):
    text = input_form(e)
    back = parse(text)
    assert back == e, f"{full_form(e)}\n  printed {text}\n  read    {full_form(back)}"


@SETTINGS
@given(expressions)
def test_full_form_round_trips(e):
    text = full_form(e)
    back = parse(text)
    assert back == e, f"{full_form(e)}\n  read {full_form(back)}"


@SETTINGS
@given(reals)
def test_real_input_form_is_exact(v):
    back = parse(format_real_input(v))
    assert type(back) is float and back == v


# ---------------------------------------------------------------- readable InputForm
@pytest.mark.parametrize("expr, text", [
    (E("Plus", a, E("Times", -1, b)), "a - b"),
    (E("Plus", a, E("Times", -1, 2, b)), "a - 2*b"),
    (E("Plus", a, E("Times", -2, b)), "a + -2*b"),
    (E("Plus", a, E("Times", -1, b, c)), "a - b*c"),
    (E("Plus", a, E("Times", -1, E("Times", b, c))), "a - (b*c)"),
    (E("Plus", a, -3), "a - 3"),
    (E("Plus", a, -2.5), "a - 2.5"),
    (E("Plus", a, E("Times", -1, 2)), "a + -1*2"),
    (E("Plus", a, E("Times", -1, E("Plus", b, c))), "a - (b + c)"),
    (E("Plus", E("Plus", a, b), c), "(a + b) + c"),
    (E("Plus", a, b, c), "a + b + c"),
    (E("Times", a, E("Power", b, -1)), "a/b"),
    (E("Times", a, E("Power", b, -1), E("Power", c, -1)), "a/b/c"),
    (E("Times", E("Power", b, -1), a), "b^-1*a"),
    (E("Times", -1, a), "-a"),
    (E("Times", -1, a, b), "-a*b"),
    (E("Times", -2, a), "-2*a"),
    (E("Times", a, E("Plus", b, c)), "a*(b + c)"),
    (E("Times", E("Times", -1, a), b), "(-a)*b"),
    (E("Power", a, -1), "a^-1"),
    (E("Power", a, E("Power", b, c)), "a^b^c"),
    (E("Power", E("Power", a, b), c), "(a^b)^c"),
    (E("Power", -2, 2), "(-2)^2"),
    (E("Power", a, E("Dot", b, c)), "a^(b . c)"),
    (E("Dot", E("Power", a, -2), b), "(a^-2) . b"),
    (E("Rule", a, E("Rule", b, c)), "a -> b -> c"),
    (E("Rule", E("Rule", a, b), c), "(a -> b) -> c"),
    (E("Association", E("Rule", a, 1), E("RuleDelayed", "k", b)), '<|a -> 1, "k" :> b|>'),
    (E("Association"), "<||>"),
    (E("Association", a), "Association[a]"),
    (E("PatternTest", E("Association"), E("Association")), "<||>?<||>"),   # found by hypothesis
    (E("Power", E("PatternTest", 0, E("Out")), -1), "0?%^-1"),
    # found by hypothesis: the test of p ? test is an atom to the parser
    (E("Power", E("PatternTest", 0, E("MessageName", S("A"), "A")), -1), "0?(A::A)^-1"),
    (E("Power", E("PatternTest", 0, E("Get", "")), -1), '0?(<<"")^-1'),
    (E("Unset", E("UpSet", 0, 0)), "(0 ^= 0) =."),
    (E("Times", -1, E("PreDecrement", a)), "- --a"),     # found by hypothesis: not "---a"
    (E("Times", -1, E("PreIncrement", a)), "-++a"),
    (E("Set", x, 1), "x = 1"),
    (E("Set", x, E("Set", y, 2)), "x = y = 2"),
    (E("Set", E("Part", x, 1), 2), "x[[1]] = 2"),
    (E("Set", E("f", x), 1), "f[x] = 1"),                 # any left side can be assigned
    (E("SetDelayed", 1, 2), "1 := 2"),
    (E("CompoundExpression", a, b), "a; b"),
    (E("CompoundExpression", a, S("Null")), "a;"),
    (E("Function", E("Plus", E("Slot", 1), 1)), "#1 + 1 &"),
    (E("Function", x, x), "Function[x, x]"),
    (Expr(E("Function", E("Slot", 1)), 3), "(#1 &)[3]"),
    (E("Map", S("f"), x), "f /@ x"),
    (E("Apply", S("f"), E("Map", S("g"), x)), "f @@ g /@ x"),
    (E("Part", x, E("Span", 1, 2)), "x[[1 ;; 2]]"),
    (E("Part", x, -1), "x[[-1]]"),
    (E("Span", a, b, c), "a ;; b ;; c"),
    (E("Span", a, b, c, d), "Span[a, b, c, d]"),         # a ;; b ;; c ;; d means Span[Span[..], d]
    (E("Not", E("Equal", a, b)), "!a == b"),
    (E("Equal", E("Not", a), b), "(!a) == b"),
    (E("Or", a, E("And", b, c)), "a || b && c"),
    (E("And", E("Or", a, b), c), "(a || b) && c"),
    (E("Less", a, b, c), "a < b < c"),
    (E("Out"), "%"), (E("Out", 2), "%2"), (E("Out", -2), "Out[-2]"),
    (Expr(-3, a), "(-3)[a]"),
    (E("f", "quote \" back \\ nl \n tab \t"), r'f["quote \" back \\ nl \n tab \t"]'),
    (make_list([1.5e-6, 2.0, 0.1]), "{1.5*^-6, 2., 0.1}"),
    (E("List", 1, E("List")), "{1, {}}"),
])
def test_input_form_text(expr, text):
    assert input_form(expr) == text
    assert parse(text) == expr


@pytest.mark.parametrize("value, text", [
    (1.5e-6, "1.5*^-6"), (2.0, "2."), (0.1, "0.1"), (-2.5, "-2.5"), (1e100, "1.*^100"),
    (123456789.0, "123456789."), (5e-324, "5.*^-324"),
])
def test_real_input_form(value, text):
    assert format_real_input(value) == text
    assert input_form(value) == text


def test_full_form():
    assert full_form(parse("a - 2 b")) == "Plus[a, Times[-1, 2, b]]"
    assert full_form(Expr(-3, a)) == "(-3)[a]"        # -3[a] would read Times[-1, 3[a]]
    assert full_form(parse("<|a -> 1|>")) == "Association[Rule[a, 1]]"
    assert full_form("a\"b") == r'"a\"b"'


def test_printing_deep_nesting_is_linear():
    e = a
    for i in range(200):  # 201 deep, within the parser's nesting limit
        e = E("Plus", e, E("Times", -1, b)) if i % 2 else E("Power", e, 2)
    start = time.perf_counter()
    text = input_form(e)
    assert time.perf_counter() - start < 1.0
    assert parse(text) == e


# ---------------------------------------------------------------- OutputForm
@pytest.mark.parametrize("value, text", [
    (0.89999012, "0.89999"),
    (1.0, "1."),
    (100.0, "100."),
    (0.0, "0."),
    (-2.5, "-2.5"),
    (3.14159265, "3.14159"),
    (123456.7, "123457."),
    (1.5e-6, "1.5*10^-6"),
    (1234567.0, "1.23457*10^6"),
    (1e6, "1.*10^6"),
    (999999.5, "1.*10^6"),
    (1.234e-5, "0.00001234"),
    (1e-5, "0.00001"),
    (-4.2e-7, "-4.2*10^-7"),
    (1e100, "1.*10^100"),
])
def test_real_output_form(value, text):
    assert format_real_output(value) == text
    assert output_form(value) == text


def test_output_form_of_expressions():
    assert output_form(make_list([0.89999012, 1.0, 100.0])) == "{0.89999, 1., 100.}"
    assert output_form(E("f", "text", 2.0)) == "f[text, 2.]"     # strings unquoted
    assert output_form("say \"hi\"") == 'say "hi"'
    assert output_form(parse("a - 2 b + c/d")) == "a - 2*b + c/d"
    assert output_form(E("Plus", a, -1.5e-6)) == "a - 1.5*10^-6"


def test_output_form_elides_long_arrays():
    assert output_form(np.arange(3000)) == "{0, 1, 2, <<2996>>, 2999}"
    rows = output_form(np.ones((1000, 3)))
    assert rows == "{{1., 1., 1.}, {1., 1., 1.}, {1., 1., 1.}, <<996>>, {1., 1., 1.}}"
    assert output_form(np.arange(10)) == "{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}"
    assert output_form(np.arange(3000), max_elements=None).count(",") == 2999
    assert "<<" not in input_form(np.arange(3000))              # InputForm never elides
