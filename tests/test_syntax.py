"""Every syntax form as text -> FullForm, checked against what Wolfram's parser builds
(``FullForm[Hold[...]]``), plus the grammar's own consistency checks."""

from __future__ import annotations

import re

import pytest

import netdsl
from netdsl import full_form, parse
from netdsl.syntax import build_strict_parser, grammar_text, parse_statements
from netdsl.syntax.operators import precedence_order


def ff(text: str) -> str | list[str]:
    result = parse(text)
    if isinstance(result, list):
        return [full_form(x) for x in result]
    return full_form(result)


def check(cases: list[tuple[str, str]]) -> None:
    for text, expected in cases:
        assert ff(text) == expected, text


# ---------------------------------------------------------------- atoms
@pytest.mark.parametrize("text, expected", [
    ("3", "3"),
    ("-3", "-3"),                      # a written negative number is one Integer
    ("0", "0"),
    ("123456789012345678901234567890", "123456789012345678901234567890"),
    ("2.5", "2.5"),
    ("2.", "2."),
    (".5", "0.5"),
    ("-.5", "-0.5"),
    ("1.5*^-3", "0.0015"),
    ("2*^5", "200000"),                # an Integer mantissa keeps the Integer
    ("2.*^5", "200000."),
    ("1.5*^300", "1.5*^300"),
    ("2*^-3", "Rational[1, 500]"),     # an exact mantissa stays exact, as in Wolfram
])
def test_numbers(text, expected):
    assert ff(text) == expected


def test_number_types():
    assert type(parse("3")) is int and type(parse("-3")) is int
    assert type(parse("2.")) is float and type(parse("2*^5")) is int
    assert parse("-3") == -3 and parse("2*^5") == 200000


@pytest.mark.parametrize("text, value", [
    (r'"plain"', "plain"),
    (r'"say \"hi\""', 'say "hi"'),
    (r'"back\\slash"', "back\\slash"),
    (r'"line\nbreak"', "line\nbreak"),
    (r'"tab\there"', "tab\there"),
    (r'"cr\r"', "cr\r"),
    ('""', ""),
    ('"(* not a comment *)"', "(* not a comment *)"),
    ('"a\nb"', "a\nb"),                # a raw newline inside a string is kept
    ('"é→"', "é→"),
])
def test_strings(text, value):
    assert parse(text) == value
    assert ff(text) == netdsl.expr.quote_string(value)


@pytest.mark.parametrize("text", ["x", "x1", "$x", "x$y", "a1b2$", "$1", "LinearLayer"])
def test_symbols(text):
    assert parse(text) is netdsl.Symbol(text)


def test_slots_and_out():
    check([
        ("#", "Slot[1]"), ("#1", "Slot[1]"), ("#2", "Slot[2]"), ("#0", "Slot[0]"),
        ("%", "Out[]"), ("%%", "Out[-2]"), ("%%%", "Out[-3]"), ("%5", "Out[5]"),
    ])


# ---------------------------------------------------------------- structure
def test_application_lists_associations():
    check([
        ("f[a, b]", "f[a, b]"),
        ("f[a][b]", "f[a][b]"),
        ("f[]", "f[]"),
        ("f[][]", "f[][]"),
        ("f[g[x], {y}]", "f[g[x], List[y]]"),
        ("{}", "List[]"),
        ("{1, 2, {3}}", "List[1, 2, List[3]]"),
        ("{a, b}[[1]]", "Part[List[a, b], 1]"),
        ('<|"a" -> 1, b -> 2|>', 'Association[Rule["a", 1], Rule[b, 2]]'),
        ("<||>", "Association[]"),
        ("<|a :> f[x]|>", "Association[RuleDelayed[a, f[x]]]"),
        ("<|a -> <|b -> 1|>|>", "Association[Rule[a, Association[Rule[b, 1]]]]"),
        ('"f"[x]', '"f"[x]'),
        ("(f)[x]", "f[x]"),
        ("(a + b)[x]", "Plus[a, b][x]"),
    ])


def test_rules():
    check([
        ("a -> b", "Rule[a, b]"),
        ("a :> b", "RuleDelayed[a, b]"),
        ("a -> b -> c", "Rule[a, Rule[b, c]]"),        # right-associative
        ("a :> b -> c", "RuleDelayed[a, Rule[b, c]]"),
        ('"Stride" -> 1', 'Rule["Stride", 1]'),
        ("a -> -1", "Rule[a, -1]"),
        ("a -> b + c", "Rule[a, Plus[b, c]]"),
        ("{a -> 1, b :> 2}", "List[Rule[a, 1], RuleDelayed[b, 2]]"),
    ])


