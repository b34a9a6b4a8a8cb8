"""The project lint (tools/kampung/lint.py).

Every rule catches a snippet broken on purpose, with its code on the right line, and passes
the fixed snippet; the ``# kp: allow`` exemption works only with a rule and a reason; and the
real firmware/ tree lints clean.
"""

import subprocess
import sys
import textwrap

import pytest

import kampung
from kampung import lint

APP = "firmware/apps/demo/app.py"
LOGIC = "firmware/apps/demo/logic.py"
KIT = "firmware/lib/kit/feedback.py"
HAL = "firmware/lib/kit/hal.py"
DRIVER = "firmware/lib/drivers/sonar.py"


def run(src, path=APP):
    return lint.lint_source(textwrap.dedent(src), path)


def codes(src, path=APP):
    """(code, line) of every finding."""
    return [(f.code, f.line) for f in run(src, path)]


# -- each rule: caught on the right line; the fix is clean -------------------------------------

BAD_GOOD = {
    "KP001": (
        APP,
        """\
        import time
        from machine import Pin
        """,
        """\
        import time
        trig = hal.output("sonar_trig")
        """,
        2,
    ),
    "KP002": (
        APP,
        """\
        import time

        async def sense():
            time.sleep_ms(60)
        """,
        """\
        import asyncio

        async def sense():
            await asyncio.sleep_ms(60)
        """,
        4,
    ),
    "KP003": (
        KIT,
        """\
        import time

        def late(deadline):
            return time.ticks_ms() - deadline > 0
        """,
        """\
        import time

        def late(deadline):
            return time.ticks_diff(time.ticks_ms(), deadline) > 0
        """,
        4,
    ),
    "KP004": (
        KIT,
        """\
        try:
            f()
        except:
            pass
        """,
        """\
        try:
            f()
        except OSError:
            pass
        """,
        3,
    ),
    "KP005": (
        KIT,
        """\
        def pwm(duty):
            assert 0 <= duty <= 65535
        """,
        """\
        def pwm(duty):
            if not 0 <= duty <= 65535:
                raise ValueError("duty must be 0..65535")
        """,
        2,
    ),
    "KP006": (
        LOGIC,
        """\
        FAR = 1000000
        import time
        """,
        """\
        FAR = 1000000

        def late(now, since, diff):
            return diff(now, since) > 100
        """,
        2,
    ),
    "KP007": (
        KIT,
        """\
        import json
        from dataclasses import dataclass
        """,
        """\
        import json

        class Reading:
            def __init__(self, mm):
                self.mm = mm
        """,
        2,
    ),
}


@pytest.mark.parametrize("code", sorted(BAD_GOOD))
def test_rule_catches_bad_snippet(code):
    path, bad, _good, line = BAD_GOOD[code]
    findings = run(bad, path)
    assert [(f.code, f.line) for f in findings] == [(code, line)]
    f = findings[0]
    assert f.path == path and f.col >= 1
    assert ": " in f.message  # says what is wrong and what to do instead
    assert str(f) == "%s:%d:%d: %s %s" % (path, line, f.col, code, f.message)


@pytest.mark.parametrize("code", sorted(BAD_GOOD))
def test_rule_passes_good_snippet(code):
    path, _bad, good, _line = BAD_GOOD[code]
    assert run(good, path) == []


@pytest.mark.parametrize("code", sorted(BAD_GOOD))
def test_rule_exempted_with_reason(code):
    path, bad, _good, line = BAD_GOOD[code]
    lines = textwrap.dedent(bad).splitlines()
    lines[line - 1] += "  # kp: allow %s checked by hand for this test" % code
    assert run("\n".join(lines) + "\n", path) == []


@pytest.mark.parametrize("code", sorted(BAD_GOOD))
def test_exemption_without_reason_is_a_finding(code):
    path, bad, _good, line = BAD_GOOD[code]
    lines = textwrap.dedent(bad).splitlines()
    lines[line - 1] += "  # kp: allow %s" % code
    found = codes("\n".join(lines) + "\n", path)
    # the bare allow exempts nothing and is reported itself
    assert sorted(found) == sorted([(code, line), ("KP000", line)])


# -- rule details ------------------------------------------------------------------------------


def test_kp001_machine_allowed_in_hal_and_drivers_only():
    src = "import machine\nfrom machine import Pin\nimport machine as m\n"
    assert codes(src, HAL) == []
    assert codes(src, DRIVER) == []
    assert codes(src, "firmware/lib/drivers/sub/chip.py") == []
    assert codes(src, "firmware/lib/kit/boot.py") == [("KP001", 1), ("KP001", 2), ("KP001", 3)]
    assert codes(src, "firmware/main.py") == [("KP001", 1), ("KP001", 2), ("KP001", 3)]
    # an import inside a function counts too
    assert codes("def f():\n    import machine\n") == [("KP001", 2)]


def test_kp002_variants():
    bad = """\
    import time
    import utime
    import time as t
    from time import sleep_ms as nap

    async def task():
        time.sleep(1)
        time.sleep_us(500)
        utime.sleep_ms(5)
        t.sleep_ms(5)
        nap(5)
        time.sleep_us(51)
        time.sleep_us(n)
    """
    assert codes(bad) == [("KP002", n) for n in range(7, 14)]


