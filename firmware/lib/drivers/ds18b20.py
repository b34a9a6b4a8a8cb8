"""DS18B20 soil temperature probe (the waterproof steel-tube kind) on a 1-Wire pin.

Wiring: red to 3.3 V, black to GND, yellow (data) to the pin, with a 4.7 kOhm pull-up from data
to 3.3 V. Power it from 3.3 V ("parasite" power, with VDD grounded, needs a strong pull-up
during conversions that this driver does not drive: conversions then fail and read +85 C).
The data pin must be able to drive the line low: not GPIO34-39 on an ESP32.

Protocol (Maxim DS18B20 datasheet): reset, SKIP ROM (one sensor) or MATCH ROM, CONVERT T, wait
until the sensor releases the line (750 ms at 12 bits), reset, select, READ SCRATCHPAD: 9 bytes
whose last is a CRC-8 of the other 8. Temperature: bytes 0-1, two's complement, 1/16 C.

"No reading" is an exception the caller turns into None: no presence pulse (unplugged), a CRC
error (noise on a long cable), or +85.0 C, the register's power-on value, which means the
conversion did not complete (it cannot be a soil temperature).

    sensor = DS18B20(onewire.OneWire(Pin(13)))
    c = await sensor.read_c()   # e.g. 24.5625; raises DS18B20Error
"""

import asyncio
import time

_CONVERT = 0x44
_READ_SCRATCH = 0xBE
_SKIP_ROM = 0xCC
_POWER_ON_RAW = 0x0550  # +85 C
CONVERT_MS = 750  # 12-bit resolution, datasheet maximum


class DS18B20Error(Exception):
    pass


class DS18B20:
    def __init__(self, ow, rom=None):
        self.ow = ow
        self.rom = rom  # None: the only sensor on the bus (SKIP ROM)
        self.buf = bytearray(9)

    def _select(self):
        if not self.ow.reset():
            raise DS18B20Error("no DS18B20 answers on the 1-Wire pin (wiring, or the 4.7 kOhm "
                               "pull-up to 3.3 V missing)")
        if self.rom is None:
            self.ow.writebyte(_SKIP_ROM)
        else:
            self.ow.writebyte(0x55)
            self.ow.write(self.rom)

    async def convert(self):
        """Start a conversion and wait, without blocking the loop, until the sensor says it is
        done (read slots turn 1) or CONVERT_MS + 10 % has passed."""
        self._select()
        self.ow.writebyte(_CONVERT)
        start = time.ticks_ms()
        while not self.ow.readbit():
            if time.ticks_diff(time.ticks_ms(), start) > CONVERT_MS * 11 // 10:
                raise DS18B20Error("conversion still running after %d ms" % (CONVERT_MS * 11 // 10))
            await asyncio.sleep_ms(20)

    def read_scratch(self):
        self._select()
        self.ow.writebyte(_READ_SCRATCH)
        self.ow.readinto(self.buf)
        if self.ow.crc8(self.buf):
            if self.buf == b"\xff" * 9:
                raise DS18B20Error("the sensor stopped answering (data line open)")
            raise DS18B20Error("CRC error in the scratchpad (noise on the cable?)")
        return self.buf

    async def read_c(self):
        """One conversion; the temperature in C (float, 1/16 C steps)."""
        for _ in range(2):
            await self.convert()
            buf = self.read_scratch()
            raw = buf[0] | (buf[1] << 8)
            if raw != _POWER_ON_RAW:
                return (raw - 0x10000 if raw & 0x8000 else raw) / 16
        raise DS18B20Error("reads +85.0 C, the power-on value: the conversion did not complete "
                           "(parasite power without a strong pull-up, or a weak supply)")
