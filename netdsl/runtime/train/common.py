"""What every part of NetTrain uses: its head for messages, and warnings."""

from __future__ import annotations

import sys

from ...errors import EvaluationError

HEAD = "NetTrain"


def error(tag: str, text: str) -> EvaluationError:
    return EvaluationError(text, symbol=HEAD, tag=tag)


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")
