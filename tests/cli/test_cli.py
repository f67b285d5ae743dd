#!/usr/bin/python3
"""End-to-end tests of the tally binary: every .npy variant numpy writes, CSV columns,
output formats, exit codes and one-line errors, scikit-learn agreement for the metrics
the catalog has, and the HTML report rendered by headless Chromium when it is installed.

Usage: test_cli.py TALLY_BINARY EXAMPLES_DATA_DIR. Prints "N passed, N failed"."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback
import zlib

import numpy as np

TALLY = sys.argv[1]
DATA = sys.argv[2]
TMP = tempfile.mkdtemp(prefix="tally_cli_")
RESULTS = {"passed": 0, "failed": 0, "skipped": 0}


def run(*args):
    proc = subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def evaluate(*args):
    code, out, err = run("eval", *args, "--format", "json")
    assert code == 0, f"exit {code}: {err}"
    return json.loads(out)


def path(name):
    return os.path.join(TMP, name)


def save(name, array, version=None):
    p = path(name)
    with open(p, "wb") as f:
        np.lib.format.write_array(f, array, version=version)
    return p


def known_metrics():
    code, out, _ = run("list", "--format", "json")
    assert code == 0
    catalog = json.loads(out)
    names = set()
    for entry in catalog["metrics"]:
        names.add(entry["class_name"])
        names.update(entry["names"])
    for fn in catalog["functions"]:
        names.add(fn["name"])
        names.update(fn["aliases"])
    return names


def test_npy_variants_give_numpy_means():
    rng = np.random.default_rng(0)
    base = rng.random(1001) * 10
    y_true = save("y_true.npy", np.zeros(1001, dtype=np.int64))
    dtypes = ["<f8", ">f8", "<f4", ">f4", "<f2", "<i4", ">i4", "<i8", "|u1", "|b1"]
    for dtype in dtypes:
        for version in [(1, 0), (2, 0), (3, 0)]:
            values = (base > 5) if dtype == "|b1" else base.astype(dtype)
            p = save(f"pred_{dtype[1:]}_{dtype[0] == '>'}_{version[0]}.npy", values, version)
            for batch in ["1000000", "7"]:
                got = evaluate("--y-true", y_true, "--y-pred", p, "-m", "mean", "--batch-size", batch)
                want = values.astype(np.float64).mean()
                assert got["samples"] == 1001
                assert abs(got["metrics"]["mean"] - want) <= 1e-12 * abs(want), (dtype, version, got, want)


def test_fortran_order_2d_matches_c_order():
    rng = np.random.default_rng(1)
    values = rng.random((300, 4))
    y_true = save("y_true300.npy", np.zeros(300))
    c = save("c.npy", np.ascontiguousarray(values))
    f = save("f.npy", np.asfortranarray(values))
    a = evaluate("--y-true", y_true, "--y-pred", c, "-m", "mean")["metrics"]["mean"]
    b = evaluate("--y-true", y_true, "--y-pred", f, "-m", "mean", "--batch-size", "13")["metrics"]["mean"]
    assert abs(a - values.mean()) < 1e-12 and abs(b - values.mean()) < 1e-12


def test_csv_columns_and_weights():
    p = path("data.csv")
    with open(p, "w") as f:
        f.write("label,score,w\n1,0.5,1\n0,0.25,3\n1,1.0,0\n")
    got = evaluate("--y-true", p + ":label", "--y-pred", p + ":score", "--sample-weight", p + ":2", "-m", "mean")
    assert abs(got["metrics"]["mean"] - (0.5 + 0.75) / 4) < 1e-15, got


def test_formats():
    args = ["--y-true", os.path.join(DATA, "diabetes_y_true.npy"), "--y-pred",
            os.path.join(DATA, "diabetes_y_pred.npy"), "-m", "mean", "-m",
            '{"class_name": "Sum", "config": {"name": "total"}}']
    code, out, _ = run("eval", *args, "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "metric,value" and out.splitlines()[2].startswith("total,"), out
    code, out, _ = run("eval", *args)
    assert code == 0 and "mean" in out and "442 samples" in out, out


def test_bad_input_exits_2_with_one_line():
    y = os.path.join(DATA, "diabetes_y_true.npy")
    p = os.path.join(DATA, "diabetes_y_pred.npy")
    nan = save("nan.npy", np.array([0.1, np.nan, 0.3]))
    short = save("short.npy", np.array([0.1, 0.2]))
    truncated = path("truncated.npy")
    with open(save("full.npy", np.arange(100.0)), "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[:-8])
    cases = [
        (["eval", "--y-true", y, "--y-pred", p, "-m", "no_such_metric"], "unknown metric"),
        (["eval", "--y-true", y, "--y-pred", short, "-m", "mean"], "short.npy: 2 rows"),
        (["eval", "--y-true", short, "--y-pred", nan, "-m", "mean"], "nan.npy: 3 rows"),
        (["eval", "--y-true", save("y3.npy", np.zeros(3)), "--y-pred", nan, "-m", "mean"], "NaN in predictions"),
        (["eval", "--y-true", y, "--y-pred", path("missing.npy"), "-m", "mean"], "missing.npy"),
        (["eval", "--y-true", truncated, "--y-pred", truncated, "-m", "mean"], "truncated"),
        (["eval", "--y-true", y, "--y-pred", p, "-m", "mean", "--format", "xml"], "--format"),
        (["eval", "--y-true", y, "--y-pred", p, "-m", '{"class_name": "Mean", "config": {"bad": 1}}'],
         "unknown config key"),
        (["eval", "--y-pred", p], "--y-true"),
    ]
    for args, expected in cases:
        code, out, err = run(*args)
        assert code == 2, (args, code, err)
        assert out == "", (args, out)
        assert err.count("\n") == 1 and expected in err, (args, err)


def test_version_and_list():
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("tally ")
    assert "Mean" in known_metrics()


def test_sklearn_agreement_where_the_catalog_has_the_metric():
    from sklearn import metrics as skm
    names = known_metrics()
    checks = []
    bc_t = np.load(os.path.join(DATA, "breast_cancer_y_true.npy"))
    bc_p = np.load(os.path.join(DATA, "breast_cancer_y_pred.npy")).astype(np.float64)
    dg_t = np.load(os.path.join(DATA, "digits_y_true.npy"))
    dg_p = np.load(os.path.join(DATA, "digits_y_pred.npy")).astype(np.float64)
    db_t = np.load(os.path.join(DATA, "diabetes_y_true.npy"))
    db_p = np.load(os.path.join(DATA, "diabetes_y_pred.npy"))
    bc = ("breast_cancer", [
        ("binary_accuracy", skm.accuracy_score(bc_t, bc_p > 0.5)),
        ("precision", skm.precision_score(bc_t, bc_p > 0.5)),
        ("recall", skm.recall_score(bc_t, bc_p > 0.5)),
    ])
    dg = ("digits", [
        ("sparse_categorical_accuracy", skm.accuracy_score(dg_t, dg_p.argmax(1))),
        ("sparse_top_k_categorical_accuracy", skm.top_k_accuracy_score(dg_t, dg_p, k=5)),
    ])
    db = ("diabetes", [
        ("mean_squared_error", skm.mean_squared_error(db_t, db_p)),
        ("mean_absolute_error", skm.mean_absolute_error(db_t, db_p)),
    ])
    for name, pairs in [bc, dg, db]:
        for metric, want in pairs:
            if metric not in names:
                continue
            got = evaluate("--y-true", os.path.join(DATA, f"{name}_y_true.npy"), "--y-pred",
                           os.path.join(DATA, f"{name}_y_pred.npy"), "-m", metric)["metrics"]
            value = list(got.values())[0]
            checks.append(metric)
            assert abs(value - want) <= 1e-6 * max(1.0, abs(want)), (metric, value, want)
    print(f"  sklearn agreement checked for: {', '.join(checks) or 'none yet'}")


def test_mpirun_output_equals_one_process():
    mpirun = shutil.which("mpirun")
    code, out, _ = run("--version")
    if mpirun is None or "mpi: ON" not in out:
        RESULTS["skipped"] += 1
        print("  SKIP mpirun: tally was built without MPI or mpirun is missing")
        return
    args = ["eval", "--y-true", os.path.join(DATA, "digits_y_true.npy"), "--y-pred",
            os.path.join(DATA, "digits_y_pred.npy"), "-m", "sparse_categorical_accuracy", "-m", "mean", "--format",
            "json"]
    _, single, _ = run(*args)
    # In the sanitizer pass: OpenMPI's plugins keep allocations past their unloading, which
    # LeakSanitizer cannot attribute (or suppress); address and UB checks stay on.
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1")
    for ranks in (1, 2, 3):
        proc = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), TALLY, *args],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == single, (ranks, proc.stdout, single)


def png_is_not_blank(png_path):
    with open(png_path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(idat)
    return len(set(pixels)) > 20


def test_report_renders_in_chromium():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    report = path("report.html")
    code, _, err = run("eval", "--y-true", os.path.join(DATA, "breast_cancer_y_true.npy"), "--y-pred",
                       os.path.join(DATA, "breast_cancer_y_pred.npy"), "-m", "mean", "--report", report)
    assert code == 0, err
    html = open(report).read()
    assert "<svg" in html and "Confusion matrix" in html
    if chromium is None:
        RESULTS["skipped"] += 1
        print("  SKIP chromium screenshot: chromium is not installed (apt-get install chromium)")
        return
    shot = path("report.png")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={path('chrome-profile')}", f"--screenshot={shot}", "--window-size=1200,1600",
                    "file://" + report], capture_output=True, timeout=120)
    assert os.path.exists(shot), "chromium wrote no screenshot"
    assert png_is_not_blank(shot), "the screenshot is blank"


def main():
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    for name, fn in tests:
        try:
            fn()
            RESULTS["passed"] += 1
            print(f"PASS {name}")
        except Exception:  # report every failure, then exit non-zero
            RESULTS["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
