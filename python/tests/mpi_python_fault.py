"""Run under mpirun -n 3 by run_mpi_fault.sh: rank 1 fails in one of several ways before a
collective; every other rank must fail with a clear DistributedError, in bounded time.
Each rank writes what it saw to OUT/rank<r>.txt. Usage: mpi_python_fault.py MODE OUT
MODE is <context>-<failure>: context cpp (tally.MpiContext()), mpi4py
(tally.MpiContext(MPI.COMM_WORLD)) or polling (PollingMpi4pyContext, the mpi4py-only
context of a tally built without MPI); failure uncaught, signal or stall."""
import os
import sys
import time

import numpy as np

import tally


def fail(context, failure, out):
    if failure == "uncaught":
        raise RuntimeError("injected failure on rank 1")  # nobody catches it
    if failure == "signal":
        try:
            raise RuntimeError("injected failure on rank 1")
        except RuntimeError as e:
            context.signal_failure(f"caught and signalled: {e}")
            with open(os.path.join(out, "rank1.txt"), "w") as f:
                f.write(f"signalled {e}\n")
            sys.exit(3)
    if failure == "stall":
        time.sleep(60)


def main():
    mode, out = sys.argv[1], sys.argv[2]
    kind, failure = mode.split("-")
    if kind == "mpi4py":
        from mpi4py import MPI
        context = tally.MpiContext(MPI.COMM_WORLD)
    elif kind == "polling":  # what Mpi4pyContext is when tally is built without MPI
        from mpi4py import MPI
        context = tally.distributed.PollingMpi4pyContext(MPI.COMM_WORLD)
    else:
        context = tally.MpiContext()
    rank = context.global_rank
    metrics = tally.MetricCollection(["mean_squared_error", "auc"])
    metrics.update_state(np.array([0.0, 1.0]), np.array([0.2, 0.7]))
    try:
        # A first collective that succeeds everywhere... or not quite: a rank may leave it
        # before its peers have seen it complete, so rank 1's failure can reach them here.
        tally.all_reduce_metrics(metrics, context)
        if rank == 1:
            fail(context, failure, out)
        tally.all_reduce_metrics(metrics, context)
        message = "no error"
    except tally.DistributedError as e:
        message = f"DistributedError: {e}"
    with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:
        f.write(message + "\n")
    if message == "no error":
        return 0
    raise tally.DistributedError(message)  # uncaught: the job must still end


if __name__ == "__main__":
    sys.exit(main())
