"""A focused fuzzer for the CTC loss and decoder, ExtractLayer, RandomArrayLayer, the
"Class" coders with numeric labels, "Varying" coder ports, the new list functions (Join
at a level, Reverse at levels, TakeDrop, Round[x, a], Outer at a level), Compile,
NumericArray, LearningRateMultipliers and ``netdsl check``'s Map/Apply/Part over abstract
data.

``case(rng)`` gives (program, expected): a program full of hostile values (wrong ranks,
empty lists, sizes 0, -1, 10^9, 10^18, NaN, strings where numbers go, out-of-range
positions) and, where the right answer can be computed here without netdsl, that answer.
Each program is evaluated twice, by a Session (run) and by a shape-only Session (netdsl
check); the worker reports for both the outcome (ok, a netdsl error's Symbol::tag, a raw
Python exception, a timeout) and the result's dimensions.

Run ``python tests/fuzz_today.py N [seed]``: the parent feeds N cases to a worker process
(restarted after a crash or a hang) and prints the problems grouped by kind:
``bad`` (a raw Python exception), ``timeout`` (over 10 s), ``crash``, ``disagree`` (check
accepts what run rejects for its shapes, or gives other dimensions) and ``wrong`` (a value
different from the one computed here).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import queue
import random
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from typing import Any

SIZES = ["0", "-1", "1", "2", "3", "10^9", "10^18", "2.5", '"a"', "Infinity", "Indeterminate",
         "{}", "None", "Automatic", '"Varying"']
BAD_NUMS = ["Indeterminate", "Infinity", "-Infinity", "10^400", "1.*^300", '"x"', "{}", "x",
            "-1.", "0.", "10^18", "True"]
COUNTS = ["0", "-1", "1", "2", "3", "10^9", "10^18", "2.5", '"a"', "Infinity", "All", "{}"]


def wl(x: Any) -> str:
    """Wolfram text of a Python value (nested lists, numbers, strings)."""
    if isinstance(x, bool):
        return "True" if x else "False"
    if isinstance(x, (list, tuple)):
        return "{" + ", ".join(wl(v) for v in x) + "}"
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, float):
        return repr(x).replace("e", "*^")
    return str(x)


def _probs(rng: random.Random, steps: int, size: int) -> list[list[float]]:
    rows = []
    for _ in range(steps):
        w = [rng.random() + 0.05 for _ in range(size)]
        t = sum(w)
        rows.append([round(v / t, 4) for v in w])
    return rows


def _hostile(rng: random.Random, good: str, extra: list[str] | None = None) -> str:
    """``good`` most of the time, else a hostile value."""
    if rng.random() < 0.6:
        return good
    return rng.choice(BAD_NUMS + (extra or []))


# ---------------------------------------------------------------- CTC
def ctc_paths(probs: list[list[float]], target: list[int]) -> float:
    """-Log of the sum over every path that collapses to ``target`` (brute force)."""
    steps, size = len(probs), len(probs[0])
    blank = size - 1
    total = 0.0
    for path in itertools.product(range(size), repeat=steps):
        out: list[int] = []
        prev = None
        for k in path:
            if k != blank and k != prev:
                out.append(k + 1)
            prev = k
        if out == target:
            total += math.prod(probs[t][k] for t, k in enumerate(path))
    return -math.log(max(total, 1e-300))


def ctc_best(probs: list[list[float]]) -> tuple[list[int], dict]:
    """Every decoding's probability (brute force) and the most probable one."""
    steps, size = len(probs), len(probs[0])
    blank = size - 1
    acc: dict[tuple, float] = defaultdict(float)
    for path in itertools.product(range(size), repeat=steps):
        out: list[int] = []
        prev = None
        for k in path:
            if k != blank and k != prev:
                out.append(k)
            prev = k
        acc[tuple(out)] += math.prod(probs[t][k] for t, k in enumerate(path))
    best = max(acc.items(), key=lambda kv: kv[1])
    return list(best[0]), acc


def ctc_loss_case(rng: random.Random):
    c = rng.choice([1, 2, 3])
    steps = rng.choice([1, 2, 3, 4])
    probs = _probs(rng, steps, c + 1)
    length = rng.randint(0, steps + 1)
    target = [rng.randint(1, c) for _ in range(length)]
    if rng.random() < 0.2:
        target = [1] * length
    opts = rng.choice(["", f'"Input" -> {{"Varying", {c + 1}}}', f'"Input" -> {{{steps}, {c + 1}}}',
                       f'"Target" -> {{{length}}}', '"Target" -> {"Varying"}',
                       f'"Input" -> {{"Varying", {rng.choice(SIZES)}}}',
                       f'"Input" -> {{{rng.choice(SIZES)}, {c + 1}}}',
                       f'"Target" -> {{{rng.choice(SIZES)}}}', f'"Input" -> {rng.choice(SIZES)}',
                       '"Target" -> NetEncoder[{"Characters", "ab"}]',
                       '"Target" -> {"Varying", Restricted["Integer", 2]}',
                       '"Input" -> {"Varying", 3}, "Target" -> NetEncoder[{"Characters", "abc"}]',
                       f'"Input" -> {{"Varying", {c + 1}}}, "Target" -> {{"Varying", {c + 1}}}'])
    x_txt, t_txt = wl(probs), wl(target)
    good = True
    r = rng.random()
    if r < 0.25:
        good = False
        x_txt = rng.choice(["{}", "{{}}", wl([probs]), wl(probs[0]), '"abc"', "1.",
                            wl([[v if rng.random() < 0.7 else rng.choice(
                                ["Indeterminate", "-0.5", "Infinity", "2."]) for v in row]
                                for row in probs]).replace('"', ""),
                            wl([row + [0.1] for row in probs]), "RandomReal[1, {10^9, 3}]"])
    elif r < 0.5:
        good = False
        t_txt = rng.choice(["{}", "{0}", f"{{{c + 1}}}", "{-1}", "{1.5}", '{"a"}', "{{1}}",
                            "1", wl([1] * (steps + 1)), wl([1, 1] * steps), "{10^18}",
                            "{Indeterminate}", '"ab"'])
    form = rng.random()
    expect = None
    if form < 0.55:
        src = f'l = CTCLossLayer[{opts}]; l[<|"Input" -> {x_txt}, "Target" -> {t_txt}|>]'
        plain = opts in ("", f'"Input" -> {{"Varying", {c + 1}}}', '"Target" -> {"Varying"}',
                         f'"Input" -> {{{steps}, {c + 1}}}', f'"Target" -> {{{length}}}')
        if good and plain and steps <= 4:
            need = len(target) + sum(a == b for a, b in zip(target, target[1:]))
            if need <= steps and target:    # (an empty target is an empty input: netemptin)
                expect = ("number", ctc_paths(probs, target))
    elif form < 0.75:   # a batch, maybe of different lengths
        p2 = _probs(rng, rng.choice([1, 2, 3, 5]), c + 1)
        t2 = [rng.randint(1, c) for _ in range(rng.randint(0, 3))]
        src = (f'l = CTCLossLayer[{opts}]; l[<|"Input" -> {{{x_txt}, {wl(p2)}}}, '
               f'"Target" -> {{{t_txt}, {wl(t2)}}}|>]')
    elif form < 0.9:    # in a graph, trained
        src = (f'g = NetGraph[<|"s" -> SoftmaxLayer[], "l" -> CTCLossLayer[{opts}]|>, '
               f'{{NetPort["Input"] -> "s" -> NetPort["l", "Input"], '
               f'NetPort["Target"] -> NetPort["l", "Target"]}}, "Input" -> {{"Varying", {c + 1}}}]; '
               f'NetTrain[g, <|"Input" -> {{{x_txt}, {x_txt}}}, "Target" -> {{{t_txt}, {t_txt}}}|>, '
               f'MaxTrainingRounds -> 1, BatchSize -> {rng.choice(["1", "2", "0", "10^9"])}]; 1')
    else:               # check's abstract data
        n = rng.choice(["2", "0", "10^9", "3"])
        src = (f'l = CTCLossLayer[{opts}]; x = RandomReal[1, {{{n}, {steps}, {c + 1}}}]; '
               f'l[<|"Input" -> x, "Target" -> ConstantArray[{rng.choice(["1", "0", "2"])}, '
               f'{{{n}, {length}}}]|>]')
    return src, expect


