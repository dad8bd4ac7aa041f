"""Strings: building file names and messages (<>, ToString, StringTemplate, ...) and
ToExpression, which reads Wolfram text with netdsl's own parser (never Python's eval).

String patterns (``~~``, ``DigitCharacter``, regular expressions) are not supported:
StringReplace and StringSplit take literal strings.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import EvaluationError
from ..expr import (Association, Expr, List, Null, Symbol, boolean, input_form, is_integer,
                    is_list, is_rule, list_items, make_list, output_form)
from ..syntax import parse_statements
from .registry import HEAD_APPLIERS, NOT_APPLICABLE, builtin, wrong_call

S = Symbol


def _text(x: Any) -> str:
    """ToString: strings as they are, anything else as Wolfram's OutputForm shows it."""
    return x if isinstance(x, str) else output_form(x, None)


def _string(x: Any, name: str, call: Any, pos: int = 1) -> str:
    if not isinstance(x, str):
        raise EvaluationError(f"String expected at position {pos} in {input_form(call)}.",
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
        value = ev.evaluate(expr)
    return value


@builtin("StringLength", "StringLength[s]", "the number of characters", args=1,
         attributes=("Listable",), section="Strings")
def _string_length(ev, s):
    if is_list(s):
        return make_list([_string_length(ev, x) for x in list_items(s)])
    return len(_string(s, "StringLength", Expr(S("StringLength"), s)))


@builtin("Characters", "Characters[s]", "the list of the characters of s", args=1,
         section="Strings")
def _characters(ev, s):
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


def _string_rules(spec: Any, call: Any, name: str) -> list[tuple[str, Any]]:
    rules = [spec] if is_rule(spec) else (list(spec.args) if isinstance(spec, Expr)
                                           and spec.head is List else None)
    if rules is None or not all(is_rule(r) for r in rules):
        raise wrong_call(name, call, f"{input_form(spec)} is not a rule or a list of rules")
    out = []
    for r in rules:
        lhs = r.args[0]
        if not isinstance(lhs, str):
            raise wrong_call(name, call, f"{input_form(lhs)} is not a string: netdsl's "
                                         "string functions take literal strings, not string "
                                         "patterns")
        out.append((lhs, r.args[1]))
    return out


@builtin("StringReplace", ("StringReplace[s, \"a\" -> \"b\"]", "StringReplace[s, {r1, r2, ...}]"),
         "s with each occurrence of a rule's left side replaced (left to right, longest first "
         "among rules starting at one place)", args=(2, 3), section="Strings")
def _string_replace(ev, s, spec, n=None):
    call = Expr(S("StringReplace"), s, spec)
    if is_list(s):
        return make_list([_string_replace(ev, x, spec, n) for x in list_items(s)])
    s = _string(s, "StringReplace", call)
    rules = [(a, _text(b)) for a, b in _string_rules(spec, call, "StringReplace") if a]
    if not rules:
        return s
    table = dict(rules[::-1])  # the first rule wins for a repeated left side
    pattern = re.compile("|".join(re.escape(a) for a, _ in rules))
    count = n if is_integer(n) else 0
    return pattern.sub(lambda m: table[m.group(0)], s, count=count)


@builtin("StringSplit", ("StringSplit[s]", "StringSplit[s, sep]", "StringSplit[s, {sep1, ...}]"),
         "s split at whitespace (or at the separators), empty pieces dropped", args=(1, 2),
         section="Strings")
def _string_split(ev, s, sep=None):
    call = Expr(S("StringSplit"), s, *([] if sep is None else [sep]))
    if is_list(s):
        return make_list([_string_split(ev, x, sep) for x in list_items(s)])
    s = _string(s, "StringSplit", call)
    if sep is None:
        return make_list(s.split())
    seps = list_items(sep) if is_list(sep) else [sep]
    if not all(isinstance(x, str) and x for x in seps):
        raise wrong_call("StringSplit", call, "separators must be non-empty strings")
    pieces = re.split("|".join(re.escape(x) for x in seps), s)
    return make_list([p for p in pieces if p])


@builtin("StringRiffle", ("StringRiffle[{s1, s2, ...}]", "StringRiffle[list, sep]",
                          "StringRiffle[list, {left, sep, right}]"),
         "the elements as strings with sep (default a space) between them", args=(1, 2),
         section="Strings")
def _string_riffle(ev, x, sep=" "):
    call = Expr(S("StringRiffle"), x, sep)
    if not is_list(x):
        raise wrong_call("StringRiffle", call, f"{input_form(x)} is not a list")
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


def _take_range(spec: Any, n: int, call: Any, name: str) -> tuple[int, int]:
    """Python slice bounds for Take-style specs n, -n, {m, n}, {n}."""
    if is_integer(spec):
        if abs(spec) > n:
            raise EvaluationError(f"Cannot take positions through {spec} in {input_form(call)}.",
                                  symbol=name, tag="take")
        return (0, spec) if spec >= 0 else (n + spec, n)
    if is_list(spec):
        ends = list_items(spec)
        if 1 <= len(ends) <= 2 and all(is_integer(e) and e != 0 for e in ends):
            lo, hi = ends[0], ends[-1]
            lo = lo - 1 if lo > 0 else n + lo
            hi = hi if hi > 0 else n + hi + 1
            if 0 <= lo <= n and 0 <= hi <= n:
                return lo, hi
    raise EvaluationError(f"Cannot take {input_form(spec)} in {input_form(call)}.",
                          symbol=name, tag="take")


@builtin("StringTake", ("StringTake[s, n]", "StringTake[s, -n]", "StringTake[s, {m, n}]",
                        "StringTake[s, {n}]"), "characters of s, as Take takes elements",
         args=2, section="Strings")
def _string_take(ev, s, spec):
    call = Expr(S("StringTake"), s, spec)
    s = _string(s, "StringTake", call)
    lo, hi = _take_range(spec, len(s), call, "StringTake")
    return s[lo:hi]


@builtin("StringDrop", ("StringDrop[s, n]", "StringDrop[s, -n]", "StringDrop[s, {m, n}]"),
         "s without some characters, as Drop drops elements", args=2, section="Strings")
def _string_drop(ev, s, spec):
    call = Expr(S("StringDrop"), s, spec)
    s = _string(s, "StringDrop", call)
    lo, hi = _take_range(spec, len(s), call, "StringDrop")
    return s[:lo] + s[hi:]


def _string_test(name: str, usage: str, summary: str, test) -> None:
    @builtin(name, usage, summary, args=2, section="Strings")
    def fn(ev, s, sub):
        call = Expr(S(name), s, sub)
        return boolean(test(_string(s, name, call), _string(sub, name, call, 2)))


_string_test("StringContainsQ", "StringContainsQ[s, sub]", "True if s contains sub",
             lambda s, sub: sub in s)
_string_test("StringStartsQ", "StringStartsQ[s, prefix]", "True if s starts with prefix",
             lambda s, sub: s.startswith(sub))
_string_test("StringEndsQ", "StringEndsQ[s, suffix]", "True if s ends with suffix",
             lambda s, sub: s.endswith(sub))


@builtin("ToUpperCase", "ToUpperCase[s]", "s in capitals", args=1, section="Strings")
def _upper(ev, s):
    return _string(s, "ToUpperCase", Expr(S("ToUpperCase"), s)).upper()


@builtin("ToLowerCase", "ToLowerCase[s]", "s in small letters", args=1, section="Strings")
def _lower(ev, s):
    return _string(s, "ToLowerCase", Expr(S("ToLowerCase"), s)).lower()


@builtin("SymbolName", "SymbolName[x]", "the name of a symbol, as a string", args=1,
         section="Strings")
def _symbol_name(ev, x):
    if not isinstance(x, Symbol):
        raise wrong_call("SymbolName", Expr(S("SymbolName"), x), f"{input_form(x)} is not a "
                                                                   "symbol")
    return x.name.rsplit("`", 1)[-1]


@builtin("Symbol", "Symbol[\"name\"]", "the symbol with that name", args=1, section="Strings")
def _symbol(ev, name):
    name = _string(name, "Symbol", Expr(S("Symbol"), name))
    if not re.fullmatch(r"[A-Za-z$`][A-Za-z0-9$`]*", name):
        raise wrong_call("Symbol", Expr(S("Symbol"), name), f"{name!r} is not a symbol name")
    return ev.evaluate(S(name))


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
