"""networkx, loaded on first use.

``import networkx`` imports every algorithm it ships (about 0.14 s, a third of
netdsl's start-up); commands that build no net (``netdsl -c 1``, most REPL
input) should not pay for it. The standard library's ``LazyLoader`` defers the
module's execution to the first attribute access.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()


def _lazy(name: str) -> ModuleType:
    with _LOCK:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:   # pragma: no cover - a core dependency
            raise ImportError(f"netdsl needs {name}: pip install {name}")
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
        return module


nx = _lazy("networkx")
