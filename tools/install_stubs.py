"""Install the pinned MicroPython stubs into folders outside site-packages.

The ESP32 stubs ship top-level ``machine.pyi``, ``time.pyi``... which would shadow the host's own
modules for pyright if they were installed into the virtualenv. So they go into
``<dest>/esp32`` and ``<dest>/stdlib`` (names that are not importable module names), and
``pyrightconfig.firmware.json`` points at those folders. The pins come from pyproject.toml
(``[project.optional-dependencies] stubs``) so there is one place to bump them.
"""

import subprocess
import sys
import tomllib
from pathlib import Path


def main(dest: str) -> int:
    root = Path(__file__).resolve().parents[1]
    pins = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["stubs"]
    targets = {"micropython-esp32-stubs": "esp32_stubs", "micropython-stdlib-stubs": "stdlib_stubs"}
    for pin in pins:
        name = pin.split("==")[0]
        folder = Path(dest) / targets[name]
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--upgrade", "--target", str(folder), pin]
        subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".venv/mpstubs"))
