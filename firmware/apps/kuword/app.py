"""Kuword, the keypad lock: keypad -> code entry -> PIN store -> lock, with LCD and buzzer.

Wiring (roles in boards/<board>.json): keypad_row1..4 (outputs), keypad_col1..4 (inputs with
pull-ups; never GPIO34-39 on an ESP32, they have none), relay (a relay module or logic-level
MOSFET driving the solenoid; fail-secure: not driven = locked, so give the driver input a
10 kOhm pull-down: the pin floats while the ESP32 resets), buzzer (piezo), lcd_sda/lcd_scl (a
16x2 LCD with a PCF8574 backpack), optional door_contact (reed switch to GND, closed = door
shut), tamper (switch to GND, closed = case shut) and battery (through a divider).

Fail-secure: the relay is switched to "locked" before anything else, stays locked while the
PIN store cannot be read, and is switched back to locked when the app ends for any reason
(an exception, a cancelled task); after a reset or a watchdog reset the board boots locked.

Tasks (asyncio): ``flow`` reads keys and runs the dialogues (code check, master menu, first
setup); ``watch`` every 100 ms relocks on time, follows the door and tamper switches, reads the
battery, keeps the LCD alive and feeds the watchdog. A PIN check (~0.3 s of PBKDF2 on an
ESP32) runs in slices, so neither task waits on it.

Files on the flash: kuword_pins.json (hashes only, pinstore.py), kuword_state.json (wrong codes
in a row, written before a result is shown), audit.csv and audit.csv.1 (who, when, result; no
PIN ever): ``mpremote cat :audit.csv`` or ``kampung audit``.
"""

import asyncio
import time

from apps.kuword import entry, logic, texts
from apps.kuword.pinstore import GUESTS, USERS, PinStore, StoreError
from drivers.hd44780 import LCD
from drivers.keypad import Keypad
from kit import feedback, log, store

PINS = "kuword_pins.json"
STATE = "kuword_state.json"
AUDIT = "audit.csv"
AUDIT_BYTES = 4096  # per file; two files kept (about 2 x 130 records)
POLL_MS = 10  # keypad scan period; the driver debounces over several scans
WATCH_MS = 100
NOTE_MS = 2500  # how long a result ("Kode salah", "Tersimpan") stays on the screen
CLOCK_SET = 631152000  # 2020-01-01 in the ESP32's seconds since 2000: earlier = clock never set
LCD_RETRY_MS = 5000
WAITING = ("ready", "setup")  # prompts that wait for as long as it takes (no idle timeout)
PLAIN = ("menu", "which", "hours")  # prompts whose answer is not a secret: shown as typed
ALARM_LOG_S = 60
ALARMS = "alarms.csv"  # duress and lock-disabling events, in a file nobody can flush from outside

# One-shot tones (on, ms, Hz) and the alarm loop
TONE_DENIED = ((1, 600, 700), (0, 1, 0))
TONE_LOCKOUT = ((1, 200, 700), (0, 100, 0), (1, 200, 700), (0, 100, 0), (1, 200, 700), (0, 1, 0))
TONE_WARN = ((1, 80, 2700), (0, 80, 0), (1, 80, 2700), (0, 1, 0))
ALARM = ((1, 250, 3000), (0, 250, 0))
SILENT = ((0, 0, 0),)


