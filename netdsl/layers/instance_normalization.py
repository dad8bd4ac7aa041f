"""InstanceNormalizationLayer[]: each example and channel normalised over its spatial
dimensions, (x - mean) / Sqrt[variance + Epsilon] with the biased variance, then times
"Scaling" and plus "Biases" (one value per channel).

Wolfram's definition: no positional arguments; "Epsilon" -> 0.001; arrays "Scaling" and
"Biases" (vectors of the channel count, initially ones and zeros); "Input" a channel-first
array {channels, d1, ...} and "Output" the same. Wolfram documents it as equivalent to
NormalizationLayer[] (aggregation levels 2 ;; All, scaling levels "Complement"), which is
exactly what it computes here: the numerics, PyTorch and ONNX conversions are
NormalizationLayer's. An input of rank 1 has no spatial dimensions: refused.
"""

from __future__ import annotations

from .base import Infer
from .normalization import NormalizationLayer
from .registry import register_layer


@register_layer
class InstanceNormalizationLayer(NormalizationLayer):
    name = "InstanceNormalizationLayer"
    summary = "normalises each channel over its spatial dimensions, then Scaling and Biases"
    positional = ()

    def levels(self, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Aggregation over levels 2 .. rank (space), scaling along level 1 (channels)."""
        return tuple(range(2, rank + 1)), (1,)

    def infer(self, s: Infer) -> None:
        x = s.port("Input")
        if x is not None and len(x) < 2:
            s.fail('the "Input" port must be an array of rank at least 2 (channels, then '
                   "spatial dimensions)")
        super().infer(s)
