"""BatchNormalizationLayer: per-channel normalisation with learned scale and shift.

Test mode:  Scaling (x - MovingMean) / Sqrt[MovingVariance + Epsilon] + Biases
Train mode: the batch's own mean and biased variance per channel (over the batch and
every non-channel dimension); NetTrain then moves the moving statistics by
m <- Momentum m + (1 - Momentum) batch.
"""

from __future__ import annotations

from .base import ArraySpec, Infer, Layer, Option, boolean, positive_real, real_between


def _no_interleaving(x):
    if boolean(x):
        raise ValueError("Interleaving -> True (channels last) is not supported by netdsl")
    return False


class BatchNormalizationLayer(Layer):
    name = "BatchNormalizationLayer"
    summary = "normalises each channel by learned mean and variance"
    has_train_behavior = True
    options = (
        Option("Epsilon", 0.001, positive_real),
        Option("Momentum", 0.9, real_between(0, 1)),
        Option("Interleaving", False, _no_interleaving),
        Option("LearningRateMultipliers", None, lambda x: x),
    )
    hidden = ("Channels",)
    array_specs = (
        ArraySpec("Scaling", ("Channels",), init="ones"),
        ArraySpec("Biases", ("Channels",), init="zeros"),
        ArraySpec("MovingMean", ("Channels",), init="zeros", aux=True),
        ArraySpec("MovingVariance", ("Channels",), init="ones", aux=True),
    )

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is None:
            return
        if len(x) == 0 or s.port_type("Input").integer:
            s.fail('the "Input" port must be an array of rank ≥ 1 (channels first)')
        s.set_value("Channels", x[0], '"Input" port')
        c = s.value("Channels")
        s.refine("Input", (c,) + x[1:], 'parameter "Channels"')
        s.same("Input", "Output")
