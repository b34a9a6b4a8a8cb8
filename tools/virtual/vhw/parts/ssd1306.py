"""A virtual SSD1306 128x64 OLED on the I2C bus: it runs the controller's command set on its
own display RAM (8 pages x 128 columns), so what it shows depends on what the driver really
sent (SSD1306 datasheet rev 1.1, section 9 and 10).

- control byte 0x00: commands follow; 0x40: display data follows; 0x80/0xC0: one command or one
  data byte, then another control byte;
- addressing: horizontal (0x20 0x00), vertical (0x01) and page mode (0x02, 0xB0-0xB7 with
  0x00-0x1F columns); column and page windows (0x21, 0x22);
- the panel lights only with the display on (0xAF) and the charge pump on (0x8D 0x14: the
  modules have no external VCC); segment remap (0xA0/0xA1) and COM scan direction (0xC0/0xC8)
  mirror the picture, invert (0xA7) inverts it, entire display on (0xA5) lights every pixel,
  as the glass would show;
- after power-up the display RAM holds noise (the datasheet leaves it undefined): a fixed
  pseudo-random pattern here, so a driver that lights the panel before clearing it shows it.

Not modelled (the driver leaves them at their reset values): display start line (0x40-0x7F),
display offset (0xD3), multiplex ratio (0xA8), contrast (0x81), scrolling.

What a person sees is decoded into text by matching each 8x8 cell with the glyphs of the
runtime's framebuf font (the one the firmware draws with); a cell that is no glyph reads "?".
Each change of the visible picture is an ``oled`` event with ``text`` (8 lines) and ``ram``
(the 1024 visible bytes, hex) that ``kampung sim --png`` turns into a picture.
"""

import framebuf

_ARGS = {0x81: 1, 0x20: 1, 0x21: 2, 0x22: 2, 0xA8: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1, 0xDA: 1,
         0xDB: 1, 0x8D: 1, 0xA3: 2, 0x26: 6, 0x27: 6, 0x29: 5, 0x2A: 5}
_GLYPHS = {}


def _glyphs():
    if not _GLYPHS:
        b = bytearray(8)
        f = framebuf.FrameBuffer(b, 8, 8, framebuf.MONO_VLSB)
        for c in range(32, 127):
            f.fill(0)
            f.text(chr(c), 0, 0, 1)
            _GLYPHS.setdefault(bytes(b), chr(c))
    return _GLYPHS


def _noise():
    """Display RAM at power-up: undefined on the chip; a fixed pseudo-random fill here (a
    16-bit linear congruential sequence), the same on both runtimes."""
    ram = bytearray(1024)
    x = 0x2545
    for i in range(1024):
        x = (x * 75 + 74) & 0xFFFF
        ram[i] = x >> 8
    return ram


def _reverse_bits(v):
    r = 0
    for i in range(8):
        if v >> i & 1:
            r |= 1 << (7 - i)
    return r



# one-byte commands that switch a display setting: display off/on, segment remap, COM scan
# direction, inverse video, entire display on (datasheet command table)
_SWITCHES = {0xAE: ("on", False), 0xAF: ("on", True), 0xA0: ("remap", False), 0xA1: ("remap", True),
             0xC0: ("com_rev", False), 0xC8: ("com_rev", True), 0xA6: ("invert", False),
             0xA7: ("invert", True), 0xA4: ("all_on", False), 0xA5: ("all_on", True)}

