"""The ``netdsl`` command.

    netdsl FILE.wl        evaluate a file, printing Out[n]= for each shown result
    netdsl -c 'EXPR'      evaluate one string
    netdsl check FILE.wl  check shapes without running anything (netdsl.check)
    netdsl                the REPL (a plain line loop when stdin is not a terminal)
    --no-files            file access off: Import, Export, Get... are errors (untrusted files)

Output never fails on the terminal's side: a reader that goes away (``netdsl f.wl |
head -1``) stops the run quietly, and characters the terminal's encoding cannot show
are written as escapes. Python warnings are shown as netdsl messages, never as such.

Exit status: 0 on success, 1 for a netdsl error (syntax or evaluation), the
code given to ``Quit[code]``, 2 for a usage problem (missing file) or an
internal error, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
import warnings
from typing import TextIO

from .version import __version__
from .errors import NetDSLError, QuitRequest
from .messages import write_text
from .repl import for_terminal, format_out, internal_error_line
from .runtime.memory import tune_malloc
from .session import Session

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="netdsl",
        description="Evaluate Wolfram-Language neural-net specs with NumPy.",
        epilog="netdsl check FILE.wl: check a file's nets and shapes without running them. "
               "netdsl lsp: the language server for editors (stdio). "
               "With no FILE and no -c, starts the REPL.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("file", nargs="?", metavar="FILE.wl", help="a file to evaluate")
    src.add_argument("-c", dest="command", metavar="EXPR", help="evaluate EXPR")
    p.add_argument("--debug", action="store_true",
                   help="show Python tracebacks for internal errors")
    _no_files_option(p)
    p.add_argument("--version", action="version", version=f"netdsl {__version__}")
    return p


def _no_files_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-files", dest="files", action="store_false",
                   help="turn file access off (Import, Export, ... are errors): for files "
                        "you have not read")


def _check_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="netdsl check",
        description="Check a file's nets and shapes without allocating any array.")
    p.add_argument("file", metavar="FILE.wl")
    p.add_argument("--strict", action="store_true",
                   help="treat warnings (unknown or unsupported functions) as errors")
    p.add_argument("--debug", action="store_true",
                   help="show Python tracebacks for internal errors")
    _no_files_option(p)
    return p


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit status when argparse is done (--help, --version, usage)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    if argv is None:   # the program itself (not a caller in its own process): see below
        _freeze_start_up()
    argv = list(sys.argv[1:] if argv is None else argv)
    tune_malloc()   # a process of our own: keep freed activation buffers (runtime/memory.py)
    _setup_terminal()
    try:
        code = _main(argv)
        sys.stdout.flush()   # here, not at exit, so that a closed pipe is caught below
        return code
    except BrokenPipeError:
        _reader_gone()
        return EXIT_ERROR
    except KeyboardInterrupt:
        _flush(sys.stdout)
        sys.stderr.write("Interrupted\n")
        return EXIT_INTERRUPTED


def _freeze_start_up() -> None:
    """The objects made by importing (NumPy, Lark, netdsl) live as long as the process:
    moved to the garbage collector's permanent generation, neither later full collections
    nor the one at interpreter exit traverse them again. Exit alone took ~25 ms of
    ``netdsl -c 1``; a short ``netdsl check`` also skips a 10-20 ms full collection
    (start-up, issue 14). Only for the program's own process: frozen objects are never
    freed, so a caller's garbage must not be frozen."""
    gc.freeze()


def _setup_terminal() -> None:
    """Our own process: output never fails on encoding, and no Python warning is shown
    (evaluation turns the numeric ones into messages: netdsl.messages)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass
    try:
        if not sys.stdin.isatty():  # piped input is netdsl text, which is UTF-8 as files are
            sys.stdin.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        pass
    warnings.simplefilter("ignore")


def _utf8_argument(text: str) -> str:
    """A command-line argument as UTF-8 text, as files are read, whatever the locale (under
    ``LANG=C`` Python hands non-ASCII argument bytes over as escapes)."""
    try:
        return os.fsencode(text).decode("utf-8")
    except UnicodeDecodeError:
        return os.fsencode(text).decode("utf-8", "replace")


def _reader_gone() -> None:
    """The reader of our output went away (``netdsl f.wl | head``): stop quietly, and
    let Python's final flush of stdout go nowhere instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass


def _main(argv: list[str]) -> int:
    leading_debug = 0
    while leading_debug < len(argv) and argv[leading_debug] == "--debug":
        leading_debug += 1
    if leading_debug < len(argv) and argv[leading_debug] == "check":
        args = _parse(_check_parser(), argv[:leading_debug] + argv[leading_debug + 1:])
        if isinstance(args, int):
            return args
        return _guarded(lambda: _check(args.file, args.strict, args.files), args.debug)

    if leading_debug < len(argv) and argv[leading_debug] == "lsp":
        return _guarded(_lsp, bool(leading_debug))

    args = _parse(_parser(), argv)
    if isinstance(args, int):
        return args
    if args.command is not None:
        session = Session(interactive=True, files=args.files)
        text = _utf8_argument(args.command)
        return _guarded(lambda: run_text(text, None, session), args.debug)
    if args.file is not None:
        return _guarded(lambda: run_file(args.file, args.files), args.debug)
    from .repl import main_loop  # noqa: PLC0415
    return main_loop(debug=args.debug, files=args.files)


def _lsp() -> int:
    """``netdsl lsp``: the language server on stdin/stdout."""
    try:
        from .lsp.server import main as lsp_main  # noqa: PLC0415
    except ImportError as e:
        sys.stderr.write(f"netdsl lsp needs pygls, which is not installed ({e.name or e}); "
                         f"install it with: pip install 'netdsl[lsp]'\n")
        return EXIT_USAGE
    return lsp_main()


def _guarded(fn, debug: bool) -> int:
    """Run ``fn``; a Python exception that escapes is a bug: one line (or a traceback)."""
    try:
        return fn()
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as e:  # noqa: BLE001
        _flush(sys.stdout)
        if debug:
            traceback.print_exc()
        sys.stderr.write(internal_error_line(e) + "\n")
        return EXIT_USAGE


def _check(path: str, strict: bool = False, files: bool = True) -> int:
    from .check import run_check  # noqa: PLC0415
    return run_check(path, sys.stdout, sys.stderr, strict=strict, files=files)


def read_source(path: str) -> str | None:
    """The text of ``path``, or None after printing why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except IsADirectoryError:
        reason = "is a directory"
    except FileNotFoundError:
        reason = "no such file"
    except OSError as e:
        reason = e.strerror or str(e)
    except UnicodeDecodeError as e:
        reason = f"not UTF-8 text (byte {e.start})"
    sys.stderr.write(f"netdsl: cannot read {path!r}: {reason}\n")
    return None


def run_file(path: str, files: bool = True) -> int:
    text = read_source(path)
    if text is None:
        return EXIT_USAGE
    session = Session(interactive=True, files=files)
    session.base_dir = os.path.dirname(os.path.abspath(path))
    return run_text(text, path, session)


def run_text(text: str, source: str | None, session: Session,
             out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Evaluate ``text`` top to bottom (all of it is parsed first), printing
    ``Out[n]=`` for each shown result. Stops at the first error."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if session.stderr is None:
        session.stderr = err
    try:
        for result in session.run(text, source):
            if result.shown:
                write_text(out, format_out(result.line, result.value) + "\n")
    except NetDSLError as e:
        _flush(out)
        msg = e.render()
        if e.span is None:
            msg = f"{source or '<input>'}: {msg}"
        write_text(err, for_terminal(msg, err) + "\n")
        return EXIT_ERROR
    except QuitRequest as q:
        _flush(out)
        return q.code
    return 0


def _flush(stream: TextIO) -> None:
    try:
        stream.flush()
    except (OSError, ValueError):
        pass
