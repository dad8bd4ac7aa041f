"""The optional compiled kernels (numba, the ``netdsl[speed]`` extra), loaded on first use.

The modules of this package (``lstm_fused.py``) import numba at their top; layers ask for
them here, by name, only when a pass is big enough to gain, so ``import netdsl``, listing
the layers (which imports every module of ``netdsl.layers``, not of this package) and
small nets never import numba (~0.35 s). Without numba, or with
the environment variable ``NETDSL_JIT=0``, ``load`` gives None and the layer runs its
NumPy path, which stays the reference.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from typing import Any

_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()


def enabled() -> bool:
    """False when ``NETDSL_JIT=0`` asks for the NumPy paths only."""
    return os.environ.get("NETDSL_JIT", "1") != "0"


def load(name: str) -> Any:
    """The module ``netdsl.layers.compiled.<name>``, or None (no numba, or
    ``NETDSL_JIT=0``)."""
    if not enabled():
        return None
    if name not in _LOADED:
        with _LOCK:           # lanes may ask at once: import (and compile) once
            if name not in _LOADED:
                try:
                    _LOADED[name] = importlib.import_module(f"{__name__}.{name}")
                except ImportError:            # no numba: the optional extra
                    _LOADED[name] = None
                except Exception as exc:       # numba there but unusable (say, no cache
                    _LOADED[name] = None       # directory it can write): say so, once
                    warnings.warn(f"netdsl: the compiled kernels ({name}) could not be "
                                  f"loaded ({type(exc).__name__}: {exc}); the NumPy code "
                                  f"runs instead. NETDSL_JIT=0 silences this.",
                                  RuntimeWarning, stacklevel=2)
    return _LOADED[name]
