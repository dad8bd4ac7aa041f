"""Import and Export: data files (CSV/TSV text, NumPy's .npy/.npz), net files
(.safetensors), ONNX models, and netdsl text (.wl, with Get).

Net formats are dispatched through ``READERS``/``WRITERS`` (format -> function), so a
format added by another module goes through the same file-name resolution.

NumPy files are always read with ``allow_pickle=False``: a file holding Python
objects is refused rather than unpickled, since unpickling runs code. Relative
file names resolve against the running script's folder (``Session.base_dir``)
first, then the current directory.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import (Association, Expr, Null, Symbol, head_of, input_form, is_list,
                    list_items, make_list, packed)
from ..syntax import parse_statements
from .numeric import numeric
from .registry import builtin, wrong_call

S = Symbol

FORMATS = {".csv": "CSV", ".tsv": "TSV", ".npy": "NPY", ".npz": "NPZ",
           ".safetensors": "SafeTensors", ".onnx": "ONNX", ".wl": "WL"}
DELIMITERS = {"CSV": ",", "TSV": "\t"}
NAMED_FORMATS = {f.upper(): f for f in FORMATS.values()}
SUPPORTED = ".csv, .tsv, .npy, .npz, .safetensors, .onnx, .wl (and for Export .svg, .dot, .png)"

# net formats: format -> reader(ev, path, name, element) / writer(ev, path, name, data, opts)
READERS: dict[str, Any] = {}
WRITERS: dict[str, Any] = {}

_INT = re.compile(r"\s*[+-]?\d+\s*\Z")
_REAL = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*\Z")
_NUMERIC_TEXT = re.compile(r"[0-9+\-.eE,\t \r\n]*\Z")  # nothing but numbers and separators


# ---------------------------------------------------------------- files and formats
def _base_dir(ev) -> Path | None:
    base = getattr(ev.host, "base_dir", None)
    return None if base is None else Path(base)


def _input_path(ev, name: str) -> Path:
    path = Path(name).expanduser()
    base = _base_dir(ev)
    if not path.is_absolute() and base is not None and (base / path).exists():
        return base / path
    return path


def _output_path(ev, name: str) -> Path:
    path = Path(name).expanduser()
    base = _base_dir(ev)
    return base / path if not path.is_absolute() and base is not None else path


def _format_of(name: str, fn: str) -> str:
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        ext = Path(name).suffix.lstrip(".").upper() or "(no extension)"
        raise EvaluationError(f"{ext} is not a supported {fn} format; netdsl reads and writes "
                              f"{SUPPORTED} files.", symbol=fn, tag="fmtnosup")
    return fmt


def _named_format(given: str) -> str | None:
    """A format named explicitly ("CSV", "NPY", ...), or None if ``given`` is not one."""
    return NAMED_FORMATS.get(given.upper())


# ---------------------------------------------------------------- Import
@builtin("Import", ('Import["file.csv"]', 'Import["file.tsv"]', 'Import["file.npy"]',
                    'Import["file.npz"]', 'Import["net.safetensors"]',
                    'Import["file.safetensors", "Net" | "UninitializedNet" | "ArrayAssociation"]',
                    'Import[file, "Data"]'),
         "reads a file: CSV/TSV as a list of rows (packed when all numeric), .npy as an "
         "array, .npz as an association name -> array, a netdsl .safetensors file as its net "
         "(any other as an association name -> array)", args=(1, 2), section="Files")
def _import(ev, name, element="Data"):
    call = Expr(S("Import"), name, element)
    if not isinstance(name, str):
        raise wrong_call("Import", call, f"{input_form(name)} is not a file name (a string)")
    if not isinstance(element, str):
        raise wrong_call("Import", call, f"{input_form(element)} is not an element name")
    fmt = _named_format(element) or _format_of(name, "Import")
    if fmt in READERS:
        path = _input_path(ev, name)
        if not path.is_file():
            raise EvaluationError(f"File {name} not found during Import.", symbol="Import",
                                  tag="nffil")
        chosen = "Automatic" if element in ("Data", fmt) or element.upper() == fmt.upper() \
            else element
        try:
            return READERS[fmt](ev, path, name, chosen)
        except OSError as e:
            raise EvaluationError(f"Cannot open {name}: {e.strerror or e}.", symbol="Import",
                                  tag="noopen") from None
    if fmt == "WL":
        raise EvaluationError(f"Get[\"{name}\"] reads netdsl text and evaluates it.",
                              symbol="Import", tag="useget")
    if fmt == "ONNX":
        raise EvaluationError("Importing ONNX models is not available in this netdsl.",
                              symbol="Import", tag="fmtnosup")
    if element != "Data" and element.upper() != fmt:
        raise EvaluationError(f"The Import element \"{element}\" is not present when importing "
                              f"as {fmt}.", symbol="Import", tag="noelem")
    path = _input_path(ev, name)
    if not path.is_file():
        raise EvaluationError(f"File {name} not found during Import.", symbol="Import",
                              tag="nffil")
    try:
        if fmt in DELIMITERS:
            return _read_table(path.read_text(encoding="utf-8-sig"), DELIMITERS[fmt])
        return _read_numpy(path, name)
    except UnicodeDecodeError:
        raise EvaluationError(f"{name} is not a UTF-8 text file, so it cannot be read as {fmt}.",
                              symbol="Import", tag="fmterr") from None
    except OSError as e:
        raise EvaluationError(f"Cannot open {name}: {e.strerror or e}.", symbol="Import",
                              tag="noopen") from None


def _field(text: str) -> Any:
    """A CSV field: an Integer, a Real, or else the text itself."""
    if _INT.match(text):
        return int(text)
    if _REAL.match(text):
        return float(text)
    return text


def _read_table(text: str, delimiter: str) -> Any:
    """Rows of fields; one packed matrix when every field is a number and rows are equal."""
    if _NUMERIC_TEXT.match(text) and text.strip():
        fast = _numeric_table(text, delimiter)
        if fast is not None:
            return fast
    rows = [[_field(f) for f in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            if row]
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


def _read_numpy(path: Path, name: str) -> Any:
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):  # NumPy calls anything else a pickle
        raise EvaluationError(f"{name} is not a NumPy .npy or .npz file.", symbol="Import",
                              tag="fmterr")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        raise _pickle_error(name) if "pickle" in str(e) else _corrupt(name, e) from None
    if isinstance(data, np.ndarray):
        return _array(data, name, None)
    with data:
        out = []
        for key in data.files:
            try:
                arr = data[key]
            except (ValueError, EOFError, zipfile.BadZipFile) as e:
                raise _pickle_error(name, key) if "pickle" in str(e) else _corrupt(name, e) \
                    from None
            out.append((key, _array(arr, name, key), False))
    return Association(out)


def _corrupt(name: str, e: Exception) -> EvaluationError:
    return EvaluationError(f"{name} is not a valid NumPy .npy or .npz file ({e}).",
                           symbol="Import", tag="fmterr")


def _pickle_error(name: str, key: str | None = None) -> EvaluationError:
    where = f"the array \"{key}\" in {name}" if key else name
    return EvaluationError(f"{where} holds Python objects (a pickled array); netdsl never "
                           f"unpickles files. Save plain numeric arrays instead.",
                           symbol="Import", tag="nopickle")


def _array(a: np.ndarray, name: str, key: str | None) -> Any:
    if a.dtype.kind not in "biuf":
        where = f"the array \"{key}\" in {name}" if key else name
        raise EvaluationError(f"{where} holds an array of type {a.dtype}; netdsl reads integer, "
                              f"real and boolean arrays.", symbol="Import", tag="dtype")
    if a.dtype.kind == "u" and a.dtype.itemsize == 8 and a.size and int(a.max()) >= 2 ** 63:
        raise EvaluationError(f"{name} holds unsigned integers beyond 2^63 - 1.",
                              symbol="Import", tag="dtype")
    if a.ndim and a.shape[0] == 0:
        return Expr(S("List"))
    return packed(a)


# ---------------------------------------------------------------- Export
@builtin("Export", ('Export["file.csv", data]', 'Export["file.npy", array]',
                    'Export["file.npz", <|"name" -> array, ...|>]', 'Export["net.safetensors", net]',
                    'Export["net.onnx", net]', 'Export["file.wl", expr]',
                    'Export["net.svg", net]', 'Export["net.dot", net]', 'Export["loss.png", plot]',
                    'Export[file, data, "format"]'),
         "writes data to a file (format from the extension) and gives the file name: data "
         "files, a net with its arrays (.safetensors), an ONNX model (.onnx; option "
         "\"OperatorSetVersion\" -> 17), netdsl text (.wl), a net's diagram (.svg, .dot), "
         "a loss plot (.png)",
         args=(2, 3), options={"OperatorSetVersion": 17}, section="Files")
def _export(ev, name, data, given=None, *, opts):
    call = Expr(S("Export"), name, data, *([] if given is None else [given]))
    if not isinstance(name, str):
        raise wrong_call("Export", call, f"{input_form(name)} is not a file name (a string)")
    fmt = _named_format(given) if isinstance(given, str) else None
    if given is not None and fmt is None:
        raise EvaluationError(f"{input_form(given)} is not a supported Export format; netdsl "
                              f"writes CSV, TSV, NPY, NPZ, SafeTensors, ONNX, WL, SVG, DOT "
                              f"and PNG.",
                              symbol="Export", tag="fmtnosup")
    fmt = fmt or _format_of(name, "Export")
    path = _output_path(ev, name)
    if fmt in WRITERS:
        WRITERS[fmt](ev, path, name, data, opts)
        return name
    try:
        if fmt == "WL":
            path.write_text(input_form(data) + "\n", encoding="utf-8")
        elif fmt == "ONNX":
            raise EvaluationError("Exporting ONNX models is not available in this netdsl.",
                                  symbol="Export", tag="fmtnosup")
        elif fmt in DELIMITERS:
            path.write_text(_table_text(data, DELIMITERS[fmt], fmt), encoding="utf-8")
        else:
            arrays = _export_arrays(data, fmt)
            with open(path, "wb") as fh:
                if fmt == "NPY":
                    np.save(fh, arrays, allow_pickle=False)
                else:
                    np.savez(fh, **arrays)
    except OSError:
        raise EvaluationError(f"Cannot open {name}.", symbol="Export", tag="noopen") from None
    return name


def _type_error(data: Any, fmt: str) -> EvaluationError:
    return EvaluationError(f"{input_form(head_of(data))} cannot be exported to the \"{fmt}\" "
                           f"format.", symbol="Export", tag="type")


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


def _cell(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, float):
        return repr(x)
    if isinstance(x, Symbol):
        return x.name
    return input_form(x)


def _table_text(data: Any, delimiter: str, fmt: str) -> str:
    """CSV/TSV text: a matrix row by row, a vector one value per line, a number alone."""
    if isinstance(data, np.ndarray) and data.ndim <= 2:  # numbers need no quoting: join directly
        rows = data if data.ndim == 2 else data[:, None]
        cell = str if data.dtype == np.float32 else repr  # shortest text that reads back exactly
        lines = (rows.tolist() if data.dtype != np.float32 else rows)
        return "".join(delimiter.join(map(cell, row)) + "\n" for row in lines)
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


# ---------------------------------------------------------------- Get
@builtin("Get", ('Get["file.wl"]',),
         "reads netdsl text from a file, evaluates every expression in it and gives the last "
         "(Export[\"net.wl\", net] writes a net that Get reads back)", args=1, section="Files")
def _get(ev, name):
    if not isinstance(name, str):
        raise wrong_call("Get", Expr(S("Get"), name), f"{input_form(name)} is not a file name")
    path = _input_path(ev, name)
    if not path.is_file():
        raise EvaluationError(f"Cannot open {name}.", symbol="Get", tag="noopen")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise EvaluationError(f"Cannot read {name} as UTF-8 text.", symbol="Get",
                              tag="noopen") from None
    value: Any = Null
    for expr, _span in parse_statements(text, str(path)):
        value = ev.evaluate(expr)
    return value
