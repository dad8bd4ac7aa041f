"""Text file streams, as Wolfram code writes logs and reads lists: OpenWrite, OpenAppend,
OpenRead, WriteString, WriteLine, Write, Read, ReadLine, ReadList, ReadString, Close,
Streams.

Why streams at all: Wolfram training scripts log from TrainingProgressFunction with
``s = OpenWrite["log.txt"]; ... WriteString[s, ...]; Close[s]``, and read data with
``ReadList["x.txt", Number]``. A stream is an ``OutputStream["name", k]`` or
``InputStream["name", k]`` atom; the open files live with the evaluator (one table per
session; Close[s] closes one).

Every open asks the file gate (``io.require_files``); ``netdsl check`` opens no file for
writing: it notes ``would write NAME`` and gives a stream whose writes go nowhere.
``Read[s, Expression]`` and ``ReadList`` parse text with netdsl's own parser (never
Python's ``eval``). Whole-file reads are refused above the memory budget.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import IO, Any

from .. import budget
from ..errors import EvaluationError, NetDSLError
from ..expr import Expr, Null, Opaque, Symbol, input_form, is_integer, is_list, list_items, \
    make_list, output_form
from ..printer import short
from ..syntax.parser import parse_statements
from .io import input_path, may_write, output_path, require_files
from .registry import builtin, wrong_call

S = Symbol
EndOfFile = S("EndOfFile")
EXPRESSION = S("Expression")   # what Read and ReadList read unless told


class Stream(Opaque):
    """An open (or closed) file: ``OutputStream["log.txt", 3]``."""

    def __init__(self, kind: str, name: str, number: int, handle: IO[str] | None):
        self.kind, self.name, self.number, self.handle = kind, name, number, handle
        self.head_name = kind

    def input_form(self) -> str:
        return f"{self.kind}[{input_form(self.name)}, {self.number}]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and (self.kind, self.number) == (other.kind,
                                                                         other.number)

    def __hash__(self) -> int:
        return hash((self.kind, self.number))


def _table(ev) -> dict[int, Stream]:
    """The evaluator's open streams, by number (numbers are never reused)."""
    table = ev.__dict__.setdefault("_streams", {})
    ev.__dict__.setdefault("_stream_count", 2)   # Wolfram's 1 and 2 are stdout and stderr
    return table


def _open(ev, kind: str, fn: str, name: Any, mode: str, call: Any) -> Stream:
    if not isinstance(name, str) or not name:
        raise wrong_call(fn, call, f"{short(name)} is not a file name")
    table = _table(ev)
    ev._stream_count += 1
    number = ev._stream_count
    if kind == "OutputStream":
        if not may_write(ev, fn, name, call):      # netdsl check: nothing is written
            handle = None
        else:
            handle = _file(fn, output_path(ev, name), mode, name)
    else:
        require_files(ev, fn)
        handle = _file(fn, input_path(ev, name), "r", name)
    stream = Stream(kind, name, number, handle)
    table[number] = stream
    return stream


def _file(fn: str, path: Any, mode: str, name: str) -> IO[str]:
    try:
        return open(path, mode, encoding="utf-8", newline="")
    except OSError as e:
        tag = "noopen"
        raise EvaluationError(f"Cannot open {name}: {e.strerror or e}.", symbol=fn,
                              tag=tag) from None


def _stream(ev, x: Any, fn: str, call: Any, kind: str, mode: str = "w") -> Stream:
    """The open stream ``x`` names: a stream, or a file name (an open stream of that name,
    else a new one, as Wolfram's WriteString["file", ...] opens the file once)."""
    if isinstance(x, Stream):
        if x.number not in _table(ev):
            raise EvaluationError(f"{input_form(x)} is not open.", symbol="General",
                                  tag="openx")
        if x.kind != kind:
            raise wrong_call(fn, call, f"{input_form(x)} is an {x.kind}, not an {kind}")
        return x
    if isinstance(x, str):
        for s in _table(ev).values():
            if s.kind == kind and s.name == x:
                return s
        return _open(ev, kind, fn, x, mode, call)
    raise wrong_call(fn, call, f"{short(x)} is not a stream or a file name")


# ---------------------------------------------------------------- opening and closing
@builtin("OpenWrite", ('OpenWrite["file"]', "OpenWrite[]"),
         "opens a file for writing (emptied; OpenWrite[] a new temporary file): an "
         "OutputStream", args=(0, None), section="Files")
