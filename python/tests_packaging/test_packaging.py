"""The package installs as a user would install it: `pip install --no-build-isolation .` into
a fresh virtual environment, and `python3 -m build --no-isolation --wheel` into a temporary
folder. ctest runs this with TALLY_CMAKE_BUILD_DIR pointing at the build tree, so the
backend reuses the compiled module instead of compiling the library a second time."""
import os
import pathlib
import re
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _version():
    return re.search(r"project\(\s*tally\s+VERSION\s+([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


def _clean_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the installed package, not the build tree
    return env


def test_pip_install_into_a_venv_gives_the_cpp_version(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps", "-q",
                    str(ROOT)], check=True, env=_clean_env(), cwd=tmp_path)
    check = ("import importlib.metadata as md, tally, numpy as np; "
             "m = tally.metrics.AUC(); m.update_state([0, 1, 1], [0.1, 0.9, 0.4]); "
             "print(md.version('tally'), tally.__version__, tally.version(), m.result(), tally.__file__)")
    out = subprocess.run([str(python), "-c", check], check=True, env=_clean_env(), cwd=tmp_path,
                         capture_output=True, text=True).stdout.split()
    assert out[0] == out[1] == out[2] == _version()
    assert float(out[3]) == 1.0
    assert out[4].startswith(str(venv)), out[4]  # imported from the venv, not the checkout


def test_wheel_build_into_a_temporary_folder(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, env=_clean_env(), cwd=tmp_path, stdout=subprocess.DEVNULL)
    wheels = list(dist.glob("*.whl"))
    assert [w.name.split("-")[:2] for w in wheels] == [["tally", _version()]]
    with zipfile.ZipFile(wheels[0]) as z:
        names = z.namelist()
        assert any(re.fullmatch(r"tally/_tally.*\.so", n) for n in names), names
        assert "tally/__init__.py" in names and "tally/py.typed" in names
        assert "tally/metrics.pyi" in names and "tally/functional.pyi" in names  # generated stubs
        metadata = z.read(f"tally-{_version()}.dist-info/METADATA").decode()
        assert f"Version: {_version()}" in metadata
        # RECORD lists every file with its hash (pip verifies it on install).
        record = z.read(f"tally-{_version()}.dist-info/RECORD").decode()
        assert all(n in record for n in names)
