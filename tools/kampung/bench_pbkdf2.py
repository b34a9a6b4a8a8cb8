"""Cost of one Kuword PIN check (kit.pbkdf2 with DEFAULT_ITERATIONS) on the real MicroPython
unix interpreter, in milliseconds and in plain SHA-256 hashes of 64 bytes.

The ratio (one check = N hashes) does not depend much on the machine: it is what lets a
workshop member turn "one hashlib.sha256 of 64 bytes takes T us on my board" into the cost of
one check there (docs/pin-store.md). The interpreter runs with firmware/lib on its path but
without the virtual hardware, so ``time`` is the real clock, not the virtual board's.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from kampung import FIRMWARE, runtimes

# Runs inside MicroPython: one line of JSON per run, each run timing one check and then a batch
# of plain hashes (interleaved, so both see the same load on a busy machine).
_SCRIPT = """
import hashlib, json, sys, time
from kit import pbkdf2

runs, batch = int(sys.argv[1]), int(sys.argv[2])
n = pbkdf2.DEFAULT_ITERATIONS
salt = b"0123456789abcdef"
block = bytes(range(64))
sha = hashlib.sha256
pbkdf2.pbkdf2_sha256(b"123456", salt, 50)  # warm up: imports, first allocations
for _ in range(runs):
    t0 = time.ticks_us()
    pbkdf2.pbkdf2_sha256(b"123456", salt, n)
    check_us = time.ticks_diff(time.ticks_us(), t0)
    t0 = time.ticks_us()
    for _ in range(batch):
        sha(block).digest()
    hashes_us = time.ticks_diff(time.ticks_us(), t0)
    t0 = time.ticks_us()
    for _ in range(batch):
        pass
    loop_us = time.ticks_diff(time.ticks_us(), t0)
    print(json.dumps({"iterations": n, "check_us": check_us,
                      "sha_us": (hashes_us - loop_us) / batch}))
"""


def measure(runs: int = 15, batch: int = 2000) -> dict:
    """Median of ``runs`` runs in one ``micropython`` process: {"iterations" per check,
    "check_ms" wall time of one check, "sha256_64_us" one hashlib.sha256(64 bytes).digest()
    (loop overhead subtracted), "check_in_hashes" their ratio (median of the per-run ratios),
    "hashes_per_iteration", "per_iteration_us", "runs"}."""
    with tempfile.TemporaryDirectory(prefix="kampung-pbkdf2-") as tmp:
        script = Path(tmp) / "pbkdf2_bench.py"
        script.write_text(_SCRIPT)
        # roots: the temporary folder stands in for the virtual hardware, so the real `time`
        proc = runtimes.run("micropython", script, [str(runs), str(batch)], roots=(Path(tmp), FIRMWARE),
                            timeout=300, cwd=Path(tmp))
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(rows) != runs:
        raise RuntimeError("PBKDF2 benchmark failed (exit %d):\n%s" % (proc.returncode,
                                                                       proc.stdout + proc.stderr))
    n = rows[0]["iterations"]
    check_us = statistics.median(r["check_us"] for r in rows)
    ratio = statistics.median(r["check_us"] / r["sha_us"] for r in rows)
    return {
        "iterations": n,
        "check_ms": round(check_us / 1000, 2),
        "sha256_64_us": round(statistics.median(r["sha_us"] for r in rows), 3),
        "check_in_hashes": round(ratio),
        "hashes_per_iteration": round(ratio / n, 2),
        "per_iteration_us": round(check_us / n, 3),
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
