"""Framework ops on arrays and lists of arrays (``tally::ops``, pfl's internal ops).

Arguments are numpy arrays or anything tally reads (``__dlpack__`` objects, lists,
scalars); results are numpy arrays of the input dtypes (``bfloat16`` comes back as
``float32``, which holds it exactly). Functions over several tensors take a list or tuple
of arrays and return a list. Checks and messages are the C++ ones, raised as tally
exceptions; the GIL is released while tally works::

    import numpy as np
    import tally

    grads = [np.ones((2, 3), np.float32), np.arange(4.0)]
    flat = tally.ops.flatten(grads)                 # (values, shapes, dtypes)
    back = tally.ops.reshape(*flat)                 # the same arrays, dtypes included
    clipped, norm = tally.ops.clip_by_global_norm(grads, max_norm=1.0)
"""
import collections
import math

import numpy as np

from . import _tally

_core = _tally.ops

__all__ = ["Flattened", "GradAccumulationState", "get_shape", "flatten", "reshape", "norm", "global_norm", "one_hot",
           "concatenate", "clone", "assign_variable", "exponential_moving_average_update",
           "simulate_bfloat16_transport", "clip_by_global_norm"]

#: Gradient accumulation schedule (``tally::ops::GradAccumulationState``): call
#: ``increment()`` after each step, then ``optimizer_should_update()``.
GradAccumulationState = _core.GradAccumulationState


class Flattened(collections.namedtuple("Flattened", ["values", "shapes", "dtypes"])):
    """What :func:`flatten` returns: a float64 vector, each array's shape (tuples) and
    dtype (names such as ``"float32"``). Unpacks as a tuple: ``reshape(*flattened)``."""

    __slots__ = ()


def _dtype_name(dtype):
    if isinstance(dtype, str):
        return dtype if dtype == "bfloat16" else np.dtype(dtype).name
    return np.dtype(dtype).name


def _order(order):
    # numpy spells the max-abs norm np.inf; the string "inf" is accepted too.
    if isinstance(order, str):
        if order.lower() not in ("inf", "infinity"):
            raise _tally.InvalidArgument(f'argument `order` must be a number >= 1 or "inf"; received {order!r}')
        return math.inf
    return float(order)


def get_shape(tensor):
    """The shape of an array, as a tuple."""
    return _core.get_shape(tensor)


def flatten(tensors):
    """All elements of a list of arrays, in C order, as one float64 vector, plus the
    shapes and dtypes :func:`reshape` needs to restore them exactly. int64 values beyond
    2**53 (which float64 cannot hold) raise ``tally.InvalidArgument``. Returns a
    :class:`Flattened` ``(values, shapes, dtypes)``."""
    values, shapes, dtypes = _core.flatten(tensors)
    return Flattened(values, shapes, dtypes)


def reshape(values, shapes, dtypes):
    """Inverse of :func:`flatten`: splits a 1-D vector into arrays of the given shapes and
    dtypes (numpy dtypes or names). The vector's length must equal the shapes' total size
    (``tally.ShapeError`` otherwise)."""
    return _core.reshape(values, [tuple(int(d) for d in s) for s in shapes], [_dtype_name(d) for d in dtypes])


def norm(tensor, order=2.0):
    """The p-norm of all elements (``order`` >= 1, or ``np.inf`` for the max-abs norm),
    like ``numpy.linalg.norm(x.ravel(), order)``."""
    return _core.norm(tensor, _order(order))


def global_norm(tensors, order=2.0):
    """The p-norm of all elements of all arrays of a list taken together."""
    return _core.global_norm(tensors, _order(order))


def one_hot(indices, depth):
    """A float32 array of shape ``indices.shape + (depth,)`` with 1 at each index;
    integral indices in [0, depth) only."""
    return _core.one_hot(indices, int(depth))


def concatenate(tensors, axis=0):
    """Joins arrays of one dtype along ``axis`` (negative counts from the end)."""
    return _core.concatenate(tensors, int(axis))


def clone(tensors):
    """Deep copies of a list of arrays."""
    return _core.clone(tensors)


def _writable(array, argument):
    if not isinstance(array, np.ndarray) or not array.flags.writeable:
        raise _tally.InvalidArgument(f"argument `{argument}` must be a writable numpy array (it is updated in "
                                     f"place); received {type(array).__name__}")


def assign_variable(reference, value):
    """Copies ``value`` into the numpy array ``reference`` in place; dtype and shape must
    match (``tally.ShapeError`` otherwise). Returns ``reference``."""
    _writable(reference, "reference")
    reference[...] = _core.assign_variable(reference, value)
    return reference


def exponential_moving_average_update(variables, ema_variables, decay):
    """``ema -= (1 - decay) * (ema - variable)`` for each pair, in place on the floating
    numpy arrays of ``ema_variables`` (computed in float64, stored in each array's dtype).
    Returns ``ema_variables``."""
    for i, e in enumerate(ema_variables):
        _writable(e, f"ema_variables[{i}]")
    updated = _core.exponential_moving_average_update(variables, ema_variables, float(decay))
    for e, u in zip(ema_variables, updated):
        e[...] = u
    return ema_variables


def simulate_bfloat16_transport(tensors):
    """Each element rounded to bfloat16 (nearest, ties to even) and back, as if sent over
    a bfloat16 wire; dtypes are kept."""
    return _core.simulate_bfloat16_transport(tensors)


def clip_by_global_norm(tensors, max_norm):
    """Scales all arrays by ``max_norm / global L2 norm`` when that norm exceeds
    ``max_norm``. Returns ``(clipped arrays, global norm before clipping)``."""
    return _core.clip_by_global_norm(tensors, float(max_norm))
