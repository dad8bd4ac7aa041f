"""Hostile text fails cleanly and fast: deep nesting and long operator chains, huge string
and integer literals, a byte-order mark, CRLF line ends and ``#!`` script lines."""

from __future__ import annotations

import sys
import time
import tracemalloc

import pytest

import netdsl
from netdsl import ParseError, full_form, input_form, parse
from netdsl.syntax import parse_statements
from netdsl.syntax.operators import MAX_NESTING
from netdsl.syntax.transform import decimal_int

N, M = 100_000, 20_000


def fails_fast(text: str, seconds: float = 2.5) -> ParseError:
    """Refused in CPU seconds (0.6 s at most on an idle 2-core machine, up to 1.3 s with
    other jobs sharing its caches): a quadratic parse of these 20,000-operator chains
    would take minutes."""
    parse("1")  # the parser is built once, outside the timing
    start = time.process_time()
    with pytest.raises(ParseError) as info:
        parse(text)
    assert time.process_time() - start < seconds
    e = info.value
    assert e.line == 1 and e.column >= 1
    assert f"nested more than {MAX_NESTING} deep" in e.text
    return e


@pytest.mark.parametrize("text", [
    "f[" * N + "x" + "]" * N,
    "(" * N + "x" + ")" * N,
    "{" * N + "x" + "}" * N,
    "<|a -> " * N + "x" + "|>" * N,
    "x" + "[[1]]" * N,          # Part of Part of ...: no bracket nesting, still deep
    "f" + "[]" * N,             # calls on calls
    "# &" + "[1]" * N,          # a function applied again and again
])
def test_deep_nesting_fails_fast(text):
    e = fails_fast(text)
    assert e.column < 2000       # found where it gets too deep, not at the end


@pytest.mark.parametrize("op", ["^", "->", "=", "@", "/@", "<->", ":=", "+="])
def test_long_right_chains_fail_fast(op):
    fails_fast(f"a {op} " * M + "a")


@pytest.mark.parametrize("op", ["//", "/.", "/;", "?", "~f~", "=!=", "==="])
def test_long_left_chains_fail_fast(op):
    text = "a" + f" {op} b" * M if op not in ("=!=", "===") else \
        "a" + "".join(f" {'===' if i % 2 else '=!='} b" for i in range(M))
    fails_fast(text)


@pytest.mark.parametrize("text", ["-" * M + "a", "!" * M + "a", "++" * M + "a",
                                  "a" + "!" * M, "a" + "++" * M, "a" + " .." * M,
                                  "x_:" * M + "1", "a:" * M + "b"])
def test_long_prefix_and_postfix_chains_fail_fast(text):
    fails_fast(text)


@pytest.mark.parametrize("op", ["+", "-", "*", "&&", "||", "<>", "|", ";", "==", "."])
def test_long_flat_chains_parse(op):
    start = time.process_time()
    result = parse("a" + f" {op} a" * M)
    assert time.process_time() - start < 2.0
    assert len(full_form(result)) > M


def test_the_deepest_allowed_expression_prints_compares_and_evaluates():
    depth = MAX_NESTING - 2
    text = "f[" * depth + "x" + "]" * depth
    e = parse(text)
    assert parse(input_form(e)) == e and full_form(e) == text
    session = netdsl.Session()
    assert session.evaluate(text) == e   # f stays unevaluated, all the way down
    chain = parse("a^" * 120 + "a")
    assert parse(input_form(chain)) == chain


def test_limit_applies_to_brackets_and_operators_together():
    inner = "a^" * 200 + "a"
    with pytest.raises(ParseError):
        parse("f[" * 100 + inner + "]" * 100)
    parse("f[" * 40 + inner + "]" * 40)


# ---------------------------------------------------------------- big literals
def test_big_integer_literal_without_the_int_str_limit():
    limit = sys.get_int_max_str_digits()
    digits = "7" * 20_000
    assert parse(digits) == 7 * (10 ** 20_000 - 1) // 9   # 777...7, by arithmetic alone
    assert sys.get_int_max_str_digits() == limit   # nothing global changed


@pytest.mark.parametrize("n", [1, 2999, 3000, 3001, 6001, 12_345])
def test_decimal_int_matches_python(n):
    digits = "".join(str((i * 7 + 3) % 10) for i in range(n))
    expected = 0
    for chunk in range(0, n, 1000):     # naive base-10**1000 accumulation
        part = digits[chunk:chunk + 1000]
        expected = expected * 10 ** len(part) + int(part)
    assert decimal_int(digits) == expected


def test_huge_exponents_are_refused_quickly():
    start = time.process_time()
    for text in ["2*^100000000", "9" * 200_000]:
        with pytest.raises(ParseError) as info:
            parse(text)
        assert "digits" in info.value.text
    assert time.process_time() - start < 1.0


# ---------------------------------------------------------------- string literals
@pytest.mark.parametrize("body, per_char", [
    ("a" * 1_000_000, 8), ("ab\\n" * 250_000, 12), ("\\\"" * 300_000, 12),
    ("é" * 500_000, 12), ("\\[Alpha]" * 100_000, 12),
])
def test_string_literal_memory_is_linear_with_a_small_constant(body, per_char):
    text = '"' + body + '"'
    parse('"warm-up"')
    tracemalloc.start()
    try:
        value = parse(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(value, str) and len(value) > 0
    assert peak / len(body) < per_char, f"{peak / len(body):.1f} bytes per character"


# ---------------------------------------------------------------- files
def test_byte_order_mark_and_crlf_keep_lines_and_columns():
    text = "\ufeffx = 1\r\ny = {1, 2}\r\nz = f[x, }\r\nw = 4\r\n"
    with pytest.raises(ParseError) as info:
        parse_statements(text, "crlf.wl")
    e = info.value
    assert (e.line, e.column) == (3, 10)
    assert str(e).startswith("crlf.wl:3:10:")
    assert "\r" not in str(e)
    assert "    z = f[x, }\n" in str(e)
    with pytest.raises(ParseError) as info:
        parse("\ufeffa + * b")
    assert (info.value.line, info.value.column) == (1, 5)


def test_crlf_statements_and_spans():
    stmts = parse_statements("\ufeffa = 1\r\nb = 2\r\n\r\nc\r\n")
    assert [full_form(e) for e, _ in stmts] == ["Set[a, 1]", "Set[b, 2]", "c"]
    assert [(s.line, s.column) for _, s in stmts] == [(1, 1), (2, 1), (4, 1)]


def test_shebang_line_is_ignored():
    stmts = parse_statements("#!/usr/bin/env wolframscript\nx = 1\ny = 2\n")
    assert [full_form(e) for e, _ in stmts] == ["Set[x, 1]", "Set[y, 2]"]
    assert stmts[0][1].line == 2
    stmts = parse_statements("\ufeff#!/usr/bin/env wolframscript\r\nPrint[1]\r\n")
    assert [full_form(e) for e, _ in stmts] == ["Print[1]"]
    with pytest.raises(ParseError) as info:
        parse("#!/usr/bin/env wolframscript\nx = ]")
    assert (info.value.line, info.value.column) == (2, 5)
    # only a first line is a script line; # elsewhere is a Slot
    assert [full_form(e) for e in parse("x\n#!")] == ["x", "Factorial[Slot[1]]"]
