"""The functions ElementwiseLayer's and ThreadingLayer's reference pages list that netdsl
refused before: reciprocal trigonometric and hyperbolic functions and their inverses,
Haversine, Gudermannian, CubeRoot, InverseErf/InverseErfc, IntegerPart/FractionalPart,
Unitize, KroneckerDelta, and in pure functions Surd, Mod, Threshold, Chop, Which, the sign
tests, True/False, "name"[x]; ThreadingLayer[Surd | Mod | Clip | ArcTan | Erf].

Expected values are formulas written here (NumPy, math, bisection on math.erf); derivatives
are float64 central differences; the torch and ONNX forms are checked against netdsl."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError
from netdsl.layers.functions import compile_function
from layer_harness import build, check_gradients, ctx, forward

S = netdsl.evaluate

# domains: R avoids 0 and multiples of Pi/2; BIG has |x| > 1; UNIT is inside (0, 1); OPEN
# inside (-1, 1); HALF inside (-Pi/2, Pi/2)
R = np.array([[-1.7, -0.6, -0.2, 0.3, 0.9, 1.4], [-1.2, -0.8, 0.1, 0.45, 1.1, 2.2]])
BIG = np.array([[-3.0, -1.6, -1.1, 1.2, 2.0, 5.0], [-7.5, -2.5, -1.3, 1.05, 1.7, 3.3]])
UNIT = np.array([[0.05, 0.2, 0.35, 0.5, 0.7, 0.95], [0.01, 0.15, 0.4, 0.6, 0.8, 0.99]])
OPEN = np.array([[-0.95, -0.6, -0.1, 0.2, 0.7, 0.99], [-0.999, -0.3, 0.01, 0.45, 0.8, 0.9]])
HALF = np.array([[-1.4, -0.9, -0.2, 0.3, 1.0, 1.5], [-1.1, -0.5, 0.05, 0.6, 1.2, 1.3]])
# for Mod[x, 0.7] (and Mod[x, 0.7, 0.2]): away from its jumps
MODX = np.array([[-4.8, -1.6, -0.45, 0.3, 1.7, 4.0], [-3.2, -2.3, 0.1, 0.45, 2.6, 6.1]])
# with exact zeros, halves and tiny numbers for the steps and tests
STEPS = np.array([[-2.5, -1.5, -0.5, 0.0, 0.5, 1.5], [-1.0, -0.3, 1e-11, 0.3, 0.7, 2.0]])


def bisect(f, target, lo, hi, increasing=True):
    """The y in [lo, hi] with f(y) = target, by bisection in float64 (math's erf/erfc)."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (f(mid) < target) == increasing:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def inverse_erf(x):
    return np.vectorize(lambda v: math.copysign(bisect(math.erf, abs(v), 0.0, 7.0), v))(x)


def inverse_erfc(x):
    return np.vectorize(lambda v: bisect(math.erfc, v, -7.0, 27.3, increasing=False))(x)


SELU_L, SELU_A = 1.0507009873554805, 1.6732632423543772     # the SELU paper's constants

FUNCTIONS = [
    ("Cot", R, lambda x: np.cos(x) / np.sin(x)),
    ("Coth", R, lambda x: (np.exp(2 * x) + 1) / (np.exp(2 * x) - 1)),
    ("Csc", R, lambda x: 1 / np.sin(x)),
    ("Csch", R, lambda x: 2 / (np.exp(x) - np.exp(-x))),
    ("Sec", R, lambda x: 1 / np.cos(x)),
    ("Sech", R, lambda x: 2 / (np.exp(x) + np.exp(-x))),
    ("ArcCot", R, lambda x: np.where(x > 0, np.pi / 2, -np.pi / 2) - np.arctan(x)),
    ("ArcCoth", BIG, lambda x: 0.5 * np.log((x + 1) / (x - 1))),
    ("ArcCsc", BIG, lambda x: np.sign(x) * np.arctan(1 / np.sqrt(x * x - 1))),
    ("ArcCsch", R, lambda x: np.log(1 / x + np.sqrt(1 / x ** 2 + 1))),
    ("ArcSec", BIG, lambda x: np.where(x > 0, 0, np.pi) + np.sign(x) * np.arctan(
        np.sqrt(x * x - 1))),
    ("ArcSech", UNIT, lambda x: np.log((1 + np.sqrt(1 - x * x)) / x)),
    ("Haversine", R, lambda x: np.sin(x / 2) ** 2),
    ("InverseHaversine", UNIT, lambda x: np.arccos(1 - 2 * x)),
    ("Gudermannian", R * 2, lambda x: np.arctan(np.sinh(x))),
    ("InverseGudermannian", HALF, lambda x: np.arcsinh(np.tan(x))),
    ("CubeRoot", R * 3, lambda x: np.sign(x) * np.abs(x) ** (1 / 3)),
    ("InverseErf", OPEN, inverse_erf),
    ("InverseErfc", np.vstack([UNIT, 1 + UNIT]), inverse_erfc),
    ("IntegerPart", STEPS, np.vectorize(lambda v: math.modf(v)[1])),
    ("FractionalPart", STEPS, np.vectorize(lambda v: math.modf(v)[0])),
    ("Unitize", STEPS, lambda x: (x != 0).astype(float)),
    ("KroneckerDelta", STEPS, lambda x: (x == 0).astype(float)),
    # pure functions
    ("Mod[#, 0.7] &", MODX, np.vectorize(lambda v: v % 0.7)),
    ("Mod[#, -0.7] &", MODX, np.vectorize(lambda v: v % -0.7)),
    ("Mod[#, 0.7, 0.2] &", MODX, np.vectorize(lambda v: (v - 0.2) % 0.7 + 0.2)),
    ("Surd[#, 3] &", R * 5, np.cbrt),
    ("Surd[#, -3] &", R * 5, lambda x: 1 / np.cbrt(x)),
    ("Surd[#, 2] &", UNIT * 9, np.sqrt),
    ("Threshold[#] &", STEPS, lambda x: np.where(np.abs(x) <= 1e-10, 0.0, x)),
    ("Threshold[#, 0.5] &", STEPS, lambda x: np.where(np.abs(x) <= 0.5, 0.0, x)),
    ('Threshold[#, {"Soft", 0.5}] &', STEPS,
     lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0)),
    ('Threshold[#, {"PiecewiseGarrote", 0.5}] &', STEPS,
     lambda x: np.where(np.abs(x) <= 0.5, 0.0, x - 0.25 / np.where(x == 0, 1, x))),
    ('Threshold[#, {"Hyperbola", 0.5}] &', STEPS,
     lambda x: np.where(np.abs(x) <= 0.5, 0.0, np.sign(x) * np.sqrt(np.maximum(x * x - 0.25, 0)))),
    ("Chop[#] &", STEPS, lambda x: np.where(np.abs(x) < 1e-10, 0.0, x)),
    ("Chop[#, 0.5] &", STEPS, lambda x: np.where(np.abs(x) < 0.5, 0.0, x)),
    ("Which[# < -1, -1, # < 1, #^3, True, 1] &", STEPS,
     lambda x: np.select([x < -1, x < 1], [-1.0, x ** 3], 1.0)),
    ("Which[# > 0.5, #] &", STEPS, lambda x: np.where(x > 0.5, x, 0.0)),   # else 0
    ("Positive[#] &", STEPS, lambda x: (x > 0).astype(float)),
    ("Negative[#] &", STEPS, lambda x: (x < 0).astype(float)),
    ("NonNegative[#] &", STEPS, lambda x: (x >= 0).astype(float)),
    ("NonPositive[#] &", STEPS, lambda x: (x <= 0).astype(float)),
    ("PossibleZeroQ[#] &", STEPS, lambda x: (x == 0).astype(float)),
    ("If[NonNegative[#], #, -2 #] &", STEPS, lambda x: np.where(x >= 0, x, -2 * x)),
    ("If[True, #, 0] + If[False, 1, 0] &", R, lambda x: x),
    ("Sin[30 Degree + #] + GoldenRatio &", R, lambda x: np.sin(np.pi / 6 + x) + (1 + 5 ** 0.5) / 2),
    ('"ELU"[#] + 1 &', R, lambda x: np.where(x >= 0, x, np.exp(x) - 1) + 1),
    ('"SELU"[2 #] &', R, lambda x: SELU_L * np.where(x >= 0, 2 * x, SELU_A * (np.exp(2 * x) - 1))),
    ('"Tanh"[#]^2 &', R, lambda x: np.tanh(x) ** 2),
    ("Clip[#, {-0.5, 0.8}, {-2, 2}] &", STEPS,
     lambda x: np.where(x < -0.5, -2.0, np.where(x > 0.8, 2.0, x))),
    ("KroneckerDelta[#, 0.3] &", STEPS, lambda x: (x == 0.3).astype(float)),
    ("Unitize[#, 0.5] &", STEPS, lambda x: (np.abs(x) >= 0.5).astype(float)),
    ("ArcTan[#, 1] &", R, np.vectorize(lambda v: math.atan2(1, v))),
    ("ArcTan[-1, #] &", R, np.vectorize(lambda v: math.atan2(v, -1))),
    ("Erf[0.2, #] &", R, np.vectorize(lambda v: math.erf(v) - math.erf(0.2))),
]


