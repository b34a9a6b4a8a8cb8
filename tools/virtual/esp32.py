"""Virtual ``esp32`` module: the few ESP32-specific calls the firmware uses so far."""

from vhw import board as _board

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def wake_on_ext0(pin, level):
    _board.BOARD.wake_ext0 = (pin, level)


def raw_temperature():
    return 104  # degrees F (40 C), as the ESP32's internal sensor reports
