"""Hostile and consistency fuzzing of contexts (BeginPackage/Begin/End/EndPackage, Needs,
qualified names, $Context/$ContextPath) and Module/With/Block ``body /; cond`` definitions.

``python tests/fuzz_contexts.py N SEED`` builds N small programs from statement pieces,
runs each in a fresh Session (per-case alarm), in ``netdsl check`` (check_text) and in the
LSP analysis, and prints each case that gives a raw Python exception, an internal error, a
hang, or a final $Context/$ContextPath that differs between the run and the analysis.
"""

from __future__ import annotations

import io
import os
import random
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from netdsl import Session  # noqa: E402
from netdsl.check import check_text  # noqa: E402
from netdsl.errors import NetDSLError  # noqa: E402
from netdsl.lsp.analysis import analyse  # noqa: E402
from netdsl.syntax import parse_statements  # noqa: E402

PACKAGES = {
    "PA.wl": 'BeginPackage["PA`"]\nfa::usage = "fa[x] doubles"\nBegin["`Private`"]\n'
             'h[x_] := 2 x\nfa[x_] := h[x]\nEnd[]\nEndPackage[]\n',
    "PB.wl": 'BeginPackage["PB`", {"PA`"}]\nfb::usage = "fb[x]"\nBegin["`Private`"]\n'
             'h[x_] := 3 x\nfb[x_] := fa[x] + h[x]\nEnd[]\nEndPackage[]\n',
    "PC.wl": 'BeginPackage["PC`", {"PD`"}]\nfc[x_] := x\nEndPackage[]\n',
    "PD.wl": 'BeginPackage["PD`", {"PC`"}]\nfd[x_] := x\nEndPackage[]\n',
    "PE.wl": 'BeginPackage["PE`"]\nmk::usage = "mk[n] a net"\nBegin["`Private`"]\n'
             'mk[n_Integer] := NetChain[{LinearLayer[n], Ramp}, "Input" -> 3]\n'
             'tr[net_] := NetTrain[net, {{1., 2., 3.} -> {1.}}, MaxTrainingRounds -> 2]\n'
             'End[]\nEndPackage[]\n',
    "PF.wl": 'Begin["PF`"]\nx = 1\n',   # unbalanced
    "PG.wl": 'BeginPackage["PG`"]\nEnd[]\nEnd[]\nEndPackage[]\nEndPackage[]\n',
    "PH.wl": 'Get["PH.wl"]\n',
    "Sub/PI.wl": 'BeginPackage["Sub`PI`"]\nfi[x_] := x + 1\nEndPackage[]\n',
}

CTX = ['"A`"', '"A`B`"', '"`Private`"', '"`"', '""', '"A"', '"Global`"', '"System`"', '1',
       'x', '{"A`"}', '"A``"', '"`A`B`"', '"PA`"', '"a b`"', 'Null']

NAMES = ["x", "f", "g", "h", "A`b", "A`B`c", "`x", "Global`x", "System`Plus", "PA`fa",
         "PA`Private`h", "fa", "fb", "mk", "Private`y", "A`Private`h", "net", "$Context",
         "$ContextPath", "Plus", "MaxTrainingRounds", "Ramp", "Automatic"]

STRINGS = ['"x"', '"A`b"', '"`x"', '"Global`x"', '"System`Plus"', '"A`*"', '"*"', '"*`*"',
           '"`*"', '"A`*`*"', '"PA`*"', '"Plus"', '""', '"`"', '"A`"', '"1x"', '"x y"',
           '"@"', '"*`"', '"A``b"', '"``"', '"A`B`*"', '"Global`*"', '"System`*"']

PATHS = ['{"A`", "System`"}', '{"System`"}', '{}', '{"A`", "Global`", "System`"}',
         '{"Global`"}', '{1, 2}', '"A`"', '{""}', '{"A"}', 'Table["C" <> ToString[i] <> "`", {i, 300}]',
         'Append[$ContextPath, "A`"]', 'Prepend[$ContextPath, "PA`"]', 'x', '{"`"}',
         '{"System`", "System`"}', 'Reverse[$ContextPath]']


NEEDED = ['"PA`"', '"PB`"', '"PC`"', '"Nope`"', '1', '"Sub`PI`"']
NEEDS = ['"PA`"', '"PB`"', '"PC`"', '"PD`"', '"PE`"', '"Nope`"', '"Sub`PI`"', '1', '"PA"',
         '"PA`", "PA.wl"', '"Q`", "PB.wl"', '"Q`", "nofile.wl"']
