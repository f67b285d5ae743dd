"""tally: streaming, mergeable, distributed evaluation metrics with Keras 3 semantics.

Metrics take numpy arrays (without copying), anything with ``__dlpack__`` such as CPU
torch tensors, and Python lists or scalars. Every metric's state is a float64 vector
whose element-wise sum is the merge of two states, so states can be summed across
workers. See ``tally.metrics`` for the catalog and ``tally.Metric`` for metrics written
in Python, ``tally.functional`` one-call forms of every metric. ``tally.ops`` holds framework ops on arrays (flatten/reshape, norms,
clipping, bfloat16 transport) and ``tally.privacy`` seeded noise and the private release
of metric states. ``tally.save_state`` / ``tally.load_state`` keep metric states in
checksummed files, so a killed evaluation resumes where it last saved. Distributed
evaluation: ``all_reduce_metrics`` over MPI (``MpiContext``) or torch.distributed
(``TorchDistributedContext``), ``tally.dask.evaluate`` over Dask collections and
``tally.partitions`` for any pool of processes (docs/distributed.md).
"""
from . import _tally
from ._tally import (ConfigError, DistributedError, DTypeError, Error, InvalidArgument, IOError, ShapeError, State,
                     StateError, build_info, memory_limit, num_threads, set_memory_limit, set_num_threads, version)
from .metric import Metric, Variable
from . import metrics
from . import functional
from . import ops
from . import privacy
from .collection import MetricCollection
from .sliced import SlicedCollection
from .state_file import SavedState, load_state, save_state
from .tracking import CsvSink, JsonLinesSink, Logger, ModelSelector, TensorBoardSink
from .distributed import (DistributedContext, Mpi4pyContext, MpiContext, NotDistributedContext, all_reduce_metrics,
                          distributed_shard, launched_under_mpi, sampler_valid_rows)
from .torch_distributed import TorchDistributedContext
from . import partitions
from . import dask

__version__ = version()

__all__ = [
    "ConfigError", "DistributedError", "DTypeError", "Error", "InvalidArgument", "IOError", "ShapeError", "State",
    "StateError", "Metric", "Variable", "metrics", "build_info", "num_threads", "set_num_threads", "version",
    "memory_limit", "set_memory_limit",
    "MetricCollection", "SlicedCollection", "DistributedContext", "NotDistributedContext", "MpiContext", "Mpi4pyContext",
    "all_reduce_metrics", "launched_under_mpi", "ModelSelector", "Logger", "JsonLinesSink", "CsvSink",
    "TensorBoardSink", "functional", "ops", "privacy", "SavedState", "save_state", "load_state",
    "TorchDistributedContext", "distributed_shard", "sampler_valid_rows", "partitions", "dask",
]
