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
    assert row_blocks.chosen()[(w.shape, s.shape, "<f4", True, 0)] is first


@pytest.mark.parametrize("parts", [8, 12, 16])
def test_column_blocks_start_on_multiples_of_16_and_are_timed_apart(monkeypatch, parts):
    ranges = row_blocks._split(1000, parts, 16)
    assert ranges[0][0] == 0 and ranges[-1][1] == 1000
    assert all(a[1] == b[0] and a[1] % 16 == 0 for a, b in zip(ranges, ranges[1:]))
    monkeypatch.setattr(row_blocks, "_CHOSEN", {})
    w_t, s = np.ones((256, 1024), np.float32), np.ones((32, 256), np.float32)
    seen = []

    def via(w, s, out, ranges):
        seen.append(ranges)
        np.matmul(s, w, out=out)
    cols = row_blocks.blocks(w_t, s, via, axis=1)
    assert seen and all(lo % 16 == 0 for r in seen for lo, _ in r) and cols in seen
    assert row_blocks.chosen()[(w_t.shape, s.shape, "<f4", False, 1)] is cols
