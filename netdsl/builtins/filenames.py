"""File names: FileNameJoin, DirectoryName, FileBaseName, FileExtension work on the text of
names only (POSIX separators); FileExistsQ asks the file system whether a name exists.
None of them reads, writes, creates or deletes anything.

Wolfram's conventions: ``DirectoryName["a/b/c.txt"]`` is ``"a/b/"`` (with the trailing
separator), ``""`` for a bare name; ``FileBaseName["a/b.tar.gz"]`` is ``"b.tar"`` and
``FileExtension`` ``"gz"``.
"""

from __future__ import annotations

import os
import posixpath

from ..expr import Expr, Symbol, boolean, is_integer, is_list, list_items
from ..printer import short
from .registry import builtin, wrong_call
from .strings import _string, on_strings

S = Symbol


@builtin("Directory", "Directory[]", "the current working directory (read only: netdsl has "
         "no SetDirectory)", args=0, section="Files")
def _working_directory(ev):
    return os.getcwd()


@builtin("FileNameJoin", "FileNameJoin[{\"dir\", ..., \"name\"}]",
         "the parts joined into one file name with / (no doubled separators)", args=1,
         section="Files")
def _file_name_join(ev, parts):
    call = Expr(S("FileNameJoin"), parts)
    if not is_list(parts):
        raise wrong_call("FileNameJoin", call, f"{short(parts)} is not a list of strings")
    items = [_string(p, "FileNameJoin", call) for p in list_items(parts)]
    items = [p for p in items if p]
    if not items:
        return ""
    rest = [p.strip("/") for p in items[1:]]
    first = items[0] if items[0] == "/" else items[0].rstrip("/")
    return "/".join([first] + [p for p in rest if p]).replace("//", "/")


@builtin("FileExistsQ", "FileExistsQ[\"name\"]",
         "True if a file or directory of that name exists (~ is the home directory)", args=1,
         section="Files")
def _file_exists_q(ev, name):
    call = Expr(S("FileExistsQ"), name)
    return on_strings(name, "FileExistsQ", call,
                  lambda n: boolean(bool(n) and os.path.exists(os.path.expanduser(n))))


def _directory(n: str) -> str:
    trimmed = n.rstrip("/") or n
    head = posixpath.dirname(trimmed)
    if not head:
        return ""
    return head if head.endswith("/") else head + "/"


@builtin("DirectoryName", ("DirectoryName[\"name\"]", "DirectoryName[\"name\", n]"),
         "the directory part of a file name, with its trailing / (\"\" for a bare name); n "
         "levels up", args=(1, 2), section="Files")
def _directory_name(ev, name, levels=1):
    call = Expr(S("DirectoryName"), name, levels)
    if not (is_integer(levels) and levels >= 1):
        raise wrong_call("DirectoryName", call, f"{short(levels)} is not a positive integer")

    def up(n: str) -> str:
        for _ in range(min(levels, n.count("/") + 1)):
            n = _directory(n)
        return n
    return on_strings(name, "DirectoryName", call, up)


def _split(n: str) -> tuple[str, str]:
    base = posixpath.basename(n)
    stem, ext = posixpath.splitext(base)
    return stem, ext[1:]


@builtin("FileBaseName", "FileBaseName[\"name\"]",
         "the file name without its directory and its last extension (\"b.tar\" for "
         "\"a/b.tar.gz\")", args=1, section="Files")
def _file_base_name(ev, name):
    return on_strings(name, "FileBaseName", Expr(S("FileBaseName"), name), lambda n: _split(n)[0])


@builtin("FileExtension", "FileExtension[\"name\"]",
         "the file name's last extension, without the dot (\"\" if none)", args=1,
         section="Files")
def _file_extension(ev, name):
    return on_strings(name, "FileExtension", Expr(S("FileExtension"), name), lambda n: _split(n)[1])
