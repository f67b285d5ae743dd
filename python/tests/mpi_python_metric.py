"""Run under mpirun -n 2: a metric written in Python and built-ins, merged across ranks
with all_reduce_metrics over mpi4py and over tally's C++ MPI context, equal one process.
Prints "N passed, N failed" on rank 0 and exits non-zero on any failure."""
import os
import sys

import numpy as np

import tally
from test_metric import BinaryTruePositives


def check(context):
    rng = np.random.default_rng(5)
    y = (rng.random(501) > 0.5).astype(np.float64)
    p = rng.random(501)
    single = tally.MetricCollection(["binary_accuracy", "mse", BinaryTruePositives()])
    single.update_state(y, p)
    mine = tally.MetricCollection(["binary_accuracy", "mse", BinaryTruePositives()])
    rows = context.distribute_range(len(y))
    mine.update_state(y[rows.start:rows.stop], p[rows.start:rows.stop])
    tally.all_reduce_metrics(mine, context)
    for name, value in single.result().items():
        assert abs(mine.result()[name] - value) <= 1e-12 * max(1.0, abs(value)), (name, mine.result()[name], value)


def check_fault_api(context):
    """tally's C++ context: the fault-handling settings, without failing anything."""
    assert context.failed is False
    if "TALLY_MPI_TIMEOUT" not in os.environ:
        assert context.collective_timeout == 30.0, context.collective_timeout  # bounded by default
    context.set_collective_timeout(30)
    assert context.collective_timeout == 30.0
    for bad in (-1.0, float("nan")):
        try:
            context.set_collective_timeout(bad)
        except tally.InvalidArgument as e:
            assert "collective timeout must be >= 0 seconds" in str(e), e
        else:
            raise AssertionError(f"set_collective_timeout({bad}) was accepted")
    assert context.collective_timeout == 30.0
    context.barrier()  # still usable
    assert context.failed is False


def main():
    from mpi4py import MPI
    contexts = [tally.MpiContext(MPI.COMM_WORLD)]
    if hasattr(tally._tally, "_MpiContext"):
        contexts.append(tally.MpiContext())
    passed = failed = 0
    for ctx in contexts:
        try:
            check(ctx)
            check_fault_api(ctx)  # both contexts, the mpi4py one included
            passed += 1
        except AssertionError as e:
            failed += 1
            print(f"rank {MPI.COMM_WORLD.Get_rank()}: {type(ctx).__name__}: {e}", file=sys.stderr)
    failed = MPI.COMM_WORLD.allreduce(failed, op=MPI.MAX)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
