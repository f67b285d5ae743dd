"""tally.ops and tally.privacy from Python: values against numpy, seeded noise, private
release of metric and collection states, and the C++ error messages."""
import math
import pathlib
import re
import threading

import numpy as np
import pytest

import tally

ops = tally.ops
privacy = tally.privacy

SHAPES = [(), (3,), (2, 3), (2, 0, 4), (1, 2, 3)]


def _random(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=shape).astype(dtype)
    if np.dtype(dtype) == np.int64:
        # Up to 2**53, the largest magnitude a float64 holds exactly.
        return rng.integers(-2 ** 53, 2 ** 53, size=shape, dtype=np.int64, endpoint=True)
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


# --- ops ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.float16, np.uint8, np.bool_])
def test_flatten_reshape_round_trip_is_exact(rng, dtype):
    arrays = [_random(rng, s, dtype) for s in SHAPES]
    flat = ops.flatten(arrays)
    values, shapes, dtypes = flat  # unpacks as a tuple
    assert flat.values is values
    assert values.dtype == np.float64 and values.ndim == 1
    np.testing.assert_array_equal(values, np.concatenate([a.astype(np.float64).ravel() for a in arrays]))
    assert shapes == [tuple(s) for s in SHAPES]
    assert dtypes == [np.dtype(dtype).name] * len(SHAPES)
    back = ops.reshape(*flat)
    assert len(back) == len(arrays)
    for a, b in zip(arrays, back):
        assert b.dtype == a.dtype and b.shape == a.shape
        np.testing.assert_array_equal(a, b)
        if a.dtype.kind == "f":  # bit for bit, signs of zero included
            assert a.tobytes() == b.tobytes()


def test_flatten_mixed_dtypes_and_strided_input(rng):
    base = rng.normal(size=(4, 6))
    arrays = [base[::2, ::3], np.asfortranarray(rng.normal(size=(3, 2)).astype(np.float32)),
              np.arange(5, dtype=np.int32), np.array(2 ** 53, dtype=np.int64)]
    flat = ops.flatten(arrays)
    assert flat.dtypes == ["float64", "float32", "int32", "int64"]
    assert flat.values[-1] == 2.0 ** 53
    back = ops.reshape(flat.values, flat.shapes, [np.float64, np.dtype("float32"), "int32", np.int64])
    for a, b in zip(arrays, back):
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(a, b)


def test_flatten_and_reshape_errors():
    with pytest.raises(tally.InvalidArgument, match=r"flatten: argument `tensors`\[1\] holds an int64 beyond 2\^53"):
        ops.flatten([np.zeros(2), np.array([2 ** 53 + 1], dtype=np.int64)])
    with pytest.raises(tally.ShapeError, match=r"reshape: argument `values` must hold 6 elements for the given shapes; "
                                               r"received 5"):
        ops.reshape(np.zeros(5), [(2, 3)], ["float32"])
    with pytest.raises(tally.InvalidArgument, match="must have equal lengths; received 1 and 2"):
        ops.reshape(np.zeros(6), [(2, 3)], ["float32", "int64"])
    with pytest.raises(tally.InvalidArgument, match=r"must be a list of arrays \(wrap one array as \[x\]\)"):
        ops.flatten(np.zeros((2, 3)))


@pytest.mark.parametrize("order", [1, 2, np.inf, 3.5])
def test_norms_match_numpy(rng, order):
    x = rng.normal(size=(5, 7)).astype(np.float32)
    y = rng.integers(-9, 9, size=11).astype(np.int64)
    expected = np.linalg.norm(x.astype(np.float64).ravel(), order)
    assert ops.norm(x, order) == pytest.approx(expected, rel=1e-12)
    both = np.concatenate([x.astype(np.float64).ravel(), y.astype(np.float64)])
    assert ops.global_norm([x, y], order) == pytest.approx(np.linalg.norm(both, order), rel=1e-12)
    assert ops.norm(x, "inf") == pytest.approx(np.abs(x).max())


