"""A layer defined outside the package is a first-class layer.

It is one class, registered with the public ``netdsl.register_layer``: the language gets
its head, containers take it, shape inference runs its rule, ``netdsl check`` checks it,
NetInitialize fills its arrays, nets with it evaluate and train, and it prints and parses
back. Nothing in netdsl is edited for it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl.builtins.registry import REGISTRY
from netdsl.layers import LAYER_TYPES, ArraySpec, Infer, Layer, Option
from netdsl.layers.base import positive_real


class ScaleShiftLayer(Layer):
    """y = Scale x + Shift, elementwise over a vector, with learned Scale and Shift."""

    name = "ScaleShiftLayer"
    summary = "a learned scale and shift for every element of a vector"
    options = (Option("Gain", 1.0, positive_real),)
    hidden = ("Size",)
    array_specs = (ArraySpec("Scale", ("Size",), init="ones"),
                   ArraySpec("Shift", ("Size",), init="zeros"))

    def infer(self, s: Infer) -> None:
        s.same("Input", "Output")
        x = s.port("Input")
        if x is not None:
            if len(x) != 1:
                s.fail('the "Input" port must be a vector')
            s.set_value("Size", x[0], '"Input" port')
            s.refine("Input", (s.value("Size"),), 'parameter "Size"')

    def forward(self, ctx, arrays, x):       # x: (Size, N), batch last
        gain = self.values["Gain"]
        y = x * (gain * arrays["Scale"][:, None]) + arrays["Shift"][:, None]
        return [y.astype(x.dtype, copy=False)], (x if ctx.grad else None)

    def backward(self, ctx, arrays, x, dy):
        gain = self.values["Gain"]
        grads = {"Scale": (gain * (dy * x).sum(axis=1)).astype(arrays["Scale"].dtype),
                 "Shift": dy.sum(axis=1).astype(arrays["Shift"].dtype)}
        return [dy * (gain * arrays["Scale"][:, None])], grads


@pytest.fixture
def registered():
    netdsl.register_layer(ScaleShiftLayer)
    yield ScaleShiftLayer
    LAYER_TYPES.pop("ScaleShiftLayer", None)     # leave the built-in table as it was
    REGISTRY.pop("ScaleShiftLayer", None)


def test_register_layer_refuses_what_is_not_a_layer():
    with pytest.raises(TypeError, match="subclass of netdsl.Layer"):
        netdsl.register_layer(int)

    class Nameless(Layer):
        pass
    with pytest.raises(TypeError, match="must set the class attribute name"):
        netdsl.register_layer(Nameless)


def test_a_registered_layer_is_built_inferred_checked_initialised_trained_and_printed(
        registered):
    s = netdsl.Session()
    net = s.evaluate('net = NetChain[{ScaleShiftLayer["Gain" -> 2]}, "Input" -> 3]')
    layer = net.net("1")
    assert isinstance(layer, ScaleShiftLayer) and layer.values["Size"] == 3
    assert layer.array_shapes() == {"Scale": (3,), "Shift": (3,)}

    # a shape error in it is reported like any layer's, before any array exists
    with pytest.raises(netdsl.ShapeError, match="ScaleShiftLayer"):
        s.evaluate('NetChain[{LinearLayer[4], ScaleShiftLayer[]}, "Input" -> 2, "Output" -> 5]')

    # netdsl check builds and initialises it at the level of shapes
    from netdsl.check import check_text
    out, err = io.StringIO(), io.StringIO()
    status = check_text('n = NetInitialize@NetChain[{ScaleShiftLayer[]}, "Input" -> 3];\n'
                        "y = n[{1, 2, 3}]\n", "custom.wl", out, err)
    assert status == 0, err.getvalue()
    assert "output of dimensions {3}" in out.getvalue()

    # NetInitialize fills its arrays as declared; evaluation runs its forward
    init = s.evaluate("init = NetInitialize[net]")
    np.testing.assert_array_equal(init.net("1").arrays["Scale"],
                                  np.ones(3, np.float32))
    y = s.evaluate("init[{1., 2., 3.}]")
    np.testing.assert_allclose(y, [2., 4., 6.])           # Gain 2, Scale 1, Shift 0

    # training runs its backward: y = 2 Scale x + Shift fitted to 3 x - 1 gives
    # Scale = 1.5 and Shift = -1 (every element of the vector has the same data)
    xs = [i / 8 for i in range(-8, 8)]                 # exact binary fractions
    data = "{" + ", ".join(f"{{{x}, {x}, {x}}} -> {{{3 * x - 1}, {3 * x - 1}, {3 * x - 1}}}"
                           for x in xs) + "}"
    trained = s.evaluate(f'trained = NetTrain[init, {data}, MaxTrainingRounds -> 300, '
                         f'BatchSize -> 16, Method -> {{"SGD", "Momentum" -> 0.5, '
                         f'"LearningRateSchedule" -> None}}, LearningRate -> 0.2, '
                         f"TrainingProgressReporting -> None]")
    np.testing.assert_allclose(trained.net("1").arrays["Scale"], [1.5] * 3, atol=1e-3)
    np.testing.assert_allclose(trained.net("1").arrays["Shift"], [-1.0] * 3, atol=1e-3)

    # it prints as a summary and as text that parses back to an equal net
    summary = netdsl.output_form(trained.net("1"))
    assert "ScaleShiftLayer  (initialized)" in summary and "Gain 2." in summary
    assert "ScaleShiftLayer" in netdsl.output_form(trained)
    again = s.evaluate(netdsl.input_form(trained))
    assert again == trained