def test_part_and_span():
    check([
        ("x[[1]]", "Part[x, 1]"),
        ("x[[1, 2]]", "Part[x, 1, 2]"),
        ("x[[All, 1]]", "Part[x, All, 1]"),
        ("x[[-1]]", "Part[x, -1]"),
        ("x[[2 ;; 4]]", "Part[x, Span[2, 4]]"),
        ("x[[;; 3]]", "Part[x, Span[1, 3]]"),
        ("x[[2 ;;]]", "Part[x, Span[2, All]]"),
        ("x[[;;]]", "Part[x, Span[1, All]]"),
        ("x[[1 ;; -1 ;; 2]]", "Part[x, Span[1, -1, 2]]"),
        ("x[[;; ;; 2]]", "Part[x, Span[1, All, 2]]"),
        ("x[[1]][[2]]", "Part[Part[x, 1], 2]"),
        ("x[[1]][2]", "Part[x, 1][2]"),
        ("f[x][[1]]", "Part[f[x], 1]"),
        ("x[[y[[1]]]]", "Part[x, Part[y, 1]]"),
        ("x[[i + 1]]", "Part[x, Plus[i, 1]]"),
        ("a ;; b", "Span[a, b]"),
        ("a ;; b ;; c", "Span[a, b, c]"),
        ("a + b ;; c", "Span[Plus[a, b], c]"),
        ("a ;; b + c", "Span[a, Plus[b, c]]"),
        ("a -> b ;; c", "Rule[a, Span[b, c]]"),
    ])


# ---------------------------------------------------------------- arithmetic
def test_arithmetic():
    check([
        ("a + b", "Plus[a, b]"),
        ("a + b + c", "Plus[a, b, c]"),                 # one flat Plus
        ("(a + b) + c", "Plus[Plus[a, b], c]"),         # parentheses keep the nesting
        ("a + (b + c)", "Plus[a, Plus[b, c]]"),
        ("a - b", "Plus[a, Times[-1, b]]"),
        ("a - b - c", "Plus[a, Times[-1, b], Times[-1, c]]"),
        ("a - 2", "Plus[a, -2]"),
        ("a - 2 b", "Plus[a, Times[-1, 2, b]]"),      # CodeParser: -1 before a product
        ("a - 2*b", "Plus[a, Times[-1, 2, b]]"),
        ("a - b c", "Plus[a, Times[-1, b, c]]"),
        ("a - (b c)", "Plus[a, Times[-1, Times[b, c]]]"),
        ("a + -b", "Plus[a, Times[-1, b]]"),
        ("a*b", "Times[a, b]"),
        ("a*b*c", "Times[a, b, c]"),
        ("(a*b)*c", "Times[Times[a, b], c]"),
        ("a/b", "Times[a, Power[b, -1]]"),
        ("a/b/c", "Times[a, Power[b, -1], Power[c, -1]]"),
        ("a/2", "Times[a, Power[2, -1]]"),
        ("a^b", "Power[a, b]"),
        ("a^b^c", "Power[a, Power[b, c]]"),             # right-associative
        ("(a^b)^c", "Power[Power[a, b], c]"),
        ("a^-1", "Power[a, -1]"),
        ("2^-1", "Power[2, -1]"),
        ("a^-b", "Power[a, Times[-1, b]]"),
        ("-x", "Times[-1, x]"),
        ("-x^2", "Times[-1, Power[x, 2]]"),
        ("-2^2", "Times[-1, Power[2, 2]]"),
        ("-a b", "Times[-1, a, b]"),
        ("-a/b", "Times[-1, a, Power[b, -1]]"),
        ("-2 a", "Times[-2, a]"),
        ("-(-a)", "Times[-1, Times[-1, a]]"),
        ("+a", "Plus[a]"),
        ("a*-b", "Times[a, Times[-1, b]]"),
        ("a/-b", "Times[a, Power[Times[-1, b], -1]]"),
        ("a + b c", "Plus[a, Times[b, c]]"),
        ("a b + c", "Plus[Times[a, b], c]"),
        ("a . b", "Dot[a, b]"),
        ("a . b . c", "Dot[a, b, c]"),
        ("-a . b", "Times[-1, Dot[a, b]]"),
        ("a b . c", "Times[a, Dot[b, c]]"),
        ("a . b^2", "Dot[a, Power[b, 2]]"),
    ])


