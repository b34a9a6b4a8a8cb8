"""The board layer: turns the board map (role -> GPIO) into ready-made peripherals.

Only this module and drivers import ``machine``. Apps ask for roles, never pin numbers:

    hal = Hal(board_map)          # board_map = {"board": "...", "chip": "...", "pins": {...}}
    trig = hal.output("sonar_trig")
    buzzer = hal.pwm("buzzer")
"""

import machine


class HalError(ValueError):
    pass


class Hal:
    def __init__(self, board_map, source="board.json"):
        self.map = board_map
        self.pins = board_map.get("pins", {})
        self.source = source
        self.wdt = None  # the watchdog once started: on an ESP32 it cannot be stopped

    def gpio(self, role):
        if role not in self.pins:
            raise HalError("%s: no pin for role %r (roles: %s)" % (self.source, role, ", ".join(sorted(self.pins))))
        return self.pins[role]

    def has(self, role):
        return role in self.pins

    def output(self, role, value=0):
        return machine.Pin(self.gpio(role), machine.Pin.OUT, value=value)

    def input(self, role, pull=None):
        if pull == "up":
            return machine.Pin(self.gpio(role), machine.Pin.IN, machine.Pin.PULL_UP)
        if pull == "down":
            return machine.Pin(self.gpio(role), machine.Pin.IN, machine.Pin.PULL_DOWN)
        return machine.Pin(self.gpio(role), machine.Pin.IN)

    def pwm(self, role, freq=1000):
        # duty 0 at construction: the ESP32 port would otherwise start at 50 %
        return machine.PWM(machine.Pin(self.gpio(role)), freq=freq, duty_u16=0)

    def adc(self, role):
        return machine.ADC(machine.Pin(self.gpio(role)), atten=machine.ADC.ATTN_11DB)

    def adc_max_uv(self):
        """The highest voltage, in microvolts, that ``adc()`` inputs read (``read_uv()``) on this
        chip: 2500000 on an ESP32-C3, 3100000 on an ESP32 or ESP32-S3 (``adc_max_mv`` in
        board.json, from boards/chips; 3100000 when a board.json lacks it). A higher
        voltage at the pin reads as about this value, so a reading near it may be clipped."""
        mv = self.map.get("adc_max_mv")
        if not isinstance(mv, int) or isinstance(mv, bool) or mv <= 0:
            mv = 3100  # the ESP32's: what every board.json meant before the key existed
        return mv * 1000

    def i2c(self, prefix, freq=100000):
        """The I2C bus on roles ``<prefix>_scl`` and ``<prefix>_sda`` (hardware I2C 0). 100 kHz:
        long wires to a door panel and 5 V backpacks with weak pull-ups need the slow clock."""
        return machine.I2C(0, scl=machine.Pin(self.gpio(prefix + "_scl")),
                           sda=machine.Pin(self.gpio(prefix + "_sda")), freq=freq)

    def uart(self, prefix, baudrate=9600, uart_id=2):
        """The UART on roles ``<prefix>_tx`` and ``<prefix>_rx`` (UART 2: UART 0 is the USB
        console, UART 1's default pins are the flash's)."""
        return machine.UART(uart_id, baudrate=baudrate, tx=self.gpio(prefix + "_tx"),
                            rx=self.gpio(prefix + "_rx"))

    def onewire(self, role):
        """A 1-Wire bus on ``role`` (open drain; an external 4.7 kOhm pull-up to 3.3 V)."""
        import onewire

        return onewire.OneWire(machine.Pin(self.gpio(role)))

    # -- board-level services for kit.boot (machine stays behind this module) -----------------
    DEEPSLEEP_RESET = machine.DEEPSLEEP_RESET

    def rtc_memory(self, data=None):
        """The RTC's slow memory: kept through deep sleep, lost when the power goes."""
        rtc = machine.RTC()
        if data is None:
            return rtc.memory()
        rtc.memory(data)
        return None

    def deepsleep(self, ms):
        machine.deepsleep(ms)

    WDT_RESET = machine.WDT_RESET

    def reset_cause(self):
        return machine.reset_cause()

    def reset(self):
        machine.reset()

    def watchdog(self, timeout_s):
        """A started watchdog (feed it with .feed()), or None when timeout_s is 0."""
        self.wdt = machine.WDT(timeout=timeout_s * 1000) if timeout_s else None
        return self.wdt

    def blink_error(self):
        """Blink the on-board LED three times a second, from a hardware timer so the REPL stays
        free. Boards without a plain LED (``onboard_led`` absent) only print. A watchdog the
        app had started before it crashed is fed by the same timer: safe mode stays."""
        gpio = self.map.get("onboard_led")
        wdt = self.wdt
        if gpio is None and wdt is None:
            return None
        led = machine.Pin(gpio, machine.Pin.OUT, value=0) if gpio is not None else None

        def tick(_t):
            if led is not None:
                led.value(not led.value())
            if wdt is not None:
                wdt.feed()

        led_timer = machine.Timer(0)
        led_timer.init(mode=machine.Timer.PERIODIC, period=166, callback=tick)
        return led_timer

    def describe(self):
        """Yields "role=GPIOn" for every role, sorted (printed at boot, one at a time)."""
        for role in sorted(self.pins):
            yield "%s=GPIO%d" % (role, self.pins[role])
