"""Kandig houses on a real network: the real firmware, each house in its own MicroPython (and
CPython) process on real time, through a real Mosquitto on loopback and a per-house access
point that can go dark (tools/kampung/houses.py).

What is asserted is what a person would notice: the siren pin of each house, its screen, and
what the broker carried. Waits are conditions with generous timeouts, never fixed sleeps.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from test_mqtt_broker import MOSQUITTO, PUB, Broker

from kampung.houses import Neighbourhood

pytestmark = pytest.mark.skipif(MOSQUITTO is None or PUB is None, reason="mosquitto is not installed "
                                "(apt-get install -y mosquitto mosquitto-clients)")
RUNTIMES = ["micropython", "cpython"]
NET = "rt05"
# one button per alert type: the alert goes out at the press (the counting window of the
# one-button mode, 1.5 s, is tested on its own below)
FAST = {"button_types": {"alarm_button": "maling"}, "keepalive_s": 5}


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    # as `kampung hub broker-config` writes it: sessions (subscriptions, queued QoS 1 alerts for
    # a house that is away) survive a broker restart
    b.conf.write_text(b.conf.read_text().replace(
        "persistence false", f"persistence true\npersistence_location {tmp_path}/\n"
        "autosave_interval 1\nautosave_on_changes true"))
    b.start()
    yield b
    b.stop()


def sounding(nb, house):
    return [t for t in nb.logs(house) if "kandig: sounding" in t]


def screen(nb, house):
    lcd = [e["text"] for e in nb.houses[house].events() if e.get("kind") == "lcd"]
    return [line.strip() for line in lcd[-1]] if lcd else None


def outbox(nb, house):
    path = nb.houses[house].flash / "kandig_outbox.json"
    return json.loads(path.read_text())["items"] if path.exists() else []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_two_strikes_sound_maling_in_every_house_and_heard_it_reaches_the_presser(broker, runtime):
    with Neighbourhood(NET, ["h01", "h02", "h03"], broker_port=broker.port, passwords={},
                       runtime=runtime, config={"keepalive_s": 5}) as nb:
        nb.wait_online()
        pressed = time.time() * 1000
        nb.press("h01", times=2)  # one button, two strikes: a thief
        on = nb.wait_for(lambda: nb.siren_on("h01", pressed), 5, "h01's own siren")
        assert nb.houses["h01"].wall_ms(on) - pressed < 500, "the local siren sounds at once"
        for h in ("h02", "h03"):
            nb.wait_for(lambda h=h: sounding(nb, h), 15, f"the alert in {h}")
            assert "h01-1 maling from h01" in sounding(nb, h)[0]
            order = [e.get("kind") for e in nb.houses[h].events()
                     if (e.get("part") == "siren" and e.get("value") == 1)
                     or "kandig: sounding" in e.get("text", "")]
            assert order[:2] == ["pin", "log"], f"{h}: the siren before the console line: {order}"
            nb.wait_for(lambda h=h: screen(nb, h) == ["AWAS: Maling", "Rumah h01"], 5,
                        lambda h=h: f"{h}'s screen: {screen(nb, h)}")
        nb.wait_for(lambda: outbox(nb, "h01") == [], 10, "the outbox emptied by the PUBACK")
        nb.press("h02", button="cancel_button")  # "heard it"
        nb.wait_for(lambda: screen(nb, "h01") == ["Didengar", "1 rumah"], 15,
                    lambda: f"h01 to show one house heard it: {screen(nb, 'h01')}")
        nb.wait_for(lambda: screen(nb, "h02") == ["Sudah didengar", "h01"], 5,
                    lambda: f"h02's screen: {screen(nb, 'h02')}")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_drill_or_selftest_never_hides_a_real_alarm(broker, runtime):
    with Neighbourhood(NET, ["h01"], broker_port=broker.port, passwords={}, runtime=runtime,
                       config=FAST) as nb:
        nb.wait_online()
        assert PUB is not None
        pub_bin = PUB

        def pub(topic, data):
            subprocess.run([pub_bin, "-p", str(broker.port), "-q", "1", "-t", f"kandig/v1/{NET}/{topic}",
                            "-m", json.dumps(data)], check=True, timeout=10)

        pub("house/h09/alert", {"v": 1, "id": "h09-5", "type": "kebakaran", "house": "h09",
                                "seq": 5, "t": 0, "drill": False})
        nb.wait_for(lambda: screen(nb, "h01") == ["AWAS: Kebakaran", "Rumah h09"], 10,
                    lambda: f"h01's screen: {screen(nb, 'h01')}")
        pub("hub/command", {"v": 1, "cmd": "selftest", "id": "hub-1", "t": 0})
        pub("hub/command", {"v": 1, "cmd": "drill", "id": "hub-2", "type": "banjir", "t": 0})
        pub("hub/alert", {"v": 1, "id": "hub-3", "type": "banjir", "house": "hub", "seq": 3,
                          "t": 0, "drill": True})
        nb.wait_for(lambda: len([t for t in nb.logs("h01") if "ignored: a real alert" in t]) == 2, 10,
                    lambda: f"both drills refused: {nb.logs('h01')}")
        before = len([e for e in nb.houses["h01"].events() if e.get("part") == "siren" and e.get("value")])
        time.sleep(1.5)
        assert screen(nb, "h01") == ["AWAS: Kebakaran", "Rumah h09"], screen(nb, "h01")
        assert len(sounding(nb, "h01")) == 1, nb.logs("h01")
        after = len([e for e in nb.houses["h01"].events() if e.get("part") == "siren" and e.get("value")])
        assert after > before, "the fire's rhythm goes on after the self-test and the drills"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_duplicate_delivery_sounds_once(broker, runtime):
    with Neighbourhood(NET, ["h01"], broker_port=broker.port, passwords={}, runtime=runtime,
                       config=FAST) as nb:
        nb.wait_online()
        payload = json.dumps({"v": 1, "id": "h09-4", "type": "kebakaran", "house": "h09", "seq": 4,
                              "t": 0, "drill": False})
        assert PUB is not None
        for _ in range(3):  # the broker delivers again (QoS 1 after a lost PUBACK, say)
            subprocess.run([PUB, "-p", str(broker.port), "-q", "1", "-t",
                            f"kandig/v1/{NET}/house/h09/alert", "-m", payload], check=True, timeout=10)
        nb.wait_for(lambda: len([t for t in nb.logs("h01") if "duplicate h09-4" in t]) == 2, 15,
                    "two duplicates noticed")
        assert len(sounding(nb, "h01")) == 1, nb.logs("h01")
        nb.wait_for(lambda: screen(nb, "h01") == ["AWAS: Kebakaran", "Rumah h09"], 5,
                    lambda: f"h01's screen: {screen(nb, 'h01')}")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_broker_restart_during_an_alert_loses_nothing(broker, runtime):
    with Neighbourhood(NET, ["h01", "h02"], broker_port=broker.port, passwords={}, runtime=runtime,
                       config=FAST) as nb:
        nb.wait_online()
        broker.stop()  # SIGTERM: Mosquitto saves its sessions and closes every connection
        nb.wait_for(lambda: not nb.online("h01") and not nb.online("h02"), 20, "both offline")
        pressed = time.time() * 1000
        nb.press("h01")
        nb.wait_for(lambda: nb.siren_on("h01", pressed), 5, "h01 sounds with no broker")
        nb.wait_for(lambda: len(outbox(nb, "h01")) == 1, 5, "the alert waiting on flash")
        broker.start()
        nb.wait_for(lambda: sounding(nb, "h02"), 60, "h02 after the broker came back")
        assert "h01-1 maling" in sounding(nb, "h02")[0]
        nb.wait_for(lambda: outbox(nb, "h01") == [], 20, "h01's outbox emptied")
        # subscriptions were restored: a second alert also arrives
        nb.press("h02")
        nb.wait_for(lambda: sounding(nb, "h01"), 20, "h01 hears h02 after the restart")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_wifi_gone_while_the_station_still_says_connected(broker, runtime):
    """Only traffic tells: isconnected() stays True, the keepalive finds the dead link, and the
    alert raised meanwhile reaches the house when the link returns (the broker kept it: the
    house's session is persistent)."""
    with Neighbourhood(NET, ["h01", "h02"], broker_port=broker.port, passwords={}, runtime=runtime,
                       config=FAST) as nb:
        nb.wait_online()
        nb.wifi("h02", False, radio=True)
        nb.press("h01")
        nb.wait_for(lambda: outbox(nb, "h01") == [], 10, "h01 delivered to the broker")
        nb.wait_for(lambda: not nb.online("h02"), 30, "h02 to notice by its keepalive")
        assert not sounding(nb, "h02")
        nb.wifi("h02", True, radio=True)
        nb.wait_for(lambda: sounding(nb, "h02"), 60, "h02 after the link came back")
        assert "h01-1 maling" in sounding(nb, "h02")[0]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_power_cut_with_an_unsent_alert_sends_it_after_the_reboot(broker, runtime):
    with Neighbourhood(NET, ["h01", "h02"], broker_port=broker.port, passwords={}, runtime=runtime,
                       config=FAST) as nb:
        nb.wait_online()
        nb.wifi("h01", False)
        nb.wait_for(lambda: not nb.online("h01"), 30, "h01 offline")
        nb.press("h01")
        nb.wait_for(lambda: len(outbox(nb, "h01")) == 1, 10, "the alert on flash")
        nb.kill("h01")  # the power goes
        nb.wifi("h01", True)
        nb.start("h01")  # and comes back: same flash
        nb.wait_for(lambda: sounding(nb, "h02"), 60, "h02 hears the alert from before the cut")
        assert "h01-1 maling" in sounding(nb, "h02")[0], "the same id as before the cut"
        nb.wait_for(lambda: outbox(nb, "h01") == [], 20, "then h01's outbox is empty")


def test_false_alarm_and_rate_limit(broker):
    with Neighbourhood(NET, ["h01", "h02"], broker_port=broker.port, passwords={},
                       config=FAST) as nb:
        nb.wait_online()
        nb.press("h01")
        nb.wait_for(lambda: sounding(nb, "h02"), 15, "the alert in h02")
        nb.press("h01", button="cancel_button")  # within false_alarm_s of the press
        nb.wait_for(lambda: screen(nb, "h02") == ["Alarm palsu", "Rumah h01"], 15,
                    lambda: f"h02 to show the false alarm: {screen(nb, 'h02')}")
        for _ in range(3):  # the 2nd, 3rd and 4th alert within 300 s: only two more are sent
            time.sleep(1.8)  # presses closer than press_window_ms (1.5 s) are one alert
            nb.press("h01")
        nb.wait_for(lambda: len(sounding(nb, "h02")) == 3, 15, "three alerts in all at h02")
        nb.wait_for(lambda: screen(nb, "h01") == ["Terlalu sering", "Hanya lokal"], 5,
                    lambda: f"h01 says it sounds locally only: {screen(nb, 'h01')}")
        time.sleep(1)
        assert len(sounding(nb, "h02")) == 3
