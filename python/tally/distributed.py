"""Distributed evaluation from Python: contexts (pfl's DistributedContext) and
``all_reduce_metrics``, which merges every worker's metrics in one collective.

A context needs four properties and ``all_reduce_in_place(buffer, op)`` on a float64
numpy buffer (``op`` is "sum", "min" or "max"); subclass ``DistributedContext`` to plug in
any transport. Provided: ``NotDistributedContext``, ``MpiContext`` (tally's C++ MPI
context, or an mpi4py communicator when one is given) and ``Mpi4pyContext``. See
``examples/torch_distributed.py`` for torch.distributed.
"""
import hashlib
import json

import numpy as np

from . import _tally
from ._tally import DistributedError
from .metric import Metric

__all__ = ["DistributedContext", "NotDistributedContext", "MpiContext", "Mpi4pyContext", "all_reduce_metrics",
           "launched_under_mpi"]


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
        """Seconds a collective waits (0: forever); default $TALLY_MPI_TIMEOUT, else 600."""
        return self._core.collective_timeout

    @property
    def failed(self):
        """True once a collective failed or a failure was signalled: the context is unusable."""
        return self._core.failed


class Mpi4pyContext(DistributedContext):
    """A context over an mpi4py communicator (Debian's python3-mpi4py).

    ``signal_failure`` is the inherited no-op: mpi4py's blocking collectives cannot watch
    for a failure notice, so a rank that fails leaves its peers waiting in the collective.
    Use ``MpiContext()`` (tally's C++ context) for collectives that fail on every rank
    within a bounded time, or call ``comm.Abort()`` to end the whole job."""

    def __init__(self, comm=None):
        from mpi4py import MPI
        self._MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self._local_rank, self._local_size = local.Get_rank(), local.Get_size()
        local.Free()

    @property
    def local_rank(self):
        return self._local_rank

    @property
    def global_rank(self):
        return self.comm.Get_rank()

    @property
    def world_size(self):
        return self.comm.Get_size()

    @property
    def local_size(self):
        return self._local_size

    def all_reduce_in_place(self, buffer, op="sum"):
        ops = {"sum": self._MPI.SUM, "min": self._MPI.MIN, "max": self._MPI.MAX}
        self.comm.Allreduce(self._MPI.IN_PLACE, buffer, op=ops[op])
        return buffer

    def barrier(self):
        self.comm.Barrier()


def MpiContext(comm=None):
    """tally's MPI context over MPI_COMM_WORLD, or a context over an mpi4py communicator.

    tally's own context watches for failures: ``signal_failure(reason)`` makes every other
    rank's collectives raise DistributedError quoting ``reason``, and a collective that waits
    longer than ``collective_timeout`` seconds (``set_collective_timeout``) raises too."""
    if comm is not None:
        return Mpi4pyContext(comm)
    if not hasattr(_tally, "_MpiContext"):
        raise _tally.Error("tally was built without MPI (configure with TALLY_WITH_MPI=ON)")
    return _CppContext(_tally._MpiContext())


def launched_under_mpi():
    """True when the process was started by mpirun."""
    import os
    return any(v in os.environ for v in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"))


def _members(metrics):
    from .collection import MetricCollection
    if isinstance(metrics, MetricCollection):
        return metrics.metrics()
    if isinstance(metrics, (list, tuple)):
        return list(metrics)
    return [metrics]


def _layout(metric):
    if isinstance(metric, Metric):
        variables = [(v.name, list(v.shape), v.dtype, v.aggregation) for v in metric.variables]
    else:
        variables = [(v["name"], list(v["shape"]), v["dtype"], v["aggregation"]) for v in metric.variables]
    return [metric.name, metric.class_name, metric.get_config(), variables]


def all_reduce_metrics(metrics, context):
    """Merges every worker's metrics (one metric, a list, or a MetricCollection) so each
    worker holds the state over all workers' data: a layout check that fails on every
    worker if any differs, then one collective per aggregation (sum, min, max)."""
    members = _members(metrics)
    digest = hashlib.sha256(json.dumps([_layout(m) for m in members], sort_keys=True,
                                       default=str).encode()).digest()
    pieces = np.array([int.from_bytes(digest[i:i + 2], "little") for i in range(0, 8, 2)] + [len(members)],
                      dtype=np.float64)
    check = np.concatenate([pieces, -pieces])
    context.all_reduce_in_place(check, "min")
    if not np.array_equal(check[:len(pieces)], -check[len(pieces):]):
        raise DistributedError("all_reduce_metrics: ranks hold different metrics (names, classes, configs or "
                               f"variable shapes differ on rank {context.global_rank}); every rank must build the "
                               "same metrics in the same order")
    vectors = [np.asarray(m.to_vector(), dtype=np.float64) for m in members]
    slots = {"sum": [], "min": [], "max": []}
    for k, m in enumerate(members):
        pos = 0
        for v in m.variables:
            shape = v.shape if isinstance(m, Metric) else v["shape"]
            aggregation = v.aggregation if isinstance(m, Metric) else v["aggregation"]
            n = int(np.prod(shape)) if len(shape) else 1
            slots[aggregation].append((k, pos, n))
            pos += n
    for op, items in slots.items():
        if not items:
            continue
        buffer = np.concatenate([vectors[k][p:p + n] for k, p, n in items])
        context.all_reduce_in_place(buffer, op)
        at = 0
        for k, p, n in items:
            vectors[k][p:p + n] = buffer[at:at + n]
            at += n
    for m, v in zip(members, vectors):
        m.from_vector(v)
