"""Import["model.onnx"]: the ONNX format's reader, added to the format netfiles.py
registers for Export (``io.register_format``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..formats.onnx_import import ELEMENTS, load
from .io import FILE_FORMATS, FileFormat, register_format


def _read_onnx(ev, path, name: str, element: str) -> Any:
    return load(path, element, where=name)


_export = FILE_FORMATS.get("ONNX")
register_format(replace(_export, read=_read_onnx, elements=ELEMENTS) if _export is not None
                else FileFormat("ONNX", (".onnx",), read=_read_onnx, elements=ELEMENTS))