def test_implicit_multiplication():
    check([
        ("2 x", "Times[2, x]"),
        ("0.1 #", "Times[0.1, Slot[1]]"),
        ("a (b + c)", "Times[a, Plus[b, c]]"),
        ("2 x^2 y", "Times[2, Power[x, 2], y]"),
        ("2 3", "Times[2, 3]"),
        ("a b c", "Times[a, b, c]"),
        ("x y/z", "Times[x, y, Power[z, -1]]"),
        ("2 f[x]", "Times[2, f[x]]"),
        ("(a)(b)", "Times[a, b]"),
        ("1.e5", "Times[1., e5]"),                    # as in Wolfram: e5 is a symbol
        ("2 x + 3 y", "Plus[Times[2, x], Times[3, y]]"),
    ])


# ---------------------------------------------------------------- logic, comparison
def test_comparisons():
    check([
        ("a == b", "Equal[a, b]"),
        ("a != b", "Unequal[a, b]"),
        ("a < b", "Less[a, b]"),
        ("a <= b", "LessEqual[a, b]"),
        ("a > b", "Greater[a, b]"),
        ("a >= b", "GreaterEqual[a, b]"),
        ("a === b", "SameQ[a, b]"),
        ("a =!= b", "UnsameQ[a, b]"),
        ("a == b == c", "Equal[a, b, c]"),            # chained: one head
        ("a < b < c", "Less[a, b, c]"),
        ("a < b <= c", "Inequality[a, Less, b, LessEqual, c]"),   # mixed
        ("a > b == c", "Inequality[a, Greater, b, Equal, c]"),
        ("a + 1 < b", "Less[Plus[a, 1], b]"),
    ])


def test_logic():
    check([
        ("a && b", "And[a, b]"),
        ("a || b", "Or[a, b]"),
        ("a && b && c", "And[a, b, c]"),
        ("!a", "Not[a]"),
        ("!!a", "Not[Not[a]]"),
        ("a || b && c", "Or[a, And[b, c]]"),
        ("a && b || c", "Or[And[a, b], c]"),
        ("!a == b", "Not[Equal[a, b]]"),              # ! binds looser than ==
        ("!a && b", "And[Not[a], b]"),
        ("a == !b", "Equal[a, Not[b]]"),
        ("a < b && b < c", "And[Less[a, b], Less[b, c]]"),
    ])


# ---------------------------------------------------------------- application operators
def test_application_operators():
    check([
        ("f @ x", "f[x]"),
        ("f@x", "f[x]"),
        ("f @ g @ x", "f[g[x]]"),                     # right-associative
        ("f@x^2", "Power[f[x], 2]"),                  # @ binds tighter than ^
        ("f @ x + 1", "Plus[f[x], 1]"),
        ("x // f", "f[x]"),
        ("x // f // g", "g[f[x]]"),
        ("a + b // f", "f[Plus[a, b]]"),              # // binds loosest
        ("x // f[y]", "f[y][x]"),
        ("a // f @ x", "f[x][a]"),
        ("f /@ list", "Map[f, list]"),
        ("f @@ list", "Apply[f, list]"),
        ("f /@ g /@ x", "Map[f, Map[g, x]]"),
        ("f /@ x + 1", "Plus[Map[f, x], 1]"),
        ("f /@ x^2", "Power[Map[f, x], 2]"),          # /@ (620) binds tighter than ^ (590)
    ])


def test_functions():
    check([
        ("#", "Slot[1]"),
        ("(# + 1) &", "Function[Plus[Slot[1], 1]]"),
        ("# + 1 &", "Function[Plus[Slot[1], 1]]"),
        ("#^2 &", "Function[Power[Slot[1], 2]]"),
        ("#1 + #2 &", "Function[Plus[Slot[1], Slot[2]]]"),
        ("Function[x, x + 1]", "Function[x, Plus[x, 1]]"),
        ("a -> # &", "Function[Rule[a, Slot[1]]]"),   # & binds looser than ->
        ("f[#] & /@ x", "Map[Function[f[Slot[1]]], x]"),
        ("{# &, 2}", "List[Function[Slot[1]], 2]"),
        ("(# &)[3]", "Function[Slot[1]][3]"),
        ("# + 1 &[2]", "Function[Plus[Slot[1], 1]][2]"),   # body &[args] calls it
        ("#1 + #2 &[1, 2]", "Function[Plus[Slot[1], Slot[2]]][1, 2]"),
        ("# &[1][2]", "Function[Slot[1]][1][2]"),
        ("x = # &[1] + 2", "Set[x, Plus[Function[Slot[1]][1], 2]]"),
    ])


