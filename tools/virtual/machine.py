"""Virtual ``machine`` module for the ESP32 firmware (CPython and MicroPython unix).

Models the parts of the ESP32 port the firmware uses, with the chip's limits taken from
``boards/chips/*.json`` through ``vhw.board``. Known differences from a real board are listed in
docs/virtual-hardware.md; the conformance test (host_tests/test_conformance.py) checks every
public name here against the MicroPython ESP32 stubs.
"""

import errno

from vhw import Reset, clock
from vhw import board as _board

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6
IDLE = 0
SLEEP = 2
DEEPSLEEP = 4


def _gpio(pin):
    return pin if isinstance(pin, int) else pin._s.gpio


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    PULL_HOLD = 4
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        self._s = _board.BOARD.pin(id)
        self.init(mode, pull, value=value, drive=drive, alt=alt)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        s = self._s
        if mode != -1 and mode is not None:
            if mode not in (Pin.IN, Pin.OUT, Pin.OPEN_DRAIN):
                raise ValueError("invalid pin mode")
            if mode != Pin.IN and s.gpio in _board.BOARD.input_only:
                raise ValueError("pin can only be input")
            s.mode = "in" if mode == Pin.IN else ("out" if mode == Pin.OUT else "od")
        if pull != -1:
            if pull in (Pin.PULL_UP, Pin.PULL_DOWN) and s.gpio in _board.BOARD.no_pullup:
                # The ESP32 port accepts this silently, but GPIO34-39 have no pull resistors:
                # the virtual pin floats (reads 0), as the real one would drift.
                s.pull = None
            else:
                s.pull = "up" if pull == Pin.PULL_UP else ("down" if pull == Pin.PULL_DOWN else None)
        if value is not None:
            self.value(value)

    def value(self, x=None):
        s = self._s
        if x is None:
            return s.level()
        _board.BOARD.write(s, 1 if x else 0)
        return None

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(0 if self._s.out else 1)

    def mode(self, mode=None):
        if mode is None:
            return {"in": Pin.IN, "out": Pin.OUT, "od": Pin.OPEN_DRAIN}.get(self._s.mode)
        self.init(mode)
        return None

    def pull(self, pull=None):
        if pull is None:
            return {"up": Pin.PULL_UP, "down": Pin.PULL_DOWN}.get(self._s.pull)
        self.init(-1, pull)
        return None

    def drive(self, drive=None):
        return Pin.DRIVE_2 if drive is None else None

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False):
        s = self._s
        s.irq_handler = handler
        s.irq_trigger = trigger
        s.irq_pin = self
        return None

    def __repr__(self):
        return "Pin(%d)" % self._s.gpio


class Signal:
    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None, invert=False):
        self._pin = id if isinstance(id, Pin) else Pin(id, mode, pull, value=value, drive=drive, alt=alt)
        self._invert = 1 if invert else 0

    def value(self, x=None):
        if x is None:
            return self._pin.value() ^ self._invert
        self._pin.value((1 if x else 0) ^ self._invert)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    """Time a pulse like the ESP32 port: -2 if it never starts, -1 if it outlasts the timeout.

    Time passes on the virtual clock exactly as long as the real call would block.
    """
    s = pin._s
    start = clock.us
    if s.level() != pulse_level:
        t = s.next_change()
        if t is None or t - start >= timeout_us:
            clock.advance_to(start + timeout_us)
            return -2
        clock.advance_to(t)
    start = clock.us
    t = s.next_change()
    if t is None or t - start >= timeout_us:
        clock.advance_to(start + timeout_us)
        return -1
    clock.advance_to(t)
    return t - start


