"""The layer catalogue. Importing this package registers every layer type in LAYER_TYPES."""

from . import batchnorm, combine, conv, elementwise, linear, losses, simple  # noqa: F401
from .base import LAYER_TYPES, Layer, Net, SharedRef

__all__ = ["LAYER_TYPES", "Layer", "Net", "SharedRef"]
