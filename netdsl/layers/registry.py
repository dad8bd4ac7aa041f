"""The table of layer types.

A layer type is registered once, with ``register_layer`` (a class decorator), whether it
is one of netdsl's or defined by a user outside the package. Stages above this one
(the built-in functions) listen, so that a registered layer at once has a head in the
language: ``MyLayer[...]`` builds it.

netdsl's own layer modules are imported on first use, by name: ``lazy_table.py`` (generated
by ``python -m netdsl.reference --write``, so a new layer is still one new file and no
hand edit) says which module defines each layer type, and reading ``LAYER_TYPES[name]``
imports that module alone; a NetChain of LinearLayer and Ramp loads two of ~45 modules
(start-up, issue 14). Listing the table (iterating it, ``len``) imports every module of
the package. Registering (writing) loads nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable, Iterator, TypeVar

from .base import Layer
from .lazy_table import LAYER_MODULES, SHORTHAND_LAYERS

_PACKAGE = __name__.rpartition(".")[0]


class _LayerTypes(dict[str, type[Layer]]):
    """``name -> layer class``. Reading a name netdsl defines imports its module; listing
    the table imports every module of the package."""

    loaded = False

    def load(self) -> None:
        """Import every module of the package (each registers its layer types)."""
        if _LayerTypes.loaded:
            return
        _LayerTypes.loaded = True
        for module in pkgutil.iter_modules(importlib.import_module(_PACKAGE).__path__):
            importlib.import_module(f"{_PACKAGE}.{module.name}")

    def load_name(self, name: object) -> None:
        """Import the module that defines the layer type ``name``, if netdsl has it."""
        if isinstance(name, str) and not dict.__contains__(self, name) \
                and name in LAYER_MODULES:
            importlib.import_module(module_of(name))

    def loaded_types(self) -> list[type[Layer]]:
        """The layer types registered so far, without importing anything."""
        return list(dict.values(self))

    def unloaded(self) -> dict[str, str]:
        """``name -> module`` of netdsl's layer types whose module is not imported yet."""
        return {n: module_of(n) for n in LAYER_MODULES if not dict.__contains__(self, n)}

    def __getitem__(self, name: str) -> type[Layer]:
        self.load_name(name)
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        self.load_name(name)
        return dict.get(self, name, default)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in LAYER_MODULES

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


def reads_shorthands(cls: type[Layer]) -> bool:
    """Whether the layer type defines ``from_shorthand`` (it builds from container
    elements such as an integer or Ramp): ``SHORTHAND_LAYERS`` lists netdsl's."""
    return getattr(cls.from_shorthand, "__func__", None) is not \
        getattr(Layer.from_shorthand, "__func__", None)


def module_of(name: str) -> str:
    """The module of netdsl that defines the layer type ``name`` (per ``lazy_table``)."""
    return f"{_PACKAGE}.{LAYER_MODULES[name]}"


LAYER_TYPES = _LayerTypes()
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
    before now. Only the layer types registered so far count as past: netdsl's modules
    not imported yet register (and so call ``listener``) when they are
    (``LAYER_TYPES.unloaded()`` names them)."""
    before = LAYER_TYPES.loaded_types() if past else []
    _LISTENERS.append(listener)
    for cls in before:
        listener(cls)


def from_shorthand(x: Any) -> Layer | None:
    """The layer a container element stands for when it is not a net (an integer n is
    LinearLayer[n], Ramp is ElementwiseLayer[Ramp]): each layer type is asked. Of
    netdsl's own, only those that define ``from_shorthand`` (``SHORTHAND_LAYERS``) need
    loading to be asked."""
    for name in SHORTHAND_LAYERS:
        LAYER_TYPES.load_name(name)
    for cls in LAYER_TYPES.loaded_types():
        layer = cls.from_shorthand(x)
        if layer is not None:
            return layer
    return None
