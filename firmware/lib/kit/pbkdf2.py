"""PBKDF2-HMAC-SHA256 for the Kuword keypad lock's PIN store, on MicroPython's ``hashlib``.

MicroPython has ``hashlib.sha256`` (``update``/``digest``) but no ``hmac`` module, no
``hashlib.pbkdf2_hmac`` and no ``copy()`` on hash objects, so this module builds HMAC (RFC 2104)
and PBKDF2 (RFC 8018) itself. Results are byte-for-byte those of CPython's
``hashlib.pbkdf2_hmac("sha256", ...)`` (checked against RFC 4231 / RFC 7914 vectors and a few
hundred random cases on the host).

Why PBKDF2: a PIN has 4-6 digits, at most a million possibilities. A plain salted SHA-256 of a
PIN read off a stolen flash chip is brute-forced on a laptop in well under a second. PBKDF2 makes
every guess cost ``iterations`` HMACs; ``DEFAULT_ITERATIONS`` is chosen so one check costs about
0.3 s on an ESP32 at 240 MHz (see docs/pin-store.md for how that was estimated, and how to measure
your board). Each guess at the keypad then costs a third of a second on top of the lock's
wrong-code lockout, and an offline search of all 10^6 PINs costs ~25 CPU-minutes instead of
~1 s. A GPU still does it in about a second: no iteration count an ESP32 can afford makes a short
PIN strong offline, so the store file must stay unreadable (flash encryption). The salt (16
random bytes per store) stops precomputed tables.

Speed notes (measured with the MicroPython unix port, figures in docs/pin-store.md):
- Without ``copy()`` every iteration hashes the 64-byte inner and outer pad blocks again:
  4 SHA-256 compressions per iteration instead of CPython's 2. Nothing in pure Python beats
  the C compression function, so this is the floor.
- The pads are built once per key; the running XOR of the U blocks is kept as one int
  (``int.from_bytes`` of the 32-byte digest, then ``^=``): about 2.3x faster than XORing a
  bytearray byte by byte in place, and as fast as feeding preallocated 96-byte buffers.
- ``@micropython.native`` on the loop gains about 7 % (the time is in C, not in bytecode) but
  makes the file uncompilable by ``mpy-cross`` without ``-march`` and ties the .mpy to one CPU,
  so it is not used.

A long derivation blocks: in asyncio code, use ``Job`` and give the loop a turn between slices.

    from kit import pbkdf2
    key = pbkdf2.pbkdf2_sha256(b"123456", salt, pbkdf2.DEFAULT_ITERATIONS)
    ok = pbkdf2.equal(stored_key, key)          # constant time

    job = pbkdf2.Job(b"123456", salt, pbkdf2.DEFAULT_ITERATIONS)
    while not job.run(64):                       # 64 iterations: ~10 ms on an ESP32
        await asyncio.sleep_ms(0)
    key = job.key
"""

import hashlib

_sha256 = hashlib.sha256

DIGEST_SIZE = 32  # bytes of SHA-256 output (hLen in RFC 8018)
BLOCK_SIZE = 64  # bytes of one SHA-256 input block (B in RFC 2104)
MAX_DKLEN = 1024  # derived key length limit: a PIN store needs 32; more only costs RAM and time

# One PIN check costs about 0.3 s on an ESP32 at 240 MHz (estimate with +-40 % uncertainty:
# docs/pin-store.md "PBKDF2 cost on an ESP32"). Measure your board with calibrate(300).
DEFAULT_ITERATIONS = 2700


def _as_bytes(value, name):
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise TypeError("%s must be bytes, bytearray or str, not %s" % (name, type(value).__name__))


def _pads(key):
    """The HMAC inner and outer pad blocks for ``key`` (RFC 2104: a key longer than the block
    is hashed first; a shorter one is padded with zeros)."""
    if len(key) > BLOCK_SIZE:
        key = _sha256(key).digest()
    ipad = bytearray(b"\x36" * BLOCK_SIZE)
    opad = bytearray(b"\x5c" * BLOCK_SIZE)
    for i in range(len(key)):
        ipad[i] ^= key[i]
        opad[i] ^= key[i]
    return bytes(ipad), bytes(opad)


def hmac_sha256(key, msg):
    """HMAC-SHA256 of ``msg`` under ``key`` (RFC 2104), 32 bytes. Both bytes-like or str."""
    ipad, opad = _pads(_as_bytes(key, "key"))
    h = _sha256(ipad)
    h.update(_as_bytes(msg, "msg"))
    inner = h.digest()
    h = _sha256(opad)
    h.update(inner)
    return h.digest()


