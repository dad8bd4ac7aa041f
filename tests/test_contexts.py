"""Contexts are namespaces, as in Wolfram: two packages' private helpers of one name are two
symbols; a name is read in $Context and $ContextPath as BeginPackage, Begin, End and
EndPackage set them (the examples of Wolfram's pages for those functions, $ContextPath,
Context and Names)."""

from __future__ import annotations

import io

import pytest

from netdsl import Session
from netdsl.check import check_text
from netdsl.errors import NetDSLError
from netdsl.expr import Symbol, input_form


def run(src: str, s: Session):
    return s.evaluate(src)


def text(src: str, s: Session) -> str:
    return input_form(run(src, s))


def package(name: str, public: str, factor: int) -> str:
    """A package whose public function uses a private helper ``train`` (and ``model``)."""
    return f'''BeginPackage["{name}`"]
{public}::usage = "{public}[x] uses the private train of {name}"
Begin["`Private`"]
model = {factor}
train[x_] := model x
{public}[x_] := train[x] + 1
End[]
EndPackage[]
'''


TWO = package("A", "fitA", 10) + package("B", "fitB", 100)


def test_two_packages_in_one_file_keep_their_own_private_helpers():
    s = Session()
    run(TWO, s)
    assert run("{fitA[2], fitB[2]}", s).tolist() == [21, 201]
    # the helpers are not Global`: train and model are new, undefined symbols here
    assert text("{train[2], model}", s) == "{train[2], model}"
    assert run('Context[train]', s) == "Global`"
    # reached with their full names
    assert run("A`Private`train[3]", s) == 30 and run("B`Private`train[3]", s) == 300
    assert run("{A`Private`model, B`Private`model}", s).tolist() == [10, 100]
    assert run("Context[fitA]", s) == "A`" and run("Context[A`Private`train]", s) == "A`Private`"


def test_a_global_definition_does_not_clobber_a_package_helper():
    s = Session()
    run("train[x_] := -1\nmodel = 0", s)   # the user's own names, defined first
    run(TWO, s)
    run("train[x_] := -2", s)              # and redefined after
    assert run("{fitA[1], fitB[1], train[1], model}", s).tolist() == [11, 101, -2, 0]


def test_packages_loaded_with_get_and_needs(tmp_path):
    (tmp_path / "PkgA.wl").write_text(package("PkgA", "fitA", 10))
    (tmp_path / "PkgB.wl").write_text(package("PkgB", "fitB", 100))
    s = Session()
    s.base_dir = str(tmp_path)
    run('Get["PkgA.wl"]\nNeeds["PkgB`"]', s)
    assert run("{fitA[2], fitB[2]}", s).tolist() == [21, 201]
    assert text("train[2]", s) == "train[2]"
    assert run("PkgA`Private`train[1]", s) == 10
    assert run("$ContextPath", s).args == ("PkgB`", "PkgA`", "System`", "Global`")
    run('Needs["PkgA`"]', s)          # loaded: nothing is read again
    assert run("fitA[0]", s) == 1


def test_a_package_needing_another_sees_its_public_names_only(tmp_path):
    (tmp_path / "Base.wl").write_text(package("Base", "fitBase", 3))
    (tmp_path / "Top.wl").write_text('''BeginPackage["Top`", {"Base`"}]
top::usage = "top[x]"
Begin["`Private`"]
train[x_] := fitBase[x] * 2
top[x_] := {train[x], $ContextPath}
End[]
EndPackage[]
''')
    s = Session()
    s.base_dir = str(tmp_path)
    run('Needs["Top`"]', s)
    value = run("top[1]", s)
    assert value.args[0] == 8   # (3*1 + 1) * 2: Top's train, calling Base's public fitBase
    # EndPackage restores the path before BeginPackage["Top`"], with Top` in front: Base`
    # was on the path only inside Top, so fitBase here is a new Global` symbol
    assert run("$ContextPath", s).args == ("Top`", "System`", "Global`")
    assert run("{Context[fitBase], Context[Base`fitBase]}", s).args == ("Global`", "Base`")
    assert text("Hold[Base`fitBase[1]]", s) == "Hold[Base`fitBase[1]]"
    assert run("Base`fitBase[1]", s) == 4


