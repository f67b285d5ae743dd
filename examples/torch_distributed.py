#!/usr/bin/python3
"""A tally.DistributedContext over torch.distributed, and a distributed evaluation with it.

Run with torch installed (Debian's python3-torch), e.g. two processes on one machine:
    torchrun --nproc_per_node 2 examples/torch_distributed.py
or, without torchrun, it starts a single-process gloo group for a smoke test.
"""
import os

import numpy as np

import tally


class TorchDistributedContext(tally.DistributedContext):
    """pfl's DistributedContext over an initialised torch.distributed process group."""

    def __init__(self):
        import torch
        import torch.distributed as dist
        self._torch, self._dist = torch, dist

    @property
    def local_rank(self):
        return int(os.environ.get("LOCAL_RANK", self.global_rank))

    @property
    def global_rank(self):
        return self._dist.get_rank()

    @property
    def world_size(self):
        return self._dist.get_world_size()

    @property
    def local_size(self):
        return int(os.environ.get("LOCAL_WORLD_SIZE", self.world_size))

    def all_reduce_in_place(self, buffer, op="sum"):
        ops = {"sum": self._dist.ReduceOp.SUM, "min": self._dist.ReduceOp.MIN, "max": self._dist.ReduceOp.MAX}
        tensor = self._torch.from_numpy(buffer)  # shares memory with the numpy buffer
        self._dist.all_reduce(tensor, op=ops[op])
        return buffer

    def barrier(self):
        self._dist.barrier()


def evaluate(context, y_true, y_pred):
    """Each rank evaluates its share; one all_reduce_metrics merges; every rank has the result."""
    metrics = tally.MetricCollection(["binary_accuracy", "mse"])
    rows = context.distribute_range(len(y_true))
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
    result = evaluate(TorchDistributedContext(), y, p)
    if dist.get_rank() == 0:
        print(result)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
