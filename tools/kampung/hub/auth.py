"""The RT head's login on the hub's dashboard: password hash, sessions, CSRF tokens, lockout.

One user, ``ketua``. Its password is kept only as a salted PBKDF2-HMAC-SHA256 hash in the hub's
config file (JSON, mode 0600), written by ``kampung hub set-password``; tests and demos may give
the password in the environment (``KANDIG_HUB_KETUA_PASSWORD``) instead.

- Sessions: 32 random bytes in an HttpOnly, SameSite=Strict cookie; kept in memory (a hub
  restart logs everybody out), valid ``SESSION_S``.
- CSRF: every session has its own token; every form that changes something sends it back.
- Login attempts: ``LoginLimiter`` refuses a client address after ``per_client`` failures within
  ``window_s``, and everybody after ``overall`` failures (someone guessing from many addresses),
  without checking the password, until the window has passed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

USER = "ketua"
ENV_PASSWORD = "KANDIG_HUB_KETUA_PASSWORD"
ITERATIONS = 300_000  # ~0.15 s on a laptop core: cheap for one login, slow for guessing offline
MIN_LENGTH = 8
SESSION_S = 12 * 3600
MAX_SESSIONS = 200


def hash_password(password: str, salt: bytes | None = None,
                  iterations: int = ITERATIONS) -> dict[str, str | int]:
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return {"algo": "pbkdf2_sha256", "iterations": iterations,
            "salt": base64.b64encode(salt).decode(), "hash": base64.b64encode(digest).decode()}


def verify(password: str, record: dict) -> bool:
    try:
        if record["algo"] != "pbkdf2_sha256":
            return False
        salt = base64.b64decode(record["salt"])
        want = base64.b64decode(record["hash"])
        iterations = int(record["iterations"])
    except (KeyError, ValueError, TypeError):
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return secrets.compare_digest(got, want)


def read_config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must hold a JSON object")
    return data


def set_password(path: Path, password: str) -> None:
    """Store the hash of ``ketua``'s password in the config file (created with mode 0600)."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password needs at least {MIN_LENGTH} characters")
    config = read_config(path)
    config[USER] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass
class Session:
    user: str
    csrf: str
    expires: float


class Sessions:
    def __init__(self, lifetime_s: float = SESSION_S):
        self.lifetime_s = lifetime_s
        self._by_token: dict[str, Session] = {}

    def create(self, user: str, now: float) -> tuple[str, Session]:
        self._expire(now)
        while len(self._by_token) >= MAX_SESSIONS:  # the oldest goes
            self._by_token.pop(next(iter(self._by_token)))
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(24), now + self.lifetime_s)
        self._by_token[token] = session
        return token, session

    def get(self, token: str | None, now: float) -> Session | None:
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None or session.expires < now:
            self._by_token.pop(token, None)
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def _expire(self, now: float) -> None:
        for token in [t for t, s in self._by_token.items() if s.expires < now]:
            del self._by_token[token]


class LoginLimiter:
    """Failed logins per client address and overall, over a sliding window."""

    def __init__(self, per_client: int = 5, overall: int = 30, window_s: float = 300,
                 max_clients: int = 10_000):
        self.per_client = per_client
        self.overall = overall
        self.window_s = window_s
        self.max_clients = max_clients
        self._clients: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window_s:
            q.popleft()

    def wait_s(self, client: str, now: float | None = None) -> float:
        """0 if this client may try now, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        self._trim(self._all, now)
        waits = [0.0]
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + self.window_s - now)
        q = self._clients.get(client)
        if q is not None:
            self._trim(q, now)
            if len(q) >= self.per_client:
                waits.append(q[0] + self.window_s - now)
        return max(waits)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if client not in self._clients and len(self._clients) >= self.max_clients:
            for c in [c for c, q in self._clients.items() if not q or q[-1] <= now - self.window_s]:
                del self._clients[c]
            if len(self._clients) >= self.max_clients:  # still full: forget the oldest
                self._clients.pop(next(iter(self._clients)))
        self._clients.setdefault(client, deque()).append(now)
        self._all.append(now)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)
