"""``kampung hub``: the Kandig neighbourhood hub (broker configuration, hub, dashboard login).

    kampung hub broker-config --net rt05-kramat --count 24 --out broker/
    mosquitto -c broker/mosquitto.conf
    kampung hub set-password --config hub.json
    kampung hub demo                      # broker, hub and virtual houses on this machine
    kampung hub run --net rt05-kramat --broker 127.0.0.1:1883 --password-file broker/hub.password \\
        --db hub.db --config hub.json --http 0.0.0.0:8080

Guide: docs/kandig-hub.md. Protocol: docs/kandig-protocol.md.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

from kampung.hub import auth, brokerconf, protocol, schedule

ENV_HUB_PASSWORD = "KANDIG_HUB_PASSWORD"


def _host_port(text: str, default_port: int, option: str, lowest: int = 1) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{option} {text!r}: the port must be a number: HOST:PORT, for example "
                         f"127.0.0.1:{default_port}") from None
    if not lowest <= number < 65536:
        raise ValueError(f"{option} {text!r}: the port must be {lowest}-65535")
    return host.strip("[]") or "0.0.0.0", number


def _houses(args: argparse.Namespace) -> list[str]:
    if args.houses and args.count:
        raise ValueError("give --houses or --count, not both")
    if args.count:
        if not 0 < args.count <= 999:
            raise ValueError("--count: 1-999 houses")
        width = max(2, len(str(args.count)))
        return [f"h{i:0{width}d}" for i in range(1, args.count + 1)]
    return [h.strip() for h in (args.houses or "").split(",") if h.strip()]


def _selftest_at(text: str) -> str:
    """--selftest-at: HH:MM or off, checked here so a typo stops the hub before it starts."""
    try:
        schedule.parse_at(text)
    except ValueError as e:
        # argparse prefixes "argument --selftest-at: "; the message says the valid forms
        raise argparse.ArgumentTypeError(str(e).removeprefix("--selftest-at: ")) from None
    return text


def _stale_s(text: str) -> float:
    """--stale-s: seconds, 10 to a day (a house beats every beat_s, 60 by default)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 10 <= value <= 86400:  # also NaN
        raise argparse.ArgumentTypeError(f"{text!r}: seconds from 10 to 86400 (default 180, three "
                                         "of the houses' 60 s heartbeats)")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kampung hub", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    b = sub.add_parser("broker-config", help="write Mosquitto's config, passwords and ACL")
    b.add_argument("--net", required=True, help="neighbourhood id, e.g. rt05-kramat")
    b.add_argument("--houses", help="house ids, comma-separated (h01,h02,...)")
    b.add_argument("--count", type=int, help="houses h01..hNN instead of --houses")
    b.add_argument("--remove", default="", help="house ids to take out (a lost or stolen unit)")
    b.add_argument("--out", required=True, type=Path, help="folder for the broker's files")
    b.add_argument("--port", type=int, default=1883)
    b.add_argument("--bind", default="0.0.0.0", help="address to listen on (default all)")
    b.add_argument("--run-as", help="user Mosquitto runs as when started as root "
                   "(default: the current user)")

    r = sub.add_parser("run", help="run the hub and its dashboard")
    r.add_argument("--net", required=True)
    r.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT (default 127.0.0.1:1883)")
    r.add_argument("--user", default=protocol.HUB, help="broker user (default hub)")
    r.add_argument("--password-file", type=Path,
                   help=f"file holding the broker password (or set {ENV_HUB_PASSWORD})")
    r.add_argument("--db", type=Path, default=Path("kandig-hub.db"), help="SQLite database")
    r.add_argument("--config", type=Path, default=Path("kandig-hub.json"),
                   help="hub config with the RT head's password hash (kampung hub set-password)")
    r.add_argument("--http", default="127.0.0.1:8080",
                   help="dashboard HOST:PORT (default 127.0.0.1:8080; 0.0.0.0:8080 for the LAN)")
    r.add_argument("--houses", help="expected house ids, shown before they first report")
    r.add_argument("--count", type=int, help="expected houses h01..hNN")
    r.add_argument("--private", action="store_true",
                   help="viewing the dashboard also needs the login")
    r.add_argument("--stale-s", type=_stale_s, default=180,
                   help="an online house without a heartbeat for this long shows as silent "
                   "(default 180 = three of the houses' default beat_s 60)")
    r.add_argument("--selftest-at", type=_selftest_at, default=schedule.DEFAULT_AT,
                   metavar="HH:MM|off",
                   help="the daily silent self-test of every house, at this local time "
                   f"(default {schedule.DEFAULT_AT}: quiet, and at night, when a thief alarm "
                   "matters most); off: none")
    r.add_argument("--tls-proxy", action="store_true",
                   help="the dashboard is reached through an HTTPS proxy: cookies only over HTTPS")
    r.add_argument("-v", "--verbose", action="store_true")

    s = sub.add_parser("set-password", help=f"set the dashboard password of {auth.USER!r}")
    s.add_argument("--config", type=Path, default=Path("kandig-hub.json"))
    s.add_argument("--password-stdin", action="store_true", help="read it from standard input")

    from kampung.hub import demo
    demo.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.cmd == "broker-config":
            return broker_config(args)
        if args.cmd == "set-password":
            return set_password(args)
        if args.cmd == "demo":
            from kampung.hub import demo
            return demo.main(args)
        return run(args)
    except (ValueError, brokerconf.BrokerError, OSError) as e:
        print(f"kampung hub {args.cmd}: {e}", file=sys.stderr)
        return 2


