"""MetricCollection and all_reduce_metrics from Python, with built-in metrics and metrics
written in Python, over an in-process context of worker threads."""
import threading

import numpy as np
import pytest

import tally
from test_metric import BinaryTruePositives, Extremes


class ThreadContext(tally.DistributedContext):
    """Workers as threads meeting at a barrier: a user-written context."""

    def __init__(self, shared, rank):
        self.shared, self.rank = shared, rank

    local_rank = property(lambda self: self.rank)
    global_rank = property(lambda self: self.rank)
    world_size = property(lambda self: self.shared["size"])
    local_size = property(lambda self: self.shared["size"])

    def all_reduce_in_place(self, buffer, op="sum"):
        s = self.shared
        s["buffers"][self.rank] = buffer.copy()
        s["barrier"].wait()
        stacked = np.stack(s["buffers"])
        result = {"sum": stacked.sum(0), "min": stacked.min(0), "max": stacked.max(0)}[op]
        s["barrier"].wait()
        buffer[...] = result
        return buffer


def run_workers(n, body):
    shared = {"size": n, "buffers": [None] * n, "barrier": threading.Barrier(n)}
    errors = []

    def work(rank):
        try:
            body(ThreadContext(shared, rank))
        except Exception as e:  # collected and re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(r,)) for r in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def make_collection():
    return tally.MetricCollection(["binary_accuracy", "mse", BinaryTruePositives(), Extremes()])


def test_collection_updates_results_vectors_and_rollback(rng):
    y = (rng.random(300) > 0.5).astype(np.float64)
    p = rng.random(300)
    c = make_collection()
    c.update_state(y, p)
    r = c.result()
    assert list(r) == ["binary_accuracy", "mean_squared_error", "binary_true_positives", "extremes"]
    assert r["binary_accuracy"] == pytest.approx(np.mean((p > 0.5) == y), rel=1e-12)
    assert r["mean_squared_error"] == pytest.approx(np.mean((y - p) ** 2), rel=1e-12)
    before = c.to_vector()
    with pytest.raises(tally.ShapeError):
        c.update_state(y[:10], p[:11])
    np.testing.assert_array_equal(before, c.to_vector())
    restored = make_collection()
    restored.from_vector(c.to_vector())
    assert restored.result()["binary_true_positives"] == r["binary_true_positives"]
    with pytest.raises(tally.InvalidArgument, match="two metrics are named"):
        tally.MetricCollection(["mse", "mean_squared_error"])
    with pytest.raises(KeyError):
        c["nope"]


def test_all_reduce_metrics_equals_one_process(rng):
    y = (rng.random(1001) > 0.5).astype(np.float64)
    p = rng.random(1001)
    single = make_collection()
    single.update_state(y, p)
    results = {}

    def body(ctx):
        c = make_collection()
        rows = ctx.distribute_range(len(y))
        c.update_state(y[rows.start:rows.stop], p[rows.start:rows.stop])
        tally.all_reduce_metrics(c, ctx)
        results[ctx.global_rank] = c.result()

    run_workers(3, body)
    want = single.result()
    for rank_result in results.values():
        for name, value in want.items():
            np.testing.assert_allclose(rank_result[name], value, rtol=1e-12)


def test_mismatched_layouts_fail_on_every_worker():
    failures = []

    def body(ctx):
        c = tally.MetricCollection(["mae" if ctx.global_rank == 1 else "mse"])
        try:
            tally.all_reduce_metrics(c, ctx)
        except tally.DistributedError as e:
            failures.append(str(e))

    run_workers(3, body)
    assert len(failures) == 3 and "different metrics" in failures[0]


def test_contexts_follow_pfl():
    ctx = tally.NotDistributedContext()
    assert ctx.distribute_range(5) == range(0, 5)
    out = ctx.all_reduce([np.ones(2), np.array(3.0)], average=True)
    np.testing.assert_array_equal(out[0], [1.0, 1.0])
    shares = {}

    def body(c):
        shares[c.global_rank] = (c.distribute_range(5), c.distribute_value(5))

    run_workers(2, body)
    assert shares == {0: (range(0, 3), 3), 1: (range(3, 5), 2)}


def test_signal_failure_is_a_documented_no_op_without_out_of_band_messages():
    ctx = tally.NotDistributedContext()
    assert ctx.signal_failure("rank 0 ran out of memory") is None
    assert ctx.all_reduce_in_place(np.ones(2)).tolist() == [1.0, 1.0]  # still usable
    # Over mpi4py, tally's C++ context does the work: failures are signalled there too.
    assert tally.Mpi4pyContext.signal_failure is tally.distributed._CppContext.signal_failure
    assert "do nothing" in tally.DistributedContext.signal_failure.__doc__
    # tally's C++ MPI context is exercised under mpirun by mpi_python_metric.py; here only
    # the bound surface is checked, since a context would initialise MPI in this process.
    if hasattr(tally._tally, "_MpiContext"):
        core = tally._tally._MpiContext
        for name in ("signal_failure", "set_collective_timeout", "collective_timeout", "failed"):
            assert hasattr(core, name), name
        cpp = tally.distributed._CppContext
        for name in ("signal_failure", "set_collective_timeout", "collective_timeout", "failed"):
            assert name in cpp.__dict__, name


def test_torch_distributed_example():
    torch = pytest.importorskip("torch", reason="torch is optional (Debian's python3-torch)")
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "torch_distributed.py")
    spec = importlib.util.spec_from_file_location("torch_distributed", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    import torch.distributed as dist
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29513")
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        rng = np.random.default_rng(0)
        y = (rng.random(100) > 0.5).astype(np.float64)
        p = rng.random(100)
        got = example.evaluate(tally.TorchDistributedContext(), y, p)
        assert got["binary_accuracy"] == pytest.approx(np.mean((p > 0.5) == y))
    finally:
        dist.destroy_process_group()
    assert torch is not None
