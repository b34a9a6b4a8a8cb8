"""A Mosquitto configuration for one Kandig neighbourhood: users, passwords and the ACL.

``write(out_dir, net, houses, port, bind)`` creates (or updates) in ``out_dir``:

- ``mosquitto.conf``: one listener, persistence in ``out_dir``, no anonymous clients;
- ``passwd``: every house and the hub, in Mosquitto 2.0's password-file format;
- ``acl``: a house writes only under ``kandig/v1/NET/house/<itself>/`` and reads the whole net;
  the hub reads and writes the whole net;
- ``credentials.json``: house -> password (mode 0600), for the installer to put into each
  house's ``secrets.json`` (``mqtt_user`` = the house id, ``mqtt_password``);
- ``hub.password``: the hub's password (mode 0600), for ``kampung hub run --password-file``.

Running it again keeps every password already made (a house keeps working) and adds the new
houses; ``remove`` takes houses out (a lost or stolen unit). ``start_mosquitto(out_dir)`` runs
the broker on that configuration.

    from kampung.hub import brokerconf
    passwords = brokerconf.write(Path("broker"), "rt05-kramat", ["h01", "h02"], 1883, "0.0.0.0")
    proc = brokerconf.start_mosquitto(Path("broker"))

Password format (worked out against ``mosquitto_passwd -b`` of Mosquitto 2.0.11, which writes
the same and reads ours): ``user:$7$ITERATIONS$base64(12-byte salt)$base64(PBKDF2-HMAC-SHA512,
64 bytes)``. 101 iterations is mosquitto_passwd's default; the passwords are 24 random bytes, so
the iteration count is not what protects them.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from kampung.hub.protocol import HUB, check_house, check_net

INSTALL = "apt-get install -y mosquitto mosquitto-clients"
ITERATIONS = 101  # mosquitto_passwd's default (Mosquitto 2.0)
SALT_BYTES = 12


class BrokerError(RuntimeError):
    """Mosquitto is missing, or did not start on the configuration."""


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The password-file hash Mosquitto 2.0 checks ($7$: PBKDF2-SHA512)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, hashed: str) -> bool:
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    salt = base64.b64decode(parts[3])
    return secrets.compare_digest(hash_password(password, salt, int(parts[2])), hashed)


def new_password() -> str:
    return secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-]: no quoting anywhere


def _write(path: Path, text: str, mode: int) -> None:
    """Atomically, with ``mode`` from the start (a password is never readable by others)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)  # O_CREAT's mode is masked by the umask
    os.replace(tmp, path)


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(f"{path} is not JSON ({e}); fix or remove it") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in data.items()):
        raise ValueError(f"{path} must map house ids to passwords")
    for house in data:
        check_house(house)
    return data


def acl_text(net: str, houses: list[str]) -> str:
    lines = ["# Kandig ACL (kampung hub broker-config): a house writes only its own topics",
             f"# and reads the whole neighbourhood {net}; the hub reads and writes all of it.",
             "", f"user {HUB}", f"topic readwrite kandig/v1/{net}/#", ""]
    for house in houses:
        lines += [f"user {house}", f"topic write kandig/v1/{net}/house/{house}/#",
                  f"topic read kandig/v1/{net}/#", ""]
    return "\n".join(lines)


def conf_text(out_dir: Path, port: int, bind: str, run_as: str) -> str:
    d = out_dir.resolve()
    return f"""# Mosquitto for one Kandig neighbourhood (written by `kampung hub broker-config`).
# Start: mosquitto -c {d / "mosquitto.conf"}
listener {port} {bind}
allow_anonymous false
password_file {d / "passwd"}
acl_file {d / "acl"}
# a house away (power cut) keeps its session and its queued alerts: persistence on disk
persistence true
persistence_location {d}/
autosave_interval 60
# sessions of units gone for good are dropped after two weeks
persistent_client_expiration 14d
# QoS 1 messages queued per client while it is away (alerts for a house without Wi-Fi)
max_queued_messages 5000
# started as root, Mosquitto drops to this user, who must be able to read this folder
user {run_as}
log_dest stderr
log_timestamp_format %Y-%m-%dT%H:%M:%S
connection_messages true
"""


