"""Strings: building file names and messages (<>, ToString, StringTemplate, ...) and
ToExpression, which reads Wolfram text with netdsl's own parser (never Python's eval).

StringReplace, StringSplit and the StringContainsQ family take string patterns
(literal strings, ``~~``, ``DigitCharacter``, ``RegularExpression``: stringpatterns.py).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable

from ..contexts import valid_symbol_name
from ..errors import EvaluationError
from ..expr import (All, Association, Expr, List, Null, Symbol, boolean, input_form,
                    is_integer, is_list, is_rule, list_items, make_list, output_form)
from ..syntax import parse_statements
from .lists import _index, _seq_spec, _span_range, _Where
from .registry import HEAD_APPLIERS, NOT_APPLICABLE, OPERATOR_FORMS, builtin, wrong_call
from .stringpatterns import compile_pattern, compile_rules, each_string, rule_value, show

S = Symbol


def _text(x: Any) -> str:
    """ToString: strings as they are, anything else as Wolfram's OutputForm shows it."""
    return x if isinstance(x, str) else output_form(x, None)


def _string(x: Any, name: str, call: Any, pos: int = 1) -> str:
    if not isinstance(x, str):
        raise EvaluationError(f"String expected at position {pos} in {show(call)}.",
                              symbol=name, tag="string")
    return x


@builtin("StringJoin", ("s1 <> s2 <> ...", "StringJoin[{s1, s2, ...}]"),
         "the strings joined into one", section="Strings")
def _string_join(ev, *xs):
    call = Expr(S("StringJoin"), *xs)
    parts: list[str] = []

    def add(x):
        if is_list(x):
            for i in list_items(x):
                add(i)
        else:
            parts.append(_string(x, "StringJoin", call))
    for x in xs:
        add(x)
    return "".join(parts)


@builtin("ToString", ("ToString[expr]", "ToString[expr, InputForm]"),
         "expr as a string, as it prints (or as input text)", args=(1, 2), section="Strings")
def _to_string(ev, x, form=None):
    if form is S("InputForm") and not isinstance(x, str):
        return input_form(x)
    if form is S("InputForm"):
        return input_form(x)
    return _text(x)


@builtin("ToExpression", "ToExpression[\"text\"]",
         "the value of the Wolfram text, parsed by netdsl's parser and evaluated", args=(1, 3),
         section="Strings")
def _to_expression(ev, text, *rest):
    text = _string(text, "ToExpression", Expr(S("ToExpression"), text, *rest))
    value: Any = Null
    for expr, _ in parse_statements(text, None):
        value = ev.evaluate(ev.read(expr))
    return value


@builtin("StringLength", "StringLength[s]", "the number of characters", args=1,
         attributes=("Listable",), section="Strings")
def _string_length(ev, s):
    if is_list(s):
        return make_list([_string_length(ev, x) for x in list_items(s)])
    return len(_string(s, "StringLength", Expr(S("StringLength"), s)))


@builtin("Characters", "Characters[s]", "the list of the characters of s", args=1,
         attributes=("Listable",), section="Strings")
def _characters(ev, s):
    if is_list(s):
        return make_list([_characters(ev, x) for x in list_items(s)])
    return make_list(list(_string(s, "Characters", Expr(S("Characters"), s))))


@builtin("ToCharacterCode", "ToCharacterCode[s]", "the character codes (Unicode) of s",
         args=1, section="Strings")
def _to_character_code(ev, s):
    return make_list([ord(c) for c in _string(s, "ToCharacterCode",
                                              Expr(S("ToCharacterCode"), s))])


@builtin("FromCharacterCode", ("FromCharacterCode[n]", "FromCharacterCode[{n1, n2, ...}]"),
         "the string of the given character codes", args=1, section="Strings")
def _from_character_code(ev, codes):
    call = Expr(S("FromCharacterCode"), codes)
    items = list_items(codes) if is_list(codes) else [codes]
    items = [int(c) if hasattr(c, "dtype") else c for c in items]
    if not all(is_integer(c) and 0 <= c < 0x110000 for c in items):
        raise wrong_call("FromCharacterCode", call, "expected character codes 0..1114111")
    return "".join(chr(c) for c in items)


@builtin("CharacterRange", ("CharacterRange[\"c1\", \"c2\"]", "CharacterRange[n1, n2]"),
         "the characters from c1 to c2 (or with codes n1 to n2), in code order", args=2,
         section="Strings")
