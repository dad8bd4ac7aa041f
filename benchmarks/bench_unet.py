"""A small U-Net: netdsl's NumPy executor against PyTorch eager, in one run.

    python benchmarks/bench_unet.py [--batch 16] [--size 32] [--repeat 50] [--threads 1 2]

The net uses the layers added for issue 10: a DeconvolutionLayer upsamples the
bottleneck, a CatenateLayer joins it with the skip connection, a PaddingLayer pads
before an unpadded convolution and a PartLayer takes the first output channel.
netdsl initialises it; PyTorch gets the same arrays (ConvTranspose2d weights have
Wolfram's {in, out, kh, kw} layout too), outputs and gradients are compared, and
both are timed in this process at each thread count (1 thread: interleaved call by call,
CPU time; more: alternating blocks, wall-clock; see timing.compared):

  forward   Test mode (goal: netdsl/PyTorch <= 0.7)
  train     one step: mean squared loss, backward, Adam (goal: <= 0.9)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import netdsl  # noqa: E402
from bench_lenet import NetdslTrainer, median_ms  # noqa: E402
from timing import compared  # noqa: E402

NET = """
NetGraph[<|
  "enc1" -> ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], "relu1" -> Ramp,
  "pool" -> PoolingLayer[{2, 2}, {2, 2}],
  "enc2" -> ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1], "relu2" -> Ramp,
  "up" -> DeconvolutionLayer[16, {2, 2}, "Stride" -> 2],
  "cat" -> CatenateLayer[],
  "pad" -> PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}],
  "dec" -> ConvolutionLayer[16, {3, 3}], "relu3" -> Ramp,
  "head" -> ConvolutionLayer[2, {1, 1}],
  "part" -> PartLayer[1]|>,
  {"enc1" -> "relu1" -> "pool" -> "enc2" -> "relu2" -> "up",
   {"up", "relu1"} -> "cat" -> "pad" -> "dec" -> "relu3" -> "head" -> "part"},
  "Input" -> {3, SIZE, SIZE}]
