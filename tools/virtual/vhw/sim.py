"""Run one device's firmware on the virtual board (``simrun.py SPEC.json`` calls ``run``).

Started by ``kampung sim`` (tools/kampung/sim.py) under MicroPython or CPython, with the
virtual hardware, firmware/lib and firmware on the module path. The spec (JSON) says which
device, chip, pins, config, scenario inputs and duration; this script writes the event log
(JSON lines) to the spec's ``out`` file and the device's console to stdout.
"""

import builtins
import os
import sys

from vhw import Reset, SimEnd, clock, devices, runtime
from vhw import board as vboard


def _console(board, echo):
    real_print = builtins.print

    def device_print(*args, **kwargs):
        target = kwargs.get("file")
        if target is not None and target is not sys.stdout:
            real_print(*args, **kwargs)  # host code writing elsewhere (CPython's traceback module)
            return
        text = " ".join([str(a) for a in args])
        board.emit("system", "log", "text", text)
        if echo:
            real_print(*args)

    builtins.print = device_print
    return real_print


RESET_LOOP = 100  # boots at one virtual instant that end a run as a reset loop

def run(spec):
    out = open(spec["out"], "w") if spec.get("out", "-") != "-" else sys.stdout
    chip = spec.get("chip")
    pins = spec["pins"]
    board = vboard.install(vboard.Board(chip, pins, out))
    board.log_pings = spec.get("log_pings", True)
    base = runtime.async_base()
    duration_us = spec["duration_ms"] * 1000
    clock.reset(spec.get("start_ticks_ms", 0), base, duration_us)
    if spec.get("realtime"):
        import time

        board.flush = True
        clock.follow_real_time()  # real sockets (a broker on loopback) answer in real time
        # the host's wall clock at t_ms 0: logs of several houses go on one timeline
        board.emit("system", "realtime", "epoch_ms", time._rt.time_ns() // 1000000)
    parts = devices.wire(board, spec["device"], pins, spec.get("parts", {}))
    if spec.get("control"):
        _watch_control(board, parts, spec["control"], spec.get("control_every_ms", 20))
    for item in spec.get("inputs", []):
        if "samples" in item:
            _compact_trace(item)
        clock.at(item["at_ms"] * 1000, _input_applier(board, parts, item))
    import gc

    gc.collect()  # the spec's lists are gone: the firmware starts on a tidy heap
    if spec.get("heap_probe"):
        _probe_heap(board, spec.get("heap_probe"))
    os.chdir(spec["flash"])
    real_print = _console(board, spec.get("echo_console", True))
    # the board's built-in modules (C on an ESP32; Python on the virtual board) survive resets,
    # as the firmware in ROM does: only the firmware's own modules are loaded again
    __import__("machine")
    keep = set(sys.modules)
    boots = 0
    try:
        boot_us, stalled = -1, 0
        while True:
            boots += 1
            # A board that resets at once, every boot, loops for ever (a real one at the pace of
            # its boot ROM); in virtual time no time passes at all: end the run and say so.
            stalled = stalled + 1 if clock.us == boot_us else 0
            boot_us = clock.us
            if stalled >= RESET_LOOP:
                board.emit("system", "exception", "type", "ResetLoop", "message",
                           "%d resets without any time passing: the board would loop like this "
                           "for ever" % RESET_LOOP)
                break
            board.emit("system", "boot", "n", boots, "cause", board.reset_cause)
            for name in list(sys.modules):
                if name not in keep:
                    del sys.modules[name]
            if runtime.MICROPYTHON:
                import asyncio

                asyncio.new_event_loop()  # a reset leaves no task of the previous boot behind
                # A reset raised inside a task leaves asyncio.core.cur_task pointing at it (it
                # is a SystemExit, which the scheduler does not catch): that task would keep
                # the whole previous boot (app objects, modules) alive in the heap. (What
                # stays after a reset is the qstr pool: MicroPython never frees interned
                # strings; the next boot reuses them, so no peak counts them twice.)
                asyncio.core.cur_task = None

            try:  # Reset and SimEnd are SystemExit: the inner handler catches neither
                try:
                    if spec.get("no_firmware"):
                        # benchmark baseline: the board alone, with the modules that are built
                        # in (C, no heap) on a real ESP32 but Python on the virtual one
                        __import__("machine")
                        __import__("os")  # the unix port's os, extended for mpremote
                        clock.advance_to(duration_us)
                    __import__("main")
                    clock.advance_to(duration_us)  # main returned: the board idles at the REPL
                except Exception as e:  # noqa: BLE001 - the board would print it and stop at the REPL
                    board.emit("system", "exception", "type", type(e).__name__, "message", str(e))
                    real_print(runtime.exception_text(e))
                    clock.advance_to(duration_us)  # a power cut may still come: a Reset
            except Reset as r:
                _resetting(board, r)
    except SimEnd:
        pass
    board.emit("system", "end", "boots", boots)
    builtins.print = real_print
    if out is not sys.stdout:
        out.close()


def _watch_control(board, parts, path, every_ms=20):
    """Live inputs: every ``every_ms`` read the scenario inputs appended to ``path`` (JSON lines,
    no ``at_ms``) and apply them now. The house runner (tools/kampung/houses.py) presses buttons
    and takes Wi-Fi away this way while houses run in real time."""
    import json

    done = [0]

    def poll():
        try:  # one stat a poll; the file is opened only when it grew (hundreds of houses poll)
            grown = os.stat(path)[6] > done[0]
        except OSError:
            grown = False
        if not grown:
            clock.after(every_ms * 1000, poll)
            return
        try:
            with open(path) as f:
                f.seek(done[0])
                text = f.read()
        except OSError:
            text = ""
        end = text.rfind("\n") + 1
        if end:
            done[0] += len(text[:end].encode())
            for line in text[:end].split("\n"):
                if line:
                    _input_applier(board, parts, json.loads(line))()
        clock.after(every_ms * 1000, poll)

    clock.after(every_ms * 1000, poll)


def _probe_heap(board, every_ms):
    """Benchmarks: every ``every_ms`` of device time collect garbage and record the live heap."""
    import gc

    peak = [0]

    def probe():
        gc.collect()
        live = gc.mem_alloc()
        if live > peak[0]:
            peak[0] = live
            board.emit("system", "heap", "live", live)
        clock.after(every_ms * 1000, probe)

    clock.after(every_ms * 1000, probe)


def _compact_trace(item):
    """[[t_ms, cm or None], ...] -> two int arrays (t_ms, mm with -1 = no echo)."""
    from array import array

    samples = item.pop("samples")
    times = array("i", [s[0] for s in samples])
    mms = array("i", [-1 if s[1] is None else int(s[1] * 10 + 0.5) for s in samples])
    item["_trace"] = (times, mms)


def _resetting(board, r):
    """The board resets with ``r``; then, if the reset is a deep sleep or a power cut, time
    passes until it boots. A scenario input due in that time may reset it again: a power cut
    during deep sleep (or while the power is already off) ends the sleep, and the board boots
    ``off_ms`` later from power-on, its RTC memory lost, as a real one does."""
    while True:
        board.emit("system", "reset", "cause", r.cause, "why", r.why)
        board.reset_cause = r.cause
        if r.cause == vboard.PWRON_RESET:
            board.rtc_memory = b""  # the RTC's slow memory keeps through deep sleep, not a power cut
        _reset_board(board)
        if not r.sleep_ms:
            return
        try:
            clock.advance(r.sleep_ms * 1000)
            return
        except Reset as again:
            r = again


def _reset_board(board):
    for timer in list(board.timers.values()):
        timer.deinit()  # a reset stops the hardware timers
    for state in board.pins.values():
        state.mode = None
        state.pull = None
        state.out = 0
        if state.pwm is not None:
            state.pwm = None
        state.irq_handler = None
        state.last_logged = None
    clock.wdt_deadline = None


def _masked(keys):
    """Digits typed on a keypad are PINs: the event log shows only how many ("1234#" ->
    "****#"); function keys, * and # stay visible so the log still tells what happened."""
    return "".join(["*" if c in "0123456789" else c for c in keys])


def _input_applier(board, parts, item):
    def apply():
        fields = []
        for key in ("trace", "cm", "fault", "volts", "press_ms", "state", "temp_c", "keys", "hold",
                    "release", "off_ms", "values", "count"):
            if key in item:
                fields.append(key)
                fields.append(_masked(item[key]) if key in ("keys", "hold", "release") else item[key])
        board.emit(item.get("part", "?"), "input", *fields)
        devices.apply(board, parts, item)

    return apply
