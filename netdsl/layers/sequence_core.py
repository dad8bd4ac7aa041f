"""The shape rules of the layers that take apart a sequence along its first level."""

from __future__ import annotations

from typing import Any

from .base import Infer
from .shapes import LengthVar


def sequence_input(s: Infer) -> tuple | None:
    """The "Input" shape, which must be a sequence (rank 1 or more), or None if unknown."""
    x = s.port("Input")
    if x is not None and len(x) == 0:
        s.fail('the "Input" port must be a sequence (an array of rank 1 or more)')
    return x


def shorter_by_one(s: Infer) -> None:
    """SequenceMostLayer, SequenceRestLayer: the output is one step shorter. A fixed
    length n gives n - 1; a "Varying" length gives a new, unrelated "Varying" length."""
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
    s.refine("Input", (None,) + tuple(y[1:]), '"Output" port')
