#!/usr/bin/python3
"""End-to-end tests of the tally binary: every .npy variant numpy writes, .npz, CSV
(columns, BOM, delimiters, gzip), output formats, exit codes and one-line errors,
scikit-learn agreement for the metrics the catalog has, help, completion and man page,
and the HTML report of each task, checked for valid HTML and rendered by headless
Chromium when it is installed.

Usage: test_cli.py TALLY_BINARY EXAMPLES_DATA_DIR [COMPLETION_SCRIPT]. Prints "N passed,
N failed". With TALLY_SCREENSHOT_DIR set, the report screenshots are kept there (that is
how docs/images/ is made)."""
import gzip
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

from cli_runner import run_tests

TALLY = sys.argv[1]
DATA = sys.argv[2]
COMPLETION = sys.argv[3] if len(sys.argv) > 3 else None
TMP = tempfile.mkdtemp(prefix="tally_cli_")
RESULTS = {"passed": 0, "failed": 0, "skipped": 0}


def run(*args, timeout=120):
    proc = subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=timeout)
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
    dtypes = ["<f8", ">f8", "<f4", ">f4", "<f2", ">f2", "<i4", ">i4", "<i8", "|u1", "|b1", "|i1", "<i2", ">i2",
              "<u2", ">u2", "<u4", "<u8", ">u8"]
    # Every dtype in one batch and in batches of 7; the .npy format versions (which change only
    # the header's length field and encoding) rotate over the dtypes instead of multiplying them:
    # under the sanitizers each tally run costs about half a second.
    versions = [(1, 0), (2, 0), (3, 0)]
    for i, dtype in enumerate(dtypes):
        version = versions[i % len(versions)]
        values = (base > 5) if dtype == "|b1" else (base * (10 if dtype[1] in "iu" else 1)).astype(dtype)
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
    # `list --format json` is describe_catalog(): versioned, with each metric's options.
    code, out, _ = run("list", "--format", "json")
    catalog = json.loads(out)
    assert code == 0 and "version" in catalog and "functions" in catalog, out[:300]
    auc = next(m for m in catalog["metrics"] if m["class_name"] == "AUC")
    assert "auc" in auc["names"] and any(o["key"] == "num_thresholds" and o["default"] == 200
                                         for o in auc["options"]), auc
    assert run("list", "--json")[1] == out


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
        ("explained_variance", skm.explained_variance_score(db_t, db_p)),
        ("max_error", skm.max_error(db_t, db_p)),
        ('{"class_name": "TweedieDeviance", "config": {"power": 1.5}}',
         skm.mean_tweedie_deviance(db_t, db_p, power=1.5)),
    ])
    bc[1].append(("brier_score", skm.brier_score_loss(bc_t, bc_p)))
    for name, pairs in [bc, dg, db]:
        for metric, want in pairs:
            if not metric.startswith("{") and metric not in names:
                continue
            got = evaluate("--y-true", os.path.join(DATA, f"{name}_y_true.npy"), "--y-pred",
                           os.path.join(DATA, f"{name}_y_pred.npy"), "-m", metric)["metrics"]
            value = list(got.values())[0]
            checks.append(metric)
            assert abs(value - want) <= 1e-6 * max(1.0, abs(want)), (metric, value, want)
    print(f"  sklearn agreement checked for: {', '.join(checks) or 'none yet'}")


