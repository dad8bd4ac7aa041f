"""PyTorch is an optional extra: a netdsl message, not an ImportError traceback, without it."""

from __future__ import annotations

import importlib.util

from ..errors import EvaluationError


def require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise EvaluationError("netdsl.torch needs PyTorch, which is not installed; install it "
                              "with pip install 'netdsl[torch]'.", symbol="netdsl.torch",
                              tag="notorch")