def _character_range(ev, a, b):
    call = Expr(S("CharacterRange"), a, b)
    codes = [ord(c) if isinstance(c, str) and len(c) == 1 else c for c in (a, b)]
    if not all(is_integer(c) and 0 <= c < 0x110000 for c in codes):
        raise wrong_call("CharacterRange", call, "expected two characters or two character "
                                                 "codes 0..1114111")
    if codes[1] - codes[0] >= 10 ** 6:
        raise wrong_call("CharacterRange", call, "netdsl makes at most 10^6 characters")
    return make_list([chr(c) for c in range(codes[0], codes[1] + 1)])


def _string_rules(spec: Any, call: Any, name: str) -> list[tuple[Any, Any, bool]]:
    """(lhs, rhs, delayed) of a rule or a list of rules; empty literal left sides, which
    match nowhere, left out."""
    rules = [spec] if is_rule(spec) else (list(spec.args) if isinstance(spec, Expr)
                                           and spec.head is List else None)
    if rules is None or not all(is_rule(r) for r in rules):
        raise wrong_call(name, call, f"{show(spec)} is not a rule or a list of rules")
    return [(r.args[0], r.args[1], r.head is S("RuleDelayed")) for r in rules
            if not _empty(r.args[0])]


def _empty(x: Any) -> bool:
    return isinstance(x, str) and not x


def _pieces(pieces: list[Any]) -> Any:
    """The replaced string: one string, or a StringExpression when a replacement is not a
    string (``StringReplace["abc", "b" -> 4]`` is ``"a" ~~ 4 ~~ "c"``, as in Wolfram)."""
    if all(isinstance(p, str) for p in pieces):
        return "".join(pieces)
    out: list[Any] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        elif not (isinstance(p, str) and p == ""):
            out.append(p)
    return out[0] if len(out) == 1 else Expr(S("StringExpression"), *out)


def _which(m: re.Match, count: int) -> int:
    """Which rule of a compile_rules expression matched."""
    return next(k for k in range(count) if m.group(f"r{k}") is not None)


@builtin("StringReplace", ("StringReplace[s, p -> new]", "StringReplace[s, {p1 -> new1, ...}]",
                           "StringReplace[s, rules, n]"),
         "s with each match of a string pattern (a string, RegularExpression[...], "
         "\"a\" ~~ x__, ...) replaced, left to right; rules are tried in order at each place; "
         "n: the first n matches only", args=(2, 3), options={"IgnoreCase": S("False")},
         section="Strings")
def _string_replace(ev, s, spec, n=None, opts=None):
    call = Expr(S("StringReplace"), s, spec, *([] if n is None else [n]))
    rules = _string_rules(spec, call, "StringReplace")
    if n is not None and not (is_integer(n) and n >= 0) and n is not S("Infinity"):
        raise wrong_call("StringReplace", call, f"{show(n)} is not a non-negative integer")
    limit = n if is_integer(n) else None
    if not rules or limit == 0:
        return each_string("StringReplace", s, call, lambda t: t)
    fold = opts["IgnoreCase"] is S("True")
    if not fold and all(isinstance(a, str) and isinstance(b, str) for a, b, _ in rules):
        table = {a: b for a, b, _ in reversed(rules)}   # literal rules: the first one wins
        literal = re.compile("|".join(re.escape(a) for a, _, _ in rules))
        return each_string("StringReplace", s, call, lambda t: literal.sub(
            lambda m: table[m.group(0)], t, count=limit or 0))
    regex, pats = compile_rules(rules, call, fold)

    def replace(t: str) -> Any:
        pieces: list[Any] = []
        last = 0
        for count, m in enumerate(regex.finditer(t)):
            if limit is not None and count >= limit:
                break
            k = _which(m, len(rules))
            pieces += [t[last:m.start()], rule_value(ev, pats[k], rules[k][1], m)]
            last = m.end()
        pieces.append(t[last:])
        return _pieces(pieces)
    return each_string("StringReplace", s, call, replace)


@builtin("StringSplit", ("StringSplit[s]", "StringSplit[s, p]", "StringSplit[s, {p1, ...}]",
                         "StringSplit[s, p -> v]", "StringSplit[s, p, n]"),
         "s split at whitespace (or at the matches of a string pattern), empty pieces "
         "dropped; p -> v puts v where a piece was cut; n: at most n pieces", args=(1, 3),
         options={"IgnoreCase": S("False")}, section="Strings")