def ctc_decoder_case(rng: random.Random):
    c = rng.choice([1, 2, 3])
    labels = [["a", "b", "c"][i] for i in range(c)]
    lab_txt = wl(labels)
    r = rng.random()
    good_labels = True
    if r < 0.25:
        good_labels = False
        lab_txt = rng.choice(["{}", '{"a", "a"}', '{1, "a"}', "{1, 2, 3}", '"abc"', "{{1}}",
                              "Range[1000]", "x", "{Indeterminate}", "Range[0, 2]",
                              '{"a", 2.5, True}'])
    beam = rng.choice(["1", "2", "3", "100", "10^9"])
    if rng.random() < 0.3:
        beam = rng.choice(["0", "-1", "10^18", "2.5", '"x"', "Infinity", "{}", "None"])
    rules = "" if rng.random() < 0.3 else f', "BeamSize" -> {beam}'
    if rng.random() < 0.05:
        rules += rng.choice([', "Foo" -> 1', ", 3", ', "BeamSize"'])
    steps = rng.choice([1, 2, 3, 4])
    probs = _probs(rng, steps, c + 1)
    x_txt = wl(probs)
    good_x = True
    if rng.random() < 0.3:
        good_x = False
        x_txt = rng.choice(["{}", "{{}}", wl(probs[0]), wl([probs]), wl([row[:-1] for row in probs]),
                            wl([row + [0.1] for row in probs]), '"ab"',
                            "{{Indeterminate, 0.5}}", "{{-1., 2.}}", "{{1.*^300, 0.}}",
                            wl([probs, probs[:1]]), wl([probs, []]), "RandomReal[1, {2, 3, 2}]"])
    prop = rng.choice(["", "", ', "Decoding"', ', "Decodings"', ', "NegativeLogLikelihoods"',
                       f', "TopDecodings" -> {rng.choice(COUNTS)}',
                       f', {{"TopDecodings", {rng.choice(COUNTS)}}}',
                       f', "TopNegativeLogLikelihoods" -> {rng.choice(COUNTS)}',
                       ', "Probabilities"', ', "Foo"', ", None", ', "Decision"'])
    expect = None
    form = rng.random()
    if form < 0.6:
        src = f'd = NetDecoder[{{"CTCBeamSearch", {lab_txt}{rules}}}]; d[{x_txt}{prop}]'
        big = rules.endswith("10^9") or rules.endswith("100") or rules == ""
        if good_labels and good_x and big and prop in ("", ', "Decoding"') and "Foo" not in rules \
                and steps <= 4:
            best, acc = ctc_best(probs)
            ranked = sorted(acc.values(), reverse=True)
            if len(ranked) < 2 or ranked[0] - ranked[1] > 1e-6:
                expect = ("text", wl([labels[k] for k in best]))
        if good_labels and good_x and big and prop == ', "NegativeLogLikelihoods"' \
                and steps <= 4:
            best, acc = ctc_best(probs)
            expect = ("nll", {wl([labels[k] for k in d]): -math.log(p) for d, p in acc.items()})
    elif form < 0.8:
        src = (f'd = NetDecoder[{{"CTCBeamSearch", {lab_txt}{rules}}}]; '
               f'n = NetChain[{{SoftmaxLayer[]}}, "Input" -> {{"Varying", {c + 1}}}, '
               f'"Output" -> d]; n[{x_txt}{prop}]')
    else:
        src = (f'd = NetDecoder[{{"CTCBeamSearch", {lab_txt}{rules}}}]; '
               f'n = NetChain[{{LinearLayer[{c + 1}], SoftmaxLayer[]}}, '
               f'"Input" -> {{{rng.choice(["Varying", "3"])!r}, 2}}, "Output" -> d]'
               .replace("'", '"') +
               f'; n = NetInitialize[n, RandomSeeding -> 1]; '
               f'n[RandomReal[1, {{{rng.choice(["3", "0", "1", "2"])}, 2}}]{prop}]')
    return src, expect


# ---------------------------------------------------------------- Extract
def extract_case(rng: random.Random):
    rank = rng.choice([1, 2, 3])
    dims = [rng.choice([1, 2, 3]) for _ in range(rank)]
    x = _nested(rng, dims)
    s = rng.randint(1, rank)
    m = rng.choice([[], [1], [2], [2, 2]])
    pos = _positions(rng, m, s, dims)
    pos_txt = wl(pos) if m or rng.random() < 0.5 else wl(pos)
    good = True
    r = rng.random()
    if r < 0.35:
        good = False
        bad = rng.choice(["0", "-9", "10^9", "10^18", "1.5", '"a"', "Infinity", "Indeterminate"])
        pos_txt = rng.choice([f"{{{{{bad}}}}}", f"{{{bad}}}", bad, "{}", "{{}}",
                              wl([[1] * (rank + 1)]), wl([[1, 1], [1]]), "x"])
    opts = rng.choice(["", f'"Input" -> {wl(dims)}', '"Position" -> "Integer"',
                       f'"Position" -> {{{rng.choice(SIZES)}}}',
                       f'"Input" -> {{{rng.choice(SIZES)}}}',
                       '"Position" -> {"Varying", 1}', '"Position" -> {2, "Varying"}',
                       f'"Input" -> {wl(dims)}, "Position" -> {wl(m + [s])}',
                       '"Input" -> {}', '"Position" -> {}',
                       '"Input" -> {"Varying", 2}'])
    form = rng.random()
    expect = None
    if form < 0.6:
        src = f'e = ExtractLayer[{opts}]; e[<|"Input" -> {wl(x)}, "Position" -> {pos_txt}|>]'
        if good and opts in ("", f'"Input" -> {wl(dims)}', f'"Input" -> {wl(dims)}, '
                             f'"Position" -> {wl(m + [s])}'):
            expect = ("array", _extract(x, pos, m))
    elif form < 0.8:
        src = (f'e = ExtractLayer[{opts}]; e[<|"Input" -> {{{wl(x)}, {wl(x)}}}, '
               f'"Position" -> {{{pos_txt}, {pos_txt}}}|>]')
        if good and opts == f'"Input" -> {wl(dims)}':   # (else one example of rank + 1)
            one = _extract(x, pos, m)
            expect = ("array", [one, one])
    else:
        n = rng.choice(["2", "0", "10^9"])
        src = (f'e = ExtractLayer[{opts}]; e[<|"Input" -> RandomReal[1, {{{n}, '
               f'{", ".join(map(str, dims))}}}], "Position" -> ConstantArray[1, {{{n}, '
               f'{", ".join(map(str, m + [s]))}}}]|>]')
    return src, expect


