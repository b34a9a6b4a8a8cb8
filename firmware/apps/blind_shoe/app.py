"""The shoe's tasks: measure, decide, sound; a button for settings; battery watch.

Wiring (roles in boards/<board>.json): sonar_trig, sonar_echo (5 V! divider), buzzer,
vibration (through a transistor), button (to GND), battery (optional, through a divider).

Tasks (asyncio): ``sense`` measures every ``period_ms`` and feeds the logic; ``player`` plays
the pattern for the state on exact deadlines; ``button`` samples every 20 ms; ``battery`` reads
every ``battery_every_s``. A measurement blocks for up to ~20 ms (time_pulse_us), so ``sense``
starts one only when no feedback edge is due within that time: measuring never shifts the rhythm.
"""

import asyncio
import time

from apps.blind_shoe import logic
from drivers.hcsr04 import HCSR04, HCSR04Error
from kit import feedback, i18n, log, store

PREFS = "shoe_prefs.json"  # range and mode chosen with the button survive a power cycle
MODE_BITS = {"buzzer": feedback.BUZZER, "vibration": feedback.VIBRATION, "both": feedback.BOTH}
BUTTON_MS = 20


class Shoe:
    def __init__(self, hal, settings):
        s = dict(settings)
        try:
            prefs = store.read_json(PREFS, {})
        except ValueError as e:  # a cut write or a bad flash sector: the defaults will do
            log.info(e)
            prefs = {}
        if isinstance(prefs, dict):
            r = prefs.get("range_index")
            if isinstance(r, int) and not isinstance(r, bool) and 0 <= r <= 2:
                s["range_index"] = r
            if prefs.get("mode") in MODE_BITS:
                s["mode"] = prefs["mode"]
        self.settings = s
        self.logic = logic.ShoeLogic(s, time.ticks_diff)
        self.sensor = HCSR04(hal.output("sonar_trig"), hal.input("sonar_echo"),
                             max_mm=self._range_mm(s), temp_c=s["air_temp_c"],
                             variant=s["sensor"], min_interval_ms=s["period_ms"])
        buzzer = hal.pwm("buzzer", s["buzzer_hz"])
        vibration = hal.pwm("vibration", 200)  # ERM motors: 200 Hz is smooth and quiet
        self.outputs = feedback.Outputs(buzzer, vibration, MODE_BITS[s["mode"]],
                                        s["vibration_percent"] * 65535 // 100)
        self.player = feedback.Player(self.outputs)
        self.button = hal.input("button", "up")
        self.buttons = logic.Button(s["long_press_ms"], time.ticks_diff)
        self.battery = hal.adc("battery") if hal.has("battery") else None
        self.battery_logic = logic.Battery(int(s["battery_low_v"] * 1000))
        self.was_fault = False
        self.tasks = []
        self.pending = None  # a confirmation waiting for a clear path
        self.watchdog = None

    def _range_mm(self, s):
        """How far the sensor listens: 10 cm past the outer zone edge of the current range (the
        echo wait grows with it). A JSN-SR04T listens at least 3 m out, so that an echo from
        the open street can end a blind-zone hold."""
        top = int(s["zones_cm"][3] * 10 * s["range_steps"][s["range_index"]]) + 100
        if s["sensor"] == "jsn_sr04t":
            return min(max(top, 3000), 6000)
        return min(max(top, 400), 4000)

    # -- one measurement cycle (no allocation in the steady state) ------------------------------
    def measure_once(self):
        now = time.ticks_ms()
        try:
            mm = self.sensor.measure()
        except HCSR04Error:
            changed = self.logic.fault(now)
        else:
            changed = self.logic.reading(now, mm)
        if changed:
            # a warning (any zone or a fault) never waits behind a confirmation beep
            self.player.set_loop(self.logic.program(), urgent=self.logic.state != logic.CLEAR)
            if self.logic.state == logic.CLEAR and self.pending is not None:
                self.player.play_once(self.pending)
                self.pending = None
            if self.logic.state == logic.FAULT:
                log.info(self.say("sensor_fault"))
            elif self.was_fault:
                log.info(self.say("sensor_ok"))
            self.was_fault = self.logic.state == logic.FAULT
        return changed

    async def sense(self):
        while True:
            wait = self.sensor.wait_ms()
            edge = self.player.next_edge_ms
            if edge is not None:
                to_edge = time.ticks_diff(edge, time.ticks_ms())
                # a measurement blocks for at most the echo wait (+2 ms for the trigger)
                if 0 <= to_edge < self.sensor.timeout_us // 1000 + 2 and wait < to_edge + 1:
                    wait = to_edge + 1  # let the edge happen first
            if wait:
                await asyncio.sleep_ms(wait)
                self.player.tick(time.ticks_ms())
                continue
            self.measure_once()
            if self.watchdog is not None:
                self.watchdog.feed()  # only a running measurement loop keeps the board alive
            # start to start every period_ms, however long the echo took
            await asyncio.sleep_ms(max(1, self.sensor.wait_ms()))

    async def watch_button(self):
        modes = logic.MODES
        while True:
            await asyncio.sleep_ms(BUTTON_MS)
            event = self.buttons.sample(time.ticks_ms(), self.button.value())
            if event == "short":
                self.confirm(self.logic.next_range())
                self.settings["range_index"] = self.logic.range_index
                self.sensor.set_range(self._range_mm(self.settings))
                log.info(self.say("range", self.logic.max_mm // 10))
                self.save_prefs()
            elif event == "long":
                mode = modes[(modes.index(self.settings["mode"]) + 1) % 3]
                self.settings["mode"] = mode
                self.outputs.mode = MODE_BITS[mode]
                self.outputs.refresh()
                self.confirm(self.logic.mode_confirm)
                log.info(self.say("mode", self.say(mode)))
                self.save_prefs()

    def confirm(self, pattern):
        """Confirm a button action by sound, but never over a warning: while an obstacle or a
        fault is being signalled, the latest confirmation waits for a clear path."""
        if self.logic.state != logic.CLEAR:
            self.pending = pattern
        elif len(self.player.once) > 1:
            self.player.once[-1] = pattern  # rapid presses: only the latest waits its turn
        else:
            self.player.play_once(pattern)

    def say(self, key, *args):
        return i18n.text(self.settings["lang"], key, *args)

    def save_prefs(self):
        s = self.settings
        store.write_json(PREFS, {"range_index": s["range_index"], "mode": s["mode"]})

    async def watch_battery(self):
        adc = self.battery
        if adc is None:
            return
        divider = self.settings["battery_divider"]
        every = self.settings["battery_every_s"] * 1000
        low_every = 0
        while True:
            mv = int(adc.read_uv() * divider) // 1000
            if self.battery_logic.reading(mv):
                log.info(self.say("battery_low", mv))
            if self.battery_logic.low and self.logic.state == logic.CLEAR:
                # reminders only on a clear path: they must never cover an obstacle warning
                if low_every <= 0:
                    self.player.play_once(self.logic.battery_low)
                    low_every = 60000  # remind once a minute
                low_every -= every
            await asyncio.sleep_ms(every)

    async def run(self):
        self.player.play_once(self.logic.ready)
        tasks: list = [asyncio.create_task(self.player.run()), asyncio.create_task(self.sense()),
                       asyncio.create_task(self.watch_button())]
        if self.battery is not None:
            tasks.append(asyncio.create_task(self.watch_battery()))
        self.tasks = tasks
        try:
            await asyncio.gather(*tasks)
        finally:
            self.deinit()

    def deinit(self):
        """Stop every task and silence the outputs (also when run() is cancelled)."""
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        self.outputs.deinit()


def load_settings(values, source):
    """Validated settings from a config section; ConfigError names ``source`` and the field.

    The schema and validator are imported here, not at the top: kit.boot drops them once the
    settings are loaded, which gives their RAM back to the running shoe."""
    from apps.blind_shoe import settings as shoe_settings
    from kit import config

    return shoe_settings.check(config.validate(shoe_settings.SCHEMA, values, source), source)


def main(hal, settings):
    shoe = Shoe(hal, settings)
    shoe.watchdog = hal.watchdog(settings["watchdog_s"])
    s = shoe.settings
    log.info("sepatu tunanetra", shoe.say("pins"), *hal.describe())
    log.info(shoe.say("settings"), "zones_cm", s["zones_cm"], shoe.say("range", shoe.logic.max_mm // 10),
             shoe.say("mode", shoe.say(s["mode"])), "sensor", s["sensor"])
    asyncio.run(shoe.run())
