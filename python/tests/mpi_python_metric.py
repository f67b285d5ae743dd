"""Run under mpirun -n 2: a metric written in Python and built-ins, merged across ranks
with all_reduce_metrics over mpi4py and over tally's C++ MPI context, equal one process.
Prints "N passed, N failed" on rank 0 and exits non-zero on any failure."""
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


def main():
    from mpi4py import MPI
    contexts = [tally.MpiContext(MPI.COMM_WORLD)]
    if hasattr(tally._tally, "_MpiContext"):
        contexts.append(tally.MpiContext())
    passed = failed = 0
    for ctx in contexts:
        try:
            check(ctx)
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
