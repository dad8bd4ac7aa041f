"""Random net programs for the net fuzz tests (test_fuzz_nets.py).

``program(rng)`` builds a NetChain from layer templates that are mostly valid (so that
most programs get past construction to inference, initialisation, evaluation, training,
gradients and export), with an argument replaced by a random atom now and then; or a
NetGraph of random nodes and edges (wrong ports, cycles, nodes fed nothing or too much);
or a series of net operations (NetTake, NetReplacePart, NetExtract, ...) at random
positions. Input
types include encoders ("Characters", "Class", "Tokens", "Boolean"), "Varying" lengths
and integer arrays, because integers reaching layers that compute with reals, and
lengths fixed or emptied by a later layer, are where the fuzzing found bugs. Programs
are run by fuzz_programs.py's worker: any Python exception, warning or hang is a
problem.
"""

from __future__ import annotations

import random

ATOMS = ["0", "-1", "10^9", "0.5", "-0.5", "Infinity", "Indeterminate", "None", "Automatic",
         "All", "x", "{}", "{{}}", "\"s\"", "{2, 0}", "{-1, 2}", "True", "(#1 + #2 &)",
         "RandomReal[1, {2, 3}]", "1 ;; 2", "{1 <-> 2}", "<|\"a\" -> 1|>"]

# per layer: argument templates; {n} a size, {k} a kernel, {p} a padding, {s} a stride
TEMPLATES = {
    "ConvolutionLayer": ["{n}, {k}", "{n}, {k}, \"PaddingSize\" -> {p}",
                         "{n}, {k}, \"Stride\" -> {s}", "{n}, {k}, \"Dilation\" -> 2"],
    "DeconvolutionLayer": ["{n}, {k}", "{n}, {k}, \"Stride\" -> {s}"],
    "PoolingLayer": ["{k}", "{k}, {s}", "{k}, \"Function\" -> Mean",
                     "{k}, {s}, \"PaddingSize\" -> {p}"],
    "BatchNormalizationLayer": ["", "\"Epsilon\" -> 0.01", "\"Momentum\" -> 0.5"],
    "LinearLayer": ["{n}", "{{{n}, {n}}}", "", "{n}, \"Biases\" -> None"],
    "ElementwiseLayer": ["Ramp", "Tanh", "LogisticSigmoid", "(#^2 &)", "\"SELU\"", "\"GELU\"",
                         "(1/# &)", "(Log[#] &)", "(Sqrt[#] &)"],
    "SoftmaxLayer": ["", "-1", "1"],
    "FlattenLayer": ["", "1", "-1"],
    "ReshapeLayer": ["{{{n}, Automatic}}", "{{Automatic}}", "{{Inherited, Automatic}}"],
    "TransposeLayer": ["", "{{1 <-> 2}}", "{{3, 1, 2}}"],
    "PaddingLayer": ["{{{{1, 1}}, {{1, 1}}}}", "{{{{1, 1}}}}, \"Padding\" -> \"Reflected\""],
    "PartLayer": ["1", "-1", "{{1, 2}}", "1 ;; 2", "{{All, 1}}", "{{2 ;; -1}}"],
    "DropoutLayer": ["", "0.5", "0.3, Method -> \"AlphaDropout\""],
    "AggregationLayer": ["Max", "Mean, -1", "Min, 2 ;; All"],
    "SummationLayer": [""],
    "ReplicateLayer": ["{n}", "{n}, 2"],
    "NormalizationLayer": ["", "2 ;; All"],
    "InstanceNormalizationLayer": [""],
    "ResizeLayer": ["{{Scaled[2], Scaled[2]}}", "{{{n}, {n}}}"],
    "ParametricRampLayer": [""],
    "ConstantPlusLayer": ["", "\"Biases\" -> {{2., 1., 3.}}"],
    "ConstantTimesLayer": ["", "\"Scaling\" -> {{2., 1., 3.}}"],
    "OrderingLayer": ["", "-1", "All"],
    "UnitVectorLayer": [""],
    "EmbeddingLayer": ["{n}", "{n}, 10"],
    "LongShortTermMemoryLayer": ["{n}"],
    "GatedRecurrentLayer": ["{n}"],
    "BasicRecurrentLayer": ["{n}"],
    "SequenceLastLayer": [""], "SequenceMostLayer": [""], "SequenceRestLayer": [""],
    "SequenceReverseLayer": [""],
    "NetMapOperator": ["LinearLayer[{n}]", "ElementwiseLayer[Tanh]",
                       "NetChain[{{LinearLayer[{n}], Ramp}}]"],
    "NetBidirectionalOperator": ["GatedRecurrentLayer[{n}]"],
    "NetNestOperator": ["ElementwiseLayer[Tanh], {k}"],
}

