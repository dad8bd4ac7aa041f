"""The optimisers' updates against hand-written reference updates (float64), step by step.

References (Wolfram's documented defaults; MXNet, Wolfram's backend, for the forms):
  ADAM     m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
           w <- w - lr_t m/(Sqrt[v] + eps),  lr_t = lr Sqrt[1 - b2^t]/(1 - b1^t)
           (lr 0.001, b1 0.9, b2 0.999, eps 1e-5)
  SGD      lr_t = lr Sqrt[1 - Min[t, T]/(T + 1)] ("Polynomial", the default schedule);
           v <- mu v - lr_t g;  w <- w + v                  (lr 0.01, mu 0.93)
  RMSProp  s <- beta s + (1 - beta) g^2;  v <- mu v + lr g/(Sqrt[s] + eps);  w <- w - v
           (lr 0.001, beta 0.95, mu 0.9, eps 1e-6)
Common: "L2Regularization" r adds r w to the gradient, "GradientClipping" c clips each
gradient element to [-c, c], "WeightClipping" clips each weight; LearningRateMultipliers
scale each array's learning rate (0 freezes it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import netdsl
from netdsl.runtime.optimizers import Optimizer, Settings
from netdsl.runtime.train import OPTION_DEFAULTS, read_options


def grads_sequence(n=7, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n) * (1 + k) for k in range(steps)]


def run(settings, w0, grads, scale=None, total=100, dtype=np.float32):
    p = np.array(w0, dtype)
    opt = Optimizer(settings, p, None if scale is None else np.asarray(scale, dtype), total)
    out = []
    for g in grads:
        opt.step(np.array(g, dtype))
        out.append(p.copy())
    return out


def adam_reference(w0, grads, lr=0.001, b1=0.9, b2=0.999, eps=1e-5, scale=1.0):
    w = np.array(w0, np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    out = []
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - scale * lr_t * m / (np.sqrt(v) + eps)
        out.append(w.copy())
    return out


def sgd_reference(w0, grads, lr=0.01, mu=0.93, total=None, scale=1.0):
    w = np.array(w0, np.float64)
    v = np.zeros_like(w)
    out = []
    for t, g in enumerate(grads, 1):
        lr_t = lr if total is None else lr * math.sqrt(1 - min(t, total) / (total + 1))
        v = mu * v - scale * lr_t * g
        w = w + v
        out.append(w.copy())
    return out


def rmsprop_reference(w0, grads, lr=0.001, beta=0.95, mu=0.9, eps=1e-6):
    w = np.array(w0, np.float64)
    s = np.zeros_like(w)
    v = np.zeros_like(w)
    out = []
    for g in grads:
        s = beta * s + (1 - beta) * g * g
        v = mu * v + lr * g / (np.sqrt(s) + eps)
        w = w - v
        out.append(w.copy())
    return out


def assert_steps(actual, expected, rtol=2e-6, atol=1e-7):
    assert len(actual) == len(expected)
    for k, (a, e) in enumerate(zip(actual, expected), 1):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"after step {k}")


W0 = np.linspace(-1, 1, 7)


# ---------------------------------------------------------------- the formulas
def test_adam_defaults():
    s = Settings()
    assert (s.method, s.lr, s.beta1, s.beta2) == ("ADAM", 0.001, 0.9, 0.999)
    grads = grads_sequence()
    assert_steps(run(s, W0, grads), adam_reference(W0, grads))


def test_adam_first_step_is_lr_times_sign():
    # t = 1: m = 0.1 g, v = 0.001 g^2, lr_1 = lr Sqrt[0.001]/0.1, so the step is
    # lr g/(|g| + eps/Sqrt[0.001]) ~ lr Sign[g]
    g = np.array([2.0, -3.0, 0.5])
    (w,) = run(Settings(), np.zeros(3), [g], dtype=np.float64)
    np.testing.assert_allclose(w, -0.001 * g / (np.abs(g) + 1e-5 / math.sqrt(0.001)),
                               rtol=1e-12)


def test_adam_options():
    s = Settings(learning_rate=0.05, beta1=0.8, beta2=0.99, epsilon=1e-3)
    grads = grads_sequence(seed=1)
    assert_steps(run(s, W0, grads),
                 adam_reference(W0, grads, lr=0.05, b1=0.8, b2=0.99, eps=1e-3))


def test_sgd_defaults_with_polynomial_schedule():
    s = read_options({**OPTION_DEFAULTS, "Method": "SGD"}).settings
    assert (s.method, s.lr, s.schedule) == ("SGD", 0.01, "Polynomial")
    grads = grads_sequence(seed=2)
    assert_steps(run(s, W0, grads, total=8), sgd_reference(W0, grads, total=8))


def test_sgd_without_schedule_and_momentum():
    s = read_options({**OPTION_DEFAULTS,
                      "Method": netdsl.parse('{"SGD", "Momentum" -> 0.5, '
                                             '"LearningRateSchedule" -> None}'),
                      "LearningRate": 0.1}).settings
    grads = grads_sequence(seed=3)
    assert_steps(run(s, W0, grads), sgd_reference(W0, grads, lr=0.1, mu=0.5))
    s.momentum = 0.0
    (w,) = run(s, W0, grads[:1], dtype=np.float64)
    np.testing.assert_allclose(w, W0 - 0.1 * grads[0], rtol=1e-15)


def test_rmsprop_defaults():
    s = read_options({**OPTION_DEFAULTS, "Method": "RMSProp"}).settings
    assert s.method == "RMSProp" and s.lr == 0.001
    grads = grads_sequence(seed=4)
    assert_steps(run(s, W0, grads), rmsprop_reference(W0, grads))


def test_l2_regularization_and_gradient_clipping():
    grads = grads_sequence(seed=5)
    s = Settings(method="SGD", learning_rate=0.1, momentum=0.0, l2=0.3)
    w = np.array(W0)
    expected = []
    for g in grads:
        w = w - 0.1 * (g + 0.3 * w)
        expected.append(w.copy())
    assert_steps(run(s, W0, grads), expected)
    s = Settings(method="SGD", learning_rate=0.1, momentum=0.0, gradient_clipping=0.5)
    w = np.array(W0)
    expected = []
    for g in grads:
        w = w - 0.1 * np.clip(g, -0.5, 0.5)
        expected.append(w.copy())
    assert_steps(run(s, W0, grads), expected)
    # ADAM sees the clipped gradient
    s = Settings(gradient_clipping=0.5)
    assert_steps(run(s, W0, grads),
                 adam_reference(W0, [np.clip(g, -0.5, 0.5) for g in grads]))


def test_weight_clipping():
    s = Settings(method="SGD", learning_rate=1.0, momentum=0.0, weight_clipping=0.7)
    g = np.full(7, -1.0)
    (w,) = run(s, W0, [g], dtype=np.float64)
    np.testing.assert_allclose(w, np.clip(W0 + 1.0, -0.7, 0.7))


@pytest.mark.parametrize("method", ["ADAM", "SGD", "RMSProp"])
def test_multipliers_scale_the_learning_rate(method):
    """A multiplier scales the step (the learning rate), for ADAM too, where scaling the
    gradient instead would change almost nothing; 0 freezes."""
    scale = np.array([1, 1, 0.5, 0.5, 0, 0, 2.0])
    grads = grads_sequence(seed=6)
    s = Settings(method=method)
    if method == "SGD":
        s.momentum, s.schedule = 0.9, None
    actual = run(s, W0, grads, scale=scale)
    for factor in (1.0, 0.5, 2.0):
        cols = scale == factor
        ref = {"ADAM": adam_reference(W0, grads, scale=factor),
               "SGD": sgd_reference(W0, grads, mu=0.9, scale=factor),
               "RMSProp": rmsprop_reference(W0, grads, lr=0.001 * factor)}[method]
        assert_steps([a[cols] for a in actual], [r[cols] for r in ref])
    for a in actual:
        np.testing.assert_array_equal(a[scale == 0], W0[scale == 0].astype(np.float32))


def test_frozen_elements_ignore_weight_clipping_and_l2():
    scale = np.array([1, 0, 1, 0, 1, 0, 1.0])
    s = Settings(method="SGD", learning_rate=0.5, momentum=0.0, l2=1.0, weight_clipping=0.2)
    (w,) = run(s, W0, [np.zeros(7)], scale=scale, dtype=np.float64)
    np.testing.assert_array_equal(w[scale == 0], W0[scale == 0])
    np.testing.assert_allclose(w[scale == 1], np.clip(W0[scale == 1] * 0.5, -0.2, 0.2))


# ---------------------------------------------------------------- through NetTrain
def train_linear(method_opts: str, rounds: int):
    """y = w x + b on one example (x = 2, y = 1), MSE loss: dL/dw = 2 (w x + b - y) x."""
    s = netdsl.Session()
    s.evaluate('net = LinearLayer[1, "Weights" -> {{0.5}}, "Biases" -> {0.25}, "Input" -> 1]')
    s.evaluate(f'trained = NetTrain[net, {{{{2.}} -> {{1.}}}}, {method_opts}, '
               f'MaxTrainingRounds -> {rounds}, TrainingProgressReporting -> None]')
    w = s.evaluate('Normal[NetExtract[trained, "Weights"]]')
    b = s.evaluate('Normal[NetExtract[trained, "Biases"]]')
    return float(netdsl.expr.to_ndarray(w).ravel()[0]), float(netdsl.expr.to_ndarray(b)[0])


def hand_gradients(update, rounds):
    w, b = 0.5, 0.25
    state = {}
    for t in range(1, rounds + 1):
        r = 2 * (w * 2 + b - 1)
        g = np.array([r * 2, r])
        w, b = update(np.array([w, b]), g, t, state)
    return w, b


def test_net_train_adam_matches_hand_updates():
    def adam(p, g, t, st):
        st["m"] = 0.9 * st.get("m", 0) + 0.1 * g
        st["v"] = 0.999 * st.get("v", 0) + 0.001 * g * g
        lr_t = 0.01 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        return p - lr_t * st["m"] / (np.sqrt(st["v"]) + 1e-5)
    got = train_linear("LearningRate -> 0.01", 5)
    assert got == pytest.approx(hand_gradients(adam, 5), rel=1e-5)


def test_net_train_sgd_matches_hand_updates():
    rounds = 4

    def sgd(p, g, t, st):
        lr_t = 0.01 * math.sqrt(1 - min(t, rounds) / (rounds + 1))
        st["v"] = 0.93 * st.get("v", 0) - lr_t * g
        return p + st["v"]
    got = train_linear('Method -> "SGD"', rounds)
    assert got == pytest.approx(hand_gradients(sgd, rounds), rel=1e-5)


def test_method_suboptions_are_read():
    s = read_options({**OPTION_DEFAULTS, "Method": netdsl.parse(
        '{"ADAM", "Beta1" -> 0.8, "Beta2" -> 0.95, "Epsilon" -> 1*^-7, "LearningRate" -> 0.02, '
        '"L2Regularization" -> 0.001, "GradientClipping" -> 5}')}).settings
    assert (s.lr, s.beta1, s.beta2, s.epsilon, s.l2, s.gradient_clipping) == \
        (0.02, 0.8, 0.95, 1e-7, 0.001, 5.0)
    with pytest.raises(netdsl.EvaluationError, match="not an option of the ADAM method"):
        read_options({**OPTION_DEFAULTS, "Method": netdsl.parse('{"ADAM", "Beta" -> 0.8}')})
    with pytest.raises(netdsl.EvaluationError, match="not a training method"):
        read_options({**OPTION_DEFAULTS, "Method": "Newton"})


def test_unsupported_schedule_is_an_error():
    with pytest.raises(netdsl.EvaluationError, match="LearningRateSchedule"):
        read_options({**OPTION_DEFAULTS, "Method": netdsl.parse(
            '{"SGD", "LearningRateSchedule" -> (#1 &)}')})
    s = read_options({**OPTION_DEFAULTS, "Method": netdsl.parse(
        '{"ADAM", "LearningRateSchedule" -> "Polynomial"}')}).settings
    assert s.schedule == "Polynomial"
    grads = grads_sequence(seed=7)
    total = 6
    factors = [math.sqrt(1 - min(t, total) / (total + 1)) for t in range(1, 7)]
    actual = run(s, W0, grads, total=total, dtype=np.float64)
    # ADAM with the schedule: lr_t gets the same factor
    w = np.array(W0)
    m = v = 0
    for t, (g, f) in enumerate(zip(grads, factors), 1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - f * 0.001 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-5)
    np.testing.assert_allclose(actual[-1], w, rtol=1e-12)


@pytest.mark.parametrize("opts,update", [
    ('"L2Regularization" -> 0.5', lambda p, g: p - 0.1 * (g + 0.5 * p)),
    ('"GradientClipping" -> 0.3', lambda p, g: p - 0.1 * np.clip(g, -0.3, 0.3)),
    ('L2Regularization -> 0.5, GradientClipping -> 0.3',
     lambda p, g: p - 0.1 * np.clip(g + 0.5 * p, -0.3, 0.3)),
])
def test_net_train_regularization_and_clipping(opts, update):
    got = train_linear('Method -> {"SGD", "Momentum" -> 0, "LearningRateSchedule" -> None}, '
                       f'LearningRate -> 0.1, {opts}', 3)
    expected = hand_gradients(lambda p, g, t, st: update(p, g), 3)
    assert got == pytest.approx(expected, rel=1e-5)
