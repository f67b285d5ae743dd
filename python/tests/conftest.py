"""Shared random inputs for the Python tests."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def catalog_names():
    import tally
    names = set()
    for row in tally.metrics.catalog():
        names.add(row["class_name"])
        names.update(row["aliases"])
    return names


def require(*names):
    """Skips a test until the catalog has every named metric."""
    missing = [n for n in names if n not in catalog_names()]
    if missing:
        pytest.skip(f"catalog lacks {', '.join(missing)}")