def test_classwise_rows_are_keyed_by_label():
    y = save("cw_y.npy", np.eye(3)[[0, 1, 2, 2, 1, 0, 2]])
    p = save("cw_p.npy", np.eye(3)[[0, 1, 1, 2, 1, 0, 0]])
    spec = '{"class_name": "Classwise", "config": {"metric": "f1_score", "labels": ["ant", "bee", "cat"]}}'
    got = evaluate("--y-true", y, "--y-pred", p, "-m", spec)["metrics"]
    assert list(got) == ["f1_score_ant", "f1_score_bee", "f1_score_cat"], got
    # F1 per class 0.8, 0.8, 0.5, less Keras's epsilon (1e-7) in the denominator.
    assert abs(got["f1_score_ant"] - 0.8) < 1e-6 and abs(got["f1_score_bee"] - 0.8) < 1e-6, got
    assert abs(got["f1_score_cat"] - 0.5) < 1e-6, got
    code, out, err = run("eval", "--y-true", y, "--y-pred", p, "-m", spec, "--format", "csv")
    assert code == 0, err
    assert "\nf1_score_bee,0.79999992\n" in out, out
    report = path("cw_report.html")
    code, _, err = run("eval", "--y-true", y, "--y-pred", p, "-m", spec, "--report", report)
    assert code == 0, err
    with open(report, encoding="utf-8") as f:
        assert "f1_score_ant: 0.79999992, f1_score_bee: 0.79999992, f1_score_cat: 0.4999999375" in f.read()


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


def test_query_ids_rank_per_query_and_bootstrap_is_an_object():
    # Queries of 2 to 6 rows; NDCG@3 against scikit-learn's ndcg_score, the same for any
    # --batch-size (batches end at query starts) and, when available, under mpirun -n 2.
    from sklearn.metrics import ndcg_score
    rng = np.random.default_rng(5)
    sizes = rng.integers(2, 7, 60)
    qid = np.repeat(np.arange(60) + 100, sizes)
    rel = (rng.random(len(qid)) < 0.4).astype(np.float64)
    score = rng.random(len(qid))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    expected = np.mean([ndcg_score([rel[a:b]], [score[a:b]], k=3) for a, b in zip(starts[:-1], starts[1:])])
    args = ["--y-true", save("rank_rel.npy", rel), "--y-pred", save("rank_score.npy", score), "--query",
            save("rank_q.npy", qid), "-m", '{"class_name": "NDCG", "config": {"k": 3}}', "-m", "binary_accuracy", "-m",
            '{"class_name": "BootstrapInterval", "config": {"metric": "binary_accuracy", "num_resamples": 100}}']
    out = evaluate(*args)
    assert abs(out["metrics"]["ndcg"] - expected) < 1e-9, (out, expected)
    ci = out["metrics"]["bootstrap_interval"]
    assert set(ci) == {"value", "lower", "upper", "std"} and ci["value"] == out["metrics"]["binary_accuracy"]
    assert ci["lower"] < ci["value"] < ci["upper"]
    assert evaluate(*args, "--batch-size", "5") == out
    fails_with(["eval", "--y-true", path("rank_rel.npy"), "--y-pred", path("rank_score.npy"), "-m", "ndcg"],
               "give the query id of each row with --query FILE")
    mpirun = shutil.which("mpirun")
    if mpirun is not None and "mpi: ON" in run("--version")[1]:
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1")
        proc = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "2", TALLY, "eval", *args,
                               "--batch-size", "7", "--format", "json"],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == out, (proc.stdout, out)


def fails_with(args, expected, timeout=120):
    code, out, err = run(*args, timeout=timeout)
    assert code == 2, (args, code, err)
    assert out == "", (args, out)
    assert err.count("\n") == 1 and expected in err, (args, err)
    return err


