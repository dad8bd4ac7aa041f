"""``python -m netdsl.syntax``: regenerate the precomputed parser tables (tables.py)
after a change to the grammar."""

from .parser import build_parser, grammar_text
from .tables import TABLES_FILE, stamp, write

text = grammar_text()
write(text, build_parser())
print(f"wrote {TABLES_FILE} ({stamp(text)})")
