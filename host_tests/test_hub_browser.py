"""The hub's dashboard in a real browser: Debian's chromium driven by playwright.

Log in as the RT head, watch an alert from a house appear without reloading the page (Server-
Sent Events), then its "heard it" acknowledgement, then send an alert from the form and see it
arrive at a house's MQTT subscription. Then the daily self-test: sent at 03:00 (the hub's clock
moved by the test), its reports coming in, and the judged round drawn with the houses that
failed or stayed silent. Needs ``apt-get install -y chromium`` (.ci/run installs
it); playwright's own browser download (``playwright install``) is never used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from broker import MOSQUITTO, wait_for
from hubtest import (
    KETUA_PASSWORD,
    WIB,
    Clock,
    HubThread,
    Neighbourhood,
    ack,
    alert,
    beat,
    report,
    status,
    topic,
    wib,
)

from kampung.hub import brokerconf

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="no /usr/bin/chromium for the browser test (apt-get install -y chromium)"),
    pytest.mark.skipif(MOSQUITTO is None, reason=f"mosquitto is not installed ({brokerconf.INSTALL})"),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            yield b
        finally:
            b.close()


def watched_page(browser):
    """A new page and the list its script errors and console errors are collected in."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def test_dashboard_live_alert_ack_and_broadcast(tmp_path, browser):
    nb = Neighbourhood(tmp_path / "broker")
    hub = HubThread(nb, tmp_path / "hub.db", houses=["h01", "h02", "h03", "h04"])
    h02, h03 = nb.house("h02"), nb.house("h03")
    listener = nb.house("h04", subscribe=[topic("hub/#")])
    page, errors = watched_page(browser)
    try:
        hub.wait_connected()
        page.set_default_timeout(15_000)
        page.goto(hub.url + "/login")
        page.fill("input[name=user]", "ketua")
        page.fill("input[name=password]", KETUA_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#net")  # the dashboard
        assert page.url == hub.url + "/", page.url
        page.wait_for_selector("#control:not([hidden])")  # the RT head's forms
        page.wait_for_selector("#live.ok")  # the event stream is open
        assert page.text_content("#who") == "Masuk sebagai ketua"
        page.evaluate("window.__sameDocument = 42")  # gone if the page ever reloads

        h02.publish(topic("status", "h02"), status("h02", "online"), retain=True)
        h02.publish(topic("beat", "h02"), beat("h02"))
        page.wait_for_selector('[data-house="h02"][data-state="online"]')
        assert page.get_attribute('[data-house="h01"]', "data-state") == "unknown"

        h02.publish(topic("alert", "h02"), alert("h02", 7, "maling"))
        card = page.wait_for_selector('#active [data-alert-id="h02-7"]')
        assert card is not None
        text = card.text_content() or ""
        assert "PENCURIAN" in text and "Rumah h02" in text, text
        assert "Belum ada rumah" in text, text
        assert page.title().startswith("\u26a0 PERINGATAN")

        h03.publish(topic("ack", "h03"), ack("h02-7", "h03"))
        # locators, not wait_for_function: the page's CSP forbids the eval that one needs
        page.locator('#active [data-alert-id="h02-7"] .acks', has_text="h03").wait_for()
        assert "Sudah mendengar (1 rumah): h03" in (page.text_content('#active [data-alert-id="h02-7"] .acks') or "")

        page.select_option("#alert-type", "kebakaran")
        page.check("#alert-drill")
        page.click("#alert-send")
        page.locator("#control-result", has_text="terkirim").wait_for()
        got = wait_for(lambda: listener.messages(topic("hub/alert")), 15, what="hub/alert at h04")
        assert (got[0]["type"], got[0]["drill"], got[0]["house"]) == ("kebakaran", True, "hub"), got
        sent_id = got[0]["id"]
        badge = page.wait_for_selector(f'#active [data-alert-id="{sent_id}"] .badge')
        assert badge is not None and badge.text_content() == "LATIHAN"

        # the RT head ends the house's alert: hub/cancel why=done reaches the houses
        page.click('#active [data-alert-id="h02-7"] button')
        cancel = wait_for(lambda: listener.messages(topic("hub/cancel")), 15, what="hub/cancel")
        assert (cancel[0]["id"], cancel[0]["why"]) == ("h02-7", "done")
        page.wait_for_selector('#active [data-alert-id="h02-7"]', state="detached")
        assert page.text_content('#history tr[data-alert-id="h02-7"]').count("Selesai") == 1

        assert page.evaluate("window.__sameDocument") == 42, "the page reloaded"
        assert errors == [], errors
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    finally:
        page.close()
        for c in (h02, h03, listener):
            c.close()
        hub.stop()
        nb.stop()
    assert json.loads(json.dumps(hub.hub.stats))["rejected"] == 0


def test_dashboard_shows_the_selftest_report(tmp_path, browser):
    nb = Neighbourhood(tmp_path / "broker")
    clock = Clock(wib(2026, 5, 12, 2, 59))
    hub = HubThread(nb, tmp_path / "hub.db", houses=["h01", "h02", "h03", "h04"],
                    selftest_at="03:00", tz=WIB, clock=clock, schedule_tick_s=0.05)
    h02, h03 = nb.house("h02"), nb.house("h03")
    page, errors = watched_page(browser)
    try:
        hub.wait_connected()
        page.set_default_timeout(15_000)
        page.goto(hub.url + "/")  # viewing needs no login
        page.wait_for_selector("#live.ok")
        assert not page.is_visible("#logout-form"), "no 'Keluar' button before a login"
        assert "setiap hari pukul 03:00" in (page.text_content("#schedule") or "")
        assert "Belum ada uji mandiri" in (page.text_content("#report-selftest") or "")

        clock.t = wib(2026, 5, 12, 3)
        page.wait_for_selector("#report-selftest .pending")
        cmd_id = hub.state()["pending"][0]["id"]
        h02.publish(topic("test", "h02"), report("h02", cmd_id, True))
        h03.publish(topic("test", "h03"), report("h03", cmd_id, False))
        page.locator("#report-selftest .pending", has_text="Sudah melapor (2)").wait_for()
        assert "terjadwal" in (page.text_content("#report-selftest .pending") or "")

        clock.t = wib(2026, 5, 12, 3, 1)  # the grace (60 s) is over: the round is judged
        page.wait_for_selector(f'#report-selftest[data-round-id="{cmd_id}"]')
        lists = {kind: page.text_content(f'#report-selftest [data-list="{kind}"]')
                 for kind in ("ok", "failing", "silent")}
        assert lists == {"ok": "Baik (1): h02", "failing": "Gagal (1): h03",
                         "silent": "Tidak melapor (2): h01, h04"}, lists
        assert "bad" in (page.get_attribute("#report-selftest", "class") or "")
        assert page.locator("#report-selftest .pending").count() == 0
        assert "Belum ada latihan" in (page.text_content("#report-drill") or "")
        assert errors == [], errors
        page.screenshot(path=str(tmp_path / "selftest.png"), full_page=True)
    finally:
        page.close()
        for c in (h02, h03):
            c.close()
        hub.stop()
        nb.stop()
