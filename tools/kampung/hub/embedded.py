"""The demo's fallback broker when Mosquitto is not installed: amqtt (pure Python) in its own
thread, anonymous, on loopback only. Not for a neighbourhood: no passwords, no ACL, 2-3x slower
than Mosquitto (TOOLCHAIN.md). Production and the tests use Mosquitto."""

from __future__ import annotations

import asyncio
import socket
import threading
import time


class EmbeddedBroker:
    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)

    def start(self, timeout: float = 10) -> None:
        self._thread.start()
        if not self._ready.wait(timeout) or self.error is not None:
            raise RuntimeError(f"the embedded broker did not start: {self.error!r}")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"the embedded broker did not listen on {self.host}:{self.port}")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self.error = e
            self._ready.set()

    async def _serve(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = Broker({
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                        {"allow_anonymous": True}},
        })
        await broker.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await broker.shutdown()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
