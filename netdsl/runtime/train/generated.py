"""NetTrain[net, f] and NetTrain[net, {f, "RoundLength" -> n}]: training batches made by a
function, as Wolfram's NetTrain does.

``f`` is called once per batch with ``<|"BatchSize" -> m, "Round" -> r, "AbsoluteBatch" -> b|>``
and gives the batch's data in any form NetTrain takes (rules, an association of lists,
...); a round is ``"RoundLength"`` examples (default: one batch). The first batch, made
before training, also decides the loss from the targets' form, as given data does.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ...expr import Association, Expr, Symbol, is_integer, is_list, is_rule, list_items
from ...printer import short
from .common import error
from .examples import Examples, Feed

S = Symbol


def generator_of(data: Any) -> tuple[Any, int | None] | None:
    """(the function, the round length or None) when ``data`` is a generator."""
    if _is_function(data):
        return data, None
    if is_list(data):
        items = list_items(data)
        if len(items) >= 2 and _is_function(items[0]) and all(is_rule(r) for r in items[1:]):
            length = None
            for r in items[1:]:
                if r.args[0] != "RoundLength":
                    raise error("datafmt", f"{r.args[0]} is not an option of a training data "
                                           f'generator; give {{f, "RoundLength" -> n}}.')
                if not (is_integer(r.args[1]) and r.args[1] >= 1):
                    raise error("datafmt", '"RoundLength" should be a positive integer.')
                length = int(r.args[1])
            return items[0], length
    return None


def _is_function(x: Any) -> bool:
    return (isinstance(x, Expr) and x.head is S("Function")) or (
        isinstance(x, Symbol) and x not in (S("None"), S("Automatic"), S("All")))


def request(size: int, rnd: int, absolute: int) -> Association:
    return Association((("BatchSize", size, False), ("Round", rnd, False),
                        ("AbsoluteBatch", absolute, False)))


def batch_data(given: Any) -> Any:
    """What the function gave, checked to be a batch of training data."""
    if is_list(given) or isinstance(given, Association) or is_rule(given):
        return given
    raise error("datafmt", f"The training data generator gave {short(given, 80)}; it should "
                           f"give a batch of training data ({{input -> target, ...}} or "
                           f'<|"port" -> {{...}}, ...|>).')


class Generated:
    """Batches from the function, with the interface of ``Examples``."""

    ragged = False

    def __init__(self, call: Callable[[Any], Any], read: Callable[[Any], dict[str, np.ndarray]],
                 first: dict[str, np.ndarray], round_length: int, batch: int):
        self.call, self.read = call, read
        self.pending: dict[str, np.ndarray] | None = first
        self.n = round_length
        self.per_round = math.ceil(round_length / batch)
        self.absolute = 0

    def round_order(self, order: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
        return np.arange(self.n)

    def batch(self, idx: np.ndarray) -> list[Feed]:
        self.absolute += 1
        arrays, self.pending = self.pending, None
        if arrays is None:
            rnd = (self.absolute - 1) // self.per_round + 1
            arrays = self.read(batch_data(self.call(request(int(idx.size), rnd,
                                                            self.absolute))))
        feeds = Examples(arrays)
        return feeds.batch(np.arange(feeds.n))
