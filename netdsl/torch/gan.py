"""NetGANOperator (graph/gan.py) as a torch function, batch-first, as the NumPy executor
runs it (runtime/gan_step.py): the generator on "Latent", the discriminator on "Sample"
and on the generated batch (two passes), the losses of the operator's loss type, and the
gradient reversal between the discriminator and the generator, so that
``loss.backward()`` on LossReal + LossFake gives each net NetTrain's gradient.
"""

from __future__ import annotations

import torch

from ..layers.losses import P_MIN
from .layers import register_torch_layer
from .operators import _operator


class _Reverse(torch.autograd.Function):
    """The identity forward; the gradient negated backward."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        return -g


@register_torch_layer("NetGANOperator")
@_operator
def _gan(runner, plans):
    generator, discriminator = plans

    def fn(a, xs, training, sync):
        sample, latent = xs
        g, moved = generator.run(a, {runner.g_in: latent}, training, sync)
        fake = g[runner.g_out]
        real_out, moved_real = discriminator.run(a, {runner.d_in: sample}, training, sync)
        fake_out, moved_fake = discriminator.run(a, {runner.d_in: _Reverse.apply(fake)},
                                                 training, sync)
        d_real, d_fake = real_out[runner.d_out], fake_out[runner.d_out]
        if runner.loss == "JensenShannon":
            lr = -torch.log(torch.clamp(d_real, min=P_MIN))
            lf = -torch.log(torch.clamp(1 - d_fake, min=P_MIN))
        else:
            lr, lf = -d_real, d_fake
        return [lr, lf, fake], {**moved, **moved_real, **moved_fake}
    return fn
