"""LongShortTermMemoryLayer[n]: Wolfram's LSTM over a sequence of vectors.

Per step, with x the input and s, c the state and cell state (zero at the start):
  i = σ(Wix.x + Wis.s + bi)   o = σ(Wox.x + Wos.s + bo)   f = σ(Wfx.x + Wfs.s + bf)
  m = tanh(Wmx.x + Wms.s + bm)   c = f*c + i*m   s = o*tanh(c)
Arrays (Wolfram's names): InputGate*, OutputGate*, ForgetGate*, MemoryGate* with
*InputWeights {n, InputSize}, *StateWeights {n, n}, *Biases {n}. The same as PyTorch's
nn.LSTM with its (i, f, g, o) rows mapped to Wolfram's (Input, Forget, Memory, Output)
gates and b_ih + b_hh as the biases. Output is the sequence of states.
"""

from __future__ import annotations


from . import lstm_kernel as kernel
from .recurrent_core import RecurrentLayer, gate_arrays, one_blas_thread
from .registry import register_layer


@register_layer
class LongShortTermMemoryLayer(RecurrentLayer):
    name = "LongShortTermMemoryLayer"
    summary = "LSTM: a sequence of vectors to the sequence of its n-vector states"
    gates = kernel.GATES          # Input, Output, Forget, Memory
    array_specs = gate_arrays(gates)

    # the time loop and its layout: lstm_kernel.py
    def forward(self, ctx, arrays, x):
        w = kernel.weights(ctx, self, arrays, x.dtype)
        rows = kernel.input_rows(x)
        n, _, batch = x.shape
        pre = (w.wxb_half @ rows).reshape(-1, n, batch)
        with one_blas_thread():
            run = kernel.forward(pre, w.ws_half, keep=ctx.grad)
        return [run.states[1:]], ((rows, run, w) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        rows, run, w = cache
        with one_blas_thread():
            da, _, _ = kernel.backward(run, w.ws, dy)
        grads = kernel.weight_grads(da, run, rows, arrays)
        if not getattr(ctx, "need_dx", True):
            return [None], grads
        return [kernel.input_grad(da, w.wx)], grads

    def forward_from_lookup(self, ctx, arrays, table, idx):
        """After an EmbeddingLayer: each step's input projection is a gather of columns of
        Wx . table^T + b. Taken when the table has no more rows than there are indices (and,
        in training, than twice its columns: backward sums the gate gradients per row)."""
        rows, dim = table.shape
        if (idx.ndim != 2 or rows > idx.size or ctx.grad and rows > 2 * dim
                or len(self.port_names()[1]) > 1):     # final states read: the general way
            return None
        w = kernel.weights(ctx, self, arrays, table.dtype)
        pre = kernel.lookup_projection(ctx, self, w, arrays, table, idx)
        with one_blas_thread():
            run = kernel.forward(pre, w.ws_half, keep=ctx.grad)
        return [run.states[1:]], ((idx, run, w) if ctx.grad else None)

    def backward_from_lookup(self, ctx, arrays, table, cache, dy):
        idx, run, w = cache
        with one_blas_thread():
            da, _, _ = kernel.backward(run, w.ws, dy)
        return kernel.lookup_grads(da, run, w, idx, table, arrays)
