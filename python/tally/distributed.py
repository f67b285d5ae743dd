"""Distributed evaluation from Python: contexts (pfl's DistributedContext) and
``all_reduce_metrics``, which merges every worker's metrics in one collective.

A context needs four properties and ``all_reduce_in_place(buffer, op)`` on a float64
numpy buffer (``op`` is "sum", "min" or "max"); subclass ``DistributedContext`` to plug in
any transport. Provided: ``NotDistributedContext`` and ``MpiContext`` (tally's C++ MPI
context over MPI_COMM_WORLD, or over an mpi4py communicator when one is given; the
latter is also ``Mpi4pyContext``). Both MPI contexts fail every rank clearly and in
bounded time when one rank fails, uncaught Python exceptions included
(docs/distributed.md). ``tally.TorchDistributedContext`` (tally/torch_distributed.py) runs
over torch.distributed with the same failure behaviour; ``distributed_shard`` and
``sampler_valid_rows`` keep padded shards from being counted twice.
"""
import atexit
import os
import sys
import weakref

import numpy as np

from . import _tally
from ._tally import DistributedError
from .metric import Metric

__all__ = ["DistributedContext", "NotDistributedContext", "MpiContext", "Mpi4pyContext", "PollingMpi4pyContext",
           "all_reduce_metrics", "launched_under_mpi", "distributed_shard", "sampler_valid_rows"]


class DistributedContext:
    """Base class of contexts. Subclasses implement the rank properties and
    ``all_reduce_in_place``; the rest is built on them."""

    @property
    def local_rank(self):
        raise NotImplementedError

    @property
    def global_rank(self):
        raise NotImplementedError

    @property
    def world_size(self):
        raise NotImplementedError

    @property
    def local_size(self):
        raise NotImplementedError

    def all_reduce_in_place(self, buffer, op="sum"):
        """Reduces a float64 numpy buffer element-wise across workers, in place."""
        raise NotImplementedError

    def barrier(self):
        """Blocks until every worker arrives (an all-reduce of one element by default)."""
        self.all_reduce_in_place(np.zeros(1))

    def signal_failure(self, reason):
        """Tells the other workers that this one has failed, so that their pending and later
        collectives raise DistributedError quoting ``reason`` instead of waiting for it.
        Transports without out-of-band messages do nothing here (the default): their peers
        wait until their own timeout, if any."""

    def all_reduce(self, tensors, average=False):
        """pfl all_reduce: sums (or averages) a list of arrays in one collective."""
        arrays = [np.asarray(t, dtype=np.float64) for t in tensors]
        flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
        self.all_reduce_in_place(flat, "sum")
        if average:
            flat /= self.world_size
        out, pos = [], 0
        for a in arrays:
            out.append(flat[pos:pos + a.size].reshape(a.shape))
            pos += a.size
        return out

    def distribute_range(self, value):
        """This worker's share of range(value): 5 over 2 workers is range(0, 3), range(3, 5)."""
        if value < 0:
            raise _tally.InvalidArgument(f"distribute_range: value must be >= 0; received {value}")
        base, extra = divmod(int(value), self.world_size)
        begin = self.global_rank * base + min(self.global_rank, extra)
        return range(begin, begin + base + (1 if self.global_rank < extra else 0))

    def distribute_value(self, value):
        """This worker's share of an integer: 5 over 2 workers is 3 and 2."""
        return len(self.distribute_range(value))


class NotDistributedContext(DistributedContext):
    """A single process: every collective is the identity."""

    local_rank = global_rank = 0
    world_size = local_size = 1

    def all_reduce_in_place(self, buffer, op="sum"):
        return buffer


class _CppContext(DistributedContext):
    """A context backed by one of tally's C++ contexts."""

    def __init__(self, core):
        self._core = core
        _install_failure_hooks(self)

    @property
    def local_rank(self):
        return self._core.local_rank

    @property
    def global_rank(self):
        return self._core.global_rank

    @property
    def world_size(self):
        return self._core.world_size

    @property
    def local_size(self):
        return self._core.local_size

    def all_reduce_in_place(self, buffer, op="sum"):
        self._core.all_reduce_in_place(buffer, op)
        return buffer

    def barrier(self):
        self._core.barrier()

    def signal_failure(self, reason):
        """Sends ``reason`` to every other rank (their collectives then raise DistributedError
        quoting it) and waits up to two seconds for them to take notice. Afterwards every
        collective on this context raises."""
        self._core.signal_failure(str(reason))

    def set_collective_timeout(self, seconds):
        """How long a collective waits for the other ranks before raising DistributedError;
        0 waits forever. Negative or NaN values raise InvalidArgument."""
        self._core.set_collective_timeout(float(seconds))

    @property
    def collective_timeout(self):
        """Seconds a collective waits (0: forever); default $TALLY_MPI_TIMEOUT, else 30."""
        return self._core.collective_timeout

    @property
    def failed(self):
        """True once a collective failed or a failure was signalled: the context is unusable."""
        return self._core.failed