# ---------------------------------------------------------------- assignment, sequencing
def test_assignment_and_compound():
    check([
        ("x = 1", "Set[x, 1]"),
        ("x := f[y]", "SetDelayed[x, f[y]]"),
        ("x = y = 2", "Set[x, Set[y, 2]]"),           # right-associative
        ("x = a -> b", "Set[x, Rule[a, b]]"),
        ("x[[1]] = 2", "Set[Part[x, 1], 2]"),
        ("(x) = 2", "Set[x, 2]"),
        ("f = # + 1 &", "Set[f, Function[Plus[Slot[1], 1]]]"),
        ("x = 1 // f", "Set[x, f[1]]"),               # // (70) binds tighter than = (40)
        ("a; b", "CompoundExpression[a, b]"),
        ("a; b; c", "CompoundExpression[a, b, c]"),
        ("a;", "CompoundExpression[a, Null]"),        # trailing ; gives Null
        ("a; b;", "CompoundExpression[a, b, Null]"),
        ("x = 1; y = 2", "CompoundExpression[Set[x, 1], Set[y, 2]]"),
        ("x = (a; b)", "Set[x, CompoundExpression[a, b]]"),
        ("f[a; b]", "f[CompoundExpression[a, b]]"),
    ])


# ---------------------------------------------------------------- comments, newlines
def test_comments():
    check([
        ("a (* comment *) + b", "Plus[a, b]"),
        ("a (* outer (* nested *) still outer *) + b", "Plus[a, b]"),
        ('"(* in a string *)" (* real *)', '"(* in a string *)"'),
        ('f["*)"] (* "quoted (* *) " *)', 'f["*)"]'),
        ("(*c*)a", "a"),
        ("a(*c*)", "a"),
        ("f[a, (* b, *) c]", "f[a, c]"),
    ])


def test_comment_keeps_lines_and_columns():
    (expr, span), = parse_statements("(* one\ntwo *) f[x]")
    assert (span.line, span.column) == (2, 8)


def test_newlines():
    check([
        ("a\nb", ["a", "b"]),                          # a complete expression ends
        ("a\n\n\nb", ["a", "b"]),
        ("\n\na\n\n", "a"),
        ("a +\nb", "Plus[a, b]"),                      # a trailing operator continues
        ("a ->\n b", "Rule[a, b]"),
        ("x =\n 3", "Set[x, 3]"),
        ("f[a,\nb]", "f[a, b]"),                       # open bracket continues
        ("f[\na\n]", "f[a]"),
        ("{\n1,\n2\n}", "List[1, 2]"),
        ("(a\n+ b)", "Plus[a, b]"),                    # inside brackets a newline is space
        ("{a\nb}", "List[Times[a, b]]"),               # ... so this is a product
        ("<|a -> 1,\n b -> 2|>", "Association[Rule[a, 1], Rule[b, 2]]"),
        ("a\n-b", ["a", "Times[-1, b]"]),              # a leading operator does not continue
        ("a;\nb", ["CompoundExpression[a, Null]", "b"]),
        ("f = # &\nf[1]", ["Set[f, Function[Slot[1]]]", "f[1]"]),
        ("a \\\n+ b", "Plus[a, b]"),                   # backslash-newline joins lines
        ("a\r\nb", ["a", "b"]),
        ("a (* c\n *) + b", "Plus[a, b]"),            # a comment is whitespace, newlines and all
        ("a = 1 (* c\n *)\nb", ["Set[a, 1]", "b"]),
        ("NetChain[{\n  LinearLayer[10],\n  Ramp\n}]\nx",
         ["NetChain[List[LinearLayer[10], Ramp]]", "x"]),
    ])


def test_statement_spans():
    stmts = parse_statements("x = 1\n  f[a,\n b]\n", source="file.wl")
    spans = [s for _, s in stmts]
    assert [(s.line, s.column, s.end_line, s.end_column) for s in spans] == [
        (1, 1, 1, 6), (2, 3, 3, 4)]                   # end columns are exclusive
    assert spans[0].source == "file.wl"


def test_empty_text():
    assert parse_statements("") == []
    assert parse_statements("  \n (* only a comment *)\n") == []


# ---------------------------------------------------------------- precedence, all at once
@pytest.mark.parametrize("text, expected", [
    ("a = b -> c", "Set[a, Rule[b, c]]"),
    ("a -> b || c", "Rule[a, Or[b, c]]"),
    ("a || b == c", "Or[a, Equal[b, c]]"),
    ("a == b + c", "Equal[a, Plus[b, c]]"),
    ("a + b * c", "Plus[a, Times[b, c]]"),
    ("a * b ^ c", "Times[a, Power[b, c]]"),
    ("a ^ f /@ x", "Power[a, Map[f, x]]"),
    ("f /@ g @ x", "Map[f, g[x]]"),
    ("f @ x[[1]]", "f[Part[x, 1]]"),
    ("a; b = c", "CompoundExpression[a, Set[b, c]]"),
    ("a = b; c", "CompoundExpression[Set[a, b], c]"),
    ("a -> b &", "Function[Rule[a, b]]"),
    ("a = b &", "Set[a, Function[b]]"),
    ("x // f &", "Function[f][x]"),                 # x // #^2 & applies the function
    ("a . b ^ c", "Dot[a, Power[b, c]]"),
    ("-a . b", "Times[-1, Dot[a, b]]"),
    ("!a || b", "Or[Not[a], b]"),
    ("a ;; b -> c", "Rule[Span[a, b], c]"),
])
def test_precedence(text, expected):
    assert ff(text) == expected


