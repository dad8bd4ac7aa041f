"""Text file streams (OpenWrite, WriteString, Write, Read, ReadList, ...) and Export/Import
of .txt: the files' bytes are compared with what Python writes and reads."""

from __future__ import annotations

import io

import pytest

from netdsl import EvaluationError, Session
from netdsl.check import check_text
from netdsl.expr import Symbol
from netdsl.printer import input_form
from values import py


def session(tmp_path) -> Session:
    s = Session(stdout=io.StringIO())
    s.base_dir = str(tmp_path)        # relative names resolve against the script's folder
    return s


def test_a_training_log_written_through_a_stream(tmp_path):
    s = session(tmp_path)
    s.evaluate('s = OpenWrite["log.txt"]; Do[WriteString[s, "round ", r, " loss ", '
               '1./r, "\\n"], {r, 3}]; WriteLine[s, "done"]; Write[s, {1, 2.5}, f[x]];')
    assert input_form(s.evaluate("s")) == 'OutputStream["log.txt", 3]'
    assert s.evaluate("Close[s]") == "log.txt"
    expected = ("round 1 loss 1.\nround 2 loss 0.5\nround 3 loss 0.333333\n"   # as they
                "done\n{1, 2.5}f[x]\n")                                          # print
    assert (tmp_path / "log.txt").read_text() == expected
    s.evaluate('a = OpenAppend["log.txt"]; WriteString[a, "more"]; Close[a];')
    assert (tmp_path / "log.txt").read_text() == expected + "more"


def test_reading_lines_words_numbers_and_expressions(tmp_path):
    (tmp_path / "d.txt").write_text("alpha 1 2.5e1\n\n  -3 4*^2\n{1,\n 2} + 1\n")
    s = session(tmp_path)
    lines = s.evaluate('ReadList["d.txt", String]')
    assert [str(x) for x in lines.args] == ["alpha 1 2.5e1", "", "  -3 4*^2", "{1,", " 2} + 1"]
    words = s.evaluate('ReadList["d.txt", Word]')
    assert [str(x) for x in words.args] == ["alpha", "1", "2.5e1", "-3", "4*^2", "{1,", "2}",
                                            "+", "1"]
    s.evaluate('r = OpenRead["d.txt"];')
    assert s.evaluate("Read[r, Word]") == "alpha"
    assert s.evaluate("{Read[r, Number], Read[r, Number]}").args == (1, 25.0)
    assert s.evaluate("Read[r, {Number, Real}]").args == (-3, 400.0)
    assert s.evaluate("ReadLine[r]") == ""                   # the rest of that line
    assert input_form(s.evaluate("Read[r]")) == "{2, 3}"     # an expression over two lines
    assert s.evaluate("Read[r]") is Symbol("EndOfFile")
    s.evaluate("Close[r]")
    assert s.evaluate("Streams[]").args == ()


def test_read_list_numbers_and_counts(tmp_path):
    (tmp_path / "n.txt").write_text("1 2.5\n3e2 -4\n")
    s = session(tmp_path)
    assert py(s.evaluate('ReadList["n.txt", Number]')) == [1, 2.5, 300.0, -4]
    assert py(s.evaluate('ReadList["n.txt", {Number, Number}]')) == [[1, 2.5], [300, -4]]
    assert py(s.evaluate('ReadList["n.txt", Number, 3]')) == [1, 2.5, 300.0]
    assert s.evaluate('ReadString["n.txt"]') == "1 2.5\n3e2 -4\n"
    with pytest.raises(EvaluationError, match="Invalid Number"):
        (tmp_path / "bad.txt").write_text("x 1\n")
        s.evaluate('ReadList["bad.txt", Number]')


def test_text_files_export_and_import(tmp_path):
    s = session(tmp_path)
    s.evaluate('Export["t.txt", "one\\ntwo"]; Export["l.txt", {"a", 1, x^2}];')
    assert (tmp_path / "t.txt").read_text() == "one\ntwo"
    assert (tmp_path / "l.txt").read_text() == "a\n1\nx^2\n"
    assert [str(x) for x in s.evaluate('Import["l.txt", "Lines"]').args] == ["a", "1", "x^2"]


def test_errors_name_the_stream_or_file(tmp_path):
    s = session(tmp_path)
    with pytest.raises(EvaluationError, match="Cannot open nope.txt") as e:
        s.evaluate('OpenRead["nope.txt"]')
    assert e.value.tag == "noopen"
    s.evaluate('w = OpenWrite["w.txt"]; Close[w];')
    with pytest.raises(EvaluationError, match='OutputStream\\["w.txt", \\d+\\] is not open'):
        s.evaluate('WriteString[w, "x"]')
    s.evaluate('r = OpenRead["w.txt"];')
    with pytest.raises(EvaluationError, match="is an InputStream, not an OutputStream"):
        s.evaluate('WriteString[r, "x"]')
    with pytest.raises(EvaluationError, match="not a type Read knows"):
        s.evaluate("Read[r, Banana]")
    with pytest.raises(EvaluationError, match="is not a stream or a file name"):
        s.evaluate("WriteString[5, 1]")


def test_file_access_off_and_netdsl_check_write_nothing(tmp_path):
    off = Session(files=False, stdout=io.StringIO())
    with pytest.raises(EvaluationError):
        off.evaluate(f'OpenWrite["{tmp_path / "x.txt"}"]')
    assert not (tmp_path / "x.txt").exists()
    out, err = io.StringIO(), io.StringIO()
    text = f's = OpenWrite["{tmp_path / "y.txt"}"]; WriteString[s, "hello"]; Close[s];\n'
    assert check_text(text, "t.wl", out, err) == 0, err.getvalue()
    assert "would write" in err.getvalue() + out.getvalue()
    assert not (tmp_path / "y.txt").exists()
