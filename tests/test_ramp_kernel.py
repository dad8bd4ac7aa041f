"""Ramp's kernel (layers/functions.ramp_into): Max[x, 0] against a cached zero row, in
place or into another buffer, for sizes below, at and around the row length, against a
naive loop written here."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl.layers import functions
from netdsl.layers.functions import ramp_into


def naive_ramp(x):
    flat = [v if v > 0 else (v if np.isnan(v) else 0.0) for v in x.reshape(-1).tolist()]
    return np.array(flat, x.dtype).reshape(x.shape)


ROW = functions._ROW
SMALL = functions.RAMP_ROWS_MIN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (7, 3), (ROW,), (ROW + 1,), (3, ROW // 2 + 5),
                                   (2, 3, ROW // 3 + 1), (4, 13, 13, 5)])
@pytest.mark.parametrize("inplace", [True, False])
def test_ramp_into_equals_a_naive_loop(shape, dtype, inplace):
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    x.reshape(-1)[::97] = np.nan          # NaN stays NaN, as np.maximum keeps it
    x.reshape(-1)[1::89] = -0.0
    expected = naive_ramp(x)
    before = x.copy()
    out = x if inplace else np.empty_like(x)
    got = ramp_into(x, out)
    assert got is out
    np.testing.assert_array_equal(got, expected)
    if not inplace:
        np.testing.assert_array_equal(x, before)      # the input is untouched


def test_elementwise_ramp_in_place_takes_any_layout():
    import netdsl
    from netdsl.layers.elementwise import ElementwiseLayer
    layer = netdsl.Session().evaluate("ElementwiseLayer[Ramp]")
    assert isinstance(layer, ElementwiseLayer)
    x = np.random.default_rng(2).standard_normal((6, 40)).astype(np.float32)
    view = x[:, ::2]                      # not contiguous: the plain maximum
    expected = naive_ramp(np.ascontiguousarray(view))
    assert layer.forward_inplace(view) is view
    np.testing.assert_array_equal(view, expected)
    for shape in [(5, ROW + 3), (3, SMALL // 3 - 1), (2, SMALL // 2)]:  # rows / scalar paths
        y = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
        fresh = y.copy()
        expected = naive_ramp(y)
        assert layer.forward_inplace(y) is y
        np.testing.assert_array_equal(y, expected)
        # the ordinary (not in place) forward gives the same, leaving its input alone
        np.testing.assert_array_equal(layer.values["Function"](fresh), expected)
        assert (fresh < 0).any()
