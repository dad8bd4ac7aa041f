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
from typing import Any, Callable, Iterator, TextIO

# NumPy's floating-point warnings, by the start of their text, as Wolfram's messages
NUMERIC = (
    ("overflow", ("General", "ovfl", "Overflow occurred in computation.")),
    ("divide by zero", ("Power", "infy", "Infinite expression 1/0. encountered.")),
    ("invalid value", ("General", "indet", "Indeterminate expression encountered; the result "
                                           "holds Indeterminate (NaN) values.")),
    ("underflow", ("General", "unfl", "Underflow occurred in computation.")),
)

Emit = Callable[[str, str, str], None]      # (symbol, tag, text), as Evaluator.message


def message_for(category: type[Warning], text: str) -> tuple[str, str, str] | None:
    """The netdsl message (symbol, tag, text) for a Python warning, or None to drop it."""
    if not issubclass(category, RuntimeWarning):
        return None
    for start, message in NUMERIC:
        if text.startswith(start):
            return message
    return ("General", "warning", text)


@contextmanager
def numeric_messages(emit: Emit) -> Iterator[None]:
    """Inside, each Python warning is issued as a netdsl message when it happens (so
    Quiet and Check see it), once per kind; the warning filters are restored after."""
    seen: set[tuple[str, str, str]] = set()

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        m = message_for(category, str(message))
        if m is not None and m not in seen:
            seen.add(m)
            emit(*m)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def write_text(stream: TextIO, text: str) -> None:
    """Write and flush ``text``; what the stream's encoding cannot hold is escaped."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding, "replace"))
    stream.flush()
