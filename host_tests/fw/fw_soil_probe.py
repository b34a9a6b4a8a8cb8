"""RS485 soil probes: both register-map families read through the Modbus master from the
virtual probe, and the search that finds an unknown probe's family, address and baud rate."""

import asyncio

import machine

import fwhelp
from drivers import modbus_rtu as mb
from drivers.soil_probe import SoilProbe, search
from fwhelp import check, raises
from vhw import clock
from vhw.parts.soil_probe import SoilProbe as VirtualProbe

TX, RX, DE = 17, 16, 4


def _bus(family, addr=1, baud=None):
    board = fwhelp.fresh_board()
    part = VirtualProbe(board, TX, RX, DE, family=family, addr=addr, baud=baud)
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
