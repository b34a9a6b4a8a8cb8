"""Modbus RTU master: CRC and frames against every vector of ../shared/data/modbus/frames.csv,
and whole transactions against the virtual RS485 probe (a slave that checks CRCs and DE)."""

import asyncio

import machine

import fwhelp
from drivers import modbus_rtu as mb
from fwhelp import check, raises
from vhw import clock
from vhw.parts.soil_probe import SoilProbe

TX, RX, DE = 17, 16, 4


def _csv_rows(path):
    """frames.csv as dicts (a small quote-aware reader: MicroPython has no csv module)."""
    with open(path) as f:
        text = f.read()
    rows, row, field, quoted, i = [], [], "", False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == '"' and text[i + 1:i + 2] == '"':
                field += '"'
                i += 1
            elif c == '"':
                quoted = False
            else:
                field += c
        elif c == '"':
            quoted = True
        elif c == ",":
            row.append(field)
            field = ""
        elif c == "\n":
            row.append(field)
            rows.append(row)
            row, field = [], ""
        elif c != "\r":
            field += c
        i += 1
    if field or row:
        row.append(field)
        rows.append(row)
    head = rows[0]
    return [{head[i]: r[i] for i in range(len(head))} for r in rows[1:] if len(r) == len(head)]


def _bytes(hexstr):
    return bytes(int(h, 16) for h in hexstr.split())


def _vectors():
    return _csv_rows(fwhelp.shared("modbus/frames.csv"))


def test_crc_check_value():
    # CRC-16/MODBUS catalogue check value (reveng): "123456789" -> 0x4B37
    check(mb.crc16(b"123456789") == 0x4B37, hex(mb.crc16(b"123456789")))
    # low byte first: the request 01 03 00 00 00 01 ends 84 0A (the classic Modbus example)
    check(mb.read_request(1, 0, 1) == _bytes("01 03 00 00 00 01 84 0A"), mb.read_request(1, 0, 1))


def test_every_vector_crc_as_the_file_says():
    rows = _vectors()
    check(len(rows) >= 20, "vectors read: %d" % len(rows))
    for r in rows:
        frame = _bytes(r["frame_hex"])
        good = r["crc_check_by_us"].strip().upper() == "OK"
        check(mb.crc_ok(frame) == good, "%s %s: crc_ok %s, file says %s" % (
            r["id"], r["frame_hex"], mb.crc_ok(frame), r["crc_check_by_us"]))


def test_request_vectors_are_what_the_master_builds():
    built = 0
    for r in _vectors():
        if not r["direction"].startswith("request") or r["crc_check_by_us"].strip().upper() != "OK":
            continue
        f = _bytes(r["frame_hex"])
        addr, func, reg = f[0], f[1], (f[2] << 8) | f[3]
        if func in (3, 4):
            mine = mb.read_request(addr, reg, (f[4] << 8) | f[5], func)
        elif func == 16:
            n = (f[4] << 8) | f[5]
            mine = mb.write_request(addr, reg, [(f[7 + 2 * i] << 8) | f[8 + 2 * i] for i in range(n)])
        else:
            raise AssertionError("%s: function %d not expected in the vectors" % (r["id"], func))
        check(mine == f, "%s: built %s, vector %s" % (r["id"], mb.hexlify(mine), r["frame_hex"]))
        built += 1
    check(built >= 15, "requests compared: %d" % built)


