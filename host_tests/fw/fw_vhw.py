"""The virtual ESP32 refuses what a real one refuses and keeps the timing it keeps."""

import errno
import time

import machine
import network

import fwhelp
from fwhelp import check, raises
from vhw import Reset, clock


def test_input_only_and_flash_pins():
    fwhelp.fresh_board()
    raises(ValueError, lambda: machine.Pin(34, machine.Pin.OUT), "input")
    raises(ValueError, lambda: machine.PWM(machine.Pin(35)), "input")
    raises(ValueError, lambda: machine.Pin(6), "flash")
    raises(ValueError, lambda: machine.Pin(24), "invalid")
    check(machine.Pin(34, machine.Pin.IN).value() == 0, "floating input reads 0")


def test_pulls_and_irq_edges():
    board = fwhelp.fresh_board()
    p = machine.Pin(27, machine.Pin.IN, machine.Pin.PULL_UP)
    check(p.value() == 1, "pull-up reads 1")
    seen = []
    p.irq(lambda pin: seen.append(pin.value()), machine.Pin.IRQ_FALLING)
    board.set_level(27, 0)
    board.set_level(27, None)
    board.set_level(27, 0)
    check(seen == [0, 0], "two falling edges: %s" % seen)
    q = machine.Pin(36, machine.Pin.IN, machine.Pin.PULL_UP)
    check(q.value() == 0, "GPIO36 has no pull-up: it floats")


def test_pwm_channel_and_timer_limits():
    fwhelp.fresh_board()
    pwms = [machine.PWM(machine.Pin(p), freq=1000 + i, duty_u16=0)
            for i, p in enumerate((2, 4, 5, 12, 13, 14, 15, 16))]
    check(len(pwms) == 8, "eight frequencies fit the ESP32's 8 timers")
    raises(ValueError, lambda: machine.PWM(machine.Pin(17), freq=5555, duty_u16=0), "timers")
    same = machine.PWM(machine.Pin(17), freq=1000, duty_u16=0)  # shares a timer
    check(same.freq() == 1000, same.freq())
    raises(ValueError, lambda: machine.PWM(machine.Pin(18), freq=0), "1Hz")


def test_pwm_duty_units():
    fwhelp.fresh_board(None, {"buzzer": 25})
    p = machine.PWM(machine.Pin(25), freq=1000, duty_u16=32768)
    check(p.duty_ns() == 500007, "32768/65535 of 1 ms: %d" % p.duty_ns())
    p.duty_ns(250000)
    check(p.duty_u16() == 16383, p.duty_u16())
    check(p.duty() == 255, p.duty())
    p.deinit()
    ev = fwhelp.events("pwm", "buzzer")
    check(ev[-1]["duty"] == 0.0 and ev[0]["duty"] == 0.5, ev)
    fresh = machine.PWM(machine.Pin(26))
    check(fresh.freq() == 5000 and fresh.duty_u16() == 32768, "ESP32 defaults: 5 kHz, 50 %")


def test_adc_ranges_and_adc2_with_wifi():
    board = fwhelp.fresh_board()
    raises(ValueError, lambda: machine.ADC(machine.Pin(13 + 10)), "ADC")
    board.analog[35] = 1.65
    a = machine.ADC(machine.Pin(35), atten=machine.ADC.ATTN_11DB)
    check(abs(a.read_uv() - 1650000) < 1000, a.read_uv())
    check(a.read() == 2180, a.read())
    check(a.read_u16() == (2180 << 4) | (2180 >> 8), a.read_u16())
    a.atten(machine.ADC.ATTN_0DB)
    check(a.read() == 4095, "0 dB saturates at 0.95 V: %d" % a.read())
    a.width(machine.ADC.WIDTH_9BIT)
    check(a.read() == 511, a.read())
    board.analog[4] = 1.0
    a2 = machine.ADC(machine.Pin(4), atten=machine.ADC.ATTN_11DB)
    check(a2.read() > 0, "ADC2 works with Wi-Fi off")
    network.WLAN(network.STA_IF).active(True)
    e = raises(OSError, a2.read)
    check(e.args[0] == errno.ETIMEDOUT, e.args)
    check(a.read() >= 0, "ADC1 still works")


def test_i2c_absent_address_is_enodev():
    fwhelp.fresh_board()
    bus = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21), freq=100000)
    check(bus.scan() == [], bus.scan())
    e = raises(OSError, lambda: bus.writeto(0x27, b"\x00"))
    check(e.args[0] == errno.ENODEV, e.args)


def test_i2c_device_and_bus_time():
    board = fwhelp.fresh_board()

    class Echo:
        def __init__(self):
            self.got = b""

        def i2c_write(self, data):
            self.got += data

        def i2c_read(self, n):
            return self.got[-n:]

    dev = Echo()
    board.i2c_devices[(22, 21)] = {0x3C: dev}
    bus = machine.SoftI2C(machine.Pin(22), machine.Pin(21), freq=100000)
    t0 = clock.us
    bus.writeto(0x3C, b"\x01\x02")
    check(clock.us - t0 >= 180, "two bytes at 100 kHz take ~0.2 ms: %d us" % (clock.us - t0))
    check(bus.readfrom(0x3C, 1) == b"\x02", "device answers")
    check(bus.scan() == [0x3C], bus.scan())


