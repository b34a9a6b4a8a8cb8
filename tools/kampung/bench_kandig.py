"""Kandig benchmarks (part of ``make bench``): press-to-siren latency across a neighbourhood of
virtual houses through a real Mosquitto on loopback, next to a raw publish-to-subscribe
baseline measured in the same run, and the house unit's heap with the network up.

Latency: N houses run the real firmware (MicroPython, mpy-cross compiled), each in its own
process, in real time (tools/kampung/houses.py). Presses go to ``presses`` different houses
(one button per alert type, so the alert leaves at the press). For every other house:
- press -> siren: the pressing house's button input to that house's siren pin; includes the
  pressing house's 30 ms debounce and its 10 ms button poll;
- publish -> siren: the pressing house's "alert" log line to the siren pin: the network path
  the baseline is compared with. The line is stamped when the button task's step that raised
  the alert began; the socket write follows about 0.4 ms later on an idle machine (the own
  siren, the outbox written to flash, the line itself), which the figure includes.
Both ends are the houses' own event stamps on the host's wall clock (the virtual clock follows
the host's in real time, vhw/runtime.py). Stamps are whole milliseconds (``t_ms``), so each
figure is +-1 ms; p50s are not biased by it, p99s are widened by up to that much.

Baselines, in the same run, on the same broker, ACL and payload size, QoS 1:
- N - 1 bare MicroPython subscriber processes (tools/kampung/bench_sub.py; the target's
  reference): a blocking socket loop, as many processes as houses, so the fan-out and the
  process scheduling on this machine's cores are the same, without the firmware. They run
  beside the houses and their rounds alternate with the presses, so both figures see the same
  machine (another job's load weighs on both; so does the idle houses' own, a few per cent);
- the same processes alone, before the houses start (what the path costs on an otherwise idle
  machine; hundreds of idle houses beside them widen it);
- N - 1 subscriber sockets in this process (no process scheduling at all), before the houses.
Publish is the publisher's socket write (host clock, ns), arrival the subscriber's read.

All processes share the machine's cores with the broker: the figures say what a two-core
machine gives for N full interpreters woken by one message (the last house waits for the CPU
the others spend on the alert), not what N ESP32s on Wi-Fi give. Each phase also reports how
busy the machine was with other processes (``*_other_cores``): a build or test running
meanwhile widens both. The houses' flash folders and event logs are on a RAM
disk when the machine has one (/dev/shm), so disk syncs are not part of the figure.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from kampung.houses import Neighbourhood, free_port
from kampung.hub import brokerconf

NET = "bench"


class Broker:
    """Mosquitto on ``kampung hub broker-config``'s files for ``houses``: passwords and ACL, as
    in a neighbourhood (the ACL is checked on every message, so it is part of the figure)."""

    def __init__(self, folder: Path, houses: list[str]):
        self.port = free_port()
        self.passwords = brokerconf.write(folder, NET, houses, self.port, "127.0.0.1")
        self.hub_password = (folder / "hub.password").read_text().strip()
        self.proc = brokerconf.start_mosquitto(folder)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: bytes) -> bytes:
    return struct.pack("!H", len(s)) + s


def _connect(port: int, cid: str, user: str, password: str) -> socket.socket:
    """A raw MQTT 3.1.1 connection (clean session, user and password), CONNACK checked."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = (_str(b"MQTT") + b"\x04\xc2" + struct.pack("!H", 60) + _str(cid.encode())
            + _str(user.encode()) + _str(password.encode()))
    s.sendall(b"\x10" + _length(len(body)) + body)
    if s.recv(4) != b"\x20\x02\x00\x00":
        raise RuntimeError("the broker refused the baseline client")
    return s


