"""The README's built-in list is the registry's, and its quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from netdsl.reference import markdown

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_reference_matches_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- builtins:start -->\n(.*)<!-- builtins:end -->", text, re.S)
    assert section, "README.md lost its built-in reference markers"
    assert section.group(1) == markdown(), (
        "README.md's built-in list is out of date: regenerate it with "
        "`python -m netdsl.reference --write README.md`")


def test_quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n\n```sh\n(.*?)```", text, re.S).group(1).splitlines()
    assert len(block) == 2
    assert block[0].startswith("python -m pip install -e . && netdsl examples/")
    example = block[0].split("netdsl ", 1)[1]
    assert (ROOT / example).is_file()
    assert block[1] == "python -m pip install -e '.[test]' && python -m pytest -q"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # CI installs the test extras (and the optional ones, so their tests run too)
    assert re.search(r"pip install --quiet -e '\.\[test[a-z,]*\]'", ci) and "python -m pytest -q" in ci
