"""The precomputed LALR tables (netdsl/syntax/tables.py) must be those of the grammar:
a stale file would parse an older language. Regenerate with
``python -m netdsl.syntax``."""

from __future__ import annotations

import lark
import pytest

from netdsl.syntax import parser, tables
from netdsl.syntax.newlines import NewlineFilter
from netdsl.syntax.transform import ToExpr

SAMPLES = [
    'net = NetChain[{LinearLayer[3], Ramp}, "Input" -> 4];',
    "f[x_] := x^2 + 1; Map[f, {1, 2, 3}] // Total",
    'a = <|"k" -> {1.5, 2*^3}|>; a[["k", 2]]',
    "If[a && !b || c, x /. y -> z, Nothing] (* comment *)",
]


def test_shipped_tables_match_grammar_and_lark():
    text = parser.grammar_text()
    loaded = tables.load(text, postlex=NewlineFilter(), transformer=ToExpr())
    assert loaded is not None, "stale tables: run python -m netdsl.syntax"


def test_tables_parse_like_the_built_parser():
    """Same parse trees from the shipped tables and from a parser built from the grammar."""
    text = parser.grammar_text()
    built = lark.Lark(text, parser="lalr", lexer="contextual", postlex=NewlineFilter())
    loaded = tables.load(text, postlex=NewlineFilter())
    assert loaded is not None
    for sample in SAMPLES:
        assert loaded.parse(sample + "\n") == built.parse(sample + "\n"), sample


def test_stale_stamp_is_refused():
    assert tables.load(parser.grammar_text() + "\n// changed") is None


@pytest.mark.parametrize("sample", SAMPLES)
def test_parse_statements_uses_loaded_tables(sample):
    assert parser.parse_statements(sample)
