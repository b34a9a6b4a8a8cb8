"""Virtual ``_onewire``: the ESP32 port's C module that times 1-Wire slots on a pin
(``onewire.py`` builds the bus protocol on it). Here each slot reaches the devices the virtual
board has on that pin, and takes its time on the clock.

Slot timing (DS18B20 datasheet, standard speed): reset 480 us low + 480 us presence window;
a read or write slot about 70 us. The bus is wired-AND: a bit reads 0 if any device pulls it low;
nothing on the line (or a broken wire) reads 1, the pull-up.
"""

from vhw import board as _board
from vhw import clock

_RESET_US = 960
_SLOT_US = 70


def _devices(pin):
    return _board.BOARD.onewire.get(pin._s.gpio, [])


def reset(pin):
    clock.advance(_RESET_US)
    present = False
    for dev in _devices(pin):
        if dev.ow_reset():
            present = True
    return present


def readbit(pin):
    clock.advance(_SLOT_US)
    bit = 1
    for dev in _devices(pin):
        bit &= dev.ow_read_bit()
    return bit


def writebit(pin, value):
    clock.advance(_SLOT_US)
    for dev in _devices(pin):
        dev.ow_write_bit(1 if value else 0)


def readbyte(pin):
    v = 0
    for i in range(8):
        v |= readbit(pin) << i  # least significant bit first
    return v


def writebyte(pin, value):
    for i in range(8):
        writebit(pin, (value >> i) & 1)


def crc8(data):
    """Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1, reflected 0x8C): 0 over a frame with its CRC."""
    crc = 0
    for b in data:
        for _ in range(8):
            mix = (crc ^ b) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C
            b >>= 1
    return crc
