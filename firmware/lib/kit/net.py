"""Wi-Fi station for devices that must stay on the neighbourhood network (Kandig).

``WiFi.ensure()`` brings the link up, with a bound on every wait; between failed attempts the
caller waits ``backoff_ms()``: 1 s doubling up to 60 s, with jitter so that 50 houses coming back
after a power cut do not hit the access point in the same instant. The link is judged by real
traffic: ``isconnected()`` can say True for minutes after the access point is gone, so a caller
whose broker stopped answering calls ``suspect()``, and the next ``ensure()`` disconnects and
connects again instead of trusting the flag. Always disconnect before connecting: the ESP32
refuses a connect while a previous attempt is still running ("Wifi Internal Error").
"""

import asyncio
import random

import network

CONNECT_WAIT_MS = 15000  # a WPA2 handshake plus DHCP takes 2-6 s; 15 s is a dead access point


class WiFi:
    def __init__(self, ssid, password, hostname=None):
        self.ssid = ssid
        self.password = password
        self.wlan = network.WLAN(network.STA_IF)
        self.hostname = hostname
        self.failures = 0
        self.bad = False  # traffic says the link is dead, whatever isconnected() says
        self.reason = "not started"

    def suspect(self):
        """The broker did not answer: reconnect Wi-Fi before the next attempt."""
        self.bad = True

    def backoff_ms(self):
        n = self.failures if self.failures < 7 else 7
        base = 1000 << (n - 1) if n else 1000
        if base > 60000:
            base = 60000
        return base // 2 + random.getrandbits(16) % (base // 2 + 1)

    async def ensure(self):
        """True when the station has an address (connecting if needed, at most CONNECT_WAIT_MS)."""
        wlan = self.wlan
        if not self.ssid:
            self.reason = "no wifi_ssid in secrets.json"
            return False
        if not wlan.active():
            wlan.active(True)
        if wlan.isconnected() and not self.bad:
            return True
        self.bad = False
        try:
            wlan.disconnect()
        except OSError:
            pass
        try:
            wlan.connect(self.ssid, self.password)
        except OSError as e:
            self.failures += 1
            self.reason = "connect: %s" % (e,)
            return False
        waited = 0
        while not wlan.isconnected():
            if waited >= CONNECT_WAIT_MS:
                self.failures += 1
                self.reason = "no connection to %r (status %s)" % (self.ssid, wlan.status())
                return False
            await asyncio.sleep_ms(100)
            waited += 100
        self.failures = 0
        self.reason = ""
        return True

    def rssi(self):
        try:
            return self.wlan.status("rssi")
        except (OSError, ValueError):
            return 0