def baseline(broker: Broker, n: int, rounds: int, payload_len: int = 110) -> list[float]:
    """Publish -> arrival (ms) at each of ``n`` raw subscribers, ``rounds`` times: plain
    sockets in this process, QoS 1, a payload the size of an alert, through the same broker
    and ACL (as the hub user: it may read and write the whole neighbourhood)."""
    topic = f"kandig/v1/{NET}/bench".encode()
    subs = []
    for i in range(n):
        s = _connect(broker.port, f"base-sub-{i}", "hub", broker.hub_password)
        body = struct.pack("!H", 1) + _str(topic) + b"\x01"
        s.sendall(b"\x82" + _length(len(body)) + body)
        s.recv(5)  # SUBACK
        s.setblocking(False)
        subs.append(s)
    pub = _connect(broker.port, "base-pub", "hub", broker.hub_password)
    sel = selectors.DefaultSelector()
    for s in subs:
        sel.register(s, selectors.EVENT_READ)
    samples: list[float] = []
    for r in range(rounds + 1):  # round 0 warms the connections up and is not counted
        body = _str(topic) + struct.pack("!H", r + 1) + b"x" * payload_len
        got: set = set()
        t0 = time.perf_counter()
        pub.sendall(b"\x32" + _length(len(body)) + body)
        end = t0 + 10
        while len(got) < n and time.perf_counter() < end:
            for key, _ in sel.select(1):
                s = key.fileobj
                assert isinstance(s, socket.socket)
                data = s.recv(65536)
                if data and s not in got:
                    got.add(s)
                    if r:
                        samples.append((time.perf_counter() - t0) * 1000)
                    if data[0] & 0x06:  # QoS 1: acknowledge, as a house does
                        pid = data[4 + len(topic): 6 + len(topic)]
                        s.sendall(b"\x40\x02" + pid)
        time.sleep(0.2)
    for s in subs + [pub]:
        s.close()
    return samples


def _busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, from /proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