def _string_split(ev, s, sep=None, n=None, opts=None):
    call = Expr(S("StringSplit"), s, *([] if sep is None else [sep]),
                *([] if n is None else [n]))
    if sep is None:
        return each_string("StringSplit", s, call, lambda t: make_list(t.split()))
    if n is not None and not (is_integer(n) and n > 0):
        raise wrong_call("StringSplit", call, f"{show(n)} is not a positive integer")
    seps = list_items(sep) if is_list(sep) else [sep]
    if not seps or any(_empty(x) or (is_rule(x) and _empty(x.args[0])) for x in seps):
        raise wrong_call("StringSplit", call, "separators must be non-empty strings or "
                                              "string patterns")
    fold = opts["IgnoreCase"] is S("True")
    if not fold and n is None and all(isinstance(x, str) for x in seps):   # literal: one split
        literal = re.compile("|".join(re.escape(x) for x in seps))
        return each_string("StringSplit", s, call,
                           lambda t: make_list([p for p in literal.split(t) if p]))
    rules = [(x.args[0], x.args[1], x.head is S("RuleDelayed")) if is_rule(x) else
             (x, None, False) for x in seps]
    regex, pats = compile_rules(rules, call, fold)

    def split(t: str) -> Any:
        out: list[Any] = []
        last, cuts = 0, 0
        for m in regex.finditer(t):
            if m.end() == m.start():   # an empty match cuts nothing
                continue
            if n is not None and cuts >= n - 1:
                break
            cuts += 1
            out.append(t[last:m.start()])
            k = _which(m, len(rules))
            if rules[k][1] is not None:
                out.append(rule_value(ev, pats[k], rules[k][1], m))
            last = m.end()
        out.append(t[last:])
        return make_list([p for p in out if not (isinstance(p, str) and p == "")])
    return each_string("StringSplit", s, call, split)


@builtin("StringRiffle", ("StringRiffle[{s1, s2, ...}]", "StringRiffle[list, sep]",
                          "StringRiffle[list, {left, sep, right}]"),
         "the elements as strings with sep (default a space) between them", args=(1, 2),
         section="Strings")
def _string_riffle(ev, x, sep=" "):
    call = Expr(S("StringRiffle"), x, sep)
    if not is_list(x):
        raise wrong_call("StringRiffle", call, f"{show(x)} is not a list")
    items = list_items(x)
    if items and all(is_list(i) for i in items):  # a matrix: rows by newlines
        inner = sep if isinstance(sep, str) else " "
        return "\n".join(_string_riffle(ev, row, inner) for row in items)
    if is_list(sep):
        parts = list_items(sep)
        if len(parts) != 3 or not all(isinstance(p, str) for p in parts):
            raise wrong_call("StringRiffle", call, "the separator is {left, sep, right}")
        return parts[0] + parts[1].join(_text(i) for i in items) + parts[2]
    return _string(sep, "StringRiffle", call, 2).join(_text(i) for i in items)


class _StringWhere(_Where):
    """Take/Part messages about a string, shown abbreviated when it is long."""

    def partw(self, spec: Any, x: Any) -> EvaluationError:
        return self.error("partw", f"Part {show(spec)} of {show(x)} does not exist.")

    def take(self, a: Any, b: Any, x: Any) -> EvaluationError:
        verb = "drop" if self.name == "StringDrop" else "take"
        return self.error(verb, f"Cannot {verb} positions {show(a)} through {show(b)} "
                                f"in {show(x)}.")

    def pkspec(self, spec: Any) -> EvaluationError:
        return self.error("mseqs", f"Sequence specification {show(spec)} in "
                                   f"{show(self.call)} is not valid.")


def _take_positions(spec: Any, s: str, where: _StringWhere) -> range:
    """0-based character positions of a Take-style spec: n, -n, {n}, {m, n}, {m, n, step},
    UpTo[n], All."""
    try:
        span = _seq_spec(spec, len(s), where.name, where.call)
    except EvaluationError:
        raise where.pkspec(spec) from None
    if span is All:
        return range(len(s))
    return _span_range(span, len(s), s, where)


def _spec_list(spec: Any) -> list[Any] | None:
    """The specs of StringTake[s, {spec1, spec2, ...}], each itself a list, or None."""
    items = list_items(spec) if is_list(spec) else []
    return items if items and all(is_list(i) for i in items) else None


