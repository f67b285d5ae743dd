"""Row selection for ``update_state(..., valid_rows=mask)``: the rows of a batch that count.

torch's ``DistributedSampler`` pads the last shard with repeated samples so that every rank
gets the same number; counting them inflates every count. ``valid_rows`` (a boolean mask
over the batch's rows, e.g. from ``tally.sampler_valid_rows``) keeps only the real rows, so
the merged state equals one process on the unpadded data (docs/distributed.md)."""
import numpy as np

from ._tally import DTypeError, ShapeError

_NAMES = ("y_true", "y_pred", "sample_weight")
# With the auxiliary per-row inputs (docs/metrics.md, "Auxiliary inputs"): their rows go too.
ROW_INPUT_NAMES = ("y_true", "y_pred", "sample_weight", "query_ids", "index")


def _mask(valid_rows, who):
    mask = np.asarray(valid_rows)
    if hasattr(valid_rows, "__dlpack__") and not isinstance(valid_rows, np.ndarray):
        mask = np.asarray(valid_rows.cpu() if hasattr(valid_rows, "cpu") else valid_rows)
    if mask.dtype != np.bool_:
        raise DTypeError(f"{who}: valid_rows must be a boolean mask over the batch's rows; received dtype {mask.dtype}")
    if mask.ndim != 1:
        raise ShapeError(f"{who}: valid_rows must be one-dimensional (one flag per row); received shape "
                         f"{list(mask.shape)}")
    return mask


def _take(x, mask, name, who):
    """The rows of ``x`` where ``mask`` is true; torch tensors stay torch tensors."""
    if x is None:
        return None
    module = type(x).__module__
    if module.startswith("torch"):
        if x.dim() == 0:
            return x
        if x.shape[0] != mask.size:
            raise ShapeError(f"{who}: valid_rows has {mask.size} entries but {name} has {x.shape[0]} rows")
        import torch
        return x[torch.from_numpy(mask).to(x.device)]
    array = x if isinstance(x, np.ndarray) else np.asarray(x)
    if array.ndim == 0:
        return x  # a scalar (a sample weight for every row) applies to the kept rows as well
    if array.shape[0] != mask.size:
        raise ShapeError(f"{who}: valid_rows has {mask.size} entries but {name} has {array.shape[0]} rows")
    return array[mask]


def select_rows(valid_rows, arrays, who, names=_NAMES):
    """``arrays`` restricted to the valid rows, or None when no row is valid (the update is
    then skipped: an empty batch is an error, a fully padded batch is not)."""
    mask = _mask(valid_rows, who)
    selected = [_take(x, mask, n, who) for x, n in zip(arrays, names)]
    return selected if mask.any() else None
