"""NetUnfold[net]: the one-step net of a recurrent net (graph/unfold.py)."""

from __future__ import annotations

from ..graph.unfold import HEAD, net_unfold
from .registry import builtin


@builtin(HEAD, ("NetUnfold[net]",),
         "the net performing one step of a recurrent net, its states as input and output ports",
         args=(1, 1), section="Nets")
def _net_unfold(ev, net):
    return net_unfold(net)
