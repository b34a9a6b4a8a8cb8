"""The shoe's decisions, free of hardware and clocks: readings and button samples in,
feedback patterns out. Times are ticks passed in as ``now``; ``diff`` is ``time.ticks_diff``
(injected so tests can use any tick period).

Readings go through a median-of-3 filter. A single spike or a single dropout never changes the
zone; a real change is confirmed by the second reading that agrees, so the filter's latency
budget is one measurement period (60 ms by default) on top of the reading itself.
"""

FAR = 1000000  # "no echo" in the filter: further than anything (mm)
BLOCKED_MM = 30  # a reading this close for BLOCKED_MS means the sensor is covered (mud, a hand)
BLOCKED_MS = 5000
# JSN-SR04T: an object inside the ~20 cm blind zone gives no echo at all. After a reading within
# BLIND_MARGIN_MM of the blind zone, "no echo" means "still right in front", not "clear": the
# closest-zone warning holds while the silence lasts, and after BLIND_HOLD_MS turns into the
# fault pattern (blocked or very close: still a warning, never silence). Any echo from further
# than the margin ends it.
BLIND_MARGIN_MM = 450  # 3 m/s running covers 18 cm a cycle: two lost echoes still arm the hold
BLIND_HOLD_MS = 10000
CLEAR_AFTER = 5  # no-echo readings in a row before the path counts as clear (about 0.3 s)

# States besides the zone numbers 0..3 (0 = closest)
CLEAR = 4
FAULT = 5

# Steps: (on, ms, freq_hz); ms 0 = hold. Frequencies below the zone tone mark other messages.
TONE_FAULT = 800
TONE_INFO = 2000


def _pulse(on_ms, period_ms, hz):
    if period_ms == 0:
        return ((1, 0, hz),)
    return ((1, on_ms, hz), (0, period_ms - on_ms, 0))


