"""HD44780 character LCD (16x2) behind a PCF8574 I2C backpack ("LCM1602 IIC").

Wiring: backpack VCC to 5 V (most 1602 LCDs need 5 V for their contrast; at 3.3 V the text
is faint or invisible), GND to GND, SDA and SCL to the board's I2C pins (ESP32 DevKitC:
SDA GPIO21, SCL GPIO22). Turn the blue trimmer on the backpack until text shows: a row of
solid blocks and nothing else means the LCD has power but was never initialised.
WARNING: the backpack's own SDA/SCL pull-ups (4.7 kOhm or 10 kOhm) go to its VCC, so at 5 V the
bus idles at 5 V while ESP32 pins allow at most 3.6 V. Put an I2C level shifter (a BSS138
"bi-directional logic level converter": LV side 3.3 V + ESP32, HV side 5 V + backpack) between
them. Removing the backpack's pull-ups and pulling up to 3.3 V instead is out of the PCF8574's
spec (at 5 V it needs 3.5 V for a high) even when it seems to work.

Backpack pins (PCF8574 port bits): P0 = RS, P1 = R/W, P2 = E, P3 = backlight, P4..P7 = D4..D7.
Address 0x27 (PCF8574) or 0x3F (PCF8574A) with the A0-A2 jumpers open; ``addr=None`` finds it.

Timing (HD44780U datasheet, Table 6; the times are at the typical 270 kHz oscillator, and the
chip's internal oscillator may run as slow as 190 kHz, so 37 us can be 53 us):
- The controller latches on the falling edge of E. Each nibble is sent as PCF8574 bytes with E
  high, then E low. One I2C byte takes 9 bit times: 22.5 us at 400 kHz, 90 us at 100 kHz, so
  every E pulse is far longer than the 450 ns the LCD needs, and no sleeps are needed inside a
  character.
- Between two instructions the controller needs 37 us (53 us with a slow oscillator). With two
  bytes per nibble, the next instruction's first nibble would latch two bytes (45 us at
  400 kHz) after the last one: enough for a typical chip, not for a slow one. So every
  instruction starts with one extra byte that sets RS and the data with E low (also giving RS
  its setup time before E rises): 5 bytes per instruction, 3 bytes = 67.5 us between
  instructions at 400 kHz. A whole line (address + 16 characters = 85 bytes) then goes out in
  one ``i2c.writeto`` from a preallocated buffer: 1.9 ms at 400 kHz, 7.7 ms at 100 kHz.
- Clear display takes 1.52 ms (2.16 ms slow): ``init`` sleeps 2.3 ms after it. ``show`` never
  clears; it overwrites whole lines, so the screen does not flicker.
- After power-on the LCD needs > 40 ms before the first instruction: the first ``init()``
  after boot sleeps 50 ms (~58 ms in all); later ones, on any LCD object, do not. ``reinit()``
  blocks 12 ms at 400 kHz, 27 ms at 100 kHz (7.3 ms of it datasheet waits, the rest the two
  lines), within the ~30 ms an asyncio task may block. An LCD that browns out and comes back
  ignores everything for its own 40 ms reset: the next periodic ``reinit`` repairs it.

Errors: every I2C failure propagates as ``OSError`` (the app decides: count it and call
``reinit()`` later). A line whose write failed is rewritten by the next ``show``. The screen can
also go wrong without any error (a glitch loses a nibble, the LCD browns out and resets); nothing
on the bus says so, so the app calls ``reinit()`` now and then (say every few minutes).

Characters: printable ASCII (0x20-0x7E) is shown as is; anything else becomes "?" (the LCD's
character ROM has no Indonesian-specific letters to map to, and UI texts here are ASCII).

    i2c = SoftI2C(scl=Pin(22), sda=Pin(21), freq=400000)
    lcd = LCD(i2c)           # finds 0x27 or 0x3F (I2C scan only); OSError(ENODEV) if absent
    lcd.show("Masukkan kode", "> 12__")  # the first show runs init(): ~58 ms once per boot
    lcd.show("Masukkan kode", "> 123_")  # writes only the lines that changed: 2-8 ms
    lcd.backlight(False)
    lcd.reinit()             # after an OSError, and periodically: redraws the last text
"""

