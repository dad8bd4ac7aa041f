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

from typing import Any, Callable

from lark import Token

from ..expr import All, Expr, Null, Plus, Power, Symbol, Times, is_number

S = Symbol

# token type -> (precedence, role, head). Roles say how the climber parses it.
INFIX: dict[str, tuple[int, str, str | None]] = {
    "SEMI": (10, "compound", "CompoundExpression"),
    "SET": (40, "assign", "Set"),
    "SETDELAYED": (40, "assign", "SetDelayed"),
    "POSTFIX": (70, "postfix_apply", None),
    "AMP": (90, "function", "Function"),
    "RULE": (120, "right", "Rule"),
    "RULEDELAYED": (120, "right", "RuleDelayed"),
    "OR": (215, "nary", "Or"),
    "AND": (217, "nary", "And"),
    "SAMEQ": (290, "compare", "SameQ"),
    "UNSAMEQ": (290, "compare", "UnsameQ"),
    "EQUAL": (290, "compare", "Equal"),
    "UNEQUAL": (290, "compare", "Unequal"),
    "LESS": (290, "compare", "Less"),
    "LESSEQUAL": (290, "compare", "LessEqual"),
    "GREATER": (290, "compare", "Greater"),
    "GREATEREQUAL": (290, "compare", "GreaterEqual"),
    "SPAN": (305, "span", "Span"),
    "PLUS": (310, "sum", "Plus"),
    "MINUS": (310, "sum", "Plus"),
    "STAR": (400, "product", "Times"),
    "SLASH": (400, "product", "Times"),
    "DOT": (490, "nary", "Dot"),
    "CARET": (590, "right", "Power"),
    "MAP": (620, "right", "Map"),
    "APPLY": (620, "right", "Apply"),
    "AT": (640, "prefix_apply", None),
}
PREFIX: dict[str, tuple[int, str]] = {
    "NOT": (230, "Not"),
    "SPAN": (305, "Span"),
    "MINUS": (480, "Minus"),
    "PLUS": (480, "UnaryPlus"),
}
TIMES_PREC = 400  # juxtaposition


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


def negate(x: Any) -> Any:
    """Unary minus: a written number is negated, anything else is Times[-1, x]."""
    if not isinstance(x, Paren):
        x = unwrap(x)
    if is_number(x):
        return -x
    return Negated(Expr(Times, -1, unwrap(x)))


def subtract_operand(x: Any) -> Any:
    """The right operand of ``a - x``: ``a - 2 b`` is ``Plus[a, Times[-2, b]]``."""
    if isinstance(x, Product):
        args = x.expr.args
        if is_number(args[0]):
            return Expr(Times, -args[0], *args[1:])
        return Expr(Times, -1, *args)
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

    ``check_assignable(left, first, tok)`` vets the left side of ``=``/``:=``;
    ``first`` is the run item the left side starts with (for the error's span).
    """

    def __init__(self, items: list[Any], check_assignable: Callable[[Any, Any, Token], None]):
        self.items = items + [_END]  # a sentinel: peeking needs no bounds check
        self.i = 0
        self.check_assignable = check_assignable

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
            # only a prefix-only operator (!) can be left over, e.g. n!
            raise OperatorError(f"unexpected {_words(item)} after an expression: '!' (Not) "
                                "goes before its operand; n! (Factorial) is not supported",
                                item)
        return unwrap(result)

    def expr(self, min_prec: int) -> Any:
        items = self.items
        first = items[self.i]
        left = self.prefix()
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
            if entry[1] == "assign":
                left = self.assign(left, entry, first)
            else:
                left = getattr(self, entry[1])(left, entry)

    def operand_after(self, tok: Token, min_prec: int) -> Any:
        if not self.peek_is_operand_start():
            item = self.items[self.i]
            if item is _END:
                raise OperatorError(f"expected an expression after {_words(tok)}", None)
            raise OperatorError(f"unexpected {_words(item)}: expected an expression "
                                f"after {_words(tok)}", item)
        return self.expr(min_prec)

    def prefix(self) -> Any:
        item = self.items[self.i]
        if item is _END:
            raise OperatorError("expected an expression", None)
        if not isinstance(item, Token):
            self.i += 1
            return item
        entry = PREFIX.get(item.type)
        if entry is None:
            raise OperatorError(f"unexpected {_words(item)}: expected an expression", item)
        self.i += 1
        prec, name = entry
        if name == "Span":
            return self.span_rest(1, item)
        operand = self.operand_after(item, prec)
        if name == "Minus":
            return negate(operand)
        if name == "UnaryPlus":
            return operand
        return Expr(HEAD[name], unwrap(operand))

    # -- infix roles --------------------------------------------------------------
    def compound(self, left, entry):
        parts = [unwrap(left)]
        while self._next_type() == "SEMI":
            self.i += 1
            parts.append(unwrap(self.expr(11)) if self.peek_is_operand_start() else Null)
        return Expr(HEAD["CompoundExpression"], *parts)

    def assign(self, left, entry, first):
        tok = self.take()
        self.check_assignable(left, first, tok)
        right = self.operand_after(tok, entry[0])
        return Expr(HEAD[entry[2]], unwrap(left), unwrap(right))

    def right(self, left, entry):
        tok = self.take()
        right = self.operand_after(tok, entry[0])
        return Expr(HEAD[entry[2]], unwrap(left), unwrap(right))

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
        stop = unwrap(self.expr(306)) if self._span_operand_follows() else All
        parts = [start, stop]
        if self._next_type() == "SPAN":
            step_tok = self.take()
            parts.append(unwrap(self.operand_after(step_tok, 306)))
        return Expr(HEAD["Span"], *parts)

    def _span_operand_follows(self) -> bool:
        return self.peek_is_operand_start() and self._next_type() != "SPAN"

    def sum(self, left, entry):
        terms = [unwrap(left)]
        while self._next_type() in ("PLUS", "MINUS"):
            tok = self.take()
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
                if item.type not in ("STAR", "SLASH"):
                    break
                self.i += 1
                f = unwrap(self.operand_after(item, TIMES_PREC + 1))
                factors.append(f if item.type == "STAR" else Expr(Power, f, -1))
            else:
                factors.append(unwrap(self.expr(TIMES_PREC + 1)))
        return Product(Expr(Times, *factors))


_END = object()
_COMPARE_TYPES = {t for t, (_, role, _) in INFIX.items() if role == "compare"}
_SAME_HEAD = {head: {t for t, (_, _, h) in INFIX.items() if h == head}
              for (_, _, head) in INFIX.values() if head}
HEAD = {name: S(name) for name in
        [h for _, _, h in INFIX.values() if h] + [n for _, n in PREFIX.values()]
        + ["CompoundExpression", "Function", "Inequality", "Span"]}


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
        if role == "right" or role == "nary" or role == "compare":
            return Expr(HEAD[entry[2]], unwrap(a), unwrap(b))
        if role == "sum":
            return Expr(Plus, unwrap(a), unwrap(b) if op.type == "PLUS" else subtract_operand(b))
        if role == "product":
            b = unwrap(b)
            return Expr(Times, unwrap(a), b if op.type == "STAR" else Expr(Power, b, -1))
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
