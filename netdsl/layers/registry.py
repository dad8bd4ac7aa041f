"""The table of layer types.

A layer type is registered once, with ``register_layer`` (a class decorator), whether it
is one of netdsl's or defined by a user outside the package. Stages above this one
(the built-in functions) listen, so that a registered layer at once has a head in the
language: ``MyLayer[...]`` builds it.

netdsl's own layer modules (every module of ``netdsl.layers``: a new layer is one new
file, with no edit elsewhere) are imported the first time the table is read, not when
the package is: a process that builds no net does not pay for ~45 modules (start-up,
issue 14). Registering (writing) does not load them.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Iterator, TypeVar

from .base import Layer


class _LayerTypes(dict):
    """``name -> layer class``; any read first imports every module of the package."""

    loaded = False

    def load(self) -> None:
        if _LayerTypes.loaded:
            return
        _LayerTypes.loaded = True
        package = __name__.rpartition(".")[0]
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")

    def __getitem__(self, name: str) -> type[Layer]:
        self.load()
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self.load()
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        self.load()
        return dict.__contains__(self, name)

    def __iter__(self) -> Iterator[str]:
        self.load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.load()
        return dict.__len__(self)

    def keys(self):  # type: ignore[override]
        self.load()
        return dict.keys(self)

    def values(self):  # type: ignore[override]
        self.load()
        return dict.values(self)

    def items(self):  # type: ignore[override]
        self.load()
        return dict.items(self)


LAYER_TYPES: dict[str, type[Layer]] = _LayerTypes()
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


def on_register(listener: Callable[[type[Layer]], None], *, past: bool = True) -> None:
    """Call ``listener`` for every layer type registered after now and, with ``past``,
    before now (netdsl's own layer modules are then loaded)."""
    before = list(LAYER_TYPES.values()) if past else []
    _LISTENERS.append(listener)
    for cls in before:
        listener(cls)


def from_shorthand(x: Any) -> Layer | None:
    """The layer a container element stands for when it is not a net (an integer n is
    LinearLayer[n], Ramp is ElementwiseLayer[Ramp]): each layer type is asked."""
    for cls in LAYER_TYPES.values():
        layer = cls.from_shorthand(x)
        if layer is not None:
            return layer
    return None