GETS = ['"PA.wl"', '"PF.wl"', '"PG.wl"', '"PH.wl"', '"none.wl"', '1', '"Sub/PI.wl"', '"PE.wl"']
TOEXPR = ['"A`q"', '"`q + 1"', '"Global`x^2"', '"System`Plus[1, 2]"', '"fa[2]"',
          '"BeginPackage[\\"Z`\\"]"', '"$Context"']


def piece(rng: random.Random) -> str:
    """One statement."""
    r = rng.randrange(40)
    c = rng.choice(CTX)
    n = rng.choice(NAMES)
    s = rng.choice(STRINGS)
    if r == 0:
        return f"BeginPackage[{c}]"
    if r == 1:
        return "BeginPackage[" + c + ", {" + rng.choice(NEEDED) + "}]"
    if r == 2:
        return f"Begin[{c}]"
    if r == 3:
        return "End[]"
    if r == 4:
        return "EndPackage[]"
    if r == 5:
        return "Needs[" + rng.choice(NEEDS) + "]"
    if r == 6:
        return "Get[" + rng.choice(GETS) + "]"
    if r == 7:
        return f'{rng.choice(["f", "fa", "A`b", "g"])}::usage = "{rng.choice(["u", "x `1`", ""])}"'
    if r == 8:
        return f"$Context = {c}"
    if r == 9:
        return f"$ContextPath = {rng.choice(PATHS)}"
    if r == 10:
        return f"Symbol[{s}]"
    if r == 11:
        return "ToExpression[" + rng.choice(TOEXPR) + "]"
    if r == 12:
        return f"Names[{s}]"
    if r == 13:
        return f"Context[{rng.choice([n, s])}]"
    if r == 14:
        return f"Contexts[{rng.choice(['', s])}]"
    if r == 15:
        return f"{rng.choice(['Clear', 'ClearAll', 'Remove'])}[{rng.choice([s, n])}]"
    if r == 16:
        return f'''{rng.choice(['f', 'g', 'A`b', '`k', 'h'])}[x_] := {rng.choice(['x + 1', 'h[x]', 'A`b[x]', 'Module[{y = x}, y /; y > 0]', 'With[{y = 2 x}, y /; EvenQ[y]]', 'Block[{z = x}, z /; z < 3]', 'Module[{y}, Module[{z = x}, z /; z > 1]]', 'Module[{y = x}, y /; $Context == "Global`"]'])}'''
    if r == 17:
        return f'''{rng.choice(['f', 'g', 'A`b'])}[{rng.choice(['1', '2', '-1', '5', 'x', '"s"'])}]'''
    if r == 18:
        return f'''{n} = {rng.choice(['1', '2', 'f', 'Symbol["q"]', '$Context'])}'''
    if r == 19:
        return f"g /: {rng.choice(['Plus', 'h', 'Length'])}[g, y_] := y"
    if r == 20:
        return f'''Options[{rng.choice(['f', 'A`b'])}] = {{Opt -> 1, "Input" -> 3, MaxTrainingRounds -> Automatic}}'''
    if r == 21:
        return f"SetAttributes[{rng.choice(['f', 'A`b', 'h'])}, {rng.choice(['Listable', 'HoldAll', 'Orderless', 'Protected'])}]"
    if r == 22:
        return f"{rng.choice(['InputForm', 'ToString', 'Print', 'FullForm', 'Hold'])}[{rng.choice(NAMES)}]"
    if r == 23:
        return f"{rng.choice(['InputForm', 'ToString', 'Print'])}[{rng.choice(['f[x_] :> A`b[x]', 'A`Private`h_', 'PA`Private`h[x_] -> 1', '{A`b, A`B`c, `x}', 'Hold[$Context]', 'fa::usage'])}]"
    if r == 24:
        return "net = mk[2]"
    if r == 25:
        return f"{rng.choice(['net', 'mk[3]', 'PE`Private`tr[mk[1]]'])}[{{1., 2., 3.}}]"
    if r == 26:
        return f"{rng.choice(['Map', 'Select', 'Apply'])}[{rng.choice(['#^2 &', 'A`b[#] &', 'Function[u, u + `k]', '(# > 1 &)', 'fa'])}, {{1, 2, 3}}]"
    if r == 27:
        return f"{rng.choice(['$Context', '$ContextPath', '$Packages', 'Context[]'])}"
    if r == 28:
        return f'''Block[{{$Context = {c}}}, {rng.choice(['x', 'Symbol["z"]', 'Context[]'])}]'''
    if r == 29:
        return f'''Block[{{$ContextPath = {rng.choice(PATHS)}}}, {rng.choice(['x', 'Names["*"]', 'Symbol["z"]'])}]'''
    if r == 30:
        return f"Module[{{{rng.choice(['x', 'A`b', 'y = 1'])}}}, {rng.choice(['x', 'Context[x]', 'A`b'])}]"
    if r == 31:
        return f"With[{{$Context = {c}}}, $Context]"
    if r == 32:
        return f"f[x_] := {rng.choice(['Module[{y = x}, y /; ', 'With[{y = x}, y /; ', 'Block[{y = x}, y /; '])}{rng.choice(['True', 'False', '1', 'Undefined', 'x', 'y > 1'])}]"
    if r == 33:
        return f'''{rng.choice(['Unprotect', 'Protect'])}[{rng.choice(['f', 'A`b', 'Plus', '"A`*"'])}]'''
    if r == 34:
        return f"{rng.choice(['StringQ', 'SymbolName', 'Head', 'ValueQ', 'DownValues', 'Definition', 'Information'])}[{rng.choice(NAMES)}]"
    if r == 35:
        return f"{rng.choice(['Begin', 'BeginPackage'])}[{c}]; {rng.choice(NAMES)} = 1; {rng.choice(['End', 'EndPackage'])}[]"
    if r == 36:
        return f"ToExpression[{s}]"
    if r == 37:
        return f'''Symbol[{rng.choice(['1', 'x', '"A`B`"', '"`"', '"a-b"', '"$x"'])}]'''
    if r == 38:
        return f'''NetChain[{{LinearLayer[{rng.choice(['2', 'n', 'A`n'])}], {rng.choice(['Ramp', 'Tanh', 'A`Ramp', 'System`Ramp'])}}}, "Input" -> 3]'''
    return f'''Names[{rng.choice(['1', 'x', '{"A`*"}', s])}]'''


