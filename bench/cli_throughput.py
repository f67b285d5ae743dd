#!/usr/bin/python3
"""Times `tally eval` on a large binary problem against the I/O floor.

Writes a ROWS-row pair of .npy files (uint8 labels, float32 scores; default 1e8 rows,
500 MB, not committed) into a scratch folder, times `cat` over the same files (the I/O
floor: read the bytes, do nothing), then `tally eval` with AUC, BinaryAccuracy, Precision
and Recall in one pass. Prints rows per second for both, from one run.

Usage: bench/cli_throughput.py TALLY_BINARY [ROWS] [SCRATCH_DIR]"""
import os
import subprocess
import sys
import time

import numpy as np


def main():
    tally = sys.argv[1]
    rows = int(float(sys.argv[2])) if len(sys.argv) > 2 else 100_000_000
    scratch = sys.argv[3] if len(sys.argv) > 3 else "/tmp/tally_throughput"
    os.makedirs(scratch, exist_ok=True)
    y_true = os.path.join(scratch, f"y_true_{rows}.npy")
    y_pred = os.path.join(scratch, f"y_pred_{rows}.npy")
    if not (os.path.exists(y_true) and os.path.exists(y_pred)):
        rng = np.random.default_rng(0)
        labels = np.lib.format.open_memmap(y_true, mode="w+", dtype=np.uint8, shape=(rows,))
        scores = np.lib.format.open_memmap(y_pred, mode="w+", dtype=np.float32, shape=(rows,))
        step = 10_000_000
        for start in range(0, rows, step):
            n = min(step, rows - start)
            lab = rng.random(n) < 0.3
            labels[start:start + n] = lab
            scores[start:start + n] = np.clip(rng.normal(0.35 + 0.3 * lab, 0.2), 0, 1)
        labels.flush()
        scores.flush()
        del labels, scores
    size = os.path.getsize(y_true) + os.path.getsize(y_pred)

    t0 = time.perf_counter()
    subprocess.run(f"cat {y_true} {y_pred} > /dev/null", shell=True, check=True)
    cat_seconds = time.perf_counter() - t0

    args = [tally, "eval", "--y-true", y_true, "--y-pred", y_pred, "-m", "auc", "-m", "binary_accuracy", "-m",
            "precision", "-m", "recall", "--format", "json"]
    t0 = time.perf_counter()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    tally_seconds = time.perf_counter() - t0
    print(f"rows: {rows:.3g}, bytes: {size / 1e6:.0f} MB")
    print(f"cat (I/O floor): {cat_seconds:.2f} s, {rows / cat_seconds:.3g} rows/s")
    print(f"tally eval (auc, binary_accuracy, precision, recall): {tally_seconds:.2f} s, "
          f"{rows / tally_seconds:.3g} rows/s, {tally_seconds / cat_seconds:.2f}x the I/O floor")
    print(out.strip())


if __name__ == "__main__":
    main()