def on_strings(x: Any, name: str, call: Any, fn: Any) -> Any:
    """``fn`` of the string ``x``, or of each string of a list of them (stringpatterns'
    each_string also bounds the time, for regular expressions)."""
    if is_list(x):
        return make_list([fn(_string(t, name, call)) for t in list_items(x)])
    return fn(_string(x, name, call))


@builtin("StringTake", ("StringTake[s, n]", "StringTake[s, -n]", "StringTake[s, {m, n}]",
                        "StringTake[s, {n}]", "StringTake[s, {m, n, step}]",
                        "StringTake[s, UpTo[n]]", "StringTake[s, {spec1, spec2, ...}]"),
         "characters of s, as Take takes elements; a list of specs gives a list of "
         "strings; a list of strings gives the result for each", args=2, section="Strings")
def _string_take(ev, s, spec):
    call = Expr(S("StringTake"), s, spec)
    where = _StringWhere("StringTake", call)
    specs = _spec_list(spec)

    def take(t: str) -> Any:
        if specs is not None:
            return make_list([take_one(t, sp) for sp in specs])
        return take_one(t, spec)

    def take_one(t: str, sp: Any) -> str:
        r = _take_positions(sp, t, where)
        return t[r.start:r.stop:r.step] if r.step > 0 else "".join(t[i] for i in r)
    return on_strings(s, "StringTake", call, take)


@builtin("StringDrop", ("StringDrop[s, n]", "StringDrop[s, -n]", "StringDrop[s, {m, n}]",
                        "StringDrop[s, {n}]", "StringDrop[s, {m, n, step}]"),
         "s without some characters, as Drop drops elements; a list of strings gives the "
         "result for each", args=2, section="Strings")
def _string_drop(ev, s, spec):
    call = Expr(S("StringDrop"), s, spec)
    where = _StringWhere("StringDrop", call)

    def drop(t: str) -> str:
        gone = set(_take_positions(spec, t, where))
        return "".join(c for i, c in enumerate(t) if i not in gone) if gone else t
    return on_strings(s, "StringDrop", call, drop)


@builtin("StringPart", ("StringPart[s, n]", "StringPart[s, {n1, n2, ...}]",
                        "StringPart[s, m ;; n]", "StringPart[s, m ;; n ;; step]"),
         "the nth character of s (from the end for negative n), or a list of characters; "
         "a list of strings gives the result for each", args=2, section="Strings")
def _string_part(ev, s, spec):
    call = Expr(S("StringPart"), s, spec)
    where = _StringWhere("StringPart", call)

    def part(t: str) -> Any:
        if is_integer(spec) and spec != 0:
            return t[_index(spec, len(t), t, where)]
        if isinstance(spec, Expr) and spec.head is S("Span") and len(spec.args) in (2, 3):
            return make_list([t[i] for i in _span_range(spec, len(t), t, where)])
        ints = list_items(spec) if is_list(spec) else None
        if ints and all(is_integer(i) and i != 0 for i in ints):
            return make_list([t[_index(i, len(t), t, where)] for i in ints])
        raise EvaluationError(f"{show(spec)} in {show(call)} is not a valid part "
                              f"specification.", symbol="StringPart", tag="pkspec1")
    return on_strings(s, "StringPart", call, part)


def _string_test(name: str, usage: str, summary: str,
                 test: Callable[[re.Pattern, str], bool], at_end: bool = False) -> None:
    @builtin(name, (usage, f"{name}[{{s1, s2, ...}}, p]", f"{name}[p][s]"), summary, args=2,
             options={"IgnoreCase": S("False")}, section="Strings")
    def fn(ev, s, p, opts):
        call = Expr(S(name), s, p)
        rx = compile_pattern(p, call, opts["IgnoreCase"] is S("True")).regex
        if at_end:   # a match that ends where the string ends
            rx = re.compile(f"(?:{rx.pattern})\\Z", rx.flags)
        return each_string(name, s, call, lambda t: boolean(test(rx, t)))
    OPERATOR_FORMS[name] = True   # StringContainsQ[p][s] is StringContainsQ[s, p]


_string_test("StringContainsQ", "StringContainsQ[s, p]",
             "True if a substring of s matches the string pattern p",
             lambda rx, t: rx.search(t) is not None)
_string_test("StringFreeQ", "StringFreeQ[s, p]",
             "True if no substring of s matches the string pattern p",
             lambda rx, t: rx.search(t) is None)
