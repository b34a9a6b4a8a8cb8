"""Boot: read board.json and config.json, print the device and its pins, start its app.

On the board this is /main.py; /lib holds kit and drivers, /apps the device apps. kit.boot is
dropped before the app starts (its RAM goes to the app) and loaded again only after a crash.
"""

from kit import boot

job = boot.prepare()
boot.forget("kit.boot")
del boot
if job is not None and job != "safe":
    try:
        job[0](job[1], job[2])
    except Exception as e:  # the app crashed: kit.boot records it and resets the board
        from kit import boot

        boot.crashed(job[1], e)