INPUTS = ["{3}", "{4}", "{2, 3}", "{3, 6, 6}", "{1, 5, 5}", "{\"Varying\", 3}", "{5, 3}",
          "{\"Varying\"}", "\"Varying\"", "{3, Restricted[\"Integer\", 4]}",
          "{\"Varying\", Restricted[\"Integer\", 4]}", "NetEncoder[{\"Characters\", \"abc\"}]",
          "NetEncoder[{\"Class\", {\"a\", \"b\", \"c\"}}]", "NetEncoder[{\"Tokens\", {\"x\", \"y\"}}]",
          "NetEncoder[{\"Characters\", \"abc\", \"UnitVector\"}]", "NetEncoder[\"Boolean\"]"]

DATA = {"NetEncoder[{\"Characters\"": ["\"abca\"", "{\"ab\", \"c\"}", "\"b\"", "True", "\"\""],
        "NetEncoder[{\"Class\"": ["\"a\"", "{\"a\", \"c\"}", "1", "\"q\""],
        "NetEncoder[{\"Tokens\"": ["\"x y\"", "{\"x\", \"y x\"}", "\"z\""],
        "NetEncoder[\"Boolean\"": ["True", "{True, False}", "x"]}

ACTIONS = [
    "net[x]",
    "net[x]",
    'net[x, NetEvaluationMode -> "Train"]',
    'net[x, NetPortGradient["Input"]]',
    "NetTrain[net, {x -> net[x]}, MaxTrainingRounds -> 2]",
    'NetTrain[net, <|"Input" -> {x, x}, "Output" -> {net[x], net[x]}|>, MaxTrainingRounds -> 1]',
    'Information[net, "ArraysDimensions"]; Information[net, "Layers"]',
    'Export[file <> ".safetensors", net]; Import[file <> ".safetensors"][x]',
    'Export[file <> ".onnx", net]',
    "NetTake[net, 1][x]; NetDrop[net, 1]; NetFlatten[net]; InputForm[net]",
    "net[{x, x}]",
]


def _layer(rng: random.Random) -> str:
    name = rng.choice(sorted(TEMPLATES))
    args = rng.choice(TEMPLATES[name]).format(n=rng.choice([1, 2, 3, 4]), k=rng.choice([1, 2, 3]),
                                              p=rng.choice([0, 1, 2]), s=rng.choice([1, 2]))
    if rng.random() < 0.08:     # a random atom instead of the arguments, or beside them
        atom = rng.choice(ATOMS)
        args = rng.choice([atom, f"{args}, {atom}" if args else atom, f"{atom}, {args}"])
    return f"{name}[{args}]"


def _data(rng: random.Random, spec: str) -> str:
    for prefix, choices in DATA.items():
        if spec.startswith(prefix):
            return rng.choice(choices)
    dims = spec.strip("{}").replace('"Varying"', str(rng.choice([1, 2, 4])))
    if "Restricted" in spec:
        return f"RandomInteger[{{1, 4}}, {{2, {dims.split(',')[0]}}}]"
    if rng.random() < 0.05:
        dims = rng.choice(["1", "2, 2", "0, 3"])
    return f"RandomReal[{{-1, 1}}, {{{rng.choice([1, 2])}, {dims}}}]"


def chain_program(rng: random.Random, file: str) -> str:
    layers = ", ".join(_layer(rng) for _ in range(rng.randint(1, 4)))
    spec = rng.choice(INPUTS)
    return (f'file = "{file}"; net = NetInitialize[NetChain[{{{layers}}}, "Input" -> {spec}], '
            f"RandomSeeding -> 1]; x = {_data(rng, spec)}; {rng.choice(ACTIONS)}")


