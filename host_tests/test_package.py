"""package.json: `mpremote mip install` puts the shared library (kit, drivers) on a board, from a
checkout or from the repository URL (``github:OWNER/REPO``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kampung import FIRMWARE, ROOT
from kampung.vboard import VirtualBoard

LIB = FIRMWARE / "lib"


def test_package_json_lists_every_library_file():
    pkg = json.loads((ROOT / "package.json").read_text())
    listed = {dst: src for dst, src in pkg["urls"]}
    files = {p.relative_to(LIB).as_posix() for p in LIB.rglob("*.py") if "__pycache__" not in p.parts}
    assert set(listed) == files, "regenerate package.json: every file under firmware/lib, no more"
    for dst, src in listed.items():
        assert (ROOT / src).is_file() and src == f"firmware/lib/{dst}", (dst, src)


def test_mip_installs_the_library_onto_a_board(tmp_path):
    mpremote = str(Path(sys.executable).parent / "mpremote")
    with VirtualBoard(tmp_path / "flash") as vb:
        proc = subprocess.run([mpremote, "connect", vb.port, "mip", "install", "--target", "lib",
                               str(ROOT / "package.json")], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for p in LIB.rglob("*.py"):
            rel = p.relative_to(LIB)
            assert (vb.flash / "lib" / rel).read_bytes() == p.read_bytes(), rel
