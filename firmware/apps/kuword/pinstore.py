"""Kuword's PIN store: salted PBKDF2-HMAC-SHA256 hashes on flash, written atomically.

What is on the flash (``kuword_pins.json``): a first line of JSON with the format version, the
store's random salt, the iteration count and one record per code slot -- ``m`` (master),
``u1``..``u20`` (users), ``g1``..``g5`` (guests), ``d`` (duress) -- holding the code's hash,
its length (for anti-peep entry), and for guests the expiry and creation time; a second line
with the SHA-256 of the first, so a damaged file is detected rather than read as "no codes".
No PIN is ever stored or printed.

One salt for the whole store (16 random bytes from the chip's RNG) means an entered code is
derived once (~0.3 s on an ESP32) and compared with every slot in constant time, instead of
once per slot. Codes are unique across slots, so equal hashes never tell users apart.

    pins = PinStore("kuword_pins.json", iterations)
    pins.load()                      # "ok" or "missing"; StoreError when damaged
    key = await pins.derive("123456")
    slot = pins.match(key, now_s)    # "m", "u3", "g1", "d" or None
"""

import asyncio
import hashlib
import json
import os
from binascii import hexlify, unhexlify

from kit import pbkdf2, store

USERS = 20
GUESTS = 5
CHUNK = 64  # PBKDF2 iterations between yields: ~10-20 ms on an ESP32, so keys and LCD stay live


class StoreError(Exception):
    pass


def _whole(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _slot(name):
    """"m", "d", "u1".."u20" or "g1".."g5"."""
    if name in ("m", "d"):
        return True
    if len(name) < 2 or name[0] not in "ug" or not name[1:].isdigit():
        return False
    return 1 <= int(name[1:]) <= (USERS if name[0] == "u" else GUESTS)


class PinStore:
    def __init__(self, path, iterations=0):
        self.path = path
        self.iterations = iterations or pbkdf2.DEFAULT_ITERATIONS
        self.salt = b""
        self.codes = {}  # slot -> [hash bytes, length, expires, made]

    # -- flash ---------------------------------------------------------------------------------
    def load(self):
        try:
            data = store.read_bytes(self.path)
        except store.Unreadable as e:  # there but unreadable is not "no store": never a first start
            raise StoreError("%s; the lock stays locked" % e) from None
        if data is None:
            self.codes = {}
            return "missing"
        cut = data.rfind(b"\n", 0, len(data) - 1)
        body, tag = data[:cut], data[cut + 1:].strip()
        if cut < 0 or hexlify(hashlib.sha256(body).digest()) != tag:
            raise StoreError("%s: damaged (checksum does not match); the lock stays locked" % self.path)
        try:
            doc = json.loads(body)
            if doc["v"] != 1:
                raise ValueError("format version %r is not 1" % (doc["v"],))
            salt = unhexlify(doc["salt"])
            iterations = doc["iter"]
            if len(salt) != 16 or not _whole(iterations) or iterations < 1:
                raise ValueError("bad salt or iteration count")
            codes = {}
            for slot, rec in doc["codes"].items():
                key = unhexlify(rec[0])
                if len(rec) != 4 or len(key) != 32 or not _slot(slot) or not (_whole(rec[1]) and 1 <= rec[1] <= 16) \
                        or not _whole(rec[2]) or not _whole(rec[3]):
                    raise ValueError("bad record %r" % (slot,))
                codes[slot] = [key, rec[1], rec[2], rec[3]]
            if "m" not in codes:
                raise ValueError("no master code")  # the firmware never writes a store without one
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
            raise StoreError("%s: unreadable (%s); the lock stays locked" % (self.path, e)) from None
        self.salt = salt
        self.iterations = iterations
        self.codes = codes
        return "ok"

    def save(self):
        codes = {}
        for slot, rec in self.codes.items():
            codes[slot] = [hexlify(rec[0]).decode(), rec[1], rec[2], rec[3]]
        body = json.dumps({"v": 1, "salt": hexlify(self.salt).decode(), "iter": self.iterations,
                           "codes": codes}).encode()
        store.write_bytes(self.path, body + b"\n" + hexlify(hashlib.sha256(body).digest()) + b"\n")

    def create(self):
        """A new, empty store with a fresh salt (first start: the master code comes next)."""
        self.salt = os.urandom(16)
        self.codes = {}

    # -- codes ---------------------------------------------------------------------------------
    def has_master(self):
        return "m" in self.codes

    async def derive(self, code):
        """The code's key, computed in slices so the keypad, LCD and door keep running."""
        job = pbkdf2.Job(code.encode(), self.salt, self.iterations)
        while not job.run(CHUNK):
            await asyncio.sleep_ms(0)
        return job.key

    def match(self, key, now_s):
        """The slot whose hash equals ``key`` (or None). Every slot is compared, in constant
        time, whatever matched: the time taken does not tell which slot or how close."""
        from apps.kuword.logic import guest_valid

        found = None
        for slot, rec in self.codes.items():
            if pbkdf2.equal(rec[0], key) and found is None:
                found = slot
        if found is not None and found[0] == "g":
            rec = self.codes[found]
            if not guest_valid(rec[2], rec[3], now_s):
                return "expired"
        return found

    def put(self, slot, key, length, expires=0, made=0):
        self.codes[slot] = [key, length, expires, made]

    def remove(self, slot):
        return self.codes.pop(slot, None) is not None

    def free(self, prefix, count):
        """The first free slot among prefix1..prefixN, or None when all are taken."""
        for i in range(1, count + 1):
            if prefix + str(i) not in self.codes:
                return prefix + str(i)
        return None

    def lengths(self):
        out = []
        for rec in self.codes.values():
            if rec[1] not in out:
                out.append(rec[1])
        return out
