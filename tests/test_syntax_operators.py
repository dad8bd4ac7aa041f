"""Every operator's precedence and associativity against Wolfram's operator table, and
the FullForm of each construct of Wolfram's wider syntax, as CodeParser builds it.

The table below is written out here from Wolfram's documentation
(``Precedence[...]``, tutorial/OperatorInputForms) and CodeParser's
``Data/Precedence.wl`` (where they differ, e.g. ``===`` below ``==``, CodeParser
wins); it is not read from netdsl, so the parser is checked against it.
"""

from __future__ import annotations

import itertools

import pytest

from netdsl import ParseError, full_form, input_form, parse

# (spelling, head, precedence, associativity); "flat" chains build one head[a, b, c]
BINARY = [
    ("=", "Set", 40, "right"), (":=", "SetDelayed", 40, "right"),
    ("^=", "UpSet", 40, "right"), ("^:=", "UpSetDelayed", 40, "right"),
    ("|->", "Function", 40, "right"),
    ("+=", "AddTo", 100, "right"), ("-=", "SubtractFrom", 100, "right"),
    ("*=", "TimesBy", 100, "right"), ("/=", "DivideBy", 100, "right"),
    ("/.", "ReplaceAll", 110, "left"), ("//.", "ReplaceRepeated", 110, "left"),
    ("->", "Rule", 120, "right"), (":>", "RuleDelayed", 120, "right"),
    ("<->", "TwoWayRule", 125, "right"),
    ("/;", "Condition", 130, "left"),
    ("~~", "StringExpression", 135, "flat"),
    ("|", "Alternatives", 160, "flat"),
    ("||", "Or", 215, "flat"), ("&&", "And", 217, "flat"),
    ("\\[Element]", "Element", 250, "flat"),
    ("===", "SameQ", 260, "flat"), ("=!=", "UnsameQ", 260, "flat"),
    ("==", "Equal", 290, "flat"),
    ("+", "Plus", 310, "flat"),
    ("*", "Times", 400, "flat"),
    (".", "Dot", 490, "flat"),
    ("^", "Power", 590, "right"),
    ("<>", "StringJoin", 600, "flat"),
    ("/@", "Map", 620, "right"), ("//@", "MapAll", 620, "right"),
    ("@@", "Apply", 620, "right"), ("@@@", "MapApply", 620, "right"),
    ("/*", "RightComposition", 643, "flat"), ("@*", "Composition", 644, "flat"),
    ("?", "PatternTest", 680, "left"),
]
ASSOCIATIVITY_OF_LEVEL = {p: assoc for _, _, p, assoc in BINARY}


def ff(text: str) -> str:
    return full_form(parse(text))


@pytest.mark.parametrize("op, head, prec, assoc", BINARY)
def test_associativity(op, head, prec, assoc):
    expected = {"right": f"{head}[a, {head}[b, c]]", "left": f"{head}[{head}[a, b], c]",
                "flat": f"{head}[a, b, c]"}[assoc]
    assert ff(f"a {op} b {op} c") == expected


def _pairs():
    for (o1, h1, p1, _a1), (o2, h2, p2, _a2) in itertools.permutations(BINARY, 2):
        if h1 == h2:
            continue
        if p1 > p2 or (p1 == p2 and ASSOCIATIVITY_OF_LEVEL[p1] != "right"):
            expected = f"{h2}[{h1}[a, b], c]"       # the first binds tighter (or: left)
        else:
            expected = f"{h1}[a, {h2}[b, c]]"
        yield f"a {o1} b {o2} c", expected


@pytest.mark.parametrize("text, expected", list(_pairs()))
def test_precedence_of_every_pair(text, expected):
    assert ff(text) == expected


