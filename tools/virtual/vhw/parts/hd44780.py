"""Virtual HD44780 character LCD (16x2) behind a PCF8574 I2C backpack.

The bus side: a PCF8574 (addresses 0x20-0x27) or PCF8574A (0x38-0x3F) 8-bit port expander.
Every byte written to it over I2C becomes its eight output bits, valid at the byte's ACK; a
read returns the port's pins. Wiring of the common "LCM1602 IIC" backpack, which this part
assumes (the driver in firmware/lib/drivers/hd44780.py uses the same):

    P0 = RS   P1 = R/W   P2 = E   P3 = backlight (1 = on)   P4..P7 = D4..D7
    the LCD's D0..D3 are not connected.

The controller side, after the Hitachi HD44780U datasheet:
- It latches RS, R/W and D4..D7 on the falling edge of E, with the values the port held while
  E was high (the ones that met the setup time).
- After power-on the internal reset leaves it in 8-bit mode, one line, display off, display
  cleared, increment mode; it is busy for ``POWER_ON_US``. In 8-bit mode each latch is one whole
  instruction; its low nibble comes from the unconnected D0..D3, which the chip's pull-up MOS
  transistors hold high, so latching 0x3 executes 0x3F (``low_nibble``, set it to 0 for a module
  with D0..D3 tied to GND). The standard init (0x3, 0x3, 0x3, 0x2) therefore ends in 4-bit mode.
- In 4-bit mode two latches make one byte, high nibble first. A lost nibble shifts the pairing,
  so everything after it is garbled (characters become instructions and the other way round)
  until the init sequence is sent again, as on the real part. RS and R/W come from the first
  nibble of the pair.
- Instructions: clear display, return home, entry mode set (I/D, S), display on/off control
  (D, C, B), cursor/display shift (S/C, R/L), function set (DL, N, F; F is stored but a 5x10 font
  changes nothing here), set CGRAM address, set DDRAM address. Data go to DDRAM or CGRAM at the
  address counter, which then moves by the entry mode (with S=1 the display shifts too).
- DDRAM: 2-line mode line 1 at 0x00-0x27, line 2 at 0x40-0x67 (after 0x27 comes 0x40, after
  0x67 comes 0x00); 1-line mode 0x00-0x4F. The visible window is ``cols`` columns starting at the
  display shift. In 1-line mode only the first row is driven.
- Reads (R/W = 1): while E is high the LCD drives D4..D7 with the busy flag and address counter
  (RS = 0) or the data at the address counter (RS = 1), high nibble first in 4-bit mode; the
  PCF8574's quasi-bidirectional pins read what is driven low. With E low a read returns the port
  latch.

Timing (datasheet Table 6, at the typical oscillator of 270 kHz; ``fosc_khz`` scales them, the
HD44780U's internal oscillator spans 190-350 kHz): clear display and return home 1.52 ms, every
other instruction and a data write 37 us. An instruction (or data byte) whose transfer starts
(first nibble latched) while the previous one is still executing is a **busy violation**: it is
counted in ``busy_violations``, described in ``last_violation`` and **dropped**, because the
datasheet says the controller does not accept instructions while BF = 1. The nibble pairing
goes on regardless, so a dropped instruction does not by itself garble what follows.

What a person sees (``lines()``): ``rows`` strings of exactly ``cols`` characters. Display off
(D = 0, also after power-on) shows blank lines. Backlight off leaves the text (it is still
readable in daylight on most modules) and is recorded as ``backlight`` in the event. Codes
0x20-0x7E show as ASCII (the A00 character ROM really draws a yen sign at 0x5C and an arrow at
0x7E: shown as their ASCII characters here), anything else, including the eight CGRAM
characters, as ``PLACEHOLDER`` ("~"), so the log stays ASCII and equal on both runtimes.

Event log: ``{"part": name, "kind": "lcd", "text": [line1, line2], "backlight": true}`` when the
visible text or backlight has been stable for ``SETTLE_US`` (5 ms) after a change and differs
from the last event, so a line written character by character gives one event, not sixteen.
Its ``t_ms`` is when the text had settled. The state at power-on is not logged.

Fault injection (attributes; plain numbers, so scenario code can set them):
- ``drop_nibbles = n``: the next n falling edges of E are lost (as a glitch on E would lose them);
- ``fail_writes = n``: the next n I2C writes raise ``OSError(EIO)`` and deliver nothing (as a
  NACKed address does; the ESP32 port raises EIO or ETIMEDOUT depending on the IDF version);
- ``power_cycle()``: the backpack loses power and comes back: the PCF8574 port returns to 0xFF
  (all high: E high, backlight on), the controller to its power-on state (8-bit mode, display
  off, so a blank screen) and is busy for ``POWER_ON_US``.

Known differences from the real part:
- Bytes of one transfer are timed at ``bus_hz`` (9 bit times per byte, each byte's port value
  valid at its ACK). The virtual ``machine.I2C``/``SoftI2C`` sets it to the bus's own frequency
  on every transfer; until then it is 400 kHz, the fastest and so the strictest rate for the
  busy check.
- Setup and hold times (RS to E 60 ns, data to E fall 80 ns) and the E pulse width (450 ns) are
  not checked: one I2C byte lasts 22.5 us or more, far beyond them.
- The internal reset always works (a supply that rises too slowly is not modelled); DDRAM is
  cleared at power-on, as the datasheet's internal reset does. Cursor and blink are stored in
  ``cursor_on``/``blink_on`` but not drawn. The function set rule that N and F only change
  together with DL is not modelled. Contrast is always right.
"""

