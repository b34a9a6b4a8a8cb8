"""kit.pbkdf2 against published vectors (RFC 4231 HMAC-SHA256, RFC 7914 PBKDF2-HMAC-SHA256), and
its argument checks, slicing, constant-time compare and calibration.

Every expected value below is copied from the document named in its comment and was also
reproduced with CPython's ``hmac`` / ``hashlib.pbkdf2_hmac`` before being written down.
"""

from binascii import hexlify, unhexlify

from fwhelp import check
from kit import pbkdf2


def hx(b):
    return hexlify(b).decode()


def test_hmac_sha256_rfc4231():
    # RFC 4231 section 4, test cases 1, 2, 3, 4, 6 and 7 (case 5 is a truncated output and is
    # left out). Cases 6 and 7 use a 131-byte key: longer than the 64-byte block, hashed first.
    cases = (
        (1, b"\x0b" * 20, b"Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (2, b"Jefe", b"what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (3, b"\xaa" * 20, b"\xdd" * 50,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (4, bytes(range(1, 26)), b"\xcd" * 50,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (6, b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (7, b"\xaa" * 131,
         b"This is a test using a larger than block-size key and a larger than block-size data."
         b" The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    )
    for case, key, msg, want in cases:
        got = hx(pbkdf2.hmac_sha256(key, msg))
        check(got == want, "RFC 4231 case %d: got %s, want %s" % (case, got, want))


def test_pbkdf2_rfc7914_c1():
    # RFC 7914 section 11, first PBKDF2-HMAC-SHA256 vector: P="passwd", S="salt", c=1, dkLen=64
    want = ("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    got = hx(pbkdf2.pbkdf2_sha256(b"passwd", b"salt", 1, 64))
    check(got == want, "got %s" % got)


def test_pbkdf2_rfc7914_c80000():
    # RFC 7914 section 11, second vector: P="Password", S="NaCl", c=80000, dkLen=64. Two output
    # blocks, so 160000 HMACs: about 0.4 s on the MicroPython unix port, 0.2 s on CPython.
    want = ("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
            "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")
    got = hx(pbkdf2.pbkdf2_sha256(b"Password", b"NaCl", 80000, 64))
    check(got == want, "got %s" % got)


def test_pbkdf2_widely_published_vectors():
    # The PBKDF2-HMAC-SHA256 counterparts of RFC 6070's SHA-1 vectors, as published on
    # Stack Overflow ("PBKDF2-HMAC-SHA256 test vectors") and in many libraries' test suites.
    cases = (
        (b"password", b"salt", 1, 32,
         "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        (b"password", b"salt", 2, 32,
         "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        (b"password", b"salt", 4096, 32,
         "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
        (b"passwordPASSWORDpassword", b"saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
         "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"),
        (b"pass\x00word", b"sa\x00lt", 4096, 16, "89b69d0516f829893c696226650a8687"),
    )
    for password, salt, c, dklen, want in cases:
        got = hx(pbkdf2.pbkdf2_sha256(password, salt, c, dklen))
        check(got == want, "%r %r c=%d: got %s, want %s" % (password, salt, c, got, want))


def test_dklen_truncates_the_blocks():
    full = pbkdf2.pbkdf2_sha256(b"1234", b"salt", 3, 96)
    check(len(full) == 96, len(full))
    for n in (1, 16, 31, 32, 33, 63, 64, 65, 95):
        part = pbkdf2.pbkdf2_sha256(b"1234", b"salt", 3, n)
        check(part == full[:n], "dklen %d: %s is not the start of %s" % (n, hx(part), hx(full)))
    check(len(pbkdf2.pbkdf2_sha256(b"1", b"s", 1, pbkdf2.MAX_DKLEN)) == pbkdf2.MAX_DKLEN, "max")


def test_long_password_is_hashed_first():
    # RFC 2104: a key longer than the 64-byte block is replaced by its SHA-256; one of exactly
    # 64 bytes is used as it is.
    import hashlib

    for size in (65, 100, 200):
        key = bytes((i * 7) & 0xFF for i in range(size))
        short = hashlib.sha256(key).digest()
        check(pbkdf2.pbkdf2_sha256(key, b"salt", 5) == pbkdf2.pbkdf2_sha256(short, b"salt", 5),
              "a %d-byte password must act as its SHA-256" % size)
        check(pbkdf2.hmac_sha256(key, b"m") == pbkdf2.hmac_sha256(short, b"m"), "hmac %d" % size)
    key64 = b"x" * 64
    check(pbkdf2.hmac_sha256(key64, b"m") != pbkdf2.hmac_sha256(hashlib.sha256(key64).digest(), b"m"),
          "a 64-byte key is not hashed")


def test_str_and_buffers_are_accepted():
    want = pbkdf2.pbkdf2_sha256(b"123456", b"NaCl", 10)
    for pw, salt in (("123456", "NaCl"), (bytearray(b"123456"), memoryview(b"NaCl")),
                     (memoryview(b"123456"), bytearray(b"NaCl"))):
        check(pbkdf2.pbkdf2_sha256(pw, salt, 10) == want, "%r %r" % (type(pw), type(salt)))
    check(pbkdf2.pbkdf2_sha256(b"", b"", 1) == pbkdf2.pbkdf2_sha256("", "", 1), "empty inputs")


def test_job_in_slices_gives_the_same_key():
    want = pbkdf2.pbkdf2_sha256(b"246810", b"0123456789abcdef", 50, 40)  # 2 blocks
    for size in (1, 7, 49, 50, 51, 99, 100, 1000):
        job = pbkdf2.Job(b"246810", b"0123456789abcdef", 50, 40)
        runs = 1
        check(job.key is None, "no key before running")
        while not job.run(size):
            runs += 1
            check(job.key is None, "no key before the last slice")
        check(runs == (100 + size - 1) // size, "slices of %d took %d runs" % (size, runs))
        check(job.key == want, "slices of %d: %s" % (size, hx(job.key or b"")))
        check(job.run(5) is True and job.key == want, "a finished job stays finished")


def test_bad_arguments_are_refused():
    for kwargs, words in (({"iterations": 0}, ">= 1"), ({"iterations": -5}, ">= 1"),
                          ({"iterations": 2.5}, ">= 1"), ({"iterations": "1000"}, ">= 1"),
                          ({"dklen": 0}, "1 to 1024"), ({"dklen": 1025}, "1 to 1024"),
                          ({"dklen": 32.0}, "1 to 1024")):
        args = {"iterations": 10, "dklen": 32}
        args.update(kwargs)
        try:
            pbkdf2.pbkdf2_sha256(b"1234", b"salt", args["iterations"], args["dklen"])
        except ValueError as e:
            check(words in str(e), "%s: %s" % (kwargs, e))
        else:
            raise AssertionError("accepted %s" % kwargs)
    for pw, salt in ((None, b"salt"), (1234, b"salt"), (b"1234", None), (b"1234", [1, 2])):
        try:
            pbkdf2.pbkdf2_sha256(pw, salt, 10)
        except TypeError as e:
            check("bytes" in str(e), str(e))
        else:
            raise AssertionError("accepted %r, %r" % (pw, salt))
    job = pbkdf2.Job(b"1234", b"salt", 10)
    for n in (0, -1, 1.5):
        try:
            job.run(n)
        except ValueError as e:
            check(">= 1" in str(e), str(e))
        else:
            raise AssertionError("run(%r) accepted" % (n,))


def test_equal():
    a = unhexlify("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    check(pbkdf2.equal(a, bytes(a)), "same bytes")
    check(pbkdf2.equal(a, bytearray(a)), "bytes and bytearray with the same content")
    check(pbkdf2.equal(b"", b""), "two empty strings")
    for i in (0, 15, 31):
        b = bytearray(a)
        b[i] ^= 1
        check(not pbkdf2.equal(a, b), "one bit differs at byte %d" % i)
    check(not pbkdf2.equal(a, a[:31]), "shorter (a prefix)")
    check(not pbkdf2.equal(a, a + b"\x00"), "longer")
    check(not pbkdf2.equal(a, b""), "empty")
    check(not pbkdf2.equal(b"", a), "empty first")


class Counting:
    """A byte string that counts how often its bytes are read."""

    def __init__(self, data):
        self.data = data
        self.reads = 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.reads += 1
        return self.data[i]


def test_equal_reads_every_byte_whatever_the_difference():
    # No early exit: the loop runs len(stored) times, reading two bytes each time, whether the
    # other side differs at the first byte, the last, nowhere, or has another length (then the
    # stored key is compared with itself), so the time depends only on len(stored).
    stored = bytes(range(32))
    first = bytearray(stored)
    first[0] ^= 0xFF
    last = bytearray(stored)
    last[31] ^= 0xFF
    for other in (stored, first, last, stored[:5], stored + b"!", b""):
        a = Counting(stored)
        b = Counting(bytes(other))
        pbkdf2.equal(a, b)
        reads = a.reads + b.reads
        check(reads == 64, "read %d bytes, not 2 x 32, against %r" % (reads, bytes(other)))


def test_calibrate_scales_the_trial_run():
    asked = []

    def timer(n):  # a board where one iteration takes 0.25 ms
        asked.append(n)
        return n // 4

    check(pbkdf2.calibrate(300, timer) == 1200, "0.25 ms per iteration: 1200 for 300 ms")
    check(asked == [64, 128, 256, 512], "trial runs double until >= 100 ms: %s" % asked)
    del asked[:]
    check(pbkdf2.calibrate(300, lambda n: asked.append(n) or 500) == 38, "slow: 64 * 300 // 500")
    check(asked == [64], "one trial when the first takes >= 100 ms: %s" % asked)


def test_calibrate_refuses_a_clock_that_does_not_move():
    # The virtual board's clock only moves when the firmware sleeps, like a stopped clock: the
    # default timer finds 0 ms and says so instead of returning an absurd count.
    try:
        pbkdf2.calibrate(300)
    except RuntimeError as e:
        check("did not move" in str(e), str(e))
    else:
        raise AssertionError("a stopped clock must not calibrate")
    for bad in (0, -1, 1.5):
        try:
            pbkdf2.calibrate(bad, lambda n: 100)
        except ValueError as e:
            check(">= 1" in str(e), str(e))
        else:
            raise AssertionError("target_ms %r accepted" % (bad,))


def test_default_iterations_is_a_sane_count():
    n = pbkdf2.DEFAULT_ITERATIONS
    check(isinstance(n, int) and 1000 <= n <= 20000, "DEFAULT_ITERATIONS %r" % (n,))
