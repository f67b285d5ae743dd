"""``TorchDistributedContext``: tally's distributed evaluation over ``torch.distributed``
(pfl's ``PyTorchDistributedContext``), for jobs that already run a torch process group.

Ranks and sizes come from the process group; ``all_reduce_in_place`` is one
``torch.distributed.all_reduce`` of the float64 state buffer, on CPU for gloo (the buffer is
shared with numpy, no copy) or on ``device`` for other backends (NCCL: ``device="cuda"``).
``tally.all_reduce_metrics`` runs through it with the same layout check as over MPI.

Failure behaviour follows the MPI context (docs/distributed.md, "When a rank fails"): every
collective is issued with ``async_op=True`` and waited on in slices against a deadline
(``collective_timeout``, default $TALLY_TORCH_TIMEOUT, else 30 s) and against a failure
notice in the process group's key-value store. ``signal_failure(reason)`` writes the notice
(an uncaught exception does so through the same hook as the MPI contexts), so every rank
waiting in a collective raises DistributedError quoting it instead of waiting for gloo's
own timeout (30 minutes by default).
"""
import datetime
import os
import time

import numpy as np

from ._tally import DistributedError, InvalidArgument
from .distributed import DistributedContext, _install_failure_hooks

__all__ = ["TorchDistributedContext"]

# A notice is its text under _NOTICE_KEY, then a count under _FAILURES_KEY: ``add(key, 0)``
# reads a counter without blocking (torch 1.13's Store has no non-blocking ``check``), and
# the text is written before the count, so a reader that sees the count finds the text.
_NOTICE_KEY = "tally/failure"
_FAILURES_KEY = "tally/failures"
_ACK_KEY = "tally/failure_acks"