def _nested(rng: random.Random, dims: list[int]):
    if not dims:
        return round(rng.uniform(-5, 5), 2)
    return [_nested(rng, dims[1:]) for _ in range(dims[0])]


def _positions(rng: random.Random, m: list[int], s: int, dims: list[int]):
    if not m:
        return [rng.choice([rng.randint(1, d), -rng.randint(1, d)]) for d in dims[:s]]
    return [_positions(rng, m[1:], s, dims) for _ in range(m[0])]


def _extract(x, pos, m):
    if not m:
        y = x
        for p in pos:
            y = y[p - 1 if p > 0 else len(y) + p]
        return y
    return [_extract(x, p, m[1:]) for p in pos]


# ---------------------------------------------------------------- RandomArrayLayer
DISTS = ["NormalDistribution[]", "NormalDistribution[0, -1]", "NormalDistribution[0, 0]",
         "NormalDistribution[Infinity, 1]", "NormalDistribution[Indeterminate, 1]",
         "UniformDistribution[{1, 0}]", "UniformDistribution[{0, 1}]", "UniformDistribution[]",
         "PoissonDistribution[10^30]", "PoissonDistribution[-1]", "BernoulliDistribution[2]",
         "BernoulliDistribution[0.5]", "GammaDistribution[0, 1]", "GammaDistribution[2, 3]",
         "ExponentialDistribution[0]", "ExponentialDistribution[1.*^300]",
         "BinomialDistribution[10^18, 0.5]", "BinomialDistribution[3, 2]",
         "DiscreteUniformDistribution[{5, 1}]", "DiscreteUniformDistribution[{1, 10^18}]",
         "LogNormalDistribution[0, 1]", "CauchyDistribution[0, 1]", '"x"', "x", "{}",
         "NormalDistribution[#Mean, #StandardDeviation] &", "NormalDistribution[#, 1] &",
         "UniformDistribution[{#1, #2}] &", "PoissonDistribution[#] &",
         "NormalDistribution[#1, #2, #3] &", "Foo[#] &", "(1 &)",
         "ChiSquareDistribution[0]", "StudentTDistribution[-1]", "GeometricDistribution[1.5]"]


def random_array_case(rng: random.Random):
    dist = rng.choice(DISTS)
    out = rng.choice(["", '"Output" -> {2, 3}', '"Output" -> {0}', '"Output" -> {-1}',
                      '"Output" -> {10^9, 10^9}', '"Output" -> {10^18}', '"Output" -> 3',
                      '"Output" -> {"Varying"}', '"Output" -> {}', '"Output" -> "x"',
                      '"Output" -> {2.5}', '"Input" -> 3', '"Mean" -> {2}',
                      '"Output" -> {Infinity}', '"Output" -> NetDecoder[{"Class", {1, 2}}]'])
    data = rng.choice(["", "", '<|"Mean" -> {0., 1.}, "StandardDeviation" -> {1., 2.}|>',
                       '<|"Mean" -> {0., 1.}, "StandardDeviation" -> {-1., Indeterminate}|>',
                       "{1., 2.}", "{{1., 2.}, {3., 4.}}", '"s"', "{}",
                       '<|"Input1" -> {0., 1.}, "Input2" -> {1., 2.}|>',
                       '<|"Input" -> {3., 1.*^300}|>', "<|\"Input\" -> {-1, 2}|>",
                       '<|"Mean" -> RandomReal[1, {2, 3}], "StandardDeviation" -> '
                       'RandomReal[1, {2, 3}]|>'])
    action = rng.choice([f"r[{data}]", f"Dimensions[r[{data}]]",
                         f'r[{data}, NetEvaluationMode -> "Train"]',
                         f"Dimensions[r[{data}, RandomSeeding -> 1]]",
                         f"NetInitialize[r][{data}]", "Information[r, \"OutputPorts\"]",
                         "Normal[r]", "InputForm[r]",
                         'NetChain[{r, LinearLayer[2]}]; 1',
                         'NetGraph[{r, ElementwiseLayer[Tanh]}, {1 -> 2}][]'])
    expect = None
    if out == '"Output" -> {2, 3}' and action == f"Dimensions[r[{data}]]" and data == "" \
            and not dist.endswith("&") and dist in ("NormalDistribution[]",
                                                    "UniformDistribution[{0, 1}]",
                                                    "GammaDistribution[2, 3]"):
        expect = ("array", [2, 3])
    return f"r = RandomArrayLayer[{dist}{', ' + out if out else ''}]; {action}", expect


# ---------------------------------------------------------------- Class coders
LABEL_SETS = [[0, 1, 2, 3], [1, 2, 3], [0, 1, 1], [1, "a"], [], [1.5, 2], [True, False],
              ["a", "b", "a"], [-1, 0, 1], [10 ** 18, 1], ["a"], [2, 1]]


