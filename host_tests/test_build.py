"""``kampung build``: bundles, layered and validated config, secrets kept apart."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kampung import VIRTUAL, boards, build, sim


def test_source_bundle_has_what_the_shoe_needs_and_a_true_manifest(tmp_path):
    out = tmp_path / "b"
    manifest = build.build("blind_shoe", "esp32_devkitc", out, secrets=tmp_path / "none.json")
    files = manifest["files"]
    for need in ("main.py", "lib/kit/boot.py", "lib/drivers/hcsr04.py", "apps/blind_shoe/app.py",
                 "board.json", "config.json"):
        assert need in files, sorted(files)
    assert not [f for f in files if f.startswith("apps/") and f.count("/") > 1
                and not f.startswith("apps/blind_shoe/")], "only this device's app"
    for rel, info in files.items():
        data = (out / rel).read_bytes()
        assert info["sha256"] == hashlib.sha256(data).hexdigest() and info["size"] == len(data), rel
    board = json.loads((out / "board.json").read_text())
    assert board["pins"]["sonar_trig"] == 13 and board["device"] == "blind_shoe"


@pytest.mark.parametrize("board,arch", [("esp32_devkitc", "xtensawin"), ("esp32c3_supermini", "rv32imc"),
                                        ("esp32s3_devkitc1", "xtensawin")])
def test_mpy_bundle_is_compiled_for_the_chip(tmp_path, board, arch):
    out = tmp_path / board
    manifest = build.build("blind_shoe", board, out, mpy=True, secrets=tmp_path / "none.json")
    assert manifest["mpy_arch"] == arch
    header = (out / "apps/blind_shoe/logic.mpy").read_bytes()[:4]
    # .mpy version 6; the arch field stays 0 while the firmware has no native/viper code
    # (bytecode runs on any chip), -march matters once a measured loop goes native
    assert header[:3] == b"M\x06\x00", header
    assert (out / "main.py").exists(), "main.py stays source: the board runs it by name"


@pytest.mark.parametrize("mpy", [False, True], ids=["source", "mpy"])
@pytest.mark.parametrize("device", ["blind_shoe", "akrubutan"])
def test_bundle_runs_like_the_source_tree(tmp_path, device, mpy):
    # akrubutan's field scenario uses every part, so every driver it imports lazily is loaded
    out = tmp_path / "bundle"
    build.build(device, "esp32_devkitc", out, mpy=mpy, secrets=tmp_path / "none.json")
    ref, _, _ = sim.simulate(device, out=tmp_path / "ref.jsonl")
    got, events, _ = sim.simulate(device, out=tmp_path / "got.jsonl", roots=(VIRTUAL, out))
    assert ref.returncode == got.returncode == 0, got.stdout[-2000:]
    assert not [e for e in events if e["kind"] == "exception"], got.stdout[-2000:]
    assert (tmp_path / "ref.jsonl").read_bytes() == (tmp_path / "got.jsonl").read_bytes()


def test_akrubutan_bundle_carries_its_lazily_imported_drivers_only(tmp_path):
    # Meter imports each driver inside a function, only when the board has the part
    files = build.build("akrubutan", "esp32_devkitc", tmp_path / "b", secrets=tmp_path / "x.json")["files"]
    for need in ("apps/akrubutan/app.py", "apps/akrubutan/logic.py", "apps/akrubutan/texts.py",
                 "lib/drivers/ds18b20.py", "lib/drivers/modbus_rtu.py", "lib/drivers/soil_probe.py",
                 "lib/drivers/ssd1306.py"):
        assert need in files, sorted(files)
    for other in ("lib/drivers/hcsr04.py", "lib/drivers/keypad.py", "lib/kit/mqtt.py"):
        assert other not in files, f"{other} belongs to another device: {sorted(files)}"


def _resolves(files: set, name: str) -> bool:
    rel = name.replace(".", "/")
    return any(f"{base}{rel}{end}" in files for base in ("", "lib/") for end in (".py", "/__init__.py"))


@pytest.mark.parametrize("device", build.APPS_WITH_FIRMWARE)
def test_every_firmware_import_in_a_bundle_resolves_inside_it(tmp_path, device):
    """Each import of a firmware package (kit, drivers, apps) in any bundled file, those inside
    functions included, names a file of the bundle: a missed lazy import fails only on the
    board, the first time the part is used."""
    import ast

    out = tmp_path / "b"
    files = set(build.build(device, "esp32_devkitc", out, secrets=tmp_path / "x.json")["files"])
    missing = []
    for rel in sorted(f for f in files if f.endswith(".py")):
        for node in ast.walk(ast.parse((out / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
                package = node.module.replace(".", "/")
                if any(f"{b}{package}/__init__.py" in files for b in ("", "lib/")):
                    names += [f"{node.module}.{a.name}" for a in node.names]  # from a package: submodules
            else:
                continue
            missing += [f"{rel}: {n}" for n in names
                        if n.split(".")[0] in ("kit", "drivers", "apps") and not _resolves(files, n)]
    assert not missing, missing


def test_config_layers_site_then_device(tmp_path):
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"blind_shoe": {"lang": "en", "air_temp_c": 24}}))
    dev = tmp_path / "dev.json"
    dev.write_text(json.dumps({"blind_shoe": {"air_temp_c": 30, "zones_cm": [50, 90, 150, 220]}}))
    out = tmp_path / "b"
    build.build("blind_shoe", "esp32_devkitc", out, site=site, config=dev, secrets=tmp_path / "x.json")
    cfg = json.loads((out / "config.json").read_text())
    assert cfg == {"device": "blind_shoe",
                   "blind_shoe": {"lang": "en", "air_temp_c": 30, "zones_cm": [50, 90, 150, 220]}}


def test_one_site_file_serves_every_device_of_the_site(tmp_path):
    """A site file holds each device's shared settings: building one device takes its own
    section and leaves the others' alone (they were refused as unknown fields before)."""
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"kandig": {"net": "rt05-kramat", "lang": "en"},
                                "kuword": {"lang": "en"}, "blind_shoe": {"lang": "en"}}))
    assert build.merged_config("kandig", site, None) == \
        {"device": "kandig", "kandig": {"net": "rt05-kramat", "lang": "en"}}
    assert build.merged_config("kuword", site, None) == {"device": "kuword", "kuword": {"lang": "en"}}
    site.write_text(json.dumps({"kandig": {}, "kentongan": {}}))
    with pytest.raises(build.BuildError, match=r"unknown top-level field\(s\) \['kentongan'\]"):
        build.merged_config("kandig", site, None)
    dev = tmp_path / "dev.json"  # a device's own file still names only its device
    dev.write_text(json.dumps({"kandig": {}, "kuword": {"lang": "en"}}))
    with pytest.raises(build.BuildError, match=r"unknown top-level field\(s\) \['kuword'\]"):
        build.merged_config("kandig", None, dev)
    dev.write_text(json.dumps({"device": "kandig", "kuword": {}}))
    with pytest.raises(build.BuildError, match="\"device\" is 'kandig', but this builds kuword"):
        build.merged_config("kuword", None, dev)