class Mpi4pyContext(_CppContext):
    """tally's C++ MPI context over an mpi4py communicator (Debian's python3-mpi4py): the
    same failure notices and collective timeout as ``MpiContext()``, on ``comm``.

    The communicator's error handler is set to MPI_ERRORS_RETURN (errors become
    DistributedError) and it must outlive the context."""

    def __new__(cls, comm=None):
        if cls is Mpi4pyContext and not hasattr(_tally, "_MpiContext"):
            return PollingMpi4pyContext(comm)  # tally built without MPI: mpi4py alone
        return super().__new__(cls)

    def __init__(self, comm=None):
        from mpi4py import MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        super().__init__(_tally._MpiContext(MPI._handleof(self.comm)))


class PollingMpi4pyContext(DistributedContext):
    """A context over mpi4py alone, for a tally built without MPI: each collective is
    non-blocking and polled against a deadline (``collective_timeout``, default
    $TALLY_MPI_TIMEOUT, else 30 s), so a rank that never arrives makes the others raise
    DistributedError. It has no failure notices: ``signal_failure`` ends the whole job with
    ``comm.Abort(1)`` after printing the reason, which an uncaught exception also does."""

    def __init__(self, comm=None):
        from mpi4py import MPI
        self._MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self._local_rank, self._local_size = local.Get_rank(), local.Get_size()
        local.Free()
        text = os.environ.get("TALLY_MPI_TIMEOUT", "")
        self.collective_timeout = float(text) if text else 30.0
        self.failed = False
        _install_failure_hooks(self)

    local_rank = property(lambda self: self._local_rank)
    global_rank = property(lambda self: self.comm.Get_rank())
    world_size = property(lambda self: self.comm.Get_size())
    local_size = property(lambda self: self._local_size)

    def set_collective_timeout(self, seconds):
        """Seconds a collective waits for the other ranks; 0 waits forever."""
        if not seconds >= 0:
            raise _tally.InvalidArgument(f"collective timeout must be >= 0 seconds; received {seconds}")
        self.collective_timeout = float(seconds)

    def _wait(self, request, what):
        import time
        start = time.monotonic()
        spins = 0
        while not request.Test():
            spins += 1
            if self.collective_timeout > 0 and time.monotonic() - start > self.collective_timeout:
                self.failed = True
                raise DistributedError(f"mpi4py: {what} on rank {self.global_rank} timed out after "
                                       f"{self.collective_timeout:g} s waiting for the other ranks")
            if spins > 1000:
                time.sleep(0.0002)

    def all_reduce_in_place(self, buffer, op="sum"):
        if self.failed:
            raise DistributedError(f"mpi4py: all_reduce on rank {self.global_rank} refused: the job has failed")
        ops = {"sum": self._MPI.SUM, "min": self._MPI.MIN, "max": self._MPI.MAX}
        self._wait(self.comm.Iallreduce(self._MPI.IN_PLACE, buffer, op=ops[op]), "MPI_Allreduce")
        return buffer

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "MPI_Barrier")

    def signal_failure(self, reason):
        print(f"tally: rank {self.global_rank} failed: {reason}; aborting the job", file=sys.stderr, flush=True)
        self.failed = True
        self.comm.Abort(1)


def MpiContext(comm=None):
    """tally's MPI context over MPI_COMM_WORLD, or over an mpi4py communicator.

    Either way the context watches for failures: ``signal_failure(reason)`` makes every other
    rank's collectives raise DistributedError quoting ``reason``; a collective that waits
    longer than ``collective_timeout`` seconds (default $TALLY_MPI_TIMEOUT, else 30;
    ``set_collective_timeout``) raises too; and an exception that nobody catches on one rank
    is signalled to the others before that rank exits (docs/distributed.md)."""
    if comm is not None:
        return Mpi4pyContext(comm)
    if not hasattr(_tally, "_MpiContext"):
        raise _tally.Error("tally was built without MPI (configure with TALLY_WITH_MPI=ON), so MpiContext() needs "
                           "an mpi4py communicator: tally.MpiContext(MPI.COMM_WORLD)")
    return _CppContext(_tally._MpiContext())


