"""The layer catalogue. Importing this package imports every module in it, so that each
layer type registers itself (``register_layer``): a new layer is one new file, with no
edit elsewhere."""

import importlib
import pkgutil

from .arrays import NO_ARRAY, SharedRef
from .base import ArraySpec, Infer, Layer, Net, Option, Param
from .registry import LAYER_TYPES, register_layer

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["LAYER_TYPES", "Layer", "Net", "NO_ARRAY", "SharedRef", "register_layer",
           "ArraySpec", "Infer", "Option", "Param"]
