"""A neighbourhood of virtual Kandig houses: the real firmware on MicroPython (or CPython), each
house in its own process with its own flash folder, in real time, talking to a real broker.

Each house reaches the broker through its own access point: a TCP relay in this process that
can lose the house's link the way a Wi-Fi drop does (packets stop; nothing is closed; when the
link returns, the dead connections are gone). ``wifi(house, False)`` also tells the house's
virtual ``network.WLAN`` that the access point is gone; ``wifi(house, False, radio=True)``
keeps ``isconnected()`` True while no packet gets through, the case where only real traffic
tells. Buttons are pressed through the houses' control files (see vhw/sim.py), so a test or
the demo acts while the houses run.

    with Neighbourhood("rt05", ["h01", "h02"], broker_port=port, passwords=pw) as nb:
        nb.wait_online(["h01", "h02"])
        nb.press("h01", times=2)          # two strikes: maling
        nb.wait_for(lambda: nb.siren_on("h02"))
"""

from __future__ import annotations

import json
import selectors
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from kampung import VIRTUAL, runtimes
from kampung.sim import build_spec


class AccessPoint:
    """A TCP relay 127.0.0.1:port -> broker that can go dark."""

    def __init__(self, broker: tuple[str, int]):
        self.broker = broker
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.connections = 0  # accepted from the house, in all
        self._stop = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def set_up(self, up: bool):
        with self._lock:
            if up and not self.up:
                # the link is back, but TCP connections that lived through the outage are dead
                for a, b in self.pairs:
                    for s in (a, b):
                        try:
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                            s.close()
                        except OSError:
                            pass
                self.pairs = []
            self.up = up

    def close(self):
        self._stop = True
        self._thread.join(timeout=2)
        for a, b in self.pairs:
            a.close()
            b.close()
        self.listener.close()

    def _run(self):
        sel = selectors.DefaultSelector()
        self.listener.setblocking(False)
        sel.register(self.listener, selectors.EVENT_READ)
        registered: set = set()
        while not self._stop:
            with self._lock:
                live = {s for pair in self.pairs for s in pair}
            for s in list(registered - live):
                try:
                    sel.unregister(s)
                except (KeyError, ValueError, OSError):
                    pass
                registered.discard(s)
            if self.up:
                for s in live - registered:
                    try:
                        sel.register(s, selectors.EVENT_READ)
                        registered.add(s)
                    except (ValueError, OSError):
                        pass
            else:  # dark: nothing is read, so nothing is forwarded either way
                for s in list(registered):
                    sel.unregister(s)
                    registered.discard(s)
            for key, _ in sel.select(0.01):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                if s is self.listener:
                    try:
                        house, _ = self.listener.accept()
                    except OSError:
                        continue
                    self.connections += 1
                    if not self.up:
                        with self._lock:  # accepted by the loopback, never answered
                            self.pairs.append((house, socket.socket()))
                        continue
                    try:
                        broker = socket.create_connection(self.broker, timeout=2)
                    except OSError:
                        house.close()  # the broker is down: the house sees a refusal
                        continue
                    for x in (house, broker):
                        x.setblocking(False)
                        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    with self._lock:
                        self.pairs.append((house, broker))
                    continue
                with self._lock:
                    pair = next((p for p in self.pairs if s in p), None)
                if pair is None:
                    continue
                other = pair[1] if s is pair[0] else pair[0]
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    try:
                        other.setblocking(True)
                        other.sendall(data)
                        other.setblocking(False)
                        continue
                    except OSError:
                        pass
                with self._lock:  # one side closed: close the other, as a router would pass on
                    if pair in self.pairs:
                        self.pairs.remove(pair)
                for x in pair:
                    try:
                        x.close()
                    except OSError:
                        pass
        sel.close()


class House:
    def __init__(self, name: str, root: Path):
        self.name = name
        self.flash = root / name / "flash"
        self.events_path = root / name / "events.jsonl"
        self.control = root / name / "control.jsonl"
        self.console = root / name / "console.txt"
        self.proc: subprocess.Popen | None = None
        self.ap: AccessPoint | None = None
        self._seen = 0
        self._events: list[dict] = []
        self.epoch_ms: int | None = None

    def events(self) -> list[dict]:
        """Every event so far (read incrementally from the house's log)."""
        if self.events_path.exists():
            with self.events_path.open("rb") as f:
                f.seek(self._seen)
                data = f.read()
            end = data.rfind(b"\n") + 1
            self._seen += end
            for line in data[:end].splitlines():
                if line.strip():
                    e = json.loads(line)
                    if e.get("kind") == "realtime":
                        self.epoch_ms = e["epoch_ms"]
                    self._events.append(e)
        return self._events

    def wall_ms(self, event: dict) -> float:
        """An event's time on the host's wall clock (ms since the epoch)."""
        if self.epoch_ms is None:
            self.events()
        return (self.epoch_ms or 0) + event["t_ms"]

    def send(self, item: dict):
        with self.control.open("a") as f:
            f.write(json.dumps(item) + "\n")