# netdsl's Erf is Abramowitz & Stegun 7.1.26 refined: absolute error below 1.2e-7
ERF_ATOL = 1.3e-7


@pytest.mark.parametrize("f,x,ref", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_function_values(f, x, ref):
    layer = build(f'ElementwiseLayer[{f}, "Input" -> {x.shape[1]}]')
    (y,) = forward(layer, {}, x, dtype=np.float64)
    np.testing.assert_allclose(y, ref(x), rtol=1e-12, atol=ERF_ATOL if "Erf[" in f else 1e-13)


# smooth functions, at points of their domains away from kinks and jumps
SMOOTH = [
    ("Cot", R), ("Coth", R), ("Csc", R), ("Csch", R), ("Sec", R), ("Sech", R), ("ArcCot", R),
    ("ArcCoth", BIG), ("ArcCsc", BIG), ("ArcCsch", R), ("ArcSec", BIG), ("ArcSech", UNIT[:, 1:-1]),
    ("Haversine", R), ("InverseHaversine", UNIT[:, 1:-1]), ("Gudermannian", R * 2),
    ("InverseGudermannian", HALF), ("CubeRoot", R * 3), ("InverseErf", OPEN[:, 1:-1]),
    ("InverseErfc", np.vstack([UNIT, 1 + UNIT])[:, 1:-1]), ("FractionalPart", R * 3),
    ("Mod[#, 0.7] &", MODX), ("Mod[#, 0.7, 0.2] &", MODX), ("Surd[#, 3] &", R * 5),
    ("Surd[#, 2] &", UNIT * 9), ('Threshold[#, {"Soft", 0.5}] &', R * 2),
    ('Threshold[#, {"PiecewiseGarrote", 0.5}] &', R * 2),
    ('Threshold[#, {"Hyperbola", 0.5}] &', R * 2), ("Chop[#, 0.5] &", R * 2),
    ("Which[# < -1, -1, # < 1, #^3, True, 1] &", R * 2), ('"ELU"[#] + 1 &', R),
    ("ArcTan[#, 1] &", R), ("ArcTan[-1, #] &", R), ("Erf[0.2, #] &", R),
]


@pytest.mark.parametrize("f,x", SMOOTH, ids=[f[0] for f in SMOOTH])
def test_function_derivatives(f, x):
    xs = np.ascontiguousarray(x.T)                       # batch-last: (features, batch)
    layer = build(f'ElementwiseLayer[{f}, "Input" -> {xs.shape[0]}]')
    check_gradients(layer, {}, [xs], h=1e-7)


@pytest.mark.parametrize("f,slope", [
    ("IntegerPart", lambda x: 0 * x), ("Unitize", lambda x: 0 * x),
    ("KroneckerDelta", lambda x: 0 * x), ("Positive[#] &", lambda x: 0 * x),
    ("FractionalPart", lambda x: 1 + 0 * x),
    ("Threshold[#, 0.5] &", lambda x: (np.abs(x) > 0.5).astype(float)),
    ("Chop[#, 0.5] &", lambda x: (np.abs(x) >= 0.5).astype(float)),
])
def test_step_derivatives_are_those_of_the_pieces(f, slope):
    """Steps differentiate to 0 (as Round: MXNet's gradient), the kept pieces to 1."""
    layer = build(f'ElementwiseLayer[{f}, "Input" -> 6]')
    x = np.ascontiguousarray(STEPS.T)
    (_,), cache = layer.forward(ctx(grad=True), {}, x)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, np.ones_like(x))
    np.testing.assert_array_equal(dx, slope(x))


