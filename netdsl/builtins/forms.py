"""Display wrappers and evaluation control: NumberForm, ScientificForm, TableForm,
MatrixForm, Grid, HoldForm (each evaluates to itself and prints laid out, see
``netdsl.textforms``), ReleaseHold, Evaluate, Unevaluated and Assert.

``Evaluate[e]`` in a held argument is evaluated all the same, and an argument
``Unevaluated[e]`` reaches the function as e, unevaluated: both are done by the
evaluator when it takes the arguments. ``Assert[test]`` does nothing unless
``$AssertFunction`` has a value, as Wolfram's assertions are off by default; with it, a
test that is not True issues Assert::asrtf and calls ``$AssertFunction[HoldComplete[
Assert[test]]]``.
"""

from __future__ import annotations

from typing import Any

from .. import textforms  # noqa: F401  (registers how the wrappers print)
from ..expr import Expr, Null, Symbol, is_integer, is_list, list_items
from ..printer import short
from .registry import HOLD_ALL, NOT_APPLICABLE, builtin, wrong_call

S = Symbol
HOLDS = ("Hold", "HoldForm", "HoldComplete", "HoldPattern")


def _digits_arg(name: str, x: Any, spec: Any) -> None:
    ok = (is_integer(spec) and spec > 0) or (
        is_list(spec) and len(list_items(spec)) == 2
        and all(is_integer(t) and t >= 0 for t in list_items(spec)) and list_items(spec)[0] > 0)
    if not ok:
        raise wrong_call(name, Expr(S(name), x, spec),
                         f"{short(spec)} is not a digit count n or {{n, f}}")


@builtin("NumberForm", ("NumberForm[expr, n]", "NumberForm[expr, {n, f}]"),
         "expr printed with its Reals to n significant digits (f digits after the point); "
         "evaluates to itself", args=(1, 2), section="Output")
def _number_form(ev, x, spec=None):
    if spec is not None:
        _digits_arg("NumberForm", x, spec)
    return NOT_APPLICABLE


@builtin("ScientificForm", ("ScientificForm[expr]", "ScientificForm[expr, n]"),
         "expr printed with its Reals as m*10^e (n significant digits); evaluates to itself",
         args=(1, 2), section="Output")
def _scientific_form(ev, x, spec=None):
    if spec is not None and not (is_integer(spec) and spec > 0):
        raise wrong_call("ScientificForm", Expr(S("ScientificForm"), x, spec),
                         f"{short(spec)} is not a positive digit count")
    return NOT_APPLICABLE


def _wrapper(name: str, summary: str) -> None:
    @builtin(name, f"{name}[list]", summary + "; evaluates to itself", args=(1, None),
             section="Output")
    def _f(ev, *args):
        return NOT_APPLICABLE


_wrapper("TableForm", "a list printed as a table: rows on lines, columns aligned")
_wrapper("MatrixForm", "a matrix printed as rows of aligned columns (a vector as a column)")
_wrapper("Grid", "a list of rows printed as a grid of centred columns")


@builtin("HoldForm", "HoldForm[expr]", "expr unevaluated, printed without the wrapper",
         args=1, attributes=(HOLD_ALL,), section="Evaluation")
def _hold_form(ev, x):
    return NOT_APPLICABLE


@builtin("HoldComplete", "HoldComplete[expr]", "keeps expr unevaluated (what $AssertFunction "
         "receives)", attributes=(HOLD_ALL,), section="Evaluation")
def _hold_complete(ev, *items):
    return NOT_APPLICABLE


def release(x: Any) -> Any:
    """``x`` with its outermost Hold, HoldForm, HoldComplete and HoldPattern removed."""
    if not isinstance(x, Expr):
        return x
    if isinstance(x.head, Symbol) and x.head.name in HOLDS:
        return x.args[0] if len(x.args) == 1 else Expr(S("Sequence"), *x.args)
    return Expr(release(x.head), *(release(a) for a in x.args))


@builtin("ReleaseHold", "ReleaseHold[expr]",
         "expr with one layer of Hold, HoldForm, HoldComplete and HoldPattern removed, then "
         "evaluated", args=1, section="Evaluation")
def _release_hold(ev, x):
    return ev.evaluate(release(x))


@builtin("Evaluate", "Evaluate[expr]",
         "evaluates expr even where it is held (Hold[Evaluate[1 + 1]] is Hold[2])",
         section="Evaluation")
def _evaluate(ev, *xs):
    return xs[0] if len(xs) == 1 else Expr(S("Sequence"), *xs)


@builtin("Unevaluated", "Unevaluated[expr]",
         "passes expr to the function around it unevaluated (Length[Unevaluated[1 + 1]] is 2)",
         args=1, attributes=(HOLD_ALL,), section="Evaluation")
def _unevaluated(ev, x):
    return NOT_APPLICABLE


@builtin("Assert", ("Assert[test]", "Assert[test, tag]"),
         "nothing, unless $AssertFunction has a value: then a test that is not True gives "
         "Assert::asrtf and calls $AssertFunction[HoldComplete[Assert[test]]]", args=(1, 2),
         attributes=(HOLD_ALL,), section="Evaluation")
def _assert(ev, test, tag=None):
    handler = ev.values.get(S("$AssertFunction"))
    if handler is None:
        return Null
    if ev.evaluate(test) is S("True"):
        return Null
    held = Expr(S("Assert"), test, *([] if tag is None else [tag]))
    ev.message("Assert", "asrtf", f"Assertion {short(held)} failed.")
    ev.call(handler, Expr(S("HoldComplete"), held))
    return Null