def write_csv(name, header, rows, delimiter=",", bom=False, compress=False):
    text = ("\ufeff" if bom else "") + delimiter.join(header) + "\n"
    text += "".join(delimiter.join(str(v) for v in row) + "\n" for row in rows)
    p = path(name)
    if compress:
        with gzip.open(p, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    return p


def test_multi_output_regression_defaults_are_per_output():
    # 20.1: (N, 3) regression with the default metrics: R2Score builds from the first batch.
    from sklearn import metrics as skm
    rng = np.random.default_rng(3)
    y = rng.normal(0, [1, 10, 100], (500, 3))
    p = y + rng.normal(0, [0.5, 2, 30], (500, 3))
    t, q = save("reg3_t.npy", y), save("reg3_p.npy", p)
    for batch in ["65536", "7"]:
        code, out, err = run("eval", "--y-true", t, "--y-pred", q, "--format", "json", "--batch-size", batch)
        assert code == 0, err
        got = json.loads(out)["metrics"]
        assert abs(got["r2_score"] - skm.r2_score(y, p)) < 1e-9, got
        want = skm.r2_score(y, p, multioutput="raw_values")
        assert np.allclose(got["r2_score_per_output"], want, rtol=1e-9), got
        assert abs(got["mean_squared_error"] - skm.mean_squared_error(y, p)) < 1e-9 * skm.mean_squared_error(y, p)
        assert "regression task" in err


def test_from_logits_and_the_probability_range_warning():
    # 20.2: logits read as probabilities give a wrong AUC; --from-logits gives the right one.
    from sklearn import metrics as skm
    rng = np.random.default_rng(4)
    y = (rng.random(2000) < 0.4).astype(np.int64)
    logits = rng.normal(0, 2, 2000) + 1.5 * y
    t, lg, pr = save("lg_t.npy", y), save("lg.npy", logits), save("lg_p.npy", 1 / (1 + np.exp(-logits)))
    code, out, err = run("eval", "--y-true", t, "--y-pred", lg, "-m", "auc", "-m", "binary_accuracy", "--format",
                         "json")
    assert code == 0, err
    assert "warning: scores in" in err and "outside [0, 1]" in err and "--from-logits" in err, err
    assert err.count("warning") == 1
    wrong = json.loads(out)["metrics"]["auc"]
    code, out, err = run("eval", "--y-true", t, "--y-pred", lg, "-m", "auc", "-m", "binary_accuracy", "--format",
                         "json", "--from-logits")
    assert code == 0 and "warning" not in err, err
    assert "set from_logits=true for auc" in err and "applied sigmoid to the scores for binary_accuracy" in err, err
    right = json.loads(out)["metrics"]
    probs = evaluate("--y-true", t, "--y-pred", pr, "-m", "auc", "-m", "binary_accuracy")["metrics"]
    assert abs(right["auc"] - probs["auc"]) < 1e-9 and right["binary_accuracy"] == probs["binary_accuracy"], (right, probs)
    assert abs(right["auc"] - skm.roc_auc_score(y, logits)) < 5e-3, (right, skm.roc_auc_score(y, logits))
    assert abs(wrong - right["auc"]) > 0.02, (wrong, right)
    # Under MPI the ranks' ranges merge: one warning, with the whole file's range.
    mpirun = shutil.which("mpirun")
    if mpirun is not None and "mpi: ON" in run("--version")[1]:
        _, _, single = run("eval", "--y-true", t, "--y-pred", lg, "-m", "auc")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1")
        proc = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "3", TALLY, "eval", "--y-true",
                               t, "--y-pred", lg, "-m", "auc"], capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0 and proc.stderr.count("warning") == 1, proc.stderr
        assert proc.stderr == single, (proc.stderr, single)


def test_more_file_kinds():
    # 20.4: .npz (stored and deflated, with and without a key), CSV with a BOM, ';' and tab
    # delimiters (detected or given), gzip-compressed CSV.
    rng = np.random.default_rng(5)
    y = (rng.random(3001) < 0.5).astype(np.int64)
    p = rng.random(3001)
    want = evaluate("--y-true", save("f_t.npy", y), "--y-pred", save("f_p.npy", p), "-m", "auc", "-m", "mean")
    stored, packed, single = path("s.npz"), path("c.npz"), path("one.npz")
    np.savez(stored, y_true=y, y_pred=p)
    np.savez_compressed(packed, y_true=y, y_pred=np.asfortranarray(p))
    np.savez_compressed(single, p)
    for archive in (stored, packed):
        for batch in ["65536", "100"]:
            got = evaluate("--y-true", archive + ":y_true", "--y-pred", archive + ":y_pred", "-m", "auc", "-m", "mean",
                           "--batch-size", batch)
            assert got == want, (archive, got, want)
    got = evaluate("--y-true", stored + ":y_true", "--y-pred", single, "-m", "auc", "-m", "mean")
    assert got == want
    fails_with(["eval", "--y-true", stored, "--y-pred", single, "-m", "mean"], "holds 2 arrays (y_true, y_pred)")
    fails_with(["eval", "--y-true", stored + ":nope", "--y-pred", single, "-m", "mean"], "no array 'nope'")
    rows = list(zip(y, p))
    for name, kwargs, extra in [("bom.csv", {"bom": True}, []), ("semi.csv", {"delimiter": ";"}, []),
                                ("tab.csv", {"delimiter": "\t"}, []),
                                ("semi2.csv", {"delimiter": ";"}, ["--delimiter", ";"]),
                                ("gz.csv.gz", {"compress": True, "bom": True}, []),
                                ("gztab.csv.gz", {"compress": True, "delimiter": "\t"}, ["--delimiter", "tab"])]:
        f = write_csv(name, ["label", "score"], [(a, repr(b)) for a, b in rows], **kwargs)
        got = evaluate("--y-true", f + ":label", "--y-pred", f + ":score", "-m", "auc", "-m", "mean", *extra)
        assert got == want, (name, got, want)


