"""NetDecoder[{"CTCBeamSearch", alphabet}]: a sequence of probability vectors (size n+1,
the blank last, as CTCLossLayer's input) read as the most likely sequence of alphabet
elements.

Wolfram's definition (reference page of the decoder): "BeamSize" -> n candidate decodings
kept while reading the sequence (default 100); "BeamSize" -> 1 is greedy search, the most
probable class at each step (then repeated classes merged and blanks removed). The
result is a list of alphabet elements, at most as long as the input. Properties:
"Decoding" (the default), "Decodings" (every decoding the beam ends with, most probable
first), "TopDecodings" -> n, "NegativeLogLikelihoods" (decoding -> -Log P rules) and
"TopNegativeLogLikelihoods" -> n ({"TopDecodings", n} and {"TopNegativeLogLikelihoods",
n} too).

The beam search is the prefix search of Graves' thesis and Hannun et al. (2014): each
candidate prefix carries the probability of the paths read so far that give it, split by
whether they end in a blank, so paths that differ only by repeats and blanks are summed,
not counted apart. A decoding's negative log-likelihood is then computed exactly with the
CTC forward recursion (CTCLossLayer's loss of that decoding as the target), so it does
not depend on what the beam dropped; decodings are ordered by it. Probabilities are
clipped at 1e-30 before Log, as CTCLossLayer's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EvaluationError
from ..expr import Expr, Symbol, input_form, is_integer, is_list, is_rule, list_items, \
    make_list, to_atom
from .ctc_loss import ctc_forward
from .losses import P_MIN

DEFAULT_BEAM = 100
PROPERTIES = ("Decoding", "Decodings", "TopDecodings", "NegativeLogLikelihoods",
              "TopNegativeLogLikelihoods")


def _error(head: str, text: str, tag: str = "invcoder") -> EvaluationError:
    return EvaluationError(text, symbol=head, tag=tag)


def read_beam_size(rules: list, head: str) -> int:
    """The "BeamSize" option (the only one), a positive integer; 100 when not given."""
    beam = DEFAULT_BEAM
    for r in rules:
        name = r.args[0].name if isinstance(r.args[0], Symbol) else r.args[0]
        if name != "BeamSize":
            raise _error(head, f'{input_form(r.args[0])} is not an option of the '
                               f'"CTCBeamSearch" decoder; it has "BeamSize".')
        if not is_integer(r.args[1]) or r.args[1] < 1:
            raise _error(head, f'"BeamSize" should be a positive integer, not '
                               f"{input_form(r.args[1])}.")
        beam = int(r.args[1])
    return beam


def parse_property(prop: Any) -> tuple[str, int | None] | None:
    """("Decoding" | ..., count or None) for a property this decoder has, else None.
    The netdsl decoders' default "Decision" is "Decoding"."""
    if prop == "Decision":
        return "Decoding", None
    if isinstance(prop, str):
        return (prop, None) if prop in PROPERTIES and not prop.startswith("Top") else None
    if is_rule(prop) or is_list(prop):
        items = list(prop.args) if is_rule(prop) else list_items(prop)
        if len(items) == 2 and items[0] in ("TopDecodings", "TopNegativeLogLikelihoods"):
            return items[0], items[1]
    return None


def log_probs(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, np.float64)
    return np.log(np.where(p >= P_MIN, p, P_MIN))


def greedy(logy: np.ndarray) -> tuple[int, ...]:
    """Best path decoding: the most probable class at each step, repeats merged, blanks
    removed."""
    best = np.argmax(logy, axis=1)
    keep = (best != logy.shape[1] - 1) & np.r_[True, best[1:] != best[:-1]]
    return tuple(int(k) for k in best[keep])


