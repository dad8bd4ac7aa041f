"""The layer catalogue. Every module in this package is imported the first time the
table of layer types (``LAYER_TYPES``) is read, so that each layer type registers itself
(``register_layer``): a new layer is one new file, with no edit elsewhere. Importing the
package alone does not import them (start-up time)."""

from .arrays import NO_ARRAY, SharedRef
from .base import ArraySpec, Infer, Layer, Net, Option, Param
from .registry import LAYER_TYPES, register_layer

__all__ = ["LAYER_TYPES", "Layer", "Net", "NO_ARRAY", "SharedRef", "register_layer",
           "ArraySpec", "Infer", "Option", "Param"]