# ---------------------------------------------------------------- graphs
NODES = ["LinearLayer[3]", "LinearLayer[2]", "ElementwiseLayer[Tanh]", "Ramp", "CatenateLayer[]",
         "ThreadingLayer[Plus]", "ThreadingLayer[#1 * #2 &]", "TotalLayer[]", "DotLayer[]",
         "SoftmaxLayer[]", "MeanSquaredLossLayer[]", "CrossEntropyLossLayer[\"Probabilities\"]",
         "Plus", "Times", "AttentionLayer[]", "ReplicateLayer[2]", "FlattenLayer[]",
         "PartLayer[1]", "AppendLayer[]", "NetArrayLayer[\"Output\" -> {3}]", "SummationLayer[]",
         "DropoutLayer[]", "BatchNormalizationLayer[]", "NetChain[{LinearLayer[3], Ramp}]",
         "CatenateLayer[2]", "TransposeLayer[]"]
PORTS = ["Input", "Output", "Input1", "Input2", "Target", "Key", "Value", "Query", "Element",
         "Loss", "Foo"]
GRAPH_ACTIONS = [
    "g[RandomReal[1, {2, 3}]]", "g[]", "InputForm[g]", 'Information[g, "Layers"]',
    'g[<|"Input" -> RandomReal[1, 3], "Input2" -> RandomReal[1, 3]|>]',
    'NetTrain[g, <|"Input" -> RandomReal[1, {4, 3}], "Output" -> RandomReal[1, {4, 3}]|>, '
    "MaxTrainingRounds -> 1]",
    'g[RandomReal[1, 3], NetPortGradient["Input"]]', 'Export[file <> ".onnx", g]',
    'Export[file <> ".svg", g]', "NetFlatten[g]", 'NetTake[g, "n0"]',
]


def _node(rng: random.Random, names: list[str]) -> str:
    r, name = rng.random(), rng.choice(names)
    if r < 0.15:
        return f'NetPort["{name}", "{rng.choice(PORTS)}"]'
    if r < 0.2:
        return f'NetPort["{rng.choice(PORTS)}"]'
    if r < 0.22:
        return rng.choice(["1", "99", 'NetPort["zz"]', "{}", "x"])
    return f'"{name}"'


def graph_program(rng: random.Random, file: str) -> str:
    names = [f"n{i}" for i in range(rng.randint(2, 5))]
    layers = ", ".join(f'"{n}" -> {rng.choice(NODES)}' for n in names)
    edges = []
    for _ in range(rng.randint(1, len(names) + 2)):
        r = rng.random()
        if r < 0.3:
            edges.append(f'NetPort["{rng.choice(["Input", "Input2", "X"])}"] -> {_node(rng, names)}')
        elif r < 0.5:
            edges.append(f"{{{_node(rng, names)}, {_node(rng, names)}}} -> {_node(rng, names)}")
        else:
            edges.append(f"{_node(rng, names)} -> {_node(rng, names)}")
        if rng.random() < 0.2:
            edges.append(f'{_node(rng, names)} -> NetPort["{rng.choice(["Output", "Out2"])}"]')
    port = rng.choice(['"Input" -> 3', '"Input" -> {2, 3}', '"Input" -> {"Varying", 3}',
                       '"Input2" -> 3', "", '"Input" -> 2'])
    opts = f", {port}" if port else ""
    return (f'file = "{file}"; g = NetInitialize[NetGraph[<|{layers}|>, {{{", ".join(edges)}}}'
            f"{opts}], RandomSeeding -> 1]; {rng.choice(GRAPH_ACTIONS)}")


