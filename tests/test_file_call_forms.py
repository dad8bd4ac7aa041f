"""Every file format Import reads or Export writes is named in its call forms (which the
README's reference list and the error messages show)."""

from __future__ import annotations

import netdsl  # noqa: F401  (registers the built-ins and file formats)
from netdsl.builtins.io import FILE_FORMATS
from netdsl.builtins.registry import REGISTRY


def test_import_and_export_forms_name_every_listed_extension():
    for fn, able in (("Import", "read"), ("Export", "write")):
        forms = " ".join(REGISTRY[fn].usage)
        for fmt in FILE_FORMATS.values():
            if getattr(fmt, able) is None or not fmt.listed:
                continue
            assert any(ext in forms for ext in fmt.extensions), (fn, fmt.name)


def test_import_names_onnx():
    assert any(".onnx" in form for form in REGISTRY["Import"].usage)