def test_output_formats_keep_digits_and_tell_nan_from_inf():
    # 20.5: CSV carries 12 significant digits as JSON does; 19.7: NaN and +-inf stay apart.
    t = save("third_t.npy", np.zeros(3))
    third = save("third.npy", np.array([0.0, 0.0, 1.0]))
    code, out, _ = run("eval", "--y-true", t, "--y-pred", third, "-m", "mean", "--format", "csv")
    assert code == 0 and out.splitlines()[1] == "mean,0.333333333333", out
    inf = save("inf.npy", np.array([1.0, np.inf, 2.0]))
    code, out, err = run("eval", "--y-true", t, "--y-pred", inf, "-m", "mean", "-m",
                         '{"class_name": "Sum", "config": {"name": "neg"}}', "--format", "json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["mean"] == "inf", out
    neg = save("neginf.npy", np.array([1.0, -np.inf, 2.0]))
    assert evaluate("--y-true", t, "--y-pred", neg, "-m", "sum")["metrics"]["sum"] == "-inf"
    const = save("const.npy", np.array([2.0, 2.0, 2.0]))
    got = evaluate("--y-true", const, "--y-pred", const, "-m", "r2_score")["metrics"]["r2_score"]
    assert got == "nan" and float(got) != float(got), got
    code, out, _ = run("eval", "--y-true", t, "--y-pred", inf, "-m", "mean", "--format", "csv")
    assert out.splitlines()[1] == "mean,inf", out


def test_nan_labels_are_bad_input():
    t = save("nanlab.npy", np.array([0.0, np.nan, 1.0]))
    fails_with(["eval", "--y-true", t, "--y-pred", save("nl_p.npy", np.array([0.1, 0.2, 0.3])), "-m", "mean"],
               "nanlab.npy: NaN in labels at row 1")


def test_empty_input_is_no_rows():
    # 19.7: no rows is exit 2, whatever the file kind.
    header_only = write_csv("header.csv", ["label", "score"], [])
    huge = path("huge_empty.npy")
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(huge, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    empty = save("empty.npy", np.zeros(0))
    for y, p in [(empty, empty), (header_only + ":label", header_only + ":score"), (huge, huge)]:
        for metrics in (["-m", "mean"], []):
            fails_with(["eval", "--y-true", y, "--y-pred", p, *metrics], "no rows")


def test_fifo_and_folders_are_refused_without_blocking():
    # 19.4: open() on a FIFO blocks until a writer comes; tally must refuse it first.
    fifo = path("pipe.npy")
    os.mkfifo(fifo)
    fails_with(["eval", "--y-true", fifo, "--y-pred", fifo, "-m", "mean"], "is a FIFO, not a regular file", timeout=20)
    fifo_csv = path("pipe.csv")
    os.mkfifo(fifo_csv)
    fails_with(["eval", "--y-true", fifo_csv + ":a", "--y-pred", fifo_csv + ":b", "-m", "mean"], "is a FIFO",
               timeout=20)


def test_demo_into_an_unwritable_place_exits_2_with_the_reason():
    # 19.5: a file in the way of --out-dir (root ignores permissions, so no chmod test).
    blocker = path("blocker")
    open(blocker, "w").close()
    err = fails_with(["demo", "--data-dir", DATA, "--out-dir", os.path.join(blocker, "reports")],
                     "cannot create the report folder")
    assert "internal error" not in err and "Not a directory" in err, err
    err = fails_with(["eval", "--y-true", os.path.join(DATA, "breast_cancer_y_true.npy"), "--y-pred",
                      os.path.join(DATA, "breast_cancer_y_pred.npy"), "-m", "mean", "--report",
                      os.path.join(blocker, "r.html")], "r.html: cannot write: Not a directory")


def test_messages_name_the_global_row_and_quote_cells_short():
    # 19.6: a label out of range at global row 95 is row 95 for any batch size and rank count.
    y = np.zeros(120, dtype=np.int64)
    y[95] = 12
    scores = np.full((120, 10), 0.1)
    t, p = save("row_t.npy", y), save("row_p.npy", scores)
    spec = ["-m", "sparse_categorical_crossentropy"]
    messages = set()
    for batch in ["65536", "10", "7"]:
        err = fails_with(["eval", "--y-true", t, "--y-pred", p, *spec, "--batch-size", batch], "at row 95: ")
        assert "received 12 at that row" in err, err
        messages.add(err)
    assert len(messages) == 1, messages
    mpirun = shutil.which("mpirun")
    code, out, _ = run("--version")
    if mpirun is not None and "mpi: ON" in out:
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1")
        proc = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", "3", TALLY, "eval", "--y-true",
                               t, "--y-pred", p, *spec], capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 2 and "at row 95: " in proc.stderr, proc.stderr
    # With default metrics, labels beyond the score columns are said, not guessed as regression.
    fails_with(["eval", "--y-true", t, "--y-pred", p], "labels look like class indices (integers, up to 12), but")
    # A 10 MB cell with control characters is quoted in at most ~80 characters.
    cell = "x" * 10_000_000 + "\x01\x00"
    bad = path("huge_cell.csv")
    with open(bad, "w") as f:
        f.write("a,b\n1," + cell + "\n")
    err = fails_with(["eval", "--y-true", bad + ":a", "--y-pred", bad + ":b", "-m", "mean"], "(10000002 bytes)")
    assert len(err) < 300, len(err)


def test_default_metric_notice_and_help():
    # 20.5: the notice comes on stderr before the results; 20.7: help shows defaults and rules.
    code, _, err = run("eval", "--y-true", os.path.join(DATA, "digits_y_true.npy"), "--y-pred",
                       os.path.join(DATA, "digits_y_pred.npy"))
    assert code == 0 and err.startswith("tally: no --metric given; multiclass task, using sparse_categorical_accuracy")
    code, out, _ = run("eval", "--help")
    assert code == 0
    for text in ["Without --metric", "regression", "r2_score", "65536", "--from-logits", "--delimiter", ".npz"]:
        assert text in out, (text, out)


def test_integer_labels_get_f1_and_one_vs_rest_auc():
    # 20.3: integer labels with (N, C) scores get the integer-label macro F1 and one-vs-rest
    # AUC in the defaults; predicted ids with --num-classes get accuracy, F1 and MCC; the
    # report's per-class curves come from the integer labels.
    import sklearn.metrics as skm
    rng = np.random.default_rng(203)
    n, c = 400, 4
    y = rng.integers(0, c, n)
    s = rng.dirichlet(np.ones(c), n)
    s[np.arange(n), y] += 0.4
    s = np.round(s / s.sum(1, keepdims=True), 4)
    t, p = save("ids_t.npy", y.astype(np.int64)), save("ids_p.npy", s)
    code, out, err = run("eval", "--y-true", t, "--y-pred", p, "--format", "json")
    assert code == 0, err
    assert "f1_score_macro" in err and "auc_ovr" in err, err
    got = json.loads(out)["metrics"]
    want_f1 = skm.f1_score(y, s.argmax(1), average="macro")
    assert abs(got["f1_score_macro"] - want_f1) < 1e-6, (got, want_f1)
    want_auc = skm.roc_auc_score(y, s / s.sum(1, keepdims=True), multi_class="ovr")
    assert abs(got["auc_ovr"] - want_auc) < 5e-3, (got, want_auc)  # 200 thresholds: binning error
    # --num-classes must agree with the score columns.
    code, _, err = run("eval", "--y-true", t, "--y-pred", p, "--num-classes", "5")
    assert code == 2 and "--num-classes 5 but" in err, err
    # Predicted ids (one column) need --num-classes; then accuracy, F1 and MCC over the ids.
    ids = save("ids_pred.npy", s.argmax(1).astype(np.int64))
    code, out, err = run("eval", "--y-true", t, "--y-pred", ids, "--num-classes", str(c), "--format", "json")
    assert code == 0, err
    got = json.loads(out)["metrics"]
    assert abs(got["accuracy"] - skm.accuracy_score(y, s.argmax(1))) < 1e-9, got
    assert abs(got["f1_score_macro"] - want_f1) < 1e-6, got
    assert abs(got["matthews_correlation_coefficient"] - skm.matthews_corrcoef(y, s.argmax(1))) < 1e-9, got
    # The report over integer labels draws one ROC curve per class.
    report = path("ids_report.html")
    code, _, err = run("eval", "--y-true", t, "--y-pred", p, "--report", report)
    assert code == 0, err
    text = open(report, encoding="utf-8").read()
    for k in range(c):
        assert f"class {k} (AUC" in text, k


def test_binary_report_curves_are_the_curve_metrics():
    # Issue 17: the binary report draws tally's ROCCurve / PrecisionRecallCurve (1001
    # thresholds), so its ROC AUC is AUC over the same grid.
    import re
    t, p = os.path.join(DATA, "breast_cancer_y_true.npy"), os.path.join(DATA, "breast_cancer_y_pred.npy")
    report = path("bc_curves.html")
    code, _, err = run("eval", "--y-true", t, "--y-pred", p, "--report", report)
    assert code == 0, err
    shown = float(re.search(r"ROC AUC ([0-9.]+)", open(report, encoding="utf-8").read()).group(1))
    auc = evaluate("--y-true", t, "--y-pred", p, "-m",
                   '{"class_name": "AUC", "config": {"num_thresholds": 1001, "dtype": "float64"}}')["metrics"]
    assert abs(shown - list(auc.values())[0]) <= 5e-5, (shown, auc)


def test_bash_completion_and_man_page():
    # 20.7: the completion script completes options and metric names; help2man's page exists
    # beside the binary when help2man was found at build time.
    if COMPLETION is None or shutil.which("bash") is None:
        RESULTS["skipped"] += 1
        print("  SKIP completion: no script given")
        return
    tool_dir = os.path.dirname(os.path.abspath(TALLY))

    def complete(*words):
        script = (f"source {COMPLETION}; COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; "
                  "_tally; printf '%s\\n' \"${COMPREPLY[@]}\"")
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PATH=tool_dir + os.pathsep + os.environ["PATH"]))
        return proc.stdout.split()

    assert "--from-logits" in complete("tally", "eval", "--fr")
    assert complete("tally", "ev") == ["eval"]
    assert "auc" in complete("tally", "eval", "-m", "au")
    assert complete("tally", "eval", "--format", "j") == ["json"]
    man = os.path.join(tool_dir, "tally.1")
    if shutil.which("help2man") is None and not os.path.exists(man):
        RESULTS["skipped"] += 1
        print("  SKIP man page: help2man is not installed")
        return
    text = open(man).read()
    assert ".TH TALLY" in text and "Without \\-\\-metric" in text.replace("--", "\\-\\-"), text[:500]


