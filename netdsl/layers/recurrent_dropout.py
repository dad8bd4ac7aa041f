"""The "Dropout" option of the recurrent layers, as Wolfram's NeuralNetworks paclet defines it.

Values: None (the default); a probability p, which means "VariationalWeights" -> p; or rules
(a list or an association) from methods to probabilities:

  "VariationalWeights"  DropConnect: elements of every input and state weight matrix
                        (not the biases) are dropped, one mask for the whole pass
  "VariationalInput"    the input's contribution to each gate: one mask per gate and
                        example, the same at every step
  "VariationalState"    the previous state's contribution to each gate: one mask per gate
                        and example, the same at every step
  "StateUpdate"         a new mask at every step on the state update: LSTM's memory gate
                        value m (c = f c + i m), GRU's candidate h (s = (1-z) s + z h),
                        BasicRecurrentLayer's previous state (before the state weights)

Kept values are scaled by 1/(1-p), as DropoutLayer. Dropout acts only in Train mode
(NetEvaluationMode -> "Train", NetTrain); in Test mode the layer is unchanged. Bad values
give Wolfram's messages invdrppval and invdrpspc.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..expr import Association, Expr, Symbol, is_number, is_rule, list_items, is_list
from .base import OptionError

METHODS = ("VariationalWeights", "VariationalInput", "VariationalState", "StateUpdate")


def _probability(p: Any) -> float:
    if is_number(p) and not isinstance(p, bool) and 0 <= p <= 1:
        return float(p)
    raise OptionError("invdrppval", "Dropout probabilities should be numeric values between 0 "
                                    "and 1.")


def _bad_spec() -> OptionError:
    methods = ", ".join(f'"{m}"' for m in METHODS[:-1]) + f' and "{METHODS[-1]}"'
    return OptionError("invdrpspc", 'Specification for "Dropout" should be either None, a '
                                    "numeric probability, or a list of rules mapping methods to "
                                    f"probabilities, where the allowed methods are {methods}.")


def parse_dropout(x: Any) -> Any:
    """The option's stored value: None, a probability, or the rules as a list of rules."""
    if x is None or x is Symbol("None"):
        return None
    if is_number(x) and not isinstance(x, bool):
        return _probability(x)
    if isinstance(x, Association):
        rules = [(k, v) for k, v in x.items()]
    elif is_list(x) and all(is_rule(r) for r in list_items(x)):
        rules = [(r.args[0], r.args[1]) for r in list_items(x)]
    else:
        raise _bad_spec()
    if any(not isinstance(k, str) or k not in METHODS for k, _ in rules):
        raise _bad_spec()
    return Expr(Symbol("List"), *(Expr(Symbol("Rule"), k, _probability(v)) for k, v in rules))


def probabilities(value: Any) -> dict[str, float]:
    """Method -> probability (0 for those not given) from the stored option value."""
    out = dict.fromkeys(METHODS, 0.0)
    if isinstance(value, float):
        out["VariationalWeights"] = value
    elif value is not None:
        for r in list_items(value):
            out[r.args[0]] = float(r.args[1])
    return out


@dataclass
class Masks:
    """The masks of one Train-mode pass, already scaled by 1/(1-p) (None: no dropout of
    that kind). Gates are in the layer's stacking order."""

    wx: np.ndarray | None = None       # (InputSize, G*n): like the stacked input weights
    ws: np.ndarray | None = None       # (n, G*n): like the stacked state weights
    x: np.ndarray | None = None        # (G, N, InputSize): each gate's input, every step
    s: np.ndarray | None = None        # (G, N, n): each gate's previous state, every step
    update: np.ndarray | None = None   # (steps, N, n): a new mask at every step


def _mask(rng: np.random.Generator, p: float, shape: tuple, dtype: Any) -> np.ndarray | None:
    if p <= 0:
        return None
    keep = rng.random(shape) >= p
    scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
    return (keep * scale).astype(dtype)


def draw_masks(rng: np.random.Generator, value: Any, gates: int, steps: int, batch: int,
               d: int, n: int, dtype: Any) -> Masks | None:
    """Masks for one pass, drawn in a fixed order (weights, input, state, update) from
    ``rng``; None when the option asks for no dropout."""
    p = probabilities(value)
    if not any(p.values()):
        return None
    return Masks(wx=_mask(rng, p["VariationalWeights"], (d, gates * n), dtype),
                 ws=_mask(rng, p["VariationalWeights"], (n, gates * n), dtype),
                 x=_mask(rng, p["VariationalInput"], (gates, batch, d), dtype),
                 s=_mask(rng, p["VariationalState"], (gates, batch, n), dtype),
                 update=_mask(rng, p["StateUpdate"], (steps, batch, n), dtype))
