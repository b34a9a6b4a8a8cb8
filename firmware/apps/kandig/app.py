"""Kandig, the digital kentongan: a press sounds the siren here at once and in every house of
the RT through the neighbourhood broker (docs/kandig-protocol.md, docs/kandig.md).

Wiring (board map roles): alarm_button and cancel_button (to GND, internal pull-ups), siren (a
relay or logic MOSFET for a 12 V siren; a piezo alone is too quiet to wake a house), buzzer
(piezo, the same rhythm quietly), led, optional lcd_sda/lcd_scl (16x2 with a PCF8574).

Tasks: ``buttons`` samples every 10 ms and sounds the siren before anything touches the
network or the flash; ``player`` beats the rhythm; ``network`` keeps Wi-Fi and the MQTT
connection up with backoff; ``listen`` acts on alerts, cancels, acks and hub commands;
``outbox`` sends what waits on flash and drops it when the broker acknowledged it; ``watch``
ends sirens, sends heartbeats, feeds the watchdog and keeps the LCD current. ``watch`` sleeps
until its next duty (a siren's end, a heartbeat, feeding the watchdog; IDLE_MS at most) and is
poked when an alert goes out, so an idle unit wakes a few times a second in all, not ten times
a second for ``watch`` alone, and a received alert does not wake it.
"""

import asyncio
import json
import time

from apps.kandig import logic, texts
from kit import feedback, log, store
from kit.mqtt import MQTTClient, MQTTError
from kit.net import WiFi

OUTBOX = "kandig_outbox.json"  # {"seq": last alert seq, "items": [[topic, payload], ...]}
POLL_MS = 10
DRILL_S = 5
SENDING_MS = 100  # while the broker has not acknowledged an alert, the outbox is checked this often
# watch's longest sleep: at most the shortest siren (5 s: siren_s, own_siren_s and a drill), so it
# wakes before any siren that started meanwhile must end, and then sleeps exactly until then
IDLE_MS = 2500
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0  # the ESP32 counts from 2000


def unix_time():
    """Unix seconds, or 0 while the clock is not set (before 2024: never synced)."""
    t = time.time() + _EPOCH
    return t if t > 1704067200 else 0


class SirenOutputs:
    """kit.feedback's outputs for an alarm: the siren relay, the buzzer and the LED together."""

    def __init__(self, siren, buzzer, led, active):
        self.siren = siren
        self.buzzer = buzzer
        self.led = led
        self.active = active
        self._on = -1
        self._freq = -1

    def set(self, on, freq):
        if on == self._on and freq == self._freq:
            return
        self._on = on
        self._freq = freq
        self.siren.value(self.active if on else 1 - self.active)
        if self.led is not None:
            self.led.value(1 if on else 0)
        if self.buzzer is not None:
            if on:
                self.buzzer.freq(freq)
                self.buzzer.duty_u16(32768)
            else:
                self.buzzer.duty_u16(0)

    def off(self):
        self.set(0, 0)

    def deinit(self):
        self.off()
        if self.buzzer is not None:
            self.buzzer.deinit()