"""

CONVS = ("enc1", "enc2", "dec", "head")


def build_netdsl(size: int, seed: int = 0):
    return netdsl.evaluate(f"NetInitialize[{NET.replace('SIZE', str(size))}, "
                           f"RandomSeeding -> {seed}]")


def arrays_of(net):
    return {path[0]: {k: np.array(v) for k, v in layer.arrays.items()
                      if isinstance(v, np.ndarray)} for path, layer in net.leaves()}


def build_torch(arrays):
    import torch
    from torch import nn

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = nn.Conv2d(3, 16, 3, padding=1)
            self.enc2 = nn.Conv2d(16, 32, 3, padding=1)
            self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
            self.dec = nn.Conv2d(32, 16, 3)
            self.head = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            e1 = torch.relu(self.enc1(x))
            e2 = torch.relu(self.enc2(nn.functional.max_pool2d(e1, 2, 2)))
            c = torch.cat([self.up(e2), e1], dim=1)
            c = nn.functional.pad(c, (1, 1, 1, 1))
            return self.head(torch.relu(self.dec(c)))[:, 0]

    model = UNet()
    with torch.no_grad():
        for name in CONVS + ("up",):
            getattr(model, name).weight.copy_(torch.from_numpy(arrays[name]["Weights"]))
            getattr(model, name).bias.copy_(torch.from_numpy(arrays[name]["Biases"]))
    return model


class Trainer(NetdslTrainer):
    """NetdslTrainer with a real-valued target (mean squared loss)."""

    def __init__(self, net, x, target):
        super().__init__(net, x, np.zeros(len(x), np.int64))
        from netdsl.runtime.layout import to_batch_last
        self.feed["Output"] = to_batch_last(target.astype(np.float32))


def blocks_case(rng, batch: int = 16, size: int = 32) -> dict:
    """The four timed calls of this benchmark, for bench_blocks.py."""
    import torch
    net = build_netdsl(size)
    x = rng.random((batch, 3, size, size), dtype=np.float32)
    target = rng.random((batch, size, size), dtype=np.float32)
    trainer = Trainer(net, x, target)
    model, tmodel = build_torch(arrays_of(net)).eval(), build_torch(arrays_of(net))
    opt = torch.optim.Adam(tmodel.parameters(), lr=0.001)
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)

    def torch_forward():
        with torch.no_grad():
            model(xt)

    def torch_step():
        opt.zero_grad(set_to_none=True)
        ((tmodel(xt) - tt) ** 2).mean().backward()
        opt.step()
    return {"netdsl forward": lambda: net(x), "torch forward": torch_forward,
            "netdsl train": trainer.step, "torch train": torch_step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()

    netdsl.tune_malloc()
    net = build_netdsl(args.size)
    rng = np.random.default_rng(1)
    x = rng.random((args.batch, 3, args.size, args.size), dtype=np.float32)
    target = rng.random((args.batch, args.size, args.size), dtype=np.float32)
    figures: dict[str, float] = {}
    fresh = Trainer(net, x, target)            # for the comparison with autograd below
    trainer = Trainer(net, x, target)
    print(f"U-Net (Deconvolution, Catenate, Padding, Part), batch {args.batch} of "
          f"3x{args.size}x{args.size}, float32")
    try:
        import torch
    except ImportError:
        t_fwd = median_ms(lambda: net(x), args.repeat)
        t_train = median_ms(trainer.step, max(10, args.repeat // 2))
        figures.update(netdsl_forward_ms=t_fwd, netdsl_train_step_ms=t_train)
        print(f"  netdsl forward (Test mode)     {t_fwd:8.3f} ms")
        print(f"  netdsl train step              {t_train:8.3f} ms")
        print("  (PyTorch is not installed: no comparison)")
        if args.json:
            print(json.dumps(figures))
        return
    from threadpoolctl import threadpool_limits
    model = build_torch(arrays_of(net))
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)
    with torch.no_grad():
        diff = float(np.abs(model(xt).numpy() - net(x)).max())
    # gradients of one step, without the update, against autograd
    model.zero_grad()
    loss = ((model(xt) - tt) ** 2).mean()
    loss.backward()
    ours = fresh.step(update=False)
    gdiff = max(float(np.abs(fresh.grad_of(n, "Weights")
                             - getattr(model, n).weight.grad.numpy()).max())
                for n in CONVS + ("up",))
    print(f"  max |output difference| vs PyTorch {diff:.2e}; loss {loss.item():.6f} vs "
          f"{ours:.6f}; max |dW difference| {gdiff:.2e}")
    tmodel = build_torch(arrays_of(net))
    opt = torch.optim.Adam(tmodel.parameters(), lr=0.001)
    model.eval()

    def torch_forward():
        with torch.no_grad():
            model(xt)

    def torch_step():
        opt.zero_grad(set_to_none=True)
        loss = ((tmodel(xt) - tt) ** 2).mean()
        loss.backward()
        opt.step()

    for threads in args.threads:
        torch.set_num_threads(threads)
        netdsl.set_threads(threads)   # lanes: the batch split over this many threads
        with threadpool_limits(threads):
            med, how = compared({"netdsl forward": lambda: net(x),
                                 "torch forward": torch_forward,
                                 "netdsl train": trainer.step, "torch train": torch_step},
                                args.repeat, threads)
        rf = med["netdsl forward"] / med["torch forward"]
        rt = med["netdsl train"] / med["torch train"]
        print(f"  {threads} thread(s), {how}:")
        for k, v in med.items():
            print(f"    {k:16} {v:8.2f}")
        print(f"    ratio forward {rf:.2f} (goal <= 0.7), train step {rt:.2f} (goal <= 0.9)")
        figures.update({f"{k.replace(' ', '_')}_ms_{threads}t": v for k, v in med.items()})
        figures.update({f"forward_ratio_{threads}t": rf, f"train_ratio_{threads}t": rt})
    print(f"  torch {torch.__version__}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
