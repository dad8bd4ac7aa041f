"""Window numerics shared by ConvolutionLayer and PoolingLayer, on batch-last data.

An input of a windowed layer is (C, S1, ..., Sd, N): channels first, d spatial axes,
the batch last. Every helper here loops over *kernel offsets* only (kh*kw slices);
each slice operation runs over whole (C, O1..Od, N) blocks whose inner run (the batch,
or the batch times the last output size at stride 1) is contiguous. performance.md
items 1-3 measured why: this is 5-20x faster than sliding_window_view + reshape.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import compiled
from .base import check_batch_size
from .functions import ramp_in_place
from .spatial import per_dim, resolve_padding

_SCRATCH = "netdsl.layers.windows"   # namespace of our keys in Ctx.scratch


@dataclass(frozen=True)
class Geometry:
    """Where the windows of one layer fall on one input size (all tuples have d entries)."""

    sizes: tuple            # spatial input sizes S
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple             # ((before, after), ...)
    out: tuple              # spatial output sizes O

    def __hash__(self) -> int:
        # a scratch key on every pass: hash the fields once (the generated hash re-hashes
        # all six tuples each time)
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = hash((self.sizes, self.kernel, self.stride,
                                               self.dilation, self.pads, self.out))
        return h

    @property
    def padded(self) -> tuple:
        return tuple(n + b + a for n, (b, a) in zip(self.sizes, self.pads))

    @property
    def has_padding(self) -> bool:
        return any(b or a for b, a in self.pads)

    @property
    def offsets(self):
        """Every kernel offset (k1, ..., kd), in C order (the order of the weight array)."""
        return itertools.product(*(range(k) for k in self.kernel))

    @functools.cached_property
    def windows(self) -> tuple[tuple[tuple, tuple], ...]:
        """(index into the columns, index into the padded input) for every kernel offset:
        computed once per geometry, since layers loop over them on every pass."""
        return tuple(((slice(None),) + off, self.window_slices(off)) for off in self.offsets)

    @functools.cached_property
    def axis_windows(self) -> tuple[tuple[tuple, ...], ...]:
        """For each spatial axis i, the index reading kernel offset j along that axis
        alone (every output position), for j = 0..k_i - 1: windows taken one axis at a time."""
        return tuple(tuple((slice(None),) * i + (slice(j * dl, j * dl + (o - 1) * s + 1, s),)
                           for j in range(k))
                     for i, (k, s, dl, o) in enumerate(
                         zip(self.kernel, self.stride, self.dilation, self.out), 1))

    def window_slices(self, offset: tuple) -> tuple:
        """Index of the padded input read by kernel offset ``offset`` for every output position."""
        return (slice(None),) + tuple(
            slice(k * dl, k * dl + (o - 1) * s + 1, s)
            for k, dl, o, s in zip(offset, self.dilation, self.out, self.stride)) + (slice(None),)

    def interior(self) -> tuple:
        """Index of the unpadded input inside the padded one."""
        return (slice(None),) + tuple(slice(b, b + n) for n, (b, _) in zip(self.sizes, self.pads)) \
            + (slice(None),)


def geometry(values: dict, spatial_sizes: tuple) -> Geometry:
    """The window geometry of a convolution or pooling layer (its ``values``) on an input."""
    return _geometry(values["KernelSize"], values.get("Stride", 1),
                     values.get("Dilation", 1) or 1, values.get("PaddingSize", 0),
                     tuple(spatial_sizes))


@functools.lru_cache(maxsize=1024)
def _geometry(kernel, stride, dilation, padding, spatial_sizes: tuple) -> Geometry:
    d = len(spatial_sizes)
    kernel = per_dim(kernel, d, "KernelSize")
    stride = per_dim(stride, d, "Stride")
    dilation = per_dim(dilation, d, "Dilation")
    pads = resolve_padding(padding, d, spatial_sizes, kernel, stride, dilation)
    out = tuple((n + b + a - (dl * (k - 1) + 1)) // s + 1
                for n, k, s, dl, (b, a) in zip(spatial_sizes, kernel, stride, dilation, pads))
    return Geometry(tuple(spatial_sizes), tuple(kernel), tuple(stride), tuple(dilation),
                    tuple(pads), out)


def scratch(ctx, name: str, shape: tuple, dtype, fill=None, part=None) -> np.ndarray:
    """A buffer reused across passes through ``ctx.scratch``: only for values that die
    within one forward call (never for anything kept in a cache for backward).

    With ``fill``, the buffer is filled once when created; callers overwrite only a part
    that is the same on every use (the interior of a padded input), so the rest keeps it.
    ``part`` names that part and is in the key: two layers whose buffers have the same
    shape but other interiors (say padding 1 on 32x32 and padding 2 on 30x30) must not
    share one, or each would leave its data in the other's zero border.
    """
    key = (_SCRATCH, name, shape, np.dtype(dtype).str, fill, part)
    store = getattr(ctx, "scratch", None)
    buf = store.get(key) if store is not None else None
    if buf is None:
        buf = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        if store is not None:
            store[key] = buf
    return buf


def cached(ctx: Any, key: Any, arrays: dict[str, Any], make: Any) -> Any:
    """``make()``, kept in the plan's scratch while ``arrays`` are the same read-only
    objects (a net's arrays are frozen; NetTrain's are views of a buffer it updates, so
    they are recomputed every pass)."""
    values = tuple(arrays.values())
    if any(not isinstance(a, np.ndarray) or a.flags.writeable
           or (isinstance(a.base, np.ndarray) and a.base.flags.writeable) for a in values):
        return make()
    store = getattr(ctx, "scratch", None)
    if store is None:
        return make()
    entry = store.get(key)
    if entry is not None and len(entry[0]) == len(values) and all(
            a is b for a, b in zip(entry[0], values)):
        return entry[1]
    out = make()
    store[key] = (values, out)
    return out


class ChannelParts(tuple):
    """Batch-last arrays read as one, joined along the channel level (axis 0): the inputs
    of a CatenateLayer the executor dropped (fusion rule 9). ``conv_shifted`` copies them
    straight into its padded buffer, which it fills anyway; other paths join them first.
    The U-Net's 16 + 16 channels of 32x32, batch 8: the 37 us join (60-96 us with a
    second lane beside it) and its 1 MB are saved."""

    @property
    def shape(self) -> tuple[int, ...]:
        return (sum(p.shape[0] for p in self),) + self[0].shape[1:]

    @property
    def dtype(self) -> Any:
        return self[0].dtype

    def joined(self) -> np.ndarray:
        return np.concatenate(self, axis=0)


def joined(x: Any) -> np.ndarray:
    """x itself, or its ``ChannelParts`` joined."""
    return x.joined() if isinstance(x, ChannelParts) else x


def fill_interior(xp: np.ndarray, x: Any, g: Geometry) -> None:
    """The padded buffer's interior = x (an array or ``ChannelParts``), for the paths
    whose kernels do not fill the rows they read themselves (``_filled_in_kernel``)."""
    if not isinstance(x, ChannelParts):
        xp[g.interior()] = x
        return
    inner, start = g.interior()[1:], 0
    for part in x:
        xp[(slice(start, start + part.shape[0]),) + inner] = part
        start += part.shape[0]


def pad(x: np.ndarray, g: Geometry, fill: float, ctx=None, reuse: bool = False) -> np.ndarray:
    """x with its spatial axes padded by ``fill`` (x itself when there is no padding)."""
    if not g.has_padding:
        return x
    shape = (x.shape[0],) + g.padded + (x.shape[-1],)
    check_batch_size(shape, x.dtype.itemsize, "the padded input of a convolution or pooling")
    if reuse and ctx is not None:
        xp = scratch(ctx, "pad", shape, x.dtype, float(fill), part=g.pads)
    else:
        xp = np.full(shape, fill, x.dtype)
    xp[g.interior()] = x
    return xp


def crop(xp: np.ndarray, g: Geometry) -> np.ndarray:
    """The inverse of ``pad`` for gradients: the unpadded part, C-contiguous."""
    if not g.has_padding:
        return xp
    return np.ascontiguousarray(xp[g.interior()])


def im2col(xp: np.ndarray, g: Geometry, out: np.ndarray | None = None,
           start: tuple = ()) -> np.ndarray:
    """Columns (C, k1..kd, O1..Od, N) of the padded input: one strided slice copy per offset.

    Reshaped to (C*prod(k), prod(O)*N) (a free view), they multiply the weight matrix
    (F, C*prod(k)) into the output (F, O1..Od, N) directly. ``start``: spatial offsets at
    which the windows begin in ``xp`` (g is then the geometry of ``xp`` cut there: the
    per-pooling-offset convolutions of ``ConvPoolThenBias``).
    """
    c, n = xp.shape[0], xp.shape[-1]
    d = len(g.kernel)
    cut = (slice(None),) + tuple(slice(b, None) for b in start) + (slice(None),)
    if all(k == 1 for k in g.kernel) and all(s == 1 for s in g.stride) \
            and xp[cut].shape[1:-1] == g.out:
        return xp[cut].reshape((c,) + (1,) * d + g.out + (n,))   # 1x1: no copy at all
    if out is None:
        out = np.empty((c,) + g.kernel + g.out + (n,), xp.dtype)
    if out.size <= _ONE_COPY_MAX:
        # small (e.g. one example): one strided copy beats prod(kernel) slice copies
        np.copyto(out, strided_view(xp, out.shape, window_strides(xp.strides, g), start))
        return out
    xp = xp[cut]
    for col_index, window in g.windows:
        out[col_index] = xp[window]
    return out


def window_strides(strides: tuple, g: Geometry) -> tuple:
    """Strides of the columns (C, k.., O.., N) as a view of an input with ``strides``."""
    return ((strides[0],) + tuple(s * dl for s, dl in zip(strides[1:-1], g.dilation))
            + tuple(s * sd for s, sd in zip(strides[1:-1], g.stride)) + (strides[-1],))


def one_copy_columns(shape: tuple, dtype, g: Geometry, start: tuple = ()):
    """For ``im2col`` of a C-contiguous input of ``shape`` in one strided copy: the byte
    offset of ``start`` and the view's strides, worked out once (a layer reading the same
    shape again skips im2col's per-call checks); None when im2col would not copy at once
    (large columns, a 1x1 convolution)."""
    if prod((shape[0],) + g.kernel + g.out + (shape[-1],)) > _ONE_COPY_MAX or (
            all(k == 1 for k in g.kernel) and all(s == 1 for s in g.stride)):
        return None
    item = np.dtype(dtype).itemsize
    strides = tuple(item * prod(shape[i + 1:]) for i in range(len(shape)))
    return sum(b * s for b, s in zip(start, strides[1:])), window_strides(strides, g)


def strided_view(a: np.ndarray, shape: tuple, strides: tuple, start: tuple = ()) -> np.ndarray:
    """A read-only view of ``a`` (from spatial offsets ``start`` on) with the given shape
    and strides: ``as_strided``, but built by the ndarray constructor when ``a`` is
    C-contiguous (0.4 against 3 us a call: a per-offset convolution builds several per
    pass)."""
    offset = sum(b * s for b, s in zip(start, a.strides[1:]))
    if a.flags.c_contiguous:
        view = np.ndarray(shape, a.dtype, a, offset, strides)
        view.flags.writeable = False
        return view
    cut = (slice(None),) + tuple(slice(b, None) for b in start) + (slice(None),)
    return as_strided(a[cut], shape, strides, writeable=False)


# Above this many column entries the per-offset slice copies are as fast or faster
# (their inner runs are longer than a strided copy's).
_ONE_COPY_MAX = 262144


def small_columns(ctx, x: np.ndarray, g: Geometry) -> np.ndarray | None:
    """``im2col(pad(x, g, 0))`` as a (C prod(k), prod(O) N) matrix, for a small input
    (e.g. one example) in Test mode, with everything but the copies prepared once per
    plan and input shape: a zero-padded input buffer, the column buffer and the strided
    views between them live in ``ctx.scratch``. Building a view (``as_strided``) and
    looking up buffers cost about as much as the copy itself at batch 1. The columns
    are overwritten by the next pass: only for values that die within one forward
    call. None when this does not apply (large columns, a 1x1 convolution, no scratch
    store)."""
    store = getattr(ctx, "scratch", None)
    if store is None:
        return None
    key = (_SCRATCH, "small-cols", g, x.shape, x.dtype.str)
    entry = store.get(key)
    if entry is None:
        entry = store[key] = _small_columns_entry(x, g)
    if entry is False:
        return None
    inner, copies, matrix = entry
    np.copyto(inner, x)
    for dst, src in copies:
        np.copyto(dst, src)
    return matrix


def _small_columns_entry(x: np.ndarray, g: Geometry):
    """(input buffer's interior, [(buffer, strided view to copy into it), ...] ending with
    the columns, the columns as a matrix), or False.

    One strided copy runs an inner loop of O_d N numbers per (channel, kernel offset,
    output row): short runs (LeNet's 16 x 3 x 3 x 10 runs of 10) cost more in loop
    overhead than in copying. Then two copies are cheaper: first the last axis's k_d
    shifts of every padded row, (C, k_d, P1..P_{d-1}, O_d, N), few loops; then, from
    that, each (channel, kernel offset) block of output rows, contiguous when the
    stride along axis d-1 is 1 (measured: 6.8 against 9.0 us for 16 channels 13x13)."""
    c, n = x.shape[0], x.shape[-1]
    shape = (c,) + g.kernel + g.out + (n,)
    if prod(shape) > _ONE_COPY_MAX or (all(k == 1 for k in g.kernel)
                                       and all(s == 1 for s in g.stride)):
        return False
    xp = np.zeros((c,) + g.padded + (n,), x.dtype)
    cols = np.empty(shape, x.dtype)
    matrix = cols.reshape(c * prod(g.kernel), -1)
    st = xp.strides
    d = len(g.kernel)
    one_loops = c * prod(g.kernel) * prod(g.out[:-1])
    two_loops = c * g.kernel[-1] * prod(g.padded[:-1]) + c * prod(g.kernel) * prod(g.out[:-2])
    if d >= 2 and g.stride[-2] == 1 and g.out[-1] * n <= _SHORT_RUN \
            and one_loops - two_loops > _LOOPS_PER_COPY:
        rows = np.empty((c, g.kernel[-1]) + g.padded[:-1] + (g.out[-1], n), x.dtype)
        sr = rows.strides
        return xp[g.interior()], [
            (rows, as_strided(xp, rows.shape, (st[0], st[-2] * g.dilation[-1]) + st[1:-2]
                              + (st[-2] * g.stride[-1], st[-1]), writeable=False)),
            (cols, as_strided(rows, shape, (sr[0],)
                              + tuple(s * dl for s, dl in zip(sr[2:-2], g.dilation)) + (sr[1],)
                              + tuple(s * sd for s, sd in zip(sr[2:-2], g.stride))
                              + sr[-2:], writeable=False))], matrix
    view = as_strided(xp, shape, (st[0],)
                      + tuple(s * dl for s, dl in zip(st[1:-1], g.dilation))
                      + tuple(s * sd for s, sd in zip(st[1:-1], g.stride)) + (st[-1],),
                      writeable=False)
    return xp[g.interior()], [(cols, view)], matrix


_SHORT_RUN = 32   # numbers per inner run below which small_columns copies in two steps
# ... if that saves more inner loops than one more copy call costs (about 300 loops:
# for one channel of 28x28, 234 loops in one copy against 93 in two took the same time)
_LOOPS_PER_COPY = 300


def shifted_applies(g: Geometry, channels: int, batch: int, dtype: Any = None) -> bool:
    """Whether ``conv_shifted`` is worth it: a window of several offsets at stride and
    dilation 1, enough input channels for a real GEMM (its inner dimension), enough
    positions to amortise the per-offset additions, and little work wasted on the
    padded rows' extra columns. With the compiled GEMMs (``dtype`` float32 and
    ``compiled_shifted``) there are no additions and no extra columns: only the channels
    and a smaller number of positions count."""
    if prod(g.kernel) == 1 or any(s != 1 for s in g.stride) or any(d != 1 for d in g.dilation):
        return False
    if channels < _SHIFTED_MIN_CHANNELS:
        return False
    if dtype is not None and compiled_shifted(dtype) is not None:
        return prod(g.out) * batch >= _COMPILED_MIN_POSITIONS
    if prod(g.out) * batch < _SHIFTED_MIN_POSITIONS:
        return False
    return prod(g.padded[1:]) <= _SHIFTED_MAX_WASTE * prod(g.out[1:])


_SHIFTED_MIN_CHANNELS = 8
_SHIFTED_MIN_POSITIONS = 4096
_SHIFTED_MAX_WASTE = 1.25
# The compiled path against im2col, U-Net at batch 8 (16 -> 32 channels on 16x16, 2,048
# positions): 229 against 445 us; batch 2 (32 -> 16 on 32x32): 235 against 515.
_COMPILED_MIN_POSITIONS = 256
# The shifted input gradient multiplies the whole padded dY (k - 1 - padding on each side)
# where W^T dY + col2im multiplies dY only: measured slower (6.3 against 4.7 ms) for
# 16 -> 32 channels on 11x11 outputs without padding (15x15 padded, 1.86x the area).
_SHIFTED_DX_MAX_AREA = 1.3


def conv_shifted(ctx, x: np.ndarray, w: np.ndarray, g: Geometry, keep: bool = False,
                 bias: np.ndarray | None = None, ramp: bool = False):
    """Convolution (stride and dilation 1) without a column matrix.

    On the padded batch-last input flattened to (C, P1*...*Pd*N), kernel offset k reads
    the same contiguous rows shifted by off(k) = sum_i k_i * P_{i+1}*...*Pd*N. So one GEMM
    Z = W'(prod(k)*F, C) @ X(C, P*N) gives every offset's contribution at once, and the
    output is the sum of prod(k) shifted slices of Z, computed on the grid
    (O1, P2..Pd, N); the columns beyond O2..Od are dropped at the end. The padded
    buffer has a zero tail so the last shifts stay in bounds. Compared with im2col +
    GEMM, nothing is expanded prod(k) times on the input side and the GEMM has
    prod(k)*F rows instead of F (OpenBLAS is slow on very few rows). For float32 with
    numba and a cblas_sgemm (``compiled_shifted``), each output row's prod(k) GEMMs are
    instead accumulated in place from one compiled loop (compiled/shifted_gemm.py:
    about twice as fast, the same sums).

    With ``keep`` (training) the padded buffer is a fresh array, returned too as
    ``(y, buffer)`` for ``shifted_weight_grad``; otherwise a reused scratch buffer.
    ``bias`` (F,), if given, is added to the output, then with ``ramp`` Max[., 0] taken
    (the compiled loops do both while each output block is in cache). ``x`` may be
    ``ChannelParts``.
    """
    c, n, f = x.shape[0], x.shape[-1], w.shape[0]
    offsets, length, width = _shifted_layout(g, n)
    total = prod(g.padded) * n
    fast = compiled_shifted(x.dtype)
    inputs, geom = _filled_in_kernel(x, g, n) if fast is not None else (None, None)
    if keep:     # (the compiled kernels set every row they read, border included)
        buf = (np.zeros if inputs is None else np.empty)((c, width), x.dtype)
        buf[:, total:] = 0
    else:
        buf = scratch(ctx, "shifted-pad", (c, width), x.dtype, 0.0, part=(g.padded, g.pads, n))
    xp = buf[:, :total].reshape((c,) + g.padded + (n,))
    if inputs is None:
        fill_interior(xp, x, g)
    if fast is not None:    # each output row's GEMMs from one compiled loop
        y = np.empty((f,) + g.out + (n,), x.dtype)
        parts = team_parts(ctx, y.size)
        b = _NO_BIAS if bias is None else np.ascontiguousarray(bias, x.dtype).reshape(-1)
        wino = _winograd(g, c, f, n)
        fill = (_NO_INPUTS, _NO_GEOM) if inputs is None else (inputs, geom)

        def by_winograd() -> None:      # (always 2-D: it fills its rows)
            shared(wino.conv3x3, (wino.SGEMM, winograd_weights(ctx, w, x.dtype), buf,
                                  g.padded[1], b, ramp, y) + fill, g.out[0] // 2, parts)

        def by_shifts() -> None:
            blocks = _shifted_blocks(g, n)
            shared(fast.accumulate, (fast.SGEMM, shifted_weights(ctx, w, x.dtype), buf,
                                     _shift_array(g, n), blocks, b, ramp, y.reshape(f, -1))
                   + fill, len(blocks), parts)
        if wino is not None and winograd_pays((g, c, f, n), by_winograd, by_shifts):
            by_winograd()
        else:
            by_shifts()
        return (y, buf) if keep else y
    wk = np.ascontiguousarray(np.moveaxis(w.reshape((f, c, -1)), 2, 0)).reshape(-1, c)
    z = np.matmul(wk, buf).reshape(len(offsets), f, -1)
    y = np.array(z[0, :, offsets[0]:offsets[0] + length], order="C")
    for k in range(1, len(offsets)):
        y += z[k, :, offsets[k]:offsets[k] + length]
    y = y.reshape((f, g.out[0]) + g.padded[1:] + (n,))
    y = np.ascontiguousarray(y[(slice(None), slice(None))
                               + tuple(slice(0, o) for o in g.out[1:])])
    if bias is not None:
        y += bias.astype(y.dtype, copy=False).reshape((f,) + (1,) * (y.ndim - 1))
    if ramp:
        ramp_in_place(y)
    return (y, buf) if keep else y


def _filled_in_kernel(x: Any, g: Geometry, n: int) -> tuple[Any, Any]:
    """For a 2-D float32 input: its parts (a tuple of C-contiguous arrays: x, or its
    ``ChannelParts``) and where they go (compiled/padded.py), for the compiled kernels
    to fill the padded rows each share reads; (None, None) otherwise (then
    ``fill_interior`` first)."""
    if len(g.pads) != 2 or x.dtype != np.float32:
        return None, None
    parts = tuple(np.ascontiguousarray(p) for p in (x if isinstance(x, ChannelParts) else (x,)))
    geom = np.array([g.pads[0][0], g.pads[1][0], g.padded[1], g.padded[1] * n], np.int64)
    return parts, geom


_NO_INPUTS = (np.zeros((0, 1, 1, 1), np.float32),)
_NO_GEOM = np.zeros(4, np.int64)      # its fourth number 0: the kernel fills nothing


def shifted_weights(ctx: Any, w: np.ndarray, dtype: Any) -> np.ndarray:
    """w (F, C, k..) as (prod(k), F, C), C-contiguous, for shifted_gemm.accumulate; kept
    with a Test-mode plan while ``w`` is the same array (np.moveaxis and the copy took
    20 us a call)."""
    f, c = w.shape[:2]
    return cached(ctx, ("shifted-weights", id(w)), {"": w}, lambda: np.ascontiguousarray(
        w.reshape(f, c, -1).transpose(2, 0, 1), dtype))


@functools.lru_cache(maxsize=256)
def _shift_array(g: Geometry, n: int) -> np.ndarray:
    """``_shifted_layout``'s offsets as a read-only int64 array (shared)."""
    out = np.array(_shifted_layout(g, n)[0], np.int64)
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=256)
def _shifted_layout(g: Geometry, n: int) -> tuple[tuple[int, ...], int, int]:
    """For ``conv_shifted``: each kernel offset's flat shift, the length of the output
    grid (O1, P2..Pd, N) and the padded buffer's width (with its zero tail)."""
    step = _flat_steps(g, n)
    offsets = tuple(sum(k * st for k, st in zip(off, step)) for off in g.offsets)
    length = g.out[0] * step[0]
    return offsets, length, max(prod(g.padded) * n, max(offsets) + length)


