"""The runner of the CLI test scripts (test_cli.py, test_cli_sliced.py): every test_* function
of a script, each failure reported with its traceback, then "N passed, N failed"."""
import shutil
import traceback


def run_tests(namespace, results, tmp):
    """Runs the test_* callables of `namespace` in order; returns the exit code (1 on any failure)."""
    tests = [(k, v) for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    for name, fn in tests:
        try:
            fn()
            results["passed"] += 1
            print(f"PASS {name}")
        except Exception:  # report every failure, then exit non-zero
            results["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0