def test_inverse_erf_to_float32_and_in_the_tails():
    # float32 in and out: within a few float32 ulps of the float64 bisection
    x = np.array([[-0.9999, -0.5, -1e-6, 1e-20, 0.3, 0.999999]], np.float32)
    layer = build('ElementwiseLayer[InverseErf, "Input" -> 6]')
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, inverse_erf(x.astype(np.float64)), rtol=3e-7)
    # InverseErfc down to the smallest float64: relative accuracy everywhere
    f = compile_function(S("InverseErfc"))
    t = np.array([1e-300, 1e-100, 1e-30, 1e-10, 1e-3, 0.5, 1.0, 1.5])
    np.testing.assert_allclose(f(t), inverse_erfc(t), rtol=1e-13, atol=1e-15)
    # near 2 by the symmetry InverseErfc[2 - t] = -InverseErfc[t] (2 - x is exact there)
    x = np.array([2 - 1e-12, 2 - 1e-5])
    np.testing.assert_allclose(f(x), -inverse_erfc(2 - x), rtol=1e-13)
    edges = f(np.array([0.0, 2.0, -0.5, 2.5]))
    assert edges[0] == np.inf and edges[1] == -np.inf and np.isnan(edges[2:]).all()
    g = compile_function(S("InverseErf"))(np.array([-1.0, 1.0, 1.5]))
    assert g[0] == -np.inf and g[1] == np.inf and np.isnan(g[2])


