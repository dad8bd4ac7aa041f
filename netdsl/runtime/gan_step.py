"""Running a NetGANOperator (graph/gan.py) as one plan step around two inner plans.

Forward: the generator's plan on "Latent" gives the fake batch; the discriminator's plan
runs twice, on "Sample" and on the fake batch (two passes with their own batch
statistics, its moving statistics moved by the real pass then the fake one); the losses
are Wolfram's:

- "JensenShannon": LossReal = -Log[p_real], LossFake = -Log[1 - p_fake], each argument
  clipped below at P_MIN (layers/losses.py: exact for every probability above 1e-30,
  zero gradient where the clip acts). A discriminator output outside [0, 1] is an
  ``invprob`` error: it is not a probability.
- "Wasserstein": LossReal = -d_real, LossFake = d_fake.

Backward: the two discriminator passes' array gradients add up (NetTrain minimises
LossReal + LossFake for the discriminator); the gradient LossFake sends back through the
discriminator into the fake batch is *reversed* before it enters the generator, so the
generator's arrays move to maximise LossFake, as Wolfram's NetTrain does. A gradient
given to "GeneratedFake" itself (NetPortGradient) reaches the generator unreversed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..layers.losses import P_MIN
from .context import Ctx
from .operator_steps import OperatorStep
from .steps import Plan


class GANStep(OperatorStep):
    """The executor's step for a NetGANOperator (plans: generator, discriminator)."""

    def __init__(self, net: Any, plans: list[Plan]):
        super().__init__(net, plans)
        self.loss = net.loss_type()
        (self.g_in,), (self.g_out,) = net.net("Generator").port_names()
        (self.d_in,), (self.d_out,) = net.net("Discriminator").port_names()

    def forward(self, ctx: Ctx, arrays: dict[str, np.ndarray], sample: np.ndarray,
                latent: np.ndarray, *rest):
        steps = self.bound(arrays)
        g, g_values, g_caches = self._run(ctx, 0, steps[0], {self.g_in: latent})
        fake = np.ascontiguousarray(g[self.g_out])
        real_out, r_values, r_caches = self._run(ctx, 1, steps[1], {self.d_in: sample})
        fake_out, f_values, f_caches = self._run(ctx, 1, steps[1], {self.d_in: fake})
        d_real, d_fake = real_out[self.d_out], fake_out[self.d_out]
        if self.loss == "JensenShannon":
            _check_probability(d_real, "real sample")
            _check_probability(d_fake, "generated sample")
            lr = -np.log(np.maximum(d_real, np.float32(P_MIN)))
            lf = -np.log(np.maximum(1 - d_fake, np.float32(P_MIN)))
        else:
            lr, lf = -d_real, np.array(d_fake, copy=True)
        cache = ((steps, (g_values, g_caches), (r_values, r_caches), (f_values, f_caches),
                  d_real, d_fake, sample.shape, latent.shape) if ctx.grad else None)
        return [lr.astype(sample.dtype, copy=False), lf.astype(sample.dtype, copy=False),
                fake], cache

    def backward(self, ctx: Ctx, arrays: dict[str, np.ndarray], cache: Any,
                 dloss_real: np.ndarray, dloss_fake: np.ndarray, dfake: np.ndarray, *rest):
        steps, (g_values, g_caches), (r_values, r_caches), (f_values, f_caches), \
            d_real, d_fake, sample_shape, latent_shape = cache
        if self.loss == "JensenShannon":       # d(-Log p)/dp, d(-Log[1 - p])/dp; 0 where clipped
            one = np.float32(1)
            dr = np.where(d_real >= P_MIN, -dloss_real / np.maximum(d_real, P_MIN), 0)
            df = np.where(one - d_fake >= P_MIN,
                          dloss_fake / np.maximum(one - d_fake, P_MIN), 0)
        else:
            dr, df = -dloss_real, dloss_fake
        dtype = dloss_real.dtype
        dr, df = dr.astype(dtype, copy=False), df.astype(dtype, copy=False)
        grads: dict[str, np.ndarray] = {}
        d_sample = self._back(ctx, 1, steps[1], r_values, r_caches, {self.d_out: dr},
                              grads)[self.d_in]
        d_through = self._back(ctx, 1, steps[1], f_values, f_caches, {self.d_out: df},
                               grads)[self.d_in]
        seed = np.array(dfake, dtype=dtype, copy=True)
        if d_through is not None:
            seed -= d_through                  # the gradient reversal into the generator
        d_latent = self._back(ctx, 0, steps[0], g_values, g_caches, {self.g_out: seed},
                              grads)[self.g_in]
        d_sample = np.zeros(sample_shape, dtype) if d_sample is None else d_sample
        d_latent = np.zeros(latent_shape, dtype) if d_latent is None else d_latent
        return [d_sample, d_latent], grads

    def moving_updates(self, arrays: dict[str, Any], cache: Any) -> dict[str, Any]:
        """The generator's moving statistics from its pass; the discriminator's from the
        real pass, then moved further by the fake pass."""
        if cache is None:
            return {}
        steps = cache[0]
        out: dict[str, Any] = {}
        for p, (_, caches) in ((0, cache[1]), (1, cache[2]), (1, cache[3])):
            for j, st in enumerate(steps[p]):
                current = {n: out.get(self.flat[p][j][n], v) for n, v in st.arrays.items()}
                for name, value in st.layer.moving_updates(current, caches[j]).items():
                    out[self.flat[p][j][name]] = value
        return out


def _check_probability(p: np.ndarray, what: str) -> None:
    """JensenShannon's -Log needs probabilities: a discriminator output outside [0, 1]
    (or NaN) is an error, not a NaN loss."""
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        value = float(p[bad].flat[0])
        raise EvaluationError(
            f'The "JensenShannon" loss needs the discriminator to output probabilities, but '
            f"it gave {value:g} on a {what}; end the discriminator with LogisticSigmoid, or "
            f'use the "Wasserstein" loss.', symbol="NetGANOperator", tag="invprob")
