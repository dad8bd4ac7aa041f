"""Helpers for tests that check evaluated values: run text, compare exactly or closely."""

from __future__ import annotations

import io

import numpy as np

import pytest

from netdsl import EvaluationError, Session, input_form
from netdsl.expr import Expr, Symbol


def run(text: str, session: Session | None = None):
    return (session or Session(stdout=io.StringIO())).evaluate(text)


def py(x):
    """Python form of a value: lists for List (packed or not), atoms as they are."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Expr) and x.head is Symbol("List"):
        return [py(a) for a in x.args]
    return x


def exact(value, expected):
    """Equal, and of the same kinds: 1 (Integer) is not 1. (Real)."""
    got = py(value)
    assert got == expected, (got, expected)
    _same_types(got, expected)


def _same_types(a, b):
    if isinstance(b, list):
        for x, y in zip(a, b):
            _same_types(x, y)
    else:
        assert type(a) is type(b), (a, b)


def close(value, expected):
    got = py(value)
    assert np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float),
                       rtol=1e-12, atol=1e-15), (got, expected)
    assert np.asarray(got).dtype.kind == "f"


def text(src: str, session: Session | None = None) -> str:
    """InputForm of the value: for symbolic results."""
    return input_form(run(src, session))


def error(src: str, symbol: str, tag: str, session: Session | None = None) -> str:
    """Evaluating ``src`` raises Symbol::tag; gives the message text."""
    with pytest.raises(EvaluationError) as info:
        run(src, session)
    assert (info.value.symbol, info.value.tag) == (symbol, tag), info.value.message
    return info.value.text
