"""NetTrain: attach a loss, then minimise it by minibatch gradient descent.

    options.py     Wolfram's options and defaults
    losses.py      the training net: the loss attached to each output
    data.py        the forms training data takes, read into arrays by port
    examples.py    the examples cut into batches (sequences grouped by length)
    parameters.py  learned arrays in one flat buffer; learning-rate multipliers
    loop.py        rounds, batches, forward/backward, optimiser steps
    progress.py    the progress bar
    results.py     the results object and its properties
    plot.py        the loss plot
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loop import forward_backward, net_train
    from .losses import training_net
    from .defaults import OPTION_DEFAULTS
    from .options import Options, read_options
    from .parameters import Parameters, read_multipliers
    from .plot import Picture, loss_plot
    from .results import PROPERTIES, History, TrainResults, property_value

# Each name's module, imported on first use: a process that never trains (``netdsl -c 1``,
# ``netdsl check`` without NetTrain) does not pay for the training loop's imports.
_MODULE_OF = {
    "net_train": "loop", "forward_backward": "loop", "training_net": "losses",
    "OPTION_DEFAULTS": "defaults", "Options": "options", "read_options": "options",
    "Parameters": "parameters", "read_multipliers": "parameters", "Picture": "plot",
    "loss_plot": "plot", "PROPERTIES": "results", "History": "results",
    "TrainResults": "results", "property_value": "results",
}
# (``results``, the function, is imported from ``.results``: the name is its module's.)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["net_train", "forward_backward", "training_net", "OPTION_DEFAULTS", "Options",
           "read_options", "Parameters", "read_multipliers", "Picture", "loss_plot",
           "PROPERTIES", "History", "TrainResults", "property_value"]
