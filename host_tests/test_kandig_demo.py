"""``make kandig-demo`` (``kampung hub demo``): broker, hub and virtual houses running the real
firmware on MicroPython; one alarm's timeline is printed and the hub shows the ack. Once on
Mosquitto as a user runs it (a process, through the CLI), once on the embedded amqtt fallback."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
from broker import MOSQUITTO

from kampung.hub import brokerconf, demo


def _check_story(out: str, houses: int):
    others = [f"h{i:02d}" for i in range(1, houses + 1) if f"h{i:02d}" != "h02"]
    assert re.search(r"h02\s+alarm button pressed", out), out
    assert re.search(r"h02\s+SIREN ON", out), out
    assert re.search(r"h02\s+alert published: h02-1 maling", out), out
    for h in others:
        assert re.search(rf"{h}\s+SIREN ON", out), f"{h} never sounded:\n{out}"
        assert re.search(rf"{h}\s+alert received: h02-1 maling from h02", out), out
    assert f"Every other house ({houses - 1}) sounded" in out, out
    assert "heard by h01" in out, out
    # --once stops the hub too: no dead dashboard address advertised at the end
    assert re.search(r"Hub and dashboard on http://127\.0\.0\.1:\d+", out), out
    assert "--once: the neighbourhood stops now" in out and "Dashboard:" not in out, out
    # the local siren comes before the network: at the first strike, long before the publish
    lines = out.splitlines()
    siren = next(i for i, x in enumerate(lines) if re.search(r"h02\s+SIREN ON", x))
    published = next(i for i, x in enumerate(lines) if "alert published" in x)
    assert siren < published, out


@pytest.mark.skipif(MOSQUITTO is None, reason=f"mosquitto is not installed ({brokerconf.INSTALL})")
def test_demo_on_mosquitto_as_a_user_runs_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kampung.cli", "hub", "demo", "--once",
                           "--houses", "3", "--dir", str(tmp_path / "demo"), "--http-port", "0"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Broker (mosquitto)" in proc.stdout, proc.stdout
    _check_story(proc.stdout, 3)
    assert (tmp_path / "demo" / "broker" / "acl").is_file(), "the demo runs on broker-config's files"


def test_demo_falls_back_to_the_embedded_broker_and_says_so(tmp_path, monkeypatch, capsys):
    def missing():
        raise brokerconf.BrokerError(f"mosquitto is not installed: {brokerconf.INSTALL}")

    monkeypatch.setattr(brokerconf, "mosquitto_binary", missing)
    args = argparse.Namespace(houses=2, runtime="micropython", dir=tmp_path / "demo",
                              http_port=0, once=True)
    assert demo.main(args) == 0
    out = capsys.readouterr().out
    assert "Mosquitto is not installed" in out and "amqtt" in out, out
    assert "Broker (amqtt)" in out, out
    _check_story(out, 2)


@pytest.mark.skipif(MOSQUITTO is None, reason=f"mosquitto is not installed ({brokerconf.INSTALL})")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_demo_stops_the_houses_then_the_hub_then_the_broker(tmp_path, sig):
    """Found by a newcomer on 2026-12-04: Ctrl-C reached Mosquitto with the demo, so the hub lost
    its broker first and printed an ERROR on a normal stop. Ctrl-C goes to the terminal's whole
    process group (here: killpg); a second one during the stop must not leave processes behind."""
    proc = subprocess.Popen([sys.executable, "-m", "kampung.cli", "hub", "demo", "--houses", "2",
                             "--dir", str(tmp_path / "demo"), "--http-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines = []
    assert proc.stdout is not None

    def send():
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # as a terminal does
        else:
            proc.send_signal(sig)  # as timeout(1) or a service manager does

    for line in proc.stdout:
        lines.append(line)
        if "stops the neighbourhood" in line:
            send()
        if line.startswith(("stopping", "stopped")):
            send()  # impatient: again, while it stops
            break
    rest, _ = proc.communicate(timeout=60)
    out = "".join(lines) + rest
    assert proc.returncode == 0 and ("stopping" in out or "stopped" in out), out
    assert "ERROR" not in out and "Traceback" not in out, out
    port = int(re.search(r"on 127\.0\.0\.1:(\d+)", lines[0]).group(1))  # type: ignore[union-attr]
    with pytest.raises(OSError):  # the broker is gone
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