# ---------------------------------------------------------------- net surgery
NETS = [
    'NetChain[<|"a" -> LinearLayer[3], "b" -> Ramp, "c" -> LinearLayer[2]|>, "Input" -> 4]',
    'NetChain[{ConvolutionLayer[2, 3], BatchNormalizationLayer[], Ramp, FlattenLayer[], '
    'LinearLayer[3]}, "Input" -> {1, 6, 6}]',
    'NetGraph[<|"x" -> LinearLayer[3], "y" -> LinearLayer[3], "p" -> ThreadingLayer[Plus]|>, '
    '{NetPort["Input"] -> "x" -> "p", NetPort["Input"] -> "y" -> "p"}, "Input" -> 2]',
    'NetGraph[{LinearLayer[3], ElementwiseLayer[Tanh], CatenateLayer[]}, {1 -> 2, {1, 2} -> 3}, '
    '"Input" -> 5]',
    'NetChain[{EmbeddingLayer[4, 6], LongShortTermMemoryLayer[3], SequenceLastLayer[]}, '
    '"Input" -> {"Varying"}]',
    'NetChain[{NetChain[{LinearLayer[3], Ramp}], NetChain[<|"q" -> LinearLayer[2]|>]}, '
    '"Input" -> 3]']
POSITIONS = ["1", "2", "-1", "0", "5", "-9", '"a"', '"b"', '"zz"', "{1, 2}", '{1, "Weights"}',
             '{"a", "Weights"}', "{1, 1}", '{2, "q"}', "All", "1 ;; 2", "2 ;; -1", "3 ;; 1", "{}",
             '"Weights"', 'NetPort["Input"]', 'NetPort[1, "Output"]', '{{1, "Biases"}}', "x",
             "None", "-1 ;; 1", "{-1}", "Infinity"]
PARTS = ["LinearLayer[2]", "Ramp", "ElementwiseLayer[Tanh]", "SoftmaxLayer[]", "LinearLayer[3]",
         "DropoutLayer[]", '"x"', "1", "NetChain[{Ramp}]", "FlattenLayer[]", "None"]
OPERATIONS = [
    "NetExtract[net, {s}]", "NetTake[net, {s}]", "NetDrop[net, {s}]", "NetAppend[net, {l}]",
    "NetPrepend[net, {l}]", "NetReplacePart[net, {s} -> {l}]",
    'NetReplacePart[net, {{{s}, "Weights"}} -> RandomReal[1, {{2, 3}}]]', "NetFlatten[net]",
    "NetFlatten[net, {s}]", "NetInsert[net, {l}, {s}]", 'NetRename[net, {s} -> "new"]',
    "NetJoin[net, NetChain[{{{l}}}]]", "net[[{s}]]", "NetDelete[net, {s}]",
    "NetReplace[net, LinearLayer[n_] :> LinearLayer[n + 1]]", "NetReplace[net, {l} -> {l}]",
    "NetInitialize[net, {s}]", "NetInitialize[net, Method -> {s}]", "Information[net, {s}]",
    'NetArrayLayer["Array" -> {s}]', "NetSharedArray[{s}]", "Normal[net]", "Options[net]",
    "NetTake[net, {{{s}, {s}}}]", "NetExtract[net, All]", "net[[{s}, {s}]]",
    "NetMapOperator[net]", "NetGraph[net]", "NetDelete[net, {s}]", 'NetRename[net, {s} -> "q"]',
    'NetInsert[net, "new" -> {l}, {s}]']


def surgery_program(rng: random.Random, file: str) -> str:
    steps = []
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(OPERATIONS).format(s=rng.choice(POSITIONS), l=rng.choice(PARTS))
        steps.append(f"r = {op}" + ("; net = r" if rng.random() < 0.3 else ""))
    tail = rng.choice(["", "; NetInitialize[r][RandomReal[1, 4]]", "; InputForm[r]",
                       "; r[RandomReal[1, {2, 4}]]", "; NetInitialize[net][RandomReal[1, {2, 4}]]",
                       '; Export[file <> ".safetensors", r]'])
    return (f'file = "{file}"; net = NetInitialize[{rng.choice(NETS)}, RandomSeeding -> 1]; '
            + "; ".join(steps) + tail)


def program(rng: random.Random, file: str = "fuzz-net") -> str:
    """A chain (half the time), a graph or a series of net operations."""
    kind = rng.choice([chain_program, chain_program, graph_program, surgery_program])
    return kind(rng, file)
