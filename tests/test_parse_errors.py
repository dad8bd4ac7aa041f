"""Syntax errors: always a ``netdsl.ParseError`` (never a Lark exception), with the
line and column (from 1), the source line with a caret under the spot, and a
message in words. ``incomplete`` marks text that more input could still complete
(the REPL asks for another line)."""

from __future__ import annotations

import pytest

import netdsl
from netdsl import ParseError, parse


def error_of(text: str, source: str | None = None) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text, source)
    e = info.value
    assert type(e) is ParseError
    message = str(e)
    assert "lark" not in message.lower() and "Token(" not in message
    assert "__" not in message and "$END" not in message and "_NL" not in message
    return e


def caret_line(e: ParseError) -> tuple[str, str]:
    """The quoted source line and the caret line under it."""
    lines = str(e).split("\n")
    return lines[-2], lines[-1]


def assert_caret(e: ParseError, line_text: str) -> None:
    src, caret = caret_line(e)
    assert src.strip() == line_text.strip()
    # the caret stands under column e.column of the quoted line
    assert caret.index("^") - src.index(line_text.lstrip()[:1]) == \
        e.column - 1 - (len(line_text) - len(line_text.lstrip()))


# ---------------------------------------------------------------- brackets
def test_wrong_closing_bracket():
    text = "NetChain[{LinearLayer[10}]"
    e = error_of(text)
    # the '}' at column 25 arrives while the '[' after LinearLayer (column 22) is open
    assert (e.line, e.column) == (1, 25)
    assert "unexpected '}'" in e.text
    assert "expected ']' to close '[' opened at 1:22" in e.text
    assert not e.incomplete
    src, caret = caret_line(e)
    assert src == "    " + text and caret == "    " + " " * 24 + "^"
    assert_caret(e, text)


@pytest.mark.parametrize("text, closer, opener, at", [
    ("{1, 2", "}", "{", "1:1"),
    ("f[a", "]", "[", "1:2"),
    ("(a + b", ")", "(", "1:1"),
    ("<|a -> 1", "|>", "<|", "1:1"),
    ("x[[1", "]]", "[[", "1:2"),
    ("x[[1]", "]", "[[", "1:2"),            # one of the two ']' is there
    ("NetChain[{LinearLayer[10]", "}", "{", "1:10"),
    ("f[\n  {1,\n   2", "}", "{", "2:3"),
    ("# &[3", "]", "[", "1:4"),
])
def test_unclosed_bracket_at_end_is_incomplete(text, closer, opener, at):
    e = error_of(text)
    assert e.incomplete is True
    assert e.text == f"incomplete input: expected '{closer}' to close '{opener}' opened at {at}"
    # the caret points just after the last character written
    last_line = text.split("\n")[-1]
    assert (e.line, e.column) == (text.count("\n") + 1, len(last_line) + 1)


def test_incomplete_ignores_trailing_blanks_and_comments():
    e = error_of("f[a,\n  b  (* more to come *)\n\n")
    assert e.incomplete and (e.line, e.column) == (2, 4)


@pytest.mark.parametrize("text, opener", [
    ("a]", "["), ("a b}", "{"), ("f[x])", "("), ("x |>", "<|"), ("x[[1]]]", "["),
    ("}", "{"),
])
def test_closer_without_opener(text, opener):
    e = error_of(text)
    assert f"there is no open '{opener}' to close" in e.text
    assert e.column == len(text.rstrip()) - (1 if text.endswith("|>") else 0)
    assert not e.incomplete


@pytest.mark.parametrize("text, col, message", [
    ("(a]", 3, "unexpected ']': expected ')' to close '(' opened at 1:1"),
    ("<|a -> 1]", 9, "unexpected ']': expected '|>' to close '<|' opened at 1:1"),
    ("x[[1}", 5, "unexpected '}': expected ']]' to close '[[' opened at 1:2"),
    ("x[[]]", 4, "unexpected ']': expected an expression"),
    ("f[a,]", 5, "unexpected ']': expected an expression"),
    ("f[,a]", 3, "unexpected ',': expected an expression"),
    ("{1, 2 3 ]", 9, "unexpected ']': expected '}' to close '{' opened at 1:1"),
])
def test_mismatched_brackets(text, col, message):
    e = error_of(text)
    assert (e.line, e.column) == (1, col)
    assert e.text == message


# ---------------------------------------------------------------- operators
def test_operator_where_an_operand_belongs():
    e = error_of("a + * b")
    assert (e.line, e.column) == (1, 5)
    assert e.text == "unexpected '*': expected an expression after '+'"
    assert not e.incomplete