def prefix_beam_search(logy: np.ndarray, beam: int) -> list[tuple[int, ...]]:
    """The prefixes (0-based classes) the beam holds after the last step, most probable
    first. At each step every prefix may stay (a blank, or its last class again) or grow
    by a class; a grown prefix equal to one already held is summed into it."""
    steps, size = logy.shape
    blank, n = size - 1, size - 1
    prefixes: list[tuple[int, ...]] = [()]
    lb, lnb = np.zeros(1), np.full(1, -np.inf)     # paths ending in a blank / in a class
    classes = np.arange(n)
    for t in range(steps):
        y = logy[t]
        total = np.logaddexp(lb, lnb)
        last = np.array([p[-1] if p else -1 for p in prefixes])
        stay_b = total + y[blank]
        stay_nb = np.where(last >= 0, lnb + y[np.maximum(last, 0)], -np.inf)
        # a class equal to the last one starts a new element only after a blank
        grow = np.where(last[:, None] == classes[None], lb[:, None], total[:, None]) \
            + y[None, :n]
        held = {p: i for i, p in enumerate(prefixes)}
        for j, q in enumerate(prefixes):
            i = held.get(q[:-1]) if q else None
            if i is not None:
                stay_nb[j] = np.logaddexp(stay_nb[j], grow[i, q[-1]])
                grow[i, q[-1]] = -np.inf
        scores = np.concatenate([np.logaddexp(stay_b, stay_nb), grow.ravel()])
        order = np.argsort(-scores, kind="stable")[:beam]
        order = order[np.isfinite(scores[order])]
        new_prefixes, new_lb, new_lnb = [], [], []
        for k in order:
            if k < len(prefixes):
                new_prefixes.append(prefixes[k])
                new_lb.append(stay_b[k])
                new_lnb.append(stay_nb[k])
            else:
                i, c = divmod(int(k) - len(prefixes), n)
                new_prefixes.append(prefixes[i] + (c,))
                new_lb.append(-np.inf)
                new_lnb.append(grow[i, c])
        prefixes, lb, lnb = new_prefixes, np.array(new_lb), np.array(new_lnb)
    order = np.argsort(-np.logaddexp(lb, lnb), kind="stable")
    return [prefixes[k] for k in order]


def negative_log_likelihood(logy: np.ndarray, decoding: tuple[int, ...]) -> float:
    """-Log P(decoding | input), summed over every path (CTCLossLayer's loss)."""
    labels = np.asarray(decoding, np.int64).reshape(-1, 1)
    loss, _ = ctc_forward(logy[:, :, None], labels)
    return float(loss[0])


def decode_one(probs: np.ndarray, labels: tuple, beam: int, prop: Any, head: str) -> Any:
    """One example's sequence of probability vectors (T, n+1) -> the property's value."""
    parsed = parse_property(prop)
    if parsed is None:
        raise _error(head, f'{input_form(prop)} is not a property of the "CTCBeamSearch" '
                           f'decoder; it has "Decoding", "Decodings", "TopDecodings" -> n, '
                           f'"NegativeLogLikelihoods" and "TopNegativeLogLikelihoods" -> n.',
                     tag="invprop")
    name, count = parsed
    logy = log_probs(probs)
    if name == "Decoding" and beam == 1:
        return make_list(labels[k] for k in greedy(logy))
    found = [greedy(logy)] if beam == 1 else prefix_beam_search(logy, beam)
    nll = [negative_log_likelihood(logy, d) for d in found]
    ranked = [found[i] for i in np.argsort(nll, kind="stable")]
    nll = sorted(nll)
    if count is not None:
        if not is_integer(count) or count < 1:
            raise _error(head, f"{{{name}, {input_form(count)}}} needs a positive count.",
                         tag="invprop")
        ranked, nll = ranked[:count], nll[:count]
    words = [make_list(labels[k] for k in d) for d in ranked]
    if name == "Decoding":
        return words[0]
    if name in ("Decodings", "TopDecodings"):
        return make_list(words)
    return make_list(Expr(Symbol("Rule"), w, to_atom(v)) for w, v in zip(words, nll))


def decode_batch(y: np.ndarray, labels: tuple, beam: int, prop: Any, head: str) -> list:
    """Batch-first outputs (N, T, n+1), or a 1-d object array of sequences of different
    lengths -> one value per example. Each example's beam is its own search."""
    size = len(labels) + 1
    for e in y:
        if np.ndim(e) != 2 or np.shape(e)[-1] != size:
            raise _error(head, f'The "CTCBeamSearch" decoder takes sequences of vectors of '
                               f"size {size} (its {len(labels)} labels and the blank), not an "
                               f"array of dimensions {{{', '.join(map(str, np.shape(e)))}}}.",
                         tag="invdata")
        if not np.all(np.isfinite(e)):
            raise _error(head, "The decoder's input contains NaN or infinite values.",
                         tag="invdata")
    return [decode_one(np.asarray(e), labels, beam, prop, head) for e in y]
