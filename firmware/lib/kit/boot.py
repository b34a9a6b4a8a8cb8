"""Boot: board map -> hal -> app, with a crash counter, safe mode and safe defaults.

- A config that is missing, corrupt or invalid never stops the device: the error is printed
  (a line starting with "ERROR") and the app runs on its safe defaults.
- An app that crashes is restarted by a reset; each crash (an uncaught exception, or a watchdog
  reset: the app hung) is recorded in ``crashes.json``. After CRASH_LIMIT crashes within
  CRASH_WINDOW_S the board boots into safe mode: the app is not started, the REPL stays free
  for mpremote, and the on-board LED (if the board has one) blinks an error pattern. A clean
  deploy (or ``mpremote rm :crashes.json``) ends it.
- The watchdog (``watchdog_s`` in the device's settings) is started here and fed by the app
  only while it is healthy.
"""

import time

from kit import log, store
from kit.config import ConfigError
from kit.hal import Hal

DEVICES = ("blind_shoe", "kandig", "akrubutan", "kuword")
CRASHES = "crashes.json"
CRASH_LIMIT = 3
CRASH_WINDOW_S = 60


def error(message):
    log.info("ERROR:", message)


def read_config(path, device):
    """The device's settings section, or None (then the app runs on its defaults) with the
    error printed."""
    try:
        cfg = store.read_json(path, None)
    except ValueError as e:
        error("%s; using safe defaults" % e)
        return None
    if cfg is None:
        error("%s missing; using safe defaults" % path)
        return None
    if not isinstance(cfg, dict):
        error("%s: must be a JSON object; using safe defaults" % path)
        return None
    if cfg.get("device", device) != device:
        error("%s: field 'device' is %r, but this board runs %s: deploy this device's "
              "config.json; using safe defaults" % (path, cfg.get("device"), device))
        return None
    for key in cfg:
        if key != "device" and key not in DEVICES:
            error("%s: unknown top-level field %r; device settings go inside \"%s\": {...}; "
                  "using safe defaults" % (path, key, device))
            return None
    section = cfg.get(device, {})
    if not isinstance(section, dict):
        error("%s: field %r must be an object of settings, not %r; using safe defaults" % (path, device, section))
        return None
    # the device's section, or a wiring polarity (relay_active, siren_active...), named twice:
    # JSON keeps the last one silently, and a wrong polarity opens a lock
    twice = _named_twice(path, [device] + [k for k in section if k.endswith("_active")])
    if twice:
        error("%s: field \"%s\" appears twice; JSON keeps only the last, so a setting would be "
              "lost silently: keep one; using safe defaults" % (path, twice))
        return None
    return section


def _named_twice(path, keys):
    """The first of ``keys`` the file names as a field more than once, or None. (``kampung
    build`` refuses duplicates; a config.json edited on the board has not been through it.)"""
    try:
        text = store.read_bytes(path) or b""
    except ValueError:
        return None  # it was just read: read_json reports an unreadable file
    for key in keys:
        quoted = b'"' + key.encode() + b'"'
        seen = 0
        at = text.find(quoted)
        while at >= 0:
            at += len(quoted)
            if text[at:at + 8].lstrip().startswith(b":"):
                seen += 1
            at = text.find(quoted, at)
        if seen > 1:
            return key
    return None


def crashes():
    try:
        times = store.read_json(CRASHES, [])
    except ValueError:
        return []
    return [t for t in times if isinstance(t, int)] if isinstance(times, list) else []


def record_crash(times):
    """The crash times with this one added, saved; None when they cannot be saved."""
    times = (times + [time.time()])[-CRASH_LIMIT:]
    try:
        store.write_json(CRASHES, times)
    except (OSError, ValueError) as e:  # a full or broken flash
        error("%s could not be written (%s)" % (CRASHES, e))
        return None
    return times


def recent(times):
    now = time.time()
    return [t for t in times if 0 <= now - t < CRASH_WINDOW_S]


def prepare(board_path="board.json", config_path="config.json"):
    """Everything before the app runs: (app main function, hal, settings), or "safe" (safe
    mode: the REPL stays free) or None (no usable board map)."""
    try:
        board_map = store.read_json(board_path)
    except ValueError as e:
        board_map = None
        error(str(e))
    if not isinstance(board_map, dict) or not isinstance(board_map.get("pins"), dict):
        error("%s missing or broken: deploy the board map again; safe mode" % board_path)
        return None
    hal = Hal(board_map, board_path)
    times = crashes()
    if hal.reset_cause() == hal.WDT_RESET:
        times = record_crash(times) or times
        error("the watchdog reset the board (the app stopped responding)")
    if len(recent(times)) >= CRASH_LIMIT:
        return safe_mode(hal, "%d crashes within %d s" % (CRASH_LIMIT, CRASH_WINDOW_S))
    device = board_map.get("device")
    if device not in DEVICES:
        error("%s: field 'device' is %r; it must be one of %s; safe mode" % (board_path, device, ", ".join(DEVICES)))
        return safe_mode(hal, "unknown device")
    log.info("kampung:", device, "on", board_map.get("board", "?"), "(%s)" % board_map.get("chip", "?"))
    section = read_config(config_path, device)
    try:
        app = __import__("apps." + device + ".app", None, None, ["main"])
        trusted = section is not None
        try:
            settings = app.load_settings(section or {}, "%s [%s]" % (config_path, device))
        except ConfigError as e:
            error("%s; using safe defaults" % e)
            settings = app.load_settings({}, "defaults")
            trusted = False
        if not trusted and hasattr(app, "salvage"):
            # settings that describe the wiring cannot simply fall back to a default (a lock's
            # relay polarity): the app keeps what it can trust from the section, or refuses
            app.salvage(settings, section)  # None: config.json itself could not be used
        forget("kit.config", "apps.%s.settings" % device)
    except Exception as e:  # the app does not even load: a crash like any other
        crashed(hal, e)
        return None
    return app.main, hal, settings


def crashed(hal, e):
    """The app stopped with an exception: print it, count it in crashes.json, reset."""
    error("%s: %s" % (type(e).__name__, e))
    if record_crash(crashes()) is None:
        # uncounted, resets would loop for ever and keep mpremote out: stop here instead
        safe_mode(hal, "a crash that %s cannot count" % CRASHES)
        return
    hal.reset()


def forget(*names):
    """Drop modules only needed at boot (settings schema, validator): their RAM goes back to the
    app. A later import loads them again."""
    import gc
    import sys

    for name in names:
        sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        package = sys.modules.get(parent)
        if package is not None and child in dir(package):
            delattr(package, child)  # the package keeps a reference to its imported submodule
    gc.collect()


def safe_mode(hal, why):
    error("SAFE MODE (%s): the app is not started; fix it and deploy again, or remove %s" % (why, CRASHES))
    hal.blink_error()
    return "safe"