# ---------------------------------------------------------------- the grammar itself
def test_grammar_has_no_conflicts():
    # strict=True fails on any LALR shift/reduce or reduce/reduce conflict and on
    # terminals that can match the same text (checked with interegular)
    parser = build_strict_parser()
    assert parser.parse("f[a -> 1, {b}] // g\n") is not None


def _grammar_comment_table() -> list[tuple[int, str]]:
    """(precedence, operator) pairs from the header comment of grammar/wolfram.lark:
    lines ``//   <prec>  <op> <op> ...   <description>``."""
    pairs = []
    precs = []
    for line in grammar_text().splitlines():
        m = re.match(r"//\s+(\d+)\s+(.*)$", line)
        if not m:
            continue
        prec = int(m.group(1))
        precs.append(prec)
        for field in m.group(2).split():
            if re.search(r"[A-Za-z0-9]", field):  # the description has begun
                break
            pairs.append((prec, field))
    assert precs == sorted(precs), "the grammar comment must list precedences lowest first"
    return sorted(pairs)


def precedence_names() -> set[str]:
    return {name for _, name in precedence_order()}


def _operator_spellings() -> dict[str, str]:
    """Terminal name -> its (first) ASCII spelling, from the grammar; the regex
    terminals that carry a file name or tag are named by their operator."""
    spelled = {}
    for name, body in re.findall(r'^([A-Z_]+)(?:\.\d)?:\s*(.+)$', grammar_text(), flags=re.M):
        m = re.match(r'"((?:[^"\\]|\\.)+)"', body)
        if m and not m.group(1).startswith("\\\\["):
            spelled[name] = m.group(1)
    spelled.update(PUT=">>", UNSET="=.", REPLACEALL="/.")
    return spelled


def test_precedence_table_matches_grammar_comment():
    spelled = _operator_spellings()
    table = sorted({(prec, spelled[name]) for prec, name in precedence_order()
                    if not name.endswith("_LONG") and name != "ELEMENT"})
    assert {name for _, name in precedence_order()} - set(spelled) <= {
        n for n in precedence_names() if n.endswith("_LONG")} | {"ELEMENT"}
    comment = [(p, op) for p, op in _grammar_comment_table()
               if op not in {">>>", "∈", "<<", "::", "?"}]  # atoms, postfix rules, or a
    # second spelling
    assert comment == table


def test_every_operator_terminal_is_in_the_table():
    ops = re.search(r"_operator:(.*?)\n\n", grammar_text(), flags=re.S).group(1)
    in_grammar = set(re.findall(r"[A-Z_]+", ops))
    assert in_grammar == {name for _, name in precedence_order()}


def test_short_runs_match_the_climber(monkeypatch):
    """Runs of two or three items are built without the Climber: same result."""
    from netdsl.syntax import transform
    operators = [op for op in _operator_spellings().values()
                 if op not in {"[", "]", "[[", "{", "}", "(", ")", "<|", "|>", "`", ","}]
    assert {"<", ">", "->", "=", ";", "&"} <= set(operators)
    operands = ["a", "2", "2.5", '"s"', "(b)", "(2)", "f[x]", "{1}", "#", "(a + b)", "x[[1]]"]
    texts = [f"{p} {op} {q}" for op in operators for p in operands[:6] for q in operands]
    texts += [f"- {q}" for q in operands] + [f"{p} {q}" for p in operands for q in operands]
    texts += [f"{p} &" for p in operands] + [f"! {q}" for q in operands]
    fast = {}
    for text in texts:
        try:
            fast[text] = ("ok", full_form(parse(text)))
        except netdsl.ParseError as e:
            fast[text] = ("error", e.text)
    monkeypatch.setattr(transform, "short_run", lambda items: None)
    for text in texts:
        try:
            slow = ("ok", full_form(parse(text)))
        except netdsl.ParseError as e:
            slow = ("error", e.text)
        assert fast[text] == slow, text