# ---------------------------------------------------------------- prefix, postfix, special
@pytest.mark.parametrize("text, expected", [
    ("!a == b", "Not[Equal[a, b]]"),                  # ! 230 < == 290
    ("!a && b", "And[Not[a], b]"),                    # ! 230 > && 217
    ("a!^2", "Power[Factorial[a], 2]"),               # n! 610 > ^ 590
    ("a^b!", "Power[a, Factorial[b]]"),
    ("a! <> b", "StringJoin[Factorial[a], b]"),       # n! 610 > <> 600
    ("f /@ a!", "Factorial[Map[f, a]]"),              # /@ 620 > n! 610: f /@ a first
    ("++a^2", "Power[PreIncrement[a], 2]"),           # ++ 660 > ^ 590
    ("a++ ^ 2", "Power[Increment[a], 2]"),
    ("f @ a++", "f[Increment[a]]"),                   # @ 640 < ++ 665
    ("--a", "PreDecrement[a]"),
    ("a--", "Decrement[a]"),
    ("a.. | b", "Alternatives[Repeated[a], b]"),      # .. 170 > | 160
    ("a | b...", "Alternatives[a, RepeatedNull[b]]"),
    ("a.. /; c", "Condition[Repeated[a], c]"),
    ("x_ /; c -> r", "Rule[Condition[Pattern[x, Blank[]], c], r]"),   # /; 130 > -> 120
    ("a /. b -> c", "ReplaceAll[a, Rule[b, c]]"),     # /. 110 < -> 120
    ("a -> b &", "Function[Rule[a, b]]"),
    ("a += b &", "Function[AddTo[a, b]]"),            # & 90 < += 100
    ("a = b &", "Set[a, Function[b]]"),
    ("a // f /. r", "ReplaceAll[f, r][a]"),           # // 70 < /. 110: a // (f /. r)
    ("a = b >> f", "Put[Set[a, b], \"f\"]"),          # >> 30 < = 40
    ("a; b >> f", "CompoundExpression[a, Put[b, \"f\"]]"),
    ("a >>> f", "PutAppend[a, \"f\"]"),
    ("x =.", "Unset[x]"),
    ("a = x =.", "Set[a, Unset[x]]"),                 # both 40, right
    ("f /: g[f] = 1", "TagSet[f, g[f], 1]"),
    ("f /: g[f] := x + 1", "TagSetDelayed[f, g[f], Plus[x, 1]]"),
    ("f /: g[f] =.", "TagUnset[f, g[f]]"),
    ("a ~f~ b", "f[a, b]"),
    ("a ~f~ b ~g~ c", "g[f[a, b], c]"),               # left
    ("a ~f~ b^2", "Power[f[a, b], 2]"),               # ~ 630 > ^ 590
    ("f @ a ~g~ b", "g[f[a], b]"),                    # @ 640 > ~ 630: f @ a binds first
    ("f::usage", "MessageName[f, \"usage\"]"),
    ("f::a::b", "MessageName[f, \"a\", \"b\"]"),
    ("f::\"a b\"", "MessageName[f, \"a b\"]"),
    ("f::usage[x]", "MessageName[f, \"usage\"][x]"),  # :: 750 > application 670
    ("<<a.m", "Get[\"a.m\"]"),
    ("<< \"a b.m\"", "Get[\"a b.m\"]"),
    ("<<Package`", "Get[\"Package`\"]"),
    ("<<a.m; b", "CompoundExpression[Get[\"a.m\"], b]"),
    ("a ;; b + c", "Span[a, Plus[b, c]]"),             # ;; below +
    ("a == b ;; c", "Equal[a, Span[b, c]]"),           # ;; above ==
    ("a === b == c", "SameQ[a, Equal[b, c]]"),         # === 260 below == 290
    ("a === b =!= c", "UnsameQ[SameQ[a, b], c]"),
    ("a \\[Element] b && c", "And[Element[a, b], c]"),
])
def test_prefix_postfix_and_special_forms(text, expected):
    assert ff(text) == expected


