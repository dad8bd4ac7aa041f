"""Wolfram-facing functions. Importing this package registers all of them: most by
importing their modules; the net built-ins (``lazy_table.py``) by name, their modules
imported when one of them is first used (start-up time)."""

# registration happens on import
from . import (arith, control, core, datafiles, io, language, lists,  # noqa: F401
               random, rules, strings)
from . import associations, searching, sorting, structure  # noqa: F401  (more list functions)
from . import (clock, elementwise, filenames, forms, integers,  # noqa: F401  (stdmath's)
               statistics, stringsearch)
from . import arrays, sequences  # noqa: F401  (ArrayPad, ListCorrelate; Split, SequenceCases)
from .lazy_table import LAZY_BUILTINS
from .registry import REGISTRY, LazyBuiltin, builtin, load_lazy, register_lazy
from ..layers.base import LOADERS
from ..layers.registry import on_register

for _module, _names in LAZY_BUILTINS.items():
    register_lazy(f"{__name__}.{_module}", _names)


def _layer_head(cls) -> None:
    """A layer type registered (by a user) before ``nets`` is loaded gets its head at once."""
    if cls.name not in REGISTRY:
        REGISTRY[cls.name] = LazyBuiltin(cls.name, f"{__name__}.nets")  # type: ignore[assignment]


def _load_stages_above() -> None:
    """For a net made without the built-ins (from Python, or read from a file): every
    lazily registered module, and the runtime, which registers how ``net(x)`` runs."""
    load_lazy()
    from ..runtime import apply  # noqa: F401  (fills layers.base.RUNTIME)


on_register(_layer_head, past=False)
LOADERS.append(_load_stages_above)

__all__ = ["REGISTRY", "builtin"]
