"""The virtual board: pin states, attached parts, chip limits and the event log.

One board exists per process (``BOARD``); ``machine``, ``network`` and ``esp32`` work on it.
Chip data comes from ``boards/chips/<chip>.json`` (the same file the board checker reads), so the
virtual ESP32 refuses what the real chip refuses: an output on an input-only pin, ADC on a pin
without an ADC channel, more PWM frequencies than the chip has timers.
"""

import json

from vhw import clock

# Reset causes, as machine.reset_cause() reports them on the ESP32 port.
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

# A chip description good enough for tests that do not load one (an ESP32-WROOM-32).
DEFAULT_CHIP = {
    "name": "ESP32",
    "gpio": list(range(0, 20)) + [21, 22, 23, 25, 26, 27] + list(range(32, 40)),
    "input_only": [34, 35, 36, 37, 38, 39],
    "no_pullup": [34, 35, 36, 37, 38, 39],
    "flash": [6, 7, 8, 9, 10, 11],
    "adc1": {"32": 4, "33": 5, "34": 6, "35": 7, "36": 0, "37": 1, "38": 2, "39": 3},
    "adc2": {"4": 0, "0": 1, "2": 2, "15": 3, "13": 4, "12": 5, "14": 6, "27": 7, "25": 8, "26": 9},
    "pwm": {"channels": 16, "timers": 8},
}


def fmt(value):
    """JSON text for one value, identical on CPython and MicroPython (floats to 4 decimals)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        text = "%.4f" % value
        text = text.rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join([fmt(v) for v in value]) + "]"
    if isinstance(value, dict):  # keys sorted: MicroPython's dicts keep no insertion order
        return "{" + ", ".join([json.dumps(k) + ": " + fmt(value[k]) for k in sorted(value)]) + "}"
    return json.dumps(value)


class PinState:
    """Everything the board knows about one GPIO."""

    def __init__(self, gpio):
        self.gpio = gpio
        self.mode = None  # None (unconfigured), "in", "out", "od" (open drain)
        self.pull = None  # None, "up", "down"
        self.out = 0
        self.ext = None  # level driven from outside by a part (0/1) or None
        self.source = None  # a part with level(gpio) and next_change(gpio) computing the level
        self.watchers = []  # callables(value) told about every write while an output
        self.irq_handler = None
        self.irq_trigger = 0
        self.irq_pin = None
        self.role = None
        self.logged = True  # write 'pin' events for this output (False when a part owns it)
        self.last_logged = None
        self.pwm = None

    def level(self):
        if self.source is not None:
            return self.source.level(self.gpio)
        if self.mode == "out":
            return self.out
        if self.ext is not None:
            return 0 if (self.mode == "od" and self.out == 0) else self.ext
        if self.mode == "od" and self.out == 0:
            return 0
        return 1 if self.pull == "up" else 0

    def next_change(self):
        if self.source is not None:
            return self.source.next_change(self.gpio)
        return None


class Board:
    def __init__(self, chip=None, roles=None, out=None):
        self.chip = chip or DEFAULT_CHIP
        self.gpios = set(self.chip["gpio"])
        self.input_only = set(self.chip.get("input_only", ()))
        self.no_pullup = set(self.chip.get("no_pullup", ()))
        self.flash_pins = set(self.chip.get("flash", ()))
        self.adc = {}
        for unit in ("adc1", "adc2"):
            for pin, channel in self.chip.get(unit, {}).items():
                self.adc[int(pin)] = (unit, channel)
        pwm = self.chip.get("pwm", {"channels": 16, "timers": 8})
        self.pwm_channels = pwm["channels"]
        self.pwm_timers = pwm["timers"]
        self.roles = {}  # gpio -> role name
        for role, pin in (roles or {}).items():
            self.roles[pin] = role
        self.pins = {}
        self.parts = {}
        self.analog = {}  # gpio -> volts at the pin
        self.i2c_devices = {}  # (scl, sda) -> {addr: device}
        self.uart_peers = {}  # tx gpio -> part receiving what the board sends
        self.onewire = {}  # gpio -> the 1-Wire devices on that pin
        self.out = out  # file-like: event log lines are written as they happen
        self.events = [] if out is None else None
        self.rtc_memory = b""
        self.reset_cause = PWRON_RESET
        self.wake_reason = 0
        self.unique_id = b"\x24\x0a\xc4\x12\x34\x56"
        self.cpu_freq = 240000000
        self.wlan_active = False
        self.wlan_connected = False
        self.ap_available = True
        self.log_pings = True
        self.flush = False  # flush after every event (real-time runs are followed live)
        self.timers = {}  # hardware timer id -> machine.Timer running on the clock

    # -- pins -------------------------------------------------------------------------------
    def pin(self, gpio):
        state = self.pins.get(gpio)
        if state is None:
            if gpio not in self.gpios:
                raise ValueError("invalid pin")
            if gpio in self.flash_pins:
                raise ValueError("invalid pin (GPIO%d is wired to the SPI flash)" % gpio)
            state = PinState(gpio)
            state.role = self.roles.get(gpio)
            self.pins[gpio] = state
        return state

    def write(self, state, value):
        state.out = value
        for watcher in state.watchers:
            watcher(value)
        if state.logged and state.last_logged != value and state.pwm is None:
            state.last_logged = value
            self.emit(state.role or "gpio%d" % state.gpio, "pin", "value", value)

    def set_level(self, gpio, value):
        """A part drives an input pin from outside; fires the pin's IRQ on a matching edge."""
        state = self.pin(gpio)
        before = state.level()
        state.ext = value
        after = state.level()
        if before != after and state.irq_handler is not None:
            trig = state.irq_trigger
            if (after and trig & 1) or (not after and trig & 2):
                # IRQ_FALLING = 2, IRQ_RISING = 1 on the ESP32 port
                state.irq_handler(state.irq_pin)

    def attach(self, name, part):
        self.parts[name] = part
        return part

    # -- event log --------------------------------------------------------------------------
    def emit(self, part, kind, *fields):
        """One event line: fields come as name, value, name, value... in the order to print.

        Written piece by piece to the log file: no line-sized string is built, so the virtual
        board does not fragment the small heap the firmware runs in."""
        if clock.ended and kind != "end":
            return  # the run is over; what cleanup code does afterwards is not observed
        out = self.out
        if out is None:
            out = _Collect()
        out.write('{"t_ms": %d, "part": ' % (clock.us // 1000))
        out.write(fmt(part))
        out.write(', "kind": ')
        out.write(fmt(kind))
        for i in range(0, len(fields), 2):
            out.write(", ")
            out.write(fmt(fields[i]))
            out.write(": ")
            out.write(fmt(fields[i + 1]))
        out.write("}\n")
        if self.flush:
            out.flush()  # real time: another process follows the log as it happens
        if self.out is None:
            self.events.append("".join(out.parts)[:-1])


class _Collect:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)


BOARD = Board()


def install(board):
    global BOARD
    BOARD = board
    return board
