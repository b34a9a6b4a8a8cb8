"""Kuword's PIN store and rotating audit log on the virtual flash: round trips, damage
detection, and a power cut injected at every byte offset of a write."""

import os

import fwhelp
from apps.kuword.pinstore import PinStore, StoreError
from fwhelp import check
from kit import pbkdf2, store
from vhw import flash

PATH = "pins_test.json"


def _clean(*names):
    for name in names:
        fwhelp.remove(name, name + ".tmp", name + ".1")


def _key(n):
    return bytes([(n * 37 + i) & 0xFF for i in range(32)])


def _store(users):
    pins = PinStore(PATH, 10)
    pins.create()
    pins.put("m", _key(0), 6)
    for i in range(1, users + 1):
        pins.put("u%d" % i, _key(i), 4 + i % 3)
    return pins


def _snapshot(pins):
    return sorted([(slot, bytes(rec[0]), rec[1], rec[2], rec[3]) for slot, rec in pins.codes.items()])


def test_round_trip_and_match():
    fwhelp.fresh_board()
    _clean(PATH)
    pins = _store(3)
    pins.save()
    again = PinStore(PATH)
    check(again.load() == "ok", "load")
    check(_snapshot(again) == _snapshot(pins), "codes differ after a round trip")
    check(again.salt == pins.salt and len(again.salt) == 16, "salt")
    check(again.iterations == 10, "the store keeps its own iteration count: %r" % again.iterations)
    check(again.match(_key(2), 0) == "u2", "match")
    check(again.match(_key(99), 0) is None, "no match")
    check(sorted(again.lengths()) == [4, 5, 6], again.lengths())
    check(again.free("u", 20) == "u4", again.free("u", 20))
    _clean(PATH)


def test_no_pin_or_code_on_flash():
    fwhelp.fresh_board()
    _clean(PATH)
    pins = PinStore(PATH, 50)
    pins.create()
    key = pbkdf2.pbkdf2_sha256(b"246810", pins.salt, 50)
    pins.put("m", pbkdf2.pbkdf2_sha256(b"135790", pins.salt, 50), 6)
    pins.put("u1", key, 6)
    pins.save()
    with open(PATH, "rb") as f:
        data = f.read()
    check(b"246810" not in data and b"135790" not in data, "a PIN is on the flash")
    check(PinStore(PATH).load() == "ok", "reload")
    _clean(PATH)


