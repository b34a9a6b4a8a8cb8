"""A virtual DS18B20 temperature sensor on a 1-Wire pin, answering slot by slot as the chip does
(Maxim DS18B20 datasheet, rev. 6):

- reset -> presence pulse; then a ROM command: 0x33 READ ROM, 0x55 MATCH ROM, 0xCC SKIP ROM,
  0xF0 SEARCH ROM (bit, complement, then the master's choice); a non-matching device stays
  silent until the next reset;
- function commands: 0x44 CONVERT T (read slots return 0 while converting: 750 ms at 12 bits,
  93.75 ms at 9 bits), 0xBE READ SCRATCHPAD (9 bytes, LSB first, byte 8 the CRC-8),
  0x4E WRITE SCRATCHPAD (TH, TL, configuration), 0xB4 READ POWER SUPPLY;
- the temperature register holds 0x0550 (+85 C) after power-up until a conversion completes;
  two's complement in 1/16 C (-10.125 C = 0xFF5E).

Faults: ``present`` False (no presence: unplugged), ``parasite_fails`` (a conversion never
finishes its write to the register: parasite power without a strong pull-up, the register keeps
85 C), ``noise`` (the next N scratchpad reads have a flipped bit), ``power_cycle()``.
"""

from vhw import clock

_CONVERT_US = {0x1F: 93750, 0x3F: 187500, 0x5F: 375000, 0x7F: 750000}


def _crc8(data):
    crc = 0
    for b in data:
        for _ in range(8):
            mix = (crc ^ b) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            b >>= 1
    return crc


class DS18B20:
    def __init__(self, board, gpio, serial=b"\x01\x02\x03\x04\x05\x06", temp_c=25.0,
                 name="ds18b20"):
        body = b"\x28" + serial[:6]  # family code 0x28
        self.rom = body + bytes((_crc8(body),))
        self.temp_c = temp_c
        self.present = True
        self.parasite_fails = False
        self.noise = 0
        self.conversions = 0
        self.power_cycle()
        board.pin(gpio)
        board.onewire.setdefault(gpio, []).append(self)
        board.attach(name, self)

    def power_cycle(self):
        self.raw = 0x0550  # +85 C: the power-on value of the temperature register
        self.th, self.tl, self.config = 0x4B, 0x46, 0x7F
        self.busy_until = None
        self._idle()

    def set(self, temp_c):
        self.temp_c = temp_c

    # -- the 1-Wire slots -----------------------------------------------------------------
    def _idle(self):
        self.state = "rom"  # what the next bits are: rom cmd, match, search, func, write, out
        self.bits = 0
        self.nbits = 0
        self.out = []  # bits to send, first first
        self.selected = False

    def ow_reset(self):
        self._idle()
        return self.present

    def _collect(self, bit, n):
        self.bits |= bit << self.nbits
        self.nbits += 1
        if self.nbits < n:
            return None
        value, self.bits, self.nbits = self.bits, 0, 0
        return value

    def ow_write_bit(self, bit):
        if not self.present or self.state == "off":
            return
        if self.state == "search_dir":
            want = (self.rom[self.search_i // 8] >> (self.search_i % 8)) & 1
            if bit != want:
                self.state = "off"
                return
            self.search_i += 1
            if self.search_i == 64:
                self.state = "func"  # a device found by the search is selected
                self.selected = True
            else:
                self._search_out()
            return
        n = {"rom": 8, "func": 8, "match": 64, "write": 24}.get(self.state)
        if n is None:
            return
        value = self._collect(bit, n)
        if value is None:
            return
        if self.state == "rom":
            self._rom_command(value)
        elif self.state == "match":
            rom = bytes((value >> (8 * i)) & 0xFF for i in range(8))
            self.state = "func" if rom == self.rom else "off"
        elif self.state == "func":
            self._function(value)
        elif self.state == "write":
            self.th, self.tl, self.config = value & 0xFF, (value >> 8) & 0xFF, (value >> 16) | 0x1F
            self.state = "off"

    def _rom_command(self, cmd):
        if cmd == 0xCC:
            self.state = "func"
        elif cmd == 0x55:
            self.state = "match"
        elif cmd == 0x33:
            self._send(self.rom)
        elif cmd == 0xF0:
            self.search_i = 0
            self._search_out()
        else:
            self.state = "off"

    def _search_out(self):
        b = (self.rom[self.search_i // 8] >> (self.search_i % 8)) & 1
        self.out = [b, 1 - b]
        self.state = "search_out"

    def _function(self, cmd):
        if cmd == 0x44:
            self.conversions += 1
            self.busy_until = clock.us + _CONVERT_US.get(self.config | 0x1F, 750000)
            self.state = "converting"
        elif cmd == 0xBE:
            self._finish_conversion()
            pad = bytearray((self.raw & 0xFF, self.raw >> 8, self.th, self.tl, self.config,
                             0xFF, 0x0C, 0x10))
            pad.append(_crc8(pad))
            if self.noise:
                self.noise -= 1
                pad[1] ^= 0x04
            self._send(pad)
        elif cmd == 0x4E:
            self.state = "write"
        elif cmd == 0xB4:
            self.out = [1]  # externally powered
            self.state = "out"
        else:
            self.state = "off"

    def _send(self, data):
        self.out = [(b >> i) & 1 for b in data for i in range(8)]
        self.state = "out"

    def _finish_conversion(self):
        if self.busy_until is not None and clock.us >= self.busy_until:
            self.busy_until = None
            if not self.parasite_fails:
                step = {0x1F: 8, 0x3F: 4, 0x5F: 2, 0x7F: 1}.get(self.config | 0x1F, 1)
                sixteenths = int(round(self.temp_c * 16)) // step * step
                self.raw = sixteenths & 0xFFFF

    def ow_read_bit(self):
        if not self.present:
            return 1
        if self.state == "converting":
            self._finish_conversion()
            return 0 if self.busy_until is not None else 1
        if self.state in ("out", "search_out") and self.out:
            bit = self.out.pop(0)
            if self.state == "search_out" and not self.out:
                self.state = "search_dir"
            return bit
        return 1
