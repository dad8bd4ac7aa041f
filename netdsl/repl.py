"""The interactive loop: ``In[n]:=`` prompts, multi-line input, history, Ctrl-C.

``Repl`` holds the state of one session's input (the lines typed so far that
do not yet make a complete expression) and does all evaluation and printing;
it knows nothing about terminals, so tests drive it with ``feed_line``. Two
front ends feed it:

* ``run_terminal``: prompt_toolkit, with history in ``~/.netdsl_history``
  (or ``$NETDSL_HISTORY``) and Enter that only submits complete input;
* ``run_plain``: a line-reading loop for piped stdin, with no prompts.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
import traceback
from typing import Any, TextIO

from .errors import NetDSLError, ParseError, QuitRequest, wrap_message
from .expr import output_form
from .help import answer as help_answer
from .help import completions, session_symbols
from .messages import write_text
from .session import Session
from .syntax import parse_statements
from .version import __version__

HISTORY_ENV = "NETDSL_HISTORY"
_WORD = re.compile(r"[A-Za-z$][A-Za-z0-9$]*")


def history_path() -> str:
    """Where the REPL keeps its history: ``$NETDSL_HISTORY`` or ``~/.netdsl_history``."""
    return os.environ.get(HISTORY_ENV) or os.path.join(os.path.expanduser("~"),
                                                       ".netdsl_history")


def format_out(n: int, value: Any) -> str:
    """``Out[n]= value``; the lines of a multi-line value line up under its first line."""
    prefix = f"Out[{n}]= "
    lines = output_form(value).split("\n")
    return ("\n" + " " * len(prefix)).join([prefix + lines[0], *lines[1:]])


def internal_error_line(exc: BaseException) -> str:
    """The one line shown for a Python exception that is a bug in netdsl."""
    text = textwrap.shorten(" ".join(str(exc).split()), 300, placeholder=" ...")
    return f"netdsl: internal error: {type(exc).__name__}: {text} (please report)"


def for_terminal(text: str, stream: Any) -> str:
    """A message as written to ``stream``: on a terminal, wrapped at word boundaries to its
    width (so the terminal never breaks a word); elsewhere unchanged, one line a message."""
    if not _isatty(stream):
        return text
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        width = shutil.get_terminal_size().columns
    return wrap_message(text, width)


def is_incomplete(text: str) -> bool:
    """True when ``text`` is a valid start that more input could complete (``{1,``)."""
    try:
        parse_statements(text)
    except ParseError as e:
        return e.incomplete
    except Exception:  # noqa: BLE001  (a parser bug: submit, and let feed_line report it)
        return False
    return False


class Repl:
    """One REPL session's input state, evaluation and printing.

    ``feed_line`` takes a line (or several) of input and returns True while
    the text so far is incomplete. Results go to ``out`` as ``Out[n]= ...``;
    messages go to ``err``. ``Quit[]`` sets ``quit_code``.
    """

    def __init__(self, session: Session | None = None, *, out: TextIO | None = None,
                 err: TextIO | None = None, debug: bool = False, spacing: bool = False):
        self.session = session if session is not None else Session(interactive=True)
        self._out = out
        self._err = err
        if err is not None and self.session.stderr is None:
            self.session.stderr = err  # messages such as Power::infy go with the errors
        if out is not None and self.session.stdout is None:
            self.session.stdout = out  # Print and Echo output in order with Out[n]
        if err is not None and self.session.stderr is None:
            self.session.stderr = err  # messages (General::ovfl, ...) with the errors
        self.debug = debug
        self.spacing = spacing      # blank lines around outputs, as Wolfram's terminal does
        self.lines: list[str] = []  # incomplete input so far
        self.quit_code: int | None = None
        self.errors = 0

    # ------------------------------------------------------------- streams
    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err if self._err is not None else sys.stderr

    def _write(self, text: str) -> None:
        if self.spacing:
            text = "\n" + text + "\n"
        write_text(self.out, text + "\n")

    def _message(self, text: str) -> None:
        self.out.flush()
        write_text(self.err, for_terminal(text, self.err) + ("\n\n" if self.spacing else "\n"))

    def _error(self, text: str) -> None:
        self.errors += 1
        self._message(text)

    def _internal(self, exc: BaseException) -> None:
        if self.debug:
            self.out.flush()
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=self.err)
        self._error(internal_error_line(exc))

    # ------------------------------------------------------------- prompts
    @property
    def pending(self) -> bool:
        """True while some incomplete input is waiting for more lines."""
        return bool(self.lines)

    @property
    def done(self) -> bool:
        return self.quit_code is not None

    def prompt(self) -> str:
        return f"In[{self.session.line}]:= "

    def continuation_prompt(self) -> str:
        return "...".rjust(len(self.prompt()) - 1) + " "

    def current_prompt(self) -> str:
        return self.continuation_prompt() if self.pending else self.prompt()

    # ------------------------------------------------------------- input
    def cancel(self) -> None:
        """Drop the incomplete input (Ctrl-C at the prompt)."""
        self.lines.clear()

    def feed_line(self, line: str) -> bool:
        """Add input; evaluate it once it is complete. True means: more input needed."""
        if self.done:
            return False
        if not self.lines and line.lstrip().startswith("?"):
            self._write(help_answer(line))       # ?Name, ??Name, ?Na*
            return False
        self.lines.append(line.rstrip("\r\n"))
        text = "\n".join(self.lines)
        try:
            statements = parse_statements(text)
        except ParseError as e:
            if e.incomplete:
                return True
            self.lines.clear()
            self._error(e.render())
            return False
        except KeyboardInterrupt:
            self.lines.clear()
            self._message("Interrupted")
            return False
        except BrokenPipeError:
            raise  # the reader of our output went away: the command line ends quietly
        except Exception as e:  # noqa: BLE001
            self.lines.clear()
            self._internal(e)
            return False
        self.lines.clear()
        self._evaluate(statements)
        return False

    def finish(self) -> None:
        """End of input: report text that was never completed."""
        if not self.lines:
            return
        text = "\n".join(self.lines)
        self.lines.clear()
        try:
            parse_statements(text)
        except ParseError as e:
            self._error(e.render())
        except BrokenPipeError:
            raise  # the reader of our output went away: the command line ends quietly
        except Exception as e:  # noqa: BLE001
            self._internal(e)

    def _evaluate(self, statements: list) -> None:
        for expr, span in statements:
            try:
                result = self.session.evaluate_expr(expr, span)
                if result.shown:
                    self._write(format_out(result.line, result.value))
            except NetDSLError as e:
                self._error(e.render())
                return
            except QuitRequest as q:
                self.quit_code = q.code
                return
            except KeyboardInterrupt:
                self._message("Interrupted")
                return
            except BrokenPipeError:
                raise
            except Exception as e:  # noqa: BLE001  (never let a bug end the session)
                self._internal(e)
                return


# ---------------------------------------------------------------- front ends
def run_plain(repl: Repl, stdin: TextIO | None = None, *, prompts: bool = False) -> int:
    """Read lines until end of input. Exit status: Quit's code, else 1 if any input
    failed, else 0. Ctrl-C during an evaluation prints ``Interrupted`` and goes on;
    while waiting for piped input it ends the loop with 130 (with ``prompts``, for
    a terminal without prompt_toolkit, it drops the input line instead)."""
    stdin = stdin if stdin is not None else sys.stdin
    while not repl.done:
        try:
            if prompts:
                repl.out.write(repl.current_prompt())
                repl.out.flush()
            line = stdin.readline()
        except KeyboardInterrupt:
            repl.cancel()
            if prompts:  # someone is typing: drop the input and prompt again
                repl.out.write("\n")
                continue
            repl._message("Interrupted")
            return 130
        if not line:
            break
        try:
            repl.feed_line(line)
        except KeyboardInterrupt:
            repl.cancel()
            repl._message("Interrupted")
    if not repl.done:
        repl.finish()
    if repl.quit_code is not None:
        return repl.quit_code
    return 1 if repl.errors else 0


def _history(path: str):
    """prompt_toolkit's FileHistory, but a history file that cannot be written is not fatal."""
    from prompt_toolkit.history import FileHistory  # noqa: PLC0415

    class _History(FileHistory):
        def load_history_strings(self):
            try:
                yield from super().load_history_strings()
            except (OSError, UnicodeDecodeError):
                return

        def store_string(self, string: str) -> None:
            try:
                super().store_string(string)
            except OSError:
                pass

    return _History(path)


def run_terminal(repl: Repl) -> int:
    """The interactive REPL on a terminal. Enter submits complete input and starts a
    continuation line in incomplete input; Ctrl-C drops the input; Ctrl-D exits."""
    from prompt_toolkit import PromptSession  # noqa: PLC0415
    from prompt_toolkit.key_binding import KeyBindings  # noqa: PLC0415

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event) -> None:
        buffer = event.current_buffer
        if is_incomplete(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    def continuation(width: int, line_number: int, wrap_count: int) -> str:
        return "...".rjust(max(width - 1, 3)) + " "

    session: PromptSession[str] = PromptSession(
        history=_history(history_path()), multiline=True, key_bindings=bindings,
        prompt_continuation=continuation, enable_history_search=False,
        lexer=_lexer(), completer=Completer(repl), complete_while_typing=False)
    repl.out.write(f"netdsl {__version__}. Quit[] or Ctrl-D to exit.\n")
    repl.out.flush()
    while not repl.done:
        try:
            text = session.prompt(repl.current_prompt())
        except KeyboardInterrupt:
            repl.cancel()  # Ctrl-C at the prompt: drop the input, prompt again
            continue
        except EOFError:
            break
        try:
            repl.feed_line(text)
        except KeyboardInterrupt:
            repl.cancel()
            repl._message("Interrupted")
    return repl.quit_code if repl.quit_code is not None else 0


def _lexer():
    """Syntax highlighting with Pygments' Mathematica lexer (Pygments comes with
    prompt_toolkit); none if it is missing."""
    try:
        from prompt_toolkit.lexers import PygmentsLexer  # noqa: PLC0415
        from pygments.lexers import MathematicaLexer  # noqa: PLC0415
    except ImportError:
        return None
    return PygmentsLexer(MathematicaLexer)


def Completer(repl: Repl):  # noqa: N802  (builds a prompt_toolkit Completer)
    """Tab completion: built-ins, layers, the session's symbols, and a call's options after
    its ``[`` (see ``help.completions``)."""
    from prompt_toolkit.completion import Completer as Base  # noqa: PLC0415
    from prompt_toolkit.completion import Completion  # noqa: PLC0415

    class _Completer(Base):
        def get_completions(self, document, complete_event):
            before = document.text_before_cursor
            word = document.get_word_before_cursor(pattern=_WORD)
            for text, meta in completions(before, session_symbols(repl.session)):
                yield Completion(text, start_position=-len(word), display_meta=meta[:60])

    return _Completer()


def main_loop(*, debug: bool = False, stdin: TextIO | None = None, files: bool = True) -> int:
    """``netdsl`` with no arguments: the terminal REPL, or the plain loop for piped input.
    ``files=False``: file access off (``netdsl --no-files``)."""
    stdin = stdin if stdin is not None else sys.stdin
    interactive = _isatty(stdin) and _isatty(sys.stdout)

    def repl(**kw: Any) -> Repl:
        return Repl(Session(interactive=True, files=files), debug=debug, **kw)
    if interactive:
        try:
            import prompt_toolkit  # noqa: F401, PLC0415
        except ImportError:
            return run_plain(repl(), stdin, prompts=True)
        return run_terminal(repl(spacing=True))
    return run_plain(repl(), stdin)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