class Neighbourhood:
    """Start houses with ``with Neighbourhood(...) as nb:``; they stop at the end of the block."""

    def __init__(self, net: str, houses: list[str], *, broker_port: int, passwords: dict[str, str],
                 broker_host: str = "127.0.0.1", runtime: str = "micropython",
                 config: dict | None = None, workdir: Path | None = None,
                 duration_ms: int = 3600 * 1000, heap_kb: int | None = None,
                 roots: tuple[Path, Path] | None = None, direct: bool = False,
                 extra: dict | None = None, parts: dict | None = None):
        """``direct``: the houses connect straight to the broker, without an access point each
        (no Wi-Fi loss to model; one relay thread per house would load the host when hundreds
        of houses run, as the benchmarks do). ``extra``: more keys for the houses' sim spec
        (for example ``heap_probe``). ``parts``: the scenario's part settings (docs/scenarios.md),
        e.g. ``{"lcd": {"addr": None}}`` for houses without an LCD."""
        self.net = net
        self.broker = (broker_host, broker_port)
        self.passwords = passwords
        self.runtime = runtime
        self.config = config or {}
        self.duration_ms = duration_ms
        self.heap_kb = heap_kb
        self.roots = roots
        self.direct = direct
        self.extra = extra or {}
        self.parts = parts or {}
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kampung-houses-")
            workdir = Path(self._tmp.name)
        self.root = Path(workdir)
        self.houses = {name: House(name, self.root) for name in houses}

    def __enter__(self):
        for name in self.houses:
            self.start(name)
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, name: str):
        """Start (or restart after ``kill``) one house; its flash folder is kept."""
        house = self.houses[name]
        if house.ap is None and not self.direct:
            house.ap = AccessPoint(self.broker)
        house.flash.mkdir(parents=True, exist_ok=True)
        house.control.write_text("")
        cfg = {"net": self.net, "house": name}
        cfg.update(self.config)
        scenario = {"device": "kandig", "config": {"kandig": cfg}, "parts": self.parts}
        spec = build_spec(scenario, device="kandig", board="esp32_devkitc", trace=None,
                          flash=house.flash, out=house.events_path, duration_ms=self.duration_ms)
        secrets = {"wifi_ssid": "kampung-" + self.net, "wifi_password": "virtual-ap",
                   "mqtt_host": "127.0.0.1", "mqtt_user": name,
                   "mqtt_password": self.passwords.get(name, "")}
        (house.flash / "secrets.json").write_text(json.dumps(secrets))
        cfgfile = json.loads((house.flash / "config.json").read_text())
        cfgfile["kandig"]["mqtt_port"] = house.ap.port if house.ap else self.broker[1]
        (house.flash / "config.json").write_text(json.dumps(cfgfile))
        spec.update({"realtime": True, "control": str(house.control), "log_pings": False})
        spec.update(self.extra)
        spec_path = house.flash.parent / "spec.json"
        spec_path.write_text(json.dumps(spec))
        if house.events_path.exists():
            house.events_path.unlink()
        house._seen, house._events, house.epoch_ms = 0, [], None
        script = (self.roots[0] if self.roots else VIRTUAL) / "simrun.py"
        cmd, env = runtimes.command(self.runtime, script, [str(spec_path)], heap_kb=self.heap_kb,
                                    roots=self.roots)
        house.proc = subprocess.Popen(cmd, env=env, stdout=house.console.open("w"),
                                      stderr=subprocess.STDOUT, cwd=house.flash)

    def kill(self, name: str):
        """Cut the house's power: the process ends at once (the broker sees no DISCONNECT)."""
        house = self.houses[name]
        if house.proc is not None and house.proc.poll() is None:
            house.proc.kill()
            house.proc.wait()

    def close(self):
        for name, house in self.houses.items():
            self.kill(name)
            if house.ap is not None:
                house.ap.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- acting -----------------------------------------------------------------------------

    def press(self, name: str, button: str = "alarm_button", times: int = 1, press_ms: int = 120,
              gap_s: float = 0.35):
        for i in range(times):
            if i:
                time.sleep(gap_s)
            self.houses[name].send({"part": button, "press_ms": press_ms})

    def wifi(self, name: str, up: bool, radio: bool = False):
        """Take the house's link away (or give it back). ``radio=True``: the station still
        believes it is associated (isconnected() True); only traffic stops."""
        house = self.houses[name]
        assert house.ap is not None
        house.ap.set_up(up)
        if not radio:
            house.send({"part": "wifi", "state": "up" if up else "down"})

    # -- observing --------------------------------------------------------------------------

    def logs(self, name: str) -> list[str]:
        return [e["text"] for e in self.houses[name].events() if e.get("kind") == "log"]

    def siren_edges(self, name: str) -> list[dict]:
        return [e for e in self.houses[name].events() if e.get("part") == "siren" and e.get("kind") == "pin"]

    def siren_on(self, name: str, after_ms: float = 0) -> dict | None:
        """The first siren-on edge of the house at or after the wall time ``after_ms``."""
        house = self.houses[name]
        for e in self.siren_edges(name):
            if e["value"] == 1 and house.wall_ms(e) >= after_ms:
                return e
        return None

    def online(self, name: str) -> bool:
        found = False
        for text in self.logs(name):
            if "kandig: online" in text:
                found = True
            elif "kandig: offline" in text:
                found = False
        return found

    def wait_online(self, names: list[str] | None = None, timeout: float = 30):
        names = names or list(self.houses)
        self.wait_for(lambda: all(self.online(n) for n in names), timeout,
                      lambda: "not online: " + ", ".join(n for n in names if not self.online(n)))

    def wait_for(self, cond, timeout: float = 30, what=None):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = cond()
            if got:
                return got
            for name, house in self.houses.items():
                if house.proc is not None and house.proc.poll() not in (None, -9):
                    raise RuntimeError(f"house {name} stopped (exit {house.proc.returncode}):\n"
                                       + house.console.read_text()[-3000:])
            time.sleep(0.02)
        detail = what() if callable(what) else (what or "condition")
        consoles = "\n".join(f"--- {n}\n" + "\n".join(self.logs(n)[-15:]) for n in self.houses)
        raise TimeoutError(f"waited {timeout} s for {detail}\n{consoles}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


