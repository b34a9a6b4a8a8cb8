"""DS18B20 driver against the virtual sensor: the 1-Wire slots, CRC, sign, the 85 C power-on
value, two sensors on one bus, and a conversion that does not block the loop."""

import asyncio

import machine
import onewire

import fwhelp
from drivers.ds18b20 import DS18B20, DS18B20Error
from fwhelp import check, raises
from vhw import clock
from vhw.parts.ds18b20 import DS18B20 as VirtualDS18B20

PIN = 13


def make(temp_c=25.0):
    board = fwhelp.fresh_board()
    part = VirtualDS18B20(board, PIN, temp_c=temp_c)
    return board, part, DS18B20(onewire.OneWire(machine.Pin(PIN)))


def test_crc8_check_value():
    # Maxim application note 27: ROM 02 1C B8 01 00 00 00 has the CRC A2
    fwhelp.fresh_board()
    ow = onewire.OneWire(machine.Pin(PIN))
    check(ow.crc8(b"\x02\x1c\xb8\x01\x00\x00\x00") == 0xA2, hex(ow.crc8(b"\x02\x1c\xb8\x01\x00\x00\x00")))
    check(ow.crc8(b"\x02\x1c\xb8\x01\x00\x00\x00\xa2") == 0, "zero over data + CRC")


def test_temperatures_from_the_datasheet_table():
    # datasheet table 1: +125 = 0x07D0, +25.0625 = 0x0191, +10.125 = 0x00A2, +0.5 = 0x0008,
    # 0 = 0x0000, -0.5 = 0xFFF8, -10.125 = 0xFF5E, -25.0625 = 0xFE6F, -55 = 0xFC90
    board, part, sensor = make()
    for c in (125.0, 25.0625, 10.125, 0.5, 0.0, -0.5, -10.125, -25.0625, -55.0):
        part.set(c)
        got = asyncio.run(sensor.read_c())
        check(got == c, "%s C read as %s" % (c, got))
    check(part.raw == 0xFC90, "register of -55 C: %04X" % part.raw)


def test_the_power_on_value_is_not_a_reading():
    board, part, sensor = make(temp_c=21.0)
    part.parasite_fails = True  # conversions never reach the register
    e = raises(DS18B20Error, lambda: asyncio.run(sensor.read_c()), "85.0", "power-on")
    check(part.conversions == 2, "tried twice: %d" % part.conversions)
    part.parasite_fails = False
    check(asyncio.run(sensor.read_c()) == 21.0, "works again")
    check("conversion did not complete" in str(e), str(e))


def test_unplugged_noisy_and_open_line():
    board, part, sensor = make()
    part.present = False
    raises(DS18B20Error, lambda: asyncio.run(sensor.read_c()), "no DS18B20 answers", "pull-up")
    part.present = True
    part.noise = 1
    raises(DS18B20Error, lambda: asyncio.run(sensor.read_c()), "CRC error")
    check(asyncio.run(sensor.read_c()) == 25.0, "the next read is clean")


def test_conversion_waits_750_ms_without_blocking_the_loop():
    board, part, sensor = make()
    ticks = []

    async def other():
        while True:
            ticks.append(clock.us)
            await asyncio.sleep_ms(50)

    async def main():
        t = asyncio.create_task(other())
        t0 = clock.us
        c = await sensor.read_c()
        t.cancel()
        return c, clock.us - t0
    c, took = asyncio.run(main())
    check(c == 25.0, c)
    check(750000 <= took < 800000, "conversion took %d us" % took)
    check(len(ticks) >= 14, "another task ran %d times meanwhile" % len(ticks))


def test_two_sensors_on_one_bus_found_and_read_by_rom():
    board = fwhelp.fresh_board()
    a = VirtualDS18B20(board, PIN, serial=b"\x11\x22\x33\x44\x55\x66", temp_c=18.5, name="a")
    b = VirtualDS18B20(board, PIN, serial=b"\x11\x22\x33\x44\x55\x67", temp_c=27.25, name="b")
    ow = onewire.OneWire(machine.Pin(PIN))
    roms = ow.scan()
    check(sorted(roms) == sorted([a.rom, b.rom]), "found %s" % [r.hex() for r in roms])
    for rom, want in ((a.rom, 18.5), (b.rom, 27.25)):
        check(asyncio.run(DS18B20(ow, rom).read_c()) == want, "sensor %s" % rom.hex())


def test_input_only_pin_cannot_drive_the_bus():
    fwhelp.fresh_board()
    raises(ValueError, lambda: onewire.OneWire(machine.Pin(34)), "input")
