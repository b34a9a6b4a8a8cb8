"""The kampung command dispatches to every sub-command and says what it knows."""

import subprocess
import sys
from pathlib import Path

import pytest

from kampung import cli

KAMPUNG = str(Path(sys.executable).parent / "kampung")


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_has_help(command):
    proc = subprocess.run([KAMPUNG, command, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "usage: kampung" in proc.stdout, proc.stdout + proc.stderr


def test_unknown_command_lists_the_known_ones(capsys):
    assert cli.main(["nope"]) == 2
    err = capsys.readouterr().err
    assert all(f"kampung {c}" in err for c in ("sim", "build", "deploy", "vboard")), err


def test_output_cut_short_by_a_pipe_is_not_an_error(tmp_path):
    big = tmp_path / "long.csv"  # more output than a pipe buffers (64 KiB)
    big.write_text("t_ms,distance_cm\n" + "".join(f"{i * 100},{50 + i % 7}\n" for i in range(20000)))
    proc = subprocess.run(f"{KAMPUNG} trace show {big} --rows 20000 | head -1", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() and "Traceback" not in proc.stderr, proc.stderr
