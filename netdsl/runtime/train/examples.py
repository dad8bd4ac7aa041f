"""Training examples by port, ready to be cut into batches: regular arrays, or sequences
of different lengths grouped by shape.

Wolfram's NetTrain takes sequences of different lengths in one batch. The executor runs
sequences of one length together (no padding or mask can reach a value), so a batch
that mixes lengths is run as one pass per length present; the batch loss is the mean
over all its examples and its gradient the gradient of that mean (each pass's loss
outputs are seeded with 1/m, m the whole batch's size). The examples are put into
buckets of equal shapes once, before training, so cutting a batch is a few fancy-index
copies per bucket, not a loop over examples.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..layout import to_batch_last

Feed = dict[str, np.ndarray]


class Examples:
    """Batch-first arrays by port (1-d object arrays for sequences of different lengths)
    kept batch-last for the executor."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.n = len(next(iter(arrays.values())))
        self.ragged = any(a.dtype == object for a in arrays.values())
        if not self.ragged:
            self.dense = {p: to_batch_last(a) for p, a in arrays.items()}
            return
        ports = list(arrays)
        keys: dict[tuple, int] = {}
        self.bucket = np.empty(self.n, np.int64)    # each example's bucket ...
        self.pos = np.empty(self.n, np.int64)       # ... and its place in it
        members: list[list[int]] = []
        for i in range(self.n):     # once per training run: shapes are per-example facts
            key = tuple(np.shape(arrays[p][i]) for p in ports)
            b = keys.setdefault(key, len(keys))
            if b == len(members):
                members.append([])
            self.bucket[i], self.pos[i] = b, len(members[b])
            members[b].append(i)
        self.buckets = [{p: to_batch_last(np.stack([arrays[p][i] for i in idx]))
                         for p in ports} for idx in members]

    def round_order(self, order: np.ndarray, batch: int, rng: np.random.Generator,
                    window: int = 8) -> np.ndarray:
        """The shuffled ``order`` of one round, with sequences of one length put together.

        A batch runs one pass per length it holds, so a random batch of text with many
        lengths runs almost one pass per example. As MXNet's bucketing (Wolfram's
        backend) does, examples are sorted by length within each run of ``window``
        batches of the shuffled order, and the full batches are then shuffled again, so
        a batch holds few lengths while the rounds stay random. Regular data is left as
        it is."""
        if not self.ragged or len(self.buckets) == 1:
            return order
        out = order.copy()
        span = batch * window
        for start in range(0, out.size, span):       # a few runs per round
            run = out[start:start + span]
            out[start:start + span] = run[np.argsort(self.bucket[run], kind="stable")]
        full = out.size // batch
        blocks = out[:full * batch].reshape(full, batch)[rng.permutation(full)]
        return np.concatenate([blocks.ravel(), out[full * batch:]])

    def batch(self, idx: np.ndarray) -> list[Feed]:
        """The examples ``idx`` as one feed per shape present (one feed when regular)."""
        return [feed for _, feed in self.groups(idx)]

    def groups(self, idx: np.ndarray) -> list[tuple[np.ndarray, Feed]]:
        """(positions within ``idx``, feed) for each shape present among the examples."""
        if not self.ragged:
            return [(np.arange(idx.size), {p: _take(a, idx) for p, a in self.dense.items()})]
        b = self.bucket[idx]
        out = []
        for u in np.unique(b):
            where = np.flatnonzero(b == u)
            pos = self.pos[idx[where]]
            out.append((where, {p: _take(a, pos) for p, a in self.buckets[u].items()}))
        return out

    def chunks(self, size: int) -> Iterator[tuple[np.ndarray, Feed]]:
        """All examples in passes of at most ``size``: (example indices, feed)."""
        for start in range(0, self.n, size):
            idx = np.arange(start, min(start + size, self.n))
            for where, feed in self.groups(idx):
                yield idx[where], feed


def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Examples ``idx`` of a batch-last array (a contiguous copy)."""
    return np.ascontiguousarray(a[..., idx]) if a.ndim > 1 else a[idx]


def examples_in(feed: Feed) -> int:
    """How many examples a batch-last feed holds."""
    a = next(iter(feed.values()))
    return int(a.shape[-1]) if a.ndim else 1
