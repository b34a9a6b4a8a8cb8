"""HD44780 LCD driver (PCF8574 backpack) against the virtual LCD, with the datasheet's timing.

Pins: boards/esp32_devkitc.json, kuword lcd_scl = 22, lcd_sda = 21. Backpack port bits:
P0 = RS, P1 = R/W, P2 = E, P3 = backlight, P4..P7 = D4..D7.
"""

import sys
import time

import machine

import drivers.hd44780 as driver
import fwhelp
from drivers.hd44780 import LCD
from fwhelp import check
from vhw import clock
from vhw.parts.hd44780 import LCD as VirtualLCD
from vhw.parts.hd44780 import PLACEHOLDER

SCL, SDA = 22, 21
BLANK = " " * 16


def boot():
    """A fresh board, as after power-on: the driver's once-per-boot power-on wait is due again."""
    driver._power_on_waited = False
    return fwhelp.fresh_board()


def make(addr=0x27, freq=400000, fosc_khz=270, init=True):
    board = boot()
    part = VirtualLCD(board, SCL, SDA, addr=addr, bus_hz=freq, fosc_khz=fosc_khz)
    lcd = LCD(bus(freq))
    if init:
        lcd.init()
    return board, part, lcd


def bus(freq=400000):
    return machine.SoftI2C(machine.Pin(SCL), machine.Pin(SDA), freq=freq)


def pad(text):
    return (text + BLANK)[:16]


def settle():
    time.sleep_ms(10)  # the part logs the text once it has been stable for 5 ms


def lcd_events():
    return [e for e in fwhelp.events("lcd") if e["part"] == "lcd"]


def send(i2c, items, addr=0x27):
    """Raw instructions (rs, byte) as the driver sends them: 5 port bytes each, backlight on."""
    out = bytearray()
    for rs, byte in items:
        ctl = 0x08 | rs
        high = (byte & 0xF0) | ctl
        low = ((byte << 4) & 0xF0) | ctl
        out.extend(bytes([high, high | 0x04, high, low | 0x04, low]))
    i2c.writeto(addr, out)


def text(s):
    return [(1, ord(c)) for c in s]


def test_shows_the_text_a_person_sees():
    board, part, lcd = make()
    check(part.lines() == [BLANK, BLANK], "after init the screen is blank: %r" % part.lines())
    lcd.show("Masukkan kode", "Kode: 12")
    check(part.lines() == [pad("Masukkan kode"), pad("Kode: 12")], part.lines())
    lcd.show("Pintu terbuka, silakan masuk", "")  # 28 characters: cut to the 16 that fit
    check(part.lines() == ["Pintu terbuka, s", BLANK], part.lines())
    check(part.display_on and not part.cursor_on and not part.blink_on,
          "display on, cursor off, blink off: %r" % ((part.display_on, part.cursor_on, part.blink_on),))
    check(not part.eight_bit and part.two_line and part.increment and not part.shift_on_write,
          "4-bit, 2 lines, increment, no shift: %r" % ((part.eight_bit, part.two_line, part.increment),))


def test_exact_bytes_of_a_line():
    # Worked out from the backpack wiring: instruction 0x80 (DDRAM address 0, line 1), RS = 0,
    # backlight 0x08: high nibble 0x8 -> 0x88, with E (0x04) 0x8C; low nibble 0x0 -> 0x08 / 0x0C.
    # 'A' = 0x41 with RS (0x01): 0x49, 0x4D, 0x49, then low nibble 0x1: 0x1D, 0x19.
    # ' ' = 0x20: 0x29, 0x2D, 0x29, 0x0D, 0x09. Each instruction: setup, E high, E low (x2).
    board, part, lcd = make()
    lcd.show("A", "")
    data = part.last_write
    check(len(data) == 5 * 17, "address + 16 characters, 5 bytes each: %d" % len(data))
    check(data[:15] == bytes([0x88, 0x8C, 0x88, 0x0C, 0x08, 0x49, 0x4D, 0x49, 0x1D, 0x19,
                              0x29, 0x2D, 0x29, 0x0D, 0x09]), "first bytes %r" % bytes(data[:15]))
    check(data[-5:] == bytes([0x29, 0x2D, 0x29, 0x0D, 0x09]), "last is a space: %r" % bytes(data[-5:]))