class TorchDistributedContext(DistributedContext):
    """A tally context over an initialised ``torch.distributed`` process group.

    ``group``: the process group (default: the default group). ``device``: where the
    collective's buffer lives, ``"cpu"`` for gloo (default), ``"cuda"`` for NCCL; the state
    vector is copied there and back. ``store``: the key-value store used for failure
    notices (default: the default group's store); ``None`` found means deadline only.
    ``collective_timeout``: seconds a collective waits for the other ranks (0: forever).
    ``local_rank`` / ``local_size`` come from torchrun's LOCAL_RANK / LOCAL_WORLD_SIZE,
    else the global rank and size (one machine)."""

    def __init__(self, group=None, device="cpu", store=None, collective_timeout=None):
        import torch
        import torch.distributed as dist
        if not dist.is_available() or not dist.is_initialized():
            raise DistributedError("TorchDistributedContext: torch.distributed has no process group; call "
                                   "torch.distributed.init_process_group(...) first")
        self._torch, self._dist = torch, dist
        self.group = group
        self.device = torch.device(device)
        if store is None:
            getter = getattr(dist.distributed_c10d, "_get_default_store", None)
            try:
                store = getter() if getter is not None and group is None else None
            except Exception:  # noqa: BLE001 - no store: notices are unavailable, deadlines still apply
                store = None
        self.store = store
        if collective_timeout is None:
            text = os.environ.get("TALLY_TORCH_TIMEOUT", "")
            collective_timeout = float(text) if text else 30.0
        self.collective_timeout = 0.0
        self.set_collective_timeout(collective_timeout)
        self.failed = False
        self._slice = datetime.timedelta(milliseconds=10)  # how often a waiting collective looks for notices
        self._ops = {"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN, "max": dist.ReduceOp.MAX}
        _install_failure_hooks(self)

    # --- ranks ----------------------------------------------------------------------------

    @property
    def global_rank(self):
        return self._dist.get_rank(self.group)

    @property
    def world_size(self):
        return self._dist.get_world_size(self.group)

    @property
    def local_rank(self):
        return int(os.environ.get("LOCAL_RANK", self.global_rank))

    @property
    def local_size(self):
        return int(os.environ.get("LOCAL_WORLD_SIZE", self.world_size))

    # --- collectives ------------------------------------------------------------------------

    def set_collective_timeout(self, seconds):
        """Seconds a collective waits for the other ranks before raising DistributedError;
        0 waits forever. Negative or NaN values raise InvalidArgument."""
        if not seconds >= 0:
            raise InvalidArgument(f"TorchDistributedContext: collective timeout must be >= 0 seconds; "
                                  f"received {seconds}")
        self.collective_timeout = float(seconds)

    def all_reduce_in_place(self, buffer, op="sum"):
        """One torch.distributed.all_reduce of a float64 numpy buffer, in place."""
        if op not in self._ops:
            raise InvalidArgument(f"all_reduce_in_place: op must be sum, min or max; received {op!r}")
        if not isinstance(buffer, np.ndarray) or buffer.dtype != np.float64 or not buffer.flags.c_contiguous:
            raise InvalidArgument("TorchDistributedContext.all_reduce_in_place: buffer must be a contiguous float64 "
                                  f"numpy array; received {type(buffer).__name__}")
        self._refuse_if_failed("all_reduce")
        tensor = self._torch.from_numpy(buffer)  # shares memory with the numpy buffer
        if self.device.type != "cpu":
            tensor = tensor.to(self.device)
        self._wait(self._dist.all_reduce(tensor, op=self._ops[op], group=self.group, async_op=True), "all_reduce")
        if self.device.type != "cpu":
            buffer[...] = tensor.cpu().numpy()
        return buffer

    def barrier(self):
        """Blocks until every rank arrives (an all-reduce of one element, so that it is
        watched like every other collective and works on every backend)."""
        self.all_reduce_in_place(np.zeros(1))

    def signal_failure(self, reason):
        """Writes ``rank R failed: reason`` to the store, so that every other rank's pending and
        later collectives raise DistributedError quoting it, and waits up to two seconds for
        their acknowledgements. Afterwards every collective on this context raises."""
        self.failed = True
        if self.store is None:
            return
        try:
            self._post(f"rank {self.global_rank} failed: {reason}")
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and self.store.add(_ACK_KEY, 0) < self.world_size - 1:
                time.sleep(0.01)
        except Exception:  # noqa: BLE001 - the store may be gone (its host rank exited): nothing more to tell
            pass

    # --- failure detection --------------------------------------------------------------------

    def _post(self, text):
        """Writes a failure notice (the first one stays: later ones only add to the count)."""
        if self.store.add(_FAILURES_KEY, 0) == 0:
            self.store.set(_NOTICE_KEY, text)
        self.store.add(_FAILURES_KEY, 1)

    def _notice(self):
        """The failure notice in the store, or None. A store that cannot be reached (its
        host rank, usually rank 0, has exited) counts as a failure too."""
        if self.store is None:
            return None
        try:
            if self.store.add(_FAILURES_KEY, 0) == 0:
                return None
            return self.store.get(_NOTICE_KEY).decode("utf-8", "replace")
        except Exception as error:  # noqa: BLE001 - a lost store means a lost peer
            return f"the process group's store is unreachable ({error})"

    def _abandon(self, what, why):
        self.failed = True
        if self.store is not None:
            try:
                self.store.add(_ACK_KEY, 1)
            except Exception:  # noqa: BLE001 - best effort
                pass
        raise DistributedError(f"torch.distributed: {what} on rank {self.global_rank} abandoned: {why}")

    def _refuse_if_failed(self, what):
        # No store round trip here: a notice is found within one wait slice (10 ms) anyway.
        if self.failed:
            raise DistributedError(f"torch.distributed: {what} on rank {self.global_rank} refused: the job has failed")

    def _wait(self, work, what):
        # Wait on the work in slices: Work.wait(timeout) returns the moment the collective
        # completes (no polling delay) and raises "Operation timed out!" when the slice ends
        # without cancelling the collective; between slices, look for a notice and the deadline.
        start = time.monotonic()
        while True:
            try:
                work.wait(self._slice)
                return
            except RuntimeError as error:
                failure = None
                if work.is_completed():  # it completed just after the slice ended, or it failed
                    try:
                        work.wait()
                        return
                    except RuntimeError as transport:  # the transport failed (a peer's connection closed)
                        failure = transport
                elif "timed out" not in str(error):
                    failure = error
                if failure is not None:
                    notice = self._notice()
                    self._abandon(what, notice if notice is not None else f"{type(failure).__name__}: {failure}")
            notice = self._notice()
            if notice is not None:
                self._abandon(what, notice)
            if self.collective_timeout > 0 and time.monotonic() - start > self.collective_timeout:
                self.failed = True
                timeout = f"timed out after {self.collective_timeout:g} s waiting for the other ranks"
                if self.store is not None:
                    try:
                        self._post(f"rank {self.global_rank} {what} {timeout}")
                    except Exception:  # noqa: BLE001 - best effort
                        pass
                raise DistributedError(f"torch.distributed: {what} on rank {self.global_rank} {timeout}")

    def __repr__(self):
        return (f"<tally.TorchDistributedContext rank {self.global_rank} of {self.world_size} on "
                f"{self._dist.get_backend(self.group)}/{self.device}>")