class Kandig:
    def __init__(self, hal, s, secrets):
        self.s = s
        self.lang = s["lang"]
        self.me = s["house"]
        self.prefix = "kandig/v1/%s/" % s["net"]
        active = s["siren_active"]
        siren = hal.output("siren", value=1 - active)  # silent before anything else
        buzzer = hal.pwm("buzzer", s["buzzer_hz"]) if hal.has("buzzer") else None
        led = hal.output("led") if hal.has("led") else None
        self.outputs = SirenOutputs(siren, buzzer, led, active)
        self.player = feedback.Player(self.outputs, slice_ms=logic.STEP_MIN_MS)
        self.quiet = self.player.loop
        diff = time.ticks_diff
        self.buttons = []  # [pin, PressCounter, alert type or None (count the presses)]
        for role in s["button_types"]:
            if not hal.has(role):  # the alarm must work: this button is left out, not the unit
                log.info("ERROR: config [kandig]: field 'button_types': the board map has no "
                         "pin for %r; that button is left out" % role)
                continue
            self.buttons.append([hal.input(role, "up"), logic.PressCounter(
                s["press_window_ms"], s["long_press_ms"], diff), s["button_types"][role]])
        if not self.buttons:  # press counting on the alarm button
            self.buttons.append([hal.input("alarm_button", "up"), logic.PressCounter(
                s["press_window_ms"], s["long_press_ms"], diff), None])
        self.cancel_pin = hal.input("cancel_button", "up")
        self.cancel_btn = logic.PressCounter(300, 100000, diff)
        self.rate = logic.RateLimit(s["rate_max"], s["rate_window_s"] * 1000, diff)
        self.rates = {}  # sender -> RateLimit (receivers hold every house to the same rate)
        self.seen = logic.Seen()
        # the alert sounding now: [id, house, type, own, until ticks, pressed ticks, drill]
        self.sounding = None
        self.heard = []  # houses that acknowledged the sounding alert
        self.screen = None
        self.lcd = None
        if hal.has("lcd_sda"):
            try:
                from drivers.hd44780 import LCD

                self.lcd = LCD(hal.i2c("lcd"))
            except (OSError, ImportError) as e:
                log.info("kandig: no LCD (%s)" % (e,))
        box = store.read_json(OUTBOX, None)
        if not (isinstance(box, dict) and isinstance(box.get("seq"), int)
                and isinstance(box.get("items"), list)):
            if box is not None:
                log.info("kandig: %s unusable, starting a new one" % OUTBOX)
            box = {"seq": 0, "items": []}
        self.box = box
        self.sending = {}  # payload -> packet id of the publish waiting for PUBACK
        self.own_payload = None  # the payload of the alert this house raised last
        self.wake = asyncio.Event()  # something new in the outbox, or the link came up
        self.poke = asyncio.Event()  # ``watch`` has a duty sooner than it planned
        self.pressed = asyncio.ThreadSafeFlag()  # set by a button's interrupt
        self.boot_ms = time.ticks_ms()
        self.watchdog = None
        self.client = None
        self.wifi = None
        if self.me:
            host = secrets.get("mqtt_host") or ""
            self.wifi = WiFi(secrets.get("wifi_ssid") or "", secrets.get("wifi_password") or "",
                             "kandig-" + self.me)
            will = json.dumps({"v": 1, "house": self.me, "state": "offline", "t": 0})
            self.client = MQTTClient("kandig-%s-%s" % (s["net"], self.me), host, s["mqtt_port"],
                                     user=secrets.get("mqtt_user") or self.me,
                                     password=secrets.get("mqtt_password") or None,
                                     keepalive_s=s["keepalive_s"], clean_session=False,
                                     will=(self.topic("status"), will, 1, True),
                                     timeout_ms=5000, retry_ms=5000, max_inflight=8)

    def topic(self, kind, house=None):
        return "%shouse/%s/%s" % (self.prefix, house or self.me, kind)

    # -- screen -----------------------------------------------------------------------------

    def show(self, key, *args):
        lines = texts.line(self.lang, key, *args)
        if lines is None or lines == self.screen:
            return
        self.screen = lines
        print("LCD: %s | %s" % lines)
        if self.lcd is not None:
            try:
                self.lcd.show(lines[0], lines[1])
            except OSError as e:
                log.info("kandig: LCD error", e)

    def show_idle(self):
        client = self.client
        if client is None:
            self.show("local")
        elif client.connected:
            self.show("idle", self.me)
        else:
            self.show("idle_off", self.me)

    # -- sounding ---------------------------------------------------------------------------

    def sound(self, alert_id, house, alert_type, own, drill=False):
        """Sound an alert; False when it is a drill and a real alert is sounding (that one
        goes on: a drill never hides a real alarm)."""
        snd = self.sounding
        if drill and snd is not None and not snd[6]:
            log.info("kandig: drill %s ignored: a real alert is sounding" % alert_id)
            return False
        now = time.ticks_ms()
        secs = DRILL_S if drill else (self.s["own_siren_s"] if own else self.s["siren_s"])
        self.sounding = [alert_id, house, alert_type, own, time.ticks_add(now, secs * 1000), now, drill]
        self.heard = []
        self.player.set_loop(self.rhythm(alert_type), now, urgent=True)
        name = texts.type_name(self.lang, alert_type)
        if own:
            self.show("own_wait" if self.me else "own_local", name)
        else:
            self.show("drill" if drill else "alert", name, house)
        return True

    def rhythm(self, alert_type):
        """The siren steps of an alert type's code (an unknown type: titir)."""
        return logic.rhythm(self.s["alert_types"].get(alert_type, 0), self.s["buzzer_hz"])

    def silence(self, key=None, *args):
        self.sounding = None
        self.player.set_loop(self.quiet, urgent=True)
        if key:
            self.show(key, *args)
        else:
            self.show_idle()

    # -- pressing ---------------------------------------------------------------------------

    def pressed_first(self):
        """The first press of a code: the siren sounds now (titir until the code is known)."""
        if self.sounding is None or not self.sounding[3]:
            self.player.set_loop(logic.rhythm(0, self.s["buzzer_hz"]), urgent=True)

    def raise_alert(self, alert_type, drill=False):
        now = time.ticks_ms()
        box = self.box
        seq = box["seq"] + 1
        alert_id = "%s-%d" % (self.me or "lokal", seq)
        self.seen.add(alert_id)
        self.sound(alert_id, self.me, alert_type, True, drill)
        if not self.me:
            return
        if not self.rate.allow(now):
            log.info("kandig: rate limit, %s sounds here only" % alert_type)
            self.show("limited")
            return
        payload = json.dumps({"v": 1, "id": alert_id, "type": alert_type, "house": self.me,
                              "seq": seq, "t": unix_time(), "drill": drill})
        box["seq"] = seq
        self.own_payload = payload
        self.queue(self.topic("alert"), payload)  # written before it is sent: never lost
        log.info("kandig: alert", alert_id, alert_type)

    def queue(self, topic, payload):
        """Put a QoS 1 message in the flash outbox (atomically) and wake the sender."""
        self.box["items"].append([topic, payload])
        self._save()
        self.wake.set()

    def _save(self):
        try:
            store.write_json(OUTBOX, self.box)
        except OSError as e:  # a full or failing flash must not stop the alarm
            log.info("kandig: outbox not saved:", e)

    def cancel_pressed(self):
        snd = self.sounding
        for b in self.buttons:
            if b[2] is None and b[1].count:  # a code still being beaten: it is never sent
                b[1].drop()
                log.info("kandig: the code being beaten was cancelled before it was sent")
                if snd is None:
                    self.silence("stopped")
                else:  # the alert that was sounding goes on in its own rhythm, not titir
                    self.player.set_loop(self.rhythm(snd[2]), urgent=True)
                return  # a second press acknowledges it
        if snd is None:
            return
        alert_id, house, own = snd[0], snd[1], snd[3]
        if own and self.me and time.ticks_diff(time.ticks_ms(), snd[5]) < self.s["false_alarm_s"] * 1000:
            self.queue(self.topic("cancel"), json.dumps(
                {"v": 1, "id": alert_id, "house": self.me, "why": "false_alarm", "t": unix_time()}))
            self.silence("false", self.me)
            return
        if own:
            self.silence("stopped")
            return
        if self.me:
            self.queue(self.topic("ack"), json.dumps(
                {"v": 1, "id": alert_id, "house": self.me, "t": unix_time()}))
        self.silence("silenced", house)

    def _irq(self, _pin):
        self.pressed.set()

    async def watch_buttons(self):
        """Poll every POLL_MS while a button is pressed or a code is being counted; otherwise
        sleep until a button's falling edge (an interrupt), checking once a second anyway in
        case an edge was missed. An idle unit wakes once a second instead of 100 times."""
        pins = [b[0] for b in self.buttons] + [self.cancel_pin]
        for pin in pins:
            pin.irq(self._irq, pin.IRQ_FALLING)
        while True:
            idle = not self.cancel_btn.busy()
            for b in self.buttons:
                if b[1].busy():
                    idle = False
            if idle:
                for pin in pins:
                    if not pin.value():
                        idle = False
            if idle:
                try:
                    await asyncio.wait_for_ms(self.pressed.wait(), 1000)
                except asyncio.TimeoutError:
                    pass
            now = time.ticks_ms()
            for b in self.buttons:
                got = b[1].sample(now, not b[0].value())
                if b[2] is not None:  # a button for one alert type: it goes at the press
                    if got == "first":
                        self.raise_alert(b[2])
                elif got == "first":
                    self.pressed_first()
                elif got is not None:
                    found = logic.type_for_count(self.s["alert_types"], got)
                    # a count with no meaning is still an alarm: titir (the disaster code)
                    self.raise_alert(found or logic.type_for_count(self.s["alert_types"], 0)
                                     or "bencana")
            if self.cancel_btn.sample(now, not self.cancel_pin.value()) == "first":
                self.cancel_pressed()
            if not idle:
                await asyncio.sleep_ms(POLL_MS)

    # -- network ----------------------------------------------------------------------------

    async def network(self, client, wifi):
        for kind in ("alert", "cancel", "ack"):
            await client.subscribe(self.prefix + "house/+/" + kind, 1)
        await client.subscribe(self.prefix + "hub/#", 1)
        fails = 0
        said = None  # the Wi-Fi trouble last printed: a lasting one is printed once
        while True:
            if not await wifi.ensure():
                if wifi.reason != said:
                    said = wifi.reason
                    log.info("kandig: wifi:", said)
                # without an SSID nothing changes until a new secrets.json and a reset
                await asyncio.sleep_ms(wifi.backoff_ms() if wifi.ssid else 60000)
                continue
            said = None
            try:
                await client.connect()
            except MQTTError as e:
                fails += 1
                log.info("kandig: mqtt:", e)
                if fails >= 2:
                    wifi.suspect()  # the link may be dead whatever isconnected() says
                await asyncio.sleep_ms(wifi.backoff_ms() if fails > 1 else 1000)
                continue
            fails = 0
            log.info("kandig: online as", self.me)
            self.wake.set()
            self.poke.set()  # watch plans the heartbeats
            if self.sounding is None:
                self.show_idle()
            try:
                await client.publish(self.topic("status"), json.dumps(
                    {"v": 1, "house": self.me, "state": "online", "fw": "0.1.0",
                     "boot": self.box["seq"], "t": unix_time()}), 1, True)
            except MQTTError:
                pass
            why = await client.disconnected()
            log.info("kandig: offline:", why)
            wifi.suspect()
            if self.sounding is None:
                self.show_idle()

    async def send_outbox(self, client):
        """Publish what waits in the outbox; forget each item once the broker has it."""
        self.wake.clear()
        while True:
            for item in self.box["items"]:
                if item[1] not in self.sending and client.inflight < client.max_inflight - 1:
                    try:
                        self.sending[item[1]] = await client.publish(item[0], item[1], 1)
                    except MQTTError:
                        break
                    self.poke.set()  # watch drops it from the outbox once the broker has it
            await self.wake.wait()  # items left from before a reset went out above: same ids
            self.wake.clear()

    def outbox_done(self, client):
        """Drop acknowledged items from the outbox (on flash) and say so on the screen."""
        items = self.box["items"]
        keep = [it for it in items if it[1] not in self.sending or client.pending(self.sending[it[1]])]
        if len(keep) == len(items):
            return
        for it in items:
            if it not in keep:
                self.sending.pop(it[1], None)
                snd = self.sounding
                if snd is not None and snd[3] and it[1] is self.own_payload:
                    self.show("own_sent", texts.type_name(self.lang, snd[2]))
        self.box["items"] = keep
        self._save()
        self.wake.set()

    async def listen(self, client):
        async for topic, payload, _retained in client:
            kind, sender, data = logic.parse(self.prefix, topic, payload)
            if kind is None:
                if sender != "not for houses":
                    log.info("kandig: dropped %s: %s" % (topic[:48], sender))
                continue
            self.handle(kind, sender, data)

    def handle(self, kind, sender, data):
        snd = self.sounding
        if kind == "alert":
            if not self.seen.add(data["id"]):
                log.info("kandig: duplicate", data["id"])  # delivered again: sounds once
                return
            if sender == self.me:
                return  # our own alert coming back
            if sender != "hub":
                rate = self.rates.get(sender)
                if rate is None:
                    if len(self.rates) > 64:
                        self.rates = {}
                    rate = self.rates[sender] = logic.RateLimit(
                        self.s["rate_max"], self.s["rate_window_s"] * 1000, time.ticks_diff)
                if not rate.allow(time.ticks_ms()):
                    log.info("kandig: %s over the rate limit, ignored" % sender)
                    return
            # the siren first: the console line (a UART at 115200 baud: ~5 ms for it) can wait
            if self.sound(data["id"], sender, data["type"], False, data.get("drill", False)):
                log.info("kandig: sounding", data["id"], data["type"], "from", sender)
        elif kind == "cancel":
            if snd is not None and snd[0] == data["id"]:
                if data.get("why") == "false_alarm":
                    self.silence("false", snd[1])
                else:
                    self.silence("ended", snd[1])
        elif kind == "ack":
            if snd is not None and snd[0] == data["id"] and sender not in self.heard:
                self.heard.append(sender)
                if snd[3]:
                    self.show("heard", len(self.heard))
        elif kind == "command":
            if data["cmd"] == "selftest":
                self.report("selftest", data["id"])
            elif data["cmd"] == "drill":
                self.sound(data["id"], "hub", data.get("type") or "bencana", False, True)
                self.report("drill", data["id"])

    def report(self, kind, cmd_id):
        """A self-test checks what can be checked without a sound: the outputs are driven (off),
        the outbox is readable; the report goes to the hub."""
        ok = True
        if self.sounding is None:  # never silence a siren that is sounding to test it
            try:
                self.outputs.set(0, 0)
            except OSError:
                ok = False
        self.queue(self.topic("test"), json.dumps(
            {"v": 1, "house": self.me, "kind": kind, "id": cmd_id, "ok": ok,
             "outbox": len(self.box["items"]), "t": unix_time()}))

    # -- housekeeping -----------------------------------------------------------------------

    async def watch(self):
        beat_ms = self.s["beat_s"] * 1000
        # feed the watchdog every quarter of its timeout
        feed_ms = min(self.s["watchdog_s"] * 250 or IDLE_MS, IDLE_MS)
        last_beat = time.ticks_ms()
        while True:
            self.poke.clear()
            now = time.ticks_ms()
            if self.watchdog is not None:
                self.watchdog.feed()
            snd = self.sounding
            if snd is not None and time.ticks_diff(now, snd[4]) >= 0:
                self.silence()
            client = self.client
            wifi = self.wifi
            if client is not None and wifi is not None:
                if self.sending:
                    self.outbox_done(client)
                if client.connected and time.ticks_diff(now, last_beat) >= beat_ms:
                    last_beat = now
                    try:
                        await client.publish(self.topic("beat"), json.dumps(
                            {"v": 1, "house": self.me, "up": time.ticks_diff(now, self.boot_ms) // 1000,
                             "rssi": wifi.rssi(), "outbox": len(self.box["items"]),
                             "seq": self.box["seq"]}))
                    except MQTTError:
                        pass
            await self._rest(self._next_duty(time.ticks_ms(), feed_ms, last_beat, beat_ms))

    def _next_duty(self, now, feed_ms, last_beat, beat_ms):
        """Milliseconds until ``watch`` has something to do."""
        wait = SENDING_MS if self.sending else feed_ms
        snd = self.sounding
        if snd is not None:
            wait = min(wait, time.ticks_diff(snd[4], now))
        client = self.client
        if client is not None and client.connected:
            wait = min(wait, time.ticks_diff(time.ticks_add(last_beat, beat_ms), now))
        return wait if wait > 0 else 0

    async def _rest(self, ms):
        """Sleep ``ms``, or less when poked."""
        if self.poke.is_set():
            return
        try:
            await asyncio.wait_for_ms(self.poke.wait(), ms)
        except asyncio.TimeoutError:
            pass

    async def run(self):
        self.show_idle()
        tasks = []
        for job in (self.player.run(), self.watch_buttons(), self.watch()):
            tasks.append(asyncio.create_task(job))
        client = self.client
        wifi = self.wifi
        if client is not None and wifi is not None:
            for job in (self.network(client, wifi), self.listen(client), self.send_outbox(client)):
                tasks.append(asyncio.create_task(job))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    def deinit(self):
        self.outputs.deinit()
        if self.client is not None:
            self.client.deinit()


