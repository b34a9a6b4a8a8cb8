"""``kampung deploy`` to a virtual board with the real mpremote: only changes are sent, stale
files go, a clean deploy ends safe mode, and the board boots the device."""

from __future__ import annotations

import json

import pytest

from kampung import build, deploy
from kampung.vboard import VirtualBoard


@pytest.fixture
def bundle(tmp_path):
    out = tmp_path / "bundle"
    build.build("blind_shoe", "esp32_devkitc", out, secrets=tmp_path / "none.json")
    return out


def rebuild_manifest(bundle):
    files = {}
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and p.name != "manifest.json"):
        rel = path.relative_to(bundle).as_posix()
        files[rel] = {"size": path.stat().st_size, "sha256": build.sha256(path)}
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"] = files
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_full_deploy_then_one_file(tmp_path, bundle):
    with VirtualBoard(tmp_path / "flash") as vb:
        first = deploy.deploy(bundle, vb.port, progress=lambda s: None)
        assert len(first["sent"]) == len(json.loads((bundle / "manifest.json").read_text())["files"])
        for rel in first["sent"]:
            assert (vb.flash / rel).read_bytes() == (bundle / rel).read_bytes(), rel
        log = bundle / "lib/kit/log.py"
        log.write_text(log.read_text() + "# changed\n")
        rebuild_manifest(bundle)
        second = deploy.deploy(bundle, vb.port, progress=lambda s: None)
        assert second["sent"] == ["lib/kit/log.py"] and second["removed"] == [], second
        assert (vb.flash / "lib/kit/log.py").read_text().endswith("# changed\n")
        third = deploy.deploy(bundle, vb.port, progress=lambda s: None)
        assert third["sent"] == [], "nothing changed, nothing sent"


def test_deploy_again_repairs_what_was_damaged_on_the_board(tmp_path, bundle):
    """Found by the break test of 2026-12-04: deploy trusted the board's manifest.json, so a
    file deleted, edited or torn on the board was never sent again ("deploy again" did nothing),
    and a manifest of the wrong shape stopped deploy with a traceback."""
    with VirtualBoard(tmp_path / "flash") as vb:
        deploy.deploy(bundle, vb.port, progress=lambda s: None)
        (vb.flash / "board.json").unlink()
        (vb.flash / "config.json").write_text('{"blind_shoe": {"zones_c')
        (vb.flash / "lib/kit/log.py").write_text("garbage(")
        (vb.flash / "manifest.json").write_text('{"files": []}')
        (vb.flash / "lib/kit/store.py").unlink()
        (vb.flash / "lib/kit/store.py").mkdir()  # opens on the unix port, fails when read
        again = deploy.deploy(bundle, vb.port, progress=lambda s: None)
        assert sorted(again["sent"]) == ["board.json", "config.json", "lib/kit/log.py", "lib/kit/store.py"], again
        for rel in again["sent"]:
            assert (vb.flash / rel).read_bytes() == (bundle / rel).read_bytes(), rel
        console = deploy.watch(vb.port, 1.5, show=lambda s: None)
    assert "kampung: blind_shoe on esp32_devkitc" in console and "ERROR" not in console, console


def test_stale_files_are_removed_and_safe_mode_cleared(tmp_path, bundle):
    extra = bundle / "lib/drivers/old_sensor.py"
    extra.write_text("# a driver this device no longer uses\n")
    rebuild_manifest(bundle)
    with VirtualBoard(tmp_path / "flash") as vb:
        deploy.deploy(bundle, vb.port, progress=lambda s: None)
        assert (vb.flash / "lib/drivers/old_sensor.py").exists()
        (vb.flash / "crashes.json").write_text("[1, 2, 3]")
        extra.unlink()
        rebuild_manifest(bundle)
        result = deploy.deploy(bundle, vb.port, progress=lambda s: None)
        assert result["removed"] == ["lib/drivers/old_sensor.py"], result
        assert not (vb.flash / "lib/drivers/old_sensor.py").exists()
        assert not (vb.flash / "crashes.json").exists(), "a clean deploy ends safe mode"


def deploy_and_watch(tmp_path, device, mpy):
    """Build ``device``, deploy it to a fresh virtual board, reset it: (bundle, console)."""
    out = tmp_path / "bundle"
    build.build(device, "esp32_devkitc", out, mpy=mpy, secrets=tmp_path / "none.json")
    with VirtualBoard(tmp_path / "flash") as vb:
        deploy.deploy(out, vb.port, progress=lambda s: None)
        return out, deploy.watch(vb.port, 2.0, show=lambda s: None)


