"""SSD1306 OLED driver against the virtual OLED (vhw/parts/ssd1306.py), and the framebuf text
both runtimes draw with (MicroPython's built-in one; on CPython tools/virtual/framebuf.py).

Pins: boards/esp32_devkitc.json, akrubutan oled_scl = 22, oled_sda = 21. The expected bytes come
from the SSD1306 datasheet (rev 1.1): commands go after control byte 0x00, display data after
0x40; the RAM is 8 pages x 128 columns, each byte a column of 8 pixels, bit 0 on top.
"""

import machine

import fwhelp
from drivers.ssd1306 import SSD1306
from fwhelp import check, raises
from vhw import clock
from vhw.parts.ssd1306 import OLED

SCL, SDA = 22, 21
# "A" in MicroPython's 8x8 font (font_petme128_8x8), 8 columns bit 0 on top: read from the
# interpreter with framebuf.text("A") into an 8x8 MONO_VLSB buffer
GLYPH_A = bytes.fromhex("007c7e0b0b7e7c00")
GLYPH_M = bytes.fromhex("007c7c1830187c7c")  # "m", read the same way
GLYPH_127 = bytes.fromhex("aa55aa55aa55aa55")  # the checkered cell for bytes outside 32-127


def bus(freq=400000):
    return machine.I2C(0, scl=machine.Pin(SCL), sda=machine.Pin(SDA), freq=freq)


class Recorder:
    """Wraps the virtual OLED's I2C input to keep every transfer (bytes as sent)."""

    def __init__(self, part):
        self.writes = []
        self._write = part.i2c_write
        part.i2c_write = self.write

    def write(self, data):
        self.writes.append(bytes(data))
        self._write(data)


def make(addr=0x3C):
    board = fwhelp.fresh_board()
    part = OLED(board, SCL, SDA, addr=addr)
    return board, part


def test_init_commands_are_the_datasheets_and_the_panel_is_upright():
    board, part = make()
    rec = Recorder(part)
    oled = SSD1306(bus())
    commands = [w[1] for w in rec.writes if len(w) == 2 and w[0] == 0x00]
    # datasheet section 10 and the application note's 128x64 sequence: off, clock, mux 63,
    # offset 0, start line 0, charge pump on, horizontal addressing, segment remap, COM scan
    # reversed, COM pins alternative, contrast, pre-charge, VCOMH, resume RAM, normal, on
    want = [0xAE, 0xD5, 0x80, 0xA8, 0x3F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x00, 0xA1, 0xC8,
            0xDA, 0x12, 0x81, 0xCF, 0xD9, 0xF1, 0xDB, 0x40, 0xA4, 0xA6]
    check(commands[:len(want)] == want, "init %s" % [hex(c) for c in commands[:len(want)]])
    check(commands[-1] == 0xAF, "the display goes on last: %s" % hex(commands[-1]))
    check(oled.addr == 0x3C and part.on and part.pump and part.remap and part.com_rev, "state")
    oled.show_lines(["AB"])
    check(part.text()[0] == "AB", part.text())
    check(part.visible()[:8] == GLYPH_A, "the glass shows the RAM upright: %s" % part.visible()[:8])


def test_power_up_noise_is_never_shown():
    board, part = make()
    check(part.ram != bytearray(1024), "the virtual RAM holds noise after power-up")
    SSD1306(bus())
    shown = [bytes.fromhex(e["ram"]) for e in fwhelp.events("oled", "oled")]
    check(shown and all(pic == bytes(1024) for pic in shown),
          "the driver clears the RAM before the panel lights: %d frames, first lit %s"
          % (len(shown), [pic[:8] for pic in shown if pic != bytes(1024)][:1]))


def test_show_lines_sends_the_frame_buffer_as_it_is():
    board, part = make()
    oled = SSD1306(bus())
    oled.show_lines(["pH 5.41", " masam", "N1999P1999K1999"])
    check(bytes(part.ram) == bytes(oled.buf), "RAM == the driver's frame buffer")
    check(part.text()[:4] == ["pH 5.41", " masam", "N1999P1999K1999", ""], part.text())
    check(part.ram[128:136] == bytes(8), "a space is blank")
    check(part.ram[128 + 8:128 + 16] == GLYPH_M, "'m' of masam, page 1: %s" % bytes(part.ram[136:144]).hex())
    frames = fwhelp.events("oled", "oled")
    check(frames[-1]["text"][1] == " masam" and frames[-1]["ram"] == bytes(oled.buf).hex(),
          "the event carries the text and the RAM: %s" % frames[-1]["text"])
    oled.show_lines(["x" * 20] + ["L%d" % i for i in range(1, 10)])
    check(part.text() == ["x" * 16] + ["L%d" % i for i in range(1, 8)], "16 columns, 8 lines: %s" % part.text())


