"""LeNet-BN: netdsl's NumPy executor against PyTorch eager and onnxruntime, in one run.

    python benchmarks/bench_lenet.py [--batch 64] [--repeat 300] [--threads 1] [--profile]

The net (performance.md's reference workload) is written in netdsl text and
initialised by netdsl; its BatchNormalization statistics are set to random values
so that Test mode does real work. When PyTorch is installed, the same net is
built in PyTorch from netdsl's own arrays; when onnxruntime is installed, the net
netdsl exports (``Export["lenet.onnx", net]``) runs in an onnxruntime session with
``intra_op_num_threads`` = ``inter_op_num_threads`` = 1 (graph optimisations at their
default level). Outputs, the training loss and every gradient are compared, then:

  forward   Test mode, batch 64 of 1x28x28 (goals, issue 14: netdsl/PyTorch <= 0.3,
            netdsl/onnxruntime <= 1.2)
  train     one step: Train-mode BatchNormalization, cross-entropy, backward,
            Adam (goal: netdsl/PyTorch <= 0.7)

The same thread count applies to every library (``--threads``: netdsl's BLAS through
threadpoolctl, ``torch.set_num_threads``, onnxruntime's options; onnxruntime's are
fixed at 1). The forwards are timed interleaved call by call, and so are the two
training steps, in CPU time at 1 thread (wall-clock for more: idle worker threads
that spin count as CPU time); the ratios are of the medians. ``netdsl.tune_malloc()``
is called first, as the netdsl command does.

``--profile`` prints instead the forward's CPU time per step of netdsl's Test-mode plan
and, when installed, onnxruntime's time per node (its own profiler).

Peak memory is the high-water mark (VmHWM) of a fresh subprocess per library, so
each is measured alone, interpreter and imports included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import netdsl  # noqa: E402
from timing import interleaved  # noqa: E402

NET = """
NetChain[{ConvolutionLayer[16, {3, 3}], BatchNormalizationLayer[], Ramp, PoolingLayer[{2, 2}, {2, 2}],
          ConvolutionLayer[32, {3, 3}], BatchNormalizationLayer[], Ramp, PoolingLayer[{2, 2}, {2, 2}],
          FlattenLayer[], LinearLayer[10], SoftmaxLayer[]}, "Input" -> {1, 28, 28}]