def class_case(rng: random.Random):
    labels = rng.choice(LABEL_SETS)
    lab = wl(labels)
    if rng.random() < 0.08:
        lab = rng.choice(["Range[0, 9]", "Range[10^9]", '"abc"', "{{1}}", "x", "{Indeterminate}"])
    item = rng.choice(labels) if labels and rng.random() < 0.6 else \
        rng.choice([0, 10, "a", 1.5, -1, 10 ** 18, "Indeterminate", [0, 1]])
    expect = None
    kind = rng.random()
    distinct = len({repr(v) for v in labels}) == len(labels) and labels and lab == wl(labels)
    if kind < 0.3:
        depth = rng.choice(["", ', "UnitVector"', ', "IndicatorVector"', ", 3", ', "Foo"'])
        src = f'e = NetEncoder[{{"Class", {lab}{depth}}}]; e[{wl(item)}]'
        if distinct and depth == "" and any(item == v and type(item) is type(v) for v in labels):
            expect = ("array", [v for v in labels].index(item) + 1)
    elif kind < 0.55:
        form = rng.choice(["{{\"Class\", {lab}}}", "{{\"Class\", \"Labels\" -> {lab}}}",
                           "{{\"Class\", {lab}, \"InputDepth\" -> {d}}}",
                           "{{\"Class\", \"Labels\" -> {lab}, \"InputDepth\" -> {d}}}"])
        depth = rng.choice(["1", "2", "0", "-1", "10^9", '"a"'])
        n = len(labels) if labels else 2
        vec = _probs(rng, 1, max(n, 1))[0]
        if rng.random() < 0.2:
            vec = rng.choice([[], [0.5] * (n + 1), [[0.5] * n] * 2])
        prop = rng.choice(["", ', "Probabilities"', ', "TopProbabilities"',
                           ', {"TopProbabilities", 10^9}', ', "Entropy"', ', "Foo"',
                           ', {"TopProbabilities", -1}', ', "Decision"'])
        src = f"d = NetDecoder[{form.format(lab=lab, d=depth)}]; d[{wl(vec)}{prop}]"
        if distinct and "InputDepth" not in form and prop == "" and len(vec) == n and \
                vec and not isinstance(vec[0], list):
            best = max(range(n), key=lambda i: vec[i])
            if sorted(vec)[-1] - sorted(vec)[-2 if n > 1 else -1] > 1e-6 or n == 1:
                expect = ("text", wl(labels[best]))
    elif kind < 0.8:
        n = max(len(labels), 1)
        ys = [rng.choice(labels) if labels else 1 for _ in range(4)]
        ys_txt = wl(ys) if rng.random() < 0.8 else rng.choice(["{}", "{99, 0}", '{"q", "a"}'])
        src = (f'net = NetChain[{{LinearLayer[{n}], SoftmaxLayer[]}}, "Input" -> 2, '
               f'"Output" -> NetDecoder[{{"Class", {lab}}}]]; '
               f"t = NetTrain[net, RandomReal[1, {{Length[{ys_txt}], 2}}] -> {ys_txt}, "
               f"MaxTrainingRounds -> 1, RandomSeeding -> 1]; t[{{0.5, 0.5}}]")
    else:
        src = (f'net = NetChain[{{EmbeddingLayer[3, {max(len(labels), 1)}], '
               f'SequenceLastLayer[]}}, "Input" -> {{"Varying", NetEncoder[{{"Class", {lab}}}]}}]; '
               f"net = NetInitialize[net, RandomSeeding -> 1]; "
               f"Dimensions[net[{rng.choice([wl([item, item]), wl([item]), '{}', wl(item)])}]]")
    return src, expect


# ---------------------------------------------------------------- "Varying" coder ports
VARYING_PROPS = ["", ', "Probabilities"', ", None"]


def varying_case(rng: random.Random):
    enc = rng.choice(['NetEncoder[{"Class", {"a", "b", "c"}}]',
                      'NetEncoder[{"Class", {0, 1, 2}}]',
                      'NetEncoder[{"Characters", "abc"}]', 'NetEncoder["Boolean"]',
                      'NetEncoder[{"Class", {"a", "b"}, "UnitVector"}]',
                      'NetDecoder[{"Class", {"a", "b", "c"}}]', '"Real"', "3", "{2}"])
    spec = rng.choice([f'{{"Varying", {enc}}}', f'{{"Varying", {{"Varying", {enc}}}}}',
                       f'{{3, {enc}}}', f'{{0, {enc}}}', f'{{-1, {enc}}}', f'{{10^9, {enc}}}',
                       f'{{"Varying", "Varying", {enc}}}', f'{{{enc}, "Varying"}}',
                       f'{{"Varying", {enc}, 3}}'])
    layer = rng.choice(["SequenceLastLayer[]", "EmbeddingLayer[2, 3]", "LinearLayer[2]",
                        "SequenceReverseLayer[]", "NetMapOperator[LinearLayer[2]]",
                        "FlattenLayer[]"])
    data = rng.choice(['{"a", "b"}', "{}", '{"a"}', '{{"a"}, {"b", "c"}}', "{0, 2}",
                       '"ab"', "{True, False}", "{{1, 0}}", '{"q"}', "{1.5}",
                       '{{"a", "b"}, {"c"}}'])
    port = rng.choice(['"Input"', '"Output"'])
    out = rng.choice(['{"Varying", NetDecoder[{"Class", {"a", "b"}}]}',
                      '{"Varying", NetDecoder[{"Class", {0, 1}}]}',
                      '{"Varying", NetDecoder["Boolean"]}',
                      '{"Varying", {"Varying", NetDecoder[{"Class", {"a", "b"}}]}}'])
    if port == '"Input"':
        src = (f'net = NetChain[{{{layer}}}, "Input" -> {spec}]; '
               f"net = NetInitialize[net, RandomSeeding -> 1]; net[{data}]")
    else:
        src = (f'net = NetChain[{{NetMapOperator[LinearLayer[2]], SoftmaxLayer[]}}, "Input" -> '
               f'{{"Varying", 2}}, "Output" -> {out}]; net = NetInitialize[net, RandomSeeding '
               f'-> 1]; net[{rng.choice(["{{1., 2.}, {3., 4.}}", "{}", "{{1., 2.}}", "{1., 2.}"])}'
               f'{rng.choice(VARYING_PROPS)}]')
    return src, None


# ---------------------------------------------------------------- list functions
def _array(rng: random.Random, dims: list[int], ints: bool = True):
    if not dims:
        return rng.randint(-9, 9) if ints else round(rng.uniform(-9, 9), 2)
    return [_array(rng, dims[1:], ints) for _ in range(dims[0])]


def _np(x):
    import numpy as np
    return np.array(x, dtype=object)


def join_case(rng: random.Random):
    rank = rng.choice([1, 2, 3])
    k = rng.randint(2, 3)
    level = rng.randint(1, rank)
    base = [rng.randint(1, 3) for _ in range(rank)]
    import numpy as np
    arrs = []
    for _ in range(k):
        d = list(base)
        d[level - 1] = rng.randint(0, 2)
        arrs.append(np.array([rng.randint(-9, 9) for _ in range(math.prod(d))],
                             dtype=np.int64).reshape(d))
    parts = [a.tolist() for a in arrs]
    good = True
    lvl_txt = str(level)
    txts = [wl(p) for p in parts]
    if rng.random() < 0.35:
        good = False
        choice = rng.random()
        if choice < 0.5:
            lvl_txt = rng.choice(["0", "-1", "-2", "10^9", "10^18", '"a"', "1.5", "Infinity",
                                  "x", "{1}", str(rank + 1)])
        else:
            txts[rng.randrange(k)] = rng.choice(["{}", "{{}}", "1", '"s"', "{{1, 2}, {3}}",
                                                 "{{{1}}}", "x", "f[1, 2]", "<|1 -> 2|>"])
    expect = None
    abstract = rng.random() < 0.25
    if abstract:
        dims = [", ".join(str(v) for v in a.shape) for a in arrs]
        src = "; ".join(f"a{i} = RandomReal[1, {{{d}}}]" for i, d in enumerate(dims)) + \
            f"; Join[{', '.join(f'a{i}' for i in range(k))}, {lvl_txt}]"
        if good:
            shape = list(base)
            shape[level - 1] = sum(a.shape[level - 1] for a in arrs)
            if shape[0] != 0:
                expect = ("dims", shape)
    else:
        src = f"Join[{', '.join(txts)}, {lvl_txt}]"
        if good:
            expect = ("array", np.concatenate(arrs, axis=level - 1).tolist())
    return src, expect


