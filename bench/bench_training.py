"""Training and batch-inference cost of the TFRS two-tower retrieval model against the ALS baseline,
on a generated world (500k users x 20k anime; --quick: 20k x 2k).

Each model trains in a child process of its own, so its peak memory is its own: VmHWM from /proc, the peak of
the child's own address space (ru_maxrss would not do: Linux carries it across fork and exec, so every child
reported the bench runner's peak).
Figures: seconds per training epoch (ALS: per full iteration), batch top-300 for every user with the
user's anime masked (the same numpy top-k routine for both), peak resident memory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

from run import Row

FULL = {"users": 500_000, "anime": 20_000, "mean_interactions": 20, "epochs": 1}
QUICK = {"users": 20_000, "anime": 2_000, "mean_interactions": 20, "epochs": 2}
# In-batch softmax costs O(batch^2) per step, O(pairs x batch) per epoch: on CPU a batch of 1024 is
# about 4x cheaper per epoch than 4096 (measured); GPUs take larger batches.
BATCH = 1024
TOP = 300


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")


def _positives(size: dict):
    from animerec.pipelines import features, synthetic
    from animerec.pipelines.indexing import Index
    from animerec.pipelines.split import positive_mask

    world = synthetic.world(size["users"], size["anime"], mean_interactions=size["mean_interactions"], seed=11)
    index = Index.build(world.anime, world.interactions)
    inter = world.interactions
    pos = index.matrix(inter[positive_mask(inter, 6)])
    item_features = features.item_features(world.anime, index.anime_ids, pos.sum(0).A1)
    return index, pos, item_features


def _two_tower(size: dict, out) -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np

    from animerec.pipelines import retrieval
    from animerec.pipelines.indexing import padded_histories

    index, pos, item_features = _positives(size)
    coo = pos.tocoo()
    history = padded_histories(pos, 50, pad=index.n_items, seed=0)
    towers = retrieval.train(coo.row, coo.col, n_queries=index.n_users, n_items=index.n_items,
                             item_features=item_features, dim=32, epochs=size["epochs"], batch_size=BATCH,
                             learning_rate=0.01, temperature=1.0, seed=0, threads=os.cpu_count() or 2, history=history,
                             query_ids=False,
                             normalize=False)
    started = time.perf_counter()
    towers.top(np.arange(index.n_users), TOP, mask=pos, history=pos)
    top_s = time.perf_counter() - started
    out.put({"epoch_s": towers.epoch_seconds[-1], "first_epoch_s": towers.epoch_seconds[0], "top_s": top_s,
             "pairs": int(pos.nnz), "peak_mib": _peak_mib()})


def _als(size: dict, out) -> None:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import numpy as np

    from animerec.pipelines.baselines import ALS
    from animerec.pipelines.topk import topk

    index, pos, _ = _positives(size)
    iterations = 3
    started = time.perf_counter()
    model = ALS(pos, factors=64, iterations=iterations, regularization=0.05, seed=0, threads=0)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    topk(model.score, np.arange(index.n_users), TOP, pos, batch=2048)
    top_s = time.perf_counter() - started
    out.put({"epoch_s": fit_s / iterations, "top_s": top_s,
             "peak_mib": _peak_mib()})


def _child(target, size: dict) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(size, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if proc.exitcode:
        raise RuntimeError(f"{target.__name__} exited with {proc.exitcode}")
    return result


def run(quick: bool) -> list[Row]:
    size = QUICK if quick else FULL
    world = f"{size['users'] // 1000}k users x {size['anime'] // 1000}k anime"
    als = _child(_als, size)
    tower = _child(_two_tower, size)
    note = f"{world}, {tower['pairs']:,} positive pairs, {os.cpu_count()} cores"
    return [
        Row("two-tower training, seconds per epoch", tower["epoch_s"], "s", "ALS, seconds per iteration",
            als["epoch_s"], note + f"; batch {BATCH}; last of {size['epochs']} epoch(s), the first one "
            f"{tower['first_epoch_s']:.1f} s (graph tracing)"),
        Row(f"two-tower batch top-{TOP}, all users", tower["top_s"], "s", f"ALS batch top-{TOP}", als["top_s"], note),
        Row("two-tower peak memory (train + top-k)", tower["peak_mib"], "MiB", "ALS peak memory", als["peak_mib"],
            note),
    ]