@pytest.mark.parametrize("text, op", [
    ("x = ", "="), ("x := ", ":="), ("a +", "+"), ("a &&", "&&"), ("f @", "@"),
    ("a //", "//"), ("a ->\n", "->"), ("-", "-"), ("2^", "^"),
])
def test_trailing_operator_is_incomplete(text, op):
    e = error_of(text)
    assert e.incomplete is True
    assert e.text == f"incomplete input: expected an expression after '{op}'"
    stripped = text.rstrip()
    assert (e.line, e.column) == (1, len(stripped) + 1)


@pytest.mark.parametrize("text, found, op, col", [
    ("(a + )", ")", "+", 6), ("f[a +, b]", ",", "+", 6), ("{a ->}", "}", "->", 6),
    ("<|a -> |>", "|>", "->", 8),
])
def test_operator_without_right_operand_inside_brackets(text, found, op, col):
    e = error_of(text)
    assert not e.incomplete
    assert e.text == f"unexpected '{found}': expected an expression after '{op}'"
    assert e.column == col


def test_operator_at_start():
    e = error_of("&")
    assert e.text == "unexpected '&': expected an expression" and e.column == 1


def test_misplaced_colon():
    e = error_of("f[x]:3")
    assert "':' needs a symbol" in e.text and e.column == 5


def test_junk_after_a_complete_expression():
    e = error_of("a, b")
    assert e.text.startswith("unexpected ',' after a complete expression")
    assert "commas separate" in e.text and e.column == 2
    assert "end of input" not in e.text and "end of line" not in e.text


# ---------------------------------------------------------------- lexical errors
def test_unknown_character():
    e = error_of("a \x7f b")
    assert e.text == "unexpected character '\\x7f'"
    assert (e.line, e.column) == (1, 3)
    assert not e.incomplete


def test_control_character_is_shown_escaped():
    e = error_of("a \x01")
    assert e.text == "unexpected character '\\x01'"


def test_unterminated_string_is_incomplete():
    e = error_of('x = "abc')
    assert e.incomplete is True
    assert e.text == "string opened at 1:5 is never closed with '\"'"
    assert (e.line, e.column) == (1, 5)


def test_unterminated_string_over_lines():
    e = error_of('a = 1\nb = "abc\ndef')
    assert e.incomplete and (e.line, e.column) == (2, 5) and "opened at 2:5" in e.text


def test_unterminated_comment_is_incomplete():
    e = error_of("a = 1\nb (* note (* inner *) \n")
    assert e.incomplete is True
    assert e.text == "comment opened at 2:3 is never closed with '*)'"
    assert (e.line, e.column) == (2, 3)


def test_unknown_escape_in_string():
    e = error_of(r'"a\qb"')
    assert "unknown escape '\\q'" in e.text


# ---------------------------------------------------------------- once refused, now Wolfram syntax
@pytest.mark.parametrize("text, expected", [
    ("f[x_] := x", "SetDelayed[f[Pattern[x, Blank[]]], x]"),
    ("f[x] := x + 1", "SetDelayed[f[x], Plus[x, 1]]"), ("f[x] = 3", "Set[f[x], 3]"),
    ("1 = 2", "Set[1, 2]"), ("(f[x]) = 3", "Set[f[x], 3]"), ("a + b = c", "Set[Plus[a, b], c]"),
])
def test_definitions_parse(text, expected):
    assert netdsl.full_form(parse(text)) == expected


def test_unknown_named_character():
    e = error_of("x = \\[Foo] + 1")
    assert "\\[Foo]" in e.text and (e.line, e.column) == (1, 5)
    e = error_of('"a\\[Foo]"')
    assert "unknown character name '\\[Foo]'" in e.text and e.column == 3


# ---------------------------------------------------------------- positions
def test_error_on_line_three():
    text = "x = 1\ny = {1, 2}\nz = f[x, }\nw = 4"
    e = error_of(text)
    assert (e.line, e.column) == (3, 10)
    src, caret = caret_line(e)
    assert src == "    z = f[x, }" and caret == "    " + " " * 9 + "^"


def test_error_after_comments_keeps_true_columns():
    e = error_of("(* a (* nested *) comment *) a + * b")
    assert (e.line, e.column) == (1, 34)
    assert "(* a (* nested *) comment *)" in str(e)      # the original line is quoted


def test_source_name_prefix():
    e = error_of("x = 1\nf[a}", source="file.wl")
    assert str(e).startswith("file.wl:2:4: ")
    assert e.span.source == "file.wl"


def test_default_prefix_and_tag():
    e = error_of("a]")
    assert str(e).startswith("<input>:1:2: Syntax::sntx: ")
    assert e.tag == "sntx" and e.symbol == "Syntax"


def test_tab_in_line_keeps_caret_aligned():
    e = error_of("\tf[a}")
    src, caret = caret_line(e)
    assert caret.index("^") == src.index("}")


def test_session_raises_the_same_error():
    with pytest.raises(ParseError) as info:
        netdsl.Session().evaluate("1 +", source="s.wl")
    assert info.value.incomplete and str(info.value).startswith("s.wl:1:4:")