"""


def build_netdsl(seed: int = 0):
    s = netdsl.Session()
    net = s.evaluate(f"NetInitialize[{NET}, RandomSeeding -> {seed}]")
    rng = np.random.default_rng(seed)
    for i, c in ((2, 16), (6, 32)):  # non-trivial BatchNormalization arrays
        s["net"] = net
        s["mm"] = rng.normal(0, 0.1, c)
        s["mv"] = rng.uniform(0.5, 1.5, c)
        s["sc"] = rng.uniform(0.5, 1.5, c)
        s["bi"] = rng.normal(0, 0.1, c)
        net = s.evaluate(f'NetReplacePart[net, {{{{{i}, "MovingMean"}} -> mm, '
                         f'{{{i}, "MovingVariance"}} -> mv, {{{i}, "Scaling"}} -> sc, '
                         f'{{{i}, "Biases"}} -> bi}}]')
    return net


def arrays_of(net):
    return {path[0]: {k: np.array(v) for k, v in layer.arrays.items()
                      if isinstance(v, np.ndarray)} for path, layer in net.leaves()}


def build_torch(arrays):
    import torch
    from torch import nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.BatchNorm2d(16, eps=0.001, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32, eps=0.001, momentum=0.1), nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(800, 10), nn.Softmax(dim=1))
    with torch.no_grad():
        for idx, key in ((0, "1"), (4, "5")):
            model[idx].weight.copy_(torch.from_numpy(arrays[key]["Weights"]))
            model[idx].bias.copy_(torch.from_numpy(arrays[key]["Biases"]))
        for idx, key in ((1, "2"), (5, "6")):
            bn, a = model[idx], arrays[key]
            bn.weight.copy_(torch.from_numpy(a["Scaling"]))
            bn.bias.copy_(torch.from_numpy(a["Biases"]))
            bn.running_mean.copy_(torch.from_numpy(a["MovingMean"]))
            bn.running_var.copy_(torch.from_numpy(a["MovingVariance"]))
        model[9].weight.copy_(torch.from_numpy(arrays["10"]["Weights"]))
        model[9].bias.copy_(torch.from_numpy(arrays["10"]["Biases"]))
    return model


def median_ms(fn, repeat: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


# ---------------------------------------------------------------- training step
class NetdslTrainer:
    """One netdsl training step on fixed data, using the runtime NetTrain uses."""

    def __init__(self, net, x, labels):
        from netdsl.expr import Symbol
        from netdsl.runtime.layout import to_batch_last
        from netdsl.runtime.context import Ctx
        from netdsl.runtime.optimizers import Optimizer, Settings
        from netdsl.runtime.plan import compile_plan
        from netdsl.runtime.train import Parameters, training_net
        self.tnet, names = training_net(net, Symbol("Automatic"), {})
        self.plan = compile_plan(self.tnet, mode="train")
        self.params = Parameters(self.plan, {})
        self.feed = {"Input": to_batch_last(x), "Output": labels.astype(np.int64)}
        self.loss_slots = [self.plan.outputs[n] for n in names]
        self.input_slots = set(self.plan.inputs.values())
        self.ctx = Ctx(train=True, grad=True)
        self.opt = Optimizer(Settings(), self.params.flat, None, 1000)
        self.bn = [(i, s) for i, s in enumerate(self.params.steps)
                   if any(a.aux for a in getattr(s.layer, "array_specs", ()))]

    def step(self, update: bool = True) -> float:
        from netdsl.runtime.train import loop as train
        if update:
            return train._train_step(self.params, self.plan, self.ctx, self.feed, self.loss_slots,
                                     self.input_slots, self.opt, self.bn)
        opt, self.opt = self.opt, _NoStep()
        try:
            return train._train_step(self.params, self.plan, self.ctx, self.feed,
                                     self.loss_slots, self.input_slots, self.opt, self.bn)
        finally:
            self.opt = opt

    def grad_of(self, layer: str, array: str) -> np.ndarray:
        key = (("net", layer), array)
        off, shape = self.params.offsets[key]
        return self.params.grad[off:off + int(np.prod(shape))].reshape(shape)


class _NoStep:
    def step(self, grads, active=None):
        pass


def torch_train_step(model, opt, x, labels):
    import torch
    opt.zero_grad(set_to_none=True)
    p = model(x)
    loss = -torch.log(p.gather(1, labels[:, None])).mean()
    loss.backward()
    opt.step()
    return loss


# ---------------------------------------------------------------- memory
def peak_memory(which: str, batch: int, repeat: int) -> float:
    """Peak resident memory (MiB) of a fresh process doing ``repeat`` forwards."""
    code = f"""
import sys, numpy as np
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import bench_lenet as b
x = np.random.default_rng(1).random(({batch}, 1, 28, 28), dtype=np.float32)
import netdsl; netdsl.tune_malloc()
net = b.build_netdsl()
if {which!r} == "torch":
    import torch
    m = b.build_torch(b.arrays_of(net)).eval(); del net
    xt = torch.from_numpy(x)
    with torch.no_grad():
        for _ in range({repeat}): m(xt)
else:
    for _ in range({repeat}): net(x)