_string_test("StringStartsQ", "StringStartsQ[s, p]",
             "True if s starts with a match of the string pattern p",
             lambda rx, t: rx.match(t) is not None)
_string_test("StringEndsQ", "StringEndsQ[s, p]",
             "True if s ends with a match of the string pattern p",
             lambda rx, t: rx.search(t) is not None, at_end=True)


@builtin("ToUpperCase", "ToUpperCase[s]", "s in capitals", args=1, attributes=("Listable",),
         section="Strings")
def _upper(ev, s):
    if is_list(s):
        return make_list([_upper(ev, x) for x in list_items(s)])
    return _string(s, "ToUpperCase", Expr(S("ToUpperCase"), s)).upper()


@builtin("ToLowerCase", "ToLowerCase[s]", "s in small letters", args=1,
         attributes=("Listable",), section="Strings")
def _lower(ev, s):
    if is_list(s):
        return make_list([_lower(ev, x) for x in list_items(s)])
    return _string(s, "ToLowerCase", Expr(S("ToLowerCase"), s)).lower()


@builtin("RemoveDiacritics", "RemoveDiacritics[s]",
         "s with accents and other diacritics taken off the letters (é -> e)", args=1,
         attributes=("Listable",), section="Strings")
def _remove_diacritics(ev, s):
    if is_list(s):
        return make_list([_remove_diacritics(ev, x) for x in list_items(s)])
    text = _string(s, "RemoveDiacritics", Expr(S("RemoveDiacritics"), s))
    decomposed = unicodedata.normalize("NFD", text)   # a letter, then its combining marks
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@builtin("SymbolName", "SymbolName[x]", "the name of a symbol, as a string", args=1,
         section="Strings")
def _symbol_name(ev, x):
    if not isinstance(x, Symbol):
        raise wrong_call("SymbolName", Expr(S("SymbolName"), x), f"{show(x)} is not a "
                                                                   "symbol")
    return x.name.rsplit("`", 1)[-1]


@builtin("Symbol", "Symbol[\"name\"]", "the symbol with that name", args=1, section="Strings")
def _symbol(ev, name):
    name = _string(name, "Symbol", Expr(S("Symbol"), name))
    if not valid_symbol_name(name):
        raise wrong_call("Symbol", Expr(S("Symbol"), name), f"{name!r} is not a symbol name")
    return ev.evaluate(ev.contexts.symbol(name))


# ---------------------------------------------------------------- templates
_SLOT = re.compile(r"`([^`]*)`")


def fill_template(template: str, args: tuple, call: Any) -> str:
    """Fill `` `1` ``, `` `name` `` (from an association) and `` `` `` (the next one)."""
    counter = [0]
    named = args[0] if args and isinstance(args[0], Association) else None

    def slot(m: re.Match) -> str:
        key = m.group(1)
        if key == "":
            counter[0] += 1
            i = counter[0]
        elif key.isdigit():
            i = int(key)
        else:
            if named is None or key not in named:
                return ""
            return _text(named.get(key))
        if named is not None and len(args) == 1:
            values = named.values()
            return _text(values[i - 1]) if 1 <= i <= len(values) else ""
        return _text(args[i - 1]) if 1 <= i <= len(args) else ""
    return _SLOT.sub(slot, template)


@builtin("StringTemplate", "StringTemplate[\"text with `1` or `name`\"]",
         "a template: StringTemplate[t][args] fills `n` with the nth argument and `name` from "
         "an association", args=1, section="Strings")
def _string_template(ev, t):
    _string(t, "StringTemplate", Expr(S("StringTemplate"), t))
    return NOT_APPLICABLE


def _apply_template(ev, head: Expr, args: tuple) -> Any:
    return fill_template(head.args[0], args, head) if head.args and isinstance(
        head.args[0], str) else Expr(head, *args)


HEAD_APPLIERS["StringTemplate"] = _apply_template


@builtin("TemplateApply", "TemplateApply[template, args]", "the template filled with args",
         args=(1, 2), section="Strings")
def _template_apply(ev, t, args=None):
    text = t.args[0] if isinstance(t, Expr) and t.has_head("StringTemplate") and t.args else t
    text = _string(text, "TemplateApply", Expr(S("TemplateApply"), t))
    values = () if args is None else (tuple(list_items(args)) if is_list(args) else (args,))
    return fill_template(text, values, t)
