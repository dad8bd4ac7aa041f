"""Random net programs for the net fuzz tests (test_fuzz_nets.py).

``program(rng)`` builds a NetChain from layer templates that are mostly valid (so that
most programs get past construction to inference, initialisation, evaluation, training,
gradients and export), with an argument replaced by a random atom now and then. Input
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


def program(rng: random.Random, file: str = "fuzz-net") -> str:
    layers = ", ".join(_layer(rng) for _ in range(rng.randint(1, 4)))
    spec = rng.choice(INPUTS)
    return (f'file = "{file}"; net = NetInitialize[NetChain[{{{layers}}}, "Input" -> {spec}], '
            f"RandomSeeding -> 1]; x = {_data(rng, spec)}; {rng.choice(ACTIONS)}")
