"""netdsl/layers/row_blocks.py: a recurrent step's GEMM cut into row blocks (chosen by
timing) gives the product, bit for bit per row block against one call on the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl.layers import row_blocks


@pytest.mark.parametrize("rows,parts", [(1024, 12), (1024, 16), (37, 8), (5, 1)])
def test_the_blocks_cover_every_row_once_and_give_the_product(rows, parts):
    ranges = row_blocks._split(rows, parts)
    assert ranges[0][0] == 0 and ranges[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    rng = np.random.default_rng(0)
    w = rng.normal(size=(rows, 24)).astype(np.float32)
    s = rng.normal(size=(24, 6)).astype(np.float32)
    out = np.full((rows, 6), np.nan, np.float32)
    row_blocks.matmul(w, s, out, ranges)
    np.testing.assert_allclose(out, w.astype(np.float64) @ s, rtol=1e-5, atol=1e-5)


def test_small_products_are_not_timed_and_big_ones_are_chosen_once(monkeypatch):
    monkeypatch.setattr(row_blocks, "_CHOSEN", {})
    small = row_blocks.blocks(np.ones((64, 16), np.float32), np.ones((16, 4), np.float32))
    assert small == ((0, 64),)
    w, s = np.ones((1024, 256), np.float32), np.ones((256, 32), np.float32)
    first = row_blocks.blocks(w, s)
    assert len(first) in row_blocks.CANDIDATES
    monkeypatch.setattr(row_blocks, "_fastest", lambda *a: pytest.fail("timed twice"))
    assert row_blocks.blocks(w, s) is first
    assert row_blocks.chosen()[(w.shape, s.shape, "<f4", True)] is first
