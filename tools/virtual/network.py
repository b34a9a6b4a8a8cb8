"""Virtual ``network`` (station interface only so far) on the virtual board.

The access point can be taken away by a scenario (``{"part": "wifi", "state": "down"}``):
``isconnected()`` then turns False and ``status()`` reports STAT_NO_AP_FOUND, as on an ESP32.
"""

from vhw import board as _board

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_CONNECT_FAIL = 203


class WLAN:
    def __init__(self, interface_id=STA_IF):
        self._if = interface_id
        self._status = STAT_IDLE

    def active(self, is_active=None):
        board = _board.BOARD
        if is_active is None:
            return board.wlan_active
        board.wlan_active = bool(is_active)
        if not is_active:
            board.wlan_connected = False
            self._status = STAT_IDLE
        return None

    def connect(self, ssid=None, key=None, *, bssid=None):
        board = _board.BOARD
        if not board.wlan_active:
            raise OSError("Wifi Not Started")
        if board.ap_available:
            board.wlan_connected = True
            self._status = STAT_GOT_IP
        else:
            board.wlan_connected = False
            self._status = STAT_NO_AP_FOUND

    def disconnect(self):
        _board.BOARD.wlan_connected = False
        self._status = STAT_IDLE

    def isconnected(self):
        board = _board.BOARD
        return board.wlan_active and board.wlan_connected and board.ap_available

    def status(self, param=None):
        if param == "rssi":
            return -60
        if self._status == STAT_GOT_IP and not self.isconnected():
            return STAT_NO_AP_FOUND
        return self._status

    def ifconfig(self, configtuple=None):
        if configtuple is None:
            if self.isconnected():
                return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
            return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")
        return None

    def config(self, param=None, **kwargs):
        if param == "mac":
            return _board.BOARD.unique_id
        return None

    def scan(self):
        return []
