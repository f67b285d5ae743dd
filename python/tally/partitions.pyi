# Type stubs for tally.partitions (evaluation split into partitions on any engine).
from typing import Any, Iterable, Optional, Tuple, TypeVar

import numpy as np
from numpy.typing import ArrayLike

_T = TypeVar("_T")

class PartitionState:
    vector: Optional[np.ndarray]
    layout: Optional[Tuple[Tuple[Tuple[Tuple[int, ...], str], ...], ...]]
    rows: int
    def __init__(self, vector: Optional[np.ndarray], layout: Any, rows: int) -> None: ...

def evaluate_partition(metrics: Any, y_true: Optional[ArrayLike], y_pred: ArrayLike,
                       sample_weight: Optional[ArrayLike] = ...) -> PartitionState: ...
def combine(states: Iterable[Optional[PartitionState]]) -> PartitionState: ...
def merge_into(metrics: _T, state: PartitionState) -> _T: ...
