"""What the recurrent layers share: ports, shape rule, and the time loop's data layout.

A recurrent layer maps a sequence of vectors {n, InputSize} to one of {n, OutputSize},
keeping the length n (a "Varying" length or a fixed one). The executor hands data
batch-last, (n, InputSize, N); the loop works on time-major (n, N, features) rows, so
that the input projections of every step and gate are one GEMM before the loop, each
step is one GEMM of the state against all gates' state weights, and backward through
time ends with one GEMM per weight matrix over all steps.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np

from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Option, Param, positive_int
from .shapes import LengthVar

try:   # the per-step GEMMs are small: BLAS threads cost more there than they gain
    from threadpoolctl import ThreadpoolController
except ImportError:    # the optional netdsl[speed] extra; only slower without it
    ThreadpoolController = None
_CONTROLLER: Any = None


def one_blas_thread() -> Any:
    """A context running BLAS on one thread: the time loop's (N, H) x (H, G*H) products
    are too small to split, and on a busy machine OpenBLAS's waiting threads spin (15x
    slower measured on 2 shared cores). Without threadpoolctl, nothing changes."""
    global _CONTROLLER
    if ThreadpoolController is None:
        return nullcontext()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1/(1+e^-a) through tanh: one transcendental call, no overflow."""
    out = np.tanh(a * 0.5)
    out *= 0.5
    out += 0.5
    return out


def gate_arrays(gates: tuple[str, ...]) -> tuple[ArraySpec, ...]:
    """Wolfram's per-gate arrays: <Gate>InputWeights, <Gate>StateWeights, <Gate>Biases."""
    out = []
    for g in gates:
        out += [ArraySpec(f"{g}InputWeights", ("OutputSize", "InputSize")),
                ArraySpec(f"{g}StateWeights", ("OutputSize", "OutputSize")),
                ArraySpec(f"{g}Biases", ("OutputSize",), init="zeros")]
    return tuple(out)


def _dropout(x: Any) -> Any:
    if x is None or str(x) == "None":
        return None
    raise ValueError("netdsl's recurrent layers take no \"Dropout\" yet; use \"Dropout\" -> None "
                     "or a DropoutLayer before the layer")


class RecurrentLayer(Layer):
    """Base of BasicRecurrentLayer, GatedRecurrentLayer and LongShortTermMemoryLayer."""

    gates: tuple[str, ...] = ()        # Wolfram's gate names, in the order stacked here
    positional = (Param("OutputSize", positive_int, optional=True),)
    options = (Option("Dropout", None, _dropout),
               LEARNING_RATE_MULTIPLIERS)
    hidden = ("InputSize",)

    def infer(self, s: Infer) -> None:
        s.refine("Input", (None, None), "a sequence of vectors")
        s.refine("Output", (None, None), "a sequence of vectors")
        x, y = s.port("Input"), s.port("Output")
        s.set_value("InputSize", x[1], '"Input" port')
        s.set_value("OutputSize", y[1], '"Output" port')
        # the length is shared: Output has Input's length, and back
        s.refine("Output", (x[0], s.value("OutputSize")), '"Input" port')
        s.refine("Input", (s.port("Output")[0], s.value("InputSize")), '"Output" port')

    def default_ports(self, s: Infer) -> None:
        """Nothing else said: a "Varying" sequence, as Wolfram's default."""
        if s.port("Input") is not None and s.port("Input")[0] is None:
            s.refine("Input", (LengthVar(), None), "its definition")
            s.refine("Output", (s.port("Input")[0], None), '"Input" port')

    # ---- stacked weights: (InputSize, G*H), (H, G*H), (G*H,) -------------------------
    def stacked(self, arrays: dict[str, Any], dtype: Any) -> tuple[np.ndarray, ...]:
        wx = np.concatenate([arrays[f"{g}InputWeights"] for g in self.gates], 0).T
        ws = np.concatenate([arrays[f"{g}StateWeights"] for g in self.gates], 0).T
        b = np.concatenate([arrays[f"{g}Biases"] for g in self.gates])
        return (np.ascontiguousarray(wx, dtype), np.ascontiguousarray(ws, dtype),
                b.astype(dtype, copy=False))

    def unstacked(self, dwx: np.ndarray, dws: np.ndarray, db: np.ndarray,
                  arrays: dict[str, Any]) -> dict[str, np.ndarray]:
        """Gradients of the stacked matrices, split back into Wolfram's arrays."""
        h = dws.shape[0]
        out = {}
        for k, g in enumerate(self.gates):
            sl = slice(k * h, (k + 1) * h)
            for name, d in ((f"{g}InputWeights", dwx[:, sl].T), (f"{g}StateWeights", dws[:, sl].T),
                            (f"{g}Biases", db[sl])):
                out[name] = np.ascontiguousarray(d, arrays[name].dtype)
        return out

    def projections(self, x: np.ndarray, wx: np.ndarray, b: np.ndarray) -> tuple:
        """x (n, d, N) batch-last -> time-major rows X (n, N, d) and X.Wx + b (n, N, G*H)."""
        xt = np.ascontiguousarray(x.transpose(0, 2, 1))
        n, batch, d = xt.shape
        pre = xt.reshape(n * batch, d) @ wx
        pre += b
        return xt, pre.reshape(n, batch, -1)

    def finish(self, ctx, arrays, xt, da_x, da_s, states, wx, ws) -> tuple[list[Any], dict]:
        """One GEMM per matrix over all steps: the arrays' gradients and the input's."""
        n, batch, d = xt.shape
        g = da_x.shape[-1]
        dax = da_x.reshape(n * batch, g)
        das = da_s.reshape(n * batch, g)
        dwx = xt.reshape(n * batch, d).T @ dax
        dws = states[:-1].reshape(n * batch, -1).T @ das
        grads = self.unstacked(dwx, dws, dax.sum(0), arrays)
        if not getattr(ctx, "need_dx", True):
            return [None], grads
        dx = (dax @ wx.T).reshape(n, batch, d).transpose(0, 2, 1)
        return [np.ascontiguousarray(dx)], grads


def batch_last(seq: np.ndarray) -> np.ndarray:
    """(n, N, H) time-major -> (n, H, N) batch-last."""
    return np.ascontiguousarray(seq.transpose(0, 2, 1))
