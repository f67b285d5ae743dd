#!/usr/bin/python3
"""End-to-end tests of `tally eval --slice` on the bundled breast cancer data: per-slice
values equal scikit-learn on each slice's rows, crosses, --min-slice-size, --sort-slices
(worst first), the HTML slice section, bad input (exit 2, one line), and mpirun -n 2 and 3
printing what one process prints.

Usage: test_cli_sliced.py TALLY_BINARY EXAMPLES_DATA_DIR. Prints "N passed, N failed"."""
import csv
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.metrics import accuracy_score, log_loss

from cli_runner import run_tests

TALLY = sys.argv[1]
DATA = sys.argv[2]
TMP = tempfile.mkdtemp(prefix="tally_cli_sliced_")
RESULTS = {"passed": 0, "failed": 0, "skipped": 0}
Y = os.path.join(DATA, "breast_cancer_y_true.npy")
P = os.path.join(DATA, "breast_cancer_y_pred.npy")
S = os.path.join(DATA, "breast_cancer_slices.csv")
BASE = ["eval", "--y-true", Y, "--y-pred", P, "-m", "binary_accuracy", "-m", "binary_crossentropy", "-m", "auc"]


def run(*args, timeout=120):
    proc = subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def evaluate(*args):
    code, out, err = run(*BASE, *args, "--format", "json")
    assert code == 0, f"exit {code}: {err}"
    return json.loads(out)


def columns():
    with open(S, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([r["size"] for r in rows]), np.array([int(r["texture"]) for r in rows])


def test_each_slice_equals_sklearn_on_its_rows():
    y, p = np.load(Y), np.load(P).astype(np.float64)
    size, texture = columns()
    out = evaluate("--slice", S + ":size", "--slice", S + ":texture", "--cross", "size,texture")
    slices = out["slices"]
    assert len(slices) == 3 + 4 + 12, sorted(slices)
    for name, mask in [("size=large", size == "large"), ("texture=0", texture == 0),
                       ("size=small,texture=3", (size == "small") & (texture == 3))]:
        got = slices[name]
        assert got["samples"] == int(mask.sum()), (name, got)
        assert abs(got["metrics"]["binary_accuracy"] - accuracy_score(y[mask], p[mask] > 0.5)) < 1e-9
        if len(set(y[mask])) == 2:
            want = log_loss(y[mask], np.clip(p[mask], 1e-7, 1 - 1e-7), labels=[0, 1])
            assert abs(got["metrics"]["binary_crossentropy"] - want) < 1e-6, (name, got, want)
    assert sum(slices[f"size={v}"]["samples"] for v in ["small", "medium", "large"]) == out["samples"]
    # the overall metrics are unchanged by slicing
    assert out["metrics"] == evaluate()["metrics"]


def test_min_slice_size_and_sorted_table():
    out = evaluate("--slice", S + ":size", "--slice", S + ":texture", "--cross", "size,texture",
                   "--min-slice-size", "40")
    assert all(v["samples"] >= 40 for v in out["slices"].values())
    assert len(out["slices"]) < 19
    code, table, err = run(*BASE, "--slice", S + ":size", "--slice", S + ":texture", "--sort-slices",
                           "binary_accuracy")
    assert code == 0, err
    lines = table.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("slice "))
    rows = [l.split() for l in lines[start + 2:] if l and not l.startswith("(")]
    acc_col = lines[start].split().index("binary_accuracy")
    accuracies = [float(r[acc_col]) for r in rows]
    assert accuracies == sorted(accuracies), accuracies  # worst first
    assert "worst binary_accuracy first" in table
    # lower-is-better metrics sort descending (worst first too)
    code, table, _ = run(*BASE, "--slice", S + ":size", "--sort-slices", "binary_crossentropy")
    lines = table.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("slice "))
    col = lines[start].split().index("binary_crossentropy")
    losses = [float(l.split()[col]) for l in lines[start + 2:] if l and not l.startswith("(")]
    assert losses == sorted(losses, reverse=True), losses


class Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_has_a_slice_table_and_chart():
    report = os.path.join(TMP, "r.html")
    code, _, err = run(*BASE, "--slice", S + ":size", "--sort-slices", "auc", "--report", report)
    assert code == 0, err
    parser = Collect()
    with open(report) as f:
        parser.feed(f.read())
    text = "".join(parser.text)
    assert "Slices" in text and "size=large" in text and "auc per slice" in text
    rects = [a for t, a in parser.tags if t == "rect" and "fill" in a and a["fill"] == "#4c78a8"]
    assert len(rects) >= 3
    assert any(t == "line" and a.get("stroke-dasharray") for t, a in parser.tags)  # the overall mark


def fails_with(args, expected):
    code, out, err = run(*args)
    assert code == 2, (args, code, err)
    assert out == "", (args, out)
    assert err.count("\n") == 1 and expected in err, (args, err)


def test_bad_slice_input_exits_2_with_one_line():
    short = os.path.join(TMP, "short.csv")
    with open(short, "w") as f:
        f.write("g\n" + "a\n" * 10)
    fails_with([*BASE, "--slice", short], "10 rows, but --y-true")
    missing = os.path.join(TMP, "missing.csv")
    with open(missing, "w") as f:
        f.write("g\n" + "a\n" * 568 + "\n".replace("\n", "nan\n"))
    fails_with([*BASE, "--slice", missing], "missing slice value")
    fails_with([*BASE, "--slice", S], "2 columns; choose the slice column")
    fails_with([*BASE, "--slice", S + ":nope"], "no column")
    fails_with([*BASE, "--slice", S + ":size", "--cross", "size,colour"], 'unknown feature "colour"')
    fails_with([*BASE, "--slice", S + ":size", "--max-slices", "2"], "more than max_slices=2")
    fails_with([*BASE, "--slice", S + ":size", "--sort-slices", "f1"], '--sort-slices: no metric "f1"')
    fails_with([*BASE, "--cross", "a,b"], "--cross needs the --slice columns")
    halves = os.path.join(TMP, "halves.npy")
    np.save(halves, np.linspace(0, 1, 569))
    fails_with([*BASE, "--slice", halves], "is not an integer (bin the feature first)")


def test_mpirun_output_equals_one_process():
    mpirun = shutil.which("mpirun")
    code, out, _ = run("--version")
    if mpirun is None or "mpi: ON" not in out:
        RESULTS["skipped"] += 1
        print("  SKIP mpirun: tally was built without MPI or mpirun is missing")
        return
    # 569 rows in batches of 50: with 3 ranks each rank sees a different share of the slices.
    args = [*BASE, "--slice", S + ":size", "--slice", S + ":texture", "--cross", "size,texture", "--batch-size",
            "50", "--format", "json"]
    _, single, _ = run(*args)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1")
    for ranks in (2, 3):
        proc = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), TALLY, *args],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == single, (ranks, proc.stdout, single)


def main():
    return run_tests(globals(), RESULTS, TMP)


if __name__ == "__main__":
    sys.exit(main())