_NO_BIAS = np.zeros(0, np.float32)

# Winograd's F(2x2, 3x3) transform of a 3x3 kernel: U = G w G^T (compiled/winograd.py).
_WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
# Where F(2x2, 3x3) paid, measured at one thread against the compiled shifted GEMMs
# (C -> F channels, size, batch: time ratio): 8 -> 16, 32x32, 16: 0.86; 16 -> 16, 32x32,
# 32: 0.81; 32 -> 32, 16x16, 32: 0.73; 64 -> 64, 8x8, 32: 0.68; 32 -> 16 0.88; 16 -> 32
# 0.93. It lost with few filters (8 -> 8: 1.04, 16 -> 8: 1.03), with a small batch (its
# transforms run over runs of N numbers; 16 -> 16, 64x64, batch 4: 1.49) and with many
# channels (128 -> 128, 8x8, 16: 1.11: a U[p] too big for the small-matrix kernel).
_WINOGRAD_MIN_INPUTS, _WINOGRAD_MIN_FILTERS, _WINOGRAD_MIN_BATCH = 8, 16, 8
_WINOGRAD_MAX_WEIGHTS = 4096     # C F


def _winograd(g: Geometry, c: int, f: int, n: int) -> Any:
    """The winograd module for a 3x3 convolution of ``conv_shifted`` on a batch of n with
    even output sizes, where it can pay (above; ``winograd_pays`` then measures whether it
    does here), with the compiled GEMMs there; or None."""
    if (g.kernel != (3, 3) or g.out[0] % 2 or g.out[1] % 2 or c < _WINOGRAD_MIN_INPUTS
            or f < _WINOGRAD_MIN_FILTERS or n < _WINOGRAD_MIN_BATCH
            or c * f > _WINOGRAD_MAX_WEIGHTS):
        return None
    wino = compiled.load("winograd")
    return wino if wino is not None and wino.SGEMM is not None else None