def load_settings(values, source):
    from apps.kandig import settings as kandig_settings
    from kit import config

    return kandig_settings.check(config.validate(kandig_settings.SCHEMA, values, source), source)


def read_secrets(path="secrets.json"):
    """The Wi-Fi and broker credentials. A broken file or a field that is not text is an ERROR
    line (naming the field, never its value) and no network: the siren works all the same."""
    try:
        secrets = store.read_json(path, {})
    except ValueError as e:
        log.info("ERROR: %s; the network stays off" % e)
        return {}
    if not isinstance(secrets, dict):
        log.info("ERROR: %s: must be a JSON object; the network stays off" % path)
        return {}
    for key, value in secrets.items():
        if not isinstance(value, str):
            log.info("ERROR: %s: field %r must be text in quotes, not %s; the network stays off"
                     % (path, key, type(value).__name__))
            return {}
    return secrets


def main(hal, settings):
    secrets = read_secrets()
    unit = Kandig(hal, settings, secrets)
    try:
        unit.watchdog = hal.watchdog(settings["watchdog_s"])
        log.info("kandig", settings["net"], settings["house"] or "(no house id: local alarm only)",
                 "broker", secrets.get("mqtt_host") or "-", settings["mqtt_port"])
        log.info("pin:" if settings["lang"] == "id" else "pins:", *hal.describe())
        asyncio.run(unit.run())
    finally:
        unit.deinit()
