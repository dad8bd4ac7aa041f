"""Import["model.onnx"]: registered in ``io.READERS`` (Export is in netfiles.py)."""

from __future__ import annotations

from typing import Any

from .io import READERS


def _read_onnx(ev, path, name: str, element: str) -> Any:
    from ..formats.onnx_import import load
    return load(path, element, where=name)


READERS["ONNX"] = _read_onnx