# Whether F(2x2, 3x3) beats the compiled shifted GEMMs is measured, not assumed: on the
# development machine of the rules above it won from batch 8 (32 -> 16 channels on 32x32,
# batch 16: 1.11 against 1.5 ms), on a later one (AVX-512, the same OpenBLAS) it tied at
# batch 16 (1.62 against 1.61 ms) and lost at batch 8 (1.06 against 0.82: its transforms
# run over runs of N numbers), which is each lane's half of the U-Net's batch at 2
# threads. So the first convolution of each kind (geometry, channels, filters, batch)
# runs both WINOGRAD_TRIALS times (their best wall-clock time: a run may share its work
# with a helper thread) before it computes its output, and all later ones take the
# faster (a few float32 roundings apart; both within 2e-6 of float64).
# ``FORCE_WINOGRAD`` True or False skips the trial (the tests of each path).
WINOGRAD_TRIALS = 3
FORCE_WINOGRAD: bool | None = None
_WINOGRAD_PAYS: dict[tuple, bool] = {}
_CHOOSING = threading.Lock()


def winograd_pays(kind: tuple, by_winograd: Any, by_shifts: Any) -> bool:
    """Whether ``by_winograd`` was measured faster than ``by_shifts`` for a convolution of
    this ``kind`` (measured now, once per process, if it was not yet)."""
    if FORCE_WINOGRAD is not None:
        return FORCE_WINOGRAD
    found = _WINOGRAD_PAYS.get(kind)
    if found is None:
        with _CHOOSING:        # lanes meeting the same kind at once: one measures
            found = _WINOGRAD_PAYS.get(kind)
            if found is None:
                found = _WINOGRAD_PAYS[kind] = _best_time(by_winograd) < _best_time(by_shifts)
    return found


