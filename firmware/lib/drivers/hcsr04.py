"""HC-SR04 / JSN-SR04T ultrasonic distance sensor.

Wiring: VCC to 5 V, GND to GND, TRIG to any output pin (3.3 V is enough to trigger).
WARNING: ECHO is a 5 V signal. Put a divider between ECHO and the ESP32 input
(1 kOhm in series, 2 kOhm to GND gives 3.3 V) or the pin can be damaged.

How it measures (HC-SR04 datasheet): a 10 us TRIG pulse starts a cycle, ECHO then stays high
for the time sound needs to reach the obstacle and come back. With nothing in range ECHO drops
after about 38 ms. The datasheet asks for at least 60 ms between cycles so the previous echo
dies out; ``min_interval_ms`` enforces it.

Units: distances in whole millimetres (integers: no float allocation per reading), the speed
of sound from the air temperature, c = 331.3 + 0.606 * T m/s.

    sensor = HCSR04(Pin(13, Pin.OUT), Pin(14, Pin.IN), max_mm=3000, temp_c=27)
    mm = sensor.measure()      # int mm, or None when nothing is in range
    # raises HCSR04Error when the sensor is faulty (unplugged, ECHO stuck high)
"""

import time

import machine

ECHO_DELAY_MAX_US = 1000  # TRIG end -> ECHO rise is ~0.5 ms on common modules; allow 1 ms
MIN_INTERVAL_MS = 60  # datasheet: "over 60 ms measurement cycle"
VARIANTS = {"hcsr04": (20, 4000), "jsn_sr04t": (200, 6000)}  # (min mm, max mm)


class HCSR04Error(Exception):
    """The sensor gave no usable answer: wiring or module fault, not 'nothing in range'."""


def sound_speed_dm_s(temp_c):
    """Speed of sound in 0.1 m/s units (integer) for the air temperature in degrees C."""
    return 3313 + (606 * temp_c) // 100


class HCSR04:
    def __init__(self, trig, echo, *, max_mm=4000, temp_c=20, variant="hcsr04",
                 min_interval_ms=MIN_INTERVAL_MS):
        if variant not in VARIANTS:
            raise ValueError("variant must be one of %s, not %r" % (", ".join(VARIANTS), variant))
        if min_interval_ms < MIN_INTERVAL_MS:
            raise ValueError("min_interval_ms must be at least %d (datasheet)" % MIN_INTERVAL_MS)
        self.trig = trig
        self.echo = echo
        self.variant = variant
        self.min_mm = VARIANTS[variant][0]
        self.min_interval_ms = min_interval_ms
        self.c_dm_s = sound_speed_dm_s(temp_c)
        self.set_range(max_mm)
        self._last = None  # ticks_ms of the last trigger
        trig.value(0)

    def set_range(self, max_mm):
        """Listen for echoes up to ``max_mm``; the echo wait (and so the time a measurement
        blocks) follows."""
        lo, hi = VARIANTS[self.variant]
        if not lo < max_mm <= hi:
            raise ValueError("max_mm for %s must be from %d to %d, not %r" % (self.variant, lo + 1, hi, max_mm))
        self.max_mm = max_mm
        self._timeout()

    def set_temperature(self, temp_c):
        self.c_dm_s = sound_speed_dm_s(temp_c)
        self._timeout()

    def _timeout(self):
        # Wait for an echo from max_mm and no longer (never time_pulse_us's 1 s default):
        # round trip = 2 * max_mm / c; c in 0.1 m/s = 1e-4 mm/us -> us = 2e4 * mm / c_dm_s.
        self.timeout_us = 20000 * self.max_mm // self.c_dm_s + ECHO_DELAY_MAX_US

    def wait_ms(self):
        """Milliseconds until the datasheet allows the next cycle (0 = now)."""
        if self._last is None:
            return 0
        left = self.min_interval_ms - time.ticks_diff(time.ticks_ms(), self._last)
        return left if left > 0 else 0

    def measure(self):
        """One cycle: int mm, None when nothing echoes within max_mm; HCSR04Error on a fault.

        Blocks for at most ``timeout_us`` (plus the 10 us trigger): about 12 ms for 2 m.
        Calling it again sooner than ``min_interval_ms`` raises ValueError (use ``wait_ms``).
        """
        if self._last is not None and self.wait_ms():
            raise ValueError("HC-SR04 measured again within %d ms" % self.min_interval_ms)
        if self.echo.value():
            raise HCSR04Error("ECHO already high before the trigger (stuck or shorted)")
        self.trig.value(0)
        time.sleep_us(2)
        self.trig.value(1)
        time.sleep_us(10)
        self.trig.value(0)
        self._last = time.ticks_ms()
        us = machine.time_pulse_us(self.echo, 1, self.timeout_us)
        if us == -2:
            raise HCSR04Error("no ECHO pulse: check wiring and 5 V power")
        if us < 0:
            return None  # ECHO still high at the timeout: nothing within max_mm
        mm = (us * self.c_dm_s + 10000) // 20000  # rounded to the nearest mm
        if mm > self.max_mm:
            return None
        return mm if mm > self.min_mm else self.min_mm