def test_display_off_keeps_the_ram_and_on_shows_it_again():
    board, part = make()
    oled = SSD1306(bus())
    oled.show_lines(["Tidur"])
    oled.power(False)
    check(part.visible() == bytes(1024) and part.text() == [""] * 8, "off: dark glass")
    check(fwhelp.events("oled", "oled")[-1]["text"] == [""] * 8, "the dark picture is an event")
    oled.power(True)
    check(part.text()[0] == "Tidur", "on again: %s" % part.text())


def test_address_0x3d_and_no_oled():
    board, part = make(addr=0x3D)
    check(SSD1306(bus()).addr == 0x3D, "the scan finds 0x3D")
    fwhelp.fresh_board()
    e = raises(OSError, lambda: SSD1306(bus()), "no SSD1306 at 0x3C or 0x3D")
    check("found []" in str(e), str(e))


def test_a_frame_takes_23_ms_at_400_khz():
    # 1024 data bytes + control byte + 6 one-command writes, 9 clocks a byte, plus START and
    # address: about 1050 x 9 / 400 kHz = 23.6 ms (94 ms at 100 kHz: longer than a sensor read)
    for freq, lo, hi in ((400000, 22, 26), (100000, 90, 100)):
        board, part = make()
        oled = SSD1306(bus(freq))
        t0 = clock.us
        oled.show_lines(["pH 5.41"])
        ms = (clock.us - t0) / 1000
        check(lo <= ms <= hi, "%d Hz: a frame took %.1f ms" % (freq, ms))


def test_controller_modes_of_the_virtual_oled():
    board, part = make()
    i2c = bus()
    i2c.writeto(0x3C, bytes([0x00, 0x8D, 0x14, 0xA1, 0xC8, 0xAF, 0x20, 0x02, 0xB3, 0x02, 0x10]))
    i2c.writeto(0x3C, b"\x40" + GLYPH_A)  # page mode: page 3 from column 2
    check(part.ram[3 * 128 + 2:3 * 128 + 10] == GLYPH_A, "page addressing")
    i2c.writeto(0x3C, bytes([0x80, 0xB0, 0xC0, 0x55]))  # Co = 1: one command, then one data byte
    check(part.ram[0 * 128 + 10] == 0x55, "Co=1 control bytes: %s" % bytes(part.ram[8:12]).hex())
    pic = part.visible()
    i2c.writeto(0x3C, bytes([0x00, 0xA7]))
    check(part.visible() == bytes([b ^ 0xFF for b in pic]), "inverted")
    i2c.writeto(0x3C, bytes([0x00, 0xA6, 0xA5]))
    check(part.visible() == b"\xff" * 1024, "entire display on")
    i2c.writeto(0x3C, bytes([0x00, 0xA4, 0xA0]))
    check(part.visible()[127 - 10] == 0x55, "segment remap A0 mirrors left-right")
    i2c.writeto(0x3C, bytes([0x00, 0x8D, 0x10]))
    check(part.visible() == bytes(1024), "no charge pump, no light")


def test_framebuf_text_draws_utf8_bytes_as_micropython_does():
    import framebuf

    buf = bytearray(64)
    fb = framebuf.FrameBuffer(buf, 64, 8, framebuf.MONO_VLSB)
    fb.text("\u00b0A", 0, 0, 1)  # the degree sign is two UTF-8 bytes: two checkered cells
    check(bytes(buf[:24]) == GLYPH_127 * 2 + GLYPH_A, "degree sign: %s" % bytes(buf[:24]).hex())
    fb.fill(0)
    fb.text("\nA\x00B", 0, 0, 1)  # a control byte is glyph 127; a NUL ends the text
    check(bytes(buf[:24]) == GLYPH_127 + GLYPH_A + bytes(8), "control and NUL: %s" % bytes(buf[:24]).hex())
    fb.fill(0)
    fb.text("A", 60, 0, 1)  # clipped at the right edge
    check(bytes(buf[60:64]) == GLYPH_A[:4], "clip: %s" % bytes(buf[60:64]).hex())
    raises(ValueError, lambda: framebuf.FrameBuffer(bytearray(10), 128, 64, framebuf.MONO_VLSB))