class Job:
    """One PBKDF2-HMAC-SHA256 derivation done in slices: ``run(n)`` does at most ``n``
    iterations and returns True once ``key`` (bytes) is ready; ``key`` is None until then.
    The same arguments and checks as ``pbkdf2_sha256``."""

    def __init__(self, password, salt, iterations, dklen=DIGEST_SIZE):
        password = _as_bytes(password, "password")
        self._salt = _as_bytes(salt, "salt")
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError("iterations must be an int >= 1, not %r" % (iterations,))
        if not isinstance(dklen, int) or not 1 <= dklen <= MAX_DKLEN:
            raise ValueError("dklen must be an int from 1 to %d bytes, not %r" % (MAX_DKLEN, dklen))
        self._ipad, self._opad = _pads(password)
        self._iterations = iterations
        self._dklen = dklen
        self._blocks = (dklen + DIGEST_SIZE - 1) // DIGEST_SIZE
        self._out = bytearray(self._blocks * DIGEST_SIZE)
        self._block = 0  # index of the output block being derived
        self._left = 0  # iterations still to do in that block; 0 = block not started
        self._u = b""  # U_j, the last HMAC output
        self._acc = 0  # U_1 xor ... xor U_j, as an int
        self.key = None

    def run(self, n):
        """Do at most ``n`` (>= 1) more iterations; True when ``key`` is ready."""
        if self.key is not None:
            return True
        if not isinstance(n, int) or n < 1:
            raise ValueError("run(n) needs an int n >= 1, not %r" % (n,))
        sha = _sha256
        from_bytes = int.from_bytes
        ipad = self._ipad
        opad = self._opad
        u = self._u
        acc = self._acc
        left = self._left
        while n > 0:
            if left == 0:  # U_1 = PRF(P, S || INT(i)), i counted from 1, big-endian
                h = sha(ipad)
                h.update(self._salt)
                h.update((self._block + 1).to_bytes(4, "big"))
                u = h.digest()
                h = sha(opad)
                h.update(u)
                u = h.digest()
                acc = from_bytes(u, "big")
                left = self._iterations - 1
                n -= 1
            step = left if left < n else n
            for _ in range(step):  # U_j = PRF(P, U_{j-1}); the hot loop
                h = sha(ipad)
                h.update(u)
                u = h.digest()
                h = sha(opad)
                h.update(u)
                u = h.digest()
                acc ^= from_bytes(u, "big")
            left -= step
            n -= step
            if left == 0:  # block done: T_i = U_1 xor ... xor U_c
                start = self._block * DIGEST_SIZE
                self._out[start:start + DIGEST_SIZE] = acc.to_bytes(DIGEST_SIZE, "big")
                self._block += 1
                if self._block == self._blocks:
                    self.key = bytes(self._out[:self._dklen])
                    self._out = bytearray(0)  # the job is done: let the GC have its state
                    self._u = self._ipad = self._opad = b""
                    self._acc = 0
                    return True
        self._u = u
        self._acc = acc
        self._left = left
        return False


def pbkdf2_sha256(password, salt, iterations, dklen=DIGEST_SIZE):
    """PBKDF2-HMAC-SHA256 (RFC 8018): ``dklen`` bytes (1..MAX_DKLEN) derived from ``password``
    and ``salt`` (bytes-like, or str as UTF-8) with ``iterations`` (>= 1) rounds. Blocks for the
    whole derivation: about ``iterations`` x 110 us on an ESP32 per 32 bytes of output."""
    job = Job(password, salt, iterations, dklen)
    job.run(iterations * job._blocks)
    return job.key


def equal(a, b):
    """True when the bytes ``a`` and ``b`` are equal, in time that depends only on ``len(a)``
    (pass the stored key as ``a``): not on where the first difference is, nor on ``b``'s
    length -- different lengths give False after the same full loop."""
    n = len(a)
    diff = n ^ len(b)
    if diff:
        b = a  # still walk all of a, so a wrong length costs the same as a wrong byte
    for i in range(n):
        diff |= a[i] ^ b[i]
    return diff == 0


def _time_ms(iterations):
    import time

    t0 = time.ticks_ms()
    pbkdf2_sha256(b"123456", b"0123456789abcdef", iterations)
    return time.ticks_diff(time.ticks_ms(), t0)


def calibrate(target_ms=300, timer=None):
    """How many iterations make one 32-byte derivation take about ``target_ms`` on this board.

    Doubles a trial run from 64 iterations until it takes at least 100 ms (or 65536 iterations),
    then scales linearly. ``timer(iterations) -> ms`` defaults to timing ``pbkdf2_sha256`` with
    ``time.ticks_ms``. Takes a few hundred ms. On a board: ``mpremote exec "import kit.pbkdf2
    as p; print(p.calibrate(300))"``. Raises RuntimeError when the clock does not move."""
    if not isinstance(target_ms, int) or target_ms < 1:
        raise ValueError("target_ms must be an int >= 1, not %r" % (target_ms,))
    timer = timer or _time_ms
    n = 64
    ms = timer(n)
    while ms < 100 and n < 65536:
        n *= 2
        ms = timer(n)
    if ms <= 0:
        raise RuntimeError("%d iterations took 0 ms: the clock did not move (a virtual clock?)" % n)
    return max(1, n * target_ms // ms)
