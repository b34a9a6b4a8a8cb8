"""``kampung build DEVICE --board B``: the files one board needs, as a bundle with a manifest.

The bundle (default ``build/<device>-<board>/``) holds:
- the firmware the device runs: ``main.py``, ``lib/kit``, ``lib/drivers``, ``apps/<device>``,
  as source or, with ``--mpy``, compiled by mpy-cross for the chip's architecture;
- ``board.json``: the board's pins for this device (roles -> GPIO), checked by the board rules,
  and the chip's ADC top in mV (``adc_max_mv``, for ``kit.hal.Hal.adc_max_uv``);
- ``config.json``: the device's settings, layered: the firmware's defaults, then a site file
  (settings shared by a neighbourhood, ``--site``), then this device's file (``--config``);
  validated with the firmware's own rules, errors naming the file and field;
- ``secrets.json`` when a secrets file exists (Wi-Fi and broker credentials; default
  ``secrets.json`` beside the repository root, git-ignored). It stays a separate file so that
  printing the config never shows a password, and the build never prints its values;
- ``manifest.json``: every file with its size and sha256, so a deploy sends only what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

from kampung import FIRMWARE, ROOT, boards, runtimes

APPS_WITH_FIRMWARE = ("blind_shoe", "kandig", "akrubutan", "kuword")
SECRETS_KEYS = {"wifi_ssid", "wifi_password", "mqtt_user", "mqtt_password", "mqtt_host"}


class BuildError(ValueError):
    pass


def firmware_files(device: str) -> list[str]:
    """Paths (relative to firmware/) a device needs on its board: main.py, the device's app
    package and every firmware module they import (followed through imports, so a shoe does
    not carry the lock's keypad driver). Imports inside functions count too (the whole syntax
    tree is walked): Akrubutan imports its drivers only when its board has the part."""
    if device not in APPS_WITH_FIRMWARE:
        known = boards.device_names()
        what = "no firmware yet" if device in known else "not a device"
        raise BuildError(f"{device!r}: {what}; devices with firmware: {', '.join(APPS_WITH_FIRMWARE)}")
    todo = [FIRMWARE / "main.py", *sorted((FIRMWARE / "apps" / device).glob("*.py"))]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the packages on the way need their __init__
                for base in (FIRMWARE / "lib", FIRMWARE):
                    mod = base.joinpath(*parts[:i])
                    for candidate in (mod.with_suffix(".py"), mod / "__init__.py"):
                        if candidate.is_file():
                            todo.append(candidate)
    return sorted(p.relative_to(FIRMWARE).as_posix() for p in seen)


def _imports(path: Path) -> list[str]:
    """Module names a firmware file imports (``from a import b`` gives a and a.b: b may be a
    submodule)."""
    import ast

    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(f"key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    except OSError as e:
        raise BuildError(f"{path}: cannot read the {what} ({e.strerror})") from e
    except UnicodeDecodeError as e:
        raise BuildError(f"{path}: the {what} is not UTF-8 text (byte {e.start}); save it as "
                         "UTF-8 JSON") from e
    except _Duplicate as e:
        raise BuildError(f"{path}: {e}; JSON keeps only the last one, so a setting would be lost "
                         "silently: keep one") from e
    except json.JSONDecodeError as e:
        raise BuildError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from e
    if not isinstance(data, dict):
        raise BuildError(f"{path}: the {what} must be a JSON object")
    return data


def _settings_module(device: str):
    """The firmware's own settings module of ``device`` (its SCHEMA and check), on CPython."""
    for p in (FIRMWARE, FIRMWARE / "lib"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    return __import__(f"apps.{device}.settings", fromlist=["SCHEMA"])


def settings_schema(device: str) -> dict:
    """field -> (default, rule) of the device's settings, from the firmware."""
    return _settings_module(device).SCHEMA


def merged_config(device: str, site: Path | None, config: Path | None) -> dict:
    """Defaults -> site -> device, each layer validated by the firmware's own rules."""
    settings_mod = _settings_module(device)
    from kit import config as fwconfig  # the firmware's validator, unchanged, on CPython

    section: dict = {}
    for layer in (site, config):
        if layer is None:
            continue
        data = _read_json(layer, "settings file")
        # a site file is shared by every device of the site: the other devices' sections are
        # theirs; a device's own file names only its device
        known = {device, "device"} | (set(APPS_WITH_FIRMWARE) if layer is site else set())
        unknown = set(data) - known
        if unknown:
            raise BuildError(f"{layer}: unknown top-level field(s) {sorted(unknown)}; put settings "
                             f"inside \"{device}\": {{...}}")
        values = data.get(device, {})
        if layer is config and "device" in data and data["device"] != device:
            raise BuildError(f"{layer}: \"device\" is {data['device']!r}, but this builds {device}: "
                             "use that device's config file, or build that device")
        try:
            fwconfig.validate(settings_mod.SCHEMA, values, f"{layer} [{device}]")
        except fwconfig.ConfigError as e:
            raise BuildError(str(e)) from e
        section.update(values)
    full = fwconfig.validate(settings_mod.SCHEMA, section, f"config [{device}]")
    if hasattr(settings_mod, "check"):
        try:
            settings_mod.check(full, f"{config or site or 'defaults'} [{device}]")
        except fwconfig.ConfigError as e:
            raise BuildError(str(e)) from e
    return {"device": device, device: section}


def _check_roles(device: str, board: str, section: dict, source: Path | None) -> None:
    """Settings that name board roles (Kandig's button_types) must name roles this board's
    map has: the firmware leaves out a button without a pin, the build refuses it."""
    pins = boards.board_json(board, device)["pins"]
    for field, (_default, rule) in settings_schema(device).items():
        if rule[0] != "roles":
            continue
        for role in section.get(field, {}):
            if role not in pins:
                raise BuildError(f"{source or 'config'} [{device}]: field {field!r}: {board} has no "
                                 f"role {role!r}; its roles: {', '.join(pins)}")


def read_secrets(path: Path) -> dict | None:
    if not path.exists():
        return None
    data = _read_json(path, "secrets file")
    unknown = set(data) - SECRETS_KEYS
    if unknown:
        raise BuildError(f"{path}: unknown field(s) {sorted(unknown)}; known: {sorted(SECRETS_KEYS)}")
    for key, value in data.items():
        if not isinstance(value, str):  # the value is a secret: named by its type only
            raise BuildError(f"{path}: field {key!r} must be text in quotes, not "
                             f"{'a number' if isinstance(value, (int, float)) else type(value).__name__}")
    return data


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(device: str, board: str, out: Path, *, mpy: bool = False, site: Path | None = None,
          config: Path | None = None, secrets: Path | None = None) -> dict:
    files = firmware_files(device)
    findings = [f for f in boards.check_board(board, device) if f.level == "error"]
    if findings:
        raise BuildError("; ".join(f.message for f in findings))
    chip = boards.chip_for(board)
    cfg = merged_config(device, site, config)
    _check_roles(device, board, cfg[device], config or site)
    secret = read_secrets(secrets if secrets is not None else ROOT / "secrets.json")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for rel in files:
        src = FIRMWARE / rel
        # main.py stays source: the board runs it by name at boot
        if mpy and rel != "main.py":
            dst = (out / rel).with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                runtimes.mpy_cross(src, dst, rel, march=chip["mpy_arch"])
            except RuntimeError as e:
                raise BuildError(str(e)) from e
        else:
            dst = out / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    (out / "board.json").write_text(json.dumps(boards.board_json(board, device), indent=1) + "\n")
    (out / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    if secret is not None:
        (out / "secrets.json").write_text(json.dumps(secret) + "\n")
    manifest = {"device": device, "board": board, "chip": chip["name"], "mpy": mpy,
                "mpy_arch": chip["mpy_arch"] if mpy else None, "files": {}}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        manifest["files"][rel] = {"size": path.stat().st_size, "sha256": sha256(path)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kampung build", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("device")
    ap.add_argument("--board", default="esp32_devkitc")
    ap.add_argument("--out", type=Path, help="bundle folder (default build/<device>-<board>)")
    ap.add_argument("--mpy", action="store_true", help="compile with mpy-cross for the chip")
    ap.add_argument("--site", type=Path, help="settings shared by all devices of a site (JSON)")
    ap.add_argument("--config", type=Path, help="this device's settings (JSON)")
    ap.add_argument("--secrets", type=Path, help="Wi-Fi/broker credentials (default: secrets.json, git-ignored)")
    args = ap.parse_args(argv)
    out = args.out or ROOT / "build" / f"{args.device}-{args.board}"
    try:
        manifest = build(args.device, args.board, out, mpy=args.mpy, site=args.site,
                         config=args.config, secrets=args.secrets)
    except (BuildError, boards.BoardError) as e:
        print(f"kampung build: {e}", file=sys.stderr)
        return 2
    total = sum(f["size"] for f in manifest["files"].values())
    kind = f".mpy for {manifest['mpy_arch']}" if args.mpy else "source"
    print(f"{args.device} for {args.board}: {len(manifest['files'])} files, {total} bytes ({kind}) in {out}")
    if "secrets.json" in manifest["files"]:
        print("includes secrets.json (values not shown)")
    return 0