def _best_time(run: Any) -> float:
    """The fastest of WINOGRAD_TRIALS runs, wall-clock (a run may share its work with
    helper threads, compiled/team.py)."""
    best = float("inf")
    for _ in range(WINOGRAD_TRIALS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def winograd_weights(ctx: Any, w: np.ndarray, dtype: Any) -> np.ndarray:
    """U (16, F, C) = G w G^T for each filter and channel (tile position p = 4 i + j),
    computed in float64; kept with a Test-mode plan while ``w`` is the same array."""
    def make() -> np.ndarray:      # two GEMMs with K = 3 (a batched 4x3 @ 3x3 @ 3x4 took 65 us)
        wino = compiled.load("winograd")
        if wino is not None and np.dtype(dtype) == np.float32:   # one compiled pass
            u = np.empty((16,) + w.shape[:2], np.float32)
            wino.weights(np.ascontiguousarray(w), u)
            return u
        fc = w.shape[0] * w.shape[1]
        wg = w.reshape(fc * 3, 3).astype(np.float64) @ _WINOGRAD_G.T   # (FC, j, l) = w G^T
        gwg = wg.reshape(fc, 3, 4).transpose(0, 2, 1).reshape(fc * 4, 3) @ _WINOGRAD_G.T
        u = gwg.reshape(fc, 4, 4).transpose(2, 1, 0)                     # (i, l, FC)
        return np.ascontiguousarray(u.reshape((16,) + w.shape[:2]), dtype)
    return cached(ctx, ("winograd", id(w)), {"": w}, make)


def _flat_steps(g: Geometry, n: int) -> list[int]:
    """The flat distance between neighbours along each spatial axis of the padded input
    (C, P1..Pd, N)."""
    step = [n] * len(g.kernel)
    for i in range(len(step) - 2, -1, -1):
        step[i] = step[i + 1] * g.padded[i + 1]
    return step


def compiled_shifted(dtype: Any) -> Any:
    """The shifted_gemm module (compiled/shifted_gemm.py) for a float32 pass, or None."""
    if dtype != np.float32:
        return None
    fast = compiled.load("shifted_gemm")
    return fast if fast is not None and fast.SGEMM is not None else None


def blocked_matmul(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None = None,
                   ramp: bool = False, parts: int = 1) -> np.ndarray:
    """a (M, K) @ b (K, P), plus ``bias`` (M,) if given, then with ``ramp`` Max[., 0].
    When the compiled GEMMs are there (float32) and a is small (M K <= 2048), as column
    blocks of b that OpenBLAS's small-matrix kernel takes (M K w <= 2^18), from one
    compiled loop that also adds the bias and takes the Ramp while each block is in
    cache: measured at one thread (16, 27) @ (27, 16384) 171 against 355 us, (64, 32) @
    (32, 4096) 184 against 316 (a convolution's im2col GEMM, a deconvolution's); with
    the bias and Ramp, (16, 27) @ (27, 8192) (the U-Net's first convolution at batch 8)
    122 against 151 us as two NumPy passes after. Bigger a gained nothing: np.matmul."""
    m, k = a.shape
    fast = compiled_shifted(a.dtype) if b.dtype == a.dtype and b.ndim == 2 else None
    width = min(_BLOCK_COLUMNS, (1 << 18) // max(1, m * k))
    if fast is None or width < 128 or b.strides[1] != b.itemsize:
        out = np.matmul(a, b)
        if bias is not None:
            out += bias.astype(out.dtype, copy=False).reshape(-1, 1)
        if ramp:
            ramp_in_place(out)
        return out
    out = np.empty((m, b.shape[1]), a.dtype)
    shared(fast.columns, (fast.SGEMM, np.ascontiguousarray(a), b,
                          _NO_BIAS if bias is None else np.ascontiguousarray(bias, a.dtype),
                          ramp, out, width), -(-b.shape[1] // width), parts)
    return out


def conv_rows(ctx: Any, x: Any, w: np.ndarray, g: Geometry, bias: np.ndarray | None,
              ramp: bool) -> np.ndarray | None:
    """A Test-mode 2-D float32 convolution (no groups) one output row at a time, each
    row's columns built in cache and multiplied at once, with the bias and Ramp
    (shifted_gemm.rows_im2col; its rows shared by ``team_parts`` threads); None where
    that does not apply (then im2col and one GEMM). The U-Net's first convolution (3 -> 16
    channels, 32x32, batch 16) at one thread: 327 against 451 us for im2col (1.7 MB
    written and read back) and one GEMM; LeNet's first (1 -> 20, 5x5, 28x28, batch 64)
    585 against 750; a stride-2 16 -> 32 on 32x32, batch 16, 874 against 1030. At
    batch 1 a row's GEMM is too narrow (54 against 31 us; small_columns serves it)."""
    fast = compiled_shifted(x.dtype)
    c, n, f = x.shape[0], x.shape[-1], w.shape[0]
    kk = c * prod(g.kernel)
    if fast is None or len(g.kernel) != 2 or g.out[1] * n < _ROWS_MIN_WIDTH \
            or kk * g.out[1] * n > _ROWS_MAX_COLUMNS or prod(g.kernel) == 1:
        return None         # (a 1x1 convolution's columns are its input: one GEMM)
    xp = np.ascontiguousarray(pad(joined(x), g, 0.0, ctx, reuse=True))
    y = np.empty((f,) + g.out + (n,), x.dtype)
    shape = np.array(g.kernel + g.stride + g.dilation, np.int64)
    b = _NO_BIAS if bias is None else np.ascontiguousarray(bias, x.dtype).reshape(-1)
    shared(fast.rows_im2col, (fast.SGEMM, np.ascontiguousarray(w.reshape(f, kk), x.dtype), xp,
                              shape, b, ramp, y.reshape(f, g.out[0], -1)),
           g.out[0], team_parts(ctx, y.size))
    return y


_ROWS_MAX_COLUMNS = 1 << 18      # numbers in one output row's columns: 1 MB, in L2
_ROWS_MIN_WIDTH = 128            # a row's GEMM columns (output width times batch)


# A kernel big enough to be worth handing a share to a helper thread, in numbers written:
# a hand-over costs ~10-20 us (the helper's Python call into numba is most of it), and
# the U-Net's 2x2 max pooling (65,536 numbers: 90 us) took 104 us shared, its 1x1 head
# (32,768 numbers, bound by reading its input) no less than alone.
TEAM_MIN_NUMBERS = 1 << 17


def team_parts(ctx: Any, numbers: int) -> int:
    """Threads a compiled kernel writing ``numbers`` numbers may share (``shared``):
    ``ctx.threads`` in a pass run ``teamed`` (runtime/lanes.py), else 1."""
    if not getattr(ctx, "teamed", False) or numbers < TEAM_MIN_NUMBERS:
        return 1
    return ctx.threads


def shared(kernel: Any, args: tuple, items: int, parts: int) -> None:
    """``kernel`` (a compiled kernel of team.run's form) over its ``items`` outer items,
    shared by ``parts`` threads."""
    from .compiled import team      # the caller has a compiled kernel: numba is here
    team.run(kernel, args, items, parts)


# Output columns per compiled GEMM: one output row (O_d N) cut into pieces of at most
# this many (measured for 32 -> 16 channels: 256-1024 columns 1.68-1.71 ms, 2048 3.2).
_BLOCK_COLUMNS = 1024


@functools.lru_cache(maxsize=256)
def _shifted_blocks(g: Geometry, n: int) -> np.ndarray:
    """For shifted_gemm.accumulate: (start in the padded input, start in the output,
    width) of every output row (o1..o_{d-1}) of ``conv_shifted``, in pieces of at most
    _BLOCK_COLUMNS columns. Read-only: it is shared."""
    step = _flat_steps(g, n)
    width = g.out[-1] * n
    edges = np.linspace(0, width, -(-width // _BLOCK_COLUMNS) + 1).round().astype(int)
    blocks = [(sum(i * st for i, st in zip(row, step)) + lo, r * width + lo, hi - lo)
              for r, row in enumerate(itertools.product(*(range(o) for o in g.out[:-1])))
              for lo, hi in zip(edges[:-1], edges[1:])]
    out = np.array(blocks, np.int64).reshape(-1, 3)
    out.flags.writeable = False
    return out


def shifted_weight_grad(buf: np.ndarray, dy: np.ndarray, g: Geometry, parts: int = 1
                        ) -> np.ndarray:
    """The weight gradient (F, C, k..) of ``conv_shifted`` from its kept padded buffer:
    dW[:, :, k] = dY @ (X shifted by off(k))^T, with dY laid on the output grid
    (O1, P2..Pd, N) (zeros in the dropped columns, so they add nothing). No column matrix
    is built. The offsets along the last kernel axis are shifts by N: dY is stacked
    k_d times, shifted by 0, N, .., so each GEMM covers a whole last-axis row of the
    kernel, (C, L) @ (L, k_d F): measured 3.1 ms against 3.3 for one GEMM per offset
    (32 -> 16 channels, 32x32, batch 16). With ``compiled_shifted``, one compiled loop
    accumulates dY's rows times the shifted input rows instead: 1.5 ms there; with
    ``parts`` > 1 (``team_parts``) its blocks shared by that many threads, each summing
    its own dW, added here (so float32 rounding apart from one thread's sums)."""
    c, f, n = buf.shape[0], dy.shape[0], dy.shape[-1]
    offsets, length, _ = _shifted_layout(g, n)
    fast = compiled_shifted(dy.dtype)
    if fast is not None and buf.dtype == dy.dtype:
        blocks = _shifted_blocks(g, n)
        parts = min(parts, len(blocks))      # each share's sums apart (zeros: a share the
        dws = (np.zeros if parts > 1 else np.empty)(    # team ran here instead adds nothing)
            (max(1, parts), len(offsets), f, c), dy.dtype)
        shared(fast.weight_grad, (fast.SGEMM, np.ascontiguousarray(dy).reshape(f, -1), buf,
                                  _shift_array(g, n), blocks, dws), len(blocks), parts)
        dw = dws[0] if parts < 2 else dws.sum(axis=0)
        return np.ascontiguousarray(dw.transpose(1, 2, 0)).reshape((f, c) + g.kernel)
    kd = g.kernel[-1]
    span = length + (kd - 1) * n
    stacked = np.zeros((kd, f, span), dy.dtype)
    for b in range(kd):
        grid = stacked[b, :, b * n:b * n + length].reshape((f, g.out[0]) + g.padded[1:] + (n,))
        grid[(slice(None), slice(None)) + tuple(slice(0, o) for o in g.out[1:])] = dy
    rows = stacked.reshape(kd * f, span).T
    dw = np.empty((len(offsets) // kd, c, kd * f), dy.dtype)
    for i, off in enumerate(offsets[::kd]):
        np.matmul(buf[:, off:off + span], rows, out=dw[i])
    dw = dw.reshape(len(offsets) // kd, c, kd, f)        # (prefix, C, last offset, F)
    return np.ascontiguousarray(dw.transpose(3, 1, 0, 2)).reshape((f, c) + g.kernel)


def input_grad_geometry(g: Geometry) -> Geometry | None:
    """The input gradient of a stride-1, dilation-1 convolution is itself one: the output
    gradient padded by k - 1 - padding on each side, correlated with the kernel flipped
    and its channel axes swapped. Its geometry, or None when that does not apply
    (stride or dilation > 1, or padding beyond k - 1, which would be a crop)."""
    if any(s != 1 for s in g.stride) or any(d != 1 for d in g.dilation):
        return None
    pads = tuple((k - 1 - b, k - 1 - a) for k, (b, a) in zip(g.kernel, g.pads))
    if any(b < 0 or a < 0 for b, a in pads):
        return None
    return Geometry(g.out, g.kernel, g.stride, g.dilation, pads, g.sizes)


def conv_input_grad(ctx, dy: np.ndarray, w: np.ndarray, g: Geometry) -> np.ndarray | None:
    """dX (C, S.., N) of a convolution with weights w (F, C, k..) and geometry g, as the
    convolution of ``input_grad_geometry``, or None when that is not worth it (then the
    caller uses W^T dY + col2im). Measured (one thread, OpenBLAS): with C <= F the
    shifted GEMM wins (5.2 vs 8.1 ms for 16 -> 16 channels, 32x32, batch 32); with
    C > F im2col of dY and W'(C, F k) @ cols, whose GEMM has C rows and F k inner
    (3.4 vs 6.9 ms for 32 -> 16 channels, batch 16)."""
    gd = input_grad_geometry(g)
    f, n = dy.shape[0], dy.shape[-1]
    if gd is None or not shifted_applies(gd, f, n, dy.dtype):
        return None
    c = w.shape[1]
    # the shifted GEMM runs over all of the padded dY: not when too much of it is padding
    shifted = ((c <= f or compiled_shifted(dy.dtype) is not None)
               and prod(gd.padded) <= _SHIFTED_DX_MAX_AREA * prod(g.out))
    if c <= f and not shifted:
        return None
    d = len(g.kernel)
    flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * d]
    wf = np.ascontiguousarray(np.swapaxes(flipped, 0, 1)).astype(dy.dtype, copy=False)
    if shifted:
        return conv_shifted(ctx, dy, wf, gd)
    dyp = pad(dy, gd, 0.0, ctx, reuse=True)
    cols = im2col(dyp, gd, scratch(ctx, "dx-cols", (f,) + gd.kernel + gd.out + (n,), dy.dtype))
    dx = np.matmul(wf.reshape(c, -1), cols.reshape(f * prod(gd.kernel), -1))
    return dx.reshape((c,) + gd.out + (n,))


def col2im(dcols: np.ndarray, g: Geometry, dtype) -> np.ndarray:
    """Adjoint of ``im2col``: the gradient of the padded input, by one slice add per offset."""
    c, n = dcols.shape[0], dcols.shape[-1]
    if all(k == 1 for k in g.kernel) and all(s == 1 for s in g.stride) and g.padded == g.out:
        return dcols.reshape((c,) + g.out + (n,))
    dxp = np.zeros((c,) + g.padded + (n,), dtype)
    for col_index, window in g.windows:
        dxp[window] += dcols[col_index]
    return dxp


# ---------------------------------------------------------------- pooling
def pool_max(xp: np.ndarray, g: Geometry, parts: int = 1) -> np.ndarray:
    """Maximum over each window, one spatial axis at a time: a window is a box, so its
    maximum is the maximum along axis 1 of the maxima along axis 2, ... (exact: max
    does not round). sum(k) - d np.maximum calls over shrinking arrays instead of
    prod(k) slice operations over the output (2 against 4 for a 2x2 window). A 2x2
    window with stride 2 on float32: one compiled pass instead (compiled/pooling.py), its
    rows shared by ``parts`` threads (``team_parts``)."""
    tiled = _max_tiles(xp, g, parts)
    if tiled is not None:
        return tiled
    y, fresh = xp, False
    for along in g.axis_windows:
        if len(along) == 1:
            y = y[along[0]]
            continue
        z = np.maximum(y[along[0]], y[along[1]])
        for window in along[2:]:
            np.maximum(z, y[window], out=z)
        y, fresh = z, True
    if fresh and y.flags.c_contiguous:
        return y
    return np.array(y, order="C")       # a copy: the result must not alias the input


def _max_tiles(xp: np.ndarray, g: Geometry, parts: int = 1) -> np.ndarray | None:
    if g.kernel != (2, 2) or g.stride != (2, 2) or xp.dtype != np.float32 or xp.ndim != 4:
        return None
    fast = compiled.load("pooling")
    if fast is None:
        return None
    y = np.empty((xp.shape[0],) + tuple(g.out) + (xp.shape[-1],), xp.dtype)
    shared(fast.max_2x2, (xp if xp.flags.c_contiguous else np.ascontiguousarray(xp), y),
           y.shape[0] * y.shape[1], parts)
    return y


def pool_max_backward(xp: np.ndarray, y: np.ndarray, dy: np.ndarray, g: Geometry) -> np.ndarray:
    """Gradient of ``pool_max``: each window's dy goes to its first maximal element only
    (offsets in C order), so ties are not split and the gradient of a window sums to dy.
    A 2x2 window with stride 2 on float32: one compiled pass (compiled/pooling.py: 16
    channels of 32x32, batch 8, 227 -> 100 us for the layer's backward)."""
    if g.kernel == (2, 2) and g.stride == (2, 2) and xp.ndim == 4 and \
            xp.dtype == y.dtype == dy.dtype == np.float32:
        fast_2x2 = compiled.load("pooling")
        if fast_2x2 is not None:
            dxp = np.empty(xp.shape, dy.dtype)
            fast_2x2.max_2x2_backward(np.ascontiguousarray(xp), np.ascontiguousarray(y),
                                      np.ascontiguousarray(dy), dxp)
            return dxp
    fast = _tiled_max_backward(xp, y, dy, g)
    if fast is not None:
        return fast
    dxp = np.zeros(xp.shape, dy.dtype)
    offsets = list(g.offsets)
    # windows that do not overlap (stride >= kernel) write their slices instead of adding
    overlap = any(s < k for s, k in zip(g.stride, g.kernel))
    hit = np.empty(y.shape, bool)
    pending = None                            # windows whose maximum is still to be found
    for i, off in enumerate(offsets):
        idx = g.window_slices(off)
        np.equal(xp[idx], y, out=hit)
        if pending is None:
            pending = ~hit
        else:
            hit &= pending
            if i + 1 < len(offsets):
                pending ^= hit                # hit is a subset of pending: this removes it
        if overlap:
            dxp[idx] += dy * hit
        else:
            np.multiply(dy, hit, out=dxp[idx])
    return dxp


def _tiled_max_backward(xp, y, dy, g: Geometry):
    """Windows that tile the input (kernel = stride, no padding): one comparison of the
    input, viewed as (C, O1, k1, ..., N), with the broadcast maxima finds every maximum.
    When each window has exactly one (no ties: the usual case for real data), that mask
    times dy is the gradient; otherwise None, and the general path breaks the ties."""
    if g.has_padding or g.kernel != g.stride or g.dilation != (1,) * len(g.kernel):
        return None
    c, n = xp.shape[0], xp.shape[-1]
    covered = tuple(o * k for o, k in zip(g.out, g.kernel))
    x = xp[(slice(None),) + tuple(slice(0, e) for e in covered) + (slice(None),)]
    tiled = (c,) + tuple(v for o, k in zip(g.out, g.kernel) for v in (o, k)) + (n,)
    spread = (c,) + tuple(v for o in g.out for v in (o, 1)) + (n,)
    mask = np.equal(x.reshape(tiled), y.reshape(spread))
    if np.count_nonzero(mask) != y.size:
        return None
    if covered == xp.shape[1:-1]:
        return np.multiply(mask, dy.reshape(spread), dtype=dy.dtype).reshape(xp.shape)
    dxp = np.zeros(xp.shape, dy.dtype)
    dxp[(slice(None),) + tuple(slice(0, e) for e in covered) + (slice(None),)] = \
        np.multiply(mask, dy.reshape(spread), dtype=dy.dtype).reshape(x.shape)
    return dxp


def pool_sum(xp: np.ndarray, g: Geometry) -> np.ndarray:
    """Sum over each window (padding counts as zeros)."""
    windows = g.windows
    y = np.array(xp[windows[0][1]], copy=True, order="C")
    for _, window in windows[1:]:
        y += xp[window]
    return y


def pool_sum_backward(dy: np.ndarray, g: Geometry, channels: int) -> np.ndarray:
    """Gradient of ``pool_sum`` with respect to the padded input."""
    dxp = np.zeros((channels,) + g.padded + (dy.shape[-1],), dy.dtype)
    for _, window in g.windows:
        dxp[window] += dy
    return dxp
