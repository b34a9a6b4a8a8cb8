"""Kuword's key collector (pure): digits, end, back/cancel, lengths, timeout, function keys."""

from apps.kuword import entry
from apps.kuword.entry import CANCEL, CAP, CODE, FUNCTION, LONG, SHORT, TIMEOUT, KeyCollector
from fwhelp import check

PERIOD = 1 << 30
MASK = PERIOD - 1


def diff(a, b):
    # ESP32 ticks_diff: period 2**30
    return ((a - b + (PERIOD >> 1)) & MASK) - (PERIOD >> 1)


def make(min_len=4, max_len=8, timeout_ms=10000):
    return KeyCollector(min_len, max_len, timeout_ms, diff)


def feed(c, keys, t0=0, step=300):
    """Feed ``keys`` ``step`` ms apart from ``t0`` (wrapping like ticks); the events returned."""
    events = []
    for i in range(len(keys)):
        events.append(c.feed(keys[i], (t0 + i * step) & MASK))
    return events


def test_correct_code_ends_with_hash():
    c = make()
    events = feed(c, "123456#")
    check(events == [None] * 6 + [(CODE, "123456")], events)
    check(c.length() == 0 and c.masked() == "", "cleared after the code: %r" % c.masked())


def test_masked_shows_only_the_length():
    c = make()
    shown = []
    for k in "9051":
        c.feed(k, 0)
        shown.append(c.masked())
    check(shown == ["*", "**", "***", "****"], shown)
    check("9" not in c.masked(), c.masked())


def test_star_deletes_then_cancels():
    c = make()
    events = feed(c, "12*3*4*")
    check(events == [None] * 7, events)
    check(c.masked() == "*" and c.length() == 1, "after 12*3*4*: %r" % c.masked())
    check(c.feed("*", 3000) is None and c.length() == 0, "the last digit deleted")
    check(c.feed("*", 3300) == (CANCEL, 0), "* on an empty entry cancels")
    events = feed(c, "56*78#")
    check(events[-1] == (SHORT, 3), events)
    events = feed(c, "5678#")
    check(events[-1] == (CODE, "5678"), events)


def test_too_short_is_rejected_and_cleared():
    c = make(min_len=4)
    check(feed(c, "123#")[-1] == (SHORT, 3), "3 digits with min 4")
    check(c.length() == 0, "a rejected entry is cleared, %d left" % c.length())
    check(c.feed("#", 0) == (SHORT, 0), "a lone # is short")
    check(feed(c, "1234#")[-1] == (CODE, "1234"), "exactly min_len is a code")


def test_beyond_max_is_long_and_the_cap_is_16():
    c = make(min_len=4, max_len=6)
    check(feed(c, "123456#")[-1] == (CODE, "123456"), "exactly max_len is a code")
    # anti-peep: the right code hidden in extra digits comes back as LONG for the caller
    check(feed(c, "99123456#")[-1] == (LONG, "99123456"), "8 digits with max 6")
    twenty = "12345678901234567890"
    events = feed(c, twenty)
    check(events == [None] * 20, events)
    check(c.length() == CAP and c.masked() == "*" * 16, "capped at %d: %r" % (CAP, c.masked()))
    check(c.feed("#", 0) == (LONG, twenty[:16]), "the first 16 digits are kept")


def test_inactivity_timeout_clears_a_half_typed_code():
    c = make(timeout_ms=10000)
    check(c.tick(0) is None, "nothing typed: no timeout")
    feed(c, "12", t0=1000, step=1000)  # last key at 2000
    check(c.tick(11999) is None and c.length() == 2, "9.999 s after the last key: kept")
    check(c.tick(12000) == (TIMEOUT, 2), "10 s after the last key")
    check(c.length() == 0 and c.masked() == "", c.masked())
    check(c.tick(50000) is None, "only once")


def test_each_key_restarts_the_timeout():
    c = make(timeout_ms=10000)
    events = feed(c, "1234#", step=9000)
    check(events[-1] == (CODE, "1234"), "keys 9 s apart never time out: %s" % events)


def test_timeout_across_the_tick_wrap():
    t0 = PERIOD - 3000
    c = make(timeout_ms=10000)
    feed(c, "123", t0=t0, step=1000)  # last key at PERIOD - 1000
    check(c.tick(5000) is None, "6 s after the last key (across the wrap): kept")
    check(c.tick(9000) == (TIMEOUT, 3), "10 s after the last key, ticks wrapped to 9000")
    # a key long after the timeout, with no tick() in between, starts a fresh entry
    feed(c, "45", t0=PERIOD - 500, step=100)
    ev = c.feed("6", (PERIOD - 400 + 12000) & MASK)
    check(ev is None and c.length() == 1, "stale digits must not prefix the new key: %d" % c.length())
    check(feed(c, "789#", t0=11700)[-1] == (CODE, "6789"), "fresh entry after the wrap")


def test_function_keys_pass_through_and_keep_the_digits():
    c = make()
    feed(c, "12")
    for k in "ABCD":
        check(c.feed(k, 700) == (FUNCTION, k), k)
    check(c.length() == 2, "digits kept: %d" % c.length())
    check(feed(c, "34#", t0=800)[-1] == (CODE, "1234"), "entry goes on after a function key")


def test_other_characters_are_ignored():
    c = make()
    feed(c, "12")
    for k in ("x", "", "12", "E"):
        check(c.feed(k, 700) is None, "%r must be ignored" % k)
    check(c.length() == 2, c.length())


def test_set_lengths_and_bad_settings():
    c = make()
    c.set_lengths(6, 6)
    check(feed(c, "12345#")[-1] == (SHORT, 5), "new min 6")
    for args, words in (((0, 8, 1000), "min_len=0"), ((6, 4, 1000), "max_len=4"),
                        ((4, 17, 1000), "<= 16"), ((4, 8, 0), "timeout_ms")):
        try:
            KeyCollector(args[0], args[1], args[2], diff)
        except ValueError as e:
            check(words in str(e), "%r does not say %r" % (str(e), words))
        else:
            raise AssertionError("accepted %s" % (args,))


def test_event_kinds_are_distinct_constants():
    kinds = (entry.CODE, entry.LONG, entry.SHORT, entry.CANCEL, entry.FUNCTION, entry.TIMEOUT)
    check(len(set(kinds)) == len(kinds), kinds)
