"""Evaluation over Dask collections: ``tally.dask.evaluate(metrics, y_true, y_pred)``.

Each partition is evaluated where it lives into a small state (``tally.partitions``), the
states are combined in a tree of ``split_every`` at a time by each variable's declared
aggregation (sum, min, max), and only the final state travels to the client, where it is
merged into ``metrics``. The result equals one pass over all rows for any partitioning.
Runs on whichever scheduler Dask uses (threads, processes, or a ``distributed`` Client);
Python subclass metrics work when their class is importable on the workers.
(docs/distributed.md, "Dask and process pools")
"""
import pickle

import numpy as np

from ._tally import InvalidArgument, ShapeError
from . import partitions as _partitions

__all__ = ["evaluate"]


def _is_frame(x):
    return hasattr(x, "npartitions") and hasattr(x, "to_delayed") and hasattr(x, "to_dask_array")


def _is_dask_array(x):
    return hasattr(x, "chunks") and hasattr(x, "to_delayed") and hasattr(x, "rechunk")


def _as_array(x, name, chunks=None):
    """A dask array chunked along rows only (into ``chunks`` rows, if given)."""
    import dask.array as da
    if _is_frame(x):
        x = x.to_dask_array(lengths=True)
    elif not _is_dask_array(x):
        x = da.from_array(np.asarray(x))
    if x.ndim == 0:
        raise ShapeError(f"tally.dask.evaluate: {name} must have one row per sample; received a scalar")
    if any(np.isnan(c) for c in x.chunks[0]):
        x = x.compute_chunk_sizes()
    if chunks is not None and x.shape[0] != sum(chunks):
        raise ShapeError(f"tally.dask.evaluate: {name} has {x.shape[0]} rows but y_true has {sum(chunks)}")
    target = {0: chunks if chunks is not None else x.chunks[0]}
    target.update({axis: -1 for axis in range(1, x.ndim)})
    return x.rechunk(target)


def _partition_tasks(y_true, y_pred, sample_weight):
    """One (y_true, y_pred, sample_weight) tuple of delayed blocks per partition."""
    columns = {"y_true": y_true, "y_pred": y_pred, "sample_weight": sample_weight}
    given = {k: v for k, v in columns.items() if v is not None and not np.isscalar(v)}
    if all(_is_frame(v) for v in given.values()) and len({v.npartitions for v in given.values()}) == 1:
        parts = {k: list(v.to_delayed()) for k, v in given.items()}  # partitions of one frame line up
    else:
        lead_name = next(iter(given))  # y_true, or y_pred for value metrics
        lead = _as_array(given[lead_name], lead_name)
        parts = {lead_name: list(lead.to_delayed().ravel())}
        for k, v in given.items():
            if k != lead_name:
                parts[k] = list(_as_array(v, k, chunks=lead.chunks[0]).to_delayed().ravel())
    count = len(parts[next(iter(given))])
    return [tuple(parts[k][i] if k in parts else columns[k] for k in columns) for i in range(count)]


def _evaluate_blob(blob, y_true, y_pred, sample_weight):
    # Each task unpickles its own empty metrics: threaded schedulers share task arguments.
    return _partitions.evaluate_partition(pickle.loads(blob), y_true, y_pred, sample_weight)


def _combine(*states):
    return _partitions.combine(states)


def evaluate(metrics, y_true, y_pred, sample_weight=None, split_every=8, **compute_kwargs):
    """Adds every row of the Dask collections to ``metrics`` (a metric, a list of metrics or
    a MetricCollection) and returns ``metrics.result()`` (a list of results for a list).

    ``y_true``, ``y_pred`` and ``sample_weight`` are dask arrays, dask dataframe columns
    (Series, or a DataFrame for several columns), numpy arrays, or, for ``sample_weight``, a
    number. Arrays are aligned to ``y_true``'s row chunks; columns of one dataframe are used
    partition by partition as they are. For ``Mean`` / ``Sum`` pass ``y_true=None`` and the
    values as ``y_pred``. ``split_every``: how many states each combine task takes.
    ``compute_kwargs`` go to ``dask.compute`` (e.g. ``scheduler="processes"``)."""
    import dask
    if y_pred is None:
        raise InvalidArgument("tally.dask.evaluate: y_pred is required")
    if not isinstance(split_every, int) or split_every < 2:
        raise InvalidArgument(f"tally.dask.evaluate: split_every must be an integer >= 2; received {split_every!r}")
    members = _partitions._members(metrics)
    if not members:
        raise InvalidArgument("tally.dask.evaluate: no metrics given")
    blob = dask.delayed(pickle.dumps(_partitions._fresh(metrics)), pure=True)
    # Fresh task keys for every call: a distributed scheduler may still hold the results of an
    # identical graph a moment ago, and an evaluation is meant to read the data now.
    level = [dask.delayed(_evaluate_blob, pure=False)(blob, t, p, w)
             for t, p, w in _partition_tasks(y_true, y_pred, sample_weight)]
    while len(level) > 1:
        level = [dask.delayed(_combine, pure=False)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    (state,) = dask.compute(level[0], **compute_kwargs)
    _partitions.merge_into(metrics, state)
    if isinstance(metrics, (list, tuple)):
        return [m.result() for m in metrics]
    return metrics.result()
