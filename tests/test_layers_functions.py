"""ElementwiseLayer's functions (every one its reference page lists that netdsl computes) and
ThreadingLayer's broadcasting, levels and named slots. References are NumPy/math formulas
written here; derivatives are checked by float64 central differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from layer_harness import build, check_gradients, forward

X = np.array([[-1.7, -0.6, -0.2, 0.3, 0.9, 1.6], [-1.2, -0.8, 0.1, 0.45, 1.1, 2.2]])
POS = np.abs(X) + 0.2

FUNCTIONS = [
    ("ArcTan", X, np.arctan), ("Sinh", X, np.sinh), ("Cosh", X, np.cosh),
    ("ArcSinh", X, np.arcsinh), ("Tan", X, np.tan), ("ArcTanh", X / 3, np.arctanh),
    ("ArcSin", X / 3, np.arcsin), ("ArcCos", X / 3, np.arccos), ("ArcCosh", POS + 1, np.arccosh),
    ("Gamma", X + 0.05, np.vectorize(math.gamma)),
    ("LogGamma", POS, np.vectorize(math.lgamma)),
    ("Erfc", X, np.vectorize(math.erfc)),
    ("Round", X * 2, np.round), ("Sign", X, np.sign), ("Floor", X, np.floor),
    ("Ceiling", X, np.ceil),
    ("If[# > 0, #, 0.1 #] &", X, lambda x: np.where(x > 0, x, 0.1 * x)),
    ("Piecewise[{{#^2, # < 0}, {Sin[#], # < 1}}, 2 #] &", X,
     lambda x: np.where(x < 0, x ** 2, np.where(x < 1, np.sin(x), 2 * x))),
    ("Boole[# >= 0.3] &", X, lambda x: (x >= 0.3).astype(float)),
    ("If[-1 < # <= 1 && !(# == 0.3), #, 0] &", X,
     lambda x: np.where((x > -1) & (x <= 1) & (x != 0.3), x, 0)),
    ("If[# < 0 || # > 1, 1, -1] &", X, lambda x: np.where((x < 0) | (x > 1), 1.0, -1.0)),
    ("Log[2, #] &", POS, np.log2),
    ("Clip[2 #] &", X, lambda x: np.clip(2 * x, -1, 1)),
]


@pytest.mark.parametrize("f,x,ref", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_elementwise_function_values(f, x, ref):
    layer = build(f'ElementwiseLayer[{f}, "Input" -> {x.shape[1]}]')
    (y,) = forward(layer, {}, x, dtype=np.float64)
    np.testing.assert_allclose(y, ref(x), rtol=1e-6, atol=2e-7)


SMOOTH = ["ArcTan", "Sinh", "Cosh", "ArcSinh", "Tan", "Gamma", "LogGamma", "Erfc",
          "If[# > 0, #^2, 0.1 #] &", "Piecewise[{{#^2, # < 0}, {Sin[#], # < 1}}, 2 #] &"]


@pytest.mark.parametrize("f", SMOOTH)
def test_elementwise_function_derivatives(f):
    # points away from the kinks of If/Piecewise and the poles of Gamma
    x = np.array([[-0.7, -0.35, 0.3, 0.6, 1.4], [-0.6, 0.2, 0.45, 1.2, 1.6]]).T.copy()
    layer = build(f'ElementwiseLayer[{f}, "Input" -> 5]')
    check_gradients(layer, {}, [x])


def test_piecewise_round_sign_have_zero_derivative():
    layer = build('ElementwiseLayer[Round, "Input" -> 3]')
    from layer_harness import ctx
    x = np.array([[0.2, 0.4], [1.3, -2.2], [0.7, 0.1]])
    (_,), cache = layer.forward(ctx(grad=True), {}, x)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, np.ones_like(x))
    np.testing.assert_array_equal(dx, 0)


def test_unknown_function_is_refused():
    with pytest.raises(EvaluationError, match="not elementwise arithmetic"):
        netdsl.evaluate("ElementwiseLayer[Zeta[#] &]")


# ---------------------------------------------------------------- ThreadingLayer
def ports(text):
    return {k: v.shape for k, v in netdsl.evaluate(text).ports.items()}


def test_threading_broadcasts_size_one_levels():
    assert ports('ThreadingLayer[Times, "Input1" -> {3, 4}, "Input2" -> {1, 4}]')["Output"] \
        == (3, 4)
    # lower rank: aligned with the last levels by default, from level n with bspec n
    assert ports('ThreadingLayer[Plus, "Input1" -> {3, 4}, "Input2" -> 4]')["Output"] == (3, 4)
    assert ports('ThreadingLayer[Times, 1, "Input1" -> {3, 4, 4}, "Input2" -> 3]')["Output"] \
        == (3, 4, 4)
    assert ports('ThreadingLayer[Plus, "Input1" -> 3]')["Input2"] == (3,)
    with pytest.raises(ShapeError, match="sizes 3 and 4 differ"):
        netdsl.evaluate('ThreadingLayer[Plus, "Input1" -> {3, 2}, "Input2" -> {4, 2}]')
    with pytest.raises(ShapeError):    # no broadcasting: the shapes must agree
        netdsl.evaluate('ThreadingLayer[Plus, None, "Input1" -> {3, 4}, "Input2" -> {1, 4}]')


def _minus_square_last(a, b, idx):          # b aligned with the last level of a
    return a[idx] - b[idx[-1]] ** 2


def _times_first(a, b, idx):                # b aligned with the first level of a
    return a[idx] * b[idx[0]]


def _times_size1(a, b, idx):                # b's first level has size 1
    return a[idx] * b[(0,) + idx[1:]]


@pytest.mark.parametrize("text,a,b,ref", [
    ('ThreadingLayer[Times, "Input1" -> {3, 4}, "Input2" -> {1, 4}]', (3, 4), (1, 4),
     _times_size1),
    ('ThreadingLayer[#1 - #2^2 &, "Input1" -> {3, 4}, "Input2" -> 4]', (3, 4), (4,),
     _minus_square_last),
    ('ThreadingLayer[Times, 1, "Input1" -> {3, 2, 2}, "Input2" -> 3]', (3, 2, 2), (3,),
     _times_first),
])
def test_threading_broadcast_numbers(text, a, b, ref):
    layer = build(text)
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((2,) + a), rng.standard_normal((2,) + b)
    (y,) = forward(layer, {}, xa, xb, dtype=np.float64)
    expected = np.empty((2,) + a)
    for n in range(2):                      # naive: one output position at a time
        for idx in np.ndindex(*a):
            expected[(n,) + idx] = ref(xa[n], xb[n], idx)
    np.testing.assert_allclose(y, expected, rtol=1e-10)
    bl = lambda v: np.ascontiguousarray(np.moveaxis(v, 0, -1))   # noqa: E731
    check_gradients(layer, {}, [bl(xa), bl(xb)])


def test_threading_named_slots_give_named_ports():
    # #a + 2 #b & (parsed as Slot["a"], Slot["b"])
    layer = netdsl.evaluate('ThreadingLayer[Function[Slot["a"] + 2 Slot["b"]], "a" -> 3]')
    assert layer.port_names()[0] == ("a", "b")
    assert layer.ports["b"].shape == (3,)
    y = layer({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([1.0, 1.0, 2.0])})
    np.testing.assert_allclose(y, [3, 4, 7])
    g = netdsl.evaluate('NetGraph[{ThreadingLayer[Function[Slot["a"] - Slot["b"]]]}, '
                        '{NetPort["x"] -> NetPort[1, "b"], NetPort["y"] -> NetPort[1, "a"]}, '
                        '"x" -> 2, "y" -> 2]')
    np.testing.assert_allclose(g({"x": np.array([1.0, 1.0]), "y": np.array([5.0, 3.0])}),
                               [4, 2])


def test_threading_named_slot_syntax():
    layer = netdsl.evaluate('ThreadingLayer[#a + 2 #b &, "a" -> 3]')
    assert layer.port_names()[0] == ("a", "b")
    np.testing.assert_allclose(layer({"a": np.array([1.0, 2.0, 3.0]),
                                      "b": np.array([0.5, 0.0, 1.0])}), [2, 2, 5])
    assert netdsl.evaluate(layer.input_form()) == layer
