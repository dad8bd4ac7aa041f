"""The data file formats: CSV/TSV text and NumPy's .npy/.npz, registered with Import/Export.

Reading is checked against the memory budget (``netdsl.budget``) before anything
is allocated: an .npy file's header says how big its array is, and a 200-byte file
whose header claims 10^12 elements is refused without reading further. NumPy files
are never unpickled (a file holding Python objects is refused, since unpickling
runs code), and every malformed file gives a netdsl error.

For ``netdsl check`` each format can tell a file's shape without reading its data.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .. import budget
from ..errors import EvaluationError
from ..expr import Association, Expr, Symbol, head_of, input_form, is_list, list_items, \
    make_list, output_form, packed
from ..layers.base import AbstractArray
from .io import FileFormat, register_format
from .numeric import numeric

if TYPE_CHECKING:
    import zipfile   # at run time imported where used: start-up does not need it

S = Symbol

DELIMITERS = {"CSV": ",", "TSV": "\t"}

_INT = re.compile(r"\s*[+-]?\d+\s*\Z")
_REAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*\Z")
_NUMERIC_TEXT = re.compile(r"[0-9+\-.eE,\t \r\n]*\Z")  # nothing but numbers and separators

# memory per field while reading, in bytes: a NumPy element (and its share of the
# parser's buffers) for all-numeric text; a Python object and its list slot otherwise
NUMERIC_FIELD_BYTES = 16
GENERAL_FIELD_BYTES = 96
# the largest .npy header NumPy reads (its own default); a longer one is malformed
MAX_HEADER = 10_000


def _fmterr(text: str) -> EvaluationError:
    return EvaluationError(text, symbol="Import", tag="fmterr")


# ---------------------------------------------------------------- CSV and TSV
def _read_text(path: Path, name: str) -> str:
    size = path.stat().st_size
    budget.check_bytes(2 * size, f"the text of {name}")  # the bytes and the string
    return path.read_bytes().decode("utf-8-sig")


def _fields(text: str, delimiter: str) -> int:
    return text.count(delimiter) + text.count("\n") + 1


def _field(text: str) -> Any:
    """A CSV field: an Integer, a Real, or else the text itself."""
    try:
        if _INT.match(text):
            return int(text)
        if _REAL.match(text):
            return float(text)
    except ValueError:  # a character that the pattern, not Python, calls white space
        pass
    return text


def read_table(text: str, delimiter: str, name: str = "the file") -> Any:
    """Rows of fields; one packed matrix when every field is a number and rows are equal."""
    import csv   # (this and the other file modules are imported on first use)
    fields = _fields(text, delimiter)
    if _NUMERIC_TEXT.match(text) and text.strip():
        budget.check_bytes(fields * NUMERIC_FIELD_BYTES, f"the numbers of {name}")
        fast = _numeric_table(text, delimiter)
        if fast is not None:
            return fast
    budget.check_bytes(fields * GENERAL_FIELD_BYTES, f"the rows of {name}")
    try:
        rows = [[_field(f) for f in row]
                for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as e:
        raise _fmterr(f"{name} is not valid {'CSV' if delimiter == ',' else 'TSV'} ({e}).") \
            from None
    numbers = all(isinstance(f, (int, float)) for row in rows for f in row)
    if rows and numbers and len({len(r) for r in rows}) == 1:
        real = any(isinstance(f, float) for row in rows for f in row)
        try:
            return packed(np.array(rows, dtype=np.float64 if real else np.int64))
        except OverflowError:
            pass  # integers beyond 64 bits stay exact, unpacked
    return make_list(make_list(row) for row in rows)


def _numeric_table(text: str, delimiter: str) -> Any:
    """NumPy's C parser for an all-numeric file (the common case: fast for big files)."""
    real = re.search(r"[.eE]", text) is not None
    try:
        a = np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2,
                       dtype=np.float64 if real else np.int64)
    except (ValueError, OverflowError):
        return None  # ragged rows, empty fields, huge integers: the general reader decides
    return packed(a)


def _table_reader(fmt: str):
    def read(ev, path: Path, name: str, element: str) -> Any:
        return read_table(_read_text(path, name), DELIMITERS[fmt], name)
    return read


def _table_shape(fmt: str):
    """netdsl check: an all-numeric table as rows x columns (counted, not parsed)."""
    def shape(ev, path: Path, name: str, element: str) -> Any:
        text = _read_text(path, name)
        delimiter = DELIMITERS[fmt]
        if not (_NUMERIC_TEXT.match(text) and text.strip()):
            return read_table(text, delimiter, name)  # text fields: read as a run would
        lines = [line for line in text.splitlines() if line.strip()]
        widths = {line.count(delimiter) + 1 for line in lines}
        if len(widths) != 1:
            return read_table(text, delimiter, name)
        return AbstractArray((len(lines), widths.pop()), "array")
    return shape


def _cell(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, float):
        return repr(x)
    if isinstance(x, Symbol):
        return x.name
    return input_form(x)