def test_surd_has_no_real_root_of_negatives_for_even_n():
    f = compile_function(S("Surd[#, 4] &"))
    y = f(np.array([-16.0, 16.0]))
    assert np.isnan(y[0]) and y[1] == 2.0
    g = compile_function(S("Surd"), 2)
    y = g(np.array([-8.0, -8.0, 8.0, -8.0]), np.array([3.0, 2.0, 2.0, -3.0]))
    np.testing.assert_allclose(y[[0, 2, 3]], [-2.0, math.sqrt(8), -0.5])
    assert np.isnan(y[1])


# ---------------------------------------------------------------- several arguments
def _mod(a, b):
    return np.vectorize(lambda u, v: u % v)(a, b)


THREADED = [
    ("Mod", 2, _mod),
    ("Mod[#1, #2] &", 2, _mod),
    ("Surd", 2, lambda a, b: np.sign(a) * np.abs(a) ** (1 / b)),   # b odd below
    ("ArcTan", 2, np.vectorize(lambda x, y: math.atan2(y, x))),
    ("Erf", 2, np.vectorize(lambda a, b: math.erf(b) - math.erf(a))),
    ("Clip", 3, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi)),
    ("Clip[#1, {-#2, #2}] &", 2, lambda x, m: np.minimum(np.maximum(x, -m), m)),
    ('"ELU"[#1] + #2 &', 2, lambda a, b: np.where(a >= 0, a, np.exp(a) - 1) + b),
    ("Which[#1 > #2, #1, #1 < #2, #2] &", 2, lambda a, b: np.where(a > b, a, np.where(a < b, b, 0.0))),
    ("KroneckerDelta", 2, lambda a, b: (a == b).astype(float)),
]


def _inputs(f, n, rng):
    xs = [rng.uniform(-3, 3, (2, 5)) for _ in range(n)]
    if f == "Surd":
        xs[1] = rng.choice([-5.0, -3.0, 1.0, 3.0, 5.0], (2, 5))
    if f.startswith("Mod"):
        xs[1] = rng.choice([-1.3, -0.6, 0.7, 1.9], (2, 5))
    if f.startswith("Clip"):
        xs[1] = np.abs(xs[1]) if n == 2 else -np.abs(xs[1])
        if n == 3:
            xs[2] = np.abs(xs[2])
    if f.startswith("Which") or f == "KroneckerDelta":
        xs[1][:, :2] = xs[0][:, :2]           # some equal pairs
    return xs


@pytest.mark.parametrize("f,n,ref", THREADED, ids=[t[0] for t in THREADED])
def test_threading_functions(f, n, ref):
    layer = build(f"ThreadingLayer[{f}, " + ", ".join(f'"Input{i}" -> 5' for i in range(1, n + 1))
                  + "]")
    assert layer.port_names()[0] == tuple(f"Input{i}" for i in range(1, n + 1))
    xs = _inputs(f, n, np.random.default_rng(3))
    (y,) = forward(layer, {}, *xs, dtype=np.float64)
    np.testing.assert_allclose(y, ref(*xs), rtol=1e-12, atol=ERF_ATOL if f == "Erf" else 1e-13)
    if f.startswith(("Which", "KroneckerDelta")):
        return                                 # jumps where the inputs are equal
    if f == "Surd":      # d/dn exists where roots of any n are real: x > 0
        xs[0] = np.abs(xs[0]) + 0.1
    bl = [np.ascontiguousarray(x.T) for x in xs]
    check_gradients(layer, {}, bl, h=1e-7)