def _dims(x, rank):
    out = []
    for _ in range(rank):
        out.append(len(x))
        x = x[0] if x else []
    # a zero dimension hides the ones below
    return out


def reverse_case(rng: random.Random):
    rank = rng.choice([1, 2, 3])
    dims = [rng.randint(1, 3) for _ in range(rank)]
    x = _array(rng, dims)
    lv = rng.choice([[1], [2], [1, 2], [rank], [1, 3], [2, 3]])
    lv_txt = wl(lv) if rng.random() < 0.5 else str(lv[0])
    lv_v = lv if lv_txt.startswith("{") else [lv[0]]
    good = all(1 <= v <= rank for v in lv_v)
    if rng.random() < 0.3:
        good = False
        lv_txt = rng.choice(["0", "-1", "{-1}", "10^9", "{10^18}", "{}", '"a"', "{1.5}", "x",
                             "{1, 1}", "All", "Infinity"])
    x_txt = wl(x) if rng.random() < 0.85 else rng.choice(["{}", "1", "{{1, 2}, {3}}", '"ab"',
                                                          "f[1, 2]", "<|1 -> 2|>"])
    expect = None
    if good and x_txt == wl(x) and lv_txt != "{}":
        import numpy as np
        a = np.array(x, dtype=object)
        expect = ("array", np.flip(a, axis=tuple(v - 1 for v in set(lv_v))).tolist())
    abstract = rng.random() < 0.2
    if abstract:
        src = f"a = RandomReal[1, {wl(dims)}]; Reverse[a, {lv_txt}]"
        expect = ("dims", dims) if expect else None
    else:
        src = f"Reverse[{x_txt}, {lv_txt}]"
    return src, expect


def takedrop_case(rng: random.Random):
    n = rng.randint(0, 5)
    x = list(range(1, n + 1))
    spec = rng.choice([rng.randint(-6, 6), [rng.randint(-6, 6), rng.randint(-6, 6)],
                       "10^18", "-10^18", '"a"', "1.5", "{}", "All", "None", "{1, 2, 3}",
                       "Infinity", "UpTo[3]", "{1, 5, 2}"])
    spec_txt = spec if isinstance(spec, str) else wl(spec)
    x_txt = wl(x) if rng.random() < 0.85 else rng.choice(["1", '"abc"', "f[1, 2, 3]",
                                                          "{{1, 2}, {3, 4}}"])
    expect = None
    if x_txt == wl(x):
        if isinstance(spec, int):
            if abs(spec) <= n:
                a, b = (x[:spec], x[spec:]) if spec >= 0 else (x[spec:], x[:spec])
                expect = ("array", [a, b])
        elif isinstance(spec, list):
            i, j = spec
            if i and j:
                ii = i if i > 0 else n + i + 1
                jj = j if j > 0 else n + j + 1
                if 1 <= ii <= n and 1 <= jj <= n and ii <= jj:
                    expect = ("array", [x[ii - 1:jj], x[:ii - 1] + x[jj:]])
    if rng.random() < 0.2:
        return f"a = RandomReal[1, {{{n}, 2}}]; TakeDrop[a, {spec_txt}]", None
    return f"TakeDrop[{x_txt}, {spec_txt}]", expect


def round_case(rng: random.Random):
    from fractions import Fraction
    xs = ["2.5", "-2.5", "1.26", "7", "1/3", "-7/2", "Infinity", "Indeterminate", "10^18 + 1",
          "{1.26, 3, -0.5}", "1.*^300", '"a"', "x", "{}", "0", "10^400", "{{1.5, 2}}"]
    as_ = ["0", "0.1", "-0.5", "1/3", "2", "Infinity", '"a"', "10^-400", "0.", "{1, 2}", "x",
           "Indeterminate", "1.*^-300", "5", "-2"]
    fn = rng.choice(["Round", "Floor", "Ceiling"])
    x, a = rng.choice(xs), rng.choice(as_)
    expect = None
    simple = {"2.5": 2.5, "-2.5": -2.5, "1.26": 1.26, "7": 7, "1/3": Fraction(1, 3),
              "-7/2": Fraction(-7, 2), "0": 0}
    steps = {"2": 2, "5": 5, "-2": -2, "1/3": Fraction(1, 3), "-0.5": -0.5, "0.1": 0.1}
    if x in simple and a in steps:
        xv, av = simple[x], steps[a]
        q = Fraction(xv) / Fraction(av) if not isinstance(xv, float) and not isinstance(av, float) \
            else xv / av
        if fn == "Round":
            k = round(q)
        elif fn == "Floor":
            k = math.floor(q)
        else:
            k = math.ceil(q)
        val = k * av
        expect = ("exact", val)
    if rng.random() < 0.15:
        return f"a = RandomReal[1, {{3, 2}}]; {fn}[a, {a}]", None
    return f"{fn}[{x}, {a}]", expect


def outer_case(rng: random.Random):
    a = rng.choice(["{{1, 2}, {3, 4}}", "{1, 2, 3}", "{}", "{{}}", "{{1, 2}, {3}}", "x", "1",
                    "{{{1}}}"])
    b = rng.choice(["{5, 6}", "{{5}, {6}}", "{}", "{x, y}", "{{1, 2}, {3}}"])
    n = rng.choice(["1", "2", "0", "-1", "3", "10^9", "10^18", '"a"', "1.5", "{1}", "Infinity"])
    f = rng.choice(["Times", "List", "Plus", "f", "(#1 - #2 &)"])
    src = f"Outer[{f}, {a}, {b}, {n}]" if rng.random() < 0.7 else \
        f"Outer[{f}, {a}, {b}, {n}, {rng.choice(['1', '2', '0', '-1', '10^9'])}]"
    expect = None
    if f == "Times" and n == "1" and a == "{{1, 2}, {3, 4}}" and b == "{5, 6}" and "]" == src[-1] \
            and src.count(",") == 3 + a.count(",") + b.count(","):
        expect = ("array", [[[5, 10], [6, 12]], [[15, 20], [18, 24]]])
    return src, expect


def compile_case(rng: random.Random):
    arg = rng.choice(["{x}", "{{x, _Real}}", "{{x, _Integer}}", "{{x, _Real, 1}}",
                      "{{x, _Real, 2}}", "{x, y}", "{}", "x", "{{x, _Real, -1}}",
                      "{{x, _Real, 10^9}}", '{{x, "Real"}}'])
    body = rng.choice(["x^2", "Total[x]", "x + y", "Sin[x]", "x[[1]]", "1/x", "Length[x]"])
    val = rng.choice(["3", "2.5", "{1., 2.}", "{{1., 2.}}", "{}", '"a"', "Indeterminate",
                      "Infinity", "0", "1, 2", "", "10^400", "x"])
    return f"c = Compile[{arg}, {body}]; c[{val}]", None