# VmHWM, not ru_maxrss: on Linux ru_maxrss carries the parent's peak across fork + exec
print([int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0] / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def onnx_session(net, threads: int = 1):
    """An onnxruntime session on the net as netdsl exports it, or None when onnxruntime
    (or onnx, which the export needs) is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = _exported(net, tmp)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess


def _exported(net, folder: str) -> str:
    """The net exported by netdsl's own Export["....onnx", net], in ``folder``."""
    path = os.path.join(folder, "lenet.onnx")
    s = netdsl.Session()
    s["net"] = net
    s.evaluate(f'Export["{path}", net]')
    return path


def profile_steps(net, x, repeat: int) -> list[tuple[str, float]]:
    """Median CPU microseconds of each step of the net's Test-mode plan (fused steps as
    the executor runs them), and of moving the input batch-last."""
    from netdsl.runtime.layout import to_batch_last
    from netdsl.runtime.context import Ctx
    from netdsl.runtime.plan import compile_plan
    plan = compile_plan(net, net.head_name, mode="test")
    ctx = Ctx(scratch=plan.scratch)
    names = ["input batch-last"] + [f"{type(st.layer).__name__} ({getattr(st.layer, 'name', '')})"
                                    for st in plan.steps]
    times: list[list[float]] = [[] for _ in names]
    for _ in range(repeat):
        t = time.process_time()
        values = [None] * plan.n_slots
        values[plan.inputs["Input"]] = to_batch_last(x)
        times[0].append(time.process_time() - t)
        for i, st in enumerate(plan.steps, 1):
            t = time.process_time()
            ys, _ = st.layer.forward(ctx, st.arrays, *[values[j] for j in st.ins])
            times[i].append(time.process_time() - t)
            for slot, y in zip(st.outs, ys):
                values[slot] = y
    return [(n, 1e6 * float(np.median(v))) for n, v in zip(names, times)]


def profile_onnxruntime(net, x, repeat: int) -> list[tuple[str, float]]:
    """Median microseconds of each node onnxruntime runs (its own profiler, 1 thread)."""
    import onnxruntime as ort
    with tempfile.TemporaryDirectory() as tmp:
        path = _exported(net, tmp)
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "profile")
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}
        for _ in range(repeat):
            sess.run(None, feed)
        with open(sess.end_profiling()) as f:
            events = json.load(f)
    nodes: dict[str, list[float]] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            key = f"{e['args'].get('op_name')} ({e['name'][:-len('_kernel_time')]})"
            nodes.setdefault(key, []).append(float(e["dur"]))
    return [(k, float(np.median(v))) for k, v in nodes.items()]