def test_mod_partials_are_one_and_minus_floor():
    """d/dx Mod[x, m] = 1 and d/dm Mod[x, m] = -Floor[x/m] (between the jumps)."""
    x, m = np.array([7.5, -7.5, 2.0, 0.3]), np.array([2.0, 2.0, -0.7, 0.5])
    dx, dm = compile_function(S("Mod"), 2).partials(x, m)
    np.testing.assert_array_equal(dx, [1, 1, 1, 1])
    np.testing.assert_array_equal(dm, [-3, 4, 3, 0])


def test_threading_symbol_arities():
    assert compile_function(S("Clip"), None, "ThreadingLayer").arity == 3
    for f in ("Mod", "Surd", "ArcTan", "Erf"):
        assert compile_function(S(f), None, "ThreadingLayer").arity == 2
    # as one-argument functions, ArcTan and Erf are themselves; Clip is Clip[x, {-1, 1}]
    np.testing.assert_allclose(compile_function(S("ArcTan"))(np.array([1.0])), [math.pi / 4])
    np.testing.assert_allclose(compile_function(S("Clip"))(np.array([-3.0, 0.5])), [-1, 0.5])
    # Plus, Times, Max, Min and KroneckerDelta take any number of inputs
    three = build('ThreadingLayer[KroneckerDelta, "Inputs" -> 3, "Input1" -> 2]')
    (y,) = forward(three, {}, np.array([[1.0, 2.0]]), np.array([[1.0, 2.0]]),
                   np.array([[1.0, 5.0]]), dtype=np.float64)
    np.testing.assert_array_equal(y, [[1.0, 0.0]])


@pytest.mark.parametrize("text,match", [
    ("ElementwiseLayer[Mod]", "Mod takes 2 arguments"),
    ("ElementwiseLayer[Surd[#, 2.5] &]", "integer n"),
    ('ElementwiseLayer[Threshold[#, {"Firm", 0.5}] &]', "kind Hard, Soft"),
    ('ElementwiseLayer["Foo"[#] &]', '"Foo" is not a known function name'),
    ("ElementwiseLayer[Which[# > 0] &]", "not elementwise arithmetic"),
    ("ThreadingLayer[Subtract, \"Inputs\" -> 3]", "takes 2 arguments but the layer has 3"),
    ("ElementwiseLayer[Zeta]", "Zeta is not an elementwise function"),
])
def test_refusals_are_netdsl_errors(text, match):
    with pytest.raises(EvaluationError, match=match):
        S(text)


def test_which_with_true_is_not_an_unknown_symbol():
    layer = S("ElementwiseLayer[Which[# > 0, #, True, 0] &]")
    assert layer(np.array([-1.0, 2.0], np.float32)).tolist() == [0.0, 2.0]


# ---------------------------------------------------------------- torch and ONNX forms
TORCH_FUNCTIONS = [f for f, _ in SMOOTH] + ["IntegerPart", "Unitize", "Positive[#] &",
                                            "Threshold[#, 0.5] &", "Round", "Sign", "Tan",
                                            "Gamma", "Which[# > 0.5, #] &",
                                            "Positive[#] && Negative[# - 1] || # == 0 &"]
DOMAINS = {**dict(SMOOTH), "Gamma": R}
# torch differentiates both branches of If: where the branch not taken has no real value
# (Sqrt of a negative), its NaN reaches the gradient (netdsl's is 0 there)
NAN_BRANCH = ('Threshold[#, {"Hyperbola", 0.5}] &',)