@pytest.mark.parametrize("mpy", [False, True], ids=["source", "mpy"])
def test_deployed_board_boots_the_shoe(tmp_path, mpy):
    _, console = deploy_and_watch(tmp_path, "blind_shoe", mpy)
    assert "kampung: blind_shoe on esp32_devkitc" in console, console
    assert "sonar_trig=GPIO13" in console and "ERROR" not in console, console


def test_deployed_board_runs_the_lock(tmp_path):
    out, console = deploy_and_watch(tmp_path, "kuword", mpy=True)
    assert "kampung: kuword on esp32_devkitc" in console, console
    assert "LCD: Buat kode master | 4-8 angka + #" in console and "ERROR" not in console, console
    assert not (out / "lib" / "drivers" / "hcsr04.mpy").exists(), "the lock's bundle carries the shoe's driver"


def test_deployed_board_runs_the_soil_meter(tmp_path):
    out, console = deploy_and_watch(tmp_path, "akrubutan", mpy=True)
    assert "kampung: akrubutan on esp32_devkitc" in console, console
    assert "OLED: Akrubutan siap" in console and "ERROR" not in console, console
    assert (out / "lib" / "drivers" / "ds18b20.mpy").exists(), "a driver imported inside Meter"


def test_reading_the_audit_log_leaves_the_lock_running(tmp_path):
    from kampung import audit

    out = tmp_path / "bundle"
    build.build("kuword", "esp32_devkitc", out, secrets=tmp_path / "none.json")
    with VirtualBoard(tmp_path / "flash") as vb:
        deploy.deploy(out, vb.port, progress=lambda s: None)
        deploy.watch(vb.port, 1.5, show=lambda s: None)
        (vb.flash / "audit.csv.1").mkdir()  # unreadable where a file should be
        with (vb.flash / "audit.csv").open("ab") as f:
            f.write(b"757382400,1,unknown,\xff\xfe not utf-8\n")
        seen = len(vb.events())
        files = audit.read_port(vb.port)
        assert [name for name, _ in files] == ["audit.csv"] and "system,boot" in files[0][1], files
        assert "not utf-8" in files[0][1], "the readable lines are still shown"
        # the board boots again after the read and the lock runs: its screen comes back
        later, screens = vb.screens_after_boot(seen, "lcd")
    assert screens and "Buat kode master" in screens[-1]["text"][0], \
        f"the lock did not start again after the read: {later[-5:]}"


def test_missing_port_is_a_clear_error(bundle):
    with pytest.raises(deploy.DeployError, match="no serial port /dev/nope"):
        deploy.deploy(bundle, "/dev/nope")


def test_busy_or_silent_port_gets_a_hint(tmp_path, bundle, monkeypatch):
    fake = tmp_path / "mpremote"
    fake.write_text("#!/bin/sh\necho 'mpremote: failed to access /dev/ttyUSB0 (it may be in use by another program)' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(deploy, "MPREMOTE", str(fake))
    with pytest.raises(deploy.DeployError, match="close other serial monitors"):
        deploy.mpremote("/dev/ttyUSB0", "exec", "1")


def test_a_deploy_that_would_turn_the_relay_around_is_refused(tmp_path):
    """Found by the break test of 2026-12-04: a lock set up with relay_active 0 (an active-low
    module), deployed again without --config, got the default 1: its relay held open."""
    active_low = tmp_path / "lock.json"
    active_low.write_text(json.dumps({"kuword": {"relay_active": 0}}))
    first, plain = tmp_path / "first", tmp_path / "plain"
    build.build("kuword", "esp32_devkitc", first, config=active_low, secrets=tmp_path / "none.json")
    build.build("kuword", "esp32_devkitc", plain, secrets=tmp_path / "none.json")
    with VirtualBoard(tmp_path / "flash") as vb:
        deploy.deploy(first, vb.port, progress=lambda s: None)
        with pytest.raises(deploy.DeployError, match="relay_active 0 on the board, 1 in this deploy"):
            deploy.deploy(plain, vb.port, progress=lambda s: None)
        assert json.loads((vb.flash / "config.json").read_text())["kuword"]["relay_active"] == 0, \
            "nothing was sent"
        assert deploy.deploy(first, vb.port, progress=lambda s: None)["sent"] == [], "same polarity: fine"
        done = deploy.deploy(plain, vb.port, progress=lambda s: None, allow_polarity_change=True)
        assert "config.json" in done["sent"], "the wiring changed: said so"
