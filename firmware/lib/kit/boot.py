"""Start the configured device: board map -> hal -> app. Errors name the file and field."""

from kit import log, store
from kit.config import ConfigError
from kit.hal import Hal

DEVICES = ("blind_shoe", "kandig", "akrubutan", "kuword")


def start(board_path="board.json", config_path="config.json"):
    board_map = store.read_json(board_path)
    if board_map is None:
        raise ConfigError("%s missing: copy the board map for this board and device to the board" % board_path)
    cfg = store.read_json(config_path, {}) or {}
    if not isinstance(cfg, dict):
        raise ConfigError("%s: must be a JSON object" % config_path)
    device = cfg.get("device", board_map.get("device"))
    if device not in DEVICES:
        raise ConfigError("%s: field 'device' is %r; it must be one of %s" % (config_path, device, ", ".join(DEVICES)))
    for key in cfg:
        if key != "device" and key not in DEVICES:
            raise ConfigError("%s: unknown top-level field %r; device settings go inside \"%s\": {...}"
                              % (config_path, key, device))
    log.info("kampung:", device, "on", board_map.get("board", "?"), "(%s)" % board_map.get("chip", "?"))
    hal = Hal(board_map, board_path)
    app = __import__("apps." + device + ".app", None, None, ["main"])
    app.main(hal)