def test_a_settings_file_that_is_not_utf8_is_named(tmp_path):
    dev = tmp_path / "dev.json"
    dev.write_bytes(b'{"kuword": {"lang": "\xe9n"}}')
    with pytest.raises(build.BuildError, match="dev.json: the settings file is not UTF-8 text"):
        build.merged_config("kuword", None, dev)


@pytest.mark.parametrize("content,words", [
    ({"blind_shoe": {"zones_cm": [80, 40, 140, 200]}}, "dev.json [blind_shoe]: field 'zones_cm'"),
    ({"blind_shoe": {"zone_period_ms": [60, 200, 450, 900]}}, "zone_period_ms"),
    ({"zones_cm": [50, 90, 150, 220]}, "unknown top-level field(s) ['zones_cm']"),
    ({"blind_shoe": {"pulse": 5}}, "unknown field 'pulse'"),
])
def test_config_errors_name_file_and_field(tmp_path, content, words):
    dev = tmp_path / "dev.json"
    dev.write_text(json.dumps(content))
    with pytest.raises(build.BuildError) as err:
        build.build("blind_shoe", "esp32_devkitc", tmp_path / "b", config=dev, secrets=tmp_path / "x.json")
    assert words in str(err.value)


def test_secrets_stay_apart_and_are_never_printed(tmp_path, capsys):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"wifi_ssid": "RT05", "wifi_password": "kentongan-rahasia"}))
    out = tmp_path / "b"
    assert build.main(["blind_shoe", "--out", str(out), "--secrets", str(secrets)]) == 0
    printed = capsys.readouterr().out
    assert "kentongan-rahasia" not in printed and "values not shown" in printed
    assert "kentongan-rahasia" not in (out / "config.json").read_text()
    assert "kentongan-rahasia" not in (out / "manifest.json").read_text()
    assert json.loads((out / "secrets.json").read_text())["wifi_password"] == "kentongan-rahasia"
    secrets.write_text(json.dumps({"wifi_pass": "x"}))
    assert build.main(["blind_shoe", "--out", str(out), "--secrets", str(secrets)]) == 2
    assert "wifi_pass" in capsys.readouterr().err
    # a value that is not text would stop the unit's network: refused here, the value not shown
    secrets.write_text(json.dumps({"wifi_ssid": "RT05", "mqtt_password": 24681357}))
    assert build.main(["kandig", "--out", str(out), "--secrets", str(secrets)]) == 2
    err = capsys.readouterr().err
    assert "'mqtt_password' must be text in quotes, not a number" in err and "24681357" not in err, err


def test_secrets_file_is_git_ignored():
    ignored = (Path(__file__).parents[1] / ".gitignore").read_text().split()
    assert "secrets.json" in ignored


def test_every_device_has_firmware():
    assert sorted(build.APPS_WITH_FIRMWARE) == sorted(boards.device_names())


def test_unknown_device_is_refused_with_the_valid_names(capsys):
    assert build.main(["sepatu"]) == 2
    err = capsys.readouterr().err
    assert "'sepatu': not a device" in err, err
    for device in ("blind_shoe", "kandig", "akrubutan", "kuword"):
        assert device in err, err


def test_duplicate_keys_in_a_settings_file_are_refused(tmp_path):
    # {"relay_active": 0} followed by a second "kuword" object would silently drop the polarity
    cfg = tmp_path / "dup.json"
    cfg.write_text('{"kuword": {"relay_active": 0}, "kuword": {"lang": "en"}}')
    with pytest.raises(build.BuildError, match="appears twice"):
        build.merged_config("kuword", None, cfg)


def test_button_types_must_name_roles_of_the_board(tmp_path):
    cfg = tmp_path / "kandig.json"
    cfg.write_text(json.dumps({"kandig": {"button_types": {"nosuch_button": "maling"}}}))
    with pytest.raises(build.BuildError, match="esp32_devkitc has no role 'nosuch_button'; its roles: alarm_button"):
        build.build("kandig", "esp32_devkitc", tmp_path / "b", config=cfg, secrets=tmp_path / "x.json")
    cfg.write_text(json.dumps({"kandig": {"button_types": {"alarm_button": "kebakaran"}}}))
    build.build("kandig", "esp32_devkitc", tmp_path / "b", config=cfg, secrets=tmp_path / "x.json")
