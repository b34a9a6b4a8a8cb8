"""``kampung vboard``: a virtual ESP32 on a serial port, for mpremote and ``kampung deploy``.

The MicroPython unix port runs on a pseudo-terminal with the virtual hardware loaded and a
folder as its flash. A relay between the port mpremote opens and the interpreter's terminal
makes it behave like a board: Ctrl-C interrupts ``main.py``, the raw REPL works, and when the
interpreter exits (a soft reset with Ctrl-D, ``machine.reset()``, the watchdog) the relay prints
``soft reboot`` and starts it again, which re-runs ``main.py`` as a board does after a reset.

    kampung vboard --flash /tmp/myboard        # prints the port; Ctrl-C to stop
    mpremote connect /dev/pts/N fs ls
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

from kampung import VIRTUAL, boards, runtimes
from kampung.deploy import mpremote_shown


def _raw_with_signals(fd: int) -> None:
    """Raw mode (no CR/LF translation: mpremote speaks bytes) but Ctrl-C still interrupts."""
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] |= termios.ISIG
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _take_terminal() -> None:
    """In the child, after setsid(): make its pty the controlling terminal, so that a Ctrl-C
    byte becomes SIGINT (KeyboardInterrupt), as the UART interrupt does on a board."""
    import fcntl

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class VirtualBoard:
    """Start with ``with VirtualBoard(flash) as vb:``; ``vb.port`` is the serial device."""

    def __init__(self, flash: Path, board: str = "esp32_devkitc", device: str = "blind_shoe",
                 parts: dict | None = None, start_delay_s: float = 0.0):
        self.flash = Path(flash)
        self.flash.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="kampung-vboard-")
        self.spec_path = Path(self._tmp.name) / "spec.json"
        self.events_path = Path(self._tmp.name) / "events.jsonl"
        self.spec = {"chip": boards.chip_for(board), "device": device, "parts": parts or {},
                     "reset_cause": 1}
        self.boots = 0
        self.start_delay_s = start_delay_s  # tests: a slow machine between reset and interpreter
        self._stop = threading.Event()
        self._user, user_slave = pty.openpty()
        tty.setraw(user_slave)
        self._user_slave = user_slave
        self.port = os.ttyname(user_slave)
        self._proc: subprocess.Popen | None = None
        self._mp = -1
        self._raw = False
        # bytes from the port held back while a new interpreter starts: a Ctrl-C that reached it
        # before MicroPython installs its SIGINT handler would kill it instead of interrupting
        # main.py, and the Ctrl-A after it would be lost (mpremote then waits for ever)
        self.up_path = Path(self._tmp.name) / "up"
        self.reset_path = Path(self._tmp.name) / "reset"  # main.py reset the board: the cause
        self._held = b""
        self._thread = threading.Thread(target=self._relay, daemon=True)

    def __enter__(self):
        self._spawn(first=True)
        self._thread.start()
        return self

    def events(self) -> list[dict]:
        """The board's event log so far (every boot, pin, screen...), oldest first; a line still
        being written is left for the next call."""
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip().endswith("}")]

    def screens_after_boot(self, seen: int, kind: str, timeout: float = 30) -> tuple[list[dict], list[dict]]:
        """Wait until the board has booted again after its first ``seen`` events and shown a
        screen (events of ``kind``: "lcd", "oled") since: (the events after ``seen``, those
        screens), the screens empty when ``timeout`` s passed first. A device is seen running
        from its own event log, without the REPL (which would stop it again)."""
        deadline = time.monotonic() + timeout
        while True:
            later = self.events()[seen:]
            boots = [i for i, e in enumerate(later) if e["kind"] == "boot"]
            screens = [e for e in later[boots[-1]:] if e["kind"] == kind] if boots else []
            if screens or time.monotonic() > deadline:
                return later, screens
            time.sleep(0.1)

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._mp, self._user, self._user_slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._tmp.cleanup()

    def _spawn(self, first: bool = False, raw: bool = False):
        self.spec["skip_main"] = raw
        self.spec_path.write_text(json.dumps(self.spec))
        self.up_path.unlink(missing_ok=True)
        master, slave = pty.openpty()
        _raw_with_signals(slave)
        cmd, env = runtimes.command("micropython", VIRTUAL / "vboard_boot.py", [])
        cmd.insert(1, "-i")
        if self.start_delay_s:
            cmd = ["sh", "-c", 'sleep "$0"; exec "$@"', str(self.start_delay_s), *cmd]
        # the board's own files come from its flash folder, not from the repository
        env["MICROPYPATH"] = os.pathsep.join([str(VIRTUAL), ".frozen"])
        env["KAMPUNG_VBOARD_SPEC"] = str(self.spec_path)
        env["KAMPUNG_VBOARD_EVENTS"] = str(self.events_path)
        env["KAMPUNG_VBOARD_UP"] = str(self.up_path)
        env["KAMPUNG_VBOARD_RESET"] = str(self.reset_path)
        self._proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                      cwd=self.flash, close_fds=True, start_new_session=True,
                                      preexec_fn=_take_terminal)
        os.close(slave)
        self._mp = master
        self.boots += 1
        self._raw = False
        if raw:
            os.write(master, b"\x01")  # read by the REPL once the interpreter is up

    def _relay(self):
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._user, self._mp], [], [], 0.02)
            except (OSError, ValueError):
                return
            if self._user in ready:
                try:
                    data = os.read(self._user, 4096)
                except OSError:  # the client closed the port (EIO until someone opens it)
                    time.sleep(0.01)
                    data = b""
                if data:
                    if b"\x02" in data:
                        self._raw = False  # Ctrl-B leaves the raw REPL
                    self._held += data
            if self._held and self.up_path.exists():
                try:
                    os.write(self._mp, self._held)
                except OSError:
                    pass
                self._held = b""
            if self._mp in ready:
                try:
                    data = os.read(self._mp, 4096)
                except OSError:
                    data = b""
                if data:
                    if b"raw REPL; CTRL-B to exit" in data:
                        self._raw = True
                    self._to_user(data)
            proc = self._proc
            forced = None
            if proc is not None and self.reset_path.exists() and proc.poll() is None:
                # main.py reset the board, but under `micropython -i` its exit only reaches
                # the REPL: end the interpreter here, as a reset ends everything on a board
                try:
                    forced = 100 + int(self.reset_path.read_text() or "1")
                except ValueError:
                    forced = 101
                self.reset_path.unlink(missing_ok=True)
                proc.kill()
                proc.wait()
            if proc is not None and proc.poll() is not None and not self._stop.is_set():
                self._drain()
                code = proc.returncode if forced is None else forced
                # exit codes 100+cause come from vboard_boot (machine.reset, watchdog, ...)
                soft = code < 100
                self.spec["reset_cause"] = 5 if soft else code - 100  # 5 = SOFT_RESET
                os.close(self._mp)
                self._to_user(b"soft reboot\r\n")
                # a soft reset from the raw REPL comes back to the raw REPL without running
                # main.py, as on a board (that is how mpremote gets a clean interpreter)
                self._spawn(raw=soft and self._raw)

    def _drain(self):
        while True:
            ready, _, _ = select.select([self._mp], [], [], 0)
            if not ready:
                return
            try:
                data = os.read(self._mp, 4096)
            except OSError:
                return
            if not data:
                return
            self._to_user(data)

    def _to_user(self, data: bytes):
        try:
            os.write(self._user, data)
        except OSError:
            pass  # nobody has the port open: a board's UART output is lost the same way


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung vboard", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--flash", type=Path, help="folder that is the board's flash (default: a temporary one)")
    ap.add_argument("--board", default="esp32_devkitc")
    ap.add_argument("--device", default="blind_shoe")
    args = ap.parse_args(argv)
    flash = args.flash or Path(tempfile.mkdtemp(prefix="kampung-flash-"))

    def stop(*_):
        raise KeyboardInterrupt  # SIGTERM stops the board as Ctrl-C does: no interpreter left

    signal.signal(signal.SIGTERM, stop)
    with VirtualBoard(flash, args.board, args.device) as vb:
        print(f"virtual {args.board} on {vb.port} (flash: {flash}); Ctrl-C to stop", flush=True)
        print(f"try: {mpremote_shown()} connect {vb.port} fs ls", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