def test_only_changed_lines_are_written():
    board, part, lcd = make()
    lcd.show("Selamat datang", "Kode: ____")
    before = part.bytes_written
    lcd.show("Selamat datang", "Kode: ____")
    check(part.bytes_written == before, "unchanged text wrote %d bytes" % (part.bytes_written - before))
    lcd.show("Selamat datang", "Kode: 1___")
    check(part.bytes_written - before == 85, "one line is 85 bytes, wrote %d" % (part.bytes_written - before))
    check(part.lines() == [pad("Selamat datang"), pad("Kode: 1___")], part.lines())
    writes = part.writes
    lcd.show("Salah!", "Kode: 1___")
    check(part.writes == writes + 1, "only line 1 rewritten: %d writes" % (part.writes - writes))


def test_finds_the_backpack_at_0x27_or_0x3F():
    for addr in (0x27, 0x3F):
        board = boot()
        part = VirtualLCD(board, SCL, SDA, addr=addr)
        lcd = LCD(bus())
        check(lcd.addr == addr, "found 0x%02X, part at 0x%02X" % (lcd.addr, addr))
        lcd.init()
        lcd.show("Halo", "")
        check(part.lines()[0] == pad("Halo"), part.lines())


def test_no_backpack_is_a_clear_error():
    board = boot()
    VirtualLCD(board, SCL, SDA, addr=0x20)  # a backpack with its A0-A2 jumpers all bridged
    try:
        LCD(bus())
    except OSError as e:
        message = str(e)
        check(e.args[0] == 19, "ENODEV, got %r" % (e.args,))
        for words in ("0x27", "0x3F", "PCF8574A", "SDA", "0x20"):
            check(words in message, "%r missing from: %s" % (words, message))
    else:
        raise AssertionError("no backpack at 0x27/0x3F must raise OSError")
    lcd = LCD(bus(), addr=0x20)  # the address told explicitly
    lcd.init()
    lcd.show("A20", "")
    check(board.i2c_devices[(SCL, SDA)][0x20].lines()[0] == pad("A20"), "explicit addr works")


def test_lost_nibble_garbles_and_reinit_restores():
    board, part, lcd = make()
    lcd.show("Selamat datang", "Kode: ____")
    part.drop_nibbles = 1  # a glitch eats the next E pulse
    lcd.show("Selamat datang", "Kode: 1___")
    want = [pad("Selamat datang"), pad("Kode: 1___")]
    check(part.nibbles_dropped == 1, "dropped %d" % part.nibbles_dropped)
    check(part.lines() != want, "one lost nibble must garble the screen: %r" % part.lines())
    check(part.half, "the pairing is off by one nibble")
    lcd.show("Selamat datang", "Kode: 1___")  # the driver does not know: nothing is rewritten
    check(part.lines() != want, "still garbled: %r" % part.lines())
    lcd.reinit()
    check(part.lines() == want, "reinit must restore the text: %r" % part.lines())
    lcd.show("Selamat datang", "Kode: 12__")
    check(part.lines()[1] == pad("Kode: 12__"), "later shows work: %r" % part.lines())


def test_i2c_error_raises_and_recovers():
    board, part, lcd = make()
    lcd.show("Pintu terkunci", "Kode: ____")
    part.fail_writes = 1
    try:
        lcd.show("Pintu terkunci", "Kode: 9___")
    except OSError as e:
        check(e.args[0] == 5, "EIO from the bus, got %r" % (e.args,))
    else:
        raise AssertionError("an I2C error must propagate as OSError")
    check(part.lines()[1] == pad("Kode: ____"), "nothing was delivered: %r" % part.lines())
    lcd.show("Pintu terkunci", "Kode: 9___")  # the failed line is written again
    check(part.lines()[1] == pad("Kode: 9___"), "rewritten by the next show: %r" % part.lines())
    part.fail_writes = 1000  # the bus stays down (cable pulled)
    for _ in range(3):
        try:
            lcd.reinit()
        except OSError:
            pass
        else:
            raise AssertionError("reinit on a dead bus must raise OSError")
    part.fail_writes = 0
    lcd.reinit()
    check(part.lines() == [pad("Pintu terkunci"), pad("Kode: 9___")], part.lines())
    check(part.busy_violations == 0, "violations %d %r" % (part.busy_violations, part.last_violation))


