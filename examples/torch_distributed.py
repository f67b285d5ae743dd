#!/usr/bin/python3
"""A distributed evaluation over torch.distributed with tally.TorchDistributedContext
(docs/distributed.md, "torch.distributed").

Run with torch installed (Debian's python3-torch), e.g. two processes on one machine:
    torchrun --nproc_per_node 2 examples/torch_distributed.py
or, without torchrun, it starts a single-process gloo group for a smoke test.
"""
import os

import numpy as np

import tally


def evaluate(context, y_true, y_pred):
    """Each rank evaluates its share; one all_reduce_metrics merges; every rank has the result."""
    metrics = tally.MetricCollection(["binary_accuracy", "mse"])
    rows = tally.distributed_shard(len(y_true), context)  # contiguous, no padded repeats
    metrics.update_state(y_true[rows.start:rows.stop], y_pred[rows.start:rows.stop])
    tally.all_reduce_metrics(metrics, context)
    return metrics.result()


def main():
    import torch.distributed as dist
    if not dist.is_initialized():
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29512")
        dist.init_process_group("gloo", rank=int(os.environ.get("RANK", 0)),
                                world_size=int(os.environ.get("WORLD_SIZE", 1)))
    rng = np.random.default_rng(0)
    y = (rng.random(1000) > 0.5).astype(np.float64)
    p = rng.random(1000)
    result = evaluate(tally.TorchDistributedContext(), y, p)
    if dist.get_rank() == 0:
        print(result)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
