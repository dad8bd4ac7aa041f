"""CTCLossLayer[]: the connectionist temporal classification loss (Graves et al. 2006).

Wolfram's definition (reference page): "Input" a sequence of probability vectors of size
c+1, the last element the probability of the special blank class; "Target" a sequence of
integers 1..c, not longer than the input; the loss, a real number, is -Log of the total
probability of every alignment: every path of one class (or blank) per input step that
gives the target once repeated classes are merged and blanks removed. The input and the
target have lengths of their own (each "Varying" unless given); the port shapes Wolfram
lists: "Input" -> {len, c+1}, {len, Automatic}, {"Varying", c+1}, {"Varying", Automatic}
or an encoder; "Target" -> {len2}, {"Varying"} or an encoder of integer sequences (a
"Characters" encoder with k codes gives c = k).

The output port is "Loss", as Wolfram's layer has it (Options[CTCLossLayer] lists the
ports "Input", "Target", "Loss"; the reference page's table calls it "Output").

Numerics, in float64 and log space: the target is extended with blanks to 2L+1 positions
(blank, l1, blank, l2, ..., blank); alpha runs forward over the time steps (a Python loop
over steps, vectorised over the positions and the batch), beta backward. Probabilities are
clipped below at P_MIN (1e-30) before Log, as CrossEntropyLossLayer's, so a probability of
exactly 0 gives a finite loss and a zero gradient. A target that no path can give (longer
than the input, or too long once a blank must separate each pair of equal neighbouring
classes) is an error naming the lengths, not a loss of Infinity.
"""

from __future__ import annotations

import numpy as np

from .base import Infer, check_batch_size
from .losses import P_MIN, LossLayer
from .registry import register_layer
from .shapes import LengthVar, PortType

NEG_INF = -np.inf


def required_steps(labels: np.ndarray) -> np.ndarray:
    """Input steps each target (L, N) needs: L plus one blank per pair of equal neighbours."""
    if labels.shape[0] < 2:
        return np.full(labels.shape[1], labels.shape[0], np.int64)
    return labels.shape[0] + np.count_nonzero(labels[1:] == labels[:-1], axis=0)


