# Type stubs for tally.dask.
from typing import Any, Optional

def evaluate(metrics: Any, y_true: Any, y_pred: Any, sample_weight: Optional[Any] = ..., split_every: int = ...,
             **compute_kwargs: Any) -> Any: ...
