"""torch tensors in through DLPack (no copies): float32, float16, bfloat16, float64 and
integer tensors, contiguous or not; results back as torch tensors (docs/python.md).
scripts/setup-debian.sh installs Debian's python3-torch so this runs in CI."""
import numpy as np
import pytest

import tally

torch = pytest.importorskip("torch")


def _mse(y, p):
    m = tally.metrics.MeanSquaredError()
    m.update_state(y, p)
    return m.result()


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_float_tensors_match_numpy(dtype):
    g = torch.Generator().manual_seed(3)
    y = torch.rand(257, generator=g).to(getattr(torch, dtype))
    p = torch.rand(257, generator=g).to(getattr(torch, dtype))
    # numpy has no bfloat16: the reference reads the same values widened to float64
    y64, p64 = y.to(torch.float64).numpy(), p.to(torch.float64).numpy()
    assert _mse(y, p) == pytest.approx(np.mean((y64 - p64) ** 2), rel=1e-12)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_and_bool_tensors(dtype):
    # torch 1.13 cannot export bool through DLPack: tally then reads it through numpy.
    y = torch.tensor([0, 1, 1, 0, 1], dtype=getattr(torch, dtype))
    p = torch.tensor([0.1, 0.9, 0.2, 0.3, 0.8], dtype=torch.float32)
    m = tally.metrics.BinaryAccuracy()
    m.update_state(y, p)
    assert m.result() == pytest.approx(0.8)


def test_non_contiguous_views_are_read_in_place():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(100, 3, generator=g)
    column = x[:, 1]
    assert not column.is_contiguous()
    m = tally.metrics.Mean()
    m.update_state(column)
    assert m.result() == pytest.approx(float(column.to(torch.float64).mean()), rel=1e-12)
    t = x.t()  # transposed 2-D view
    m2 = tally.metrics.Mean()
    m2.update_state(t)
    assert m2.result() == pytest.approx(float(x.to(torch.float64).mean()), rel=1e-12)
    stepped = torch.arange(20, dtype=torch.float16)[::3]
    m3 = tally.metrics.Sum()
    m3.update_state(stepped)
    assert m3.result() == float(sum(range(0, 20, 3)))


def test_results_back_as_torch_tensors():
    m = tally.metrics.Mean()
    m.update_state(torch.tensor([1.0, 2.0, 6.0]))
    scalar = torch.tensor(m.result(), dtype=torch.float64)
    assert scalar.dtype == torch.float64 and scalar.item() == 3.0
    f1 = tally.metrics.F1Score()
    f1.update_state(torch.eye(3), torch.eye(3))
    vector = torch.from_numpy(f1.result())
    assert vector.shape == (3,) and vector.dtype == torch.float64
    assert torch.allclose(vector, torch.ones(3, dtype=torch.float64))  # Keras's epsilon keeps it just below 1


def test_metrics_pickle_through_torch_save(tmp_path):
    m = tally.metrics.AUC()
    m.update_state(torch.tensor([0, 1, 1]), torch.tensor([0.1, 0.9, 0.4]))
    torch.save({"auc": m}, tmp_path / "m.pt")
    back = torch.load(tmp_path / "m.pt")["auc"]
    assert back.result() == m.result() == 1.0