def test_ticks_wrap_like_an_esp32():
    fwhelp.fresh_board(start_ms=(1 << 30) - 2)
    a = time.ticks_ms()
    time.sleep_ms(5)
    b = time.ticks_ms()
    check(b == 3, "wrapped to 3, got %d" % b)
    check(time.ticks_diff(b, a) == 5, time.ticks_diff(b, a))
    check(time.ticks_add((1 << 30) - 1, 1) == 0, "ticks_add wraps")
    check(time.ticks_diff(0, (1 << 30) - 1) == 1, "ticks_diff across the wrap")


def test_time_pulse_us_minus_one_and_minus_two():
    board = fwhelp.fresh_board()

    class Wave:
        def __init__(self, rise, fall):
            self.rise, self.fall = rise, fall

        def level(self, gpio):
            return 1 if self.rise <= clock.us < self.fall else 0

        def next_change(self, gpio):
            if clock.us < self.rise:
                return self.rise
            return self.fall if clock.us < self.fall else None

    pin = machine.Pin(14, machine.Pin.IN)
    board.pin(14).source = Wave(clock.us + 100, clock.us + 600)
    check(machine.time_pulse_us(pin, 1, 1000) == 500, "a 500 us pulse")
    board.pin(14).source = Wave(clock.us + 5000, clock.us + 6000)
    check(machine.time_pulse_us(pin, 1, 1000) == -2, "never started within the timeout")
    board.pin(14).source = Wave(clock.us + 10, clock.us + 9000)
    check(machine.time_pulse_us(pin, 1, 1000) == -1, "still high at the timeout")


def test_watchdog_resets_unless_fed():
    fwhelp.fresh_board()
    wdt = machine.WDT(timeout=1000)
    for _ in range(5):
        time.sleep_ms(900)
        wdt.feed()
    e = raises(Reset, lambda: time.sleep_ms(1100))
    check(e.cause == machine.WDT_RESET, e.cause)
    check(clock.us == 5 * 900000 + 1000000, "reset exactly 1 s after the last feed: %d" % clock.us)


def test_rtc_memory_and_datetime():
    board = fwhelp.fresh_board()
    rtc = machine.RTC()
    rtc.memory(b"seq=7")
    check(board.rtc_memory == b"seq=7", board.rtc_memory)
    raises(ValueError, lambda: rtc.memory(bytes(2049)), "long")
    rtc.datetime((2026, 12, 3, 3, 16, 30, 0, 0))
    time.sleep(61)
    dt = rtc.datetime()
    check(dt[:3] == (2026, 12, 3) and dt[4:7] == (16, 31, 1), dt)
    check(time.localtime()[6] == 3, "2026-12-03 is a Thursday (3): %s" % (time.localtime(),))


def test_timer_callbacks_on_virtual_time():
    fwhelp.fresh_board()
    hits = []
    machine.Timer(0, mode=machine.Timer.PERIODIC, period=100, callback=lambda t: hits.append(clock.us))
    time.sleep_ms(350)
    check(hits == [100000, 200000, 300000], hits)
    machine.Timer(0, mode=machine.Timer.ONE_SHOT, period=50, callback=lambda t: hits.append(-clock.us))
    time.sleep_ms(200)
    check(hits[3:] == [-400000], "same id replaces the periodic timer: %s" % hits)


def test_deepsleep_and_reset_are_resets():
    fwhelp.fresh_board()
    e = raises(Reset, lambda: machine.deepsleep(5000))
    check(e.cause == machine.DEEPSLEEP_RESET and e.sleep_ms == 5000, (e.cause, e.sleep_ms))
    e = raises(Reset, machine.reset)
    check(e.cause == machine.HARD_RESET, e.cause)
    check(len(machine.unique_id()) == 6, machine.unique_id())


def test_sleep_takes_whole_numbers_like_the_port():
    # found by a break-it session: sleep_ms(1.5) made the virtual clock a float and the next
    # ticks_ms() failed far from the cause; the real port raises at once
    fwhelp.fresh_board()
    raises(TypeError, lambda: time.sleep_ms(1.5), "int")
    raises(TypeError, lambda: time.sleep_us(2.0), "int")
    check(isinstance(time.ticks_ms(), int), "clock still whole")


def test_uart_bytes_take_wire_time_and_reach_the_peer():
    board = fwhelp.fresh_board()

    class Echo:
        """A peer on the TX pin that answers each write with the same bytes, reversed."""

        def uart_write(self, uart, data, baud):
            uart._receive(bytes(reversed(data)))

    board.uart_peers[17] = Echo()
    u = machine.UART(2, baudrate=9600, tx=17, rx=16, timeout=10)
    t0 = clock.us
    u.write(b"\x01\x03\x00")
    # write() only queues, as on the ESP32; flush() waits until the bytes have left:
    # 3 bytes of 10 bits (start, 8 data, stop) at 9600 baud = 3.125 ms on the wire
    check(clock.us == t0 and not u.txdone(), "write returns at once")
    u.flush()
    check(clock.us - t0 == 3 * 10 * 1000000 // 9600, "wire time %d us" % (clock.us - t0))
    check(u.txdone() and (u.tx_start, u.tx_end) == (t0, clock.us), (u.tx_start, u.tx_end))
    check(u.any() == 3, u.any())
    check(u.read(2) == b"\x00\x03" and u.read() == b"\x01", "answer in order")
    t1 = clock.us
    check(u.read() is None, "nothing more")
    check(clock.us - t1 == 10000, "read waits the 10 ms timeout: %d" % (clock.us - t1))
