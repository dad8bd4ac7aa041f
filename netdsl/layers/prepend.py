"""PrependLayer[]: a sequence with one more element at its start, given on the "Element"
port (Wolfram: Prepend[in, elem]); ports and shapes as AppendLayer's (append.py)."""

from __future__ import annotations

from .append import AppendLayer
from .registry import register_layer


@register_layer
class PrependLayer(AppendLayer):
    name = "PrependLayer"
    summary = 'the sequence with the "Element" prepended'
    element_first = True