import errno
import time

ADDRS = (0x27, 0x3F)  # PCF8574, PCF8574A with the A0-A2 jumpers open

_RS = 0x01  # backpack port bits
_E = 0x04
_BL = 0x08
_PER_INSTR = 5  # PCF8574 bytes per instruction: setup, nibble high with E, E low, low nibble with E, E low

_POWER_ON_MS = 50  # datasheet: > 40 ms after VCC reaches 2.7 V (> 15 ms after 4.5 V)
_CLEAR_US = 2300  # clear display: 1.52 ms at 270 kHz, 2.16 ms at 190 kHz
_FIRST_WAIT_US = 4500  # init by instruction: > 4.1 ms after the first function set
_NEXT_WAIT_US = 150  # > 100 us after the second; the others need 37 us (53 us slow)

_power_on_waited = False  # the first init() after boot has waited for the LCD's power-on reset

_CLEAR = 0x01
_ENTRY_INCREMENT = 0x06  # entry mode set: I/D = 1 (cursor moves right), S = 0 (no shift)
_DISPLAY_OFF = 0x08
_DISPLAY_ON = 0x0C  # display on, cursor off, blink off
_FUNCTION_4BIT = 0x20  # DL = 0; | 0x08 for N = 1 (two lines); F = 0 (5x8 dots)
_SET_DDRAM = 0x80
_LINE_ADDR = (0x00, 0x40)  # DDRAM address of the first column of each line (2-line mode)