def test_kp002_short_pulse_and_sync_code_are_fine():
    good = """\
    import time

    async def trigger(pin):
        pin.value(1)
        time.sleep_us(10)   # the HC-SR04 trigger pulse: shorter than one loop pass
        time.sleep_us(50)
        pin.value(0)

    def measure():
        time.sleep_ms(60)   # not in async def: the caller decides

    async def outer():
        def helper():
            time.sleep_ms(1)  # a plain function defined inside: its own scope
        return helper
    """
    assert codes(good) == []


def test_kp003_variants():
    bad = """\
    import time
    from time import ticks_us

    start = time.ticks_ms()
    a = time.ticks_ms() - start
    b = start - time.ticks_us()
    c = ticks_us() - start
    d = time.ticks_ms() + 500
    e = 500 + time.ticks_cpu()
    deadline = 100
    deadline += time.ticks_ms()
    """
    found = run(bad)
    assert [(f.code, f.line) for f in found] == [("KP003", n) for n in (5, 6, 7, 8, 9, 11)]
    assert "ticks_diff" in found[0].message and "ticks_add" in found[3].message


def test_kp003_ticks_helpers_are_fine():
    good = """\
    import time

    start = time.ticks_ms()
    a = time.ticks_diff(time.ticks_ms(), start)
    d = time.ticks_add(time.ticks_ms(), 500)
    s = "[%8d]" % time.ticks_ms()
    w = period - 2
    """
    assert codes(good) == []


def test_kp004_base_exception_only_in_apps():
    src = """\
    try:
        f()
    except BaseException:
        pass
    try:
        f()
    except (OSError, BaseException) as e:
        pass
    """
    assert codes(src, APP) == [("KP004", 3), ("KP004", 7)]
    assert codes(src, KIT) == []
    assert codes("try:\n    f()\nexcept Exception:\n    pass\n", APP) == []


def test_kp006_logic_modules_only():
    src = """\
    import time
    import asyncio
    import network
    from utime import ticks_ms
    import machine
    """
    # machine in logic: one finding, the logic rule (the more specific one)
    assert codes(src, LOGIC) == [("KP006", n) for n in range(1, 6)]
    assert codes("import time\n", "firmware/apps/demo/app.py") == []
    assert codes("import time\n", "firmware/apps/demo/logic_helpers.py") == []


def test_kp007_every_listed_module():
    for module in lint.MISSING_MODULES:
        assert lint.MISSING_MODULES[module]  # each one has its reason
        found = run("import %s\n" % module, KIT)
        assert [(f.code, f.line) for f in found] == [("KP007", 1)], module
        assert module in found[0].message
    assert codes("from typing import Any\n", KIT) == [("KP007", 1)]
    assert codes("import json, os, collections, re\n", KIT) == []


# -- exemptions ------------------------------------------------------------------------------


def test_exemption_needs_a_rule():
    src = "assert x  # kp: allow because tests\n"
    assert sorted(codes(src, KIT)) == [("KP000", 1), ("KP005", 1)]


def test_exemption_covers_only_the_named_rule_and_line():
    src = """\
    import time

    async def f():
        time.sleep_ms(1) - time.ticks_ms()  # kp: allow KP002 settle the ADC
        time.sleep_ms(1)
    """
    assert codes(src) == [("KP003", 4), ("KP002", 5)]


def test_exemption_several_rules():
    src = """\
    import time

    async def f():
        time.sleep_ms(1) - time.ticks_ms()  # kp: allow KP002, KP003 contrived test line
    """
    assert codes(src) == []


def test_unused_or_unknown_exemption_is_a_finding():
    assert codes("x = 1  # kp: allow KP005 nothing here\n", KIT) == [("KP000", 1)]
    found = codes("assert x  # kp: allow KP123 no such rule\n", KIT)
    assert sorted(found) == [("KP000", 1), ("KP005", 1)]


def test_allow_text_in_a_string_is_not_an_exemption():
    assert codes('assert x, "# kp: allow KP005 in a string"\n', KIT) == [("KP005", 1)]


# -- scope, parse errors, command line --------------------------------------------------------


def test_files_outside_firmware_are_not_checked():
    assert codes("import machine\nassert x\n", "host_tests/fw/fw_x.py") == []
    assert codes("import machine\nassert x\n", "tools/kampung/sim.py") == []


def test_syntax_error_is_reported():
    assert codes("def f(:\n", KIT) == [("KP999", 1)]


def test_cli_reports_findings_and_exit_code(tmp_path, capsys):
    app = tmp_path / "firmware" / "apps" / "demo" / "app.py"
    app.parent.mkdir(parents=True)
    app.write_text("import machine\n")
    (tmp_path / "firmware" / "apps" / "demo" / "logic.py").write_text("X = 1\n")
    assert lint.main([str(tmp_path / "firmware")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("%s:1:1: KP001 " % app)
    app.write_text("import time\n")
    assert lint.main([str(tmp_path / "firmware")]) == 0
    assert capsys.readouterr().out.strip() == "kampung.lint: 2 file(s) clean"


def test_cli_missing_path(tmp_path, capsys):
    assert lint.main([str(tmp_path / "nope")]) == 2


def test_firmware_tree_is_clean():
    findings, linted, _skipped = lint.lint_paths([kampung.FIRMWARE])
    assert linted > 0
    assert [str(f) for f in findings] == []


def test_module_runs_as_a_command():
    proc = subprocess.run([sys.executable, "-m", "kampung.lint"], capture_output=True,
                          text=True, cwd=kampung.ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "clean" in proc.stdout
