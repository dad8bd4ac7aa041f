"""File names (builtins/filenames.py) and time (builtins/clock.py): FileNameJoin,
FileExistsQ, DirectoryName, FileBaseName, FileExtension, Now, DateString, Pause.

Expected values: Wolfram's documentation examples where said (DateString's default
form "Wed 23 Jul 2014 14:13:31"), else Python's datetime and os.path on the same input.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import pytest

from netdsl import Session
from netdsl.builtins import clock
from netdsl.expr import Symbol
from values import error, py, run

T, F = Symbol("True"), Symbol("False")


# ---------------------------------------------------------------- file names
@pytest.mark.parametrize("src, expected", [
    ('FileNameJoin[{"a", "b", "c.txt"}]', "a/b/c.txt"),
    ('FileNameJoin[{"/", "usr", "lib/"}]', "/usr/lib"),
    ('FileNameJoin[{"a/", "/b"}]', "a/b"),
    ('FileNameJoin[{}]', ""),
    ('DirectoryName["/a/b/c.txt"]', "/a/b/"),       # with the trailing separator
    ('DirectoryName["c.txt"]', ""),
    ('DirectoryName["a/b/c", 2]', "a/"),
    ('DirectoryName["a/b/"]', "a/"),
    ('DirectoryName["/a"]', "/"),
    ('FileBaseName["dir/file.tar.gz"]', "file.tar"),
    ('FileExtension["dir/file.tar.gz"]', "gz"),
    ('FileExtension["README"]', ""),
    ('FileBaseName["README"]', "README"),
])
def test_file_name_parts(src, expected):
    assert run(src) == expected


def test_file_exists_only_looks(tmp_path):
    f = tmp_path / "x.m"
    f.write_text("1")
    before = sorted(os.listdir(tmp_path))
    assert run(f'FileExistsQ["{f}"]') is T
    assert run(f'FileExistsQ["{tmp_path}"]') is T          # directories too
    assert run(f'FileExistsQ["{tmp_path / "missing"}"]') is F
    assert py(run(f'FileExistsQ[{{"{f}", ""}}]')) == [T, F]
    assert sorted(os.listdir(tmp_path)) == before and f.read_text() == "1"
    assert py(run('FileBaseName[{"a.m", "b/c.wl"}]')) == ["a", "c"]


def test_file_name_errors():
    error("FileNameJoin[{1}]", "FileNameJoin", "string")
    error('FileNameJoin["a"]', "FileNameJoin", "argx")
    error("FileExistsQ[3]", "FileExistsQ", "string")
    error('DirectoryName["a/b", 0]', "DirectoryName", "argx")


# ---------------------------------------------------------------- dates
def test_now_is_a_date_object_of_the_current_time():
    value = run("Now")
    assert value.head is Symbol("DateObject")
    y, mo, d, h, mi, s = py(value.args[0])
    got = dt.datetime(y, mo, d, h, mi, int(s))
    assert abs((dt.datetime.now() - got).total_seconds()) < 5
    assert value.args[1:3] == ("Instant", "Gregorian")
    error("Now = 1", "Set", "wrsym")                         # a built-in symbol


def test_date_string_forms():
    assert run("DateString[{2014, 7, 23, 14, 13, 31}]") == "Wed 23 Jul 2014 14:13:31"  # Wolfram
    assert run('DateString[{2014, 7, 23}, "ISODate"]') == "2014-07-23"
    assert run('DateString[{2014, 7, 23, 14, 13, 31}, "ISODateTime"]') == "2014-07-23T14:13:31"
    assert run('DateString[{2014, 7, 23}, "Date"]') == "Wednesday 23 July 2014"
    assert run('DateString[{2014, 7, 23, 9, 5, 7.5}, "Time"]') == "09:05:07"
    assert run('DateString[{2014, 7, 3}, {"Day", ".", "Month", ".", "YearShort"}]') == \
        "03.07.14"
    assert run('DateString[{2014, 7, 3}, {"MonthName", " ", "DayShort"}]') == "July 3"
    assert run("DateString[0]") == "Mon 1 Jan 1900 00:00:00"    # absolute time: since 1900
    assert run("DateString[86400 * 365]") == "Tue 1 Jan 1901 00:00:00"
    today = dt.date.today().isoformat()
    assert run('DateString["ISODate"]') in (today, (dt.date.today() + dt.timedelta(1)).isoformat())
    assert run('DateString[Now, "ISODate"]')[:4] == today[:4]
    error("DateString[x]", "DateString", "argx")
    error('DateString[{2014, 13, 40}]', "DateString", "argx")
    error('DateString[{2014, 7, 23}, "Bogus"]', "DateString", "str")


# ---------------------------------------------------------------- Pause
def test_pause_waits_and_is_capped(monkeypatch):
    t0 = time.monotonic()
    assert run("Pause[0.05]") is Symbol("Null")
    assert time.monotonic() - t0 >= 0.05
    slept = []
    monkeypatch.setattr(clock.time, "sleep", slept.append)
    s = Session(stdout=io.StringIO())
    run("Pause[10^20]", s)
    assert slept == [clock.MAX_PAUSE]                        # never a hang
    assert (s.messages[-1].symbol, s.messages[-1].tag) == ("Pause", "cap")
    error("Pause[-1]", "Pause", "numnm")
    error("Pause[x]", "Pause", "numnm")


def test_dates_beyond_the_calendar_are_refused():
    error("DateString[10^30]", "DateString", "argx")
    error("DateString[-10^30]", "DateString", "argx")