def write(out_dir: Path | str, net: str, houses: list[str], port: int = 1883,
          bind: str = "0.0.0.0", *, remove: list[str] | None = None,
          run_as: str | None = None) -> dict[str, str]:
    """Write (or update) the broker configuration; returns house -> password for all houses."""
    out_dir = Path(out_dir)
    check_net(net)
    for house in list(houses) + list(remove or []):
        check_house(house)
    if not 0 < port < 65536:
        raise ValueError(f"bad port {port}: 1-65535")
    if not bind or re.search(r"\s", bind):
        raise ValueError(f"bad bind address {bind!r}")
    if re.search(r"\s", str(out_dir.resolve())):
        raise ValueError(f"Mosquitto's config cannot name a folder with spaces: {out_dir.resolve()}")
    run_as = run_as or getpass.getuser()
    out_dir.mkdir(parents=True, exist_ok=True)

    cred_path = out_dir / "credentials.json"
    creds = _read_credentials(cred_path)
    unknown = [h for h in remove or [] if h not in creds]
    if unknown:  # a typo must not leave a stolen unit authorised while saying it is gone
        raise ValueError(f"--remove {', '.join(unknown)}: no such house in {cred_path} "
                         f"(it has {', '.join(sorted(creds)) or 'none'}); nothing was changed")
    also = [h for h in remove or [] if h in houses]
    if also:
        raise ValueError(f"{', '.join(also)} both added and removed; nothing was changed")
    for house in houses:
        if house not in creds:
            creds[house] = new_password()
    for house in remove or []:
        creds.pop(house, None)
    creds = dict(sorted(creds.items()))

    hub_path = out_dir / "hub.password"
    hub_password = hub_path.read_text().strip() if hub_path.exists() else ""
    if not hub_password:
        hub_password = new_password()

    passwd = "".join(f"{user}:{hash_password(pw)}\n"
                     for user, pw in [(HUB, hub_password), *creds.items()])
    _write(cred_path, json.dumps(creds, indent=2) + "\n", 0o600)
    _write(hub_path, hub_password + "\n", 0o600)
    _write(out_dir / "passwd", passwd, 0o600)
    _write(out_dir / "acl", acl_text(net, list(creds)), 0o644)
    _write(out_dir / "mosquitto.conf", conf_text(out_dir, port, bind, run_as), 0o644)
    return creds


def mosquitto_binary() -> str:
    """The broker's path (it lives in /usr/sbin, not on every user's PATH), or BrokerError."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin"):
        if os.access(f"{folder}/mosquitto", os.X_OK):
            return f"{folder}/mosquitto"
    raise BrokerError(f"mosquitto is not installed: {INSTALL}")


def listener(conf: Path) -> tuple[str, int]:
    """(host to connect to, port) of the first ``listener`` line of a mosquitto.conf."""
    for line in conf.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "listener":
            host = parts[2] if len(parts) > 2 else "127.0.0.1"
            return ("127.0.0.1" if host in ("0.0.0.0", "::") else host), int(parts[1])
    return "127.0.0.1", 1883


def start_mosquitto(out_dir: Path | str, timeout: float = 10.0) -> subprocess.Popen:
    """Run ``mosquitto -c out_dir/mosquitto.conf`` (its output goes to ``out_dir/mosquitto.log``)
    and return once it accepts connections; BrokerError with its log if it stops instead."""
    out_dir = Path(out_dir)
    conf = out_dir / "mosquitto.conf"
    if not conf.is_file():
        raise BrokerError(f"no {conf}: run `kampung hub broker-config --out {out_dir}` first")
    binary = mosquitto_binary()
    log_path = out_dir / "mosquitto.log"
    host, port = listener(conf)
    with open(log_path, "a") as log:
        # its own session: Ctrl-C in a terminal reaches the program that started it, which
        # stops its clients first and then the broker (not the broker under their feet)
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"mosquitto exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=10)
    raise BrokerError(f"mosquitto did not listen on {host}:{port} within {timeout} s:\n"
                      f"{log_path.read_text()[-3000:]}")
