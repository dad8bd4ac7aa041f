"""BLAS's ``cblas_sgemm``, found in the library NumPy itself uses, for compiled loops.

Why: a recurrent layer's time loop is a small GEMM and a little elementwise work per
step. Called from Python, each of a step's GEMM blocks (row_blocks.py) costs ~1.5 us of
NumPy dispatch and a GIL hand-over; called from inside one compiled loop (numba calls a
ctypes function directly), a whole LSTM pass runs with no Python between steps and
without the GIL, so lanes run side by side. Measured at one thread, 100 steps of
(1024, 256) @ (256, 32) in 12 row blocks: 14.7 ms from numba against 16.7 ms through
``np.matmul``.

The library is the one threadpoolctl reports for NumPy (OpenBLAS in NumPy's wheels, whose
symbols carry a ``scipy_`` prefix and 64-bit integers; ``cblas_sgemm`` with 32-bit
integers elsewhere). The function found is checked once against ``np.matmul`` on a small
strided product, called from compiled code as it will be used (so an integer width that
does not match the library shows as a wrong answer here); anything unexpected (no such
library, no symbol, a wrong answer) gives None and the callers keep their NumPy loops.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from numba import njit

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (symbol, integer type): NumPy's own OpenBLAS (ILP64, prefixed), ILP64 OpenBLAS, LP64.
_SYMBOLS = (("scipy_cblas_sgemm64_", ctypes.c_int64), ("cblas_sgemm64_", ctypes.c_int64),
            ("cblas_sgemm", ctypes.c_int))


def _libraries() -> list[str]:
    """Paths of the BLAS libraries loaded in this process (NumPy's first)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:          # part of the same netdsl[speed] extra as numba
        return []
    return [d["filepath"] for d in threadpool_info() if d.get("user_api") == "blas"]


def _find() -> Any:
    """The checked ``cblas_sgemm`` as a ctypes function, or None. Pointers are passed as
    ``c_ssize_t`` (numba's ``arr.ctypes.data`` is an integer)."""
    ptr = ctypes.c_ssize_t
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name, integer in _SYMBOLS:
            if not hasattr(lib, name):
                continue
            proto = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                     integer, integer, integer, ctypes.c_float, ptr, integer,
                                     ptr, integer, ctypes.c_float, ptr, integer)
            fn = proto((name, lib))
            if _agrees(fn):
                return fn
    return None


def _agrees(fn: Any) -> bool:
    """Does ``fn`` compute C = A^T B (A, B row-major, B a strided view) as np.matmul does?"""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 5)).astype(np.float32)        # used as A^T (5, 7)
    b_full = rng.standard_normal((7, 9)).astype(np.float32)
    b = b_full[:, 2:8]                                         # (7, 6), row stride 9
    c = np.full((5, 6), np.nan, np.float32)
    try:
        _product(fn, a, b, c)
    except Exception:            # noqa: BLE001 (a foreign library: any failure means "no")
        return False
    return bool(np.allclose(c, a.T @ b, rtol=1e-5, atol=1e-5))


@njit(cache=True)
def _product(gemm, a, b, c):   # pragma: no cover (compiled)
    """c (5, 6) = a^T (5, 7) @ b (7, 6, row stride 9) through ``gemm``, from compiled code."""
    gemm(ROW_MAJOR, TRANS, NO_TRANS, 5, 6, 7, 1.0, a.ctypes.data, 5, b.ctypes.data, 9,
         0.0, c.ctypes.data, 6)


SGEMM = _find()
