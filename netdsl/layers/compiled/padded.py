"""A convolution's padded input rows, filled by the compiled kernel that reads them.

Why: with a convolution's work shared by threads (team.py), filling its whole padded
buffer first was left to one thread: the U-Net's 32 channels of 32x32, batch 16 (2 MB,
~180 us, bound by memory) before a 0.8 ms shared convolution. Each share now fills the
padded rows its own output rows read, just before it reads them (in its core's cache);
the rows two neighbouring shares both read are written by both, with the same numbers.

The kernels inline ``fill_rows``, and numba's on-disk cache is keyed by each kernel's own
file: after editing this file, delete the cached kernels (``__pycache__/*.nbi``,
``*.nbc`` next to it), as after editing team.py's ``started``.
"""

from __future__ import annotations

from numba import njit


@njit(inline="always", cache=True)
def fill_rows(parts, dst, geom, r_lo, r_hi):   # pragma: no cover (compiled)
    """Padded rows r_lo..r_hi - 1 of ``dst`` (C, >= P1 P2 N: each channel's padded
    (P1, P2, N) in one row) from ``parts``, a tuple of C-contiguous (C_i, S1, S2, N)
    arrays joined along the channels; geom = (top, left, P2) of the interior. The
    border's numbers in those rows are set to zero too, so ``dst`` may start empty (a
    training pass's buffer, kept for the weight gradient: np.zeros of the U-Net's 2.4 MB
    took ~100 us)."""
    top, left, p2 = geom[0], geom[1], geom[2]
    zero = dst.dtype.type(0)
    c0 = 0
    for x in parts:
        s1, s2, n = x.shape[1], x.shape[2], x.shape[3]
        run = s2 * n
        for c in range(x.shape[0]):
            for r in range(r_lo, r_hi):
                row = dst[c0 + c, r * p2 * n:(r + 1) * p2 * n]
                if r < top or r >= top + s1:
                    row[:] = zero
                    continue
                src = x[c, r - top].reshape(run)
                d = row[left * n:left * n + run]
                for q in range(run):
                    d[q] = src[q]
                row[:left * n] = zero
                row[left * n + run:] = zero
        c0 += x.shape[0]
