"""Wolfram's operator precedence as data, and the precedence climber that uses it.

The grammar hands over an ``expr`` as a flat run of operands and operator
tokens; ``Climber`` groups it into the FullForm Wolfram's parser builds:

    a - b     -> Plus[a, Times[-1, b]]      a/b   -> Times[a, Power[b, -1]]
    -2        -> -2 (an Integer)            -a*b  -> Times[-1, a, b]
    a + b + c -> Plus[a, b, c]              (a + b) + c -> Plus[Plus[a, b], c]
    2 x       -> Times[2, x]                x // f -> f[x]

The table below must list the same order as the comment in grammar/wolfram.lark.
Runs of two or three items (``"Stride" -> 1``, ``-x``, ``2 x``) are built by
``short_run`` without a Climber; a test checks both give the same expressions.
"""

from __future__ import annotations

from typing import Any

from lark import Token

from ..expr import All, Expr, Null, Plus, Power, Symbol, Times, is_number
from .strings import EscapeError, file_name

S = Symbol

#: The deepest an expression may nest (brackets and operators together). Deeper
#: text is refused at parse time with a located error, so that nothing downstream
#: (printing, evaluation, comparison: all recursive) can run out of stack.
MAX_NESTING = 256

# token type -> (precedence, role, head). Roles say how the climber parses it.
# Wolfram's Precedence[] values; CodeParser's order where it differs (=== below ==,
# ;; between == and +). A *_LONG type is the \[Name] spelling of an operator.
INFIX: dict[str, tuple[int, str, str | None]] = {
    "SEMI": (10, "compound", "CompoundExpression"),
    "PUT": (30, "put", None),
    "SET": (40, "assign", "Set"),
    "SETDELAYED": (40, "assign", "SetDelayed"),
    "UPSET": (40, "assign", "UpSet"),
    "UPSETDELAYED": (40, "assign", "UpSetDelayed"),
    "FUNCTIONARROW": (40, "assign", "Function"),
    "UNSET": (40, "postfix_op", "Unset"),
    "TAGSET": (41, "tagset", None),
    "POSTFIX": (70, "postfix_apply", None),
    "AMP": (90, "function", "Function"),
    "ADDTO": (100, "right", "AddTo"),
    "SUBTRACTFROM": (100, "right", "SubtractFrom"),
    "TIMESBY": (100, "right", "TimesBy"),
    "DIVIDEBY": (100, "right", "DivideBy"),
    "REPLACEALL": (110, "left", "ReplaceAll"),
    "REPLACEREPEATED": (110, "left", "ReplaceRepeated"),
    "RULE": (120, "right", "Rule"),
    "RULEDELAYED": (120, "right", "RuleDelayed"),
    "TWOWAYRULE": (125, "right", "TwoWayRule"),
    "CONDITION": (130, "left", "Condition"),
    "STRINGEXPRESSION": (135, "nary", "StringExpression"),
    "COLON": (140, "colon", "Optional"),
    "ALTERNATIVES": (160, "nary", "Alternatives"),
    "REPEATED": (170, "postfix_op", "Repeated"),
    "REPEATEDNULL": (170, "postfix_op", "RepeatedNull"),
    "OR": (215, "nary", "Or"),
    "AND": (217, "nary", "And"),
    "ELEMENT": (250, "nary", "Element"),
    "SAMEQ": (260, "nary", "SameQ"),
    "UNSAMEQ": (260, "nary", "UnsameQ"),
    "EQUAL": (290, "compare", "Equal"),
    "UNEQUAL": (290, "compare", "Unequal"),
    "LESS": (290, "compare", "Less"),
    "LESSEQUAL": (290, "compare", "LessEqual"),
    "GREATER": (290, "compare", "Greater"),
    "GREATEREQUAL": (290, "compare", "GreaterEqual"),
    "SPAN": (298, "span", "Span"),
    "PLUS": (310, "sum", "Plus"),
    "MINUS": (310, "sum", "Plus"),
    "STAR": (400, "product", "Times"),
    "SLASH": (400, "product", "Times"),
    "DOT": (490, "nary", "Dot"),
    "CARET": (590, "right", "Power"),
    "STRINGJOIN": (600, "nary", "StringJoin"),
    "NOT": (610, "postfix_op", "Factorial"),
    "MAP": (620, "right", "Map"),
    "MAPALL": (620, "right", "MapAll"),
    "APPLY": (620, "right", "Apply"),
    "MAPAPPLY": (620, "right", "MapApply"),
    "TILDE": (630, "tilde", None),
    "AT": (640, "prefix_apply", None),
    "RIGHTCOMPOSITION": (643, "nary", "RightComposition"),
    "COMPOSITION": (644, "nary", "Composition"),
    "INCREMENT": (665, "postfix_op", "Increment"),
    "DECREMENT": (665, "postfix_op", "Decrement"),
}
PREFIX: dict[str, tuple[int, str]] = {
    "NOT": (230, "Not"),
    "SPAN": (298, "Span"),
    "MINUS": (480, "Minus"),
    "PLUS": (480, "Plus"),
    "INCREMENT": (660, "PreIncrement"),
    "DECREMENT": (660, "PreDecrement"),
}
#: the \[Name] spellings: terminals of their own (a longer literal would be tried
#: before a shorter ASCII operator, e.g. \[Equal] before ===), same entries
LONG_NAMES = {"FUNCTIONARROW_LONG": "FUNCTIONARROW", "RULE_LONG": "RULE",
              "RULEDELAYED_LONG": "RULEDELAYED", "TWOWAYRULE_LONG": "TWOWAYRULE",
              "OR_LONG": "OR", "AND_LONG": "AND", "ELEMENT_LONG": "ELEMENT",
              "EQUAL_LONG": "EQUAL", "UNEQUAL_LONG": "UNEQUAL", "LESSEQUAL_LONG": "LESSEQUAL",
              "GREATEREQUAL_LONG": "GREATEREQUAL", "STAR_LONG": "STAR", "SLASH_LONG": "SLASH"}