def program(rng: random.Random) -> str:
    return "\n".join(piece(rng) for _ in range(rng.randint(1, 10)))


class Timeout(Exception):
    pass


def _alarm(*_):
    raise Timeout


def state(session: Session) -> tuple:
    c = session.evaluator.contexts
    return (c.context, c.path)


def run_case(text: str, folder: str, seconds: int = 10) -> list[tuple[str, str]]:
    """Problems of one program: (class, detail)."""
    problems: list[tuple[str, str]] = []
    signal.signal(signal.SIGALRM, _alarm)
    path = os.path.join(folder, "case.wl")
    run_state = None
    for what in ("run", "check", "lsp"):
        signal.alarm(seconds)
        try:
            if what == "run":
                s = Session(stdout=io.StringIO(), stderr=io.StringIO())
                s.base_dir = folder
                for expr, span in parse_statements(text, path):
                    try:
                        s.evaluate_expr(expr, span, path)
                    except NetDSLError:
                        pass
                run_state = state(s)
            elif what == "check":
                out, err = io.StringIO(), io.StringIO()
                check_text(text, path, out, err)
                if "internal" in err.getvalue().lower() or "Traceback" in err.getvalue():
                    problems.append(("internal-check", err.getvalue()[-400:]))
            else:
                result = analyse(text, path)
                for d in result.diagnostics:
                    if d.code == "internal":
                        problems.append(("internal-lsp", d.message))
                if run_state is not None and state(result.session) != run_state:
                    problems.append(("disagree-lsp", f"run {run_state} lsp "
                                     f"{state(result.session)}"))
        except Timeout:
            problems.append(("hang-" + what, ""))
        except NetDSLError:
            if what == "run":
                pass
        except RecursionError:
            problems.append(("recursion-" + what, traceback.format_exc()[-600:]))
        except Exception:  # noqa: BLE001
            problems.append(("raw-" + what, traceback.format_exc()[-1200:]))
        finally:
            signal.alarm(0)
    return problems


def main() -> None:
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    folder = tempfile.mkdtemp(prefix="fuzzctx")
    for name, text in PACKAGES.items():
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)
    os.chdir(folder)
    found: dict[str, tuple[str, str]] = {}
    counts: dict[str, int] = {}
    start = time.time()
    for _ in range(n):
        text = program(rng)
        for cls, detail in run_case(text, folder):
            key = cls + ":" + detail.strip().splitlines()[-1][:120] if detail.strip() else cls
            counts[key] = counts.get(key, 0) + 1
            if key not in found or len(text) < len(found[key][0]):
                found[key] = (text, detail)
    print(f"{n} cases in {time.time() - start:.0f}s; {len(found)} problem classes")
    for key, (text, detail) in found.items():
        print("=" * 70)
        print(f"{key}  (x{counts[key]})\n--- program:\n{text}\n--- detail:\n{detail}")


if __name__ == "__main__":
    main()