def numericarray_case(rng: random.Random):
    x = rng.choice(["{1, 2, 3}", "{{1, 2}, {3, 4}}", "{}", "{{1}, {2, 3}}", "{300, -1}",
                    "{1.5, 2.5}", "{Indeterminate}", "{Infinity}", '{"a"}', "1", "{10^18}",
                    "{10^400}", "RandomReal[1, {2, 3}]", "Range[10^9]"])
    t = rng.choice(['"Real32"', '"Real64"', '"Integer8"', '"UnsignedInteger8"',
                    '"Integer64"', '"Foo"', "", "1", '"Real16"', '"ComplexReal32"',
                    '"Integer32"', '"UnsignedInteger16"'])
    method = rng.choice(["", ', "ClipAndRound"', ', "Coerce"', ', "Check"', ', "Foo"'])
    action = rng.choice(["Normal[na]", "Dimensions[na]", "na", "NumericArrayType[na]",
                         "Total[Normal[na]]", "na + 1", "NumericArrayQ[na]", "Length[na]"])
    arg = f", {t}" if t else ""
    return f"na = NumericArray[{x}{arg}{method if t else ''}]; {action}", None


def lrm_case(rng: random.Random):
    rule = rng.choice(["_ -> 0", "_ -> None", '"a" -> None', "1 -> 10^9", '"b" -> 0, _ -> 1',
                       "{1, \"Weights\"} -> 0", "_ -> Infinity", "_ -> Indeterminate",
                       '_ -> "x"', "99 -> 0", "{} -> 1", "x", "_ -> -1", "None", "Automatic",
                       '"zz" -> 0', '_ -> {1, 2}'])
    net = rng.choice(['NetChain[<|"a" -> LinearLayer[2], "b" -> Ramp, "c" -> LinearLayer[1]|>, '
                      '"Input" -> 3]',
                      'NetChain[{LinearLayer[2], BatchNormalizationLayer[], LinearLayer[1]}, '
                      '"Input" -> 3]'])
    wrap = rng.random() < 0.5
    lrm = f"{{{rule}}}" if wrap else rule
    src = (f"net = NetInitialize[{net}, RandomSeeding -> 1]; "
           f"t = NetTrain[net, RandomReal[1, {{4, 3}}] -> RandomReal[1, {{4, 1}}], "
           f"LearningRateMultipliers -> {lrm}, MaxTrainingRounds -> 2, RandomSeeding -> 1]; "
           f"Dimensions[t[{{1., 2., 3.}}]]")
    return src, None


def replacepart_case(rng: random.Random):
    pos = rng.choice(['{1, "Weights"}', '{1, "Biases"}', '{"a", "Weights"}', '{2, "Weights"}',
                      '{99, "Weights"}', "{1}", "1", '{1, "Foo"}', '{{1, "Weights"}}',
                      '{-1, "Weights"}', '{0, "Weights"}', '"Weights"', "All"])
    value = rng.choice(["Automatic", "None", "RandomReal[1, {2, 3}]", "0", "Indeterminate",
                        '"x"', "{}", "RandomReal[1, {10^9, 3}]"])
    init = rng.choice(["NetInitialize[", ""])
    close = ", RandomSeeding -> 1]" if init else ""
    tail = rng.choice(["; Dimensions[r[{1., 2., 3.}]]", "; NetInitialize[r][{1., 2., 3.}]",
                       '; Information[r, "ArraysCount"]', "; Normal[r]"])
    return (f'net = {init}NetChain[<|"a" -> LinearLayer[2], "b" -> LinearLayer[1]|>, '
            f'"Input" -> 3]{close}; r = NetReplacePart[net, {pos} -> {value}]{tail}"', None)


# ---------------------------------------------------------------- netdsl check's lists
def check_lists_case(rng: random.Random):
    a = rng.choice(["3", "2", "1", "0", "5"])
    b = rng.choice(["4", "2", "1", "0"])
    c = rng.choice(["", ", 2", ", 3"])
    dims = f"{{{a}, {b}{c}}}"
    f = rng.choice(["Total", "Length", "Max", "Mean", "(# + 1 &)", "(#[[1]] &)", "Dimensions",
                    "Reverse", "(Total[#, 2] &)", "First", "(2 # &)", "ToString", "f",
                    "(Table[#, 2] &)", "Norm", "Sort", "Accumulate", "Plus", "List"])
    op = rng.choice([f"{f} /@ x", f"Map[{f}, x, {{2}}]", f"Map[{f}, x, {{-1}}]",
                     f"Map[{f}, x, 2]", f"Apply[{f}, x]", f"Apply[{f}, x, {{1}}]",
                     f"{f} @@@ x", f"Map[{f}, x, {{0}}]", f"Apply[{f}, x, {{-1}}]",
                     f"Map[{f}, x, {{10^9}}]", f"Map[{f}, x, {{3}}]", f"Map[{f}, x, -1]",
                     "x[[All, 1]]", "x[[1]]", "x[[-1, -1]]", "x[[2 ;; -1]]", "x[[All, -1]]",
                     "x[[i]]", "x[[All, i]]", "x[[ii]]", "x[[ii, 1]]", "x[[0]]", "x[[10^9]]",
                     "x[[All, All, 1]]", "x[[{1, 1, 1}]]", "x[[-10^18]]", "x[[1 ;; 0]]",
                     "x[[Round[Total[x[[1]]]]]]", "x[[Ordering[x[[All, 1]]]]]",
                     "Join[x, x, 2]", "Reverse[x, 2]", "TakeDrop[x, 1]", "Round[x, 0.1]",
                     "Outer[Times, x[[1]], x[[1]]]", "Transpose[x]", "Total[x, {2}]"])
    pre = (f"x = RandomReal[1, {dims}]; i = RandomInteger[{{1, Max[1, {a}]}}]; "
           f"ii = RandomInteger[{{1, Max[1, {a}]}}, {rng.choice(['2', '{2}', '0', '{2, 2}'])}]")
    return f"{pre}; y = {op}; y", None


