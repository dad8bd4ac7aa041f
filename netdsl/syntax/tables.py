"""The LALR parser's tables, computed ahead of time so that a process starts fast.

Building the parser from the grammar takes 0.3-1 s (LALR analysis, and the lexer's
regular-expression collision check when ``interegular`` is installed): longer than a
whole ``netdsl -c 1`` should take. ``lalr_tables.json`` holds Lark's own serialised form
of the built parser (what its standalone generator writes; JSON, never pickle), stamped
with the grammar's SHA-256 and the Lark version. It is used only when both match;
otherwise the parser is built from the grammar as before. JSON rather than a Python
literal: loading it takes ~10 ms and no memory spike, where compiling a 280 kB literal
(when no bytecode cache can be written) takes 40 MiB and 0.5 s.

Regenerate after changing the grammar (a test fails while the file is stale):

    python -m netdsl.syntax
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lark

TABLES_FILE = Path(__file__).with_name("lalr_tables.json")
_RUNTIME_OPTIONS = {"postlex", "transformer"}   # given again when loading


def stamp(grammar: str) -> str:
    """What the tables were made from: the grammar text and the Lark version."""
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest() + "/lark-" + lark.__version__


def serialise(parser: lark.Lark) -> dict[str, Any]:
    """A built LALR parser as plain Python values (tuples and integer keys included)."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k not in _RUNTIME_OPTIONS}
    return {"data": data, "memo": memo}


# JSON has neither tuples nor integer keys: they are tagged so that the round trip is exact
def _encode(v: Any) -> Any:
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return {k: _encode(x) for k, x in v.items()}
        return {"__d": [[k, _encode(x)] for k, x in v.items()]}
    if isinstance(v, tuple):
        return {"__t": [_encode(x) for x in v]}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    return v


def _decode(d: dict) -> Any:
    if len(d) == 1:
        if "__t" in d:
            return tuple(d["__t"])
        if "__d" in d:
            return dict((k, v) for k, v in d["__d"])
    return d


def load(grammar: str, **runtime: Any) -> lark.Lark | None:
    """The parser from the shipped tables, or None when they are missing or stale."""
    try:
        stored = json.loads(TABLES_FILE.read_text("utf-8"), object_hook=_decode)
    except (OSError, ValueError):
        return None
    if stored.get("stamp") != stamp(grammar):
        return None
    tables = stored["tables"]
    return lark.Lark._load_from_dict(tables["data"], tables["memo"], **runtime)


def write(grammar: str, parser: lark.Lark) -> None:
    """Write ``lalr_tables.json`` for this grammar's built parser."""
    text = json.dumps({"stamp": stamp(grammar), "tables": _encode(serialise(parser))},
                      separators=(",", ":"), sort_keys=False)
    TABLES_FILE.write_text(text + "\n", "utf-8")
