"""Seeded noise and differentially private release of metric states (``tally/privacy.h``;
see docs/privacy.md for the mechanisms and what the guarantee covers).

Noise comes from a counter-based generator (Philox4x32-10): element ``i`` of tensor ``t``
gets the draw for (seed, t, i), so a seed gives the same noise for any thread count, in
C++ and in Python alike. Seeds: an explicit ``seed=`` wins, else the innermost
``SeedScope``, else one from the operating system (what a real release should use)::

    import tally

    m = tally.metrics.Mean()
    m.update_state([0.2, 0.4, 0.9])
    mechanism = tally.privacy.GaussianMechanism.from_budget(epsilon=1.0, delta=1e-5, l2_sensitivity=1.0)
    noisy = tally.privacy.privatize(m.state(), mechanism)     # a tally.State
    noisy.result()                                            # an estimate of the mean

    with tally.privacy.SeedScope(42):                         # reproducible noise for tests
        a = tally.privacy.add_gaussian_noise([0.0, 0.0], stddev=1.0)
"""
import numpy as np

from . import _tally

_core = _tally.privacy

__all__ = ["SeedScope", "current_seed", "resolve_seed", "add_gaussian_noise", "add_laplacian_noise", "NormOrder",
           "clip_by_norm", "sum_clipped", "standard_normal_cdf", "analytic_gaussian_sigma", "Mechanism",
           "GaussianMechanism", "LaplaceMechanism", "privatize"]

#: Norm for clipping and sensitivity: ``NormOrder.L1`` or ``NormOrder.L2`` (also "l1", "l2", 1, 2).
NormOrder = _core.NormOrder
#: Base class of the mechanisms; ``mechanism.apply(values, seed=None)`` adds its noise.
Mechanism = _core.Mechanism
#: Gaussian noise: ``GaussianMechanism.from_stddev(s)`` or ``.from_budget(epsilon, delta,
#: l2_sensitivity)`` (analytic Gaussian mechanism, Balle and Wang 2018); ``.stddev``.
GaussianMechanism = _core.GaussianMechanism
#: Laplace noise: ``LaplaceMechanism.from_scale(b)`` or ``.from_budget(epsilon,
#: l1_sensitivity)`` (b = sensitivity / epsilon); ``.scale``.
LaplaceMechanism = _core.LaplaceMechanism


class SeedScope:
    """Sets the default seed of the current thread inside a ``with`` block and restores
    the previous one on exit, so scopes nest. ``SeedScope(None)`` clears the default
    inside the block (noise is then seeded by the operating system)."""

    def __init__(self, seed):
        self._scope = _core._SeedScope(seed)

    @property
    def seed(self):
        return self._scope.seed

    def __enter__(self):
        self._scope.enter()
        return self

    def __exit__(self, *exc):
        self._scope.exit()
        return False

    def __repr__(self):
        return f"tally.privacy.SeedScope({self.seed!r})"


def current_seed():
    """The current thread's default seed set by the innermost SeedScope, or None."""
    return _core.current_seed()


def resolve_seed(seed=None):
    """The seed a noise function would use: ``seed``, else the SeedScope default, else a
    fresh one from the operating system."""
    return _core.resolve_seed(seed)


def add_gaussian_noise(x, stddev, seed=None, stream=0):
    """Adds N(0, stddev**2) noise. ``x`` is one array (any shape; noise stream ``stream``)
    or a list of arrays (array ``t`` uses stream ``t``); returns float64 arrays of the
    same shapes, a list for a list."""
    return _core.add_gaussian_noise(x, float(stddev), seed, int(stream))


def add_laplacian_noise(x, scale, seed=None, stream=0):
    """Adds Laplace(0, scale) noise; ``x`` as for :func:`add_gaussian_noise`."""
    return _core.add_laplacian_noise(x, float(scale), seed, int(stream))


def _norm_order(order):
    if isinstance(order, NormOrder):
        return order
    names = {"l1": NormOrder.L1, "l2": NormOrder.L2, 1: NormOrder.L1, 2: NormOrder.L2}
    key = order.lower() if isinstance(order, str) else order
    if key not in names:
        raise _tally.InvalidArgument(f'argument `order` must be "l1", "l2" or a NormOrder; received {order!r}')
    return names[key]


def clip_by_norm(values, max_norm, order="l2"):
    """``values`` scaled so that its norm is at most ``max_norm`` (unchanged when within)."""
    return _core.clip_by_norm(values, float(max_norm), _norm_order(order))


def sum_clipped(contributions, max_norm, order="l2"):
    """The sum of 1-D contributions, each clipped to ``max_norm`` first, so adding or
    removing one moves the sum by at most ``max_norm``: use it as the sensitivity."""
    return _core.sum_clipped(contributions, float(max_norm), _norm_order(order))


def standard_normal_cdf(x):
    """The standard normal CDF."""
    return _core.standard_normal_cdf(float(x))


def analytic_gaussian_sigma(epsilon, delta, l2_sensitivity):
    """The smallest Gaussian noise sigma that is (epsilon, delta)-DP for the given L2
    sensitivity (Balle and Wang 2018, Algorithm 1); 3.7306 for (1, 1e-5, 1)."""
    return _core.analytic_gaussian_sigma(float(epsilon), float(delta), float(l2_sensitivity))


def _is_state(x):
    # Python-written metrics keep their state in C++ too, so every state() is a tally.State.
    return isinstance(x, _tally.State)


def _count_mask(state):
    """Which elements of a state's vector are int64 counts (rounded after noising)."""
    return _core.count_mask(state)


def privatize(x, mechanism, seed=None):
    """A noisy copy of a state for release. ``x`` is a numpy state vector (returns a
    float64 array), a metric's ``state()`` (returns a state of the same metric), or a
    ``MetricCollection``'s ``state()`` list (returns a list; one draw over the members'
    concatenated vector, as C++ privatises a CollectionState). Noisy int64 counts are
    rounded to integers, which is post-processing and keeps the guarantee. Results
    computed from the copy are estimates: see docs/privacy.md on noisy ratios."""
    if not isinstance(mechanism, Mechanism):
        raise _tally.InvalidArgument("argument `mechanism` must be a GaussianMechanism or LaplaceMechanism; "
                                     f"received {type(mechanism).__name__}")
    if isinstance(x, _tally.State):
        return _core.privatize_state(x, mechanism, seed)
    if isinstance(x, (list, tuple)) and x and all(_is_state(s) for s in x):
        return type(x)(_core.privatize_states(list(x), mechanism, seed))
    return _core.privatize_vector(x, mechanism, seed)
