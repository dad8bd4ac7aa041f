"""The table of layer types.

A layer type is registered once, with ``register_layer`` (a class decorator), whether it
is one of netdsl's or defined by a user outside the package. Stages above this one
(the built-in functions) listen, so that a registered layer at once has a head in the
language: ``MyLayer[...]`` builds it.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .base import Layer

LAYER_TYPES: dict[str, type[Layer]] = {}
_LISTENERS: list[Callable[[type[Layer]], None]] = []

L = TypeVar("L", bound=type[Layer])


def register_layer(cls: L) -> L:
    """Make ``cls`` a layer type of the language, under its Wolfram name ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer takes a subclass of netdsl.Layer, not {cls!r}")
    name = cls.__dict__.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} must set the class attribute name, e.g. "
                        f'name = "{cls.__name__}"')
    cls.head_name = name
    LAYER_TYPES[name] = cls
    for listener in _LISTENERS:
        listener(cls)
    return cls


def on_register(listener: Callable[[type[Layer]], None]) -> None:
    """Call ``listener`` for every layer type registered, before and after now."""
    _LISTENERS.append(listener)
    for cls in list(LAYER_TYPES.values()):
        listener(cls)


def from_shorthand(x: Any) -> Layer | None:
    """The layer a container element stands for when it is not a net (an integer n is
    LinearLayer[n], Ramp is ElementwiseLayer[Ramp]): each layer type is asked."""
    for cls in LAYER_TYPES.values():
        layer = cls.from_shorthand(x)
        if layer is not None:
            return layer
    return None
