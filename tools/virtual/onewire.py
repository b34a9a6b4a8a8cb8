"""Virtual ``onewire``: the 1-Wire bus class the ESP32 port freezes into its image, written
here for the virtual board on top of the virtual ``_onewire`` slots (same names and behaviour
as the port's module: reset, bits and bytes LSB first, MATCH/SKIP ROM, SEARCH ROM, CRC-8).

    ow = onewire.OneWire(machine.Pin(13))
    roms = ow.scan()        # 8-byte ROM codes of every device on the bus
"""

import _onewire


class OneWireError(Exception):
    pass


class OneWire:
    SEARCH_ROM = 0xF0
    MATCH_ROM = 0x55
    SKIP_ROM = 0xCC

    def __init__(self, pin):
        self.pin = pin
        # the bus is open drain with a pull-up (an external 4.7 kOhm on real wiring)
        pin.init(pin.OPEN_DRAIN, pin.PULL_UP)

    def reset(self, required=False):
        present = _onewire.reset(self.pin)
        if required and not present:
            raise OneWireError
        return present

    def readbit(self):
        return _onewire.readbit(self.pin)

    def readbyte(self):
        return _onewire.readbyte(self.pin)

    def readinto(self, buf):
        for i in range(len(buf)):
            buf[i] = _onewire.readbyte(self.pin)

    def writebit(self, value):
        return _onewire.writebit(self.pin, value)

    def writebyte(self, value):
        return _onewire.writebyte(self.pin, value)

    def write(self, buf):
        for b in buf:
            _onewire.writebyte(self.pin, b)

    def select_rom(self, rom):
        self.reset()
        self.writebyte(self.MATCH_ROM)
        self.write(rom)

    def scan(self):
        """Every device's ROM by the 1-Wire search: at each bit the devices still in the search
        send the bit and its complement; 0 and 1 both seen is a branch to come back to."""
        found = []
        branch = -1  # highest bit where the 0 path was taken and a 1 path is left
        rom = bytearray(8)
        while True:
            if not self.reset():
                return found
            self.writebyte(self.SEARCH_ROM)
            last_zero = -1
            for i in range(64):
                b = self.readbit()
                nb = self.readbit()
                if b and nb:
                    return found  # nobody answered: a device left the bus mid-search
                if b != nb:
                    bit = b
                elif i < branch:
                    bit = (rom[i // 8] >> (i % 8)) & 1
                else:
                    bit = 1 if i == branch else 0
                if not b and not nb and bit == 0:
                    last_zero = i
                if bit:
                    rom[i // 8] |= 1 << (i % 8)
                else:
                    rom[i // 8] &= ~(1 << (i % 8))
                self.writebit(bit)
            found.append(bytes(rom))
            branch = last_zero
            if branch < 0:
                return found

    def crc8(self, data):
        return _onewire.crc8(data)