def _type_error(data: Any, fmt: str) -> EvaluationError:
    return EvaluationError(f"{input_form(head_of(data))} cannot be exported to the \"{fmt}\" "
                           f"format.", symbol="Export", tag="type")


def table_text(data: Any, delimiter: str, fmt: str) -> str:
    """CSV/TSV text: a matrix row by row, a vector one value per line, a number alone."""
    import csv
    if isinstance(data, np.ndarray) and data.ndim <= 2:  # numbers need no quoting: join directly
        matrix = data if data.ndim == 2 else data[:, None]
        cell = str if data.dtype == np.float32 else repr  # shortest text that reads back exactly
        lines = (matrix.tolist() if data.dtype != np.float32 else matrix)
        return "".join(delimiter.join(map(cell, row)) + "\n" for row in lines)
    rows: list[list[Any]]
    if not is_list(data):
        rows = [[data]]
    else:
        rows = [list_items(r) if is_list(r) else [r] for r in list_items(data)]
    if any(is_list(c) for row in rows for c in row):
        raise _type_error(data, fmt)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow(_cell(c) for c in row)
    return out.getvalue()


def _table_writer(fmt: str):
    def write(ev, path: Path, data: Any, name: str, opts: dict) -> None:
        path.write_text(table_text(data, DELIMITERS[fmt], fmt), encoding="utf-8")
    return write


# ---------------------------------------------------------------- .npy and .npz
def _pickle_error(name: str, key: str | None = None) -> EvaluationError:
    where = f"the array \"{key}\" in {name}" if key else name
    return EvaluationError(f"{where} holds Python objects (a pickled array); netdsl never "
                           f"unpickles files. Save plain numeric arrays instead.",
                           symbol="Import", tag="nopickle")


def _where(name: str, key: str | None) -> str:
    return f"the array \"{key}\" in {name}" if key else name


def _header(fh: IO[bytes], name: str, key: str | None) -> tuple[tuple[int, ...], bool, np.dtype]:
    """An .npy header: (shape, Fortran order, dtype), checked, before any data is read."""
    import tokenize
    import zipfile
    where = _where(name, key)
    try:
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise _fmterr(f"{where} is a version {version[0]}.{version[1]} .npy file; netdsl "
                          f"reads versions 1.0 and 2.0.")
        # the header's length first: NumPy would set aside memory for any length it says
        width = 2 if version == (1, 0) else 4
        length = fh.read(width)
        size = int.from_bytes(length, "little")
        if len(length) < width or size > MAX_HEADER:
            raise _fmterr(f"{where} is not a valid NumPy .npy file (its header claims "
                          f"{size} bytes).")
        text = fh.read(size)
        if len(text) < size:
            raise _fmterr(f"{where} is not a valid NumPy .npy file (its header is cut short).")
        own = io.BytesIO(length + text)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(own, max_header_size=MAX_HEADER)
    except (ValueError, EOFError, SyntaxError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError, RecursionError, tokenize.TokenError, zlib.error,
            zipfile.BadZipFile) as e:   # what NumPy's header parser raises on bad text
        raise _fmterr(f"{where} is not a valid NumPy .npy file (bad header: "
                      f"{_first_line(e)}).") from None
    if dtype.hasobject:
        raise _pickle_error(name, key)
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise EvaluationError(f"{where} holds an array of type {dtype}; netdsl reads integer, "
                              f"real and boolean arrays.", symbol="Import", tag="dtype")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _fmterr(f"{where} has invalid dimensions {shape}.")
    budget.check(tuple(shape), dtype.itemsize, f"the array in {where}")
    return tuple(shape), bool(fortran), dtype


