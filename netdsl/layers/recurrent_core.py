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

from ..expr import Symbol
from .base import LEARNING_RATE_MULTIPLIERS, ArraySpec, Infer, Layer, Option, Param, positive_int
from .recurrent_dropout import Masks, draw_masks, parse_dropout
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


class RecurrentLayer(Layer):
    """Base of BasicRecurrentLayer, GatedRecurrentLayer and LongShortTermMemoryLayer.

    State ports (Wolfram's): "State" (and the LSTM's "CellState"), vectors of OutputSize,
    shown only when used. As an input, the initial state (zeros when not given); as an
    output, the final state, each example's own last step. ``forward`` receives the
    shown state inputs after "Input" and returns the shown state outputs after "Output".
    """

    gates: tuple[str, ...] = ()        # Wolfram's gate names, in the order stacked here
    positional = (Param("OutputSize", positive_int, optional=True),)
    options = (Option("Dropout", None, parse_dropout),
               LEARNING_RATE_MULTIPLIERS)
    hidden = ("InputSize",)
    optional_inputs: tuple[str, ...] = ("State",)
    optional_outputs: tuple[str, ...] = ("State",)

    @property
    def has_train_behavior(self) -> bool:   # type: ignore[override]
        """Only with "Dropout": Train mode is Test mode otherwise."""
        return self.values.get("Dropout") is not None

    def example_coupling(self, train: bool) -> str:
        """Per example; "Dropout" draws its masks from ctx.rng."""
        return "random" if train and self.has_train_behavior else "none"

    def exported_value(self, name: str) -> Any:
        """NetExtract and Options give "Dropout" -> None, as Wolfram (not Automatic)."""
        if name == "Dropout" and self.values.get("Dropout") is None:
            return Symbol("None")
        return super().exported_value(name)

    def infer(self, s: Infer) -> None:
        s.refine("Input", (None, None), "a sequence of vectors")
        s.refine("Output", (None, None), "a sequence of vectors")
        x, y = s.port("Input"), s.port("Output")
        s.set_value("InputSize", x[1], '"Input" port')
        s.set_value("OutputSize", y[1], '"Output" port')
        for p in self.optional_inputs + self.optional_outputs:   # vectors of OutputSize
            if p in s.ports:
                s.refine(p, (s.value("OutputSize"),), 'parameter "OutputSize"')
                s.set_value("OutputSize", s.port(p)[0], f'"{p}" port')
        # the length is shared: Output has Input's length, and back
        s.refine("Output", (x[0], s.value("OutputSize")), '"Input" port')
        s.refine("Input", (s.port("Output")[0], s.value("InputSize")), '"Output" port')

    def default_ports(self, s: Infer) -> None:
        """Nothing else said: a "Varying" sequence, as Wolfram's default."""
        if s.port("Input") is not None and s.port("Input")[0] is None:
            s.refine("Input", (LengthVar(), None), "its definition")
            s.refine("Output", (s.port("Input")[0], None), '"Input" port')

    # ---- state ports: values batch-last (h, N), as the executor passes them --------------
    def given_states(self, given: tuple) -> dict[str, np.ndarray]:
        """The shown state inputs by port (what ``forward`` got after "Input")."""
        return dict(zip(self.port_names()[0][1:], given))

    def initial_rows(self, given: tuple, batch: int, h: int, dtype: Any) -> list[np.ndarray]:
        """Each state of ``optional_inputs`` as (N, h) rows: the value given or zeros."""
        states = self.given_states(given)
        return [np.ascontiguousarray(states[p].T, dtype) if p in states
                else np.zeros((batch, h), dtype) for p in self.optional_inputs]

    def with_final_states(self, y: np.ndarray, finals: dict[str, np.ndarray]) -> list:
        """The outputs: the sequence, then the shown final states (``finals`` (h, N))."""
        return [y] + [np.ascontiguousarray(finals[p]) for p in self.port_names()[1][1:]]

    def final_state_grads(self, dfinal: tuple) -> dict[str, np.ndarray]:
        """The output gradients of the shown final states by port (what ``backward`` got
        after the sequence's)."""
        return dict(zip(self.port_names()[1][1:], dfinal))

    def final_state_rows(self, dfinal: tuple, batch: int, h: int, dtype: Any) -> list:
        """The output gradient of each state of ``optional_outputs`` as fresh (N, h) rows
        (zeros for a state not read)."""
        grads = self.final_state_grads(dfinal)
        return [np.array(grads[p].T, dtype) if p in grads else np.zeros((batch, h), dtype)
                for p in self.optional_outputs]

    def initial_state_grads(self, grads: dict[str, np.ndarray]) -> list:
        """The gradients of the shown state inputs (``grads`` (h, N) by port)."""
        return [np.ascontiguousarray(grads[p]) for p in self.port_names()[0][1:]]

    # ---- dropout ---------------------------------------------------------------------
    def masks(self, ctx: Any, x: np.ndarray, h: int) -> Masks | None:
        """This pass's dropout masks (Train mode only), or None."""
        value = self.values.get("Dropout")
        if value is None or not ctx.train:
            return None
        n, d, batch = x.shape
        return draw_masks(ctx.rng, value, len(self.gates), n, batch, d, h, x.dtype)

    # ---- stacked weights: (InputSize, G*H), (H, G*H), (G*H,) -------------------------
    def stacked(self, arrays: dict[str, Any], dtype: Any,
                drop: Masks | None = None) -> tuple[np.ndarray, ...]:
        wx = np.concatenate([arrays[f"{g}InputWeights"] for g in self.gates], 0).T
        ws = np.concatenate([arrays[f"{g}StateWeights"] for g in self.gates], 0).T
        b = np.concatenate([arrays[f"{g}Biases"] for g in self.gates])
        wx, ws = np.ascontiguousarray(wx, dtype), np.ascontiguousarray(ws, dtype)
        if drop is not None and drop.wx is not None and drop.ws is not None:
            wx, ws = wx * drop.wx, ws * drop.ws          # DropConnect
        return wx, ws, b.astype(dtype, copy=False)

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

    def projections(self, x: np.ndarray, wx: np.ndarray, b: np.ndarray,
                    drop: Masks | None = None) -> tuple:
        """x (n, d, N) batch-last -> time-major rows X (n, N, d) and X.Wx + b (n, N, G*H);
        with "VariationalInput" dropout each gate sees its own masked X."""
        xt = np.ascontiguousarray(x.transpose(0, 2, 1))
        n, batch, d = xt.shape
        if drop is not None and drop.x is not None:
            h = wx.shape[1] // len(self.gates)
            pre = np.empty((n, batch, wx.shape[1]), xt.dtype)
            for k in range(len(self.gates)):
                sl = slice(k * h, (k + 1) * h)
                masked = (xt * drop.x[k]).reshape(n * batch, d)
                pre[:, :, sl] = (masked @ wx[:, sl]).reshape(n, batch, h)
            pre += b
            return xt, pre
        pre = xt.reshape(n * batch, d) @ wx
        pre += b
        return xt, pre.reshape(n, batch, -1)

    @staticmethod
    def state_product(s: np.ndarray, ws: np.ndarray, smask: np.ndarray | None,
                      out: np.ndarray | None = None) -> np.ndarray:
        """s.Ws for every gate at once (N, G*H); with per-gate state masks (G, N, H) each
        gate's block sees its own masked state."""
        if smask is None:
            return np.matmul(s, ws, out=out)
        return np.concatenate([(s * m) @ w for m, w in zip(smask, _blocks(ws, len(smask)))],
                              axis=1)

    @staticmethod
    def state_grad(g: np.ndarray, ws: np.ndarray, smask: np.ndarray | None) -> np.ndarray:
        """The gradient reaching the state through ``state_product`` from the gates' g."""
        if smask is None:
            return g @ ws.T
        k = len(smask)
        return sum((gb @ w.T) * m for gb, w, m in zip(_blocks(g, k), _blocks(ws, k), smask))

    def finish(self, ctx, arrays, xt, da_x, da_s, srows, wx, ws,
               drop: Masks | None = None, state_grads: list | None = None
               ) -> tuple[list[Any], dict]:
        """One GEMM per matrix over all steps: the arrays' gradients and the input's.
        ``srows``: what multiplied the state weights, (n, N, H), or per gate (G, n, N, H)
        under "VariationalState" dropout."""
        n, batch, d = xt.shape
        g = da_x.shape[-1]
        k = len(self.gates)
        dax = da_x.reshape(n * batch, g)
        das = da_s.reshape(n * batch, g)
        if drop is not None and drop.x is not None:
            dwx = np.concatenate([(xt * m).reshape(n * batch, d).T @ a for m, a in
                                  zip(drop.x, _blocks(dax, k))], axis=1)
        else:
            dwx = xt.reshape(n * batch, d).T @ dax
        if srows.ndim == 4:
            dws = np.concatenate([r.reshape(n * batch, -1).T @ a for r, a in
                                  zip(srows, _blocks(das, k))], axis=1)
        else:
            dws = srows.reshape(n * batch, -1).T @ das
        if drop is not None and drop.wx is not None and drop.ws is not None:
            dwx, dws = dwx * drop.wx, dws * drop.ws
        grads = self.unstacked(dwx, dws, dax.sum(0), arrays)
        extra = state_grads or []
        if not getattr(ctx, "need_dx", True):
            return [None] + extra, grads
        if drop is not None and drop.x is not None:
            dxt = sum((a @ w.T).reshape(n, batch, d) * m for a, w, m in
                      zip(_blocks(dax, k), _blocks(wx, k), drop.x))
        else:
            dxt = (dax @ wx.T).reshape(n, batch, d)
        return [np.ascontiguousarray(dxt.transpose(0, 2, 1))] + extra, grads

    def state_rows(self, states: np.ndarray, drop: Masks | None) -> np.ndarray:
        """What multiplied the state weights at each step: the previous states, masked per
        gate under "VariationalState" dropout."""
        prev = states[:-1]
        if drop is None or drop.s is None:
            return prev
        return prev[None] * drop.s[:, None]


def _blocks(a: np.ndarray, k: int) -> list[np.ndarray]:
    """The k gate blocks of the last axis."""
    h = a.shape[-1] // k
    return [a[..., i * h:(i + 1) * h] for i in range(k)]


def batch_last(seq: np.ndarray) -> np.ndarray:
    """(n, N, H) time-major -> (n, H, N) batch-last."""
    return np.ascontiguousarray(seq.transpose(0, 2, 1))
