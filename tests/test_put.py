"""``expr >> "file"`` (Put) and ``expr >>> "file"`` (PutAppend): netdsl text (InputForm,
one expression a line) that Get (``<<``) reads back; behind the file gate, and only a
note ("would write") in ``netdsl check``."""

from __future__ import annotations

import io

import numpy as np
import pytest

from netdsl import EvaluationError, Session
from netdsl.check import check_text
from netdsl.syntax.parser import parse_statements


@pytest.mark.parametrize("text, head", [('a >> "f.txt"', "Put"), ('a >>> "f.txt"', "PutAppend"),
                                        ("a >> f.txt", "Put"), ('a>>"f.txt"', "Put")])
def test_file_name_is_parsed_without_its_quotes(text, head):
    (expr, _), = parse_statements(text, "t.wl")
    assert expr.head.name == head
    assert expr.args[1] == "f.txt"


def test_put_writes_input_form_that_get_reads_back(tmp_path):
    s = Session()
    s.base_dir = str(tmp_path)
    s.evaluate('x = {1, 2.5, "a", f[y]}; x >> "out.wl"')
    assert (tmp_path / "out.wl").read_text() == '{1, 2.5, "a", f[y]}\n'
    assert s.evaluate('<< "out.wl"') == s.evaluate("x")
    s.evaluate('Put[1, 2, "out.wl"]')
    assert (tmp_path / "out.wl").read_text() == "1\n2\n"      # replaced
    s.evaluate('{3} >>> "out.wl"; PutAppend[4, "out.wl"]')
    assert (tmp_path / "out.wl").read_text() == "1\n2\n{3}\n4\n"


def test_put_of_a_net_builds_it_again(tmp_path):
    s = Session()
    s.base_dir = str(tmp_path)
    s.evaluate('n = NetInitialize[NetChain[{LinearLayer[3], Tanh}, "Input" -> 2]]; n >> "n.wl"; '
               'm = << "n.wl";')
    x = "{{0.5, -1.}}"
    np.testing.assert_array_equal(np.asarray(s.evaluate(f"m[{x}]")),
                                  np.asarray(s.evaluate(f"n[{x}]")))


def test_put_needs_a_file_name():
    with pytest.raises(EvaluationError, match="not a file name"):
        Session().evaluate("Put[1, 2]")


def test_put_is_refused_with_file_access_off(tmp_path):
    s = Session(files=False, stdout=io.StringIO())
    s.base_dir = str(tmp_path)
    with pytest.raises(EvaluationError):
        s.evaluate('1 >> "x.wl"')
    assert not (tmp_path / "x.wl").exists()


def test_check_notes_put_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    path = str(tmp_path / "w.wl")
    assert check_text('1 >> "a.wl";\n2 >>> "b.wl";\n', path, out, err) == 0, err.getvalue()
    assert f"{path}:1:1: note: would write a.wl" in out.getvalue()
    assert f"{path}:2:1: note: would write b.wl" in out.getvalue()
    assert not (tmp_path / "a.wl").exists() and not (tmp_path / "b.wl").exists()
