"""netdsl: neural-net specs written as Wolfram Language text, run with NumPy.

    >>> import netdsl
    >>> netdsl.evaluate("Total[Range[10]]")
    55

Importing netdsl changes no process-wide state (recursion limit, allocator, garbage
collector, signal handlers, warning filters, matplotlib's backend); the ``netdsl``
command and REPL tune the allocator for speed (``tune_malloc``), which programs may
also call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import printer as _printer  # noqa: F401  (gives expressions their text forms)
from . import builtins as _builtins  # noqa: F401  (registers every built-in)
from .errors import (EvaluationError, InitializationError, NetDSLError, NumericalError,
                     ParseError, ShapeError)
from .expr import Association, Expr, Symbol, full_form, input_form, output_form
from .layers import Layer, Net, register_layer
from .runtime.memory import tune_malloc
from .session import Session, evaluate
from .syntax import parse_statements
from .version import __version__


def set_threads(n: int | None) -> None:
    """How many threads (lanes) a net's pass may split its batch across: ``n`` >= 1, or
    None for the default (the environment variable NETDSL_THREADS, else the cores this
    process may run on). BLAS runs one thread per lane while lanes run."""
    from .runtime.lanes import set_threads as set_lanes
    set_lanes(n)


def save(net: Net, path: str | os.PathLike, *, opset: int = 17) -> None:
    """Write ``net`` to ``path``, the format from its extension: ``.safetensors`` (the
    net file: arrays + architecture), ``.onnx`` (the Test-mode net for ONNX runtimes;
    ``opset`` 13-21) or ``.wl`` (netdsl text)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".safetensors":
        from .formats.netfile import save_net
        save_net(net, path)
    elif suffix == ".onnx":
        from .formats.onnx_export import export_onnx
        export_onnx(net, path, opset=opset)
    elif suffix == ".wl":
        Path(path).write_text(input_form(net) + "\n", encoding="utf-8")
    else:
        raise EvaluationError(f"netdsl.save writes .safetensors, .onnx and .wl files, not "
                              f"{suffix or 'files without an extension'}.", symbol="Export",
                              tag="fmtnosup")


def load(path: str | os.PathLike, element: str = "Automatic") -> Any:
    """Read a ``.safetensors`` file (a net, or for a file not written by netdsl a dict of
    NumPy arrays; ``element``: "Net", "UninitializedNet", "ArrayAssociation"), an
    ``.onnx`` model (a net; the same elements) or a ``.wl`` file (its text evaluated in a
    fresh Session)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".safetensors":
        from .formats.netfile import load as load_file
        value = load_file(path, element)
        if isinstance(value, Association):
            return {k: np.asarray(v) for k, v in value.items()}
        return value
    if suffix == ".onnx":
        from .formats.onnx_import import load as load_onnx
        value = load_onnx(Path(path), element)
        if isinstance(value, Association):
            return {k: np.asarray(v) for k, v in value.items()}
        return value
    if suffix == ".wl":
        session = Session()
        session.base_dir = str(Path(path).resolve().parent)
        return session.evaluate(Path(path).read_text(encoding="utf-8-sig"), str(path))
    raise EvaluationError(f"netdsl.load reads .safetensors, .onnx and .wl files, not "
                          f"{suffix or 'files without an extension'}.", symbol="Import",
                          tag="fmtnosup")


def parse(text: str, source: str | None = None) -> Any:
    """The expression in ``text`` (unevaluated); a list of them if there are several."""
    exprs = [e for e, _ in parse_statements(text, source)]
    return exprs[0] if len(exprs) == 1 else exprs


__all__ = [
    "Session", "evaluate", "parse", "NetDSLError", "ParseError", "EvaluationError",
    "ShapeError", "InitializationError", "NumericalError", "Expr", "Symbol", "Association",
    "full_form", "input_form", "output_form", "Layer", "Net", "register_layer",
    "tune_malloc", "set_threads", "save", "load", "__version__",
]