class Kuword:
    def __init__(self, hal, settings):
        s = settings
        self.s = s
        self.lang = s["lang"]
        # locked before anything else can fail
        self.active = s["relay_active"]  # -1: unknown (config unreadable): never driven
        self.relay = hal.output("relay", 1 - self.active) if self.active >= 0 else hal.input("relay")
        self.keypad = Keypad([hal.output("keypad_row%d" % i, 1) for i in (1, 2, 3, 4)],
                             [hal.input("keypad_col%d" % i, "up") for i in (1, 2, 3, 4)])
        self.entry = entry.KeyCollector(s["min_len"], s["max_len"], s["entry_timeout_s"] * 1000, time.ticks_diff)
        self.player = feedback.Player(feedback.Outputs(hal.pwm("buzzer", s["buzzer_hz"]), None, feedback.BUZZER))
        hz = s["buzzer_hz"]
        self.tone_key = ((1, 30, hz), (0, 1, 0))
        self.tone_granted = ((1, 120, hz * 3 // 4), (0, 60, 0), (1, 250, hz), (0, 1, 0))
        self.i2c = hal.i2c("lcd")
        self.lcd = None
        self.lcd_lines = None
        self.lcd_retry = time.ticks_ms()  # when to try a missing or failed LCD again
        self.lcd_init = self.lcd_retry  # when it was last (re)initialised
        # a switch the board map wires but the installer did not fit would read "open" for ever
        fitted = hal.has("door_contact") and s["door_contact"]
        self.door = hal.input("door_contact", "up") if fitted else None
        self.tamper = hal.input("tamper", "up") if hal.has("tamper") and s["tamper"] else None
        self.battery = hal.adc("battery") if hal.has("battery") else None
        self.pins = PinStore(PINS, s["iterations"])
        self.lockout = logic.Lockout(s["fail_limit"], s["lockout_s"], s["lockout_cap_s"])
        self.lock = logic.Lock(s["unlock_s"] * 1000, s["door_ajar_s"] * 1000, time.ticks_diff)
        self.batt = logic.Battery(int(s["battery_low_v"] * 1000), int(s["battery_critical_v"] * 1000))
        self.locked_until = None  # ticks_ms when a keypad lockout ends
        self.prompt = ("ready",)
        self.printed = None  # the last screen printed on the console (view()'s key)
        self.note = None
        self.note_until = 0
        self.alarms = 0  # bit 1: door ajar, bit 2: tamper, bit 4: door forced
        self.forced_until = 0
        self.alarm_log = {}  # result -> [time.time() of the last record, records skipped since]
        self.shown_left = -1  # the lockout seconds on the screen
        self.door_closed = self.door is None or self.door.value() == 0  # as it is at boot
        self.tampered = False
        self.tasks = []
        self.watchdog = None

    # -- outputs ----------------------------------------------------------------------------
    def set_relay(self, unlocked):
        if self.active >= 0:
            self.relay.value(self.active if unlocked else 1 - self.active)

    def relock(self):
        self.lock.relock()
        self.set_relay(False)
        if self.alarms & 1:
            self.alarm(1, False)

    def tone(self, pattern):
        if not self.alarms:
            self.player.play_once(pattern)

    def screen(self, *what):
        """The dialogue's prompt: ("ready",), ("menu",), ..."""
        self.prompt = what
        self.render()

    def say(self, *what):
        """A result shown for NOTE_MS, then the prompt again."""
        self.note = what
        self.note_until = time.ticks_add(time.ticks_ms(), NOTE_MS)
        self.render()

    def view(self):
        """(what the screen is showing, its two lines). The first is None while a code is
        being typed and changes with each new screen, not with each key or countdown second."""
        if self.alarms & 4:
            return "forced", texts.screen(self.lang, "forced")
        if self.alarms & 2:
            return "tamper", texts.screen(self.lang, "tamper")
        if self.alarms & 1:
            return "ajar", texts.screen(self.lang, "ajar")
        if self.note is not None:
            return ("note", self.note_until), texts.screen(self.lang, *self.note)
        if self.locked_until is not None:
            left = max(0, time.ticks_diff(self.locked_until, time.ticks_ms()) + 999) // 1000
            return "lockout", texts.screen(self.lang, "lockout", left)
        if self.entry.length():
            one, _ = texts.screen(self.lang, *self.prompt)
            plain = self.prompt[0] in PLAIN and self.entry.length() <= self.entry.max_len
            # longer than the answer can be: somebody typed a code by mistake, so it is masked
            shown = self.entry.typed() if plain else self.entry.masked()
            return None, (one if self.prompt[0] != "ready" else texts.screen(self.lang, "entry", "")[0], shown)
        if self.prompt[0] == "ready" and self.batt.level:
            return ("battery", self.batt.level), texts.screen(
                self.lang, "batt_low" if self.batt.level == logic.BATT_LOW else "batt_critical")
        return self.prompt, texts.screen(self.lang, *self.prompt)

    def lines(self):
        return self.view()[1]

    def render(self):
        """Show the current screen; each new screen is also printed on the console (what
        `kampung deploy` and the simulator show), never what is typed."""
        key, lines = self.view()
        if key is not None and key != self.printed:
            self.printed = key
            log.info("LCD: %s | %s" % lines)
        if lines == self.lcd_lines and self.lcd is not None:
            return
        self.lcd_lines = lines
        if self.lcd is None:
            return
        try:
            self.lcd.show(lines[0], lines[1])
        except OSError as e:
            self.lcd_failed(e)

    def lcd_failed(self, e):
        log.info("LCD: I2C error %s (errno), trying again in %d s" % (e.args[0] if e.args else e, LCD_RETRY_MS // 1000))
        self.lcd = None  # the watch task tries again in LCD_RETRY_MS
        self.lcd_retry = time.ticks_add(time.ticks_ms(), LCD_RETRY_MS)

    def lcd_service(self, now):
        """(Re)start the LCD LCD_RETRY_MS after an I2C error, and re-initialise it every
        ``lcd_refresh_s`` so that a screen garbled by a glitch on the wires recovers."""
        every = self.s["lcd_refresh_s"] * 1000
        if self.lcd is None:
            if time.ticks_diff(now, self.lcd_retry) < 0:
                return
        elif not every or time.ticks_diff(now, self.lcd_init) < every:
            return
        try:
            if self.lcd is None:
                self.lcd = LCD(self.i2c)
            else:
                self.lcd.reinit()
            self.lcd_init = now
            lines = self.lines()
            self.lcd_lines = lines
            self.lcd.show(lines[0], lines[1])
        except OSError as e:
            self.lcd_failed(e)

    # -- records -----------------------------------------------------------------------------
    def audit(self, who, result, keep=False):
        """One line of the audit log: epoch s, uptime ms, who (slot or "unknown"), result. With
        ``keep`` also in the alarm log (alarms.csv), which only events nobody can repeat at will
        reach (duress, a damaged store, a config error), so a flood of door records can never
        rotate them away. A flash error is printed; it never stops the lock."""
        line = "%d,%d,%s,%s" % (time.time(), time.ticks_ms(), who, result)
        for path in (AUDIT, ALARMS) if keep else (AUDIT,):
            try:
                store.append_line(path, line, AUDIT_BYTES)
            except (OSError, MemoryError) as e:
                log.info("ERROR: %s: %s" % (path, e))

    def audit_alarm(self, result):
        """Alarms that a person can repeat at will (a door, a tamper switch) are recorded at
        most once a minute each, with the count of the ones skipped, so nobody can flush the
        audit log (and a duress record with it) by opening a door a few hundred times."""
        now = time.time()  # seconds: ticks would wrap after 6 days and hide events for days
        last = self.alarm_log.get(result)
        if last is not None and 0 <= now - last[0] < ALARM_LOG_S:
            last[1] += 1
            return
        skipped = last[1] if last is not None else 0
        self.alarm_log[result] = [now, 0]
        self.audit("unknown", result + (" (+%d)" % skipped if skipped else ""))

    def save_fails(self, checking=False):
        """The failure count; ``checking`` marks a check under way, so that a power cut before
        its result still leaves a line in the audit log at the next boot."""
        state = {"fails": self.lockout.fails}
        if checking:
            state["checking"] = 1
        store.write_json(STATE, state)

    def load_fails(self):
        cut = False
        try:
            state = store.read_json(STATE, {"fails": 0})
            fails = state["fails"]
            if not isinstance(fails, int) or fails < 0:
                raise ValueError("%s: 'fails' is %r" % (STATE, fails))
            cut = bool(state.get("checking"))  # state is a dict: state["fails"] worked
        except (ValueError, KeyError, TypeError) as e:
            # cannot tell how many wrong codes were tried: assume a lockout (fail-secure)
            log.info("ERROR: %s; keypad locked out" % e)
            fails = self.lockout.limit
        self.lockout.fails = fails
        if cut:  # counted as a wrong code when it began; its answer was never given
            self.audit("unknown", "unanswered (power cut during the check)")
            self.save_fails()
        wait = self.lockout.wait_s()
        if wait:  # a power cut does not shorten a lockout: it starts again in full
            self.locked_until = time.ticks_add(time.ticks_ms(), wait * 1000)
            self.audit("unknown", "lockout %ds at boot" % wait)
            log.info("keypad locked out for %d s after %d wrong codes (at boot)" % (wait, fails))

    # -- input -------------------------------------------------------------------------------
    async def next_entry(self, min_len=None, max_len=None):
        """The next finished entry from the keypad, an event of apps/kuword/entry.py: (CODE,
        digits), (LONG, digits), (SHORT, n), (CANCEL, 0), (FUNCTION, "A".."D"), (TIMEOUT, n).
        Keys typed during a lockout are dropped."""
        self.entry.clear()
        if min_len is None:
            min_len, max_len = self.code_lengths()
        self.entry.set_lengths(min_len, max_len)
        last = time.ticks_ms()
        idle_ms = self.s["entry_timeout_s"] * 1000
        while True:
            await asyncio.sleep_ms(POLL_MS)
            now = time.ticks_ms()
            key = self.keypad.poll(now)
            if self.locked_until is not None:
                last = now
                continue
            if key is not None:
                last = now
            if key is None:
                event = self.entry.tick(now)
                if event is None and self.prompt[0] not in WAITING and time.ticks_diff(now, last) >= idle_ms:
                    event = (entry.TIMEOUT, 0)  # a menu prompt left alone goes back to "ready"
            else:
                self.tone(self.tone_key)
                event = self.entry.feed(key, now)
                self.note = None
                self.render()
            if event is not None:
                self.render()
                return event

    def code_lengths(self):
        """Entry lengths that reach every stored code: min_len/max_len apply to new codes, so a
        changed setting never locks out a code made before it."""
        lengths = self.pins.lengths()
        return min([self.s["min_len"]] + lengths), max([self.s["max_len"]] + lengths)

    async def ask(self, prompt, min_len, max_len, *args):
        """Show ``prompt`` and return the digits entered, or None (cancelled or timed out)."""
        self.screen(prompt, *args)
        while True:
            event = await self.next_entry(min_len, max_len)
            if event[0] == entry.CODE:
                return event[1]
            if event[0] in (entry.SHORT, entry.LONG):
                self.say("too_short" if event[0] == entry.SHORT else "too_long")
                continue
            if event[0] in (entry.CANCEL, entry.TIMEOUT):
                self.say("cancelled")
                return None

    # -- dialogues ---------------------------------------------------------------------------
    async def check(self, digits, only=None):
        """Is ``digits`` (or, with anti-peep, a code inside it) a valid code? Returns the slot or
        None. The failure is counted on flash before any result is shown or the door opens.
        With ``only`` (the master prompt: "m") any other slot counts as a wrong code."""
        codes = logic.candidates(digits, self.pins.lengths(), self.s["peep_extra"])
        if codes is None:
            self.say("too_long")
            return None
        self.lockout.fails += 1
        self.save_fails(checking=True)
        self.screen("checking")
        slot = None
        now_s = time.time()
        for code in codes:
            slot = self.pins.match(await self.pins.derive(code), now_s)
            if slot is not None and slot != "expired":
                break
        if slot == "d" and only is not None:
            self.duress()  # typed at the master prompt: no menu, but the alarm all the same
        if slot is None or slot == "expired" or (only is not None and slot != only):
            self.denied("expired" if slot == "expired" else None)
            return None
        self.lockout.fails = 0
        self.save_fails()
        return slot

    def denied(self, why):
        self.audit("unknown", "expired" if why == "expired" else "denied")
        # the check is over. In this order a power cut between the two writes logs this code
        # twice (denied, then unanswered at the boot), never not at all
        self.save_fails()
        wait = self.lockout.wait_s()
        if wait:
            self.locked_until = time.ticks_add(time.ticks_ms(), wait * 1000)
            self.audit("unknown", "lockout %ds" % wait)
            log.info("keypad locked out for %d s after %d wrong codes" % (wait, self.lockout.fails))
            self.note = None
            self.tone(TONE_LOCKOUT)
        elif why == "expired":
            self.say("expired")
            self.tone(TONE_DENIED)
        else:
            self.say("wrong", self.lockout.left())
            self.tone(TONE_DENIED)
        self.screen("ready")

    def grant(self, slot):
        if slot[0] == "g":  # a guest code works once
            self.pins.remove(slot)
            self.pins.save()
        if self.alarms & 4:
            self.alarm(4, False)  # a valid code silences the forced-door alarm
        self.set_relay(True)  # first the door, then the records
        if slot == "d":
            self.duress()  # opens exactly as a normal code would; the alarm is silent
        else:
            self.audit(self.who(slot), "granted")
        self.lock.unlock(time.ticks_ms(), door_open=not self.door_closed)
        self.tone(self.tone_granted)
        self.say("welcome", "")
        self.screen("ready")

    def purge_guests(self, boot=False):
        """Drop guest codes whose time is over; at boot also every timed guest code when the
        clock is not set (a power cut restarted it at 2000-01-01; without network time nobody
        can tell how long the code has left, so it ends: fail-secure). While the board runs,
        its clock counts on, so codes made since boot keep their hours even on an unset clock."""
        now_s = time.time()
        gone = []
        for slot in list(self.pins.codes):
            rec = self.pins.codes[slot]
            if slot[0] == "g" and rec[2] and ((boot and now_s < CLOCK_SET) or not logic.guest_valid(rec[2], rec[3], now_s)):
                self.pins.remove(slot)
                gone.append(slot)
        if gone:
            self.pins.save()
            for slot in gone:
                self.audit("system", "expired " + self.who(slot))

    def duress(self):
        """The silent alarm: the audit log, the alarm log and the console (MQTT once the
        network exists)."""
        log.info("ALARM: duress code used")
        self.audit("duress", "duress", keep=True)

    def who(self, slot):
        return {"m": "master", "d": "duress"}.get(slot) or ("user" if slot[0] == "u" else "guest") + slot[1:]

    async def setup(self):
        """First start (no PIN store): the master code is chosen on the keypad, twice."""
        self.pins.create()
        while not self.pins.has_master():
            await self.new_code("m", "setup")
        self.audit("master", "setup")
        self.screen("ready")

    async def new_code(self, slot, prompt="new_code", expires=0, made=0):
        """Ask for a new code twice and store it in ``slot``; False when cancelled or refused."""
        lo, hi = self.s["min_len"], self.s["max_len"]
        first = await self.ask(prompt, lo, hi, *(() if prompt == "setup" else (self.label(slot),)) + (lo, hi))
        if first is None:
            return False
        again = await self.ask("repeat", lo, hi)
        if again is None:
            return False
        if again != first:
            self.say("mismatch")
            return False
        self.screen("checking")
        key = await self.pins.derive(first)
        taken = self.pins.match(key, 0)
        if taken is not None and taken != slot:
            self.say("in_use")
            return False
        self.pins.put(slot, key, len(first), expires, made)
        self.pins.save()
        self.say("saved", self.label(slot))
        return True

    def label(self, slot):
        return slot.upper()  # M, D, U3, G1

    async def menu(self):
        """Master menu: 1 add user, 2 change a user's code, 3 remove a user, 4 guest code,
        5 duress code, 6 change the master code."""
        code = await self.ask("master", *self.code_lengths())
        if code is None:
            return
        if await self.check(code, only="m") != "m":
            return
        self.audit("master", "menu")
        self.purge_guests()  # frees the slots of guest codes whose time is over
        choice = await self.ask("menu", 1, 1)
        if choice == "1":
            slot = self.pins.free("u", USERS)
            if slot is None:
                self.say("full")
            elif await self.new_code(slot):
                self.audit("master", "add " + self.who(slot))
        elif choice in ("2", "3"):
            n = await self.ask("which", 1, 2)
            slot = "u%d" % int(n or "0")
            if n is None or not 1 <= int(n) <= USERS:
                self.say("cancelled")
            elif slot not in self.pins.codes:
                self.say("empty", self.label(slot))
            elif choice == "3":
                self.pins.remove(slot)
                self.pins.save()
                self.say("removed", self.label(slot))
                self.audit("master", "remove " + self.who(slot))
            elif await self.new_code(slot):
                self.audit("master", "change " + self.who(slot))
        elif choice == "4":
            hours = await self.ask("hours", 1, len(str(self.s["guest_max_h"])))  # <= 3 digits
            slot = self.pins.free("g", GUESTS)
            if hours is None or not 1 <= int(hours) <= self.s["guest_max_h"]:
                self.say("cancelled")
            elif slot is None:
                self.say("full")
            else:
                now_s = time.time()
                if await self.new_code(slot, expires=now_s + int(hours) * 3600, made=now_s):
                    self.audit("master", "add %s %dh" % (self.who(slot), int(hours)))
        elif choice in ("5", "6"):
            slot = "d" if choice == "5" else "m"
            if await self.new_code(slot):
                self.audit("master", "set " + self.who(slot))
        elif choice is not None:
            self.say("cancelled")

    async def flow(self):
        if self.active < 0:
            log.info("ERROR: relay_active unknown (config.json unreadable or invalid): the relay is "
                     "not driven, the lock stays locked; fix config.json and deploy again")
            self.audit("system", "config error", keep=True)
            self.screen("config_error")
            while True:
                await asyncio.sleep_ms(1000)
        try:
            missing = self.pins.load() == "missing"
        except StoreError as e:
            log.info("ERROR:", e)
            self.audit("system", "store damaged", keep=True)
            self.screen("store_error")
            while True:  # locked until someone repairs the store (docs/kuword.md)
                await asyncio.sleep_ms(1000)
        if missing:  # first start (a store without a master code is refused as damaged)
            await self.setup()
        self.purge_guests(boot=True)
        self.screen("ready")
        while True:
            event = await self.next_entry()
            if event[0] == entry.CODE or (event[0] == entry.LONG and self.s["peep_extra"]):
                slot = await self.check(event[1])
                if slot is not None:
                    self.grant(slot)
            elif event[0] == entry.FUNCTION and event[1] == "A":
                await self.menu()
                self.screen("ready")
            elif event[0] in (entry.SHORT, entry.LONG):
                self.say("too_short" if event[0] == entry.SHORT else "too_long")

    # -- the watch task ------------------------------------------------------------------------
    def switches(self, now):
        if self.door is not None:
            closed = self.door.value() == 0
            if closed != self.door_closed:
                self.door_closed = closed
                event = self.lock.door(closed, now)
                if event == "relock":
                    self.relock()
                elif event == "closed":
                    self.alarm(1, False)  # the door closed after the ajar alarm
                elif event == "forced":
                    # the inside handle of a mortise lock opens a locked door too: recorded
                    # always, the siren only where the door has no way out but the lock
                    self.audit_alarm("door opened while locked")
                    if self.s["forced_alarm_s"]:
                        log.info("ALARM: door opened while locked")
                        self.forced_until = time.ticks_add(now, self.s["forced_alarm_s"] * 1000)
                        self.alarm(4, True)
        if self.tamper is not None:
            opened = self.tamper.value() == 1
            if opened != self.tampered:
                self.tampered = opened
                self.alarm(2, opened)
                if opened:
                    self.audit_alarm("tamper")
                    log.info("ALARM: tamper switch open")

    def alarm(self, bit, on):
        before = self.alarms
        self.alarms = (self.alarms | bit) if on else (self.alarms & ~bit)
        if bool(before) != bool(self.alarms):
            self.player.set_loop(ALARM if self.alarms else SILENT, urgent=True)
        self.render()

    async def watch(self):
        every_batt = self.s["battery_every_s"] * 1000
        next_batt = time.ticks_ms()
        divider = self.s["battery_divider"]
        while True:
            await asyncio.sleep_ms(WATCH_MS)
            now = time.ticks_ms()
            self.switches(now)
            event = self.lock.tick(now)
            if event == "relock":
                self.relock()
            elif event == "ajar":
                self.set_relay(False)  # the alarm sounds until the door closes
                self.audit("unknown", "door ajar")
                log.info("ALARM: door open for %d s" % self.s["door_ajar_s"])
                self.alarm(1, True)
            if self.alarms & 4 and time.ticks_diff(now, self.forced_until) >= 0:
                self.alarm(4, False)
            due = False  # the screen changes only when a timer ran out or a countdown moved
            if self.locked_until is not None:
                left = time.ticks_diff(self.locked_until, now)
                if left <= 0:
                    self.locked_until = None  # back to the dialogue's own screen
                    due = True
                elif (left + 999) // 1000 != self.shown_left:
                    self.shown_left = (left + 999) // 1000
                    due = True
            if self.note is not None and time.ticks_diff(now, self.note_until) >= 0:
                self.note = None
                due = True
            if self.battery is not None and time.ticks_diff(now, next_batt) >= 0:
                next_batt = time.ticks_add(now, every_batt)
                level = self.batt.reading(int(self.battery.read_uv() * divider) // 1000)
                if level is not None:
                    due = True
                if level:
                    self.audit("system", "battery low" if level == logic.BATT_LOW else "battery critical")
                    self.tone(TONE_WARN)
            self.lcd_service(now)
            if due:
                self.render()
            if self.watchdog is not None:
                self.watchdog.feed()

    async def run(self):
        self.audit("system", "boot")  # power cuts and resets show in the log
        self.load_fails()
        self.lcd_service(time.ticks_ms())
        self.tasks = [asyncio.create_task(self.player.run()), asyncio.create_task(self.watch()),
                      asyncio.create_task(self.flow())]
        try:
            await asyncio.gather(*self.tasks)
        finally:
            self.deinit()

    def deinit(self):
        """Lock, silence and stop every task (also when run() ends by an exception)."""
        self.set_relay(False)
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        self.player.outputs.deinit()


def load_settings(values, source):
    """Validated settings from a config section; ConfigError names ``source`` and the field."""
    from apps.kuword import settings as lock_settings
    from kit import config

    return lock_settings.check(config.validate(lock_settings.SCHEMA, values, source), source)


def salvage(settings, section):
    """kit.boot calls this when config.json could not be used (``section`` None) or one of its
    fields was wrong, and ``settings`` are the defaults. The relay's polarity is wiring, not a
    preference: a default of 1 would hold an active-low relay module energised, the door open.
    Keep the section's value when it is valid; when it is invalid or the file unreadable, mark
    it unknown (-1): the relay pin is then never driven and the lock stays locked."""
    if section is None:  # config.json unreadable: nothing says how the relay is wired
        settings["relay_active"] = -1
        return settings
    if "relay_active" in section:  # another field was wrong; this one may still be right
        value = section["relay_active"]
        ok = type(value) is int and value in (0, 1)  # not True, not 0.0
        settings["relay_active"] = value if ok else -1
    return settings  # not set at all: the documented default (1), as with a valid config


def main(hal, settings):
    lock = Kuword(hal, settings)
    try:
        lock.watchdog = hal.watchdog(settings["watchdog_s"])
        log.info("kuword", "pin:" if settings["lang"] == "id" else "pins:", *hal.describe())
        s = settings
        log.info("pengaturan:" if s["lang"] == "id" else "settings:", "fail_limit", s["fail_limit"],
                 "lockout_s", s["lockout_s"], "cap", s["lockout_cap_s"], "unlock_s", s["unlock_s"],
                 "iterations", lock.pins.iterations)
        asyncio.run(lock.run())
    finally:
        lock.set_relay(False)
