"""Boot: read board.json and config.json, print the device and its pins, start its app.

On the board this is /main.py; /lib holds kit and drivers, /apps the device apps.
"""

from kit import boot

boot.start()
