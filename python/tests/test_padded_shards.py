"""Padded shards counted once: ``tally.distributed_shard`` (no padding) and
``sampler_valid_rows`` + ``update_state(..., valid_rows=)``, which drop the repeats torch's
DistributedSampler adds, so every world size gives one process's result on the unpadded
data. Workers are simulated in one process (their states merged, as all_reduce_metrics
sums them); the multi-process runs are python/tests_engines/test_torch_distributed.py."""
import numpy as np
import pytest

import tally

ROWS = 10


class _Rank(tally.DistributedContext):
    """A context that only knows its place: enough for sharding."""

    def __init__(self, rank, world):
        self._rank, self._world = rank, world

    global_rank = local_rank = property(lambda self: self._rank)
    world_size = local_size = property(lambda self: self._world)


class _Count(tally.Metric):
    def __init__(self):
        super().__init__(name="count")
        self.rows = self.add_weight("rows", dtype="int64")
        self.total = self.add_weight("total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.rows.assign_add(len(y_true))
        self.total.assign_add(float(np.sum(np.asarray(y_pred))))

    def result(self):
        return float(self.total.value)


def _data(rng):
    y = (rng.random(ROWS) < 0.5).astype(np.float64)
    p = rng.random(ROWS)
    w = rng.integers(1, 5, ROWS).astype(np.float64)
    return y, p, w


def _metrics():
    return tally.MetricCollection(["binary_accuracy", "auc", "mse", _Count()])


def test_distributed_shard_splits_contiguously_without_padding():
    assert [tally.distributed_shard(10, _Rank(r, 4)) for r in range(4)] == [range(0, 3), range(3, 6), range(6, 8),
                                                                             range(8, 10)]
    assert [tally.distributed_shard(2, _Rank(r, 3)) for r in range(3)] == [range(0, 1), range(1, 2), range(2, 2)]
    assert tally.distributed_shard(np.int64(4), tally.NotDistributedContext()) == range(0, 4)
    with pytest.raises(tally.InvalidArgument, match=r"distributed_shard: dataset_length must be >= 0; received -1"):
        tally.distributed_shard(-1, _Rank(0, 2))
    with pytest.raises(tally.InvalidArgument, match="dataset_length must be an integer; received float"):
        tally.distributed_shard(4.0, _Rank(0, 2))


@pytest.mark.parametrize("world", [1, 2, 3, 4, 5, 7, 12])
def test_shards_merge_to_one_process(world, rng):
    y, p, w = _data(rng)
    single = _metrics()
    single.update_state(y, p, w)
    merged = _metrics()
    for r in range(world):
        rows = tally.distributed_shard(ROWS, _Rank(r, world))
        if len(rows):  # more workers than rows: this one has nothing to add
            part = _metrics()
            part.update_state(y[rows.start:rows.stop], p[rows.start:rows.stop], w[rows.start:rows.stop])
            merged.merge_state(part)
    np.testing.assert_allclose(merged.to_vector(), single.to_vector(), rtol=1e-12, atol=0)
    assert int(merged["count"].rows.value) == ROWS


@pytest.mark.parametrize("world", [2, 3, 4, 5, 7])
@pytest.mark.parametrize("shuffle", [False, True])
def test_valid_rows_drop_distributed_sampler_padding(world, shuffle, rng):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler
    y, p, w = _data(rng)
    single = _metrics()
    single.update_state(y, p, w)
    padded, exact = _metrics(), _metrics()
    for r in range(world):
        sampler = DistributedSampler(range(ROWS), num_replicas=world, rank=r, shuffle=shuffle, seed=3)
        order = np.array(list(sampler))
        valid = tally.sampler_valid_rows(ROWS, _Rank(r, world))
        assert valid.shape == (len(sampler),)
        # the mask marks exactly the repeats: what is left is a partition of the dataset
        for batch in range(0, len(order), 3):  # batches of 3, the mask sliced alongside
            rows = order[batch:batch + 3]
            part_padded, part_exact = _metrics(), _metrics()
            part_padded.update_state(torch.from_numpy(y[rows]), torch.from_numpy(p[rows]), torch.from_numpy(w[rows]))
            part_exact.update_state(torch.from_numpy(y[rows]), torch.from_numpy(p[rows]), torch.from_numpy(w[rows]),
                                    valid_rows=valid[batch:batch + 3])
            padded.merge_state(part_padded)
            exact.merge_state(part_exact)
    np.testing.assert_allclose(exact.to_vector(), single.to_vector(), rtol=1e-12, atol=0)
    assert int(exact["count"].rows.value) == ROWS
    assert int(padded["count"].rows.value) == ROWS + (-ROWS % world)  # the pitfall valid_rows avoids


def test_sampler_valid_rows_positions():
    # 10 rows over 4 ranks: padded positions 10, 11 are rank 2's and rank 3's last samples
    masks = [tally.sampler_valid_rows(10, _Rank(r, 4)).tolist() for r in range(4)]
    assert masks == [[True, True, True], [True, True, True], [True, True, False], [True, True, False]]
    assert tally.sampler_valid_rows(10, _Rank(3, 4), drop_last=True).tolist() == [True, True]
    with pytest.raises(tally.InvalidArgument, match=r"sampler_valid_rows: dataset_length must be an integer >= 0"):
        tally.sampler_valid_rows(-3, _Rank(0, 2))


def test_valid_rows_on_every_kind_of_metric(rng):
    y, p, w = _data(rng)
    keep = np.arange(ROWS) % 3 != 0
    for make in (lambda: tally.metrics.BinaryAccuracy(), lambda: _Count(), _metrics):
        masked, reference = make(), make()
        masked.update_state(y, p, w, valid_rows=keep)
        reference.update_state(y[keep], p[keep], w[keep])
        np.testing.assert_array_equal(masked.to_vector(), reference.to_vector())
        nothing = make()
        nothing.update_state(y, p, valid_rows=np.zeros(ROWS, bool))  # an all-padding batch adds nothing
        assert not np.any(nothing.to_vector())
    mean, reference = tally.metrics.Mean(), tally.metrics.Mean()
    mean.update_state(p, sample_weight=w, valid_rows=keep)
    reference.update_state(p[keep], sample_weight=w[keep])
    assert mean.result() == reference.result()
    m = tally.metrics.BinaryAccuracy()
    with pytest.raises(tally.ShapeError, match="binary_accuracy: valid_rows has 9 entries but y_true has 10 rows"):
        m.update_state(y, p, valid_rows=keep[:9])
    with pytest.raises(tally.DTypeError, match="valid_rows must be a boolean mask over the batch's rows; received "
                                               "dtype int64"):
        m.update_state(y, p, valid_rows=np.arange(ROWS))
    assert m.to_vector().tolist() == [0.0, 0.0]


def test_torch_context_needs_a_process_group():
    dist = pytest.importorskip("torch.distributed")
    if dist.is_initialized():
        pytest.skip("a process group is already initialised in this process")
    with pytest.raises(tally.DistributedError, match=r"TorchDistributedContext: torch.distributed has no process "
                                                    r"group; call torch.distributed.init_process_group\(...\) first"):
        tally.TorchDistributedContext()
