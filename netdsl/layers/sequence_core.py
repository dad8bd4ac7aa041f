"""The shape rules of the layers that take apart a sequence along its first level."""

from __future__ import annotations

from typing import Any

from .base import Infer
from .shapes import LengthVar, PortType


def sequence_input(s: Infer) -> tuple | None:
    """The "Input" shape, which must be a sequence (rank 1 or more), or None if unknown."""
    x = s.port("Input")
    if x is not None and len(x) == 0:
        s.fail('the "Input" port must be a sequence (an array of rank 1 or more)')
    return x


def shorter_by_one(s: Infer) -> None:
    """SequenceMostLayer, SequenceRestLayer: the output is one step shorter. A fixed
    length n gives n - 1; a "Varying" length gives a new, unrelated "Varying" length,
    and when a later layer fixes that one to k, the input's becomes k + 1 (else an input
    of another length would reach the later layer)."""
    x = sequence_input(s)
    if x is None:
        return
    n = x[0]
    out: Any
    if isinstance(n, int):
        if n < 2:
            s.fail(f'the "Input" sequence must have at least 2 elements, but it has {n}')
        out = n - 1
    elif isinstance(n, LengthVar):
        out = LengthVar()
    else:
        out = None
    s.refine("Output", (out,) + tuple(x[1:]), '"Input" port')
    y = s.port("Output")
    k = y[0] if isinstance(y[0], int) and not isinstance(n, int) else None
    s.refine("Input", (None if k is None else k + 1,) + tuple(y[1:]), '"Output" port')


def check_two_or_more(layer: Any, x: Any) -> None:
    """At run time: a "Varying" sequence of one element has nothing to give SequenceMost
    or SequenceRest (an empty sequence would reach the next layer)."""
    if x.shape[0] < 2:
        raise layer.error("netseqlen", f"A sequence of length {x.shape[0]} was given, less "
                          f"than the minimum required length (2) of the layer.")


def longer_by_one(s: Infer) -> None:
    """AppendLayer, PrependLayer: "Input" a sequence {n, d...}, "Element" one element
    {d...}, "Output" {n + 1, d...}; a "Varying" length gives a new "Varying" one. The
    output's type (integers, classes) follows the input's; an integer input takes
    integer elements."""
    x = sequence_input(s)
    t = s.port_type("Input")
    if x is not None:
        rest = tuple(x[1:])   # an integer sequence takes integer elements (a real one any)
        s.refine("Element", PortType(rest, True, t.classes) if t.integer else rest,
                 '"Input" port')
        n = x[0]
        out: Any = n + 1 if isinstance(n, int) else LengthVar() if isinstance(n, LengthVar) \
            else None
        s.refine("Output", PortType((out,) + tuple(x[1:]), t.integer, t.classes),
                 '"Input" port')
    e = s.port("Element")
    if e is not None:
        s.refine("Input", (None,) + tuple(e), '"Element" port')
        s.refine("Output", (None,) + tuple(e), '"Element" port')
    y = s.port("Output")
    if y is not None:
        if len(y) == 0:
            s.fail('the "Output" port must be a sequence (an array of rank 1 or more)')
        n = y[0]
        if isinstance(n, int) and n < 2:
            s.fail(f'the "Output" sequence has {n} element, but it has at least the input\'s '
                   f"elements and the appended one")
        # a fixed output length fixes an unknown or "Varying" input length
        before = n - 1 if isinstance(n, int) and (x is None or not isinstance(x[0], int)) \
            else None
        s.refine("Input", (before,) + tuple(y[1:]), '"Output" port')
        s.refine("Element", tuple(y[1:]), '"Output" port')
