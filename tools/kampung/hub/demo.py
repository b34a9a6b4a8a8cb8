"""``kampung hub demo`` (``make kandig-demo``): a whole Kandig neighbourhood on this machine.

It writes a broker configuration (``broker-config``: one password per house, the ACL), starts
Mosquitto on it, starts the hub with its dashboard, and starts N virtual houses that run the real
house firmware (MicroPython unix port, real sockets, each in its own process, in real time). Then
it tells the story of one alarm and prints what every house did and when:

1. someone in one house beats the alarm button twice (2 strikes: ``maling``, a thief);
2. that house's siren sounds at the first strike, whatever the network does; when the count is
   complete (``press_window_ms`` after the last strike) the alert goes to the broker;
3. every other house's siren sounds (the timeline gives each one's delay after the publish);
4. one neighbour presses "heard it"; the hub shows the alert with who has heard it.

Then it prints the dashboard's address and login and keeps everything running until Ctrl-C
(``--once``: stop at the end of the story, as the tests do). Its files are in ``--dir``
(default ``build/kandig-demo``), made anew each run.

Without Mosquitto the demo falls back to amqtt's embedded broker and says so (no passwords or ACL
there: the demo only).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import shutil
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

from kampung.hub import brokerconf
from kampung.hub.app import Hub, HubThread

NET = "rt05-kramat"


def _free_port(preferred: int | None = None) -> int:
    if preferred:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """Mosquitto on the generated configuration, or amqtt when Mosquitto is missing."""

    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.proc = None
        self.embedded = None
        self.kind = "mosquitto"

    def start(self, say) -> None:
        try:
            brokerconf.mosquitto_binary()
        except brokerconf.BrokerError as e:
            self.kind = "amqtt"
            say(f"Mosquitto is not installed ({e}).")
            say("  Using amqtt's embedded broker instead: anonymous, no ACL; for the demo only.")
            from kampung.hub import embedded

            self.embedded = embedded.EmbeddedBroker("127.0.0.1", self.port)
            self.embedded.start()
            return
        self.proc = brokerconf.start_mosquitto(self.folder)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self.embedded is not None:
            self.embedded.stop()


def _state(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/state", timeout=10) as r:
        return json.loads(r.read())


def _wait(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}")


_STAMP = re.compile(r"^\[\s*\d+\] ")  # the firmware log's "[  1453] " uptime prefix


def timeline(nb, t0: float) -> list[tuple[float, str, str]]:
    """(ms after t0, house, what) from each house's event log: button presses, the first siren
    edge of each sounding, the alert published or received, and what its LCD shows."""
    rows: list[tuple[float, str, str]] = []
    for name, house in nb.houses.items():
        sounding = False
        for e in house.events():
            ms = house.wall_ms(e) - t0
            if ms < -1:
                continue
            part, kind = e.get("part"), e.get("kind")
            if kind == "input" and part in ("alarm_button", "cancel_button"):
                label = "alarm button" if part == "alarm_button" else "'heard it' button"
                rows.append((ms, name, f"{label} pressed"))
            elif part == "siren" and kind == "pin" and e["value"] == 1 and not sounding:
                sounding = True  # the siren then beats its code: one line, not one per edge
                rows.append((ms, name, "SIREN ON"))
            elif kind == "lcd":
                rows.append((ms, name, "LCD: " + " | ".join(t.strip() for t in e["text"])))
                sounding = sounding and e["text"][0].strip() != ""
            elif kind == "log":
                text = _STAMP.sub("", e["text"])
                if text.startswith("kandig: alert "):
                    rows.append((ms, name, "alert published: " + text[len("kandig: alert "):]))
                elif text.startswith("kandig: sounding "):
                    rows.append((ms, name, "alert received: " + text[len("kandig: sounding "):]))
    rows.sort()
    return rows


def run(args: argparse.Namespace) -> int:
    from kampung import houses as houses_mod

    out = print
    folder: Path = args.dir.resolve()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    names = [f"h{i:02d}" for i in range(1, args.houses + 1)]
    port = _free_port()
    passwords = brokerconf.write(folder / "broker", NET, names, port, "127.0.0.1")
    hub_password = (folder / "broker" / "hub.password").read_text().strip()
    ketua_password = secrets.token_urlsafe(9)

    broker = Broker(folder / "broker", port)
    broker.start(out)
    out(f"Broker ({broker.kind}) on 127.0.0.1:{port}, config in {folder / 'broker'}")
    hub_thread = None
    try:
        logging.basicConfig(level=logging.WARNING, format="hub %(levelname)s: %(message)s")
        hub = Hub(NET, "127.0.0.1", port, "hub", hub_password, folder / "hub.db", "127.0.0.1",
                  _free_port(args.http_port), ketua_password=ketua_password, houses=names)
        hub_thread = HubThread(hub)
        out(f"Hub and dashboard on {hub.url}")
        config = {"press_window_ms": 800, "siren_s": 30, "own_siren_s": 30, "beat_s": 30}
        with houses_mod.Neighbourhood(NET, names, broker_port=port, passwords=passwords,
                                      runtime=args.runtime, config=config,
                                      workdir=folder / "houses") as nb:
            out(f"Starting {len(names)} virtual houses ({args.runtime}, the real firmware) ...")
            nb.wait_online(timeout=30 + 2 * len(names))
            _wait(lambda: sum(h["state"] == "online" for h in _state(hub.url)["houses"])
                  == len(names), 20, "the hub to see every house online")
            out(f"All {len(names)} houses online; the hub sees them.\n")

            presser, listener = names[len(names) // 2], names[0]
            t0 = time.time() * 1000
            out(f"{presser}: the alarm button is beaten twice (2 strikes = maling, a thief)")
            nb.press(presser, times=2, gap_s=0.3)
            others = [n for n in names if n != presser]
            nb.wait_for(lambda: all(nb.siren_on(n, t0) for n in others), 30,
                        lambda: "sirens in " + ", ".join(n for n in others if not nb.siren_on(n, t0)))
            alert = _wait(lambda: next((a for a in _state(hub.url)["history"]
                                        if a["house"] == presser), None), 10, "the hub's record")
            time.sleep(1.0)
            out(f"{listener}: 'heard it' pressed")
            nb.press(listener, button="cancel_button")
            _wait(lambda: listener in next((a["acks"] for a in _state(hub.url)["history"]
                                            if a["id"] == alert["id"]), []), 10,
                  "the hub to show the ack")
            time.sleep(0.3)

            out("\nTimeline (ms after the first strike; wall clock of this machine). A house sounds "
                "its siren first and prints\nits console line after, so SIREN ON comes before "
                "'alert received'; 'Belum terkirim' (not sent yet)\nturns 'Terkirim' when the "
                "broker has the alert:")
            rows = timeline(nb, t0)
            for ms, name, what in rows:
                out(f"  {ms:8.0f}  {name:4s}  {what}")
            published = next((ms for ms, n, w in rows if n == presser and w.startswith("alert")), None)
            sirens = [ms for ms, n, w in rows if n != presser and w == "SIREN ON"]
            if published is not None and sirens:
                delays = sorted(s - published for s in sirens)
                out(f"\nEvery other house ({len(sirens)}) sounded {delays[0]:.0f}-{delays[-1]:.0f} ms "
                    f"after the alert was published (the count waits press_window_ms "
                    f"{config['press_window_ms']} ms for a third strike).")
            st = _state(hub.url)
            a = next(x for x in st["history"] if x["id"] == alert["id"])
            out(f"Hub: alert {a['id']} ({a['type']}, house {a['house']}) status {a['status']}, "
                f"heard by {', '.join(a['acks']) or 'nobody yet'}.")
            if args.once:
                out("\n--once: the neighbourhood stops now (without --once the dashboard stays up "
                    "and its address and login are printed here).")
                return 0
            out(f"\nDashboard: {hub.url}/   login: ketua   password: {ketua_password}")
            out("Press a button yourself: echo '{\"part\": \"alarm_button\", \"press_ms\": 120}' >> "
                f"{nb.houses[listener].control}")
            out("Ctrl-C stops the neighbourhood.")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                out("\nstopping")
            return 0
    finally:
        if hub_thread is not None:
            hub_thread.stop()
        broker.stop()


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="a broker, the hub and virtual houses on this machine")
    d.add_argument("--houses", type=int, default=5, help="virtual houses (2-50, default 5)")
    d.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    d.add_argument("--dir", type=Path, default=Path("build/kandig-demo"),
                   help="folder for the broker's files, the database and the houses' flash")
    d.add_argument("--http-port", type=int, default=8080,
                   help="dashboard port if free (default 8080; else any free port)")
    d.add_argument("--once", action="store_true", help="stop after the story (tests, CI)")


def main(args: argparse.Namespace) -> int:
    if not 2 <= args.houses <= 50:
        print("kampung hub demo: --houses 2-50", file=sys.stderr)
        return 2
    # Ctrl-C or SIGTERM (`timeout`, a service manager) stops the houses, then the hub, then the
    # broker (in its own session, so the signal does not reach it first); a second Ctrl-C while
    # that runs is ignored rather than leaving processes behind
    before = signal.signal(signal.SIGINT, _stop), signal.signal(signal.SIGTERM, _stop)
    try:
        return run(args)
    except KeyboardInterrupt:  # before the demo waited for it: stopped all the same
        print("\nstopped")
        return 0
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])


def _stop(*_) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt
