"""pytest plumbing: every ``fw/fw_*.py`` test runs twice, on MicroPython unix and on CPython.

Firmware tests are plain ``test_*`` functions that use only what MicroPython has. For each file
and runtime, ``fw/fwrunner.py`` runs all its tests in one interpreter process with the virtual
hardware on the path, and prints one JSON line per test; each line becomes one pytest item,
``fw/fw_x.py::test_y[micropython]`` and ``[cpython]``. A test that crashes the interpreter fails
with the process output.
"""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path

import pytest

from kampung import SHARED_DATA, runtimes

FW_DIR = Path(__file__).parent / "fw"
_results: dict[tuple[str, str], dict] = {}


def pytest_collect_file(parent, file_path):
    if _is_fw(file_path):
        return FwFile.from_parent(parent, path=file_path)
    return None


def _is_fw(path) -> bool:
    return path.parent == FW_DIR and path.name.startswith("fw_") and path.suffix == ".py"


def pytest_pycollect_makemodule(module_path, parent):
    # A fw file named on the command line would also be imported as a CPython test module;
    # it is not one (it imports the virtual hardware), so that collector gets nothing.
    if _is_fw(module_path):
        return _Nothing.from_parent(parent, path=module_path)
    return None


class _Nothing(pytest.File):
    def collect(self):
        return []


class FwFile(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text())
        names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        for runtime in runtimes.RUNTIMES:
            for name in names:
                yield FwItem.from_parent(self, name=f"{name}[{runtime}]", test=name, runtime=runtime)


class FwFailure(Exception):
    pass


class FwItem(pytest.Item):
    def __init__(self, *, test, runtime, **kwargs):
        super().__init__(**kwargs)
        self.test = test
        self.runtime = runtime
        self.add_marker(getattr(pytest.mark, runtime))

    def runtest(self):
        key = (str(self.path), self.runtime)
        if key not in _results:
            _results[key] = run_file(self.path, self.runtime)
        outcome = _results[key]
        result = outcome["tests"].get(self.test)
        if result is None:
            raise FwFailure(f"{self.test} did not report (interpreter exit {outcome['rc']}):\n{outcome['output']}")
        if result.get("skip"):
            pytest.skip(result["skip"])
        if not result["ok"]:
            raise FwFailure(result["error"])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, FwFailure):
            return f"[{self.runtime}] {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}::{self.name}"


def run_file(path: Path, runtime: str) -> dict:
    args = [path.stem, str(SHARED_DATA)]
    with tempfile.TemporaryDirectory(prefix="kampung-flash-") as flash:
        # the interpreter's working directory stands for the board's flash
        proc = runtimes.run(runtime, FW_DIR / "fwrunner.py", args, extra_path=[FW_DIR],
                            timeout=600, cwd=Path(flash))
    tests = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{") and "\"test\"" in line:
            item = json.loads(line)
            tests[item["test"]] = item
    return {"rc": proc.returncode, "tests": tests, "output": (proc.stdout + proc.stderr)[-6000:]}


def pytest_configure(config):
    for runtime in runtimes.RUNTIMES:
        config.addinivalue_line("markers", f"{runtime}: firmware test run on the {runtime} runtime")
