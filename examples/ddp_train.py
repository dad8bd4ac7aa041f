"""Train a netdsl net with PyTorch DistributedDataParallel (the path past one machine).

Every process holds the same net; each global batch is split between the processes, the
gradients are averaged by DDP, and BatchNormalization uses the statistics of the whole
global batch (netdsl.torch.sync_batch_norm), so the result is NetTrain's on the global
batch. Launch the same script with any torch launcher:

    torchrun --standalone --nproc_per_node=2 examples/ddp_train.py --out run1      # 2 CPU processes
    torchrun --standalone --nproc_per_node=4 examples/ddp_train.py --out run1      # 4 GPUs (NCCL)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \
             --rdzv_endpoint=host0:29500 examples/ddp_train.py --out run1          # 2 nodes x 8 GPUs

On GPUs each process uses the GPU of its LOCAL_RANK and the NCCL backend; on CPU gloo.
``--net`` reads the net from a netdsl text file (NetInitialize'd here with RandomSeeding
1234, NetTrain's default), ``--data`` an .npz with arrays ``x`` (batch-first inputs) and
``y`` (targets; class indices 1..n after a SoftmaxLayer). Every rank writes its trained
arrays to ``OUT/rank<r>.npz``; rank 0 writes the trained net as netdsl text to
``OUT/trained.wl`` (read it back with ``Get["OUT/trained.wl"]``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import netdsl
from netdsl.torch import from_torch, optimizer_for, sync_batch_norm, to_torch

NET = """NetChain[{ConvolutionLayer[4, 3, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
  PoolingLayer[2, 2], FlattenLayer[], LinearLayer[3], SoftmaxLayer[]}, "Input" -> {1, 8, 8}]"""


def synthetic_data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class (1..3) is the brightest third of the image."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(1, 4, n)
    for c in (1, 2, 3):
        x[y == c, :, :, 3 * (c - 1):3 * c] += 1.0
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", help="netdsl text file with the net (default: a small CNN)")
    ap.add_argument("--data", help=".npz with x and y (default: synthetic images)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64, help="the global batch size")
    ap.add_argument("--method", default="ADAM", choices=["ADAM", "SGD"])
    ap.add_argument("--learning-rate", type=float)
    ap.add_argument("--out", default="ddp_out")
    a = ap.parse_args()

    cuda = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{local}" if cuda else "cpu")

    text = Path(a.net).read_text() if a.net else NET
    net = netdsl.Session().evaluate(f"NetInitialize[{text}, RandomSeeding -> 1234]")
    if a.data:
        with np.load(a.data, allow_pickle=False) as f:
            x, y = f["x"].astype(np.float32), f["y"]
    else:
        x, y = synthetic_data()
    n = len(x)
    batch = min(a.batch_size, n)
    if batch % world:
        raise SystemExit(f"the global batch size {batch} must be divisible by the {world} "
                         f"processes")
    module = sync_batch_norm(to_torch(net, loss=True, targets={"Output": y})).to(device)
    model = DistributedDataParallel(module, device_ids=[local] if cuda else None)
    options = {"Method": a.method}
    if a.learning_rate is not None:
        options["LearningRate"] = a.learning_rate
    steps_per_round = -(-n // batch)
    opt = optimizer_for(model.parameters(), total_steps=a.rounds * steps_per_round, **options)
    xs, ys = torch.tensor(x), torch.tensor(y if y.dtype.kind != "f" else y.astype(np.float32))
    order_rng = torch.Generator().manual_seed(1234)   # the same order on every rank
    model.train()
    for r in range(a.rounds):
        order = torch.randperm(n, generator=order_rng)
        total = 0.0
        for b in range(steps_per_round):
            idx = order[b * batch:(b + 1) * batch]
            mine = idx.tensor_split(world)[rank]       # this rank's share of the global batch
            opt.zero_grad()
            loss = model(Input=xs[mine].to(device), Output=ys[mine].to(device))
            loss.backward()
            opt.step()
            total += float(loss.detach())
        if rank == 0:   # rank 0's share of the batches
            print(f"round {r + 1}: loss {total / steps_per_round:.5f}", flush=True)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    np.savez(out / f"rank{rank}.npz", **state)
    if rank == 0:
        trained = from_torch(module.cpu(), net)
        (out / "trained.wl").write_text(trained.input_form() + "\n")
    # every rank waits for rank 0's writing: gloo aborts a process that tears its group
    # down while a peer is still connected ("terminate called without an active exception")
    dist.barrier()
    dist.destroy_process_group()
    # everything is written and the group is down: leave without running C++ destructors,
    # where gloo's threads can still abort a process under load (seen once in CI)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
