"""Import and Export: one dispatch over a registry of file formats, behind the file gate.

A format is a ``FileFormat`` registered with ``register_format``: its name ("CSV"),
its file extensions, and what it can do (read, write, and for ``netdsl check`` tell
a file's shape without reading its data). Data files (CSV/TSV, .npy/.npz) live in
``datafiles.py``, net files (.safetensors, .onnx) in ``netfiles.py``, netdsl text
(.wl) here; other modules add theirs the same way, with no edit here.

Every file access asks the session first (``Session.require_files``): a session
with file access off (``netdsl --no-files``, ``Session(files=False)``) refuses, and
``netdsl check`` writes nothing but notes what would be written. Relative file names
resolve against the running script's folder (``Session.base_dir``) first, then the
current directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import EvaluationError
from ..expr import Expr, Null, Symbol, input_form
from .registry import builtin, load_lazy, wrong_call

S = Symbol

# (ev, path, name as written, element: "Automatic" or one of the format's elements)
Reader = Callable[[Any, Path, str, str], Any]
# (ev, path, data, name as written, Export's options)
Writer = Callable[[Any, Path, Any, str, dict], None]


@dataclass(frozen=True)
class FileFormat:
    """A file format Import and Export know, by name ("CSV") and extensions (".csv")."""

    name: str
    extensions: tuple[str, ...]
    read: Reader | None = None
    write: Writer | None = None
    # netdsl check: the value with arrays known by dimensions only, reading no data
    # (None: check mode reads the file as a run would)
    shape: Reader | None = None
    elements: tuple[str, ...] = ()      # Import elements besides "Data" and the format's name
    listed: bool = True                 # named in "netdsl reads ..." messages


FILE_FORMATS: dict[str, FileFormat] = {}


def register_format(fmt: FileFormat) -> FileFormat:
    """Make ``fmt`` known to Import and Export (by its name and its extensions)."""
    FILE_FORMATS[fmt.name.upper()] = fmt
    return fmt


def _by_extension(name: str) -> FileFormat | None:
    load_lazy()   # the net-file and picture formats register when their modules load
    suffix = Path(name).suffix.lower()
    for fmt in FILE_FORMATS.values():
        if suffix in fmt.extensions:
            return fmt
    return None


def _known(fn: str) -> list[FileFormat]:
    able = "read" if fn == "Import" else "write"
    load_lazy()
    return [f for f in FILE_FORMATS.values() if getattr(f, able) is not None and f.listed]


def _extension_list(fn: str) -> str:
    exts = [e for f in _known(fn) for e in f.extensions]
    return ", ".join(exts[:-1]) + " and " + exts[-1] if len(exts) > 1 else "".join(exts)


def _format_of(name: str, fn: str) -> FileFormat:
    fmt = _by_extension(name)
    if fmt is None or getattr(fmt, "read" if fn == "Import" else "write") is None:
        ext = Path(name).suffix.lstrip(".").upper() or "(no extension)"
        verb = "reads" if fn == "Import" else "writes"
        hint = ""
        if ext in ("WLNET", "MX", "WXF"):   # Wolfram's binary files, common in net code
            hint = (" (a Wolfram binary file: netdsl saves a net as a .safetensors net "
                    "file, or as text with .wl)")
        raise EvaluationError(f"{ext} is not a supported {fn} format{hint}; netdsl {verb} "
                              f"{_extension_list(fn)} files.", symbol=fn, tag="fmtnosup")
    return fmt


def _named_format(given: str) -> FileFormat | None:
    """A format named explicitly ("CSV", "NPY", ...), or None if ``given`` is not one."""
    load_lazy()
    return FILE_FORMATS.get(given.upper())


# ---------------------------------------------------------------- the file gate
def require_files(ev, fn: str) -> None:
    """Refuse ``fn`` when the session has file access turned off (Session.require_files)."""
    host = ev.host
    if host is not None and hasattr(host, "require_files"):
        host.require_files(fn)


def may_write(ev, fn: str, name: str, call: Any = None) -> bool:
    """Whether ``fn`` may write ``name`` now; ``netdsl check`` answers no and notes it."""
    require_files(ev, fn)
    host = ev.host
    if host is not None and getattr(host, "shape_only", False):
        note = getattr(host, "note", None)
        if note is not None:
            note(f"would write {name}", getattr(call, "span", None))
        return False
    return True


def shape_only(ev) -> bool:
    return bool(getattr(ev.host, "shape_only", False))


# ---------------------------------------------------------------- paths
def _base_dir(ev) -> Path | None:
    base = getattr(ev.host, "base_dir", None)
    return None if base is None else Path(base)


def input_path(ev, name: str) -> Path:
    path = Path(name).expanduser()
    base = _base_dir(ev)
    if not path.is_absolute() and base is not None and (base / path).exists():
        return base / path
    return path


def output_path(ev, name: str) -> Path:
    path = Path(name).expanduser()
    base = _base_dir(ev)
    return base / path if not path.is_absolute() and base is not None else path


# ---------------------------------------------------------------- Import
@builtin("Import", ('Import["file.csv"]', 'Import["file.tsv"]', 'Import["file.npy"]',
                    'Import["file.npz"]', 'Import["net.safetensors"]',
                    'Import["file.safetensors", "Net" | "UninitializedNet" | "ArrayAssociation"]',
                    'Import["model.onnx"]',
                    'Import["model.onnx", "Net" | "UninitializedNet" | "ArrayAssociation"]',
                    'Import["file.txt"]', 'Import["file.txt", "Lines"]', 'Import[file, "Data"]'),
         "reads a file: .txt as one string (\"Lines\": a list of lines), CSV/TSV as a list "
         "of rows (packed when all numeric), .npy as an "
         "array, .npz as an association name -> array, a netdsl .safetensors file as its net "
         "(any other as an association name -> array), an ONNX model (.onnx, with the onnx "
         "extra) as a net; sizes are checked against the memory budget before reading; "
         "netdsl check reads only dimensions; an error when file access is off (--no-files)",
         args=(1, 2), section="Files")
def _import(ev, name, element="Data"):
    call = Expr(S("Import"), name, element)
    if not isinstance(name, str):
        raise wrong_call("Import", call, f"{input_form(name)} is not a file name (a string)")
    if not isinstance(element, str):
        raise wrong_call("Import", call, f"{input_form(element)} is not an element name")
    require_files(ev, "Import")
    fmt = _named_format(element) or _format_of(name, "Import")
    chosen = "Automatic" if element == "Data" or element.upper() == fmt.name.upper() \
        else element
    if chosen != "Automatic" and chosen not in fmt.elements:
        raise EvaluationError(f"The Import element \"{element}\" is not present when importing "
                              f"as {fmt.name}.", symbol="Import", tag="noelem")
    if fmt.read is None:
        raise EvaluationError(f"netdsl cannot read {fmt.name} files.", symbol="Import",
                              tag="fmtnosup")
    path = input_path(ev, name)
    if not path.is_file():
        raise EvaluationError(f"File {name} not found during Import.", symbol="Import",
                              tag="nffil")
    read = fmt.shape if shape_only(ev) and fmt.shape is not None else fmt.read
    try:
        return read(ev, path, name, chosen)
    except UnicodeDecodeError:
        raise EvaluationError(f"{name} is not a UTF-8 text file, so it cannot be read as "
                              f"{fmt.name}.", symbol="Import", tag="fmterr") from None
    except MemoryError:
        raise EvaluationError(f"Not enough memory to import {name}.", symbol="Import",
                              tag="nomem") from None
    except OSError as e:
        raise EvaluationError(f"Cannot open {name}: {e.strerror or e}.", symbol="Import",
                              tag="noopen") from None


# ---------------------------------------------------------------- Export
@builtin("Export", ('Export["file.csv", data]', 'Export["file.tsv", data]',
                    'Export["file.npy", array]',
                    'Export["file.npz", <|"name" -> array, ...|>]', 'Export["net.safetensors", net]',
                    'Export["net.onnx", net]', 'Export["file.wl", expr]', 'Export["file.txt", text]',
                    'Export["net.svg", net]', 'Export["net.dot", net]', 'Export["loss.png", plot]',
                    'Export[file, data, "format"]'),
         "writes data to a file (format from the extension) and gives the file name: data "
         "files, a net with its arrays (.safetensors), an ONNX model (.onnx; option "
         "\"OperatorSetVersion\" -> 17), netdsl text (.wl), text (.txt: a string, or a list "
         "one element per line), a net's diagram (.svg, .dot), "
         "a loss plot (.png); netdsl check writes nothing "
         "and notes \"would write file\"; an error when file access is off (--no-files)",
         args=(2, 3), options={"OperatorSetVersion": 17}, section="Files", wants_call=True)
def _export(ev, name, data, given=None, *, opts, call):
    if not isinstance(name, str):
        raise wrong_call("Export", call, f"{input_form(name)} is not a file name (a string)")
    require_files(ev, "Export")
    fmt = _named_format(given) if isinstance(given, str) else None
    if given is not None and (fmt is None or fmt.write is None):
        names = ", ".join(f.name for f in _known("Export"))
        raise EvaluationError(f"{input_form(given)} is not a supported Export format; netdsl "
                              f"writes {names}.", symbol="Export", tag="fmtnosup")
    fmt = fmt or _format_of(name, "Export")
    assert fmt.write is not None
    if not may_write(ev, "Export", name, call):
        return name
    try:
        fmt.write(ev, output_path(ev, name), data, name, opts)
    except MemoryError:
        raise EvaluationError(f"Not enough memory to export {name}.", symbol="Export",
                              tag="nomem") from None
    except OSError:
        raise EvaluationError(f"Cannot open {name}.", symbol="Export", tag="noopen") from None
    return name


# ---------------------------------------------------------------- Put, PutAppend
def _put(ev, fn: str, args: tuple, mode: str) -> Any:
    """``Put[e1, e2, ..., "file"]``: each expression's InputForm on a line of its own, as
    Get reads it back; ``mode`` "w" (Put) or "a" (PutAppend)."""
    *exprs, name = args
    call = Expr(S(fn), *args)
    if not isinstance(name, str):
        raise wrong_call(fn, call, f"{input_form(name)} is not a file name (a string)")
    if not may_write(ev, fn, name, call):
        return Null
    text = "".join(input_form(e) + "\n" for e in exprs)
    try:
        with open(output_path(ev, name), mode, encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise EvaluationError(f"Cannot open {name}: {e.strerror or e}.", symbol=fn,
                              tag="noopen") from None
    return Null


@builtin("Put", ('expr >> "file"', 'Put[expr1, expr2, ..., "file"]'),
         "writes the expressions to a file as netdsl text (InputForm, one per line), replacing "
         "it; Get (<<) reads it back; netdsl check writes nothing and notes \"would write "
         "file\"; an error when file access is off (--no-files)", args=(1, None),
         section="Files")
def _put_fn(ev, *args):
    return _put(ev, "Put", args, "w")


@builtin("PutAppend", ('expr >>> "file"', 'PutAppend[expr1, expr2, ..., "file"]'),
         "appends the expressions to a file as netdsl text (InputForm, one per line)",
         args=(1, None), section="Files")
def _put_append_fn(ev, *args):
    return _put(ev, "PutAppend", args, "a")


# ---------------------------------------------------------------- netdsl text
def _read_wl(ev, path: Path, name: str, element: str) -> Any:
    raise EvaluationError(f"Get[\"{name}\"] reads netdsl text and evaluates it.",
                          symbol="Import", tag="useget")


def _write_wl(ev, path: Path, data: Any, name: str, opts: dict) -> None:
    path.write_text(input_form(data) + "\n", encoding="utf-8")


register_format(FileFormat("WL", (".wl",), read=_read_wl, write=_write_wl, listed=False))
