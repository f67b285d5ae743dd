"""SlicedCollection: every metric of a collection per slice of the data (docs/guide.md,
"Sliced evaluation"), on the C++ ``tally::SlicedCollection``.

A slice is a value of one slicing feature (``country=FR``), a cross of several
(``country=FR,device=phone``) or the overall slice. Each distinct slice gets its own
collection state when first seen; states merge slice by slice and all-reduce across workers
that saw different slices. Slice columns are integer arrays (floats holding integers are
accepted, NaN is an error) or string arrays (interned once per batch by numpy)."""
import numpy as np

from . import _tally
from .collection import MetricCollection
from .metric import Metric

__all__ = ["SlicedCollection", "DEFAULT_MAX_SLICES"]

#: Default bound on the number of slices (all slicings together); more is an error.
DEFAULT_MAX_SLICES = 10000


def _column(values, feature):
    """One slice column as the core takes it: an integer/float array, or (codes, strings)."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise _tally.ShapeError(
            f'SlicedCollection.update_state: slice column "{feature}" must be one value per row (1-D); '
            f"received shape {a.shape}")
    if a.dtype.kind in "biuf":
        return a
    if a.dtype.kind == "O":
        for i, v in enumerate(a):
            if v is None or (isinstance(v, float) and v != v):
                raise _tally.InvalidArgument(
                    f'SlicedCollection: slice column "{feature}" holds {v!r} at row {i}; '
                    "slice ids must be integers or strings")
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in a):
            return a.astype(np.int64)
    strings, codes = np.unique(a.astype(str), return_inverse=True)
    return (codes.astype(np.int32), [str(s) for s in strings])


class SlicedCollection:
    """Every metric per slice. ``metrics``: a MetricCollection or a list of metrics/specs
    (built-in metrics; metrics written in Python are not sliced). ``slice_names``: the
    slicing features, in the order ``update_state`` receives their columns. ``slices``: which
    features to slice by, e.g. ``[["country"], ["country", "device"]]`` (``[]`` is the
    overall slice); default: the overall slice plus each feature alone. ``max_slices``: more
    distinct slices is an InvalidArgument and the state stays unchanged."""

    def __init__(self, metrics, slice_names, slices=None, max_slices=DEFAULT_MAX_SLICES):
        collection = metrics if isinstance(metrics, MetricCollection) else MetricCollection(
            [m.clone() if hasattr(m, "clone") and getattr(m, "_collection", None) is not None else m for m in metrics])
        for m in collection.metrics():
            if isinstance(m, Metric):
                raise _tally.InvalidArgument(
                    f'SlicedCollection: "{m.name}" is written in Python; slicing takes built-in metrics')
        if isinstance(slice_names, str):
            slice_names = [slice_names]
        self._names = list(slice_names)
        slicings = [] if slices is None else [[s] if isinstance(s, str) else list(s) for s in slices]
        self._core = _tally._SlicedCollection(collection._core, self._names, slicings, int(max_slices))
        self._metric_names = collection.names()

    @property
    def slice_names(self):
        """The slicing features."""
        return list(self._names)

    @property
    def slices(self):
        """The slicings, each a list of feature names ([] is the overall slice)."""
        return [[self._names[i] for i in s] for s in self._core.slicings()]

    def update_state(self, y_true, y_pred, sample_weight=None, slice_ids=None):
        """Adds a batch. ``slice_ids``: one column per feature (a list/tuple in slice_names
        order, a dict by name, or a bare column when there is one feature), one value per row.
        Rows are grouped by slice in one pass, then each slice is updated once. All or nothing."""
        if slice_ids is None:
            raise _tally.InvalidArgument("SlicedCollection.update_state: slice_ids is required")
        if isinstance(slice_ids, dict):
            missing = [n for n in self._names if n not in slice_ids]
            if missing:
                raise _tally.InvalidArgument(
                    f"SlicedCollection.update_state: no slice column for {', '.join(missing)}")
            columns = [slice_ids[n] for n in self._names]
        elif len(self._names) == 1 and not (isinstance(slice_ids, (list, tuple)) and len(slice_ids) == 1
                                            and np.ndim(slice_ids[0]) == 1):
            columns = [slice_ids]
        else:
            columns = list(slice_ids)
        if len(columns) != len(self._names):
            raise _tally.InvalidArgument(
                f"SlicedCollection.update_state: expected {len(self._names)} slice columns (one per feature); "
                f"received {len(columns)}")
        converted = [_column(c, n) for c, n in zip(columns, self._names)]
        self._core.update_state(y_true, y_pred, sample_weight, converted)

    def result(self, min_slice_size=0):
        """{slice name: {"samples": n, "metrics": {name: value}}} in canonical order (each
        slicing in turn, values sorted, integers before strings); slices with fewer than
        ``min_slice_size`` samples are left out."""
        return {name: {"samples": n, "metrics": metrics}
                for name, _, n, metrics in self._core.result(int(min_slice_size))}

    def private_result(self, mechanism, seed=None, min_slice_size=0):
        """result() released privately per slice: each slice's state and sample count get
        noise from ``mechanism`` (tally.privacy); ``min_slice_size`` applies to the noisy
        counts. The slice names are not noised (see docs/privacy.md)."""
        return {name: {"samples": n, "metrics": metrics}
                for name, _, n, metrics in _tally._private_slice_result(self._core, mechanism, seed,
                                                                         int(min_slice_size))}

    def merge_state(self, other):
        """Merges another SlicedCollection of the same metrics and slicings, slice by slice."""
        self._core.merge_state(other._core)

    def reset_state(self):
        """Forgets every slice."""
        self._core.reset_state()

    def keys(self):
        """(slicing index, values) of every slice seen, in canonical order."""
        return self._core.keys()

    def __len__(self):
        return self._core.num_slices()

    def to_vector(self):
        """Per slice in canonical order: [samples, the collection's state vector...]."""
        return self._core.to_vector()

    def all_reduce(self, context):
        """Merges every worker's slices (even when workers saw different slices): one gather of
        the slice keys, then one all-reduce of the states in canonical order."""
        from .distributed import _CppContext
        native = context._core if isinstance(context, _CppContext) else context
        _tally._all_reduce_sliced(self._core, native)

    def __repr__(self):
        return (f"SlicedCollection(metrics={self._metric_names!r}, slice_names={self._names!r}, "
                f"slices={self.slices!r}, {len(self)} slices seen)")