for _long, _short in LONG_NAMES.items():
    INFIX[_long] = INFIX[_short]
PREFIX["NOT_LONG"] = PREFIX["NOT"]  # \[Not] is prefix only; n! is Factorial
TIMES_PREC = 400  # juxtaposition
_STAR = {"STAR", "STAR_LONG"}
_PRODUCT = {"STAR", "STAR_LONG", "SLASH", "SLASH_LONG"}
_SUM = {"PLUS", "MINUS"}
_ASSIGN_AFTER_TAG = {"SET": "TagSet", "SETDELAYED": "TagSetDelayed", "UNSET": "TagUnset"}
_PATTERN_HEADS = {"Blank", "BlankSequence", "BlankNullSequence", "Pattern", "PatternTest",
                  "Optional"}


# -- wrappers that remember how an operand was written ----------------------
class Paren:
    """A parenthesised expression: never flattened into an enclosing chain.
    ``open`` and ``close`` are its parenthesis tokens, for spans."""
    __slots__ = ("expr", "open", "close")

    def __init__(self, expr, open=None, close=None):
        self.expr = expr
        self.open = open
        self.close = close


class Negated:
    """The result of unary minus: flattens into a product it starts."""
    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class Product:
    """A product chain: subtraction folds its numeric coefficient (a - 2 b)."""
    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class Located:
    """An atom with the token it was written as, so that spans can start at it."""
    __slots__ = ("expr", "token")

    def __init__(self, expr, token):
        self.expr = expr
        self.token = token


class AmpCall(Token):
    """``&`` followed by argument lists (``body &[x]``): ``calls`` holds them."""
    calls: list[list[Any]]


WRAPPERS = (Paren, Negated, Product, Located)


def unwrap(x: Any) -> Any:
    while isinstance(x, WRAPPERS):
        x = x.expr
    return x


def _written_number(x: Any) -> bool:
    """A number as written, possibly in parentheses: ``2``, ``(2.5)``, ``((3))``."""
    while type(x) is Paren:
        x = x.expr
    return type(x) is Located and is_number(x.expr)


def negate(x: Any) -> Any:
    """Unary minus: a written number (``-2``, ``-(2)``) is negated, anything else is
    ``Times[-1, x]`` (CodeParser's ``negate``)."""
    if _written_number(x):
        return -unwrap(x)
    return Negated(Expr(Times, -1, unwrap(x)))


def subtract_operand(x: Any) -> Any:
    """The right operand of ``a - x``: ``a - 2 b`` is ``Plus[a, Times[-1, 2, b]]``
    (a product gains a leading -1; a number is negated)."""
    if isinstance(x, Product):
        return Expr(Times, -1, *x.expr.args)
    return unwrap(negate(x))


class OperatorError(Exception):
    """A malformed operator run; ``token`` is where, None at the end of the run."""

    def __init__(self, message: str, token: Token | None):
        self.message = message
        self.token = token
        super().__init__(message)


