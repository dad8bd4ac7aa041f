"""Import of data files within the memory budget, and malformed files as netdsl errors.

An .npy header says how big its array is: that size is checked against the budget
(netdsl.budget) before anything is allocated, so a 200-byte file claiming 10^12
elements is refused at once. Hypothesis mutates valid .npy/.npz/.csv bytes: every
case gives a value or a netdsl error, within a time and a memory limit.
"""

from __future__ import annotations

import io
import signal
import time
import tracemalloc
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdsl import EvaluationError, NetDSLError, Session, budget, input_form
from netdsl.layers.base import AbstractArray


@pytest.fixture(autouse=True, scope="module")
def warm():
    """Load the grammar and modules before any case is timed."""
    with pytest.raises(EvaluationError):
        Session(stdout=io.StringIO()).evaluate('1 + 1; Import["none.csv"]')


def header(shape, descr="<f8", fortran=False, version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    d = {"descr": descr, "fortran_order": fortran, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buf, d)
    else:
        np.lib.format.write_array_header_2_0(buf, d)
    return buf.getvalue()


def imp(path: Path, session: Session | None = None):
    s = session or Session(stdout=io.StringIO())
    s.base_dir = str(path.parent)
    return s.evaluate(f'Import["{path.name}"]')


def refused(path: Path, tag: str, session: Session | None = None) -> str:
    with pytest.raises(EvaluationError) as info:
        imp(path, session)
    assert info.value.tag == tag, info.value.message
    return info.value.text


@contextmanager
def limits(seconds: float = 5.0, megabytes: int = 64):
    """A time limit (SIGALRM) and a memory limit (tracemalloc peak) for one case."""
    def timeout(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    tracemalloc.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < megabytes * 2 ** 20, f"peak memory {peak / 2 ** 20:.0f} MB"


# ---------------------------------------------------------------- headers before data
def test_a_tiny_npy_claiming_a_trillion_elements_is_refused_without_allocating(tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(header((10 ** 6, 10 ** 6)) + b"\0" * 64)
    assert path.stat().st_size < 200
    with limits(seconds=2, megabytes=2):
        start = time.process_time()
        text = refused(path, "tnsrmaxsz")
        assert time.process_time() - start < 1.0
    assert text.startswith("Cannot create the array in huge.npy of dimensions "
                           "{1000000, 1000000} because it would consume 7.28 TB")


def test_an_npz_member_claiming_too_much_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        z.writestr("ok.npy", header((2,)) + b"\0" * 16)
        z.writestr("huge.npy", header((10 ** 12,), "<i8"))
    with limits(seconds=2, megabytes=2):
        text = refused(tmp_path / "z.npz", "tnsrmaxsz")
    assert 'the array "huge" in z.npz' in text


def test_a_truncated_file_is_refused_before_its_claimed_size_is_allocated(tmp_path):
    path = tmp_path / "short.npy"
    path.write_bytes(header((4000, 1000)) + b"\0" * 100)      # claims 32 MB, holds 100 bytes
    with limits(seconds=2, megabytes=2):
        text = refused(path, "fmterr")
    assert text == "short.npy is truncated: its header announces 32000000 bytes of data, " \
                   "the file holds 100."
    with zipfile.ZipFile(tmp_path / "short.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.npy", header((4000, 1000)) + b"\0" * 100)
    with limits(seconds=2, megabytes=2):
        refused(tmp_path / "short.npz", "fmterr")


def test_a_smaller_budget_refuses_smaller_files(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros((100, 100)))
    (tmp_path / "m.csv").write_text("1,2,3,4\n" * 20000, encoding="utf-8")
    (tmp_path / "t.csv").write_text("a,b,c,d\n" * 20000, encoding="utf-8")
    try:
        budget.set_limit(50_000)
        refused(tmp_path / "m.npy", "tnsrmaxsz")
        refused(tmp_path / "m.csv", "tnsrmaxsz")
        refused(tmp_path / "t.csv", "tnsrmaxsz")
    finally:
        budget.set_limit(None)
    assert imp(tmp_path / "m.npy").shape == (100, 100)
    assert imp(tmp_path / "m.csv").shape == (20000, 4)


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=">f8").reshape(3, 4),               # big-endian
    np.asfortranarray(np.arange(12.).reshape(3, 4)),        # Fortran order
    np.arange(6, dtype=np.uint8).reshape(2, 3, 1),
    np.zeros((0, 3)),
    np.float32(2.5),
])
def test_numpy_files_read_back_exactly(tmp_path, array):
    np.save(tmp_path / "a.npy", array)
    value = imp(tmp_path / "a.npy")
    got = np.asarray(value) if not (array.ndim and array.shape[0] == 0) else np.zeros((0, 3))
    assert np.array_equal(got, array) and got.shape == array.shape


