"""A small ResNet: netdsl's NumPy executor against PyTorch eager, in one process.

    python benchmarks/bench_resnet.py [--batch 32] [--repeat 30] [--threads 1 2]

The net (issue 14): a 3x3 stem convolution to 16 channels, then 4 residual blocks of
two 3x3 convolutions (padding 1, 16 channels) with BatchNormalization, the block's
input added back (TotalLayer) before a Ramp, then a global mean pool
(AggregationLayer[Mean]), LinearLayer[10] and SoftmaxLayer; input 3x32x32.

netdsl initialises it; PyTorch gets the same arrays. Outputs are compared (Test mode),
and the gradients of one training step (Train-mode BatchNormalization, cross-entropy)
are compared with autograd in float64. Then, at each thread count, the two are timed
(1 thread: interleaved, one netdsl call, one PyTorch call, repeated, in CPU time; more:
alternating blocks, wall-clock; see timing.compared), and the ratio of the medians is
printed (goals: forward <= 0.8, training step <= 0.8).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import netdsl  # noqa: E402
from bench_lenet import NetdslTrainer, torch_train_step  # noqa: E402
from timing import compared  # noqa: E402

BLOCKS = 4
EPS = 0.001


def net_text(size: int) -> str:
    layers = ['"stem" -> ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1]',
              '"stem_bn" -> BatchNormalizationLayer[]', '"stem_relu" -> Ramp']
    edges = ['"stem" -> "stem_bn" -> "stem_relu"']
    prev = "stem_relu"
    for b in range(1, BLOCKS + 1):
        p = f"b{b}"
        layers += [f'"{p}c1" -> ConvolutionLayer[16, {{3, 3}}, "PaddingSize" -> 1]',
                   f'"{p}n1" -> BatchNormalizationLayer[]', f'"{p}r1" -> Ramp',
                   f'"{p}c2" -> ConvolutionLayer[16, {{3, 3}}, "PaddingSize" -> 1]',
                   f'"{p}n2" -> BatchNormalizationLayer[]', f'"{p}add" -> TotalLayer[]',
                   f'"{p}out" -> Ramp']
        edges += [f'"{prev}" -> "{p}c1" -> "{p}n1" -> "{p}r1" -> "{p}c2" -> "{p}n2"',
                  f'{{"{p}n2", "{prev}"}} -> "{p}add" -> "{p}out"']
        prev = f"{p}out"
    layers += ['"pool" -> AggregationLayer[Mean]', '"fc" -> LinearLayer[10]',
               '"soft" -> SoftmaxLayer[]']
    edges += [f'"{prev}" -> "pool" -> "fc" -> "soft"']
    return (f"NetGraph[<|{', '.join(layers)}|>, {{{', '.join(edges)}}}, "
            f'"Input" -> {{3, {size}, {size}}}]')


def build_netdsl(size: int, seed: int = 0):
    s = netdsl.Session()
    net = s.evaluate(f"NetInitialize[{net_text(size)}, RandomSeeding -> {seed}]")
    rng = np.random.default_rng(seed)
    parts = []
    for name in ["stem_bn"] + [f"b{b}n{i}" for b in range(1, BLOCKS + 1) for i in (1, 2)]:
        for array, value in (("MovingMean", rng.normal(0, 0.1, 16)),
                             ("MovingVariance", rng.uniform(0.5, 1.5, 16)),
                             ("Scaling", rng.uniform(0.5, 1.5, 16)),
                             ("Biases", rng.normal(0, 0.1, 16))):
            key = f"v{len(parts)}"
            s[key] = value
            parts.append(f'{{"{name}", "{array}"}} -> {key}')
    s["net"] = net
    return s.evaluate(f"NetReplacePart[net, {{{', '.join(parts)}}}]")


def arrays_of(net):
    return {path[0]: {k: np.array(v) for k, v in layer.arrays.items()
                      if isinstance(v, np.ndarray)} for path, layer in net.leaves()}


def build_torch(arrays):
    import torch
    from torch import nn

    def conv(name):
        c = nn.Conv2d(arrays[name]["Weights"].shape[1], 16, 3, padding=1)
        c.weight.data.copy_(torch.from_numpy(arrays[name]["Weights"]))
        c.bias.data.copy_(torch.from_numpy(arrays[name]["Biases"]))
        return c

    def bn(name):
        m, a = nn.BatchNorm2d(16, eps=EPS, momentum=0.1), arrays[name]
        m.weight.data.copy_(torch.from_numpy(a["Scaling"]))
        m.bias.data.copy_(torch.from_numpy(a["Biases"]))
        m.running_mean.copy_(torch.from_numpy(a["MovingMean"]))
        m.running_var.copy_(torch.from_numpy(a["MovingVariance"]))
        return m

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.stem_bn = conv("stem"), bn("stem_bn")
            self.blocks = nn.ModuleList(
                nn.ModuleList([conv(f"b{b}c1"), bn(f"b{b}n1"), conv(f"b{b}c2"), bn(f"b{b}n2")])
                for b in range(1, BLOCKS + 1))
            self.fc = nn.Linear(16, 10)
            self.fc.weight.data.copy_(torch.from_numpy(arrays["fc"]["Weights"]))
            self.fc.bias.data.copy_(torch.from_numpy(arrays["fc"]["Biases"]))

        def forward(self, x):
            x = torch.relu(self.stem_bn(self.stem(x)))
            for c1, n1, c2, n2 in self.blocks:
                x = torch.relu(n2(c2(torch.relu(n1(c1(x))))) + x)
            return torch.softmax(self.fc(x.mean(dim=(2, 3))), dim=1)

    return ResNet()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    netdsl.tune_malloc()
    net = build_netdsl(a.size)
    rng = np.random.default_rng(1)
    x = rng.random((a.batch, 3, a.size, a.size), dtype=np.float32)
    labels = rng.integers(1, 11, a.batch)
    model = build_torch(arrays_of(net))
    xt, lt = torch.from_numpy(x), torch.from_numpy(labels - 1)
    model.eval()
    with torch.no_grad():
        out_diff = float(np.abs(model(xt).numpy() - net(x)).max())

    # gradients of one step (no update) against autograd in float64
    check = NetdslTrainer(net, x, labels)
    check.step(update=False)
    m64 = build_torch(arrays_of(net)).double().train()
    p = m64(xt.double())
    (-torch.log(p.gather(1, lt[:, None])).mean()).backward()
    grad_err = 0.0
    for name, mod in [("stem", m64.stem)] + [(f"b{b}c{i}", m64.blocks[b - 1][2 * i - 2])
                                              for b in range(1, BLOCKS + 1) for i in (1, 2)]:
        g = mod.weight.grad.numpy()
        grad_err = max(grad_err, float(np.abs(check.grad_of(name, "Weights") - g).max()
                                       / max(np.abs(g).max(), 1e-12)))
    print(f"ResNet ({BLOCKS} residual blocks, 16 channels, 3x3 padding 1), batch {a.batch} "
          f"of 3x{a.size}x{a.size}, float32")
    print(f"  max |output difference| vs PyTorch: {out_diff:.2e} (goal <= 1e-5)")
    print(f"  max relative conv-weight gradient error vs float64 autograd: {grad_err:.2e}")

    trainer = NetdslTrainer(net, x, labels)
    tmodel = build_torch(arrays_of(net)).train()
    opt = torch.optim.Adam(tmodel.parameters(), lr=0.001)

    def torch_forward():
        with torch.no_grad():
            model(xt)

    for threads in a.threads:
        torch.set_num_threads(threads)
        netdsl.set_threads(threads)   # lanes: the batch split over this many threads
        with threadpool_limits(threads):
            med, how = compared({"netdsl forward": lambda: net(x),
                                 "torch forward": torch_forward,
                                 "netdsl train": trainer.step,
                                 "torch train": lambda: torch_train_step(tmodel, opt, xt, lt)},
                                a.repeat, threads)
        print(f"  {threads} thread(s), {how}:")
        for k, v in med.items():
            print(f"    {k:16} {v:8.2f}")
        print(f"    ratio forward {med['netdsl forward'] / med['torch forward']:.2f} (goal <= 0.8)"
              f", train step {med['netdsl train'] / med['torch train']:.2f} (goal <= 0.8)")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