def _words(tok: Token) -> str:
    return f"'{tok.value}'"


class Climber:
    """Precedence climbing over one flat run of operands and operator tokens.

    Recursion is bounded by ``MAX_NESTING``: a longer right-nested chain
    (``a^a^a^...``) is refused with an ``OperatorError`` at the token where it
    gets too deep, instead of exhausting Python's stack.
    """

    def __init__(self, items: list[Any], depth: int = 0):
        self.items = items + [_END]  # a sentinel: peeking needs no bounds check
        self.i = 0
        self.depth = depth           # nesting of the brackets around this run

    # -- cursor ---------------------------------------------------------------
    def peek(self) -> Any:
        return self.items[self.i]

    def take(self) -> Any:
        item = self.items[self.i]
        self.i += 1
        return item

    def peek_is_operand_start(self) -> bool:
        item = self.items[self.i]
        if isinstance(item, Token):
            return item.type in PREFIX
        return item is not _END

    def _next_type(self) -> str | None:
        item = self.items[self.i]
        return item.type if isinstance(item, Token) else None

    # -- grammar ----------------------------------------------------------------
    def parse(self) -> Any:
        result = self.expr(0)
        item = self.items[self.i]
        if item is not _END:
            raise OperatorError(f"unexpected {_words(item)} after an expression", item)
        return unwrap(result)

    def expr(self, min_prec: int) -> Any:
        self.depth += 1
        if self.depth > MAX_NESTING:
            item = self.items[self.i]
            raise OperatorError(f"expression nested more than {MAX_NESTING} deep (netdsl's "
                                "limit); split it into smaller definitions",
                                item if isinstance(item, Token) else self._token_near())
        try:
            return self._expr(min_prec)
        finally:
            self.depth -= 1

    def _token_near(self) -> Token | None:
        for item in self.items[self.i::-1]:
            if isinstance(item, Token):
                return item
        return None

    def _expr(self, min_prec: int) -> Any:
        items = self.items
        left = self.prefix(min_prec)
        room = MAX_NESTING - self.depth  # each turn of the loop may wrap left once more
        while True:
            item = items[self.i]
            if item is _END:
                return left
            if not isinstance(item, Token):  # juxtaposition: 2 x is Times[2, x]
                if TIMES_PREC < min_prec:
                    return left
                left = self.product(left)
                continue
            entry = INFIX.get(item.type)
            if entry is None or entry[0] < min_prec:
                return left
            room -= 1
            if room < 0:
                raise OperatorError(f"expression nested more than {MAX_NESTING} deep (netdsl's "
                                    "limit); split it into smaller definitions", item)
            left = getattr(self, entry[1])(left, entry)

    def operand_after(self, tok: Token, min_prec: int) -> Any:
        if not self.peek_is_operand_start():
            item = self.items[self.i]
            if item is _END:
                raise OperatorError(f"expected an expression after {_words(tok)}", None)
            raise OperatorError(f"unexpected {_words(item)}: expected an expression "
                                f"after {_words(tok)}", item)
        return self.expr(min_prec)

    def prefix(self, min_prec: int = 0) -> Any:
        item = self.items[self.i]
        if item is _END:
            raise OperatorError("expected an expression", None)
        if not isinstance(item, Token):
            self.i += 1
            if self._next_type() == "COLON" and type(item) is Located \
                    and item.token.type in _PATTERN_TOKENS and min_prec <= 170 \
                    and min_prec not in _PATTERN_OPERANDS:
                # x:pat and x_:v bind to the symbol or blank just written, also as the
                # operand of | or .. (a | b:c is Alternatives[a, Pattern[b, c]]), but not
                # inside another pattern's right side (a:b:c is Optional[a:b, c])
                return self.pattern_colon(item)
            return item
        entry = PREFIX.get(item.type)
        if entry is None:
            raise OperatorError(f"unexpected {_words(item)}: expected an expression", item)
        self.i += 1
        prec, name = entry
        if name == "Span":
            return self.span_rest(1, item)
        if name == "Plus":
            while self._next_type() == "PLUS":  # + +a is +a
                self.i += 1
        operand = self.operand_after(item, prec)
        if name == "Minus":
            return negate(operand)
        return Expr(HEAD[name], unwrap(operand))

    def pattern_colon(self, item: Located) -> Any:
        """``x:pat`` (Pattern, 150) right after a written symbol, ``x_:default``
        (Optional, 140) right after a written blank; ``x:pat:default`` is both."""
        tok = self.take()
        value = item.expr
        if isinstance(value, Symbol):
            value = Expr(HEAD["Pattern"], value, unwrap(self.operand_after(tok, 151)))
            if self._next_type() != "COLON":
                return value
            tok = self.take()
        return Expr(HEAD["Optional"], value, unwrap(self.operand_after(tok, 141)))

    # -- infix roles --------------------------------------------------------------
    def compound(self, left, entry):
        parts = [unwrap(left)]
        while self._next_type() == "SEMI":
            self.i += 1
            parts.append(unwrap(self.expr(11)) if self.peek_is_operand_start() else Null)
        return Expr(HEAD["CompoundExpression"], *parts)

    def assign(self, left, entry):
        tok = self.take()
        right = self.operand_after(tok, entry[0])
        return Expr(HEAD[entry[2]], unwrap(left), unwrap(right))

    right = assign

    def left(self, left, entry):
        tok = self.take()
        right = self.operand_after(tok, entry[0] + 1)
        return Expr(HEAD[entry[2]], unwrap(left), unwrap(right))

    def colon(self, left, entry):
        tok = self.take()
        value = unwrap(left)
        if not (isinstance(value, Expr) and isinstance(value.head, Symbol)
                and value.head.name in _PATTERN_HEADS):
            raise OperatorError("':' needs a symbol (name:pattern) or a pattern "
                                "(x_:default) just before it", tok)
        return Expr(HEAD["Optional"], value, unwrap(self.operand_after(tok, 141)))

    def postfix_op(self, left, entry):
        self.i += 1
        return Expr(HEAD[entry[2]], unwrap(left))

    def put(self, left, entry):
        tok = self.take()
        head = "PutAppend" if tok.value.startswith(">>>") else "Put"
        try:
            name = file_name(tok.value.lstrip(">"))
        except EscapeError as e:
            raise OperatorError(str(e), tok) from None
        return Expr(HEAD[head], unwrap(left), name)

    def tagset(self, left, entry):
        tok = self.take()
        lhs = unwrap(self.operand_after(tok, 41))
        kind = self._next_type()
        if kind not in _ASSIGN_AFTER_TAG:
            item = self.items[self.i]
            raise OperatorError("expected '=', ':=' or '=.' after 'f /: lhs'",
                                item if isinstance(item, Token) else tok)
        op = self.take()
        if kind == "UNSET":
            return Expr(HEAD["TagUnset"], unwrap(left), lhs)
        rhs = unwrap(self.operand_after(op, 40))
        return Expr(HEAD[_ASSIGN_AFTER_TAG[kind]], unwrap(left), lhs, rhs)

    def tilde(self, left, entry):
        tok = self.take()
        f = self.operand_after(tok, 631)
        if self._next_type() != "TILDE":
            item = self.items[self.i]
            raise OperatorError("expected the second '~' of a ~f~ b",
                                item if isinstance(item, Token) else None)
        tok = self.take()
        right = self.operand_after(tok, 631)
        return Expr(unwrap(f), unwrap(left), unwrap(right))

    def postfix_apply(self, left, entry):
        tok = self.take()
        f = self.operand_after(tok, entry[0] + 1)
        return Expr(unwrap(f), unwrap(left))

    def prefix_apply(self, left, entry):
        tok = self.take()
        x = self.operand_after(tok, entry[0])
        return Expr(unwrap(left), unwrap(x))

    def function(self, left, entry):
        tok = self.take()
        result = Expr(HEAD["Function"], unwrap(left))
        for args in getattr(tok, "calls", ()):
            result = Expr(result, *args)
        return result

    def nary(self, left, entry):
        prec, _, head = entry
        parts = [unwrap(left)]
        same = _SAME_HEAD[head]
        while self._next_type() in same:
            tok = self.take()
            parts.append(unwrap(self.operand_after(tok, prec + 1)))
        return Expr(HEAD[head], *parts)

    def compare(self, left, entry):
        operands, ops = [unwrap(left)], []
        while self._next_type() in _COMPARE_TYPES:
            tok = self.take()
            ops.append(HEAD[INFIX[tok.type][2]])
            operands.append(unwrap(self.operand_after(tok, 291)))
        if all(op is ops[0] for op in ops):
            return Expr(ops[0], *operands)
        mixed = [operands[0]]
        for op, operand in zip(ops, operands[1:]):
            mixed += [op, operand]
        return Expr(HEAD["Inequality"], *mixed)

    def span(self, left, entry):
        tok = self.take()
        return self.span_rest(unwrap(left), tok)

    def span_rest(self, start, tok):
        stop = unwrap(self.expr(299)) if self._span_operand_follows() else All
        parts = [start, stop]
        if self._next_type() == "SPAN":
            step_tok = self.take()
            parts.append(unwrap(self.operand_after(step_tok, 299)))
        return Expr(HEAD["Span"], *parts)

    def _span_operand_follows(self) -> bool:
        return self.peek_is_operand_start() and self._next_type() != "SPAN"

    def sum(self, left, entry):
        terms = [unwrap(left)]
        while self._next_type() in _SUM:
            tok = self.take()
            if tok.type == "PLUS":
                while self._next_type() == "PLUS":  # a + +b is a + b
                    self.i += 1
            operand = self.operand_after(tok, 311)
            terms.append(unwrap(operand) if tok.type == "PLUS" else subtract_operand(operand))
        return Expr(Plus, *terms)

    def product(self, left, entry=None):
        factors: list[Any] = []
        if isinstance(left, Negated) and left.expr.head is Times:
            factors.extend(left.expr.args)
        else:
            factors.append(unwrap(left))
        items = self.items
        while True:
            item = items[self.i]
            if item is _END:
                break
            if isinstance(item, Token):
                kind = item.type
                if kind in _PRODUCT:
                    self.i += 1
                    f = unwrap(self.operand_after(item, TIMES_PREC + 1))
                    factors.append(f if kind in _STAR else Expr(Power, f, -1))
                    continue
                break
            factors.append(unwrap(self.expr(TIMES_PREC + 1)))
        return Product(Expr(Times, *factors))


