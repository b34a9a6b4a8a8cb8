"""A real Mosquitto for tests: each test (or module) starts its own on a free loopback port.

Used by test_mqtt_broker.py (an anonymous broker written here) and test_hub*.py (the
configuration ``kampung hub broker-config`` writes, with passwords and ACL). Mosquitto 2.0 binds
to loopback and refuses anonymous clients unless the config says otherwise. The broker itself is
started by ``kampung.hub.brokerconf.start_mosquitto``, which waits until it listens.
Skipped where Mosquitto is missing: ``apt-get install -y mosquitto mosquitto-clients``.
"""

from __future__ import annotations

import getpass
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kampung.hub.brokerconf import INSTALL, start_mosquitto


def _tool(name: str) -> str | None:
    # the daemon lives in /usr/sbin, which is not on every user's PATH
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin"):
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    return None


MOSQUITTO = _tool("mosquitto")
SUB = _tool("mosquitto_sub")
PUB = _tool("mosquitto_pub")
PASSWD = _tool("mosquitto_passwd")

needs_mosquitto = [
    pytest.mark.skipif(MOSQUITTO is None, reason=f"mosquitto is not installed ({INSTALL})"),
    pytest.mark.skipif(SUB is None or PUB is None,
                       reason=f"mosquitto_sub/mosquitto_pub are not installed ({INSTALL})"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float = 10, interval: float = 0.02, what: str = "condition"):
    """Poll ``condition()`` until it returns something truthy (returned), or fail after
    ``timeout`` seconds naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"no {what} within {timeout} s (last: {value!r})")


class Lines:
    """A process's stdout, line by line, read by a thread so that waits can time out."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def next(self, timeout: float) -> str | None:
        """The next line, or None at the end of the output or after ``timeout`` seconds."""
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is not None:
            self.seen.append(line)
        return line

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


class Broker:
    """Mosquitto on ``folder/mosquitto.conf``. Without ``port`` the config is written here
    (anonymous clients allowed, no persistence, plus ``extra`` lines); with ``port`` the folder
    already holds a config listening there (``kampung hub broker-config``)."""

    def __init__(self, folder: Path, extra: str = "", port: int | None = None):
        self.folder = folder
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.auth: list[str] = []  # -u/-P for mosquitto_pub/_sub
        if port is None:
            self.port = free_port()
            # started as root, mosquitto would drop to the "mosquitto" user, who cannot read
            # files under tmp_path; naming the current user keeps it (ignored when not root)
            self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                                 f"persistence false\nuser {getpass.getuser()}\n{extra}")
        else:
            self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self):
        self.proc = start_mosquitto(self.folder)

    def stop(self, crash: bool = False):
        """SIGTERM (Mosquitto closes its connections), or with ``crash`` SIGKILL (the kernel
        resets them; whatever the broker had not handled yet is gone)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused broker cannot act on SIGTERM
            if crash:
                self.proc.kill()
            else:
                self.proc.terminate()
            self.proc.wait(timeout=10)

    def restart(self, crash: bool = False, down_s: float = 0.0):
        self.stop(crash)
        time.sleep(down_s)
        self.start()

    def pause(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)  # TCP stays up; nothing answers any more

    def resume(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def publish(self, topic: str, message: str, qos: int = 1, auth: list[str] | None = None):
        assert PUB is not None
        subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos), "-t", topic,
                        "-m", message, *(self.auth if auth is None else auth)],
                       check=True, timeout=10, capture_output=True)

    def subscribe(self, *topics: str, count: int | None = None,
                  sync_topic: str = "kit/sync") -> Lines:
        """``mosquitto_sub`` printing "RETAIN TOPIC PAYLOAD" lines, ready when this returns
        (it has received a message of ours on ``sync_topic``, which it may read and we may
        write)."""
        assert SUB is not None
        cmd = [SUB, "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-F", "%r %t %p",
               *self.auth]
        for t in topics:
            cmd += ["-t", t]
        if count is not None:
            cmd += ["-C", str(count), "-W", "10"]
            return Lines(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        cmd += ["-t", sync_topic]
        sub = Lines(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        # subscribed once a message of ours comes through
        for attempt in range(50):
            self.publish(sync_topic, f"s{attempt}", qos=0)
            line = sub.next(0.2)
            while line is not None and not line.startswith(f"0 {sync_topic} "):
                line = sub.next(0.2)
            if line is not None:
                while sub.next(0.05) is not None:  # late copies of earlier attempts
                    pass
                sub.seen.clear()
                return sub
        sub.kill()
        raise RuntimeError("mosquitto_sub did not subscribe within 10 s")
