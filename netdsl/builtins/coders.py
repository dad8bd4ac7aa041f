"""NetEncoder[...] and NetDecoder[...] as values, and applying them to data."""

from __future__ import annotations

import math

import numpy as np

from ..errors import EvaluationError
from ..expr import is_list, list_items, make_list, packed, to_atom, to_ndarray
from ..printer import short
from ..layers.base import AbstractArray
from ..layers.coders import NetDecoder, NetEncoder, decoded
from .registry import NOT_APPLICABLE, applier, builtin


@builtin("NetEncoder", ('NetEncoder["kind"]', 'NetEncoder[{"kind", params..., opts...}]'),
         "an encoder for an input port: Class, Boolean, Scalar, Characters or Tokens",
         args=1, section="Nets")
def _net_encoder(ev, spec):
    return NetEncoder.build((spec,))


@builtin("NetDecoder", ('NetDecoder["kind"]', 'NetDecoder[{"Class", {labels}}]',
                        'NetDecoder[{"Class", {labels}, "InputDepth" -> n}]',
                        'NetDecoder[{"Characters", table}]', 'NetDecoder[{"Tokens", {tokens}}]',
                        'NetDecoder[{"CTCBeamSearch", {labels}, "BeamSize" -> n}]'),
         "a decoder for an output port: Class or Boolean (\"InputDepth\": a decision per "
         "row of a matrix, and so on), Scalar (a 1-vector as a number), Characters or "
         "Tokens (probability vectors as a string), CTCBeamSearch (probability vectors, "
         "blank last, as the most likely label sequence)", args=1, section="Nets")
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


# decoders reading a sequence of probability vectors per example
SEQUENCE_DECODERS = ("Characters", "Tokens", "CTCBeamSearch")


@applier(NetDecoder)
def _apply_decoder(ev, dec, args):
    """decoder[array] or decoder[array, property]: a batch when given a list of arrays."""
    if len(args) not in (1, 2):
        return NOT_APPLICABLE
    prop = args[1] if len(args) == 2 else "Decision"
    if isinstance(args[0], AbstractArray):   # netdsl check: outputs known by dimensions
        return _abstract_decoded(ev, dec, args[0], prop)
    try:
        y = np.asarray(to_ndarray(args[0]), np.float64) if is_list(args[0]) or \
            isinstance(args[0], np.ndarray) else np.asarray(args[0], np.float64)
    except (TypeError, ValueError):
        if dec.kind in SEQUENCE_DECODERS and is_list(args[0]):   # sequences of
            return make_list(_apply_decoder(ev, dec, (x, prop))    # different lengths
                             for x in list_items(args[0]))
        raise EvaluationError(f"The decoder takes a numeric array (or a list of them), not "
                              f"{short(args[0], 60)}.", symbol="NetDecoder",
                              tag="invdata") from None
    # one example's rank: a sequence of probability vectors for "Characters"/"Tokens"
    # (a lone vector is one position), a 1-vector for "Scalar", a number for "Boolean"
    rank = 2 if dec.kind in SEQUENCE_DECODERS and y.ndim >= 2 else \
        (0 if dec.kind == "Boolean" else 1) + dec.mapped
    if y.ndim < rank:
        raise EvaluationError(f"The decoder takes arrays of rank {rank} (or a list of them), "
                              f"not of rank {y.ndim}.", symbol="NetDecoder", tag="invdata")
    batched = y.ndim > rank
    y = y if batched else y[None]
    want = dec.port_type().shape or ()
    one = y.shape[1:]
    if y.size == 0 or len(one) != len(want) and dec.kind not in SEQUENCE_DECODERS or \
            any(w is not None and d != w for w, d in zip(want[-len(one):] if one else (), one)):
        need = "{" + ", ".join("n" if w is None else str(w) for w in want) + "}"
        raise EvaluationError(f"The decoder takes arrays of dimensions {need} (or a list of "
                              f"them), not of dimensions "
                              f"{{{', '.join(map(str, one)) if y.size else ''}}}.",
                              symbol="NetDecoder", tag="invdata")
    return decoded(dec, y, batched, prop)


def _abstract_decoded(ev, dec: NetDecoder, x: AbstractArray, prop) -> AbstractArray:
    """netdsl check: decoder[x] for x known by its dimensions. Uniform probabilities of
    those dimensions go through the decoder (ranks, sizes and the property checked as when
    run); the result has the dimensions of the decoded values (a label: none)."""
    from ..runtime.apply import PROBE_LIMIT, _decoded_dims
    shape = x.shape
    fixed = all(isinstance(d, int) for d in shape)
    if fixed and 0 not in shape and math.prod(shape) <= PROBE_LIMIT:
        probe = np.full(shape, 1.0 / (shape[-1] if shape else 2))
        _apply_decoder(ev, dec, (packed(probe) if shape else to_atom(probe.item()), prop))
    rank = 2 if dec.kind in SEQUENCE_DECODERS and len(shape) >= 2 else \
        (0 if dec.kind == "Boolean" else 1) + dec.mapped
    batched = len(shape) > rank
    dims = _decoded_dims(dec, shape[1:] if batched else shape, prop, "NetDecoder", batched)
    return AbstractArray(((shape[0],) if batched else ()) + dims, x.what)