class LCD:
    def __init__(self, i2c, addr=None, cols=16, rows=2):
        if not 1 <= cols <= 40:
            raise ValueError("cols must be from 1 to 40 (HD44780 DDRAM line length), not %r" % cols)
        if rows not in (1, 2):
            raise ValueError("rows must be 1 or 2 (4-line LCDs use other DDRAM addresses), not %r" % rows)
        if addr is None:
            addr = find(i2c)
        elif not 0x08 <= addr <= 0x77:
            raise ValueError("addr must be a 7-bit I2C address (0x27 or 0x3F for a backpack), not %r" % addr)
        self.i2c = i2c
        self.addr = addr
        self.cols = cols
        self.rows = rows
        self._bl = _BL
        # one line (address + characters), at least the 3 instructions init sends at once
        self._buf = bytearray(_PER_INSTR * max(cols + 1, 3))
        self._line = memoryview(self._buf)[:_PER_INSTR * (cols + 1)]
        self._one = memoryview(self._buf)[:1]
        self._want = [""] * rows  # the text asked for by show()
        self._done = [None] * rows  # type: list[str | None]  # on the screen; None: unknown
        self._ready = False  # init() has completed since the last failure

    def init(self):
        """Power-on initialisation by instruction (datasheet Figure 24), 4-bit mode, display on,
        cursor off, screen cleared. The first init after boot waits 50 ms for the LCD's
        power-on reset (once per boot, not per LCD object: an app that makes a new object after
        an error does not wait again)."""
        global _power_on_waited
        self._ready = False
        for row in range(self.rows):
            self._done[row] = None
        if not _power_on_waited:
            _power_on_waited = True
            time.sleep_ms(_POWER_ON_MS)
        self._buf[0] = self._bl  # E low, R/W low: the PCF8574 starts with all pins high
        self.i2c.writeto(self.addr, self._one)
        # Three times "function set, 8-bit" (0x3), then "4-bit" (0x2), one nibble each. Whatever
        # state the controller is in (8-bit, 4-bit, or 4-bit with half a byte latched), this
        # ends in 4-bit mode at the start of a byte; a half byte it completes may be a clear,
        # hence the long first wait.
        self._nibble(0x3)
        time.sleep_us(_FIRST_WAIT_US)
        for nibble in (0x3, 0x3, 0x2):
            self._nibble(nibble)
            time.sleep_us(_NEXT_WAIT_US)
        self._commands(_FUNCTION_4BIT | (0x08 if self.rows == 2 else 0), _DISPLAY_OFF, _CLEAR)
        time.sleep_us(_CLEAR_US)
        self._commands(_ENTRY_INCREMENT, _DISPLAY_ON)
        for row in range(self.rows):
            self._done[row] = ""  # a blank screen: show("", ...) need not write it again
        self._ready = True

    def reinit(self):
        """Initialise again and redraw the last text: after an OSError, or now and then so a
        garbled or reset screen recovers. Blocks 12-27 ms (see Timing)."""
        self.init()
        self._draw()

    def show(self, line1, line2=""):
        """Show two lines of text (str), each padded or cut to ``cols`` characters. Writes only
        the lines that changed since the last write; ``line2`` is ignored on a 1-row LCD.
        Runs ``init()`` first if it has not completed yet (after construction, or after it
        failed). Raises OSError if the bus fails (that line is then rewritten by the next show)."""
        if not self._ready:
            self.init()
        want = self._want
        want[0] = line1
        if self.rows > 1:
            want[1] = line2
        self._draw()

    def backlight(self, on):
        self._bl = _BL if on else 0
        self._buf[0] = self._bl  # E low: changes nothing but P3
        self.i2c.writeto(self.addr, self._one)

    def _draw(self):
        for row in range(self.rows):
            text = self._want[row]
            if text != self._done[row]:
                self._done[row] = None  # unknown until the write succeeds
                self._write_line(row, text)
                self._done[row] = text

    def _write_line(self, row, text):
        self._put(0, _SET_DDRAM | _LINE_ADDR[row], 0)
        n = len(text)
        at = _PER_INSTR
        for col in range(self.cols):
            code = ord(text[col]) if col < n else 0x20
            if code < 0x20 or code > 0x7E:
                code = 0x3F  # "?"
            self._put(at, code, _RS)
            at += _PER_INSTR
        self.i2c.writeto(self.addr, self._line)

    def _put(self, at, byte, rs):
        """The 5 port bytes of one instruction (rs = 0) or character (rs = _RS) at buf[at:]."""
        buf = self._buf
        ctl = self._bl | rs
        high = (byte & 0xF0) | ctl
        low = ((byte << 4) & 0xF0) | ctl
        buf[at] = high  # setup: RS and data with E low (and the gap after the last instruction)
        buf[at + 1] = high | _E
        buf[at + 2] = high  # falling E latches the high nibble
        buf[at + 3] = low | _E
        buf[at + 4] = low  # falling E latches the low nibble: the instruction starts

    def _nibble(self, nibble):
        buf = self._buf
        port = (nibble << 4) | self._bl
        buf[0] = port
        buf[1] = port | _E
        buf[2] = port
        self.i2c.writeto(self.addr, memoryview(buf)[:3])

    def _commands(self, *codes):
        at = 0
        for code in codes:
            self._put(at, code, 0)
            at += _PER_INSTR
        self.i2c.writeto(self.addr, memoryview(self._buf)[:at])


def find(i2c):
    """The address of the LCD backpack on the bus: 0x27 (PCF8574) or 0x3F (PCF8574A)."""
    found = i2c.scan()
    for addr in ADDRS:
        if addr in found:
            return addr
    raise OSError(errno.ENODEV, "no LCD backpack at 0x27 (PCF8574) or 0x3F (PCF8574A); bus has %s. "
                  "Check VCC 5 V and GND, SDA/SCL not swapped, the level shifter, and the A0-A2 "
                  "jumpers (bridged ones move the address: pass addr=)"
                  % (", ".join(["0x%02X" % a for a in found]) or "no devices"))
