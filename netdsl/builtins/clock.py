"""Time: Now, DateString, AbsoluteTime, UnixTime, Pause.

``Now`` is ``DateObject[{y, m, d, h, min, s}, "Instant", "Gregorian", tz]`` (tz the local
offset from UTC in hours). DateString gives Wolfram's default form
``"Sun 6 Dec 2026 05:48:22"`` and the named forms "Date", "Time", "DateTime",
"DateTimeShort", "ISODate", "ISODateTime", or a list of elements ("Year", "Month",
"MonthName", "Day", "DayName", "Hour", "Minute", "Second", their "...Short" forms, and
literal text). Dates are DateObjects, date lists ``{y, m, d, h, min, s}`` or absolute times
(seconds since 1 January 1900). Pause waits at most ``MAX_PAUSE`` seconds (a longer wait
is cut short with Pause::cap), never in ``netdsl check``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

from ..errors import EvaluationError
from ..expr import Expr, Null, Symbol, is_list, is_number, list_items, make_list
from ..printer import short
from .registry import SYMBOL_VALUES, builtin, wrong_call

S = Symbol
MAX_PAUSE = 10.0   # seconds
EPOCH_1900 = dt.datetime(1900, 1, 1)


def now_value() -> Expr:
    t = dt.datetime.now().astimezone()
    offset = t.utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return Expr(S("DateObject"), make_list([t.year, t.month, t.day, t.hour, t.minute,
                                            t.second + t.microsecond / 1e6]),
                "Instant", "Gregorian", float(hours))


SYMBOL_VALUES["Now"] = now_value


@builtin("Now", "Now", "the current date and time, as a DateObject", args=0,
         section="Dates and time")
def _now(ev):
    return now_value()   # Now[] (the symbol Now is evaluated by the evaluator)


def _date(x: Any, call: Any) -> dt.datetime:
    if isinstance(x, Expr) and x.head is S("DateObject") and x.args:
        x = x.args[0]
    if is_number(x) and abs(x) < 3e11:   # within the years 1 to 9999
        try:
            return EPOCH_1900 + dt.timedelta(seconds=float(x))
        except OverflowError:
            pass
    items = list_items(x) if is_list(x) else []
    if 1 <= len(items) <= 6 and all(is_number(v) for v in items):
        y, mo, d, h, mi, s = (list(items) + [1, 1, 0, 0, 0][len(items) - 1:])[:6]
        try:
            whole = math.floor(s)
            return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(whole),
                               int(round((s - whole) * 1e6)) % 1000000)
        except (ValueError, OverflowError):
            pass
    raise wrong_call(call.head.name if isinstance(call, Expr) and isinstance(call.head, Symbol)
                     else "DateString", call, f"{short(x)} is not a date (a DateObject, a date "
                                         f"list {{y, m, d, h, min, s}} or an absolute time)")


NAMED = {
    "DateTime": ["DayNameShort", " ", "DayShort", " ", "MonthNameShort", " ", "Year", " ",
                 "Hour", ":", "Minute", ":", "Second"],
    "DateTimeShort": ["DayNameShort", " ", "DayShort", " ", "MonthNameShort", " ", "Year", " ",
                      "Hour", ":", "Minute"],
    "Date": ["DayName", " ", "DayShort", " ", "MonthName", " ", "Year"],
    "DateShort": ["DayNameShort", " ", "DayShort", " ", "MonthNameShort", " ", "Year"],
    "Time": ["Hour", ":", "Minute", ":", "Second"],
    "ISODate": ["Year", "-", "Month", "-", "Day"],
    "ISODateTime": ["Year", "-", "Month", "-", "Day", "T", "Hour", ":", "Minute", ":",
                    "Second"],
}
ELEMENTS = {
    "Year": lambda t: f"{t.year:04d}", "YearShort": lambda t: f"{t.year % 100:02d}",
    "Month": lambda t: f"{t.month:02d}", "MonthShort": lambda t: str(t.month),
    "MonthName": lambda t: t.strftime("%B"), "MonthNameShort": lambda t: t.strftime("%b"),
    "Day": lambda t: f"{t.day:02d}", "DayShort": lambda t: str(t.day),
    "DayName": lambda t: t.strftime("%A"), "DayNameShort": lambda t: t.strftime("%a"),
    "Hour": lambda t: f"{t.hour:02d}", "HourShort": lambda t: str(t.hour),
    "Minute": lambda t: f"{t.minute:02d}", "MinuteShort": lambda t: str(t.minute),
    "Second": lambda t: f"{t.second:02d}", "SecondShort": lambda t: str(t.second),
    "Millisecond": lambda t: f"{t.microsecond // 1000:03d}",
}


def _format_spec(spec: Any) -> list[str] | None:
    """The elements of a named form, a single element, or a list of them; None otherwise."""
    if isinstance(spec, str):
        if spec in NAMED:
            return NAMED[spec]
        return [spec] if spec in ELEMENTS else None
    if is_list(spec) and all(isinstance(v, str) for v in list_items(spec)):
        out: list[str] = []
        for v in list_items(spec):
            out.extend(NAMED.get(v, [v]))
        return out
    return None


@builtin("DateString", ("DateString[]", "DateString[date]", "DateString[\"form\"]",
                        "DateString[date, \"form\"]", "DateString[date, {e1, e2, ...}]"),
         "a date as text, \"Sun 6 Dec 2026 05:48:22\" by default, or in a named form "
         "(\"ISODate\", \"Time\", ...) or from elements (\"Year\", \"-\", \"Month\", ...)",
         args=(0, 2), section="Dates and time")
def _date_string(ev, *args):
    call = Expr(S("DateString"), *args)
    date: Any = None
    spec: Any = "DateTime"
    if len(args) == 1 and _format_spec(args[0]) is not None:
        spec = args[0]
    elif args:
        date = args[0]
        if len(args) == 2:
            spec = args[1]
    elements = _format_spec(spec)
    if elements is None:
        raise EvaluationError(f"{short(spec)} is not a known date format: a name such as "
                              f"\"ISODate\" or a list of elements such as {{\"Year\", \"-\", "
                              f"\"Month\"}}.", symbol="DateString", tag="str")
    t = dt.datetime.now() if date is None else _date(date, call)
    return "".join(ELEMENTS[e](t) if e in ELEMENTS else e for e in elements)


@builtin("AbsoluteTime", ("AbsoluteTime[]", "AbsoluteTime[date]"),
         "seconds since 1 January 1900 in the local time zone (of now, or of a date); "
         "differences of two time a computation", args=(0, 1), section="Dates and time")
def _absolute_time(ev, date=None):
    t = dt.datetime.now() if date is None else _date(date, Expr(S("AbsoluteTime"), date))
    seconds = (t - EPOCH_1900).total_seconds()
    # a date of whole seconds is an exact count, as Wolfram's AbsoluteTime[{2000, 1, 1}]
    return int(seconds) if date is not None and seconds.is_integer() else seconds


@builtin("UnixTime", ("UnixTime[]", "UnixTime[date]"),
         "whole seconds since 1 January 1970 UTC (of now, or of a local date)",
         args=(0, 1), section="Dates and time")
def _unix_time(ev, date=None):
    if date is None:
        return int(time.time())
    return int(math.floor(_date(date, Expr(S("UnixTime"), date)).astimezone().timestamp()))


@builtin("Pause", "Pause[n]", f"waits n seconds (at most {MAX_PAUSE:g}: netdsl never hangs; "
         "nothing in netdsl check)", args=1, section="Dates and time")
def _pause(ev, n):
    if not (is_number(n) and n >= 0):
        raise EvaluationError(f"Non-negative machine-sized number expected at position 1 in "
                              f"{short(Expr(S('Pause'), n))}.", symbol="Pause", tag="numnm")
    seconds = float(n) if n < 10 ** 9 else math.inf
    if seconds > MAX_PAUSE:
        ev.message("Pause", "cap", f"Pause[{short(n)}] waits {MAX_PAUSE:g} seconds, the most "
                                   f"netdsl waits.")
        seconds = MAX_PAUSE
    if not getattr(ev.host, "shape_only", False):
        time.sleep(seconds)
    return Null



