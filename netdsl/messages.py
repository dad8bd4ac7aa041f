"""Text to the user's terminal: numeric warnings as netdsl messages, and any encoding.

Python warnings never reach the user as Python warnings. While a statement is
evaluated, ``numeric_messages`` records them (scoped with ``warnings.catch_warnings``:
the process's own warning filters are untouched) and turns NumPy's floating-point
warnings into Wolfram's messages (``General::ovfl``, ``Power::infy``, ...); other
warnings, from libraries, are not the user's concern and are dropped.

``write_text`` writes to a stream that may not be UTF-8 (``LANG=C``,
``PYTHONIOENCODING=latin-1``): characters it cannot encode are written as escapes.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from .errors import Span

# NumPy's floating-point warnings, by the start of their text, as Wolfram's messages
NUMERIC = (
    ("overflow", "General::ovfl: Overflow occurred in computation."),
    ("divide by zero", "Power::infy: Infinite expression 1/0. encountered."),
    ("invalid value", "General::indet: Indeterminate expression encountered; the result "
                      "holds Indeterminate (NaN) values."),
    ("underflow", "General::unfl: Underflow occurred in computation."),
)


def message_for(warning: warnings.WarningMessage) -> str | None:
    """The netdsl message for a Python warning, or None to drop it."""
    if not issubclass(warning.category, RuntimeWarning):
        return None
    text = str(warning.message)
    for start, message in NUMERIC:
        if text.startswith(start):
            return message
    return f"General::warning: {text}"


@contextmanager
def numeric_messages(emit: Callable[[str], None], span: Span | None = None,
                     source: str | None = None) -> Iterator[None]:
    """Record the warnings raised inside; then ``emit`` each as a message, once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[str] = set()
            for w in caught:
                message = message_for(w)
                if message is None or message in seen:
                    continue
                seen.add(message)
                where = f"{source or span.source or '<input>'}:{span.line}:{span.column}: " \
                    if span is not None else ""
                emit(where + message)


def write_text(stream: TextIO, text: str) -> None:
    """Write and flush ``text``; what the stream's encoding cannot hold is escaped."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))
    stream.flush()