def test_booleans_read_as_true_and_false(tmp_path):
    np.save(tmp_path / "b.npy", np.array([True, False]))
    assert input_form(imp(tmp_path / "b.npy")) == "{True, False}"


@pytest.mark.parametrize("data, tag, text", [
    (header((2,), version=(2, 0)) + b"\0" * 16, None, None),
    (b"\x93NUMPY\x03\x00" + b"\x10\x00\x00\x00" + b"{}".ljust(16), "fmterr", "version 3.0"),
    (b"\x93NUMPY\x01\x00\x08\x00{'a': 1}", "fmterr", "bad header"),
    (b"\x93NUMPY\x01\x00\xff\xff" + b"x" * 20, "fmterr", "header claims 65535 bytes"),
    (header((2,), "<c16") + b"\0" * 32, "dtype", "complex128"),
    (header((2,), [("a", "<f8")]) + b"\0" * 16, "dtype", None),
    (header((2,), "|O"), "nopickle", "never unpickles"),
    (header((2,), "<M8[s]") + b"\0" * 16, "dtype", None),
])
def test_malformed_npy_files(tmp_path, data, tag, text):
    (tmp_path / "x.npy").write_bytes(data)
    if tag is None:
        assert np.asarray(imp(tmp_path / "x.npy")).tolist() == [0.0, 0.0]
        return
    message = refused(tmp_path / "x.npy", tag)
    assert text is None or text in message


def test_check_mode_reads_headers_only(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((2000, 500)))                   # 8 MB of data
    s = Session(shape_only=True, stdout=io.StringIO())
    with limits(seconds=2, megabytes=1):
        value = imp(tmp_path / "big.npy", s)
    assert isinstance(value, AbstractArray) and value.shape == (2000, 500)


# ---------------------------------------------------------------- fuzzing
def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(12, dtype=np.float64).reshape(3, 4))
    return buf.getvalue()


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, w=np.ones((3, 4)), b=np.arange(5))
    return buf.getvalue()


SEEDS = {"npy": _npy(), "npz": _npz(), "csv": b"1,2.5,3\n4,5,-6e3\n\"a\",b,\n7,8,9\n"}


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "digit"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[i:i + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:                        # make a number in a header or a field bigger
            data[i:i] = draw(st.sampled_from([b"9", b"99999", b"0" * 6, b"-", b"e400", b"("]))
    return bytes(data)


@pytest.mark.parametrize("ext", sorted(SEEDS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_data_files_give_values_or_netdsl_errors(tmp_path, ext, data):
    blob = data.draw(mutated(SEEDS[ext]))
    path = tmp_path / f"f.{ext}"
    path.write_bytes(blob)
    budget.set_limit(16 * 2 ** 20)
    try:
        with limits(seconds=5, megabytes=64):
            for shape_only in (False, True):
                try:
                    imp(path, Session(shape_only=shape_only, stdout=io.StringIO()))
                except NetDSLError as e:
                    assert e.message
    finally:
        budget.set_limit(None)
