"""Virtual HC-SR04 / JSN-SR04T ultrasonic ranger.

Electrical model (HC-SR04 datasheet, ElecFreaks): a TRIG pulse of at least 10 us starts a cycle;
the module sends 8 cycles of 40 kHz, then raises ECHO for the round-trip time of the sound,
2 * d / c. With nothing in range the module gives up and drops ECHO after about 38 ms. Triggers
while a cycle runs are ignored. The speed of sound follows the air temperature:
c = 331.3 + 0.606 * T m/s.

Variants: ``hcsr04`` (range 2-400 cm) and ``jsn_sr04t`` (waterproof single transducer: objects
closer than its ~20 cm blind zone are not seen, modelled as no echo; range up to 600 cm).
Faults: ``unplugged`` (ECHO never rises), ``stuck_high`` (ECHO always high, for example a
shorted or latched module), ``None`` (working).

Where the distance comes from: a constant (``set_distance``) or a trace of (t_ms, cm or None)
samples, held from one sample to the next (zero-order hold), as recorded by a real sensor.
Distances are kept in whole millimetres and traces in two compact arrays, so the part neither
allocates per ping nor fragments the small heap the firmware runs in.
"""

from vhw import clock

ECHO_DELAY_US = 450  # trigger end -> ECHO high: 8 x 25 us burst plus the module's own latency
NO_ECHO_US = 38000  # ECHO width when nothing echoes (datasheet: "38 ms if no obstacle")
VARIANTS = {
    # name: (min cm, max cm, blind zone cm)
    "hcsr04": (2.0, 400.0, 0.0),
    "jsn_sr04t": (20.0, 600.0, 20.0),
}


class HCSR04:
    def __init__(self, board, trig, echo, variant="hcsr04", name="sonar", temp_c=20.0):
        if variant not in VARIANTS:
            raise ValueError("unknown ultrasonic variant %r (valid: %s)" % (variant, ", ".join(VARIANTS)))
        self.board = board
        self.name = name
        self.variant = variant
        self.min_cm, self.max_cm, self.blind_cm = VARIANTS[variant]
        self._min_mm = int(self.min_cm * 10)
        self._max_mm = int(self.max_cm * 10)
        self._blind_mm = int(self.blind_cm * 10)
        self.temp_c = temp_c
        self.fault = None
        self.distance_mm = -1  # -1: nothing in range
        self.trace = None  # (array of t_ms, array of mm with -1 = no echo)
        self.trace_start_ms = 0
        self._trace_i = 0
        self.rise_us = -1
        self.fall_us = -1
        self._trig_high_at = None
        self.pings = 0
        self._cached_mm = -1
        self._cached_temp = None
        self._cached_width = 0
        self.trig = board.pin(trig)
        self.echo = board.pin(echo)
        self.trig.watchers.append(self._on_trig)
        self.trig.logged = False
        self.echo.source = self
        board.attach(name, self)

    # -- inputs from the scenario -------------------------------------------------------------
    def set_distance(self, cm):
        self.trace = None
        self.distance_mm = -1 if cm is None else int(cm * 10 + 0.5)

    def distance_now(self):
        """Distance in mm the sensor sees now, -1 for nothing (before the trace starts too)."""
        if self.trace is None:
            return self.distance_mm
        t = clock.us // 1000 - self.trace_start_ms
        times, mms = self.trace
        n = len(times)
        i = self._trace_i
        if i >= n or times[i] > t:
            i = 0  # time went back (a reset re-reads from the start)
        while i + 1 < n and times[i + 1] <= t:
            i += 1
        self._trace_i = i
        if not n or times[i] > t:
            return -1
        return mms[i]

    # -- electrical behaviour -----------------------------------------------------------------
    def _on_trig(self, value):
        now = clock.us
        if value:
            self._trig_high_at = now
            return
        started = self._trig_high_at
        self._trig_high_at = None
        if started is None or now - started < 10:
            return  # datasheet: TRIG needs a 10 us high pulse
        if self.fault is not None or self.rise_us <= now < self.fall_us or now < self.rise_us:
            return  # a cycle is running: the module ignores the trigger
        mm = self.distance_now()
        if mm < self._blind_mm or mm > self._max_mm:
            mm = -1
        if mm < 0:
            width = NO_ECHO_US
        elif mm == self._cached_mm and self.temp_c == self._cached_temp:
            width = self._cached_width  # same distance as last time: no float maths, no allocation
        else:
            d = mm if mm >= self._min_mm else self._min_mm
            # round trip 2 * d / c, d in mm, c in mm/s (from the air temperature) -> us
            c_mm_s = 331300 + 606 * int(self.temp_c * 1000) // 1000
            width = d * 2000000 // c_mm_s
            self._cached_mm = mm
            self._cached_temp = self.temp_c
            self._cached_width = width
        self.rise_us = now + ECHO_DELAY_US
        self.fall_us = self.rise_us + width
        self.pings += 1
        if self.board.log_pings:
            self.board.emit(self.name, "ping", "cm", None if mm < 0 else mm / 10)

    def level(self, gpio):
        if self.fault == "unplugged":
            return 0
        if self.fault == "stuck_high":
            return 1
        return 1 if self.rise_us <= clock.us < self.fall_us else 0

    def next_change(self, gpio):
        if self.fault is not None:
            return None
        now = clock.us
        if now < self.rise_us:
            return self.rise_us
        if now < self.fall_us:
            return self.fall_us
        return None