def test_progress_counts_csv_rows_and_follows_the_notice():
    # 20.5: the CSV counting pass has a bar, and the default-metrics notice comes before the
    # evaluation bar (stderr on a pseudo-terminal; TALLY_PROGRESS_AFTER=0 skips the 1 s wait).
    import pty
    rows = write_csv("progress.csv", ["label", "score"], [(i % 2, (i % 7) / 7) for i in range(300_000)])
    leader, follower = pty.openpty()
    proc = subprocess.Popen([TALLY, "eval", "--y-true", rows + ":label", "--y-pred", rows + ":score",
                             "--batch-size", "1000"], stdout=subprocess.PIPE, stderr=follower,
                            env=dict(os.environ, TALLY_PROGRESS_AFTER="0"))
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the pty closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0 and b"300000 samples" in out, (proc.returncode, out)
    counting, notice, evaluating = (text.find("counting rows ["), text.find("no --metric given"),
                                    text.find("evaluating ["))
    assert 0 <= counting < notice < evaluating, text[:2000]


class TagBalance(html.parser.HTMLParser):
    """Checks that every element is closed in order (void elements aside)."""
    VOID = {"meta", "br", "rect", "line", "circle", "stop", "img", "hr", "input", "link", "path"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def check_html(text, name):
    parser = TagBalance()
    parser.feed(text)
    parser.close()
    assert not parser.errors and not parser.stack, (name, parser.errors[:5], parser.stack[:5])
    tidy = shutil.which("tidy")
    if tidy:
        proc = subprocess.run([tidy, "-q", "-e", "--drop-empty-elements", "no"], input=text, capture_output=True,
                              text=True, timeout=60)
        errors = [line for line in proc.stderr.splitlines() if "Error:" in line or "Warning:" in line]
        assert not errors, (name, errors[:5])


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


def test_reports_of_every_kind_are_valid_html_and_render_in_chromium():
    # 20.6: binary, multiclass and regression reports: valid HTML with inline SVG charts.
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    keep = os.environ.get("TALLY_SCREENSHOT_DIR")
    rng = np.random.default_rng(6)
    y3 = rng.normal(0, [1, 10, 100], (400, 3))
    multi_t, multi_p = save("rep3_t.npy", y3), save("rep3_p.npy", y3 + rng.normal(0, [0.5, 3, 20], (400, 3)))
    kinds = {  # files, texts the report must hold, screenshot height (the page's length)
        "binary": ("breast_cancer_y_true.npy", "breast_cancer_y_pred.npy",
                   ["Reliability (calibration)", "Confusion matrix", "Class balance", "ROC AUC", "%</span>"], 1400),
        "multiclass": ("digits_y_true.npy", "digits_y_pred.npy",
                       ["Reliability (calibration)", "class 9 (AUC", "Top score histogram", "row total"], 1680),
        "regression": ("diabetes_y_true.npy", "diabetes_y_pred.npy",
                       ["Predicted vs true (density)", "Residuals (predicted - true)", "Per output", "R²"], 1040),
        "regression_3_outputs": (multi_t, multi_p, ["Per output", "<td>2</td>"], 1180),
    }
    for kind, (t, p, expected, height) in kinds.items():
        report = path(f"{kind}.html")
        code, _, err = run("eval", "--y-true", os.path.join(DATA, t), "--y-pred", os.path.join(DATA, p),
                           "--report", report)
        assert code == 0, err
        text = open(report, encoding="utf-8").read()
        assert text.count("<svg") >= 2 and "<script" not in text and "http://" not in text.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""), kind
        for e in expected:
            assert e in text, (kind, e)
        check_html(text, kind)
        if chromium is None:
            continue
        shot = os.path.join(keep, f"report_{kind}.png") if keep else path(f"{kind}.png")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={path('chrome-profile')}", f"--screenshot={shot}",
                        f"--window-size=1280,{height}", "file://" + report], capture_output=True, timeout=120)
        assert os.path.exists(shot), "chromium wrote no screenshot"
        assert png_is_not_blank(shot), "the screenshot is blank"
    if chromium is None:
        RESULTS["skipped"] += 1
        print("  SKIP chromium screenshot: chromium is not installed (apt-get install chromium)")


def main():
    return run_tests(globals(), RESULTS, TMP)


if __name__ == "__main__":
    sys.exit(main())