def test_response_vectors_decode_to_what_the_documents_say():
    want = {  # id -> (registers, decoded as the document says)
        "V02": [0x0292, 0xFF9B, 0x03E8],  # 65.8 %RH, -10.1 C, 1000 uS/cm
        "V07": [0x0020],  # N = 32 mg/kg
        "V09": [0x01EF, 0x0144, 0x0004],  # 49.5 %, 32.4 C, 4 uS/cm
        "V19": [0x0292, 0xFF9B],
        "V22": [0], "V23": [0x2D], "V25": [1], "V27": [1, 2],
    }
    seen = set()
    for r in _vectors():
        if not r["direction"].startswith("response"):
            continue
        f = _bytes(r["frame_hex"])
        if r["crc_check_by_us"].strip().upper() != "OK":
            raises(mb.ModbusError, lambda f=f: mb.parse_read(f, f[0], f[1], f[2] // 2))
            continue
        regs = mb.parse_read(f, f[0], f[1], f[2] // 2)
        if r["id"] in want:
            check(regs == want[r["id"]], "%s: %s" % (r["id"], regs))
            seen.add(r["id"])
    check(seen == set(want), "checked %s" % sorted(seen))
    # the signed temperature of V02: 0xFF9B = -101 -> -10.1 C
    check(mb.signed16(0xFF9B) == -101 and mb.signed16(0x0144) == 324, "two's complement")


def test_every_single_bit_error_is_rejected():
    for r in _vectors():
        if not r["direction"].startswith("response"):
            continue
        f = _bytes(r["frame_hex"])
        for i in range(len(f)):
            for bit in range(8):
                bad = bytearray(f)
                bad[i] ^= 1 << bit
                try:
                    regs = mb.parse_read(bytes(bad), f[0], f[1], f[2] // 2)
                except mb.ModbusError:
                    continue
                raise AssertionError("%s byte %d bit %d accepted: %s" % (r["id"], i, bit, regs))


def test_stray_leading_byte_exception_and_wrong_answers():
    f = _bytes("01 03 06 02 92 FF 9B 03 E8 D8 0F")  # V02
    for junk in (b"\x00", b"\xff", b"\x01"):
        check(mb.parse_read(junk + f, 1, 3, 3) == [0x0292, 0xFF9B, 0x03E8], "after %r" % junk)
    # exception 2 (illegal data address) to function 3: 01 83 02 C0 F1 (Modbus spec example)
    e = raises(mb.ExceptionResponse, lambda: mb.parse_read(_bytes("01 83 02 C0 F1"), 1, 3, 1), "")
    check(e.code == 2 and "illegal data address" in str(e), str(e))
    raises(mb.FrameError, lambda: mb.parse_read(f, 2, 3, 3), "address")  # someone else's answer
    raises(mb.FrameError, lambda: mb.parse_read(f, 1, 3, 2), "3 registers", "2 asked")  # not what was asked
    raises(ValueError, lambda: mb.read_request(0, 0, 1), "1-247")
    raises(ValueError, lambda: mb.read_request(1, 0, 126), "1-125")


def test_silence_between_frames():
    # 3.5 characters of 10 bits: 3646 us at 9600, 7292 us at 4800; 1750 us above 19200 baud
    check(mb.silence_us(9600) == 3646 and mb.silence_us(4800) == 7292, mb.silence_us(9600))
    check(mb.silence_us(38400) == 1750, mb.silence_us(38400))


def _bus(family="jxct", baud=None, master_baud=9600, de=True):
    board = fwhelp.fresh_board()
    probe = SoilProbe(board, TX, RX, DE, family=family, baud=baud)
    uart = machine.UART(2, baudrate=master_baud, tx=TX, rx=RX)
    de_pin = machine.Pin(DE, machine.Pin.OUT, value=0) if de else None
    return board, probe, mb.Master(uart, de_pin, baud=master_baud, timeout_ms=200, retries=2)


def _run(coro):
    return asyncio.run(coro)


def test_master_reads_a_jxct_probe():
    board, probe, master = _bus()
    probe.set(moisture=31.4, temperature=-2.5, ph=6.52, ec=412, n=38, p=17, k=95)
    regs = _run(master.read(1, 0x0012, 2))
    check(regs == [314, (-25) & 0xFFFF], regs)
    check(_run(master.read(1, 0x0006, 1)) == [652], "pH x100")
    check(_run(master.read(1, 0x001E, 3)) == [38, 17, 95], "NPK")
    check(probe.requests == 3 and probe.crc_errors == 0 and probe.cut_frames == 0,
          (probe.requests, probe.crc_errors, probe.cut_frames))


def test_direction_pin_held_for_exactly_the_frame():
    board, probe, master = _bus()
    edges = []
    board.pin(DE).watchers.append(lambda v: edges.append((clock.us, v)))
    t0 = clock.us
    _run(master.read(1, 0x0012, 1))
    # 8 bytes at 9600 baud = 8333 us on the wire: DE rises before the first start bit and falls
    # after the last stop bit, no later than the probe's 5 ms turnaround
    rises = [t for t, v in edges if v == 1]
    falls = [t for t, v in edges if v == 0]
    check(len(rises) == 1 and len(falls) == 1, edges)
    held = falls[0] - rises[0]
    check(8333 <= held < 8333 + 5000, "DE high %d us" % held)
    check(rises[0] - t0 >= 0, "after the bus was quiet")


def test_dropping_de_before_the_last_stop_bit_cuts_the_frame():
    board, probe, master = _bus()

    class NoFlush:
        """A UART whose flush() returns at once, as UART.write() does on an ESP32: the
        direction pin then falls while the request is still being sent."""

        def __init__(self, uart):
            self.u = uart

        def __getattr__(self, name):
            return getattr(self.u, name)

        def flush(self):
            return None

    master.uart = NoFlush(master.uart)
    raises(mb.NoAnswer, lambda: _run(master.read(1, 0x0012, 1)), "no answer")
    check(probe.cut_frames == 3 and probe.requests == 0, (probe.cut_frames, probe.requests))


def test_retries_after_a_dropped_or_corrupted_answer():
    board, probe, master = _bus()
    probe.set(moisture=20.0)
    probe.drop = 1
    check(_run(master.read(1, 0x0012, 1)) == [200], "second try answered")
    probe.corrupt = 2
    check(_run(master.read(1, 0x0012, 1)) == [200], "third try answered")
    check(master.errors == 3, master.errors)
    probe.drop = 3
    raises(mb.NoAnswer, lambda: _run(master.read(1, 0x0012, 1)), "within")
    probe.corrupt = 3
    raises(mb.CRCError, lambda: _run(master.read(1, 0x0012, 1)), "")


def test_stray_byte_slow_probe_wrong_baud_and_exceptions():
    board, probe, master = _bus()
    probe.stray = True
    probe.set(ph=5.1)
    check(_run(master.read(1, 0x0006, 1)) == [510], "stray byte skipped")
    probe.stray = False
    probe.delay_ms = 150  # slow but inside the 200 ms timeout
    check(_run(master.read(1, 0x0006, 1)) == [510], "slow probe")
    probe.delay_ms = 400
    t0 = clock.us
    raises(mb.NoAnswer, lambda: _run(master.read(1, 0x0006, 1)), "no answer")
    check(clock.us - t0 < 3 * 260000, "three tries of 200 ms, not for ever: %d us" % (clock.us - t0))
    probe.delay_ms = 0
    before = probe.requests
    e = raises(mb.ExceptionResponse, lambda: _run(master.read(1, 0x0050, 1)), "illegal data address")
    check(probe.requests == before + 1, "an exception is not retried: %d" % (probe.requests - before))
    check(e.code == 2, e.code)
    raises(mb.NoAnswer, lambda: _run(master.read(2, 0x0006, 1)), "address 2")  # nobody there
    _, probe, master = _bus(family="renke")  # 4800 baud probe, master at 9600
    raises(mb.NoAnswer, lambda: _run(master.read(1, 0x0000, 1)), "no answer")  # wrong baud
    check(probe.requests == 0, "noise at the probe's baud")
    master.set_baud(4800)
    probe.set(moisture=45.5)
    check(_run(master.read(1, 0x0000, 1)) == [455], "at its baud")


def test_back_to_back_requests_keep_the_silence():
    board, probe, master = _bus()
    probe.turnaround_ms = 0  # a fast probe: the master alone must keep the 3.5-char gap

    async def many():
        got = []
        for _ in range(5):
            got.append(await master.read(1, 0x0012, 1))
        return got
    check(len(_run(many())) == 5, "five answers")
    check(probe.requests == 5 and probe.crc_errors == 0, (probe.requests, probe.crc_errors))


def test_write_changes_address_at_the_next_power_up():
    board, probe, master = _bus()
    _run(master.write(1, 0x0100, [2]))
    check(_run(master.read(1, 0x0100, 1)) == [1], "still 1 until power-up")
    probe.power_cycle()
    check(_run(master.read(2, 0x0100, 1)) == [2], "now 2")
    e = raises(mb.ExceptionResponse, lambda: _run(master.write(2, 0x0100, [300])), "")
    check(e.code == 3, e.code)
