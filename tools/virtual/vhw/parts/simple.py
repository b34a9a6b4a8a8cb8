"""Small virtual parts: a push button with contact bounce, a battery behind a divider, analog
sensors, switches to GND and a switch for the sensors' supply."""

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


class PowerSwitch:
    """The sensors' supply switch on a GPIO (role ``sensor_power``): an NPN pulling a P-MOSFET's
    gate down, or a load switch's EN. High = on; a pin that is not driven (reset, boot, deep
    sleep: the ESP32 leaves it floating and the base pull-down wins) or driven low = off.

    Its loads (parts with ``supply_changed(on)``) hear every switch-over the firmware writes.
    ``on()`` is read from the pin at the moment it is asked, so a reset that leaves the pin
    undriven is off at once for a part that asks (the RS485 probe asks at each frame); the
    analog probes, which only hold a value, hear it at the firmware's next write of the pin.
    ``on_since_us`` is when the supply last came on (None while off)."""

    def __init__(self, board, gpio, name="sensor_power"):
        self.board = board
        self.gpio = gpio
        self.name = name
        self.loads = []
        self.on_since_us = None
        self.switched_on = 0  # how many times the supply came on
        self._state = board.pin(gpio)
        self._state.watchers.append(self._written)
        board.attach(name, self)

    def on(self):
        s = self._state
        return s.mode == "out" and s.out == 1

    def on_for_us(self):
        """How long the supply has been on (None while off)."""
        if not self.on() or self.on_since_us is None:
            return None
        return clock.us - self.on_since_us

    def _written(self, value):
        # the board logs the write after telling its watchers: last_logged is the level before
        # this write, None after a reset (the pin was undriven: off)
        before = self._state.last_logged == 1
        if value and not before:
            self.on_since_us = clock.us
            self.switched_on += 1
            for load in self.loads:
                load.supply_changed(True)
        elif not value:  # told even when already off: a reset may have cut it unannounced
            self.on_since_us = None
            for load in self.loads:
                load.supply_changed(False)


class Analog:
    """A sensor with an analog output on an ADC pin (a capacitive moisture probe, a pH module):
    the volts at the pin, set by a test or scenario, or played from a list of volts, one every
    ``every_ms`` of device time (a recorded log). With a ``supply`` (a PowerSwitch) it reads
    0 V while the supply is off: an unpowered probe drives nothing and the ADC's input settles
    low (a known difference: the real pin floats a little above 0 V)."""

    def __init__(self, board, gpio, name, volts=0.0, supply=None):
        self.board = board
        self.gpio = gpio
        self.name = name
        self.supply = supply
        self.powered = supply is None or supply.on()
        if supply is not None:
            supply.loads.append(self)
        board.attach(name, self)
        self.set_volts(volts)

    def set_volts(self, volts):
        self.volts = volts
        self.board.analog[self.gpio] = volts if self.powered else 0.0

    def supply_changed(self, on):
        self.powered = on
        self.set_volts(self.volts)

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
