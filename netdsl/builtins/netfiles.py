"""Net files in Import/Export: .safetensors (netdsl's net file) and .onnx (export).

Registered with ``io.register_format``, so these formats share Import's and Export's
file-name resolution, the file gate and netdsl check's "would write" notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Association, input_form
from ..formats import netfile
from ..layers.base import Net
from .io import FileFormat, register_format
from .numeric import numeric


def _read_safetensors(ev, path, name: str, element: str) -> Any:
    if element not in ("Automatic",) + netfile.ELEMENTS:
        raise EvaluationError(f'The Import element "{element}" is not present when importing '
                              f"as SafeTensors; elements: {', '.join(netfile.ELEMENTS)}.",
                              symbol="Import", tag="noelem")
    return netfile.load(path, element, where=name)


def _write_safetensors(ev, path, data: Any, name: str, opts: dict) -> None:
    if isinstance(data, Net):
        netfile.save_net(data, path, where=name)
        return
    if isinstance(data, Association):     # plain arrays by name, like .npz
        arrays = {}
        for key, value in data.items():
            v = numeric(value)
            if not isinstance(key, str) or v is None:
                raise EvaluationError(f"A safetensors file holds a net or arrays named by "
                                      f"strings; {input_form(key)} -> "
                                      f"{input_form(value)[:60]} is not one.",
                                      symbol="Export", tag="type")
            arrays[key] = np.ascontiguousarray(v)
        netfile.write_tensors(arrays, path, None, name)
        return
    raise EvaluationError(f"{input_form(data)[:80]} cannot be exported to the \"SafeTensors\" "
                          f"format: give a net or an association of arrays.", symbol="Export",
                          tag="type")


def _write_onnx(ev, path, data: Any, name: str, opts: dict) -> None:
    from ..formats.onnx_export import export_onnx
    if not isinstance(data, Net):
        raise EvaluationError(f"{input_form(data)[:80]} cannot be exported to the \"ONNX\" "
                              f"format: give a net.", symbol="Export", tag="type")
    export_onnx(data, path, opset=opts.get("OperatorSetVersion", 17), where=name)


register_format(FileFormat("SafeTensors", (".safetensors",), read=_read_safetensors,
                           write=_write_safetensors, elements=netfile.ELEMENTS))
register_format(FileFormat("ONNX", (".onnx",), write=_write_onnx))