class PWM:
    """LEDC PWM: chip-specific channel and timer counts; one timer per distinct frequency."""

    def __init__(self, dest, *, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self._s = dest._s if isinstance(dest, Pin) else _board.BOARD.pin(dest)
        if self._s.gpio in _board.BOARD.input_only:
            raise ValueError("pin can only be input")
        self._active = False
        self._freq = 5000  # ESP32 port defaults: 5 kHz, 50 % duty
        self._duty = 32768
        self._invert = invert
        self.init(freq=freq, duty_u16=duty_u16, duty_ns=duty_ns, invert=invert)

    def init(self, *, freq=None, duty_u16=None, duty_ns=None, invert=None):
        board = _board.BOARD
        if freq is not None:
            _check_freq(freq)
        new_freq = self._freq if freq is None else freq
        if not self._active:
            users = [p for p in board.pins.values() if p.pwm is not None]
            if len(users) >= board.pwm_channels:
                raise ValueError("out of PWM channels: %d in use" % board.pwm_channels)
        self._check_timers(new_freq)
        self._freq = new_freq
        if invert is not None:
            self._invert = invert
        if duty_u16 is not None:
            self._duty = _clamp16(duty_u16)
        elif duty_ns is not None:
            self._duty = _clamp16(duty_ns * self._freq * 65535 // 1000000000)
        self._s.pwm = self
        self._s.mode = "out"
        self._active = True
        self._report()

    def _check_timers(self, freq):
        board = _board.BOARD
        freqs = set()
        for p in board.pins.values():
            if p.pwm is not None and p.pwm is not self:
                freqs.add(p.pwm._freq)
        freqs.add(freq)
        if len(freqs) > board.pwm_timers:
            raise ValueError("out of PWM timers: %d frequencies in use" % board.pwm_timers)

    def _report(self):
        s = self._s
        duty = self._duty if self._active else 0
        key = (self._freq, duty)
        if s.last_logged != key:
            s.last_logged = key
            if s.logged:
                _board.BOARD.emit(s.role or "gpio%d" % s.gpio, "pwm", "freq", self._freq, "duty", duty / 65535)

    def freq(self, value=None):
        if value is None:
            return self._freq
        _check_freq(value)
        self._check_timers(value)
        self._freq = value
        self._report()
        return None

    def duty_u16(self, value=None):
        if value is None:
            return self._duty
        self._duty = _clamp16(value)
        self._report()
        return None

    def duty_ns(self, value=None):
        if value is None:
            return self._duty * 1000000000 // (self._freq * 65535)
        self._duty = _clamp16(value * self._freq * 65535 // 1000000000)
        self._report()
        return None

    def duty(self, *args, **kwargs):
        if not args:
            return self._duty * 1023 // 65535
        self.duty_u16(args[0] * 65535 // 1023)
        return None

    def deinit(self):
        if self._active:
            self._active = False
            self._report()
            self._s.pwm = None


def _check_freq(freq):
    if not 1 <= freq <= 40000000:
        raise ValueError("frequency must be from 1Hz to 40MHz")


def _clamp16(value):
    return 0 if value < 0 else (65535 if value > 65535 else int(value))


class ADC:
    """SAR ADC with ESP-IDF's calibrated ranges per attenuation: the top in mV at 0, 2.5, 6 and
    11 dB comes from the chip file's ``adc_max_mv`` (an ESP32-C3 tops out at 2500 mV at 11 dB,
    an ESP32 or S3 at 3100), so a voltage the chip cannot read clips here as it does there."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12
    _MAX_MV = (950, 1250, 1750, 3100)  # a chip description without adc_max_mv: the ESP32's

    def __init__(self, id, *, sample_ns=None, atten=None):
        board = _board.BOARD
        gpio = _gpio(id)
        if gpio not in board.adc:
            raise ValueError("invalid pin for ADC: GPIO%d has no ADC channel" % gpio)
        self._gpio = gpio
        self._unit = board.adc[gpio][0]
        self._atten = ADC.ATTN_0DB
        self._bits = 12
        self._tops = board.chip.get("adc_max_mv") or ADC._MAX_MV
        board.pin(gpio)
        self.init(atten=atten)

    def init(self, *, sample_ns=None, atten=None):
        if atten is not None:
            self.atten(atten)

    def atten(self, atten):
        if atten not in (0, 1, 2, 3):
            raise ValueError("invalid attenuation")
        self._atten = atten

    def width(self, bits):
        if bits not in (9, 10, 11, 12):
            raise ValueError("invalid width")
        self._bits = bits

    def block(self):
        return None

    def deinit(self, *args, **kwargs):
        return None

    def _mv(self):
        board = _board.BOARD
        if self._unit == "adc2" and board.wlan_active:
            # ESP-IDF: ADC2 is shared with the Wi-Fi driver; a read times out while Wi-Fi is on
            # (ESP_ERR_TIMEOUT, which the port raises as OSError ETIMEDOUT).
            raise OSError(errno.ETIMEDOUT)
        volts = board.analog.get(self._gpio, 0.0)
        mv = int(volts * 1000 + 0.5)
        top = self._tops[self._atten]
        return 0 if mv < 0 else (top if mv > top else mv), top

    def _raw12(self):
        mv, top = self._mv()
        return (mv * 4095 + top // 2) // top

    def read(self):
        return self._raw12() >> (12 - self._bits)

    def read_u16(self):
        raw = self._raw12()
        return (raw << 4) | (raw >> 8)

    def read_uv(self):
        mv, top = self._mv()
        raw = (mv * 4095 + top // 2) // top
        return raw * top * 1000 // 4095


class _I2CBase:
    def __init__(self, scl, sda, freq):
        self._bus = (_gpio(scl), _gpio(sda))
        for gpio in self._bus:
            if gpio in _board.BOARD.input_only:
                raise ValueError("pin can only be input")
            _board.BOARD.pin(gpio)
        self._freq = freq

    def _dev(self, addr):
        dev = _board.BOARD.i2c_devices.get(self._bus, {}).get(addr)
        if dev is None:
            raise OSError(errno.ENODEV)
        if hasattr(dev, "bus_hz"):
            dev.bus_hz = self._freq  # a part that times its bytes hears the bus's real clock
        clock.advance(10 * 1000000 // self._freq)  # START + address byte with its ACK
        return dev

    def scan(self):
        return sorted(_board.BOARD.i2c_devices.get(self._bus, {}).keys())

    def writeto(self, addr, buf, stop=True):
        self._dev(addr).i2c_write(bytes(buf))
        clock.advance(len(buf) * 9 * 1000000 // self._freq)
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = b"".join([bytes(b) for b in vector])
        return self.writeto(addr, data, stop)

    def readfrom(self, addr, nbytes, stop=True):
        data = self._dev(addr).i2c_read(nbytes)
        clock.advance(nbytes * 9 * 1000000 // self._freq)
        return data

    def readfrom_into(self, addr, buf, stop=True):
        data = self.readfrom(addr, len(buf), stop)
        for i in range(len(buf)):
            buf[i] = data[i]

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self.writeto(addr, _memaddr(memaddr, addrsize) + bytes(buf))

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        self.writeto(addr, _memaddr(memaddr, addrsize), False)
        return self.readfrom(addr, nbytes)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self.writeto(addr, _memaddr(memaddr, addrsize), False)
        self.readfrom_into(addr, buf)

    def deinit(self):
        return None


def _memaddr(memaddr, addrsize):
    n = addrsize // 8
    return bytes([(memaddr >> (8 * (n - 1 - i))) & 0xFF for i in range(n)])


class I2C(_I2CBase):
    def __init__(self, id, *, scl=None, sda=None, freq=400000, timeout=50000):
        if scl is None or sda is None:
            # ESP32 defaults: I2C(0) scl=18 sda=19, I2C(1) scl=25 sda=26
            scl, sda = (18, 19) if id == 0 else (25, 26)
        _I2CBase.__init__(self, scl, sda, freq)

    def init(self, *, scl=None, sda=None, freq=400000):
        self._freq = freq


class SoftI2C(_I2CBase):
    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        _I2CBase.__init__(self, scl, sda, freq)

    def init(self, *args, **kwargs):
        return None


class UART:
    """A UART whose TX goes to the part attached at the TX pin and whose RX buffer it fills."""

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, *, tx=None, rx=None,
                 txbuf=256, rxbuf=256, timeout=0, timeout_char=0, invert=0, flow=0, rts=-1, cts=-1):
        self._id = id
        self._rx = bytearray()
        self.tx_start = self.tx_end = clock.us  # the bytes last written are on the wire then
        self.init(baudrate, bits, parity, stop, tx=tx, rx=rx, timeout=timeout, timeout_char=timeout_char)

    def init(self, baudrate=115200, bits=8, parity=None, stop=1, *, tx=None, rx=None, txbuf=256,
             rxbuf=256, timeout=0, timeout_char=0, invert=0, flow=0, rts=-1, cts=-1):
        self._baud = baudrate
        self._frame_bits = 1 + bits + (0 if parity is None else 1) + stop
        if tx is not None:
            self._tx = _gpio(tx)
        if rx is not None:
            self._rxpin = _gpio(rx)
        self._timeout = timeout

    def _char_us(self, n):
        return n * self._frame_bits * 1000000 // self._baud

    def _peer(self):
        return _board.BOARD.uart_peers.get(getattr(self, "_tx", None))

    def _receive(self, data):
        """Called by the peer part: bytes arrive in the RX buffer (timing is the part's job)."""
        self._rx.extend(data)

    def write(self, buf):
        """Queue the bytes and return at once, as the ESP32 port does (its TX ring buffer): they
        leave at the baud rate after what is still being sent; ``flush()`` waits for the last
        stop bit. The peer is told now, with the time on the wire in tx_start/tx_end."""
        data = bytes(buf)
        self.tx_start = self.tx_end if self.tx_end > clock.us else clock.us
        self.tx_end = self.tx_start + self._char_us(len(data))
        peer = self._peer()
        if peer is not None:
            peer.uart_write(self, data, self._baud)
        return len(data)

    def any(self):
        return len(self._rx)

    def _wait(self):
        if not self._rx and self._timeout:
            peer = self._peer()
            if peer is not None and hasattr(peer, "uart_wait"):
                peer.uart_wait(self, self._timeout * 1000)
            else:
                clock.advance(self._timeout * 1000)

    def read(self, nbytes=None):
        self._wait()
        if not self._rx:
            return None
        n = len(self._rx) if nbytes is None else min(nbytes, len(self._rx))
        data = bytes(self._rx[:n])
        self._rx = self._rx[n:]
        return data

    def readinto(self, buf, nbytes=None):
        data = self.read(len(buf) if nbytes is None else nbytes)
        if data is None:
            return None
        for i in range(len(data)):
            buf[i] = data[i]
        return len(data)

    def readline(self):
        self._wait()
        idx = self._rx.find(b"\n")
        return self.read(None if idx < 0 else idx + 1)

    def flush(self):
        """Wait until every written byte has left (the ESP32 port blocks the same way)."""
        if self.tx_end > clock.us:
            clock.advance_to(self.tx_end)

    def txdone(self):
        return clock.us >= self.tx_end

    def sendbreak(self):
        return None

    def deinit(self):
        return None


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, *, mode=1, period=-1, freq=-1, tick_hz=1000, callback=None, hard=False):
        self._id = id
        self._handle = None
        if callback is not None:
            self.init(mode=mode, period=period, freq=freq, callback=callback)

    def init(self, *, mode=1, period=-1, freq=-1, tick_hz=1000, callback=None, hard=False):
        self.deinit()
        old = _board.BOARD.timers.get(self._id)
        if old is not None:
            old.deinit()  # one hardware timer per id: a new Timer(id) replaces the old one
        if freq > 0:
            period_us = 1000000 // freq
        elif period > 0:
            period_us = period * 1000000 // tick_hz
        else:
            raise ValueError("period or freq needed")
        self._mode = mode
        self._period_us = period_us
        self._callback = callback
        self._handle = clock.after(period_us, self._fire)
        _board.BOARD.timers[self._id] = self

    def _fire(self):
        if self._mode == Timer.PERIODIC:
            self._handle = clock.after(self._period_us, self._fire)
        else:
            self._handle = None
            _board.BOARD.timers.pop(self._id, None)
        if self._callback is not None:
            self._callback(self)

    def value(self, *args, **kwargs):
        return 0

    def deinit(self):
        if self._handle is not None:
            clock.cancel(self._handle)
            self._handle = None
            _board.BOARD.timers.pop(self._id, None)


class WDT:
    """Watchdog: not fed within ``timeout`` ms of virtual time, the board resets (WDT_RESET)."""

    def __init__(self, *, id=0, timeout=5000):
        if timeout < 1:
            raise ValueError("timeout must be at least 1 ms")
        self._timeout_us = timeout * 1000
        clock.wdt_hook = _wdt_expired
        self.feed()

    def feed(self):
        clock.wdt_deadline = clock.us + self._timeout_us


def _wdt_expired():
    clock.wdt_deadline = None
    raise Reset(WDT_RESET, 0, "watchdog")


class RTC:
    def __init__(self, id=0, *, datetime=None):
        if datetime is not None:
            self.datetime(datetime)

    def init(self, datetime=None):
        if datetime is not None:
            self.datetime(datetime)

    def datetime(self, datetimetuple=None):
        import time

        if datetimetuple is None:
            t = time.gmtime()
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        y, m, d, _wd, hh, mm, ss = datetimetuple[:7]
        secs = time.mktime((y, m, d, hh, mm, ss, 0, 0))
        time.rtc_base[0] = secs - clock.us // 1000000
        return None

    def memory(self, data=None):
        board = _board.BOARD
        if data is None:
            return board.rtc_memory
        if len(data) > 2048:
            raise ValueError("buffer too long")
        board.rtc_memory = bytes(data)
        return None


def reset():
    raise Reset(HARD_RESET, 0, "machine.reset()")


def soft_reset():
    raise Reset(SOFT_RESET, 0, "machine.soft_reset()")


def reset_cause():
    return _board.BOARD.reset_cause


def wake_reason():
    return _board.BOARD.wake_reason


def deepsleep(time_ms=0):
    raise Reset(DEEPSLEEP_RESET, time_ms, "deepsleep")


def lightsleep(time_ms=0):
    clock.advance(time_ms * 1000)


def idle():
    return None


def unique_id():
    return _board.BOARD.unique_id


def freq(hz=None):
    board = _board.BOARD
    if hz is None:
        return board.cpu_freq
    if hz not in (20000000, 40000000, 80000000, 160000000, 240000000):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    board.cpu_freq = hz
    return None


def disable_irq():
    return 0


def enable_irq(state):
    return None
