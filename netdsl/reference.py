"""The built-in reference, generated from the registry: ``python -m netdsl.reference``.

The README's "Built-in functions" section is this output; a test keeps the two in step.
"""

from __future__ import annotations

from . import builtins  # noqa: F401  (registers everything)
from .builtins.registry import REGISTRY

SECTIONS = ("Structure", "Evaluation", "Output", "Arithmetic", "Elementary functions",
            "Comparison", "Lists and arrays", "Random numbers", "Files", "Layers",
            "Containers", "Nets", "General")


def markdown() -> str:
    by_section: dict[str, list] = {}
    for b in REGISTRY.values():
        by_section.setdefault(b.section, []).append(b)
    lines = []
    for section in list(SECTIONS) + sorted(set(by_section) - set(SECTIONS)):
        items = by_section.get(section)
        if not items:
            continue
        lines.append(f"#### {section}\n")
        for b in sorted(items, key=lambda b: b.name):
            forms = ", ".join(f"`{u}`" for u in b.usage)
            lines.append(f"- **{b.name}** {forms}: {b.summary}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def update_readme(path: str) -> None:
    """Replace the list between the README's builtins markers with the registry's."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = "<!-- builtins:start -->\n", "<!-- builtins:end -->"
    i, j = text.index(start) + len(start), text.index(end)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:i] + markdown() + text[j:])


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write"]:
        update_readme(sys.argv[2] if len(sys.argv) > 2 else "README.md")
    else:
        print(markdown(), end="")