def test_power_cycle_blanks_and_reinit_recovers():
    board, part, lcd = make()
    want = [pad("Pintu terkunci"), pad("Kode: ____")]
    lcd.show("Pintu terkunci", "Kode: ____")
    part.power_cycle()  # the LCD browns out; the ESP32 keeps running
    check(part.lines() == [BLANK, BLANK], "display off after power-on: %r" % part.lines())
    check(part.eight_bit, "back in 8-bit mode")
    time.sleep_ms(100)
    lcd.show("Pintu terkunci", "Kode: 3___")  # nibbles into an 8-bit controller: garbage
    check(part.lines() != [want[0], pad("Kode: 3___")], "must not show the text: %r" % part.lines())
    violations = part.busy_violations
    lcd.reinit()
    check(part.lines() == [want[0], pad("Kode: 3___")], "reinit must recover: %r" % part.lines())
    check(part.busy_violations == violations, "reinit itself respects busy times: %r" % (part.last_violation,))


def test_reinit_too_soon_after_power_on_is_ignored_by_the_lcd():
    board, part, lcd = make()
    lcd.show("Halo", "")
    part.power_cycle()
    lcd.reinit()  # within the LCD's 40 ms power-on reset: it ignores everything
    check(part.busy_violations > 0, "instructions during the power-on reset are violations")
    check(part.lines() == [BLANK, BLANK], "nothing accepted: %r" % part.lines())
    time.sleep_ms(50)
    lcd.reinit()  # the app's next periodic reinit
    check(part.lines()[0] == pad("Halo"), part.lines())


def test_no_busy_violations_in_normal_use_even_with_a_slow_oscillator():
    for fosc_khz in (270, 190):  # typical and slowest HD44780U oscillator
        for freq in (400000, 100000):
            board, part, lcd = make(freq=freq, fosc_khz=fosc_khz)
            for i in range(20):
                lcd.show("Kode: %d" % i, "Sisa %d detik" % (60 - i))
                lcd.show("Kode: %d" % i, "Sisa %d detik!" % (60 - i))
            lcd.backlight(False)
            lcd.reinit()
            lcd.show("Selesai", "")
            check(part.busy_violations == 0, "%d kHz osc, %d Hz bus: %d violations, last %r"
                  % (fosc_khz, freq, part.busy_violations, part.last_violation))
            check(part.lines() == [pad("Selesai"), BLANK], part.lines())


def test_busy_check_catches_a_stream_without_the_gap_byte():
    # 4 bytes per character (no setup byte): the next character latches 2 bytes = 45 us after
    # the last at 400 kHz. Enough for a 270 kHz oscillator (37 us), not for 190 kHz (53 us).
    for fosc_khz, expect in ((270, 0), (190, 1)):
        board, part, lcd = make(fosc_khz=fosc_khz)
        out = bytearray()
        for c in b"ABCD":
            high = (c & 0xF0) | 0x09
            low = ((c << 4) & 0xF0) | 0x09
            out.extend(bytes([high | 0x04, high, low | 0x04, low]))
        bus().writeto(0x27, out)
        got = part.busy_violations
        check((got > 0) == bool(expect), "osc %d kHz: %d violations" % (fosc_khz, got))
    # a character right after a clear (1.52 ms) is ignored by the controller
    board, part, lcd = make()
    i2c = bus()
    send(i2c, text("XY"))
    send(i2c, [(0, 0x01)] + text("Z"))
    check(part.busy_violations == 1 and part.last_violation[:2] == (1, ord("Z")),
          "Z during clear: %d %r" % (part.busy_violations, part.last_violation))
    check(part.lines()[0] == BLANK, "Z dropped: %r" % part.lines())


