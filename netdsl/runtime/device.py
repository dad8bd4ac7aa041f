"""TargetDevice: netdsl computes on the CPU. Nets written for a GPU still run."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import EvaluationError
from ..expr import Expr, Symbol, input_form

S = Symbol


def check_device(device: Any, head: str) -> None:
    """"CPU" is fine; "GPU", {"GPU", n} or All warn (once per call) and run on the CPU, as
    netdsl has no GPU executor; anything else is an error."""
    if device == "CPU":
        return
    gpu = device == "GPU" or device is S("All") or (
        isinstance(device, Expr) and device.head is S("List") and bool(device.args)
        and device.args[0] == "GPU")
    if gpu:
        sys.stderr.write(f"{head}::nogpu: TargetDevice -> {input_form(device)} is not "
                         f"available: netdsl runs on the CPU only; using the CPU.\n")
        return
    raise EvaluationError(f'TargetDevice -> {input_form(device)} should be "CPU" or "GPU".',
                          symbol=head, tag="device")