class OLED:
    def __init__(self, board, scl, sda, addr=0x3C, name="oled"):
        self.board = board
        self.name = name
        self.addr = addr
        board.pin(scl)
        board.pin(sda)
        board.i2c_devices.setdefault((scl, sda), {})[addr] = self
        board.attach(name, self)
        self.shown = None  # the last visible picture (bytes) reported
        self.frames = 0
        self.power_cycle()

    def power_cycle(self):
        """Power off and on: the panel goes dark at once (an event, if it showed something),
        the controller is back at its reset state and its RAM holds noise."""
        self.ram = _noise()
        self.on = False
        self.pump = False
        self.remap = False
        self.com_rev = False
        self.invert = False
        self.all_on = False
        self.mode = 2  # page addressing after reset
        self.col_lo, self.col_hi, self.page_lo, self.page_hi = 0, 127, 0, 7
        self.col, self.page = 0, 0
        self._pending = []  # a command waiting for its arguments
        self._dirty = False  # a command changed what the glass shows
        if self.shown is not None:
            self._report()

    # -- I2C ----------------------------------------------------------------------------------
    def i2c_write(self, data):
        i = 0
        n = len(data)
        wrote = False
        while i < n:
            ctl = data[i]
            i += 1
            if ctl & 0x80:  # Co = 1: one byte, then a new control byte
                if i < n:
                    if ctl & 0x40:
                        self._data(data[i])
                        wrote = True
                    else:
                        self._command(data[i])
                    i += 1
                continue
            while i < n:  # Co = 0: the rest of the transfer is of one kind
                if ctl & 0x40:
                    self._data(data[i])
                    wrote = True
                else:
                    self._command(data[i])
                i += 1
        if wrote or self._dirty:
            self._dirty = False
            self._report()

    def i2c_read(self, n):
        return bytes(n)  # the status byte: not used by the driver

    # -- controller ---------------------------------------------------------------------------
    def _command(self, b):
        if self._pending:
            self._pending.append(b)
            if len(self._pending) == _ARGS[self._pending[0]] + 1:
                self._with_args(self._pending)
                self._pending = []
            return
        if b in _ARGS:
            self._pending = [b]
        elif b in _SWITCHES:
            name, value = _SWITCHES[b]
            setattr(self, name, value)
            self._dirty = True
        elif 0xB0 <= b <= 0xB7 and self.mode == 2:
            self.page = b - 0xB0
        elif b <= 0x0F and self.mode == 2:
            self.col = (self.col & 0xF0) | b
        elif 0x10 <= b <= 0x1F and self.mode == 2:
            self.col = (self.col & 0x0F) | ((b & 0x0F) << 4)

    def _with_args(self, c):
        op = c[0]
        if op == 0x8D:
            self.pump = bool(c[1] & 0x04)
            self._dirty = True
        elif op == 0x20:
            self.mode = c[1] & 3
        elif op == 0x21:
            self.col_lo, self.col_hi = c[1] & 127, c[2] & 127
            self.col = self.col_lo
        elif op == 0x22:
            self.page_lo, self.page_hi = c[1] & 7, c[2] & 7
            self.page = self.page_lo

    def _data(self, b):
        self.ram[self.page * 128 + self.col] = b
        if self.mode == 0:  # horizontal
            if self.col >= self.col_hi:
                self.col = self.col_lo
                self.page = self.page_lo if self.page >= self.page_hi else self.page + 1
            else:
                self.col += 1
        elif self.mode == 1:  # vertical
            if self.page >= self.page_hi:
                self.page = self.page_lo
                self.col = self.col_lo if self.col >= self.col_hi else self.col + 1
            else:
                self.page += 1
        else:
            self.col = (self.col + 1) & 127

    # -- what the glass shows -----------------------------------------------------------------
    def visible(self):
        """The picture as a person sees it, in the RAM's layout (1024 bytes)."""
        if not (self.on and self.pump):
            return bytes(1024)
        if self.all_on:
            return b"\xff" * 1024
        out = bytearray(1024)
        for page in range(8):
            src_page = page if self.com_rev else 7 - page
            for col in range(128):
                # the module is mounted so that remap (A1) and reversed COM scan (C8) show the
                # RAM upright; without them the picture is mirrored
                src_col = col if self.remap else 127 - col
                v = self.ram[src_page * 128 + src_col]
                if not self.com_rev:
                    v = _reverse_bits(v)
                out[page * 128 + col] = v ^ 0xFF if self.invert else v
        return bytes(out)

    def text(self):
        pic = self.visible()
        glyphs = _glyphs()
        lines = []
        for page in range(8):
            row = ""
            for cell in range(16):
                row += glyphs.get(pic[page * 128 + cell * 8: page * 128 + cell * 8 + 8], "?")
            lines.append(row.rstrip())
        return lines

    def _report(self):
        pic = self.visible()
        if pic == self.shown:
            return
        self.shown = pic
        self.frames += 1
        self.board.emit(self.name, "oled", "text", self.text(), "ram", pic.hex())