def _open_write(ev, name=None, *opts):
    call = Expr(S("OpenWrite"), *([] if name is None else [name]), *opts)
    if name is None:
        fd, name = tempfile.mkstemp(prefix="netdsl-", suffix=".txt")
        os.close(fd)
    return _open(ev, "OutputStream", "OpenWrite", name, "w", call)


@builtin("OpenAppend", 'OpenAppend["file"]', "opens a file for writing at its end: an "
         "OutputStream", args=(1, None), section="Files")
def _open_append(ev, name, *opts):
    return _open(ev, "OutputStream", "OpenAppend", name, "a",
                 Expr(S("OpenAppend"), name, *opts))


@builtin("OpenRead", 'OpenRead["file"]', "opens a file for reading: an InputStream",
         args=(1, None), section="Files")
def _open_read(ev, name, *opts):
    return _open(ev, "InputStream", "OpenRead", name, "r", Expr(S("OpenRead"), name, *opts))


@builtin("Close", ("Close[stream]", 'Close["file"]'),
         "closes the stream (or the stream open on that file); gives the file name",
         args=1, section="Files")
def _close(ev, x):
    table = _table(ev)
    found = [s for s in table.values()
             if s == x or (isinstance(x, str) and s.name == x)] if x is not None else []
    if not found:
        raise EvaluationError(f"{short(x)} is not open.", symbol="General", tag="openx")
    for s in found:
        if s.handle is not None:
            s.handle.close()
        del table[s.number]
    return found[0].name


@builtin("Streams", ("Streams[]", 'Streams["file"]'), "the open streams (on that file)",
         args=(0, 1), section="Files")
def _streams(ev, name=None):
    return make_list([s for s in _table(ev).values() if name is None or s.name == name])


# ---------------------------------------------------------------- writing
def _write(ev, fn: str, target: Any, text: str, call: Any) -> Any:
    s = _stream(ev, target, fn, call, "OutputStream")
    if s.handle is not None:
        s.handle.write(text)
        s.handle.flush()    # a log is read while training runs
    return Null


def _text(x: Any) -> str:
    return x if isinstance(x, str) else output_form(x)


@builtin("WriteString", "WriteString[stream, e1, e2, ...]",
         "writes the strings (other expressions as they print) with no newline",
         args=(1, None), section="Files")
def _write_string(ev, target, *xs):
    return _write(ev, "WriteString", target, "".join(_text(x) for x in xs),
                  Expr(S("WriteString"), target, *xs))


@builtin("WriteLine", "WriteLine[stream, \"text\"]", "writes the text and a newline",
         args=2, section="Files")
def _write_line(ev, target, x):
    return _write(ev, "WriteLine", target, _text(x) + "\n", Expr(S("WriteLine"), target, x))


@builtin("Write", "Write[stream, e1, e2, ...]",
         "writes the expressions in InputForm, one after another, then a newline",
         args=(1, None), section="Files")
def _write_exprs(ev, target, *xs):
    return _write(ev, "Write", target, "".join(input_form(x) for x in xs) + "\n",
                  Expr(S("Write"), target, *xs))


# ---------------------------------------------------------------- reading
_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:(?:[eE]|\*\^)[-+]?\d+)?)")
_WORD = re.compile(r"\s*(\S+)")


def _rest(s: Stream, fn: str) -> str:
    """What is left to read of an input stream (as one string, within the budget)."""
    assert s.handle is not None
    here = s.handle.tell()
    s.handle.seek(0, os.SEEK_END)
    size = s.handle.tell() - here
    s.handle.seek(here)
    budget.check_bytes(4 * size, f"the text {fn} reads from {s.name}")
    return s.handle.read()


def _number(token: str) -> Any:
    token = token.replace("*^", "e")
    if re.fullmatch(r"[-+]?\d+", token):
        return int(token)
    return float(token)


