"""kit.pbkdf2 (the firmware's own PBKDF2/HMAC, written for MicroPython) against CPython's C
implementations, on a few hundred seeded random inputs. CPython only: the firmware tests in
fw/fw_pbkdf2.py cover both runtimes with the published vectors."""

from __future__ import annotations

import hashlib
import hmac
import random
import sys

import pytest

from kampung import FIRMWARE

if str(FIRMWARE / "lib") not in sys.path:
    sys.path.insert(0, str(FIRMWARE / "lib"))  # kit lives in firmware/lib, as on the board

from kit import pbkdf2  # noqa: E402

SEED = 20240917


def random_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def cases(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        # passwords up to 150 bytes cross the 64-byte block (hashed-first path) both ways
        password = random_bytes(rng, rng.choice((0, 1, 4, 6, 63, 64, 65, rng.randint(0, 150))))
        salt = random_bytes(rng, rng.choice((0, 8, 16, rng.randint(0, 80))))
        iterations = rng.choice((1, 2, 3, rng.randint(1, 60), rng.randint(100, 400)))
        dklen = rng.choice((1, 16, 31, 32, 33, 64, rng.randint(1, 130)))
        yield password, salt, iterations, dklen


def test_pbkdf2_matches_cpython_on_random_inputs():
    checked = 0
    for password, salt, iterations, dklen in cases(300, SEED):
        want = hashlib.pbkdf2_hmac("sha256", password, salt, iterations, dklen)
        got = pbkdf2.pbkdf2_sha256(password, salt, iterations, dklen)
        assert got == want, (password.hex(), salt.hex(), iterations, dklen)
        checked += 1
    assert checked == 300


def test_job_slices_match_cpython():
    rng = random.Random(SEED + 1)
    for password, salt, iterations, dklen in cases(60, SEED + 2):
        job = pbkdf2.Job(password, salt, iterations, dklen)
        while not job.run(rng.randint(1, 50)):
            pass
        assert job.key == hashlib.pbkdf2_hmac("sha256", password, salt, iterations, dklen)


def test_hmac_matches_cpython_on_random_inputs():
    rng = random.Random(SEED + 3)
    for _ in range(300):
        key = random_bytes(rng, rng.choice((0, 1, 32, 63, 64, 65, 128, rng.randint(0, 300))))
        msg = random_bytes(rng, rng.randint(0, 300))
        assert pbkdf2.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


def test_equal_agrees_with_compare_digest():
    rng = random.Random(SEED + 4)
    for _ in range(300):
        a = random_bytes(rng, rng.randint(0, 40))
        b = bytearray(a)
        kind = rng.randint(0, 3)
        if kind == 1 and b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif kind == 2:
            b = b[:rng.randint(0, len(b))]
        elif kind == 3:
            b += random_bytes(rng, rng.randint(1, 3))
        assert pbkdf2.equal(a, bytes(b)) == hmac.compare_digest(a, bytes(b))


@pytest.mark.parametrize("iterations", [1, 1000])
def test_str_password_is_utf8(iterations):
    want = hashlib.pbkdf2_hmac("sha256", "kunci-ñ".encode(), b"salt", iterations)
    assert pbkdf2.pbkdf2_sha256("kunci-ñ", "salt", iterations) == want