def test_context_and_context_path_as_wolframs_pages_show():
    s = Session()
    assert run("{Context[], $ContextPath}", s) == run('{"Global`", {"System`", "Global`"}}', s)
    # BeginPackage["square`"]: $Context "square`", $ContextPath {"square`", "System`"}
    run('BeginPackage["square`"]', s)
    assert run("$Context", s) == "square`"
    assert run("$ContextPath", s).args == ("square`", "System`")
    run('square::usage = "square[x] gives x^2"', s)
    # Begin["`Private`"] is relative to $Context and leaves $ContextPath alone
    assert run('Begin["`Private`"]', s) == "square`Private`"
    assert run("Context[]", s) == "square`Private`"
    assert run("$ContextPath", s).args == ("square`", "System`")
    run("square[x_] := x^2", s)
    assert run("End[]", s) == "square`Private`"
    assert run("Context[]", s) == "square`"
    run("EndPackage[]", s)
    assert run("Context[]", s) == "Global`"
    assert run("$ContextPath", s).args == ("square`", "System`", "Global`")
    assert run("square[3]", s) == 9
    assert run("Context[square]", s) == "square`"
    assert run('Context["square"]', s) == "square`"
    assert run("Context[Plus]", s) == "System`"
    # a name with a context mark ignores $ContextPath
    assert text("square`Private`x", s) == "square`Private`x"


def test_the_collatz_package():
    s = Session()
    run('''BeginPackage["Collatz`"]
Collatz::usage = "Collatz[n] gives a list of the iterates in the 3n+1 problem."
Begin["`Private`"]
Collatz[1] := {1}
Collatz[n_Integer] := Prepend[Collatz[3 n + 1], n] /; OddQ[n] && n > 0
Collatz[n_Integer] := Prepend[Collatz[n/2], n] /; EvenQ[n] && n > 0
End[]
EndPackage[]''', s)
    assert run("Collatz[6]", s).tolist() == [6, 3, 10, 5, 16, 8, 4, 2, 1]
    assert run("Context[Collatz]", s) == "Collatz`"
    assert run("Collatz::usage", s).startswith("Collatz[n] gives")
    assert text("Names[\"Collatz`Private`*\"]", s) == '{"Collatz`Private`n"}'


def test_builtins_are_system_symbols_from_every_context():
    s = Session()
    run('''BeginPackage["Nets`"]
makeNet::usage = "makeNet[n]"
Begin["`Private`"]
layers[n_] := {LinearLayer[n], Ramp, LinearLayer[2], SoftmaxLayer[]}
makeNet[n_Integer] := NetInitialize[NetChain[layers[n], "Input" -> 3],
   RandomSeeding -> 1, Method -> Automatic]
sizes = Table[i^2, {i, 3}]
End[]
EndPackage[]''', s)
    assert run("Context[Nets`Private`layers]", s) == "Nets`Private`"
    assert run("Nets`Private`sizes", s).tolist() == [1, 4, 9]
    assert run("Dimensions[makeNet[4][{1., 2., 3.}]]", s).tolist() == [2]
    for name in ("Table", "LinearLayer", "Ramp", "Automatic", "Integer", "True", "Pi"):
        assert run(f'Context["{name}"]', s) == "System`"


def test_printing_shadowed_and_unshadowed_symbols():
    s = Session()
    run(TWO, s)
    # on the path: short names
    assert text("{fitA, fitB}", s) == "{fitA, fitB}"
    assert text("Hold[fitA[x_] := x]", s) == "Hold[fitA[x_] := x]"
    # off the path: full names
    assert text("Hold[{A`Private`train, B`Private`model}]", s) == \
        "Hold[{A`Private`train, B`Private`model}]"
    # an explicit Global`fitA is shadowed by A`fitA, which the path finds first
    assert text("{Global`fitA, fitA}", s) == "{Global`fitA, fitA}"
    # inside a private context its own names are short (Begin leaves Global` on the path)
    run('x = 1\nBegin["A`Private`"]', s)
    assert text("Hold[{train, model, x, fitA}]", s) == "Hold[{train, model, x, fitA}]"
    assert text("Hold[train[y_] := y]", s) == "Hold[train[y_] := y]"
    run("End[]", s)
    assert text("x", s) == "1"
    # in a package Global` is off the path: its names print in full
    run('BeginPackage["C`"]', s)
    assert text("Hold[{Global`x, x, Plus}]", s) == "Hold[{Global`x, x, Plus}]"
    assert run("Context[x]", s) == "C`"
    run("EndPackage[]", s)


