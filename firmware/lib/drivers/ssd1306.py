"""SSD1306 128x64 monochrome OLED on I2C (the common 0.96" module, address 0x3C or 0x3D).

Wiring: VCC to 3.3 V, GND, SDA and SCL to the board's I2C pins (the module has its pull-ups).

The controller (Solomon Systech SSD1306 datasheet rev 1.1) takes a control byte, then commands
(0x00) or display data (0x40). Its RAM is 8 pages of 128 columns; one byte is a column of 8
pixels, least significant bit on top: the layout of framebuf.MONO_VLSB, so the frame buffer is
sent as it is. The charge pump (0x8D 0x14) must be on for modules without a 7-9 V VCC input.
The display RAM holds noise after power-up, so it is cleared before the display is switched on.

    oled = SSD1306(i2c)                 # finds 0x3C or 0x3D
    oled.show_lines(["pH 5.8", "agak masam"])
"""

import framebuf

ADDRESSES = (0x3C, 0x3D)
WIDTH, HEIGHT = 128, 64
_INIT = (
    0xAE,  # display off
    0xD5, 0x80,  # clock divide / oscillator: the datasheet's reset value
    0xA8, HEIGHT - 1,  # multiplex ratio: 64 rows
    0xD3, 0x00,  # display offset 0
    0x40,  # start line 0
    0x8D, 0x14,  # charge pump on (3.3 V modules)
    0x20, 0x00,  # horizontal addressing: data runs across pages
    0xA1,  # column 127 mapped to SEG0 (the module is mounted mirrored)
    0xC8,  # COM scan from COM63 down
    0xDA, 0x12,  # COM pins: alternative configuration for 128x64
    0x81, 0xCF,  # contrast
    0xD9, 0xF1,  # pre-charge: 1 clock discharge, 15 clocks charge (internal VCC)
    0xDB, 0x40,  # VCOMH deselect level
    0xA4,  # display follows RAM
    0xA6,  # normal (not inverted)
    0xAF,  # display on
)


class SSD1306:
    def __init__(self, i2c, addr=None):
        self.i2c = i2c
        if addr is None:
            found = [a for a in i2c.scan() if a in ADDRESSES]
            if not found:
                raise OSError("no SSD1306 at 0x3C or 0x3D (found %s)" % [hex(a) for a in i2c.scan()])
            addr = found[0]
        self.addr = addr
        self.buf = bytearray(WIDTH * HEIGHT // 8)
        self.fb = framebuf.FrameBuffer(self.buf, WIDTH, HEIGHT, framebuf.MONO_VLSB)
        self._cmd = bytearray(2)
        for c in _INIT[:-1]:
            self.command(c)
        self.show()  # the RAM holds noise at power-up: clear it before the panel lights
        self.command(_INIT[-1])

    def command(self, c):
        self._cmd[0] = 0x00
        self._cmd[1] = c
        self.i2c.writeto(self.addr, self._cmd)

    def show(self):
        for c in (0x21, 0, WIDTH - 1, 0x22, 0, HEIGHT // 8 - 1):  # the whole RAM, from 0,0
            self.command(c)
        self.i2c.writevto(self.addr, (b"\x40", self.buf))

    def show_lines(self, lines):
        """Up to 8 lines of 16 characters (8x8 font)."""
        self.fb.fill(0)
        for i in range(min(8, len(lines))):
            self.fb.text(lines[i], 0, i * 8, 1)
        self.show()

    def power(self, on):
        self.command(0xAF if on else 0xAE)
