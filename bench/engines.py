#!/usr/bin/python3
"""tally on the engines Python users run (docs/performance.md, "torch.distributed and Dask").

    PYTHONPATH=build/python bench/engines.py torch      # gloo, 2 processes
    PYTHONPATH=build/python bench/engines.py dask 1e8   # 8 partitions against one pass

torch: tally.all_reduce_metrics through tally.TorchDistributedContext (the layout check,
then one all_reduce per aggregation), the context's all_reduce_in_place of the same number
of doubles, and one raw torch.distributed.all_reduce of them, median per call, in the same
run; plus all_reduce_metrics on NotDistributedContext (its CPU side: packing, checks). dask: tally.dask.evaluate over
8 partitions (threaded scheduler on the same numpy arrays, then a LocalCluster of 2
worker processes holding the partitions) against one in-process update_state, best of 3.
"""
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def _torch_rank(rank, world, init, queue):
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    import torch
    import torch.distributed as dist
    import tally
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    context = tally.TorchDistributedContext()
    cases = [("50 small metrics (BinaryAccuracy)", [tally.metrics.BinaryAccuracy(name=f"a{i}")
                                                  for i in range(50)], 2000),
             ("50 large metrics (AUC, 250 thresholds)",
              [tally.metrics.AUC(num_thresholds=250, name=f"auc{i}") for i in range(50)], 200)]
    rows = []
    for label, metrics, calls in cases:
        rng = np.random.default_rng(rank)
        for m in metrics:
            m.update_state((rng.random(64) < 0.5).astype(np.float64), rng.random(64))
        doubles = sum(m.to_vector().size for m in metrics)
        raw = torch.zeros(doubles, dtype=torch.float64)

        states = [m.to_vector() for m in metrics]

        def restore():  # summing a state into itself 2000 times would overflow its counts
            for m, v in zip(metrics, states):
                m.from_vector(v)

        def timed(step, setup=lambda: None):
            times = []
            for _ in range(calls):
                setup()
                context.barrier()
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        tally_time = timed(lambda: tally.all_reduce_metrics(metrics, context), restore)
        buffer = np.zeros(doubles)
        transport_time = timed(lambda: context.all_reduce_in_place(buffer))
        raw_time = timed(lambda: dist.all_reduce(raw))
        alone = tally.NotDistributedContext()
        cpu_time = timed(lambda: tally.all_reduce_metrics(metrics, alone), restore)
        rows.append((label, doubles, tally_time, transport_time, raw_time, cpu_time))
    if rank == 0:
        queue.put(rows)
    context.barrier()
    dist.destroy_process_group()


def bench_torch():
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        procs = [ctx.Process(target=_torch_rank, args=(r, 2, os.path.join(tmp, "init"), queue)) for r in range(2)]
        for p in procs:
            p.start()
        rows = None
        while rows is None and all(p.exitcode in (None, 0) for p in procs):
            try:
                rows = queue.get(timeout=1)
            except Exception:  # noqa: BLE001 - queue.Empty: keep watching the ranks
                pass
        for p in procs:
            p.join(60)
        if rows is None:
            raise SystemExit(f"a rank failed: exit codes {[p.exitcode for p in procs]}")
    print("| benchmark | doubles | tally.all_reduce_metrics | ctx.all_reduce_in_place | raw "
          "torch.distributed.all_reduce | ratio metrics / raw | ratio in_place / raw | all_reduce_metrics "
          "on NotDistributedContext |")
    print("|---|---|---|---|---|---|---|---|")
    for label, doubles, t, transport, raw, cpu in rows:
        print(f"| {label} | {doubles} ({doubles * 8 / 1000:g} kB) | {t * 1e6:.0f} µs | {transport * 1e6:.0f} µs | "
              f"{raw * 1e6:.0f} µs | {t / raw:.2f}x | {transport / raw:.2f}x | {cpu * 1e6:.0f} µs |")


def _best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def bench_dask(rows):
    import dask.array as da
    import tally
    from distributed import Client, LocalCluster

    def metrics():
        return tally.MetricCollection(["binary_accuracy", "auc", "mse"])

    rows = int(rows)
    chunk = -(-rows // 8)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        # The partitions are made on the workers and stay there (not timed); only states travel.
        state = da.random.RandomState(0)
        dp = state.random(rows, chunks=chunk).astype(np.float32).persist()
        dy = (state.random(rows, chunks=chunk) < dp).astype(np.uint8).persist()
        client.run(lambda: __import__("tally").set_num_threads(1))  # one worker thread, one tally thread
        t_cluster, r_cluster = _best(lambda: tally.dask.evaluate(metrics(), dy, dp))
        y, p = dy.compute(), dp.compute()  # the same rows, in this process

    def single():
        m = metrics()
        m.update_state(y, p)
        return m.result()

    def dask_threads():
        return tally.dask.evaluate(metrics(), da.from_array(y, chunks=chunk), da.from_array(p, chunks=chunk),
                                   scheduler="threads")

    t_single, r_single = _best(single)
    t_threads, r_threads = _best(dask_threads)
    threads = tally.num_threads()
    tally.set_num_threads(1)  # Dask's 2 threads each run one partition: no nested parallelism
    t_threads1, r_threads1 = _best(dask_threads)
    tally.set_num_threads(threads)
    for name in r_single:
        for other in (r_threads, r_threads1, r_cluster):
            assert abs(other[name] - r_single[name]) <= 1e-9 * max(1.0, abs(r_single[name])), name
    print(f"| evaluation of {rows:.0e} rows (uint8 labels, float32 scores; binary_accuracy, auc, mse) | time | "
          "ratio to one pass |")
    print("|---|---|---|")
    print(f"| one in-process update_state (tally's {tally.num_threads()} threads) | {t_single:.2f} s | 1.00x |")
    print(f"| tally.dask.evaluate, 8 partitions, threaded scheduler | {t_threads:.2f} s | "
          f"{t_threads / t_single:.2f}x |")
    print(f"| tally.dask.evaluate, 8 partitions, threaded scheduler, tally.set_num_threads(1) | {t_threads1:.2f} s | "
          f"{t_threads1 / t_single:.2f}x |")
    print(f"| tally.dask.evaluate, 8 partitions on a LocalCluster of 2 worker processes | {t_cluster:.2f} s | "
          f"{t_cluster / t_single:.2f}x |")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "torch"
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if what == "torch":
        bench_torch()
    else:
        bench_dask(float(sys.argv[2]) if len(sys.argv) > 2 else 1e8)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