class OtherLoad:
    """How busy the machine was with processes that are not part of the measurement (another
    job, a build): the cores busy in all, less the CPU of ``pids`` (this process, the broker,
    the houses or subscribers), over the time between ``start()`` and ``stop()``. The two
    phases of a latency figure, baseline and houses, are only comparable when both are near 0."""

    def __init__(self, pids: list[int]):
        self.pids = [os.getpid()] + pids
        self.spent = 0.0
        self.wall = 0.0
        self._t = 0.0

    def _ours(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                total += _cpu_s(pid)
            except OSError:
                pass  # ended
        return total

    def start(self):
        self._t = time.monotonic()
        self._busy, self._mine = _busy_s(), self._ours()

    def stop(self):
        self.wall += time.monotonic() - self._t
        self.spent += (_busy_s() - self._busy) - (self._ours() - self._mine)

    @property
    def cores(self) -> float:
        return round(max(0.0, self.spent / self.wall), 2) if self.wall else 0.0


def _ram_dir() -> str | None:
    """A RAM-backed folder for the houses' flash folders and event logs, when the machine has one:
    the virtual board syncs each event line to its file (MicroPython's flush is fsync), and on a
    disk each sync waits for the journal, shared by every house: the disk is then part of the
    figure, which is about the network and the firmware."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class SubscriberProcesses:
    """``n`` bare subscribers, each its own MicroPython process (tools/kampung/bench_sub.py), as
    each house is: the same fan-out and the same process scheduling on this machine's cores,
    without the firmware or the virtual board; and a publisher (a raw socket here).
    ``send(r)`` publishes round ``r`` (a payload the size of an alert, QoS 1); ``finish()``
    returns publish -> arrival (ms) at every subscriber for every round but round 0 (it warms
    the connections up)."""

    def __init__(self, broker: Broker, n: int, payload_len: int = 110):
        from kampung import runtimes

        self.topic = f"kandig/v1/{NET}/bench"
        self.payload_len = payload_len
        script = Path(__file__).with_name("bench_sub.py")
        self.procs: list[subprocess.Popen] = []
        for i in range(n):
            # the bare interpreter: not the virtual board's path (its time.py is the virtual clock)
            cmd = [runtimes.micropython_binary(), str(script), str(broker.port), f"base-proc-{i}",
                   "hub", broker.hub_password, self.topic]
            self.procs.append(subprocess.Popen(cmd, env=dict(os.environ, MICROPYPATH=".frozen"),
                                               stdout=subprocess.PIPE, text=True))
        for p in self.procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                self.kill()
                raise RuntimeError("a baseline subscriber did not start")
        self.pub = _connect(broker.port, "base-proc-pub", "hub", broker.hub_password)
        self.sent: dict[int, int] = {}

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def send(self, r: int):
        body = (_str(self.topic.encode()) + struct.pack("!H", r % 65535 + 1) + f"{r} ".encode()
                + b"x" * self.payload_len)
        self.sent[r] = time.time_ns()
        self.pub.sendall(b"\x32" + _length(len(body)) + body)

    def finish(self) -> list[float]:
        body = _str(self.topic.encode()) + struct.pack("!H", 65535) + b"end"
        self.pub.sendall(b"\x32" + _length(len(body)) + body)
        samples: list[float] = []
        for p in self.procs:
            out, _ = p.communicate(timeout=30)
            for line in out.splitlines():
                r, ns = line.split()
                if int(r):
                    samples.append((int(ns) - self.sent[int(r)]) / 1e6)
        self.pub.close()
        return samples

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def baseline_processes(broker: Broker, n: int, rounds: int, payload_len: int = 110,
                       load: OtherLoad | None = None) -> list[float]:
    """Publish -> arrival (ms) at each of ``n`` SubscriberProcesses, ``rounds`` rounds 0.3 s
    apart, on their own. ``load`` (OtherLoad) is given the subscribers and measures the other
    processes' load while the messages go out."""
    subs = SubscriberProcesses(broker, n, payload_len)
    try:
        if load is not None:
            load.pids += subs.pids
            load.start()
        for r in range(rounds + 1):
            subs.send(r)
            time.sleep(0.3)
        if load is not None:
            load.stop()
        return subs.finish()
    finally:
        subs.kill()


def _pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return round(v[min(len(v) - 1, int(p / 100 * len(v)))], 1) if v else float("nan")


def latency(n: int, presses: int, roots=None, runtime: str = "micropython") -> dict:
    """Press -> siren and publish -> siren in every other house, and the baselines, for n houses.

    The bare subscriber processes run beside the houses, and their rounds alternate with the
    presses (two rounds after each press's sirens have ended): both figures are taken on the
    same machine at the same times, so a load that comes and goes (another job) weighs on
    both alike. The idle houses are part of that load (about 0.4 ms of CPU a second each)."""
    names = [f"h{i:03d}" for i in range(1, n + 1)]
    rounds = max(presses, 20)
    per_press = -(-rounds // presses)
    with tempfile.TemporaryDirectory(prefix="kampung-bench-kandig-", dir=_ram_dir()) as tmp:
        broker = Broker(Path(tmp) / "broker", names)
        subs = None
        try:
            base = baseline(broker, n - 1, rounds)
            alone_load = OtherLoad([broker.proc.pid])
            alone = baseline_processes(broker, n - 1, rounds, load=alone_load)
            subs = SubscriberProcesses(broker, n - 1)
            cfg = {"button_types": {"alarm_button": "maling"}, "beat_s": 3600, "keepalive_s": 60,
                   "siren_s": 5, "own_siren_s": 5}  # every siren ends before the next press
            # presses are read from the control files once a second: the figures count from the
            # press as the house applied it, so a slower poll only spares the houses' CPU
            with Neighbourhood(NET, names, broker_port=broker.port, passwords=broker.passwords,
                               runtime=runtime, config=cfg, roots=roots, direct=True,
                               parts={"lcd": {"addr": None}}, extra={"control_every_ms": 1000},
                               workdir=Path(tmp) / "houses") as nb:
                started = time.monotonic()
                nb.wait_online(timeout=60 + n)
                online_s = time.monotonic() - started
                ours = [broker.proc.pid] + subs.pids + [h.proc.pid for h in nb.houses.values()
                                                        if h.proc is not None]
                base_load, house_load = OtherLoad(ours), OtherLoad(ours)
                subs.send(0)  # warms the connections up; not counted
                time.sleep(0.3)
                sent = 1
                press_lat: list[float] = []
                pub_lat: list[float] = []
                step = max(1, n // presses)
                for k in range(presses):
                    for _ in range(per_press if sent <= rounds else 0):
                        base_load.start()
                        subs.send(sent)
                        time.sleep(0.3)
                        base_load.stop()
                        sent += 1
                    who = names[k * step]
                    house = nb.houses[who]
                    mark = len(house.events())
                    house_load.start()
                    nb.press(who)
                    pressed = nb.wait_for(lambda h=house, m=mark: next(
                        (e for e in h.events()[m:] if e.get("kind") == "input"), None), 10)
                    alert = nb.wait_for(lambda h=house, m=mark: next(
                        (e for e in h.events()[m:] if e.get("kind") == "log"
                         and "kandig: alert" in e["text"]), None), 10)
                    t_press, t_pub = house.wall_ms(pressed), house.wall_ms(alert)
                    others = [x for x in names if x != who]
                    nb.wait_for(lambda o=others, t=t_press: all(nb.siren_on(x, t) for x in o),
                                30 + n / 5, "every siren")
                    house_load.stop()
                    for x in others:
                        on = nb.siren_on(x, t_press)
                        assert on is not None
                        press_lat.append(nb.houses[x].wall_ms(on) - t_press)
                        pub_lat.append(nb.houses[x].wall_ms(on) - t_pub)
                    time.sleep(6)  # the sirens end (siren_s 5) before the next round
            base_proc = subs.finish()
        finally:
            if subs is not None:
                subs.kill()
            broker.stop()
    return {"houses": n, "samples": len(press_lat), "online_s": round(online_s, 1),
            "press_p50": _pct(press_lat, 50), "press_p99": _pct(press_lat, 99),
            "pub_p50": _pct(pub_lat, 50), "pub_p99": _pct(pub_lat, 99),
            "base_p50": _pct(base, 50), "base_p99": _pct(base, 99),
            "proc_p50": _pct(base_proc, 50), "proc_p99": _pct(base_proc, 99),
            "alone_p50": _pct(alone, 50), "alone_p99": _pct(alone, 99),
            "proc_other_cores": base_load.cores, "house_other_cores": house_load.cores,
            "alone_other_cores": alone_load.cores}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _hub_state(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/state", timeout=10) as r:
        return json.loads(r.read())


def _wait(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise TimeoutError(f"waited {timeout} s for {what}")


def hub_ingest(rate: int = 575, seconds: float = 10.0, houses: int = 200,
               flood: int = 20000) -> dict:
    """``kampung hub run`` as its own process against Mosquitto with broker-config's files.
    1. Paced: ``rate`` status and heartbeat messages a second for ``seconds`` (a status round
       every tenth round of beats, from ``houses`` houses): the hub's CPU time over the wall
       time while it keeps up (from /proc), and that every message was stored.
    2. Flood: ``flood`` heartbeats published as fast as one client can: messages stored a
       second, publish of the first to the last one stored."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    names = [f"h{i:03d}" for i in range(houses)]
    prefix = f"kandig/v1/{NET}/house/"
    with tempfile.TemporaryDirectory(prefix="kampung-bench-hub-") as tmp:
        broker = Broker(Path(tmp) / "broker", names)
        http = free_port()
        url = f"http://127.0.0.1:{http}"
        env = dict(os.environ, KANDIG_HUB_PASSWORD=broker.hub_password)
        log = open(Path(tmp) / "hub.log", "w")
        hub = subprocess.Popen([sys.executable, "-m", "kampung.cli", "hub", "run", "--net", NET,
                                "--broker", f"127.0.0.1:{broker.port}", "--db", f"{tmp}/hub.db",
                                "--config", f"{tmp}/none.json", "--http", f"127.0.0.1:{http}"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-load")
        pub.username_pw_set("hub", broker.hub_password)
        try:
            def connected():
                try:
                    return _hub_state(url)["connected"]
                except OSError:
                    return False
            _wait(connected, 30, "the hub to connect")
            pub.connect("127.0.0.1", broker.port)
            pub.loop_start()

            def status(h, i):
                return json.dumps({"v": 1, "house": h, "state": "online", "fw": "0.1.0",
                                   "boot": 1, "t": int(time.time())})

            def beat(h, i):
                return json.dumps({"v": 1, "house": h, "up": i, "rssi": -61, "outbox": 0, "seq": 0})

            n = int(rate * seconds)
            cpu0, t0 = _cpu_s(hub.pid), time.monotonic()
            for i in range(n):
                h = names[i % houses]
                if (i // houses) % 10 == 0:
                    pub.publish(prefix + h + "/status", status(h, i), qos=1, retain=True)
                else:
                    pub.publish(prefix + h + "/beat", beat(h, i), qos=0)
                ahead = t0 + (i + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            wall = time.monotonic() - t0
            cpu = _cpu_s(hub.pid) - cpu0
            st = _wait(lambda: (s := _hub_state(url))["stats"]["stored"] >= n and s, 30,
                       f"{n} messages stored")
            paced = {"sent": n, "stored": st["stats"]["stored"], "rate": round(n / wall),
                     "core": round(cpu / wall, 3), "us_per_msg": round(cpu / n * 1e6)}

            before = st["stats"]["stored"]
            cpu0, t0 = _cpu_s(hub.pid), time.monotonic()
            for i in range(flood):
                h = names[i % houses]
                pub.publish(prefix + h + "/beat", beat(h, i), qos=0)
            st = _wait(lambda: (s := _hub_state(url))["stats"]["stored"] >= before + flood and s,
                       120, f"{flood} flooded messages stored")
            wall = time.monotonic() - t0
            cpu = _cpu_s(hub.pid) - cpu0
            flooded = {"sent": flood, "stored": st["stats"]["stored"] - before,
                       "rate": round(flood / wall), "core": round(cpu / wall, 2)}
        finally:
            pub.loop_stop()
            pub.disconnect()
            hub.terminate()
            hub.wait(15)
            log.close()
            broker.stop()
    return {"paced": paced, "flood": flooded, "houses": houses}


def _house_flow(broker: Broker, roots, heap_kb: int | None, probe: bool) -> tuple[bool, int]:
    """Two houses with the network up: h02's alert sounds in h01, h01 answers "heard it", h01
    raises an alert of its own that sounds in h02. Returns (the flow worked, h01's peak live
    heap when probed)."""
    cfg = {"button_types": {"alarm_button": "maling"}, "siren_s": 5, "own_siren_s": 5}
    extra = {"heap_probe": 100} if probe else {}
    with tempfile.TemporaryDirectory(prefix="kampung-bench-heap-") as tmp:
        with Neighbourhood(NET, ["h01", "h02"], broker_port=broker.port,
                           passwords=broker.passwords, config=cfg, roots=roots, direct=True,
                           heap_kb=heap_kb, extra=extra, workdir=Path(tmp)) as nb:
            try:
                nb.wait_online(timeout=20)
                t = time.time() * 1000
                nb.press("h02")
                nb.wait_for(lambda: nb.siren_on("h01", t), 10, "h01's siren")
                nb.press("h01", button="cancel_button")
                nb.wait_for(lambda: any("heard" in x.lower() or "didengar" in x.lower()
                                        for x in nb.logs("h02")), 10, "h02 told of the ack")
                time.sleep(0.5)
                t = time.time() * 1000
                nb.press("h01")
                nb.wait_for(lambda: nb.siren_on("h02", t), 10, "h02's siren")
                time.sleep(1.0)
                proc = nb.houses["h01"].proc
                ok = proc is not None and proc.poll() is None and not any(
                    "MemoryError" in x for x in nb.logs("h01"))
            except (TimeoutError, RuntimeError):
                ok = False
            peak = max((e["live"] for e in nb.houses["h01"].events() if e.get("kind") == "heap"),
                       default=0)
    return ok, peak


def _board_alone(broker: Broker, roots, heap_kb: int | None) -> tuple[bool, int]:
    """The virtual board of a house with no firmware, for 3 s of real time."""
    with tempfile.TemporaryDirectory(prefix="kampung-bench-heap-") as tmp:
        with Neighbourhood(NET, ["h01"], broker_port=broker.port, passwords=broker.passwords,
                           roots=roots, direct=True, heap_kb=heap_kb, duration_ms=3000,
                           extra={"heap_probe": 100, "no_firmware": True},
                           workdir=Path(tmp)) as nb:
            house = nb.houses["h01"]
            assert house.proc is not None
            code = house.proc.wait(60)
            peak = max((e["live"] for e in house.events() if e.get("kind") == "heap"), default=0)
    return code == 0, peak


def _smallest(ok, lo: int = 8, hi: int = 256) -> int:
    """Smallest heap (KB) for which ``ok(kb)`` holds, by bisection (``lo`` fails, ``hi`` works)."""
    if not ok(hi):
        return -1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def house_heap(roots) -> dict:
    """The house unit with the network up (connected to Mosquitto, an alert received and
    acknowledged, one raised): peak live GC heap (gc.collect() + gc.mem_alloc() every 100 ms),
    and the smallest -X heapsize at which that flow still works, each next to the virtual
    board alone (no firmware): the difference is the firmware's."""
    with tempfile.TemporaryDirectory(prefix="kampung-bench-heap-") as tmp:
        broker = Broker(Path(tmp) / "broker", ["h01", "h02"])
        try:
            ok, peak = _house_flow(broker, roots, None, True)
            if not ok:
                raise RuntimeError("the two-house flow does not work without a heap limit")
            _, base = _board_alone(broker, roots, None)
            small = _smallest(lambda kb: _house_flow(broker, roots, kb, False)[0])
            small_base = _smallest(lambda kb: _board_alone(broker, roots, kb)[0], lo=4)
        finally:
            broker.stop()
    return {"peak_live": peak, "baseline": base, "firmware": peak - base, "small": small,
            "small_base": small_base}


def figures(roots) -> dict:
    """Everything ``make bench`` reports for Kandig."""
    return {"latency": [latency(50, 10, roots), latency(250, 10, roots)],
            "ingest": hub_ingest(), "heap": house_heap(roots)}


def rows(k: dict) -> list[tuple[str, str, str, bool | None]]:
    out: list[tuple[str, str, str, bool | None]] = []
    for f in k["latency"]:
        n = f["houses"]
        out.append((f"kandig, {n} houses: press -> siren in every other house ({f['samples']} sirens)",
                    f"p50 {f['press_p50']} ms, p99 {f['press_p99']} ms (includes the 30 ms debounce)",
                    "", None))
        out.append((f"kandig, {n} houses: alert publish -> siren", f"p50 {f['pub_p50']} ms, p99 "
                    f"{f['pub_p99']} ms (other processes: {f['house_other_cores']} cores)",
                    "p99 <= 2x baseline p99 (subscriber processes)",
                    f["pub_p99"] <= 2 * f["proc_p99"]))
        out.append((f"kandig, {n} houses: baseline, {n - 1} bare MicroPython subscriber processes "
                    "beside the houses", f"p50 {f['proc_p50']} ms, p99 {f['proc_p99']} ms (other "
                    f"processes: {f['proc_other_cores']} cores)", "", None))
        out.append((f"kandig, {n} houses: ... the same subscribers alone, before the houses start",
                    f"p50 {f['alone_p50']} ms, p99 {f['alone_p99']} ms (other processes: "
                    f"{f['alone_other_cores']} cores)", "", None))
        out.append((f"kandig, {n} houses: baseline, {n - 1} subscriber sockets in one process",
                    f"p50 {f['base_p50']} ms, p99 {f['base_p99']} ms", "", None))
    p, fl = k["ingest"]["paced"], k["ingest"]["flood"]
    out.append((f"kandig hub: status + heartbeats at {p['rate']}/s from {k['ingest']['houses']} houses "
                f"({p['sent']} messages)", f"{p['core']:.2f} of a core ({p['us_per_msg']} us CPU a "
                f"message), {p['stored']} stored", "< 0.5 core at ~575/s",
                p["core"] < 0.5 and p["stored"] >= p["sent"] and p["rate"] >= 570))
    out.append((f"kandig hub: heartbeats flooded by one client ({fl['sent']} messages)",
                f"{fl['rate']} stored a second ({fl['core']:.2f} of a core)", "", None))
    h = k["heap"]
    out.append(("kandig house unit, network up: peak live GC heap of the firmware",
                f"{h['firmware']} B (whole house {h['peak_live']} B, virtual board alone "
                f"{h['baseline']} B)", "<= 48 KB", h["firmware"] <= 48 * 1024))
    out.append(("kandig: smallest -X heapsize, whole house / virtual board alone",
                f"{h['small']} KB / {h['small_base']} KB", "", None))
    out.append(("kandig: ... difference: heap the house unit needs",
                f"{h['small'] - h['small_base']} KB", "<= 48 KB", h["small"] - h["small_base"] <= 48))
    return out


if __name__ == "__main__":
    from kampung.bench import compiled_roots

    what = sys.argv[1] if len(sys.argv) > 1 else "latency"
    with tempfile.TemporaryDirectory() as t:
        r = compiled_roots(Path(t))
        if what == "latency":
            for n in [int(a) for a in sys.argv[2:]] or [5]:
                print(latency(n, presses=min(10, n), roots=r))
        elif what == "ingest":
            print(hub_ingest())
        elif what == "heap":
            print(house_heap(r))
