"""netdsl nets as PyTorch modules: training where netdsl ends (``pip install 'netdsl[torch]'``).

    to_torch(net)              a torch.nn.Module computing what the net computes, in Test
                               (``module.eval()``) and Train (``module.train()``) mode
    to_torch(net, loss=True)   the training net (the net with NetTrain's losses attached):
                               its forward gives NetTrain's batch loss
    from_torch(module, net)    the net holding the module's (trained) arrays
    ADAM, SGD                  torch optimisers making NetTrain's updates exactly
    sync_batch_norm(module)    BatchNormalization statistics over every process of a
                               torch.distributed job (DistributedDataParallel training)

Data is batch-first, as ``net(x)`` takes it; class-index targets are 1-based, as netdsl's.
"""

from __future__ import annotations

from .require import require_torch

require_torch()

from .layers import TORCH_LAYERS, register_torch_layer  # noqa: E402
from . import attention  # noqa: E402,F401  (registers the attention layers' converters)
from . import operators  # noqa: E402,F401  (and the operators')
from . import gan  # noqa: E402,F401  (and NetGANOperator's)
from .module import NetModule, from_torch, sync_batch_norm, to_torch  # noqa: E402
from .optim import ADAM, SGD, optimizer_for  # noqa: E402

__all__ = ["to_torch", "from_torch", "NetModule", "sync_batch_norm", "ADAM", "SGD",
           "optimizer_for", "TORCH_LAYERS", "register_torch_layer"]
