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
    if isinstance(device, str) and device == "CPU":
        return
    gpu = (isinstance(device, str) and device == "GPU") or device is S("All") or (
        isinstance(device, Expr) and device.head is S("List") and bool(device.args)
        and isinstance(device.args[0], str) and device.args[0] == "GPU")
    if gpu:
        sys.stderr.write(f"{head}::nogpu: TargetDevice -> {input_form(device)} is not "
                         f"available: netdsl runs on the CPU only; using the CPU.\n")
        return
    raise EvaluationError(f'TargetDevice -> {input_form(device)} should be "CPU" or "GPU".',
                          symbol=head, tag="device")


PRECISIONS = ("Real32", "Mixed", "Real64", "Real16")


def check_precision(precision: Any, head: str) -> None:
    """WorkingPrecision: netdsl computes in float32. "Real32" (Wolfram's default) and
    "Mixed" (float16 on GPUs with float32 weights) run as they are; "Real64" and "Real16"
    warn and run in float32; anything else is an error, as Wolfram's."""
    if precision is S("Automatic") or isinstance(precision, str) and precision in (
            "Real32", "Mixed"):
        return
    if isinstance(precision, str) and precision in PRECISIONS:
        sys.stderr.write(f"{head}::noprec: WorkingPrecision -> {input_form(precision)} is not "
                         f'available: netdsl computes in "Real32" (float32); using it.\n')
        return
    raise EvaluationError(f"WorkingPrecision -> {input_form(precision)} should be one of "
                          f"{', '.join(repr(p).replace(chr(39), chr(34)) for p in PRECISIONS)}.",
                          symbol=head, tag="precision")
