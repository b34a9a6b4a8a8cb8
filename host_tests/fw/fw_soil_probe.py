"""RS485 soil probes: both register-map families read through the Modbus master from the
virtual probe, probes that lack some registers (NPK-only, 3-in-1), the documented ranges, and
the search that finds an unknown probe's family, address and baud rate."""

import asyncio

import machine

import fwhelp
from drivers import modbus_rtu as mb
from drivers.soil_probe import SoilProbe, search
from fwhelp import check, raises
from vhw import clock
from vhw.parts.soil_probe import SoilProbe as VirtualProbe

TX, RX, DE = 17, 16, 4


def _bus(family, addr=1, baud=None, model="7in1"):
    board = fwhelp.fresh_board()
    part = VirtualProbe(board, TX, RX, DE, family=family, addr=addr, baud=baud, model=model)
    uart = machine.UART(2, baudrate=9600, tx=TX, rx=RX)
    master = mb.Master(uart, machine.Pin(DE, machine.Pin.OUT, value=0), baud=9600)
    return part, master


READINGS = {"moisture": 31.4, "temperature": -3.2, "ec": 412, "ph": 6.5, "n": 38, "p": 17, "k": 95}


def test_both_families_read_the_same_soil():
    for family, baud in (("jxct", 9600), ("renke", 4800)):
        part, master = _bus(family)
        part.set(**READINGS)
        master.set_baud(baud)
        got = asyncio.run(SoilProbe(master, 1, family).read())
        check(set(got) == set(READINGS), "%s: %s" % (family, sorted(got)))
        for k, v in READINGS.items():
            check(abs(got[k] - v) < 1e-6, "%s %s: %r, want %r" % (family, k, got[k], v))


def test_reading_a_probe_with_the_wrong_map_is_an_error_not_a_number():
    part, master = _bus("jxct")
    part.set(**READINGS)
    e = raises(mb.ExceptionResponse, lambda: asyncio.run(SoilProbe(master, 1, "renke").read()), "")
    check(e.code == 2, "JXCT has no register 0x0000: %s" % e)
    raises(ValueError, lambda: SoilProbe(master, 1, "acme"), "jxct", "renke")
    # a Renke-style probe has a register 0x0006 (its K), where a JXCT keeps pH: read as JXCT it
    # answers that and lacks 0x0012; it does not answer the JXCT address register either, so
    # the read fails instead of giving K / 100 as a pH
    part, master = _bus("renke")
    part.set(**READINGS)
    master.set_baud(4800)
    e = raises(mb.ExceptionResponse, lambda: asyncio.run(SoilProbe(master, 1, "jxct").read()), "")
    check(e.code == 2, str(e))


def test_probes_without_some_registers_give_the_readings_they_have():
    # Renke RS-NPK-N01-TR / DFRobot SEN0605: N/P/K at 0x001E-0x0020 only (register_maps.md,
    # frames.csv V06/V07); 3-in-1 probes (SEN0601): moisture, temperature, EC. The whole-block
    # read fails with exception 2 (illegal data address); the probe's readings are still given
    want = {("renke", "npk"): ("k", "n", "p"), ("jxct", "npk"): ("k", "n", "p"),
            ("renke", "3in1"): ("ec", "moisture", "temperature"), ("jxct", "3in1"): ("ec", "moisture", "temperature")}
    for (family, model), names in sorted(want.items()):
        part, master = _bus(family, model=model)
        part.set(**READINGS)
        master.set_baud(part.baud)
        probe = SoilProbe(master, 1, family)
        got = asyncio.run(probe.read())
        check(tuple(sorted(got)) == names, "%s %s: %s" % (family, model, got))
        for k in names:
            check(abs(got[k] - READINGS[k]) < 1e-6, "%s %s %s: %r" % (family, model, k, got[k]))
        # the blocks it has are remembered: the next read asks only those, one frame each
        before = part.requests
        again = asyncio.run(probe.read())
        frames = part.requests - before
        check(again == got and frames == (1 if family == "renke" else len(probe.plan)),
              "%s %s: %d frames for %s" % (family, model, frames, probe.plan))
    # the NPK-only Renke-style probe answers its address register: the search finds it
    part, master = _bus("renke", model="npk")
    check(asyncio.run(search(master)) == ("renke", 1, 4800), "found")
    # a whole 7-in-1 costs what it did: one frame (Renke) or four (JXCT) per read, first one too
    for family, frames in (("renke", 1), ("jxct", 4)):
        part, master = _bus(family)
        master.set_baud(part.baud)
        asyncio.run(SoilProbe(master, 1, family).read())
        check(part.requests == frames, "%s 7-in-1: %d frames" % (family, part.requests))


def test_readings_outside_the_documented_range_are_told():
    # JXBS-3001 manual (register_maps.md): N/P/K 0-1999 mg/kg; the Renke-style 7-in-1 (myduino's
    # README): 0-2999 mg/kg, EC 0-20000 uS/cm; moisture 0-100 %; a pH is 0-14
    part, master = _bus("jxct")
    jxct, renke = SoilProbe(master, 1, "jxct"), SoilProbe(master, 1, "renke")
    for probe, name, ok, bad in ((jxct, "n", 1999, 2000), (renke, "n", 2999, 3000), (jxct, "k", 0, 65531),
                                 (jxct, "ec", 20000, 65535), (renke, "moisture", 100.0, 100.1),
                                 (renke, "ph", 14.0, 6553.5)):
        check(probe.in_range(name, ok) and not probe.in_range(name, bad),
              "%s %s: %r in, %r out" % (probe.family, name, ok, bad))


def test_search_finds_family_address_and_baud():
    for family, addr, baud in (("jxct", 1, 9600), ("renke", 1, 4800), ("renke", 5, 9600),
                               ("jxct", 3, 2400)):
        part, master = _bus(family, addr, baud)
        t0 = clock.us
        found = asyncio.run(search(master))
        check(found == (family, addr, baud), "%s at %d/%d: found %s" % (family, addr, baud, found))
        check(master.baud == 9600 and master.retries == 2, "the master's settings are kept")
        secs = (clock.us - t0) / 1e6
        check(secs < 12, "search took %.1f s of device time" % secs)


def test_search_without_a_probe_ends():
    part, master = _bus("jxct")
    part.powered = False
    t0 = clock.us
    check(asyncio.run(search(master)) is None, "nothing found")
    secs = (clock.us - t0) / 1e6
    # 16 addresses at each of 3 bauds, each try: the 3.5-char silence, the 8-byte request on
    # the wire and the 120 ms wait: 16 x (133 + 145 + 169 ms) = 7.1 s
    check(6.5 < secs < 7.5, "gave up after %.1f s" % secs)