class _DLPackOnly:
    """Exposes only __dlpack__, as a CPU torch tensor does."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, stream=None):
        return self._array.__dlpack__()

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_lists_scalars_and_dlpack_objects_are_accepted(rng):
    assert ops.norm([3, 4]) == 5.0
    assert ops.norm(-2.5, 1) == 2.5
    x = rng.normal(size=(3, 4)).astype(np.float32)
    assert ops.norm(_DLPackOnly(x)) == pytest.approx(np.linalg.norm(x.astype(np.float64)), rel=1e-12)
    flat = ops.flatten([_DLPackOnly(x), [1, 2, 3]])
    assert flat.dtypes == ["float32", "int64"]
    np.testing.assert_array_equal(ops.reshape(*flat)[0], x)
    np.testing.assert_array_equal(privacy.add_gaussian_noise(_DLPackOnly(x), 1.0, seed=1),
                                  privacy.add_gaussian_noise(x, 1.0, seed=1))


def test_norm_order_below_one_is_an_error():
    with pytest.raises(tally.InvalidArgument, match=r"norm: argument `order` must be >= 1 or infinity; received 0\.5"):
        ops.norm(np.ones(3), 0.5)


def test_one_hot_matches_eye_indexing(rng):
    indices = rng.integers(0, 5, size=(3, 4)).astype(np.int32)
    out = ops.one_hot(indices, 5)
    assert out.dtype == np.float32 and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, np.eye(5, dtype=np.float32)[indices])
    with pytest.raises(tally.InvalidArgument, match=r"must be in \[0, 5\); received 5 at flat index 1"):
        ops.one_hot(np.array([0, 5]), 5)
    with pytest.raises(tally.DTypeError, match="one_hot: argument `indices` must be integral"):
        ops.one_hot(np.array([0.0, 1.0]), 5)


def test_concatenate_clone_and_get_shape(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 1))
    np.testing.assert_array_equal(ops.concatenate([a, b], axis=-1), np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(ops.concatenate([a, a]), np.concatenate([a, a]))
    with pytest.raises(tally.ShapeError, match="concatenate: shapes must match except on axis 0"):
        ops.concatenate([a, b], axis=0)
    with pytest.raises(tally.DTypeError, match="must share a dtype"):
        ops.concatenate([a, a.astype(np.float32)], axis=0)
    copies = ops.clone([a, b])
    copies[0][0, 0] = 99.0
    assert a[0, 0] != 99.0
    assert ops.get_shape(np.zeros((4, 0, 2))) == (4, 0, 2)


def test_assign_variable_in_place():
    ref = np.zeros((2, 2), np.float32)
    out = ops.assign_variable(ref, np.full((2, 2), 1.5, np.float32))
    assert out is ref
    np.testing.assert_array_equal(ref, np.full((2, 2), 1.5))
    with pytest.raises(tally.ShapeError, match=r"assign_variable: argument `value` must match the reference "
                                               r"float32\[2, 2\]; received float64\[2, 2\]"):
        ops.assign_variable(ref, np.zeros((2, 2)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exponential_moving_average_update_in_place(rng, dtype):
    variables = [rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=4).astype(dtype)]
    emas = [rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=4).astype(dtype)]
    before = [e.copy() for e in emas]
    ids = [id(e) for e in emas]
    decay = 0.9
    ops.exponential_moving_average_update(variables, emas, decay)
    assert [id(e) for e in emas] == ids
    for v, e, old in zip(variables, emas, before):
        o, vv = old.astype(np.float64), v.astype(np.float64)
        expected = (o - (1.0 - decay) * (o - vv)).astype(dtype)
        assert e.dtype == dtype
        np.testing.assert_array_equal(e, expected)
    with pytest.raises(tally.ShapeError, match="must be floating and match variable"):
        ops.exponential_moving_average_update([np.zeros(3)], [np.zeros(3, np.int32)], 0.5)


def _bfloat16_round(x32):
    """Round-to-nearest-even float32 -> bfloat16 -> float32 with integer bit operations."""
    bits = x32.view(np.uint32).astype(np.uint64)
    bias = 0x7FFF + ((bits >> 16) & 1)
    return ((bits + bias) & 0xFFFF0000).astype(np.uint32).view(np.float32)


def test_simulate_bfloat16_transport_rounds_to_nearest_even(rng):
    # 1 + 2^-8 lies halfway between bfloat16 1 and 1 + 2^-7: ties to even gives 1;
    # 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: ties to even gives 1 + 2^-6.
    ties = np.array([1.00390625, 1.01171875, -1.00390625, 1.0 + 2.0 ** -8 + 2.0 ** -20], np.float32)
    out = ops.simulate_bfloat16_transport([ties])[0]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.0, 1.015625, -1.0, 1.0078125])
    np.testing.assert_array_equal(out, _bfloat16_round(ties))

    x32 = (rng.normal(size=1000) * 10.0 ** rng.integers(-20, 20, size=1000)).astype(np.float32)
    x64 = rng.normal(size=(10, 10)) * 1e3
    out32, out64 = ops.simulate_bfloat16_transport([x32, x64])
    assert out32.tobytes() == _bfloat16_round(x32).tobytes()
    assert out64.dtype == np.float64
    np.testing.assert_array_equal(out64, _bfloat16_round(x64.astype(np.float32)).astype(np.float64))


def test_clip_by_global_norm():
    a, b = np.array([3.0, 4.0], np.float32), np.array([[12.0]])
    (ca, cb), n = ops.clip_by_global_norm([a, b], 6.5)
    assert n == 13.0
    assert ca.dtype == np.float32
    np.testing.assert_array_equal(ca, [1.5, 2.0])
    np.testing.assert_array_equal(cb, [[6.0]])
    (ua, ub), n = ops.clip_by_global_norm([a, b], 20.0)
    assert n == 13.0
    np.testing.assert_array_equal(ua, a)
    np.testing.assert_array_equal(ub, b)
    with pytest.raises(tally.InvalidArgument, match="clip_by_global_norm: argument `max_norm` must be >= 0"):
        ops.clip_by_global_norm([a], -1.0)


def test_grad_accumulation_schedule():
    s = ops.GradAccumulationState(5, 2)
    updates = []
    for _ in range(5):
        s.increment()
        updates.append(s.optimizer_should_update())
    assert updates == [False, True, False, True, True]
    assert s.steps == 5 and s.accumulation_steps == 2
    with pytest.raises(tally.InvalidArgument, match="must be > 0; received 0 and 2"):
        ops.GradAccumulationState(0, 2)


# --- noise ----------------------------------------------------------------------------

def test_gaussian_noise_is_reproducible_per_seed():
    x = np.arange(12.0).reshape(3, 4)
    a = privacy.add_gaussian_noise(x, 0.5, seed=7)
    b = privacy.add_gaussian_noise(x, 0.5, seed=7)
    c = privacy.add_gaussian_noise(x, 0.5, seed=8)
    assert a.shape == x.shape and a.dtype == np.float64
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, x)
    # Without a seed the OS seeds each call.
    assert not np.array_equal(privacy.add_gaussian_noise(x, 1.0), privacy.add_gaussian_noise(x, 1.0))


def test_noise_streams_of_lists_and_single_arrays_agree(rng):
    x, y = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=5)
    nx, ny = privacy.add_gaussian_noise([x, y], 1.0, seed=3)
    # Array t of a list uses stream t, C order: the same draws as the flat overload.
    np.testing.assert_array_equal(nx, privacy.add_gaussian_noise(x, 1.0, seed=3))
    np.testing.assert_array_equal(ny, privacy.add_gaussian_noise(y, 1.0, seed=3, stream=1))
    lx, ly = privacy.add_laplacian_noise((x, y), 2.0, seed=3)
    np.testing.assert_array_equal(ly, privacy.add_laplacian_noise(y, 2.0, seed=3, stream=1))
    assert nx.dtype == np.float64 and nx.shape == (2, 3)


def test_noise_moments_over_a_million_draws():
    n = 1_000_000
    z = privacy.add_gaussian_noise(np.full(n, 5.0), 2.0, seed=11)
    # Standard error of the mean 2e-3, of the std about 1.4e-3: 5 sigma bounds.
    assert abs(z.mean() - 5.0) < 0.01
    assert abs(z.std() - 2.0) < 0.007
    assert abs(np.mean(np.abs(z - 5.0) > 2.0) - 0.3173) < 0.003
    lap = privacy.add_laplacian_noise(np.zeros(n), 1.5, seed=11)
    assert abs(lap.mean()) < 0.011
    assert abs(lap.std() - 1.5 * math.sqrt(2.0)) < 0.015
    assert abs(np.median(np.abs(lap)) - 1.5 * math.log(2.0)) < 0.01


def test_seed_scope_nests_and_restores():
    x = np.zeros(6)
    assert privacy.current_seed() is None
    with privacy.SeedScope(42) as outer:
        assert outer.seed == 42 and privacy.current_seed() == 42
        a = privacy.add_gaussian_noise(x, 1.0)
        np.testing.assert_array_equal(a, privacy.add_gaussian_noise(x, 1.0, seed=42))
        with privacy.SeedScope(7):
            assert privacy.current_seed() == 7
            np.testing.assert_array_equal(privacy.add_gaussian_noise(x, 1.0),
                                          privacy.add_gaussian_noise(x, 1.0, seed=7))
            # An explicit seed beats the scope.
            np.testing.assert_array_equal(privacy.add_gaussian_noise(x, 1.0, seed=42), a)
        assert privacy.current_seed() == 42
        with privacy.SeedScope(None):
            assert privacy.current_seed() is None
        with pytest.raises(RuntimeError):
            with privacy.SeedScope(9):
                raise RuntimeError("inside")
        assert privacy.current_seed() == 42
        np.testing.assert_array_equal(privacy.add_gaussian_noise(x, 1.0), a)
        assert privacy.resolve_seed() == 42
    assert privacy.current_seed() is None
    assert privacy.resolve_seed(5) == 5


def test_seed_scope_is_per_thread():
    x = np.zeros(4)
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def other():
        with privacy.SeedScope(99):
            entered.set()
            release.wait(10)
            seen["other"] = (privacy.current_seed(), privacy.add_gaussian_noise(x, 1.0))

    t = threading.Thread(target=other)
    with privacy.SeedScope(1):
        t.start()
        entered.wait(10)
        # The other thread's scope is active now and does not leak into this one.
        assert privacy.current_seed() == 1
        mine = privacy.add_gaussian_noise(x, 1.0)
        release.set()
        t.join(10)
    assert seen["other"][0] == 99
    np.testing.assert_array_equal(seen["other"][1], privacy.add_gaussian_noise(x, 1.0, seed=99))
    np.testing.assert_array_equal(mine, privacy.add_gaussian_noise(x, 1.0, seed=1))


def test_seed_must_be_a_non_negative_integer():
    with pytest.raises(tally.InvalidArgument, match=r"argument `seed` must be None or an integer in \[0, 2\*\*64\); "
                                                     r"received -1"):
        privacy.add_gaussian_noise(np.zeros(2), 1.0, seed=-1)
    with pytest.raises(tally.InvalidArgument, match="received 1.5"):
        privacy.SeedScope(1.5)
    np.testing.assert_array_equal(privacy.add_gaussian_noise(np.zeros(2), 1.0, seed=np.uint64(2 ** 64 - 1)),
                                  privacy.add_gaussian_noise(np.zeros(2), 1.0, seed=2 ** 64 - 1))


def test_noise_scale_errors_carry_the_cpp_message():
    with pytest.raises(tally.InvalidArgument, match=r"add_gaussian_noise: argument `stddev` must be finite and >= 0; "
                                                     r"received -1\.0"):
        privacy.add_gaussian_noise(np.zeros(3), -1.0, seed=1)
    with pytest.raises(tally.InvalidArgument, match="add_laplacian_noise: argument `scale` must be finite and >= 0"):
        privacy.add_laplacian_noise([np.zeros(3)], float("nan"), seed=1)
    with pytest.raises(ValueError, match="GaussianMechanism: argument `stddev` must be finite and >= 0"):
        privacy.GaussianMechanism.from_stddev(-0.5)
    with pytest.raises(tally.InvalidArgument, match="LaplaceMechanism: argument `scale` must be finite and >= 0"):
        privacy.LaplaceMechanism.from_scale(-2.0)


# --- calibration and clipping ---------------------------------------------------------

def test_analytic_gaussian_sigma():
    # tests/fixtures/privacy.json (independent bisection on sigma) and Balle and Wang 2018.
    assert privacy.analytic_gaussian_sigma(1.0, 1e-5, 1.0) == pytest.approx(3.730631634815938, rel=1e-6)
    assert privacy.analytic_gaussian_sigma(0.5, 1e-5, 1.0) == pytest.approx(7.031826675582501, rel=1e-6)
    assert privacy.analytic_gaussian_sigma(1.0, 1e-3, 2.0) == pytest.approx(5.1493140372744115, rel=1e-6)
    g = privacy.GaussianMechanism.from_budget(epsilon=1.0, delta=1e-5, l2_sensitivity=1.0)
    assert round(g.stddev, 4) == 3.7306
    assert repr(g).startswith("GaussianMechanism(stddev=3.7306")
    assert privacy.LaplaceMechanism.from_budget(0.5, 2.0).scale == 4.0
    assert privacy.standard_normal_cdf(1.959963984540054) == pytest.approx(0.975, abs=1e-12)


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("inf")])
def test_epsilon_must_be_positive(epsilon):
    with pytest.raises(tally.InvalidArgument, match="analytic_gaussian_sigma: argument `epsilon` must be > 0"):
        privacy.GaussianMechanism.from_budget(epsilon, 1e-5, 1.0)
    with pytest.raises(tally.InvalidArgument, match="LaplaceMechanism: argument `epsilon` must be > 0"):
        privacy.LaplaceMechanism.from_budget(epsilon, 1.0)


@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, 1.5])
def test_delta_must_be_in_open_unit_interval(delta):
    with pytest.raises(tally.InvalidArgument, match=r"argument `delta` must be in \(0, 1\)"):
        privacy.analytic_gaussian_sigma(1.0, delta, 1.0)


def test_clip_by_norm_and_sum_clipped():
    np.testing.assert_allclose(privacy.clip_by_norm([3.0, 4.0], 1.0), [0.6, 0.8], rtol=1e-15)
    np.testing.assert_allclose(privacy.clip_by_norm(np.array([3.0, -4.0]), 3.5, "l1"), [1.5, -2.0], rtol=1e-15)
    np.testing.assert_array_equal(privacy.clip_by_norm([0.3, 0.4], 1.0), [0.3, 0.4])
    total = privacy.sum_clipped([np.array([3.0, 4.0]), np.array([0.1, 0.2]), np.array([0.0, -10.0])], 1.0,
                                privacy.NormOrder.L2)
    np.testing.assert_allclose(total, [0.6 + 0.1, 0.8 + 0.2 - 1.0], atol=1e-15)
    with pytest.raises(tally.ShapeError, match="sum_clipped: argument `contributions` must have equal lengths"):
        privacy.sum_clipped([np.zeros(2), np.zeros(3)], 1.0)
    with pytest.raises(tally.InvalidArgument, match='argument `order` must be "l1", "l2"'):
        privacy.clip_by_norm([1.0], 1.0, "linf")


# --- private release of states --------------------------------------------------------

def test_privatize_vector():
    mech = privacy.GaussianMechanism.from_stddev(0.25)
    v = np.array([10.0, 20.0, 30.0])
    noisy = privacy.privatize(v, mech, seed=4)
    np.testing.assert_array_equal(noisy, privacy.add_gaussian_noise(v, 0.25, seed=4))
    np.testing.assert_array_equal(noisy, mech.apply(v, seed=4))
    lap = privacy.LaplaceMechanism.from_scale(0.5)
    np.testing.assert_array_equal(privacy.privatize(v, lap, seed=4), privacy.add_laplacian_noise(v, 0.5, seed=4))
    with pytest.raises(tally.InvalidArgument, match="argument `mechanism` must be a GaussianMechanism"):
        privacy.privatize(v, 0.25)


def test_privatize_metric_state_is_a_plausible_reproducible_estimate(rng):
    m = tally.metrics.Mean()
    values = rng.uniform(0.0, 1.0, size=5000)
    m.update_state(values)
    state = m.state()
    mech = privacy.GaussianMechanism.from_budget(1.0, 1e-5, 1.0)
    noisy = privacy.privatize(state, mech, seed=21)
    assert isinstance(noisy, tally.State)
    assert noisy.result() != state.result()
    # total and count each move by N(0, 3.73^2): the mean moves by about 3.73 * 1.1 / 5000.
    assert abs(noisy.result() - values.mean()) < 5 * mech.stddev * 1.2 / 5000
    again = privacy.privatize(state, mech, seed=21)
    assert again.to_vector().tobytes() == noisy.to_vector().tobytes()
    assert not np.array_equal(privacy.privatize(state, mech, seed=22).to_vector(), noisy.to_vector())
    # Mean's variables are float64: nothing to round, the draw is the flat vector's.
    np.testing.assert_array_equal(noisy.to_vector(), mech.apply(state.to_vector(), seed=21))
    # The original state is untouched.
    assert state.result() == pytest.approx(values.mean(), rel=1e-12)


def test_privatize_rounds_int64_counts():
    m = tally.metrics.Precision()
    m.update_state([1, 0, 1, 1, 0, 1], [0.9, 0.8, 0.7, 0.2, 0.1, 0.6])
    state = m.state()
    mask = privacy._count_mask(state)
    assert mask.any() and not mask.all()  # int64 counts and float64 weighted counts
    mech = privacy.GaussianMechanism.from_stddev(3.0)
    noisy = privacy.privatize(state, mech, seed=5)
    raw = mech.apply(state.to_vector(), seed=5)
    v = noisy.to_vector()
    np.testing.assert_array_equal(v[mask], np.rint(raw[mask]))
    np.testing.assert_array_equal(v[~mask], raw[~mask])
    assert np.all(v[mask] == np.floor(v[mask]))
    assert np.any(raw[mask] != np.floor(raw[mask]))


class _Hits(tally.Metric):
    """A Python metric with an int64 count, to privatise inside a collection."""

    def __init__(self, name="hits"):
        super().__init__(name=name)
        self.hits = self.add_variable(shape=(), dtype="int64", name="hits")
        self.total = self.add_variable(shape=(), name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.hits.assign_add(int(np.sum(np.asarray(y_true) == np.round(np.asarray(y_pred)))))
        self.total.assign_add(float(np.size(y_true)))

    def result(self):
        return float(self.hits.value) / max(float(self.total.value), 1.0)


def test_privatize_collection_state_is_one_draw_over_the_concatenation():
    y_true, y_pred = np.array([1, 0, 1, 1]), np.array([0.8, 0.3, 0.4, 0.9])
    c = tally.MetricCollection(["binary_accuracy", tally.metrics.Precision(), "mse"])
    c.update_state(y_true, y_pred)
    states = c.state()
    mech = privacy.GaussianMechanism.from_stddev(2.0)
    noisy = privacy.privatize(states, mech, seed=13)
    assert isinstance(noisy, list) and len(noisy) == 3
    assert all(isinstance(s, tally.State) for s in noisy)
    flat = np.concatenate([s.to_vector() for s in states])
    raw = mech.apply(flat, seed=13)
    mask = np.concatenate([privacy._count_mask(s) for s in states])
    expected = np.where(mask, np.rint(raw), raw)
    np.testing.assert_array_equal(np.concatenate([s.to_vector() for s in noisy]), expected)
    # The first member sees the first slice of the single draw, so it matches a lone release.
    np.testing.assert_array_equal(noisy[0].to_vector(), privacy.privatize(states[0], mech, seed=13).to_vector())
    again = privacy.privatize(tuple(states), mech, seed=13)
    assert isinstance(again, tuple)
    for a, b in zip(again, noisy):
        assert a.to_vector().tobytes() == b.to_vector().tobytes()

    # With a Python-written member the same single draw is taken in Python.
    mixed = tally.MetricCollection(["binary_accuracy", _Hits()])
    mixed.update_state(y_true, y_pred)
    mstates = mixed.state()
    mnoisy = privacy.privatize(mstates, mech, seed=13)
    mflat = np.concatenate([s.to_vector() for s in mstates])
    mraw = mech.apply(mflat, seed=13)
    got = np.concatenate([s.to_vector() for s in mnoisy])
    n0 = states[0].to_vector().size
    np.testing.assert_array_equal(got[:n0], noisy[0].to_vector())  # same binary_accuracy slice, same draw
    np.testing.assert_array_equal(got[n0:], [np.rint(mraw[n0]), mraw[n0 + 1]])
    assert isinstance(mnoisy[1].result(), float)
    # A lone Python metric state works too.
    lone = privacy.privatize(mstates[1], mech, seed=13)
    lraw = mech.apply(mstates[1].to_vector(), seed=13)
    np.testing.assert_array_equal(lone.to_vector(), [np.rint(lraw[0]), lraw[1]])


# --- docs -----------------------------------------------------------------------------

def test_docs_example_runs():
    docs = pathlib.Path(__file__).resolve().parents[2] / "docs" / "python.md"
    text = docs.read_text()
    section = text.split("## Ops and private release", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, str(docs), "exec"), namespace)  # the example asserts its own figures
