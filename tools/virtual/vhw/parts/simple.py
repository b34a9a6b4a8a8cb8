"""Small virtual parts: a push button with contact bounce, a battery behind a divider."""

from vhw import clock

# Contact bounce of a cheap tactile switch: (offset us, level) steps after the press/release
# edge, about 2 ms in all (tactile switches typically bounce for 1-5 ms).
_BOUNCE = ((0, 1), (300, 0), (700, 1), (1200, 0), (2000, 1))


class Button:
    """A push button from the pin to GND (the pin's pull-up makes released read 1)."""

    def __init__(self, board, gpio, name="button", bounce=True):
        self.board = board
        self.gpio = gpio
        self.name = name
        self.bounce = bounce
        board.pin(gpio)
        board.attach(name, self)

    def press(self, hold_ms):
        self._edge(0)
        clock.after(hold_ms * 1000, self._release)

    def _release(self):
        self._edge(1)

    def _edge(self, final):
        if not self.bounce:
            self.board.set_level(self.gpio, None if final else 0)
            return
        for offset, level in _BOUNCE:
            value = final if level else (1 - final)
            clock.after(offset, self._setter(value, final))

    def _setter(self, value, final):
        def set_level():
            # released: nothing drives the pin (the pull-up decides); pressed: shorted to GND
            self.board.set_level(self.gpio, None if value else 0)

        return set_level


class Battery:
    """A battery measured through a resistor divider on an ADC pin."""

    def __init__(self, board, gpio, volts=4.0, divider=2.0, name="battery"):
        self.board = board
        self.gpio = gpio
        self.divider = divider
        board.attach(name, self)
        self.set_volts(volts)

    def set_volts(self, volts):
        self.volts = volts
        self.board.analog[self.gpio] = volts / self.divider


class Analog:
    """A sensor with an analog output on an ADC pin (a capacitive moisture probe, a pH module):
    the volts at the pin, set by a test or scenario, or played from a list of volts, one every
    ``every_ms`` of device time (a recorded log)."""

    def __init__(self, board, gpio, name, volts=0.0):
        self.board = board
        self.gpio = gpio
        self.name = name
        board.attach(name, self)
        self.set_volts(volts)

    def set_volts(self, volts):
        self.volts = volts
        self.board.analog[self.gpio] = volts

    def play(self, volts_list, every_ms):
        self._trace = volts_list
        self._i = 0
        self._every_us = every_ms * 1000
        self._next()

    def _next(self):
        if self._i >= len(self._trace):
            return
        self.set_volts(self._trace[self._i])
        self._i += 1
        clock.after(self._every_us, self._next)


class Switch:
    """A switch from the pin to GND that stays where it is put: a door's reed contact (closed =
    door shut) or a case tamper switch (closed = case shut). Closed reads 0 (the pin's pull-up
    makes open read 1). Reed contacts do not bounce much; the firmware debounces anyway."""

    def __init__(self, board, gpio, name, closed=True):
        self.board = board
        self.gpio = gpio
        self.name = name
        board.pin(gpio)
        board.attach(name, self)
        self.set(closed)

    def set(self, closed):
        self.closed = closed
        self.board.set_level(self.gpio, 0 if closed else None)