@pytest.mark.parametrize("f", TORCH_FUNCTIONS)
def test_torch_form_matches(f):
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    x = DOMAINS.get(f, STEPS)
    x = np.ascontiguousarray(x)
    net = netdsl.Session().evaluate(
        f'NetInitialize[NetChain[{{ElementwiseLayer[{f}]}}, "Input" -> {x.shape[1]}]]')
    xt = torch.tensor(x, requires_grad=True)
    yt = to_torch(net)(xt)
    (_, layer), = net.leaves()
    (y,), cache = layer.forward(ctx(grad=True), {}, np.ascontiguousarray(x.T))
    # (netdsl's Gamma is within 1e-7 relative of torch's Exp[LogGamma])
    np.testing.assert_allclose(yt.detach().numpy(), y.T, rtol=1e-7 if f == "Gamma" else 1e-9,
                               atol=2 * ERF_ATOL if "Erf[" in f else 1e-12)
    dy = np.random.default_rng(2).standard_normal(x.shape)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, np.ascontiguousarray(dy.T))
    if not yt.requires_grad:       # a step function: no gradient in torch, 0 in netdsl
        np.testing.assert_array_equal(dx, 0)
        return
    yt.backward(torch.tensor(dy))
    if f not in NAN_BRANCH:
        np.testing.assert_allclose(xt.grad.numpy(), dx.T, rtol=1e-6, atol=1e-9)


def test_torch_refuses_what_it_cannot_compute():
    pytest.importorskip("torch")
    from netdsl.torch import layers as torch_layers
    from netdsl.torch import to_torch
    net = S('NetInitialize[NetChain[{ElementwiseLayer[Tanh[#] + Cot[#] &]}, "Input" -> 2]]')
    saved = torch_layers.PRIMITIVES.pop("Cot")
    try:
        with pytest.raises(EvaluationError, match="uses Cot, which netdsl.torch cannot compute") as e:
            to_torch(net)
        assert e.value.tag == "notorch"
    finally:
        torch_layers.PRIMITIVES["Cot"] = saved


ONNX_FUNCTIONS = ["Cot", "Coth", "Csc", "Csch", "Sec", "Sech", "ArcCot", "ArcCoth", "ArcCsc",
                  "ArcCsch", "ArcSec", "ArcSech", "Haversine", "InverseHaversine", "Gudermannian",
                  "InverseGudermannian", "CubeRoot", "IntegerPart", "FractionalPart", "Unitize",
                  "KroneckerDelta", "Tan", "ArcSin", "Sinh", "ArcTanh", "Floor", "Round",
                  "Ceiling", "Sign", "Log1p", "Erfc", "Mod[#, 0.7] &", "Surd[#, 3] &",
                  'Threshold[#, {"Soft", 0.5}] &', "Chop[#, 0.5] &",
                  "Which[# < -1, -1, # < 1, #^3, True, 1] &", "If[Positive[#], #, 0] &",
                  "Positive[#] && !Negative[# - 1] || # == 0 &", '"ELU"[#] + 1 &']
ONNX_DOMAINS = {**DOMAINS, "ArcSin": OPEN, "ArcTanh": OPEN, "Log1p": UNIT}


@pytest.mark.parametrize("f", ONNX_FUNCTIONS)
def test_onnx_form_matches(f):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from netdsl.formats.onnx_export import to_onnx
    x = np.ascontiguousarray(ONNX_DOMAINS.get(f, STEPS), np.float32)
    net = S(f'NetInitialize[NetChain[{{ElementwiseLayer[{f}]}}, "Input" -> {x.shape[1]}]]')
    model = to_onnx(net, 17)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {net.port_names()[0][0]: x})
    np.testing.assert_allclose(got, np.asarray(net(x)), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("f,name", [("InverseErf", "InverseErf"), ("Gamma", "Gamma"),
                                    ("ArcTan[#, 1] &", "ArcTan[x, y]")])
def test_onnx_refuses_what_it_cannot_express(f, name):
    pytest.importorskip("onnx")
    from netdsl.formats.onnx_export import to_onnx
    net = S(f'NetInitialize[NetChain[{{ElementwiseLayer[{f}]}}, "Input" -> 2]]')
    with pytest.raises(EvaluationError,
                       match=re.escape(f"the function {name} has no ONNX counterpart")) as e:
        to_onnx(net)
    assert e.value.tag == "onnxnosup"


def test_one_argument_symbols_are_elementwise_in_containers():
    chain = S('NetChain[{Unitize, Clip}, "Input" -> 3]')
    assert [lay.title() for _, lay in chain.leaves()] == ["ElementwiseLayer[Unitize]",
                                                          "ElementwiseLayer[Clip]"]
    graph = S('NetGraph[{Mod}, {{NetPort["a"], NetPort["b"]} -> 1}]')
    (_, layer), = graph.leaves()
    assert layer.name == "ThreadingLayer" and layer.values["Function"].arity == 2
