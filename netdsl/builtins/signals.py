"""Non-local exits of the language (Return, Break, Continue, Throw) as Python exceptions.

They are not errors: the construct that catches each one (a definition or loop
for Return, a loop for Break and Continue, Catch for Throw) turns it back into a
value. One that nobody catches ends the statement with the value Wolfram shows
(``Return[x]``, ``Break[]``, ``Hold[Throw[x]]``).
"""

from __future__ import annotations

from typing import Any


class Signal(Exception):
    """Base of the control-flow signals."""


class ReturnSignal(Signal):
    def __init__(self, value: Any):
        super().__init__("Return")
        self.value = value


class BreakSignal(Signal):
    pass


class ContinueSignal(Signal):
    pass


class ThrowSignal(Signal):
    def __init__(self, value: Any, tag: Any = None):
        super().__init__("Throw")
        self.value = value
        self.tag = tag
