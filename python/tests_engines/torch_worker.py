#!/usr/bin/python3
"""One rank of a torch.distributed (gloo) evaluation, started by test_torch_distributed.py:
    torch_worker.py FAILURE RANK WORLD INIT_FILE OUT_JSON
First the contiguous shard and the DistributedSampler path with valid_rows, each
all-reduced through tally.TorchDistributedContext, then a layout mismatch that must fail on
every rank; results go to OUT_JSON. Then FAILURE ("uncaught", "signal", "stall"): rank 1
fails in that way before a collective; the others must raise DistributedError naming it
(OUT_JSON.fail). One launch covers both, since starting torch is the slow part."""
import json
import os
import sys
import time

os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

import tally  # noqa: E402
from engine_data import SEED, ROWS, collection, dataset  # noqa: E402


def shard_results(context):
    y, p, w = dataset(ROWS)
    rows = tally.distributed_shard(ROWS, context)
    metrics = collection()
    if len(rows):
        metrics.update_state(y[rows.start:rows.stop], p[rows.start:rows.stop], w[rows.start:rows.stop])
    tally.all_reduce_metrics(metrics, context)
    return metrics


def sampler_results(context):
    """torch's DataLoader over a DistributedSampler (padded shards), batches of 7, valid_rows."""
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
    y, p, w = dataset(ROWS)
    data = TensorDataset(torch.from_numpy(y), torch.from_numpy(p), torch.from_numpy(w))
    sampler = DistributedSampler(data, shuffle=True, seed=SEED)
    valid = tally.sampler_valid_rows(ROWS, context)
    assert len(valid) == len(sampler)
    padded, exact = collection(), collection()
    for i, (yb, pb, wb) in enumerate(DataLoader(data, batch_size=7, sampler=sampler)):
        padded.update_state(yb, pb, wb)
        exact.update_state(yb, pb, wb, valid_rows=valid[i * 7:i * 7 + len(yb)])
    tally.all_reduce_metrics([*padded.metrics(), *exact.metrics()], context)
    return padded, exact


def evaluate(context, rank, out):
    shard = shard_results(context)
    padded, exact = sampler_results(context)
    # Every rank must fail on a layout mismatch, none may wait.
    mismatch = tally.metrics.AUC(num_thresholds=50 if rank == 1 else 200)
    try:
        tally.all_reduce_metrics(mismatch, context)
        layout_error = None
    except tally.DistributedError as error:
        layout_error = str(error)
    with open(out + ".tmp", "w") as f:
        json.dump({"rank": rank, "shard": shard.to_vector().tolist(), "padded": padded.to_vector().tolist(),
                   "exact": exact.to_vector().tolist(), "layout_error": layout_error, "failed": context.failed,
                   "repr": repr(context)}, f)
    os.replace(out + ".tmp", out)


def fail(context, rank, failure, out):
    """Rank 1 fails in the given way before the next collective; the others must raise."""
    context.set_collective_timeout(4)
    context.barrier()  # every rank starts the clock together
    start = time.monotonic()
    if rank == 1:
        if failure == "uncaught":
            raise RuntimeError("rank one's data is unreadable")
        if failure == "signal":
            context.signal_failure("caught a bad batch")
            sys.exit(3)
        if failure == "stall":
            time.sleep(8)  # past the others' 4 s deadline; arriving late, it is refused too
    metric = tally.metrics.Mean()
    metric.update_state([1.0, 2.0])
    try:
        tally.all_reduce_metrics(metric, context)
    except tally.DistributedError as error:
        with open(out, "w") as f:
            json.dump({"rank": rank, "error": str(error), "seconds": time.monotonic() - start,
                       "failed": context.failed}, f)
        raise
    raise SystemExit("the collective returned although rank 1 failed")


def main():
    failure, rank, world, init_file, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    context = tally.TorchDistributedContext()
    assert (context.global_rank, context.world_size) == (rank, world)
    evaluate(context, rank, out)
    fail(context, rank, failure, out + ".fail")


if __name__ == "__main__":
    main()
