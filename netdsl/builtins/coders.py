"""NetEncoder[...] and NetDecoder[...] as values, and applying them to data."""

from __future__ import annotations

import numpy as np

from ..errors import EvaluationError
from ..expr import is_list, make_list, packed, to_atom, to_ndarray
from ..layers.coders import NetDecoder, NetEncoder, decoded
from .registry import NOT_APPLICABLE, applier, builtin


@builtin("NetEncoder", ('NetEncoder["kind"]', 'NetEncoder[{"kind", params..., opts...}]'),
         "an encoder for an input port: Class, Boolean, Scalar, Characters or Tokens",
         args=1, section="Nets")
def _net_encoder(ev, spec):
    return NetEncoder.build((spec,))


@builtin("NetDecoder", ('NetDecoder["kind"]', 'NetDecoder[{"Class", {labels}}]',
                        'NetDecoder[{"Class", {labels}, "InputDepth" -> n}]'),
         "a decoder for an output port: Class or Boolean (\"InputDepth\": a decision per "
         "row of a matrix, and so on)", args=1, section="Nets")
def _net_decoder(ev, spec):
    return NetDecoder.build((spec,))


@applier(NetEncoder)
def _apply_encoder(ev, enc, args):
    """encoder[data]: the array the port would receive."""
    if len(args) != 1:
        return NOT_APPLICABLE
    x = enc.encode(args[0])
    if x.dtype == object:    # strings of different lengths: a list of sequences
        return make_list(packed(e) for e in x)
    return to_atom(x.item()) if x.ndim == 0 else packed(x)


@applier(NetDecoder)
def _apply_decoder(ev, dec, args):
    """decoder[array] or decoder[array, property]: a batch when given a list of arrays."""
    if len(args) not in (1, 2):
        return NOT_APPLICABLE
    y = np.asarray(to_ndarray(args[0]), np.float64) if is_list(args[0]) or \
        isinstance(args[0], np.ndarray) else np.asarray(args[0], np.float64)
    rank = (0 if dec.kind == "Boolean" else 1) + dec.mapped     # one example's rank
    if y.ndim < rank:
        raise EvaluationError(f"The decoder takes arrays of rank {rank} (or a list of them), "
                              f"not of rank {y.ndim}.", symbol="NetDecoder", tag="invdata")
    batched = y.ndim > rank
    return decoded(dec, y if batched else y[None], batched,
                   args[1] if len(args) == 2 else "Decision")