def check_training(net, x, labels, xt, tl) -> None:
    """Loss and every gradient of one step (no update) against PyTorch's autograd."""
    import torch
    tmodel = build_torch(arrays_of(net)).train()
    check = NetdslTrainer(net, x, labels)
    loss_ours = check.step(update=False)
    p = tmodel(xt)
    loss_t = -torch.log(p.gather(1, tl[:, None])).mean()
    loss_t.backward()
    print(f"  train loss: netdsl {loss_ours:.6f}, PyTorch {loss_t.item():.6f}")
    assert abs(loss_ours - loss_t.item()) < 5e-5 * max(1, abs(loss_t.item()))
    worst, zero_diff = 0.0, 0.0
    for layer, idx, names in (("1", 0, ("Weights", "Biases")), ("2", 1, ("Scaling", "Biases")),
                              ("5", 4, ("Weights", "Biases")), ("6", 5, ("Scaling", "Biases")),
                              ("10", 9, ("Weights", "Biases"))):
        mod = tmodel[idx]
        for name, tgrad in zip(names, (mod.weight.grad, mod.bias.grad)):
            ours, ref = check.grad_of(layer, name), tgrad.numpy()
            diff = float(np.abs(ours - ref).max())
            if np.abs(ref).max() < 1e-5:
                # a convolution bias before Train-mode BatchNormalization has gradient 0:
                # both sides hold round-off, compare them absolutely
                zero_diff = max(zero_diff, diff)
            else:
                worst = max(worst, diff / float(np.abs(ref).max()))
    print(f"  gradients agree with autograd: worst relative difference {worst:.1e} "
          f"(gradients that are exactly 0 in theory: within {zero_diff:.0e})")
    assert worst < 1e-3 and zero_diff < 1e-5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for every library (netdsl's BLAS, PyTorch)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    ap.add_argument("--profile", action="store_true",
                    help="only the forward's time per plan step (and per onnxruntime node)")
    args = ap.parse_args()
    from threadpoolctl import threadpool_info, threadpool_limits

    netdsl.tune_malloc()   # what the netdsl command does for its own process
    netdsl.set_threads(args.threads)   # lanes (a batch split over threads) at most this many
    net = build_netdsl()
    rng = np.random.default_rng(1)
    x = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(1, 11, args.batch)
    figures: dict[str, float] = {}
    blas = ", ".join(f"{i['internal_api']} {i['version']} ({i.get('architecture')})"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"LeNet-BN, batch {args.batch} of 1x28x28, float32; {args.threads} thread(s); "
          f"BLAS: {blas}")
    if args.profile:
        with threadpool_limits(args.threads):
            net(x)
            rows = profile_steps(net, x, args.repeat)
            print(f"  netdsl Test-mode plan, CPU us per step (median of {args.repeat}):")
            for name, us in rows:
                print(f"    {name:40} {us:8.1f}")
            print(f"    {'total':40} {sum(us for _, us in rows):8.1f}")
            try:
                nodes = profile_onnxruntime(net, x, args.repeat)
            except ImportError:
                return
        print(f"  onnxruntime nodes, us (its profiler, median of {args.repeat}):")
        for name, us in nodes:
            print(f"    {name:40} {us:8.1f}")
        print(f"    {'total':40} {sum(us for _, us in nodes):8.1f}")
        return

    forwards = {"netdsl": lambda: net(x)}
    trainer = NetdslTrainer(net, x, labels)
    steps = {"netdsl": trainer.step}
    try:
        import torch
    except ImportError:
        print("  (PyTorch not installed: no comparison; pip install torch==2.13.0)")
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)
        model = build_torch(arrays_of(net)).eval()
        xt = torch.from_numpy(x)
        with torch.no_grad():
            ref = model(xt).numpy()
        err = float(np.abs(net(x) - ref).max())
        print(f"  outputs agree with PyTorch: max |difference| {err:.2e}")
        assert err < 1e-4, "netdsl and PyTorch disagree"

        def torch_fwd():
            with torch.no_grad():
                model(xt)
        forwards["PyTorch"] = torch_fwd
        tl = torch.from_numpy(labels - 1)
        check_training(net, x, labels, xt, tl)
        tmodel = build_torch(arrays_of(net)).train()
        topt = torch.optim.Adam(tmodel.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-5)
        steps["PyTorch"] = lambda: torch_train_step(tmodel, topt, xt, tl)
    sess = onnx_session(net)
    if sess is None:
        print("  (onnxruntime not installed: no comparison; pip install -e '.[onnx]')")
    else:
        feed = {sess.get_inputs()[0].name: x}
        err = float(np.abs(net(x) - sess.run(None, feed)[0]).max())
        import onnxruntime
        print(f"  outputs agree with onnxruntime {onnxruntime.__version__}: "
              f"max |difference| {err:.2e}")
        assert err < 1e-4, "netdsl and onnxruntime disagree"
        forwards["onnxruntime"] = lambda: sess.run(None, feed)

    cpu = args.threads == 1
    clock = "CPU" if cpu else "wall-clock"
    print(f"  {clock} ms, medians; netdsl and each other library interleaved call by call "
          f"({args.repeat} forwards, {max(20, args.repeat // 4)} training steps):")
    goals = {"PyTorch": 0.3, "onnxruntime": 1.2}
    with threadpool_limits(args.threads):
        for name, fn in forwards.items():
            if name == "netdsl":
                continue
            med = interleaved({"netdsl": forwards["netdsl"], name: fn}, args.repeat, cpu)
            ratio = med["netdsl"] / med[name]
            figures[f"forward_ratio_{name}"] = ratio
            figures[f"{name}_forward_ms"] = med[name]
            print(f"    forward: netdsl {med['netdsl']:.3f}, {name} {med[name]:.3f}; "
                  f"ratio {ratio:.2f} (goal <= {goals[name]})")
        if "PyTorch" in steps:
            med = interleaved(steps, max(20, args.repeat // 4), cpu)
            ratio = med["netdsl"] / med["PyTorch"]
            figures["train_ratio"] = ratio
            figures["PyTorch_train_step_ms"] = med["PyTorch"]
            print(f"    train step: netdsl {med['netdsl']:.3f}, PyTorch {med['PyTorch']:.3f}; "
                  f"ratio {ratio:.2f} (goal <= 0.7)")
        alone = interleaved({"forward": forwards["netdsl"]}, args.repeat, cpu)["forward"]
        step = interleaved({"train": steps["netdsl"]}, max(20, args.repeat // 4), cpu)["train"]
    figures["netdsl_forward_ms"], figures["netdsl_train_step_ms"] = alone, step
    print(f"    netdsl alone: forward {alone:.3f} ({args.batch / alone * 1000:,.0f} examples/s), "
          f"train step {step:.3f} ({args.batch / step * 1000:,.0f} examples/s)")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    mem = peak_memory("netdsl", args.batch, args.repeat)
    figures["netdsl_peak_mib"] = mem
    line = f"  peak memory, {args.repeat} forwards: netdsl {mem:.0f} MiB"
    if torch is not None:
        tmem = peak_memory("torch", args.batch, args.repeat)
        figures["torch_peak_mib"] = tmem
        line += f", PyTorch {tmem:.0f} MiB"
    print(line + " (whole process, VmHWM)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