def test_names():
    s = Session()
    run(TWO + "z1 = 1\nz2 = 2", s)
    assert run('Names["A`*"]', s).args == ("fitA",)
    assert run('Names["A`Private`*"]', s).args == (
        "A`Private`model", "A`Private`train", "A`Private`x")
    assert run('Names["B`Private`tr*"]', s).args == ("B`Private`train",)
    assert run('Names["z*"]', s).args == ("z1", "z2")
    assert "fitA" in run('Names["fit*"]', s).args
    assert set(run('Contexts["A`*"]', s).args) == {"A`", "A`Private`"}


def test_clear_all_of_a_context_clears_only_its_symbols():
    s = Session()
    run(TWO + "train = 5", s)
    run('ClearAll["A`Private`*"]', s)
    assert text("fitA[2]", s) == "1 + A`Private`train[2]"
    assert run("{fitB[2], train}", s).tolist() == [201, 5]
    run('ClearAll["A`*"]', s)
    assert text("fitA[2]", s) == "fitA[2]"
    assert run("fitB[2]", s) == 201
    run('ClearAll["Global`*"]', s)
    assert text("train", s) == "train" and run("fitB[2]", s) == 201


def test_symbol_and_to_expression_read_in_the_current_contexts():
    s = Session()
    run(TWO, s)
    assert run('Symbol["fitA"][1]', s) == 11
    assert run('ToExpression["fitB[1]"]', s) == 101
    assert run('Symbol["A`Private`train"][1]', s) == 10
    run('Begin["B`Private`"]', s)
    assert run('ToExpression["train[1]"]', s) == 100
    assert run("SymbolName[train]", s) == "train"
    run("End[]", s)
    assert run('SymbolName[A`Private`train]', s) == "train"


def test_assigning_context_variables():
    s = Session()
    run('$ContextPath = {"Mine`", "System`", "Global`"}\n$Context = "Mine`"', s)
    run("helper = 7", s)
    run('$Context = "Global`"', s)
    assert run("Context[helper]", s) == "Mine`" and run("helper", s) == 7
    with pytest.raises(NetDSLError, match="cxset"):
        run("$Context = 3", s)
    with pytest.raises(NetDSLError, match="cxlist"):
        run('$ContextPath = {"NoMark"}', s)


def test_messages_of_package_functions_print_short_names():
    s = Session()
    run('''BeginPackage["M`"]
f::bad = "bad `1`"
Begin["`Private`"]
f[x_] := Message[f::bad, x]
End[]
EndPackage[]''', s)
    err = io.StringIO()
    s.stderr = err
    run("f[3]", s)
    assert "f::bad: bad 3" in err.getvalue() and "M`" not in err.getvalue()


def test_one_line_package_reads_its_names_before_begin_package_runs():
    """As in Wolfram: a statement is read whole before it is evaluated, so names on the
    BeginPackage line itself are read in the contexts before it."""
    s = Session()
    run('BeginPackage["One`"]; g[x_] := 2 x; EndPackage[]', s)
    assert run("Context[g]", s) == "Global`" and run("g[2]", s) == 4


def test_module_locals_and_pure_functions_in_a_private_context():
    s = Session()
    run('''BeginPackage["L`"]
go::usage = "go[n]"
Begin["`Private`"]
go[n_] := Module[{acc = 0, k}, Do[acc += k, {k, n}]; {acc, Map[#^2 &, Range[n]],
   Function[{y}, y + 1] /@ {1, 2}}]
End[]
EndPackage[]''', s)
    assert text("go[3]", s) == "{6, {1, 4, 9}, {2, 3}}"


def test_helpers_example_still_checks_strictly():
    out, err = io.StringIO(), io.StringIO()
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "helpers.wl"
    assert check_text(path.read_text(), str(path), out, err, strict=True) == 0, \
        out.getvalue() + err.getvalue()


def test_symbols_stay_interned():
    s = Session()
    run(TWO, s)
    assert run("A`Private`train", s) is Symbol("A`Private`train")
    assert run("Hold[fitA]", s).args[0] is Symbol("A`fitA")


def test_a_deeply_nested_statement_in_a_package_is_an_error_not_a_crash():
    from netdsl.expr import Expr
    s = Session()
    run('BeginPackage["Deep`"]', s)
    e: object = Symbol("x")
    for _ in range(100_000):
        e = Expr(Symbol("f"), e)
    with pytest.raises(NetDSLError, match="reclim"):
        s.evaluate_expr(e)
    run("EndPackage[]", s)
    assert run("$Context", s) == "Global`"