def check_nets_case(rng: random.Random):
    k = rng.choice(["3", "2"])
    bad_k = rng.choice([k, k, "4", "0", "1"])
    n = rng.choice(["3", "1", "0"])
    net = rng.choice([f'NetChain[{{LinearLayer[2]}}, "Input" -> {k}]',
                      f'NetChain[{{LongShortTermMemoryLayer[2], SequenceLastLayer[]}}, '
                      f'"Input" -> {{"Varying", {k}}}]',
                      f'NetChain[{{LinearLayer[2]}}, "Input" -> {k}, "Output" -> '
                      f'NetDecoder[{{"Class", {{0, 1}}}}]]',
                      f'NetChain[{{NetMapOperator[LinearLayer[2]]}}, "Input" -> {{"Varying", {k}}}]'])
    xs = rng.choice([f"Table[RandomReal[1, {bad_k}], {{{n}}}]",
                     f"Table[RandomReal[1, {{RandomInteger[{{1, 3}}], {bad_k}}}], {{{n}}}]",
                     f"Table[RandomReal[1, {{2, {bad_k}}}], {{{n}}}]",
                     f"{{RandomReal[1, {bad_k}], RandomReal[1, {k}]}}",
                     f"{{RandomReal[1, {{2, {k}}}], RandomReal[1, {{3, {bad_k}}}]}}",
                     f"RandomReal[1, {{{n}, {bad_k}}}]", f"{{RandomReal[1, {bad_k}], 1}}",
                     '{RandomReal[1, 3], "a"}', "{}"])
    ys = rng.choice([f"Table[RandomReal[1, 2], {{{n}}}]", f"RandomInteger[{{0, 1}}, {n}]",
                     f"Table[RandomReal[1, {{2, 2}}], {{{n}}}]", "{0, 1, 1}", "{}",
                     "Table[RandomReal[1, 2], {Length[xs]}]",
                     'Table["a", {Length[xs]}]'])
    action = rng.choice(["net[xs]", "Dimensions[net[xs]]", "net[xs[[1]]]",
                         "NetTrain[net, Thread[xs -> ys], MaxTrainingRounds -> 1]; 1",
                         "NetTrain[net, xs -> ys, MaxTrainingRounds -> 1]; 1",
                         'NetTrain[net, <|"Input" -> xs, "Output" -> ys|>, '
                         'MaxTrainingRounds -> 1]; 1'])
    return (f"net = NetInitialize[{net}, RandomSeeding -> 1]; xs = {xs}; ys = {ys}; {action}",
            None)


def net_actions_case(rng: random.Random):
    """Gradients, training, export and surgery on the new layers, with hostile data."""
    layer = rng.choice([
        ('CTCLossLayer["Input" -> {"Varying", 3}]',
         '<|"Input" -> {{0.2, 0.3, 0.5}, {0.6, 0.3, 0.1}}, "Target" -> {T}|>'),
        ('ExtractLayer["Input" -> {3, 2}, "Position" -> {2, 1}]',
         '<|"Input" -> {{1., 2.}, {3., 4.}, {5., 6.}}, "Position" -> {{T}, {1}}|>'),
        ('ExtractLayer["Input" -> {3}, "Position" -> "Integer"]',
         '<|"Input" -> {1., 2., 3.}, "Position" -> T|>'),
        ('RandomArrayLayer[NormalDistribution[#Mean, #Sd] &, "Output" -> {2}]',
         '<|"Mean" -> {0., T}, "Sd" -> {1., 1.}|>')])
    t = rng.choice(["1", "2", "-1", "0", "3", "10^18", "1.5", "Indeterminate", '"a"', "{}"])
    net, data = layer[0], layer[1].replace("T", t)
    action = rng.choice([f"l[{data}]", f'l[{data}, NetPortGradient["Input"]]',
                         f'l[{data}, NetPortGradient["Mean"]]',
                         'Export["/tmp/fuzz_today_net.onnx", l]; 1',
                         f'Export["/tmp/fuzz_today_net.safetensors", l]; '
                         f'Import["/tmp/fuzz_today_net.safetensors"][{data}]',
                         f"NetGraph[{{l}}, {{}}][{data}]", "NetInitialize[l]; InputForm[l]",
                         "Information[l, \"InputPorts\"]", f"l[{{{data}, {data}}}]",
                         f'NetReplacePart[l, "Input" -> {{{rng.choice(SIZES)}}}]',
                         f"l[{data}, RandomSeeding -> {rng.choice(['1', '-1', 'x'])}]"])
    return f"l = {net}; {action}", None


def mixed_join_case(rng: random.Random):
    a = rng.choice(["RandomReal[1, {2, 3}]", "{{1, 2, 3}, {4, 5, 6}}", "{}", "{{}}",
                    "RandomReal[1, {0, 3}]", "RandomReal[1, {2, 0}]", "{{1}, {2, 3}}",
                    "RandomReal[1, {2, 3, 1}]"])
    b = rng.choice(["RandomReal[1, {2, 2}]", "{{7}, {8}}", "{{1, 2, 3}}", "{}",
                    "RandomReal[1, {3, 3}]", '{"a", "b"}'])
    n = rng.choice(["1", "2", "3", "-1", "0", "10^18"])
    f = rng.choice(["Join[{a}, {b}, {n}]", "Join[{a}, {b}]", "Outer[Times, {a}, {b}, {n}]",
                    "Reverse[{a}, {n}]", "TakeDrop[{a}, {n}]", "Round[{a}, {b}]",
                    "Dimensions[Join[{a}, {a}, {b}, {n}]]"])
    return f.format(a=a, b=b, n=n), None


GENERATORS = [net_actions_case, net_actions_case, mixed_join_case, ctc_loss_case, ctc_loss_case, ctc_decoder_case, ctc_decoder_case, extract_case,
              extract_case, random_array_case, class_case, class_case, varying_case, join_case,
              reverse_case, takedrop_case, round_case, outer_case, compile_case,
              numericarray_case, lrm_case, replacepart_case, check_lists_case, check_lists_case,
              check_nets_case, check_nets_case]


def case(rng: random.Random) -> tuple[str, str, Any]:
    gen = rng.choice(GENERATORS)
    src, expect = gen(rng)
    return gen.__name__, src, expect


# ---------------------------------------------------------------- the worker
def _shape(value: Any) -> Any:
    """Dimensions of a result, as a list (None when it is not an array)."""
    import numpy as np

    from netdsl.layers.base import AbstractArray
    from netdsl.expr import to_ndarray
    if isinstance(value, AbstractArray):
        return [d if isinstance(d, int) else "V" for d in value.shape]
    if isinstance(value, np.ndarray):
        return list(value.shape)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return []
    try:
        a = np.asarray(to_ndarray(value))
        if a.dtype.kind in "iuf":
            return list(a.shape)
    except Exception:
        return None
    return None


def _evaluate(src: str, shape_only: bool, seconds: int) -> dict:
    import io
    import signal

    from netdsl import Session
    from netdsl.errors import NetDSLError
    from netdsl.expr import input_form

    class Timeout(BaseException):
        pass

    def alarm(signum, frame):
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        value = Session(shape_only=shape_only, stdout=io.StringIO(),
                        stderr=io.StringIO()).evaluate(src)
        try:
            shown = input_form(value)[:4000]
        except Exception as e:                # printing a result is part of the job
            return {"status": "bad", "detail": f"printing: {type(e).__name__}: {e}"[:300]}
        return {"status": "ok", "shape": _shape(value), "value": shown}
    except NetDSLError as e:
        return {"status": "netdsl", "tag": f"{e.symbol}::{e.tag}", "detail": e.text[:200]}
    except Timeout:
        return {"status": "timeout"}
    except BaseException as e:
        import traceback
        tb = traceback.extract_tb(e.__traceback__)[-3:]
        where = " < ".join(f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb))
        return {"status": "bad", "detail": f"{type(e).__name__}: {str(e)[:200]} @ {where}"}
    finally:
        signal.alarm(0)


