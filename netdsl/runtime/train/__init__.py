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

from .loop import forward_backward, net_train
from .losses import training_net
from .options import OPTION_DEFAULTS, Options, read_options
from .parameters import Parameters, read_multipliers
from .plot import Picture, loss_plot
from .results import PROPERTIES, History, TrainResults, property_value, results

__all__ = ["net_train", "forward_backward", "training_net", "OPTION_DEFAULTS", "Options",
           "read_options", "Parameters", "read_multipliers", "Picture", "loss_plot",
           "PROPERTIES", "History", "TrainResults", "property_value", "results"]