# ---------------------------------------------------------------- patterns
@pytest.mark.parametrize("text, expected", [
    ("_", "Blank[]"), ("__", "BlankSequence[]"), ("___", "BlankNullSequence[]"),
    ("_h", "Blank[h]"), ("__h", "BlankSequence[h]"), ("___h", "BlankNullSequence[h]"),
    ("x_", "Pattern[x, Blank[]]"), ("x_Integer", "Pattern[x, Blank[Integer]]"),
    ("x__", "Pattern[x, BlankSequence[]]"), ("x___Real", "Pattern[x, BlankNullSequence[Real]]"),
    ("_.", "Optional[Blank[]]"), ("x_.", "Optional[Pattern[x, Blank[]]]"),
    ("x_:1", "Optional[Pattern[x, Blank[]], 1]"),
    ("_:False", "Optional[Blank[], False]"),
    ("x_h:{}", "Optional[Pattern[x, Blank[h]], List[]]"),
    ("x:_", "Pattern[x, Blank[]]"),
    ("x:_Integer|_Real", "Pattern[x, Alternatives[Blank[Integer], Blank[Real]]]"),
    ("a:b:c", "Optional[Pattern[a, b], c]"),
    ("a|b:c:d", "Alternatives[a, Optional[Pattern[b, c], d]]"),
    ("id:_?validQ:Automatic", "Optional[Pattern[id, PatternTest[Blank[], validQ]], Automatic]"),
    ("f[n : _Integer?Positive : 1] := n",
     "SetDelayed[f[Optional[Pattern[n, PatternTest[Blank[Integer], Positive]], 1]], n]"),
    ("x_?NumericQ", "PatternTest[Pattern[x, Blank[]], NumericQ]"),
    # ? binds tighter than an argument list: p?test[x] is (p?test)[x], as in Wolfram
    ("p?test[x]", "PatternTest[p, test][x]"),
    ("_?NumericQ[x][y]", "PatternTest[Blank[], NumericQ][x][y]"),
    ("p?(test[x])", "PatternTest[p, test[x]]"),
    ("x_?(# > 0 &)", "PatternTest[Pattern[x, Blank[]], Function[Greater[Slot[1], 0]]]"),
    ("f[x]?g", "PatternTest[f[x], g]"),
    ("p?t@x", "PatternTest[p, t][x]"),
    ("x_ /; x > 0", "Condition[Pattern[x, Blank[]], Greater[x, 0]]"),
    ("{x__} /; Length[{x}] > 1", "Condition[List[Pattern[x, BlankSequence[]]], "
                                 "Greater[Length[List[x]], 1]]"),
    ("_Integer | _Real", "Alternatives[Blank[Integer], Blank[Real]]"),
    ("{_Integer..}", "List[Repeated[Blank[Integer]]]"),
    ("x_ y_", "Times[Pattern[x, Blank[]], Pattern[y, Blank[]]]"),
    ("a`b_c`d", "Pattern[a`b, Blank[c`d]]"),
    ("OptionsPattern[]", "OptionsPattern[]"),
    ("f[x_, opts : OptionsPattern[]]", "f[Pattern[x, Blank[]], Pattern[opts, OptionsPattern[]]]"),
])
def test_patterns(text, expected):
    assert ff(text) == expected


# ---------------------------------------------------------------- definitions
@pytest.mark.parametrize("text, expected", [
    ("f[x_] := x^2", "SetDelayed[f[Pattern[x, Blank[]]], Power[x, 2]]"),
    ("f[x_] = 3", "Set[f[Pattern[x, Blank[]]], 3]"),
    ("f[0] = 1", "Set[f[0], 1]"),
    ("fib[n_] := fib[n] = fib[n - 1] + fib[n - 2]",
     "SetDelayed[fib[Pattern[n, Blank[]]], Set[fib[n], Plus[fib[Plus[n, -1]], "
     "fib[Plus[n, -2]]]]]"),
    ("Options[f] = {\"A\" -> 1}", "Set[Options[f], List[Rule[\"A\", 1]]]"),
    ("f::usage = \"f[x] does it.\"", "Set[MessageName[f, \"usage\"], \"f[x] does it.\"]"),
    ("{a, b} = {1, 2}", "Set[List[a, b], List[1, 2]]"),
    ("f[x_] ^= 2", "UpSet[f[Pattern[x, Blank[]]], 2]"),
    ("f[x_] ^:= 2", "UpSetDelayed[f[Pattern[x, Blank[]]], 2]"),
    ("x |-> x + 1", "Function[x, Plus[x, 1]]"),
    ("x \\[Function] x + 1", "Function[x, Plus[x, 1]]"),
    ("i++; j--; ++k; --l", "CompoundExpression[Increment[i], Decrement[j], PreIncrement[k], "
                           "PreDecrement[l]]"),
    ("x += 1; x -= 2; x *= 3; x /= 4",
     "CompoundExpression[AddTo[x, 1], SubtractFrom[x, 2], TimesBy[x, 3], DivideBy[x, 4]]"),
])
def test_definitions(text, expected):
    assert ff(text) == expected


# ---------------------------------------------------------------- CodeParser's arithmetic
@pytest.mark.parametrize("text, expected", [
    ("a - 2 b", "Plus[a, Times[-1, 2, b]]"),
    ("a - b", "Plus[a, Times[-1, b]]"),
    ("a - 2", "Plus[a, -2]"),
    ("a - (2)", "Plus[a, -2]"),
    ("a - (b c)", "Plus[a, Times[-1, Times[b, c]]]"),
    ("+a", "Plus[a]"),
    ("+ +a", "Plus[a]"),
    ("a + +b", "Plus[a, b]"),
    ("-(2)", "-2"),
    ("-((2.5))", "-2.5"),
    ("-(-2)", "Times[-1, -2]"),
    ("a/b", "Times[a, Power[b, -1]]"),
    ("-2 b", "Times[-2, b]"),
])
def test_arithmetic_as_codeparser(text, expected):
    assert ff(text) == expected


# ---------------------------------------------------------------- slots, contexts, strings
@pytest.mark.parametrize("text, expected", [
    ("#name &", "Function[Slot[\"name\"]]"),
    ("#Net", "Slot[\"Net\"]"),
    ("#BatchSize + 1 &", "Function[Plus[Slot[\"BatchSize\"], 1]]"),
    ("#\"a b\"", "Slot[\"a b\"]"),
    ("##", "SlotSequence[1]"),
    ("##2", "SlotSequence[2]"),
    ("f[##] &", "Function[f[SlotSequence[1]]]"),
    ("#1Mod[a, b]", "Times[Slot[1], Mod[a, b]]"),
    ("a`b", "a`b"),
    ("`a", "`a"),
    ("System`Plus[1, 2]", "System`Plus[1, 2]"),
    ("\\[Alpha] + \\[CapitalOmega]", "Plus[α, Ω]"),
    ("\\[Alpha]1 \\[Beta]", "Times[α1, β]"),
    ("\\[Pi]", "Pi"),
    ("\\[Infinity]", "Infinity"),
    ("∞", "Infinity"),
    ("π", "Pi"),
    ("a \\[Rule] b", "Rule[a, b]"),
    ("a \\[RuleDelayed] b", "RuleDelayed[a, b]"),
    ("a \\[TwoWayRule] b", "TwoWayRule[a, b]"),
    ("a \\[Times] b", "Times[a, b]"),
    ("a\\[Times]b", "Times[a, b]"),
    ("a \\[NotEqual] b", "Unequal[a, b]"),
    ("\\[Not] a", "Not[a]"),
    ("a  b", "Times[a, b]"),
    ("\"\\[Alpha]\\:0041\\.42\\|000043\\103\"", "\"αABCC\""),
    ("\"a\\<b\\>\"", "\"ab\""),
    ("\"\\!\\(x\\^2\\)\"", "\"\\\\!\\\\(x\\\\^2\\\\)\""),
    ("\"a\\\nb\"", "\"ab\""),
    ("16^^FF", "255"),
    ("2^^101.1", "5.5"),
    ("1.5`20", "1.5"),
    ("3`", "3."),
    ("2.5``10", "2.5"),
    ("1.*^2", "100."),
])
def test_atoms(text, expected):
    assert ff(text) == expected


def test_postfix_newlines_end_statements():
    assert [full_form(e) for e in parse("n!\nm")] == ["Factorial[n]", "m"]
    assert [full_form(e) for e in parse("i++\nj")] == ["Increment[i]", "j"]
    assert [full_form(e) for e in parse("a\n++j")] == ["a", "PreIncrement[j]"]
    assert [full_form(e) for e in parse("x =.\ny")] == ["Unset[x]", "y"]
    assert [full_form(e) for e in parse("<<a.m\n<<b.m")] == ["Get[\"a.m\"]", "Get[\"b.m\"]"]
    assert [full_form(e) for e in parse("f::usage\ng")] == ["MessageName[f, \"usage\"]", "g"]
    assert [full_form(e) for e in parse("a ..\nb")] == ["Repeated[a]", "b"]
    assert full_form(parse("!\na")) == "Not[a]"


@pytest.mark.parametrize("text, message", [
    ("f[x]:3", "':' needs a symbol"),
    ("f /: g[f] + 1", "expected '=', ':=' or '=.'"),
    ("a ~f b", "expected the second '~'"),
    ("\\[Foo]", "'\\[Foo]' is not a letter"),
    ("\"\\[Foo]\"", "unknown character name"),
    ("36^^Z1", ""), ("37^^1", "base must be from 2 to 36"),
    ("1.*^400", "too large for a machine Real"),
    ("1.*^-400", "too small for a machine Real"),
    # a based Real or Integer scaled past what netdsl holds (found by test_parse_fuzz)
    ("16^^FF1.*^316", "too large for a machine Real"),
    ("16^^FF*^900000000", "too large: netdsl's Integers"),
])
def test_errors(text, message):
    if text == "36^^Z1":
        assert parse(text) == 35 * 36 + 1
        return
    with pytest.raises(ParseError) as info:
        parse(text)
    assert message in info.value.text
    assert info.value.line == 1 and info.value.column >= 1


@pytest.mark.parametrize("text", ["PatternTest[p, test][x]", "PatternTest[p, test[x]]",
                                  "PatternTest[PatternTest[a, b], c]", "f[PatternTest[p, g]]",
                                  # a default that is a pattern x:p is parenthesised
                                  "Power[Optional[Blank[], Pattern[x, 0]], -1]",
                                  "Optional[Pattern[y, Blank[]], Pattern[x, 0]]"])
def test_pattern_test_prints_as_it_parses(text):
    e = parse(text)
    assert full_form(parse(input_form(e))) == full_form(e)