_END = object()
_PATTERN_TOKENS = {"SYMBOL", "BLANK"}
_PATTERN_OPERANDS = {141, 151}  # the precedences the right sides of x_:v and x:p are read at
_COMPARE_TYPES = {t for t, (_, role, _) in INFIX.items() if role == "compare"}
_SAME_HEAD = {head: {t for t, (_, _, h) in INFIX.items() if h == head}
              for (_, _, head) in INFIX.values() if head}
HEAD = {name: S(name) for name in
        [h for _, _, h in INFIX.values() if h] + [n for _, n in PREFIX.values()]
        + ["CompoundExpression", "Function", "Inequality", "Span", "Pattern", "Optional",
           "Put", "PutAppend", "TagSet", "TagSetDelayed", "TagUnset"]}

# roles that short_run builds as head[a, b]
_BINARY_ROLES = {"right", "nary", "compare", "assign", "left"}


def short_run(items: list[Any]) -> Any:
    """The expression of a run of two or three items that needs no climbing
    (``"Stride" -> 1``, ``a + b``, ``-x``, ``2 x``, ``f &``), or None.

    Most runs in a net are like these; building them directly skips the
    Climber. The result is the one the Climber builds (a test compares them).
    """
    if len(items) == 3:
        a, op, b = items
        if type(op) is not Token or isinstance(a, Token) or isinstance(b, Token):
            return None
        entry = INFIX.get(op.type)
        if entry is None:
            return None
        role = entry[1]
        if role in _BINARY_ROLES:
            return Expr(HEAD[entry[2] or ""], unwrap(a), unwrap(b))
        if role == "sum":
            return Expr(Plus, unwrap(a), unwrap(b) if op.type == "PLUS" else subtract_operand(b))
        if role == "product":
            b = unwrap(b)
            return Expr(Times, unwrap(a), b if op.type in _STAR else Expr(Power, b, -1))
        if role == "prefix_apply":
            return Expr(unwrap(a), unwrap(b))
        if role == "postfix_apply":
            return Expr(unwrap(b), unwrap(a))
        return None
    if len(items) == 2:
        a, b = items
        if isinstance(a, Token):
            if type(a) is Token and a.type == "MINUS" and not isinstance(b, Token):
                return unwrap(negate(b))
            return None
        if isinstance(b, Token):
            if type(b) is Token and b.type == "AMP":
                return Expr(HEAD["Function"], unwrap(a))
            return None
        return Expr(Times, unwrap(a), unwrap(b))
    return None


def precedence_order() -> list[tuple[int, str]]:
    """(precedence, terminal name) pairs, lowest first: the table the grammar comment
    mirrors (a test maps the names to their text through the grammar)."""
    return sorted({(p, t) for t, (p, _, _) in INFIX.items()} |
                  {(p, t) for t, (p, _) in PREFIX.items()})
