"""tally.TorchDistributedContext on gloo with 2 and 3 processes (started here, bounded in
time, rendezvous through a FileStore): all_reduce_metrics equals one process on all rows,
DistributedSampler's padded repeats are dropped by valid_rows, a layout mismatch fails on
every rank, and a rank that fails makes every rank fail clearly within seconds."""
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

from engine_data import ROWS, collection, dataset

pytest.importorskip("torch.distributed")

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "torch_worker.py"


def _launch(mode, world, tmp_path, limit):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    init = tmp_path / "rendezvous"
    procs = [subprocess.Popen([sys.executable, str(WORKER), mode, str(r), str(world), str(init),
                               str(tmp_path / f"rank{r}.json")], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for r in range(world)]
    start = time.monotonic()
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=max(1.0, limit - (time.monotonic() - start)))
            outputs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return [p.returncode for p in procs], outputs, time.monotonic() - start


def _single_process():
    y, p, w = dataset(ROWS)
    metrics = collection()
    metrics.update_state(y, p, w)
    return metrics.to_vector()


@pytest.mark.parametrize("world, failure, expected", [
    (2, "signal", "rank 1 failed: caught a bad batch"),
    (3, "uncaught", "rank 1 failed: uncaught RuntimeError: rank one's data is unreadable"),
    (3, "stall", "timed out after 4 s waiting for the other ranks"),
])
def test_gloo_all_reduce_equals_one_process_and_a_failing_rank_fails_all(world, failure, expected, tmp_path):
    codes, outputs, _ = _launch(failure, world, tmp_path, limit=150)
    joined = "\n".join(outputs)
    single = _single_process()
    for r in range(world):
        got = json.loads((tmp_path / f"rank{r}.json").read_text())
        # contiguous shards: counts exact, float sums within rounding
        np.testing.assert_allclose(got["shard"], single, rtol=1e-12, atol=0)
        # the sampler's path with valid_rows equals one process too; without, the repeats count
        np.testing.assert_allclose(got["exact"], single, rtol=1e-12, atol=0)
        padded, exact = collection(), collection()
        padded.from_vector(np.asarray(got["padded"]))
        exact.from_vector(np.asarray(got["exact"]))
        assert int(padded["max_abs_error"].count.value) == ROWS + (-ROWS % world)
        assert int(exact["max_abs_error"].count.value) == ROWS
        assert padded.to_vector()[0] != exact.to_vector()[0]  # the repeats do change the state
        assert got["layout_error"] is not None and "ranks hold different metrics" in got["layout_error"], got
        assert got["failed"] is False  # a layout mismatch leaves the context usable
        assert got["repr"] == f"<tally.TorchDistributedContext rank {r} of {world} on gloo/cpu>"
    # then rank 1 failed: every process exits non-zero, the others name rank 1's failure
    assert all(c != 0 for c in codes), (codes, joined)
    for r in range(world):
        if r == 1 and failure != "stall":
            continue
        got = json.loads((tmp_path / f"rank{r}.json.fail").read_text())
        assert got["error"].startswith(f"torch.distributed: all_reduce on rank {r} "), got
        assert got["failed"] is True
        if r == 1:  # the late rank finds the deadline's notice and is refused
            assert "abandoned: rank 0 all_reduce timed out" in got["error"] or \
                "abandoned: rank 2 all_reduce timed out" in got["error"], got
            continue
        assert expected in got["error"], (got, joined)
        assert got["seconds"] < 15, got  # a notice arrives at once; the deadline is 4 s
    if failure == "uncaught":
        assert "RuntimeError: rank one's data is unreadable" in outputs[1]