import errno

from vhw import clock

_RS = 0x01
_RW = 0x02
_E = 0x04
_BL = 0x08

EXEC_US = 37  # most instructions and data writes, datasheet Table 6 at fosc = 270 kHz
LONG_US = 1520  # clear display and return home
FOSC_KHZ = 270  # the oscillator frequency Table 6 is given for
POWER_ON_US = 40000  # busy after power-on: the datasheet asks to wait > 40 ms after VCC > 2.7 V
SETTLE_US = 5000  # log the text once it has been stable this long
PLACEHOLDER = "~"
PCF8574_ADDRS = tuple(range(0x20, 0x28)) + tuple(range(0x38, 0x40))  # PCF8574 and PCF8574A


class LCD:
    def __init__(self, board, scl, sda, addr=0x27, name="lcd", cols=16, rows=2, *,
                 bus_hz=400000, fosc_khz=FOSC_KHZ):
        if addr not in PCF8574_ADDRS:
            raise ValueError("PCF8574 backpack address must be 0x20-0x27 (PCF8574) or 0x38-0x3F "
                             "(PCF8574A), not %r" % addr)
        if not 1 <= cols <= 40 or rows not in (1, 2):
            raise ValueError("HD44780 LCD must have 1-40 columns and 1 or 2 rows, not %rx%r" % (cols, rows))
        board.pin(scl)
        board.pin(sda)
        devices = board.i2c_devices.setdefault((scl, sda), {})
        if addr in devices:
            raise ValueError("two I2C devices at 0x%02X on SCL %d / SDA %d" % (addr, scl, sda))
        devices[addr] = self
        self.board = board
        self.name = name
        self.addr = addr
        self.cols = cols
        self.rows = rows
        self.bus_hz = bus_hz
        self.fosc_khz = fosc_khz
        self.low_nibble = 0x0F  # D0..D3 unconnected: pulled up inside the HD44780
        # fault injection
        self.drop_nibbles = 0
        self.fail_writes = 0
        # counters for tests and benchmarks
        self.writes = 0  # I2C write transfers received
        self.bytes_written = 0
        self.last_write = b""
        self.instructions = 0  # instructions executed
        self.chars_written = 0  # data bytes written to DDRAM or CGRAM
        self.busy_violations = 0
        self.last_violation = None  # (rs, byte, us too early)
        self.nibbles_dropped = 0
        self.ddram = bytearray(80)
        self.cgram = bytearray(64)
        self._alarm = None
        self._changed_us = 0
        self.power_cycle()
        self._emitted = (self.lines(), self.backlight)  # the power-on state is not logged

    # -- fault injection -------------------------------------------------------------------
    def power_cycle(self):
        """Power off and on: port 0xFF, controller reset to 8-bit mode with the display off."""
        self.port = 0xFF  # PCF8574 power-on: all pins high (weak pull-ups)
        self.backlight = True
        for i in range(80):
            self.ddram[i] = 0x20
        self.eight_bit = True
        self.two_line = False
        self.font_5x10 = False
        self.display_on = False
        self.cursor_on = False
        self.blink_on = False
        self.increment = True
        self.shift_on_write = False
        self.ac = 0
        self.in_cgram = False
        self.shift = 0  # display shift: the visible window starts at this column
        self.half = False  # 4-bit mode: the high nibble of a byte has been latched
        self._hi = 0
        self._hi_ctl = 0
        self._hi_t = 0
        self.busy_until = clock.us + POWER_ON_US
        self._touch(clock.us)

    # -- what a person sees ----------------------------------------------------------------
    def lines(self):
        """The visible text now: ``rows`` strings of ``cols`` characters."""
        blank = " " * self.cols
        out = []
        for row in range(self.rows):
            if not self.display_on or (row and not self.two_line):
                out.append(blank)
                continue
            span = 40 if self.two_line else 80
            base = 40 * row
            chars = []
            for col in range(self.cols):
                code = self.ddram[base + (self.shift + col) % span]
                chars.append(chr(code) if 0x20 <= code <= 0x7E else PLACEHOLDER)
            out.append("".join(chars))
        return out

    # -- I2C device interface (called by machine.I2C / SoftI2C) ----------------------------
    def i2c_write(self, data):
        if self.fail_writes > 0:
            self.fail_writes -= 1
            raise OSError(errno.EIO)
        t0 = clock.us  # the address phase is over; each byte's value is valid at its ACK
        for i in range(len(data)):
            self._port(data[i], t0 + (i + 1) * 9000000 // self.bus_hz)
        self.writes += 1
        self.bytes_written += len(data)
        self.last_write = data

    def i2c_read(self, n):
        value = self.port
        if value & _RW and value & _E:
            if value & _RS:
                out = self._read_data()
            else:
                out = (0x80 if clock.us < self.busy_until else 0) | self.ac
            nibble = (out & 0x0F) if (self.half and not self.eight_bit) else (out >> 4)
            value &= 0x0F | (nibble << 4)  # pins written 1 read low where the LCD drives 0
        return bytes([value]) * n

    # -- the controller ----------------------------------------------------------------------
    def _port(self, value, t):
        prev = self.port
        self.port = value
        if (prev ^ value) & _BL:
            self.backlight = bool(value & _BL)
            self._touch(t)
        if prev & _E and not value & _E:
            self._latch(prev, t)

    def _latch(self, held, t):
        """Falling edge of E: ``held`` is the port value while E was high."""
        if self.drop_nibbles > 0:
            self.drop_nibbles -= 1
            self.nibbles_dropped += 1
            return
        nibble = held >> 4
        if self.eight_bit:
            self._transfer(held & (_RS | _RW), (nibble << 4) | self.low_nibble, t, t)
        elif not self.half:
            self.half = True
            self._hi = nibble
            self._hi_ctl = held & (_RS | _RW)
            self._hi_t = t
        else:
            self.half = False
            self._transfer(self._hi_ctl, (self._hi << 4) | nibble, self._hi_t, t)

    def _transfer(self, ctl, byte, t_start, t_end):
        if ctl & _RW:
            if ctl & _RS:  # a data read moves the address counter like a write
                if self._accept(ctl, byte, t_start):
                    self._move_ac()
                    self.busy_until = t_end + self._us(EXEC_US)
            return  # reading the busy flag is allowed at any time
        if not self._accept(ctl, byte, t_start):
            return
        if ctl & _RS:
            self._write_data(byte, t_end)
            took = EXEC_US
        else:
            took = self._instruction(byte, t_end)
            self.instructions += 1
        self.busy_until = t_end + self._us(took)

    def _accept(self, ctl, byte, t_start):
        if t_start >= self.busy_until:
            return True
        self.busy_violations += 1
        self.last_violation = (ctl & _RS, byte, self.busy_until - t_start)
        return False

    def _us(self, us_at_270):
        return (us_at_270 * FOSC_KHZ + self.fosc_khz - 1) // self.fosc_khz

    def _instruction(self, byte, t):
        if byte & 0x80:  # set DDRAM address
            self.ac = byte & 0x7F
            self.in_cgram = False
        elif byte & 0x40:  # set CGRAM address
            self.ac = byte & 0x3F
            self.in_cgram = True
        elif byte & 0x20:  # function set: DL, N, F
            eight = bool(byte & 0x10)
            if eight != self.eight_bit:
                self.half = False
            self.eight_bit = eight
            self.two_line = bool(byte & 0x08)
            self.font_5x10 = bool(byte & 0x04)
            self._touch(t)
        elif byte & 0x10:  # cursor or display shift
            right = bool(byte & 0x04)
            if byte & 0x08:
                self._shift_display(-1 if right else 1, t)
            else:
                self.in_cgram = False
                self._move_ac(right)
        elif byte & 0x08:  # display on/off control
            self.display_on = bool(byte & 0x04)
            self.cursor_on = bool(byte & 0x02)
            self.blink_on = bool(byte & 0x01)
            self._touch(t)
        elif byte & 0x04:  # entry mode set
            self.increment = bool(byte & 0x02)
            self.shift_on_write = bool(byte & 0x01)
        elif byte & 0x02:  # return home
            self.ac = 0
            self.in_cgram = False
            self.shift = 0
            self._touch(t)
            return LONG_US
        elif byte & 0x01:  # clear display
            for i in range(80):
                self.ddram[i] = 0x20
            self.ac = 0
            self.in_cgram = False
            self.increment = True  # the datasheet: clear sets I/D to 1
            self.shift = 0
            self._touch(t)
            return LONG_US
        return EXEC_US

    def _write_data(self, byte, t):
        self.chars_written += 1
        if self.in_cgram:
            self.cgram[self.ac & 0x3F] = byte
            self.ac = (self.ac + (1 if self.increment else -1)) & 0x3F
            return
        index = self._index(self.ac)
        if index is not None:
            self.ddram[index] = byte
            self._touch(t)
        self._move_ac()
        if self.shift_on_write:
            self._shift_display(1 if self.increment else -1, t)

    def _read_data(self):
        if self.in_cgram:
            return self.cgram[self.ac & 0x3F]
        index = self._index(self.ac)
        return 0x20 if index is None else self.ddram[index]

    def _index(self, ac):
        """DDRAM cell for an address, or None for an address with no memory behind it."""
        if not self.two_line:
            return ac if ac < 0x50 else None
        if ac < 0x28:
            return ac
        if 0x40 <= ac < 0x68:
            return ac - 0x40 + 40
        return None

    def _move_ac(self, forward=None):
        up = self.increment if forward is None else forward
        ac = self.ac
        if self.in_cgram:
            self.ac = (ac + (1 if up else -1)) & 0x3F
        elif not self.two_line:
            self.ac = (0 if ac >= 0x4F else ac + 1) if up else (0x4F if ac == 0 else ac - 1)
        elif up:
            self.ac = 0x40 if ac == 0x27 else (0 if ac >= 0x67 else ac + 1)
        else:
            self.ac = 0x27 if ac == 0x40 else (0x67 if ac == 0 else ac - 1)

    def _shift_display(self, step, t):
        self.shift = (self.shift + step) % 80
        self._touch(t)

    # -- event log ---------------------------------------------------------------------------
    def _touch(self, t):
        """The visible state may have changed at ``t``: log it once it has settled."""
        self._changed_us = t
        if self._alarm is None:
            self._alarm = clock.at(t + SETTLE_US, self._settle)

    def _settle(self):
        due = self._changed_us + SETTLE_US
        if clock.us < due:
            self._alarm = clock.at(due, self._settle)
            return
        self._alarm = None
        text = self.lines()
        state = (text, self.backlight)
        if state != self._emitted:
            self._emitted = state
            self.board.emit(self.name, "lcd", "text", text, "backlight", self.backlight)