def test_missing_store_is_missing_and_damage_is_an_error():
    fwhelp.fresh_board()
    _clean(PATH)
    check(PinStore(PATH).load() == "missing", "missing")
    _store(2).save()
    with open(PATH, "rb") as f:
        good = f.read()
    for i in (0, 10, len(good) // 2, len(good) - 3):
        bad = bytearray(good)
        bad[i] ^= 0x01
        with open(PATH, "wb") as f:
            f.write(bad)
        try:
            PinStore(PATH).load()
        except StoreError as e:
            check(PATH in str(e), "the error names the file: %s" % e)
        else:
            raise AssertionError("a flipped bit at byte %d was not detected" % i)
    for cut in (0, 1, len(good) // 2, len(good) - 2):  # minus 1 drops only the final newline: complete
        with open(PATH, "wb") as f:
            f.write(good[:cut])
        try:
            PinStore(PATH).load()
        except StoreError:
            pass
        else:
            raise AssertionError("a store cut to %d bytes was read as valid" % cut)
    _clean(PATH)


def test_power_cut_at_every_byte_of_a_store_write():
    fwhelp.fresh_board()
    _clean(PATH)
    old = _store(2)
    old.save()
    before = _snapshot(old)
    new = _store(2)
    new.salt = old.salt
    new.put("u3", _key(3), 8)
    after = _snapshot(new)
    with open(PATH, "rb") as f:
        size = len(f.read()) + 140  # the new store is about one record longer
    outcomes = {"old": 0, "new": 0}
    cuts = 0
    for units in range(size + 2):
        flash.cut_after(units)
        try:
            new.save()
        except flash.PowerCut:
            cuts += 1
        finally:
            flash.disarm()
        reread = PinStore(PATH)
        try:
            state = reread.load()
        except StoreError as e:
            raise AssertionError("cut after %d units: %s" % (units, e)) from None
        check(state == "ok", "cut after %d units left no store" % units)
        got = _snapshot(reread)
        check(got in (before, after), "cut after %d units: a mixed store %r" % (units, got))
        outcomes["old" if got == before else "new"] += 1
        old.save()  # back to the old store for the next offset
    check(cuts >= size - 140, "the cut was not injected: %d cuts" % cuts)
    check(outcomes["old"] >= 100 and outcomes["new"] >= 1, outcomes)
    _clean(PATH)


def test_audit_log_rotates_and_survives_a_cut():
    fwhelp.fresh_board()
    _clean("audit_t.csv")
    for i in range(40):
        store.append_line("audit_t.csv", "%d,0,user1,granted" % i, 200)
    with open("audit_t.csv") as f:
        current = f.read().split("\n")[:-1]
    with open("audit_t.csv.1") as f:
        previous = f.read().split("\n")[:-1]
    check(current[-1] == "39,0,user1,granted", current)
    check(len(previous) >= 5 and int(previous[-1].split(",")[0]) + 1 == int(current[0].split(",")[0]),
          "rotation lost lines: %r / %r" % (previous[-1:], current[:1]))
    for units in range(0, 260, 7):
        flash.cut_after(units)
        try:
            store.append_line("audit_t.csv", "x,0,unknown,denied", 200)
        except flash.PowerCut:
            pass
        finally:
            flash.disarm()
        for name in ("audit_t.csv", "audit_t.csv.1"):
            with open(name) as f:
                text = f.read()
            check(text.endswith("\n"), "cut after %d units: a torn line in %s" % (units, name))
    _clean("audit_t.csv")


def _write_store(body):
    import hashlib
    from binascii import hexlify

    data = body.encode()
    with open(PATH, "wb") as f:
        f.write(data + b"\n" + hexlify(hashlib.sha256(data).digest()) + b"\n")


def test_checksum_valid_stores_with_wrong_content_are_refused():
    fwhelp.fresh_board()
    _clean(PATH)
    good = "00" * 32
    salt = "00" * 16
    bodies = (
        '{"v": 1, "salt": "%s", "iter": 10, "codes": [1, 2]}' % salt,  # codes as a list
        '{"v": 1, "salt": "%s", "iter": 0, "codes": {"m": ["%s", 6, 0, 0]}}' % (salt, good),
        '{"v": 1, "salt": "%s", "iter": 10, "codes": {"m": ["%s", "6", 0, 0]}}' % (salt, good),
        '{"v": 1, "salt": "%s", "iter": 10, "codes": {"u1": ["%s", 6, 0, 0]}}' % (salt, good),  # no master
        '{"v": 1, "salt": "%s", "iter": 10, "codes": {"m": ["%s", 6, 0, 0], "x9": ["%s", 6, 0, 0]}}'
        % (salt, good, good),
        '{"v": 1, "salt": "00", "iter": 10, "codes": {"m": ["%s", 6, 0, 0]}}' % good,
        '{"v": 1, "salt": "%s", "iter": true, "codes": {"m": ["%s", 6, 0, 0]}}' % (salt, good),
    )
    for body in bodies:
        _write_store(body)
        try:
            PinStore(PATH).load()
        except StoreError:
            continue
        raise AssertionError("accepted: %s" % body)
    _write_store('{"v": 1, "salt": "%s", "iter": 10, "codes": {"m": ["%s", 6, 0, 0]}}' % (salt, good))
    check(PinStore(PATH).load() == "ok", "a minimal good store")
    _clean(PATH)


def test_a_store_or_state_that_cannot_be_read_is_not_a_missing_one():
    fwhelp.fresh_board()
    _clean(PATH)
    os.mkdir(PATH)  # open() fails with an error other than "no such file"
    try:
        try:
            PinStore(PATH).load()
        except StoreError as e:
            check("cannot be read" in str(e), str(e))
        else:
            raise AssertionError("an unreadable store was taken as missing (a first start)")
        try:
            store.read_json(PATH, {"fails": 0})
        except ValueError as e:
            check(PATH in str(e), str(e))
        else:
            raise AssertionError("an unreadable state file read as the default")
    finally:
        os.rmdir(PATH)


def test_a_huge_log_rotates_without_being_read():
    fwhelp.fresh_board()
    _clean("audit_h.csv")
    with open("audit_h.csv", "wb") as f:
        for _ in range(200):
            f.write(b"x" * 1000)
    store.append_line("audit_h.csv", "1,2,system,boot", 4096)
    with open("audit_h.csv") as f:
        check(f.read() == "1,2,system,boot\n", "a fresh file after the rotation")
    check(os.stat("audit_h.csv.1")[6] == 200000, "the old file kept as .1")
    _clean("audit_h.csv")