def broker_config(args: argparse.Namespace) -> int:
    houses = _houses(args)
    if not houses and not (args.out / "credentials.json").exists():
        raise ValueError("name the houses: --houses h01,h02,... or --count N")
    remove = [h.strip() for h in args.remove.split(",") if h.strip()]
    before = set(brokerconf._read_credentials(args.out / "credentials.json"))
    creds = brokerconf.write(args.out, args.net, houses, args.port, args.bind, remove=remove,
                             run_as=args.run_as)
    added = sorted(set(creds) - before)
    print(f"{args.out}: {len(creds)} houses ({len(added)} new"
          + (f": {', '.join(added)}" if added else "") + ")"
          + (f", removed {', '.join(remove)}" if remove else ""))
    print(f"  start the broker:  mosquitto -c {(args.out / 'mosquitto.conf').resolve()}")
    print(f"  house passwords:   {args.out / 'credentials.json'} (secret: into each house's "
          "secrets.json as mqtt_password)")
    print(f"  hub password:      {args.out / 'hub.password'} (kampung hub run --password-file)")
    return 0


def set_password(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        try:
            password = getpass.getpass(f"New password for {auth.USER}: ")
            again = getpass.getpass("Again: ")
        except (EOFError, KeyboardInterrupt):
            print("\nkampung hub set-password: no password given, nothing changed (to pipe one "
                  "in, use --password-stdin)", file=sys.stderr)
            return 2
        if again != password:
            print("kampung hub set-password: the two passwords differ", file=sys.stderr)
            return 2
    auth.set_password(args.config, password)
    print(f"{args.config}: password of {auth.USER!r} set (PBKDF2-SHA256 hash only)")
    return 0


def run(args: argparse.Namespace) -> int:
    from kampung.hub.app import Hub

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("mqtt").setLevel(logging.WARNING)  # aiomqtt's per-packet lines
    password = os.environ.get(ENV_HUB_PASSWORD)
    if args.password_file is not None:
        password = args.password_file.read_text().strip()
    if not password:
        raise ValueError(f"no broker password: --password-file FILE or {ENV_HUB_PASSWORD}")
    host, port = _host_port(args.broker, 1883, "--broker")
    http_host, http_port = _host_port(args.http, 8080, "--http", lowest=0)  # 0: any free port
    config = args.config if args.config.exists() else None
    hub = Hub(args.net, host, port, args.user, password, args.db, http_host, http_port,
              config_path=config, houses=_houses(args), private=args.private,
              stale_s=args.stale_s, secure_cookies=args.tls_proxy, selftest_at=args.selftest_at)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, hub.stop)
        await hub.run()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
