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

    def describe(self):
        """Yields "role=GPIOn" for every role, sorted (printed at boot, one at a time)."""
        for role in sorted(self.pins):
            yield "%s=GPIO%d" % (role, self.pins[role])