class ShoeLogic:
    def __init__(self, settings, diff):
        self.s = settings
        self.diff = diff
        self.ranges = settings["range_steps"]
        self.range_index = settings["range_index"]
        self.fault_after = settings["fault_after"]
        self.blind_mm = 200 if settings["sensor"] == "jsn_sr04t" else 0
        hz = settings["buzzer_hz"]
        pulse = settings["pulse_ms"]
        periods = settings["zone_period_ms"]
        self.programs: list = [_pulse(pulse, periods[i], hz) for i in range(4)]
        self.programs.append(((0, 0, 0),))  # CLEAR: silent
        self.programs.append(((1, 400, TONE_FAULT), (0, 200, 0), (1, 400, TONE_FAULT), (0, 2000, 0)))
        self.ready = ((1, 80, 1500), (0, 60, 0), (1, 80, 2000), (0, 60, 0), (1, 150, hz), (0, 300, 0))
        self.battery_low = ((1, 100, TONE_FAULT), (0, 100, 0)) * 3 + ((0, 400, 0),)
        self.range_confirm = [((1, 100, TONE_INFO), (0, 150, 0)) * (i + 1) + ((0, 300, 0),) for i in range(3)]
        self.mode_confirm = ((1, 500, TONE_INFO), (0, 300, 0))
        self._set_edges()
        self.window = [FAR, FAR, FAR]
        self.faults = 0
        self.fault_total = 0
        self.state = CLEAR
        self.near_blind = False  # JSN-SR04T: the last echo came from the edge of the blind zone
        self.silent_since = None
        self.silent = 0  # no-echo readings in a row
        self.blocked_since = None

    def _set_edges(self):
        step = self.ranges[self.range_index]
        self.edges = [int(z * 10 * step) for z in self.s["zones_cm"]]
        self.max_mm = self.edges[3]

    def program(self):
        return self.programs[self.state]

    # -- readings ---------------------------------------------------------------------------
    def reading(self, now, mm):
        """One measurement (int mm or None = no echo). Returns True when the state changed.

        Echoes go through a median of the last three echoes: one spike never moves the zone,
        two agreeing echoes do. "No echo" is not an echo from far away: it only means a clear
        path after CLEAR_AFTER of them in a row, so lost echoes (cheap sensors lose one in four
        near soft objects) never break a warning.
        """
        self.faults = 0
        if mm is None:
            self.silent += 1
            if self.blind_mm and self.near_blind:
                # JSN-SR04T: the last echo came from near the blind zone, so silence most
                # likely means "right in front". Hold the closest zone; after BLIND_HOLD_MS
                # play the fault pattern (can't tell), never silence.
                if self.silent_since is None:
                    self.silent_since = now
                if self.diff(now, self.silent_since) >= BLIND_HOLD_MS:
                    return self._set_state(FAULT)
                return self._set_state(0)
            if self.silent < CLEAR_AFTER:
                return False
            w = self.window
            w[0] = w[1] = w[2] = FAR
            self.blocked_since = None
            return self._set_state(CLEAR)
        self.silent = 0
        self.silent_since = None
        if self.blind_mm:
            self.near_blind = mm <= self.blind_mm + BLIND_MARGIN_MM
        w = self.window
        w[0] = w[1]
        w[1] = w[2]
        w[2] = mm
        a, b, c = w[0], w[1], w[2]
        if a > b:
            med = b if b > c else (c if a > c else a)
        else:
            med = a if a > c else (c if b > c else b)
        if med == FAR:
            return False  # one echo after silence: wait for a second to agree
        if med <= BLOCKED_MM:
            if self.blocked_since is None:
                self.blocked_since = now
            elif self.diff(now, self.blocked_since) >= BLOCKED_MS:
                return self._set_state(FAULT)  # covered or blocked: same pattern as a fault
        else:
            self.blocked_since = None
        return self._set_state(self.zone_of(med))

    def fault(self, now):
        """The sensor gave no usable answer. After ``fault_after`` in a row: FAULT."""
        self.faults += 1
        self.fault_total += 1
        if self.faults >= self.fault_after:
            self.window[0] = self.window[1] = self.window[2] = FAR
            return self._set_state(FAULT)
        return False

    def zone_of(self, mm):
        e = self.edges
        # Hysteresis: leaving a closer zone needs a reading past its edge by 3 cm or 5 %
        # (HC-SR04 readings wander by a few cm on rough surfaces), so an edge never flutters.
        for i in range(4):
            edge = e[i]
            if self.state <= i:
                edge += max(30, edge // 20)
            if mm < edge:
                return i
        return CLEAR

    def _set_state(self, state):
        if state == self.state:
            return False
        self.state = state
        return True

    # -- button -----------------------------------------------------------------------------
    def next_range(self):
        self.range_index = (self.range_index + 1) % len(self.ranges)
        self._set_edges()
        return self.range_confirm[self.range_index]


MODES = ("buzzer", "vibration", "both")


class Button:
    """Debounced push button (active low) sampled every ``period`` ms.

    ``sample(now, level)`` returns "short" on the release of a short press, "long" as soon as
    a press has lasted ``long_ms`` (nothing more on its release), else None. A level must be
    seen on two consecutive samples to count (contact bounce lasts a few ms; samples are 20 ms
    apart).
    """

    def __init__(self, long_ms, diff):
        self.long_ms = long_ms
        self.diff = diff
        self.stable = 1
        self.candidate = 1
        self.pressed_at = None
        self.long_sent = False

    def sample(self, now, level):
        if level != self.candidate:
            self.candidate = level
            return None
        if level != self.stable:
            self.stable = level
            if level == 0:
                self.pressed_at = now
                self.long_sent = False
                return None
            was_long = self.long_sent
            self.pressed_at = None
            return None if was_long else "short"
        if level == 0 and self.pressed_at is not None and not self.long_sent:
            if self.diff(now, self.pressed_at) >= self.long_ms:
                self.long_sent = True
                return "long"
        return None


class Battery:
    """Low-battery detection with hysteresis: low after 3 low reads, clear 0.1 V above."""

    def __init__(self, low_mv):
        self.low_mv = low_mv
        self.count = 0
        self.low = False

    def reading(self, mv):
        """Returns True when the battery has just become low."""
        if mv < self.low_mv:
            self.count += 1
            if self.count >= 3 and not self.low:
                self.low = True
                return True
        elif mv > self.low_mv + 100:
            self.count = 0
            self.low = False
        return False
