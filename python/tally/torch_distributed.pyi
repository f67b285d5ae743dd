# Type stubs for tally.torch_distributed.
from typing import Any, Optional

from .distributed import DistributedContext

class TorchDistributedContext(DistributedContext):
    group: Any
    device: Any
    store: Any
    collective_timeout: float
    failed: bool
    def __init__(self, group: Any = ..., device: Any = ..., store: Any = ...,
                 collective_timeout: Optional[float] = ...) -> None: ...
    def set_collective_timeout(self, seconds: float) -> None: ...
