"""tally's in-tree PEP 517 build backend (pyproject.toml names it).

It drives the project's own CMake build, so ``pip install .`` and ``python3 -m build``
compile exactly what ``cmake --build`` does, with nothing downloaded (no build
requirements: it needs only cmake, a C++20 compiler, pybind11 and the Debian packages of
scripts/setup-debian.sh). The wheel holds the ``tally`` package: the pure-Python files
and the compiled ``_tally`` module (the C++ library is linked statically into it).

Environment:
  TALLY_CMAKE_BUILD_DIR   reuse an existing, configured CMake build directory (only the
                          ``_tally`` target is built there), so a checkout that is already
                          built is not compiled twice. Default: a fresh directory under
                          the system's temporary folder, removed afterwards.
  TALLY_CMAKE_ARGS        extra arguments for the CMake configure step (space-separated).
  CMAKE_BUILD_PARALLEL_LEVEL  parallel compile jobs (CMake's own variable; default 2).
"""
import base64
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_NAME = "tally"
_SUMMARY = "Streaming, mergeable, distributed ML evaluation metrics with Keras 3 semantics"


def _version():
    """The C++ project version: project(tally VERSION x.y.z) in CMakeLists.txt, the number
    tally::version() returns, so importlib.metadata.version("tally") == tally.__version__."""
    with open(os.path.join(_ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(\s*tally\s+VERSION\s+([0-9][0-9.]*)", f.read())
    if not match:
        raise RuntimeError("tally_build: no project(tally VERSION ...) in CMakeLists.txt")
    return match.group(1)


def _tag():
    """The wheel tag of this interpreter: cp311-cp311-linux_x86_64 on Debian 12."""
    impl = f"cp{sys.version_info.major}{sys.version_info.minor}"
    abi = impl + (sys.abiflags if hasattr(sys, "abiflags") else "")
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{impl}-{abi}-{platform}"


def _metadata():
    readme = ""
    path = os.path.join(_ROOT, "README.md")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {_NAME}\nVersion: {_version()}\nSummary: {_SUMMARY}\n"
            "Requires-Python: >=3.9\nRequires-Dist: numpy\n"
            f"Description-Content-Type: text/markdown\n\n{readme}")


def _run(command, cwd=None):
    print("tally_build: " + " ".join(shlex.quote(c) for c in command), file=sys.stderr, flush=True)
    subprocess.run(command, cwd=cwd, check=True, stdout=sys.stderr)


def _build_extension(build_dir, fresh):
    if fresh:
        args = ["cmake", "-S", _ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                f"-DPython3_EXECUTABLE={sys.executable}", f"-DPYTHON_EXECUTABLE={sys.executable}",
                "-DTALLY_WITH_PYTHON=ON", "-DTALLY_BUILD_TESTS=OFF", "-DTALLY_BUILD_BENCHMARKS=OFF",
                "-DTALLY_BUILD_EXAMPLES=OFF"]
        if shutil.which("ccache"):
            args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        args += shlex.split(os.environ.get("TALLY_CMAKE_ARGS", ""))
        _run(args)
    env_jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    _run(["cmake", "--build", build_dir, "--target", "_tally", "tally_python_stubs", "-j", env_jobs])
    package = os.path.join(build_dir, "python", _NAME)
    if not any(n.startswith("_tally") and n.endswith(".so") for n in os.listdir(package)):
        raise RuntimeError(f"tally_build: the build did not produce {package}/_tally*.so")
    return package


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory, package):
    version = _version()
    tag = _tag()
    dist_info = f"{_NAME}-{version}.dist-info"
    wheel_name = f"{_NAME}-{version}-{tag}.whl"
    files = []
    for name in sorted(os.listdir(package)):
        if name.endswith(".py") or name.endswith(".pyi") or name == "py.typed" or (
                name.startswith("_tally") and name.endswith(".so")):
            with open(os.path.join(package, name), "rb") as f:
                files.append((f"{_NAME}/{name}", f.read()))
    files.append((f"{dist_info}/METADATA", _metadata().encode()))
    files.append((f"{dist_info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: tally_build\nRoot-Is-Purelib: false\n"
                                         f"Tag: {tag}\n").encode()))
    files.append((f"{dist_info}/top_level.txt", f"{_NAME}\n".encode()))
    record = [_record_line(a, d) for a, d in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    os.makedirs(wheel_directory, exist_ok=True)
    path = os.path.join(wheel_directory, wheel_name)
    tmp = path + ".part"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if arcname.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, path)  # a half-written wheel never carries the final name
    return wheel_name


# PEP 517 hooks ---------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    """Nothing to download: the compilers and pybind11 come from the system."""
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    """The .dist-info without compiling (pip asks for it first)."""
    dist_info = f"{_NAME}-{_version()}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(metadata_directory, dist_info, "WHEEL"), "w", encoding="utf-8") as f:
        f.write(f"Wheel-Version: 1.0\nGenerator: tally_build\nRoot-Is-Purelib: false\nTag: {_tag()}\n")
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """Builds (or reuses, with TALLY_CMAKE_BUILD_DIR) the CMake build and packs the wheel."""
    existing = os.environ.get("TALLY_CMAKE_BUILD_DIR")
    if existing:
        if not os.path.exists(os.path.join(existing, "CMakeCache.txt")):
            raise RuntimeError(f"tally_build: TALLY_CMAKE_BUILD_DIR={existing} is not a configured CMake build "
                               "directory (no CMakeCache.txt)")
        return _write_wheel(wheel_directory, _build_extension(os.path.abspath(existing), fresh=False))
    with tempfile.TemporaryDirectory(prefix="tally-build-") as build_dir:
        return _write_wheel(wheel_directory, _build_extension(build_dir, fresh=True))


def build_sdist(sdist_directory, config_settings=None):
    """A source archive of the tracked files (git ls-files), for `python3 -m build --sdist`."""
    import tarfile
    version = _version()
    base = f"{_NAME}-{version}"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=_ROOT, check=True, capture_output=True).stdout
    names = [n for n in listed.decode().split("\0") if n]
    os.makedirs(sdist_directory, exist_ok=True)
    path = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(path + ".part", "w:gz") as tar:
        for n in names:
            tar.add(os.path.join(_ROOT, n), arcname=f"{base}/{n}", recursive=False)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        import io
        tar.addfile(info, io.BytesIO(data))
    os.replace(path + ".part", path)
    return os.path.basename(path)
