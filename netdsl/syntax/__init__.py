"""Text -> expressions: the Lark grammar in ``grammar/``, comments, newlines, errors."""

from .parser import build_strict_parser, grammar_text, parse_statements

__all__ = ["parse_statements", "build_strict_parser", "grammar_text"]