def extended_labels(labels: np.ndarray, blank: int) -> tuple[np.ndarray, np.ndarray]:
    """(ext, skip) for 0-based labels (L, N): ext (2L+1, N) the classes of the extended
    target (blank first, last and between the labels); skip[s] whether a path may jump
    from position s - 2 to s (s a label position whose label differs from the one before)."""
    n_lab, n = labels.shape
    ext = np.full((2 * n_lab + 1, n), blank, np.int64)
    ext[1::2] = labels
    skip = np.zeros(ext.shape, bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    return ext, skip


def _step_forward(prev: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Log of the sum over the positions a path at step t-1 can come from (s, s-1, s-2)."""
    out = prev.copy()
    out[1:] = np.logaddexp(prev[1:], prev[:-1])
    if len(out) > 2:
        out[2:] = np.where(skip[2:], np.logaddexp(out[2:], prev[:-2]), out[2:])
    return out


def _step_backward(nxt: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Log of the sum over the positions a path at step t+1 can go to (s, s+1, s+2)."""
    out = nxt.copy()
    out[:-1] = np.logaddexp(nxt[:-1], nxt[1:])
    if len(out) > 2:
        out[:-2] = np.where(skip[2:], np.logaddexp(out[:-2], nxt[2:]), out[:-2])
    return out


def ctc_forward(logy: np.ndarray, labels: np.ndarray, keep: bool = False):
    """-Log P(target | input) per example, from log-probabilities ``logy`` (T, c+1, N)
    and 0-based labels (L, N), all examples of one T and L. With ``keep``, also the
    pre-emission alphas (T, S, N), the extended labels and skips for ``ctc_gradient``."""
    steps, classes, n = logy.shape
    ext, skip = extended_labels(labels, classes - 1)
    lp = np.take_along_axis(logy, ext[None], axis=1)                  # (T, S, N)
    size = ext.shape[0]
    pre = np.full((size, n), NEG_INF)
    pre[:min(2, size)] = 0.0                                          # start: blank or l1
    pres = np.empty((steps, size, n)) if keep else None
    alpha = pre
    for t in range(steps):
        if t:
            pre = _step_forward(alpha, skip)
        if pres is not None:
            pres[t] = pre
        alpha = pre + lp[t]
    logp = alpha[-1] if size == 1 else np.logaddexp(alpha[-1], alpha[-2])
    return -logp, (pres, lp, ext, skip, logp)


def ctc_gradient(pres: np.ndarray, lp: np.ndarray, ext: np.ndarray, skip: np.ndarray,
                 logp: np.ndarray, classes: int) -> np.ndarray:
    """d(-Log P)/d(probability) (T, c+1, N): -Sum over the positions s of class k of
    alpha_pre[t, s] beta_post[t, s] / P, where alpha_pre excludes step t's emission and
    beta_post everything from step t on (so no division by a probability)."""
    steps, size, n = lp.shape
    g = np.empty((steps, size, n))
    beta = post = np.full((size, n), NEG_INF)
    post[max(size - 2, 0):] = 0.0                                     # end: last label or blank
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:
            post = _step_backward(beta, skip)
        g[t] = pres[t] + post
        beta = post + lp[t]
    g = np.exp(g - logp)
    flat = ((np.arange(steps)[:, None, None] * classes + ext[None]) * n
            + np.arange(n)[None, None, :])
    dx = np.bincount(flat.ravel(), weights=g.ravel(), minlength=steps * classes * n)
    return -dx.reshape(steps, classes, n)


@register_layer
class CTCLossLayer(LossLayer):
    name = "CTCLossLayer"
    summary = ("the connectionist temporal classification loss: -Log of the total "
               "probability of the alignments of Target (classes 1..c) to Input (probability "
               "vectors of size c+1, blank last)")
    hidden = ("Classes",)

    def reads_integers(self, port: str) -> bool:
        return port == "Target"

    def infer(self, s: Infer) -> None:
        s.refine("Loss", PortType(()), "its definition")
        if s.port("Input") is None:      # Wolfram's default: {"Varying", Automatic}
            s.refine("Input", (LengthVar(), None), "its definition")
        if s.port("Target") is None:     # and a "Varying" sequence of its own
            s.refine("Target", PortType((LengthVar(),), True), "its definition")
        x, t = s.port("Input"), s.port_type("Target")
        if len(x) != 2:
            s.fail('the "Input" port must be a sequence of probability vectors (a matrix), '
                   f"but it has rank {len(x)}")
        if t.shape is not None and len(t.shape) != 1:
            s.fail('the "Target" port must be a sequence of class indices (a vector), but it '
                   f"has rank {len(t.shape)}")
        if isinstance(x[1], int):
            if x[1] < 2:
                s.fail(f"the input vectors must have size c+1 with c >= 1 classes and the "
                       f"blank, but they have size {x[1]}")
            s.set_value("Classes", x[1] - 1, '"Input" port')
        s.set_value("Classes", t.classes, '"Target" port')
        c = s.value("Classes")
        s.refine("Target", PortType(s.port("Target"), True, c), "its definition")
        if c is not None:
            s.refine("Input", (None, c + 1), 'parameter "Classes"')
        steps, length = s.port("Input")[0], s.port("Target")[0]
        if isinstance(steps, int) and isinstance(length, int) and length > steps:
            s.fail(f"the target sequence (length {length}) cannot be longer than the input "
                   f"sequence (length {steps})")

    # ---- numerics: x (T, c+1, N) probabilities, t (L, N) integers 1..c; loss (N,) --------
    def forward(self, ctx, arrays, x, t):
        steps, classes, n = x.shape
        labels = np.asarray(t, np.int64).reshape(-1, n) - 1
        if labels.size and (labels.min() < 0 or labels.max() >= classes - 1):
            bad = int(labels.min() if labels.min() < 0 else labels.max()) + 1
            raise self.error("invindex", f"the target class index {bad} is not between 1 and "
                                         f"{classes - 1} (the input's last element is the "
                                         f"blank).")
        need = int(required_steps(labels).max()) if n else 0
        if need > steps:
            raise self.error("netseqlen", f"A target sequence of length {labels.shape[0]} "
                                          f"needs at least {need} input steps (a blank "
                                          f"separates equal neighbouring classes), but the "
                                          f"input sequence has {steps}.")
        # alpha, the emissions and the gradient's terms: three float64 (T, 2L+1, N) arrays
        check_batch_size((steps, 2 * labels.shape[0] + 1, n), 24, f"the alignments of {self.name}")
        xd = np.asarray(x, np.float64)
        if np.any(xd < 0):
            raise self.error("invprob", "the input must be probability vectors, but it has "
                                        "a negative element.")
        ok = xd >= P_MIN
        logy = np.log(np.where(ok, xd, P_MIN))
        loss, (pres, lp, ext, skip, logp) = ctc_forward(logy, labels, keep=ctx.grad)
        cache = (pres, lp, ext, skip, logp, ok, x.dtype) if ctx.grad else None
        return [np.ascontiguousarray(loss, dtype=x.dtype)], cache

    def backward(self, ctx, arrays, cache, dloss):
        pres, lp, ext, skip, logp, ok, dtype = cache
        dx = ctc_gradient(pres, lp, ext, skip, logp, ok.shape[1])
        dx *= ok                                      # the clip's derivative
        dx *= np.asarray(dloss, np.float64)
        return [dx.astype(dtype, copy=False), None], {}