# --- failure on one rank ends the job on every rank -----------------------------------
#
# An uncaught exception on one rank must not leave the others waiting: the hook below tells
# every live MPI context's peers (they raise DistributedError at once), and a process whose
# context has failed leaves with os._exit instead of MPI_Finalize, which would wait for
# ranks that will never arrive. mpirun then ends the job.

_LIVE_CONTEXTS = weakref.WeakSet()
_HOOKS_INSTALLED = False


def _excepthook(kind, value, traceback):
    for context in list(_LIVE_CONTEXTS):
        try:
            if not context.failed:
                context.signal_failure(f"uncaught {kind.__name__}: {value}")
        except Exception:  # noqa: BLE001 - never mask the original exception
            pass
    _PREVIOUS_EXCEPTHOOK[0](kind, value, traceback)


_PREVIOUS_EXCEPTHOOK = [sys.excepthook]


def _exit_if_failed():
    if any(c.failed for c in list(_LIVE_CONTEXTS)):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def _install_failure_hooks(context):
    global _HOOKS_INSTALLED
    _LIVE_CONTEXTS.add(context)
    if not _HOOKS_INSTALLED:
        _HOOKS_INSTALLED = True
        _PREVIOUS_EXCEPTHOOK[0] = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(_exit_if_failed)  # runs before mpi4py's MPI_Finalize


def launched_under_mpi():
    """True when the process was started by mpirun."""
    import os
    return any(v in os.environ for v in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"))


def distributed_shard(dataset_length, context):
    """This worker's rows of a dataset, without padding: the contiguous
    ``context.distribute_range(dataset_length)`` split (10 rows over 4 workers: 3, 3, 2, 2).
    Every row is on exactly one worker, so the merged metrics equal one process on all rows
    (unlike torch's DistributedSampler, which repeats samples to even out the shards). A
    worker may get no rows (more workers than rows): skip its update, keep its collective."""
    if isinstance(dataset_length, bool) or not isinstance(dataset_length, (int, np.integer)):
        raise _tally.InvalidArgument(f"distributed_shard: dataset_length must be an integer; received "
                                     f"{type(dataset_length).__name__}")
    if dataset_length < 0:
        raise _tally.InvalidArgument(f"distributed_shard: dataset_length must be >= 0; received {dataset_length}")
    return context.distribute_range(int(dataset_length))


def sampler_valid_rows(dataset_length, context, drop_last=False):
    """Which of this worker's ``torch.utils.data.DistributedSampler`` samples are real: a
    boolean mask in the order the sampler yields them (shuffled or not), False for the
    repeats that pad the shards to ``ceil(dataset_length / world_size)`` samples each.
    Pass its slice for each batch as ``update_state(..., valid_rows=...)``. The sampler
    gives rank r the padded positions r, r + W, r + 2W, ...; those at or past
    ``dataset_length`` are repeats. With ``drop_last=True`` nothing is padded (every mask
    entry is True) but the sampler leaves ``dataset_length % world_size`` rows out."""
    if isinstance(dataset_length, bool) or not isinstance(dataset_length, (int, np.integer)) or dataset_length < 0:
        raise _tally.InvalidArgument(f"sampler_valid_rows: dataset_length must be an integer >= 0; received "
                                     f"{dataset_length!r}")
    world, rank = int(context.world_size), int(context.global_rank)
    if drop_last:
        return np.ones(int(dataset_length) // world, dtype=bool)
    per_rank = -(-int(dataset_length) // world)
    return rank + world * np.arange(per_rank) < int(dataset_length)


def all_reduce_metrics(metrics, context):
    """Merges every worker's metrics (one metric, a list, or a MetricCollection) so each
    worker holds the state over all workers' data, through the C++ all_reduce_metrics: a
    layout check (one 64-bit hash) that fails on every worker if any differs, the exact-count
    checks, then one collective per aggregation (sum, min, max). Metrics written in Python
    take part like built-ins; ``context`` is any DistributedContext (one written in Python
    too)."""
    from .collection import MetricCollection
    from .sliced import SlicedCollection
    if isinstance(metrics, SlicedCollection):  # slice keys first, then one all-reduce (tally.sliced)
        metrics.all_reduce(context)
        return
    native = context._core if isinstance(context, _CppContext) else context
    if isinstance(metrics, MetricCollection):
        for m in metrics.metrics():
            if isinstance(m, Metric):
                m._state_check("all_reduce_metrics")
        _tally._all_reduce_collection(metrics._core, native)
        return
    members = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    for m in members:
        if isinstance(m, Metric):
            m._state_check("all_reduce_metrics")
    _tally._all_reduce_metrics([m._core for m in members], native)