def _read_one(ev, s: Stream, kind: Any, call: Any) -> Any:
    """One item of type ``kind`` from ``s``, or EndOfFile."""
    assert s.handle is not None
    if is_list(kind):
        items = [_read_one(ev, s, k, call) for k in list_items(kind)]
        return EndOfFile if items and all(i is EndOfFile for i in items) else make_list(items)
    name = kind.name if isinstance(kind, Symbol) else None
    if name in ("String", "Record"):
        line = s.handle.readline()
        if line == "":
            return EndOfFile
        return line.rstrip("\r\n")
    if name == "Character":
        c = s.handle.read(1)
        return EndOfFile if c == "" else c
    if name in ("Number", "Real", "Integer", "Word"):
        here = s.handle.tell()
        line = s.handle.readline()
        while line != "" and not line.strip():
            here = s.handle.tell()
            line = s.handle.readline()
        if line == "":
            return EndOfFile
        pattern = _WORD if name == "Word" else _NUMBER
        m = pattern.match(line)
        if m is None:
            raise EvaluationError(f"Invalid {name} found at the start of "
                                  f"{short(line.strip(), 40)} in {s.name}.", symbol="Read",
                                  tag="readn")
        s.handle.seek(here)
        s.handle.read(len(line[:m.end()]))   # text mode: seek by reading what was used
        value = m.group(1) if name == "Word" else _number(m.group(1))
        return float(value) if name == "Real" else value
    if name == "Expression":
        text = ""
        while True:
            line = s.handle.readline()
            if line == "":
                if not text.strip():
                    return EndOfFile
                break
            text += line
            if text.strip() and _complete(text):
                break
        result: Any = Null
        for expr, _span in parse_statements(text, s.name):
            result = ev.evaluate(ev.read(expr))
        return result
    raise wrong_call("Read", call, f"{short(kind)} is not a type Read knows (String, Record, "
                                   f"Number, Real, Integer, Word, Character, Expression, or "
                                   f"a list of them)")


def _complete(text: str) -> bool:
    """Whether ``text`` parses as whole expressions (a multi-line one is read on)."""
    try:
        parse_statements(text, None)
        return True
    except NetDSLError:
        return False


@builtin("Read", ("Read[stream]", "Read[stream, type]", "Read[stream, {type1, type2, ...}]"),
         "the next item: an Expression (default), String or Record (a line), Number, Real, "
         "Integer, Word, Character; EndOfFile at the end", args=(1, 2), section="Files")
def _read(ev, target, kind=None):
    kind = EXPRESSION if kind is None else kind
    call = Expr(S("Read"), target, kind)
    return _read_one(ev, _stream(ev, target, "Read", call, "InputStream", "r"), kind, call)


@builtin("ReadLine", ("ReadLine[stream]", 'ReadLine["file"]'),
         "the next line, without its newline; EndOfFile at the end", args=1, section="Files")
def _read_line(ev, target):
    call = Expr(S("ReadLine"), target)
    return _read_one(ev, _stream(ev, target, "ReadLine", call, "InputStream", "r"),
                     S("String"), call)


@builtin("ReadList", ('ReadList["file"]', 'ReadList["file", type]', 'ReadList["file", type, n]',
                      "ReadList[stream, type]"),
         "every item (at most n) of the file: Expressions by default, or String, Number, "
         "Word, ... (as Read); a file name is opened and closed again", args=(1, 3),
         section="Files")
def _read_list(ev, target, kind=None, n=None):
    kind = EXPRESSION if kind is None else kind
    call = Expr(S("ReadList"), target, kind, *([] if n is None else [n]))
    if n is not None and not (is_integer(n) and n >= 0):
        raise wrong_call("ReadList", call, f"{short(n)} is not a count of items")
    opened = isinstance(target, str)
    s = _open(ev, "InputStream", "ReadList", target, "r", call) if opened else \
        _stream(ev, target, "ReadList", call, "InputStream", "r")
    try:
        if s.handle is not None:
            budget.check_bytes(4 * os.fstat(s.handle.fileno()).st_size,
                               f"the items ReadList reads from {s.name}")
        out = []
        while n is None or len(out) < n:
            item = _read_one(ev, s, kind, call)
            if item is EndOfFile:
                break
            out.append(item)
        return make_list(out)
    finally:
        if opened:
            _close(ev, s)


@builtin("ReadString", ('ReadString["file"]', "ReadString[stream]"),
         "the whole file (the rest of the stream) as one string", args=1, section="Files")
def _read_string(ev, target):
    call = Expr(S("ReadString"), target)
    opened = isinstance(target, str)
    s = _open(ev, "InputStream", "ReadString", target, "r", call) if opened else \
        _stream(ev, target, "ReadString", call, "InputStream", "r")
    try:
        text = _rest(s, "ReadString")
        return EndOfFile if text == "" and not opened else text
    finally:
        if opened:
            _close(ev, s)