def _first_line(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= 100 else text[:97] + "..."


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _read_data(fh: IO[bytes], shape: tuple[int, ...], fortran: bool, dtype: np.dtype,
               available: int, name: str, key: str | None) -> np.ndarray:
    """The array's data after its header; ``available`` is how many bytes the file has left."""
    import zipfile
    nbytes = _count(shape) * dtype.itemsize
    if available < nbytes:
        raise _fmterr(f"{_where(name, key)} is truncated: its header announces {nbytes} bytes "
                      f"of data, the file holds {available}.")
    try:
        data = fh.read(nbytes)
    except (zlib.error, zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as e:
        raise _fmterr(f"{_where(name, key)} cannot be decompressed ({_first_line(e)}).") from None
    if len(data) < nbytes:
        raise _fmterr(f"{_where(name, key)} is truncated: its header announces {nbytes} bytes "
                      f"of data, the file holds {len(data)}.")
    flat = np.frombuffer(data, dtype=dtype, count=_count(shape))
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _value(a: np.ndarray, name: str, key: str | None) -> Any:
    if a.dtype.kind == "u" and a.dtype.itemsize == 8 and a.size and int(a.max()) >= 2 ** 63:
        raise EvaluationError(f"{_where(name, key)} holds unsigned integers beyond 2^63 - 1.",
                              symbol="Import", tag="dtype")
    if a.dtype.byteorder not in "=|":
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim and a.shape[0] == 0:
        return Expr(S("List"))
    return packed(a)


def _not_numpy(name: str) -> EvaluationError:
    return _fmterr(f"{name} is not a NumPy .npy or .npz file.")


def _read_npy(ev, path: Path, name: str, shape_only: bool = False) -> Any:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise _not_numpy(name)
        fh.seek(0)
        shape, fortran, dtype = _header(fh, name, None)
        if shape_only:
            return AbstractArray(shape, "array")
        a = _read_data(fh, shape, fortran, dtype, size - fh.tell(), name, None)
    return _value(a, name, None)


def _npz_members(z: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    members = []
    for info in z.infolist():
        if info.is_dir():
            continue
        if not info.filename.endswith(".npy"):
            raise _fmterr(f"{name} holds {info.filename!r}, which is not an .npy array.")
        members.append(info)
    return members


def _read_npz(ev, path: Path, name: str, shape_only: bool = False) -> Any:
    import zipfile
    out: list[tuple[Any, Any, bool]] = []
    try:
        with zipfile.ZipFile(path) as z:
            total = 0
            for info in _npz_members(z, name):
                key = info.filename[:-4]
                with z.open(info) as fh:
                    shape, fortran, dtype = _header(fh, name, key)
                    total += _count(shape) * dtype.itemsize
                    budget.check_bytes(total, f"the arrays in {name}")
                    if shape_only:
                        out.append((key, AbstractArray(shape, "array"), False))
                        continue
                    available = info.file_size - fh.tell()
                    a = _read_data(fh, shape, fortran, dtype, available, name, key)
                out.append((key, _value(a, name, key), False))
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
            RuntimeError, OverflowError, KeyError, IndexError, struct.error, OSError) as e:
        # a damaged archive makes zipfile raise any of these (IndexError and struct.error
        # from a truncated central directory were found by the mutation fuzz test)
        if isinstance(e, EvaluationError):
            raise
        raise _fmterr(f"{name} is not a valid NumPy .npz file ({_first_line(e)}).") from None
    return Association(out)


def _read_numpy(ev, path: Path, name: str, element: str = "Automatic",
                shape_only: bool = False) -> Any:
    """.npy or .npz, told apart by their first bytes (anything else is refused)."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        return _read_npy(ev, path, name, shape_only)
    if magic.startswith(b"PK"):
        return _read_npz(ev, path, name, shape_only)
    raise _not_numpy(name)


def _numpy_shape(ev, path: Path, name: str, element: str) -> Any:
    return _read_numpy(ev, path, name, element, shape_only=True)


def _export_arrays(data: Any, fmt: str) -> Any:
    if fmt == "NPY":
        v = numeric(data)
        if v is None:
            raise _type_error(data, fmt)
        return np.asarray(v)
    if isinstance(data, Association):
        arrays = {}
        for key, value in data.items():
            v = numeric(value)
            if not isinstance(key, str) or v is None:
                raise EvaluationError(f"An NPZ file holds arrays named by strings; "
                                      f"{input_form(key)} -> {input_form(value)[:60]} is not one.",
                                      symbol="Export", tag="type")
            arrays[key] = np.asarray(v)
        return arrays
    v = numeric(data)
    if v is None:
        raise _type_error(data, fmt)
    return {"arr_0": np.asarray(v)}


def _numpy_writer(fmt: str):
    def write(ev, path: Path, data: Any, name: str, opts: dict) -> None:
        arrays = _export_arrays(data, fmt)
        with open(path, "wb") as fh:
            if fmt == "NPY":
                np.save(fh, arrays, allow_pickle=False)
            else:
                np.savez(fh, **arrays)
    return write


for _fmt in ("CSV", "TSV"):
    register_format(FileFormat(_fmt, ("." + _fmt.lower(),), read=_table_reader(_fmt),
                               write=_table_writer(_fmt), shape=_table_shape(_fmt)))
def _read_text_element(ev, path: Path, name: str, element: str) -> Any:
    """Import["f.txt"]: the file as one string; Import["f.txt", "Lines"]: its lines."""
    text = _read_text(path, name)
    return make_list(text.splitlines()) if element == "Lines" else text


def _write_text(ev, path: Path, data: Any, name: str, opts: dict) -> None:
    """Export["f.txt", x]: a string as it is; a list one element per line (as it prints)."""
    items = list_items(data) if is_list(data) else [data]
    lines = [x if isinstance(x, str) else output_form(x) for x in items]
    path.write_text("\n".join(lines) + ("\n" if is_list(data) and lines else ""),
                    encoding="utf-8")


register_format(FileFormat("Text", (".txt",), read=_read_text_element, write=_write_text,
                           elements=("Lines",)))
register_format(FileFormat("NPY", (".npy",), read=_read_numpy, write=_numpy_writer("NPY"),
                           shape=_numpy_shape))
register_format(FileFormat("NPZ", (".npz",), read=_read_numpy, write=_numpy_writer("NPZ"),
                           shape=_numpy_shape))