def _worker(seconds: int) -> None:
    import resource
    import warnings
    warnings.simplefilter("ignore")
    limit = 6 * 2 ** 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from netdsl import budget
    budget.set_limit(limit // 8)
    out = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        out.write(json.dumps({"i": job["i"], "status": "start"}) + "\n")
        out.flush()
        run = _evaluate(job["src"], False, seconds)
        check = _evaluate(job["src"], True, seconds)
        out.write(json.dumps({"i": job["i"], "run": run, "check": check}) + "\n")
        out.flush()


# ---------------------------------------------------------------- the parent
# run errors that are about the data's values, which check cannot see
DATA_TAGS = {"invindex", "pkspec1", "tnsrmaxsz", "onnxnosup", "netseqlen", "invprob", "partw", "partd", "nan", "invdata", "pkspec",
             "parrange", "netnan", "invcoder", "notinlist", "netinvin", "take", "drop",
             "seqs", "ovfl", "toobig", "nomem", "mem", "membudget", "incom", "memory"}


def _wrong(expect: Any, run: dict) -> str | None:
    if expect is None or run.get("status") != "ok":
        return None if expect is None else f"expected {expect[0]} {str(expect[1])[:120]}, got " \
                                           f"{run.get('tag') or run.get('status')}: " \
                                           f"{run.get('detail', '')[:120]}"
    kind, want = expect
    got = run["value"]
    if kind == "dims":
        return None if run.get("shape") == want else f"dims {run.get('shape')} != {want}"
    if kind == "text":
        return None if got == want else f"{got} != {want}"
    if kind == "number":
        try:
            v = float(got.replace("*^", "e"))
        except ValueError:
            return f"not a number: {got}"
        return None if abs(v - want) <= 1e-4 * max(1, abs(want)) else f"{v} != {want}"
    if kind == "array":
        return None if _close(got, want) else f"{got[:150]} != {wl(want)[:150]}"
    if kind == "nll":
        return None   # compared in _nll
    if kind == "exact":
        from fractions import Fraction
        try:
            v = Fraction(got) if "." not in got else float(got.replace("*^", "e"))
        except ValueError:
            return f"not a number: {got}"
        return None if abs(float(v) - float(want)) <= 1e-9 * max(1, abs(float(want))) and (
            isinstance(want, float) or "." not in got) else f"{got} != {want}"
    return None


def _close(got: str, want: Any) -> bool:
    import re
    nums_g = re.findall(r"-?\d+\.?\d*(?:\*\^-?\d+)?", got)
    nums_w = re.findall(r"-?\d+\.?\d*(?:\*\^-?\d+)?", wl(want))
    if len(nums_g) != len(nums_w):
        return False
    if got.replace(" ", "").count("{") != wl(want).replace(" ", "").count("{"):
        return False
    return all(abs(float(a.replace("*^", "e")) - float(b.replace("*^", "e"))) <= 1e-4 *
               max(1, abs(float(b.replace("*^", "e")))) for a, b in zip(nums_g, nums_w))


def classify(src: str, expect: Any, res: dict) -> list[tuple[str, str]]:
    out = []
    run, check = res["run"], res["check"]
    for mode, r in (("run", run), ("check", check)):
        if r["status"] == "bad":
            out.append(("bad", f"{mode}: {r['detail']}"))
        elif r["status"] == "timeout":
            out.append(("timeout", mode))
    if run["status"] == "netdsl" and check["status"] == "ok":
        tag = run["tag"].split("::")[1]
        if tag not in DATA_TAGS:
            out.append(("disagree", f"check ok, run {run['tag']}: {run['detail'][:120]}"))
    if run["status"] == "ok" and check["status"] == "netdsl":
        if check["tag"].split("::")[1] not in ("datadep",):
            out.append(("disagree", f"run ok, check {check['tag']}: {check['detail'][:120]}"))
    if run["status"] == "ok" and check["status"] == "ok":
        rs, cs = run.get("shape"), check.get("shape")
        if rs is not None and cs is not None and rs != cs and not (
                len(rs) == len(cs) and all(c == "V" or r == c for r, c in zip(rs, cs))):
            out.append(("disagree", f"dims run {rs} check {cs}"))
    w = _wrong(expect, run)
    if w:
        out.append(("wrong", w))
    if expect is not None and expect[0] == "nll" and run["status"] == "ok":
        w = _nll(expect[1], run["value"])
        if w:
            out.append(("wrong", w))
    return out


def _nll(want: dict, got: str) -> str | None:
    import re
    pairs = re.findall(r"(\{[^{}]*\}) -> (-?[\d.]+(?:\*\^-?\d+)?)", got)
    for dec, v in pairs:
        if dec not in want:
            return f"decoding {dec} has probability 0 by brute force"
        if abs(float(v.replace("*^", "e")) - want[dec]) > 1e-3 * max(1, want[dec]):
            return f"{dec}: {v} != {want[dec]}"
    return None if pairs else f"no rules in {got[:100]}"


def _pump(stream, lines) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")


def main(n: int, seed: int, seconds: int = 10, log: str = "/tmp/fuzz_today.jsonl") -> None:
    rng = random.Random(seed)
    cases = [(i,) + case(rng) for i in range(n)]
    here = os.path.dirname(os.path.abspath(__file__))
    problems: dict[str, list] = defaultdict(list)
    counts: Counter = Counter()
    pending = list(cases)
    with open(log, "w") as logf:
        while pending:
            proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker",
                                     str(seconds)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, cwd=here)
            assert proc.stdin and proc.stdout
            lines: queue.Queue = queue.Queue()
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
            done = 0
            for i, kind, src, expect in pending:
                proc.stdin.write(json.dumps({"i": i, "src": src}) + "\n")
                proc.stdin.flush()
                done += 1
                try:
                    start = lines.get(timeout=60)
                    line = lines.get(timeout=3 * seconds + 20) if start else ""
                except queue.Empty:
                    counts["hang"] += 1
                    problems["hang"].append((kind, src, "no answer"))
                    proc.kill()
                    break
                if not line:
                    counts["crash"] += 1
                    problems["crash"].append((kind, src, "worker died"))
                    break
                res = json.loads(line)
                counts[kind] += 1
                for cls, detail in classify(src, expect, res):
                    problems[cls].append((kind, src, detail))
                logf.write(json.dumps({"i": i, "kind": kind, "src": src, "res": res}) + "\n")
                logf.flush()
            try:
                proc.stdin.close()
            except OSError:
                pass
            proc.kill()
            proc.wait()
            pending = pending[done:]
    print(f"cases: {sum(counts.values())} {dict(counts)}")
    for cls, items in problems.items():
        print(f"== {cls}: {len(items)}")
        seen: set = set()
        for kind, src, detail in items:
            key = (kind, detail[:60])
            if key in seen:
                continue
            seen.add(key)
            print(f"  [{kind}] {detail}\n      {src[:400]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