def test_lcd_events_once_per_settled_change():
    board, part, lcd = make()
    settle()
    check(lcd_events() == [], "init leaves a blank screen, as at power-on: %r" % lcd_events())
    lcd.show("Halo", "Kode: ____")
    settle()
    events = lcd_events()
    check(len(events) == 1, "one event for 32 characters, got %d" % len(events))
    check(events[0]["text"] == [pad("Halo"), pad("Kode: ____")] and events[0]["backlight"] is True, events)
    last_char = clock.us  # the write is over: the event comes 5 ms after it
    lcd.show("Halo", "Kode: 1___")
    lcd.show("Halo", "Kode: 12__")
    lcd.show("Halo", "Kode: 123_")
    settle()
    events = lcd_events()
    check(len(events) == 2 and events[1]["text"][1] == pad("Kode: 123_"),
          "three quick shows, one event: %r" % events)
    check(events[1]["t_ms"] >= last_char // 1000 + 5, "logged after settling: %r" % events[1])
    lcd.show("Halo", "Kode: 123_")
    lcd.reinit()  # clears and redraws the same text within 5 ms: nothing visible changed
    settle()
    check(len(lcd_events()) == 2, "no event without a visible change: %r" % lcd_events())
    lcd.backlight(False)
    settle()
    events = lcd_events()
    check(len(events) == 3 and events[2]["backlight"] is False
          and events[2]["text"] == [pad("Halo"), pad("Kode: 123_")], events)
    line = [e for e in board.events if '"lcd"' in e][-1]
    check(line.startswith('{"t_ms": ') and '"part": "lcd", "kind": "lcd", "text": ["Halo' in line, line)


def test_non_ascii_becomes_question_mark():
    board, part, lcd = make()
    lcd.show("Caf\u00e9 \u2713", "a\tb")
    check(part.lines() == [pad("Caf? ?"), pad("a?b")], part.lines())
    check(PLACEHOLDER not in "".join(part.lines()), "the driver sends only printable ASCII")


def test_backlight_keeps_the_text():
    board, part, lcd = make()
    lcd.show("Halo", "")
    lcd.backlight(False)
    check(not part.backlight and part.lines()[0] == pad("Halo"), (part.backlight, part.lines()))
    lcd.show("Halo!", "")  # characters carry the backlight bit: it stays off
    check(not part.backlight, "show must not turn the backlight back on")
    lcd.backlight(True)
    check(part.backlight, "on again")


def test_blocking_times():
    board, part, lcd = make(init=False, freq=100000)
    t0 = clock.us
    lcd.init()
    first = clock.us - t0
    check(50000 <= first < 70000, "first init waits for the power-on reset: %d us" % first)
    lcd.show("Selamat datang", "Kode: ____")
    t0 = clock.us
    lcd.reinit()
    again = clock.us - t0
    check(again < 30000, "reinit with two lines at 100 kHz must stay under 30 ms: %d us" % again)
    t0 = clock.us
    lcd.show("Selamat datang", "Kode: 1___")
    one = clock.us - t0
    check(one < 10000, "one line at 100 kHz: %d us" % one)
    t0 = clock.us
    LCD(bus(100000)).show("Selamat datang", "Kode: 1___")  # a new object (after an error)
    fresh = clock.us - t0
    check(fresh < 30000, "no second power-on wait per boot: %d us" % fresh)
    check(part.busy_violations == 0, "violations %r" % (part.last_violation,))


def test_show_runs_init_when_needed():
    board, part, lcd = make(init=False)
    lcd.show("Halo", "Dunia")  # no init() called: the first show does it
    check(part.lines() == [pad("Halo"), pad("Dunia")], part.lines())
    part.fail_writes = 3  # init fails part-way: the next show must initialise again
    try:
        lcd.reinit()
    except OSError:
        pass
    else:
        raise AssertionError("reinit on a failing bus must raise OSError")
    part.drop_nibbles = 1  # and the controller's nibble pairing is off too
    part.fail_writes = 0
    send(bus(), text("x"))
    lcd.show("Halo", "Dunia")
    check(part.lines() == [pad("Halo"), pad("Dunia")], "show re-initialised: %r" % part.lines())
    check(part.busy_violations == 0, "violations %r" % (part.last_violation,))


def test_show_allocates_nothing_in_steady_state():
    if sys.implementation.name != "micropython":
        raise fwhelp.Skip("gc.mem_alloc is MicroPython's")
    import gc

    class Bus:  # the virtual bus copies bytes; this one does not, so only the driver counts
        def scan(self):
            return [0x27]

        def writeto(self, addr, buf, stop=True):
            return len(buf)

    lcd = LCD(Bus())
    lcd.init()
    a, b = "Kode: 1234", "Sisa 59 detik"
    lcd.show(a, b)
    lcd.show(b, a)  # first use of each character interns it
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(20):
        lcd.show(a, b)
        lcd.show(a, b)
        lcd.show(b, a)
    used = gc.mem_alloc() - before
    check(used == 0, "show allocated %d bytes" % used)


def test_bad_settings_are_refused():
    board = boot()
    VirtualLCD(board, SCL, SDA)
    for kwargs, words in (({"cols": 41}, "40"), ({"rows": 4}, "1 or 2"), ({"addr": 0x80}, "0x3F")):
        try:
            LCD(bus(), **kwargs)
        except ValueError as e:
            check(words in str(e), str(e))
        else:
            raise AssertionError("accepted %r" % kwargs)
    try:
        VirtualLCD(board, SCL, SDA, addr=0x50)  # an EEPROM address, not a PCF8574 one
    except ValueError as e:
        check("0x38-0x3F" in str(e), str(e))
    else:
        raise AssertionError("the virtual backpack accepted 0x50")


# -- the virtual part against the datasheet's instruction table -----------------------------


def test_part_starts_in_8bit_mode_and_needs_the_init():
    board, part, lcd = make(init=False)
    time.sleep_ms(50)
    # A 4-bit stream into the power-on 8-bit mode: every nibble is a whole byte, its low nibble
    # pulled high. 0x8 -> 0x8F: DDRAM address 0x0F; 0x0 -> 0x0F: display, cursor and blink on;
    # 'H' = 0x48 -> data 0x4F 'O' at 0x0F, data 0x8F at 0x10 (off screen); "alo" lands further
    # right. A person sees one 'O' in the last column.
    send(bus(), [(0, 0x80)] + text("Halo"))
    check(part.eight_bit and part.lines() == [" " * 15 + "O", BLANK], "no init: %r" % part.lines())
    lcd.show("Halo", "")  # the driver's first show runs init()
    check(part.lines() == [pad("Halo"), BLANK], part.lines())


def test_part_ddram_shift_and_entry_modes():
    board, part, lcd = make()
    i2c = bus()
    send(i2c, [(0, 0x80)] + text("ABCDEFGHIJKLMNOPQRST"))  # 20 characters: 16 visible
    check(part.lines()[0] == "ABCDEFGHIJKLMNOP", part.lines())
    send(i2c, [(0, 0x18)] * 4)  # display shift left x4: window starts at column 4
    check(part.lines()[0] == "EFGHIJKLMNOPQRST", part.lines())
    send(i2c, [(0, 0x1C)])  # shift right once
    check(part.lines()[0] == "DEFGHIJKLMNOPQRS", part.lines())
    send(i2c, [(0, 0x02)])  # return home: shift 0, address 0
    time.sleep_ms(2)
    check(part.lines()[0] == "ABCDEFGHIJKLMNOP" and part.ac == 0, (part.lines(), part.ac))
    send(i2c, [(0, 0x04), (0, 0x8F)] + text("xyz"))  # decrement: right to left from column 15
    check(part.lines()[0] == "ABCDEFGHIJKLMzyx", part.lines())
    send(i2c, [(0, 0x06), (0, 0xA7)] + text("12"))  # 0x27 is the last cell of line 1; then 0x40
    check(part.lines()[1][0] == "2" and part.ac == 0x41, (part.lines(), hex(part.ac)))
    send(i2c, [(0, 0x08)])
    check(part.lines() == [BLANK, BLANK], "display off: %r" % part.lines())
    send(i2c, [(0, 0x0F)])
    check(part.lines()[0] == "ABCDEFGHIJKLMzyx" and part.cursor_on and part.blink_on, part.lines())
    send(i2c, [(0, 0x20)])  # function set, 4-bit, 1 line: the second row is not driven
    check(part.lines()[1] == BLANK and not part.two_line, part.lines())


def test_part_cgram_characters_show_as_placeholder():
    board, part, lcd = make()
    i2c = bus()
    send(i2c, [(0, 0x40)] + [(1, 0x1F)] * 8 + [(0, 0x80), (1, 0x00), (1, 0xFF)] + text("ok"))
    check(part.cgram[:8] == bytearray([0x1F] * 8), "CGRAM %r" % part.cgram[:8])
    check(part.lines()[0] == pad(PLACEHOLDER * 2 + "ok"), part.lines())


def test_part_reads_busy_flag_and_port():
    board, part, lcd = make()
    i2c = bus()
    send(i2c, [(0, 0x85)])
    i2c.writeto(0x27, bytes([0xFA, 0xFE]))  # R/W = 1, E high, data pins high (to be read)
    high = i2c.readfrom(0x27, 1)[0]
    i2c.writeto(0x27, bytes([0xFA, 0xFE]))  # E low, then high: second nibble
    low = i2c.readfrom(0x27, 1)[0]
    i2c.writeto(0x27, bytes([0xFA]))
    check(high >> 4 == 0x0 and low >> 4 == 0x5, "BF 0, AC 0x05: %02X %02X" % (high, low))
    check(high & 0x0F == 0x0E, "control bits read back: %02X" % high)
    check(not part.half, "a read takes two nibbles too")
    send(i2c, text("ok"))
    check(part.lines()[0] == pad("     ok"), part.lines())
