"""Which virtual parts each device's board roles are wired to, and how scenario inputs reach them."""

from vhw.parts.ds18b20 import DS18B20
from vhw.parts.hcsr04 import HCSR04
from vhw.parts.hd44780 import LCD
from vhw.parts.keypad import Keypad
from vhw.parts.simple import Analog, Battery, Button, PowerSwitch, Switch
from vhw.parts.soil_probe import SoilProbe
from vhw.parts.ssd1306 import OLED


def wire(board, device, pins, parts_cfg):
    """Attach the virtual parts a device's pin map asks for. Returns {part name: part}."""
    made = {}
    if "sonar_trig" in pins and "sonar_echo" in pins:
        cfg = parts_cfg.get("sonar", {})
        made["sonar"] = HCSR04(board, pins["sonar_trig"], pins["sonar_echo"],
                               variant=cfg.get("variant", "hcsr04"), temp_c=cfg.get("temp_c", 27.0))
        if cfg.get("fault"):
            made["sonar"].fault = cfg["fault"]
        if "cm" in cfg:
            made["sonar"].set_distance(cfg["cm"])
    for role in pins:
        if role == "button" or role.endswith("_button"):
            made[role] = Button(board, pins[role], role, bounce=parts_cfg.get(role, {}).get("bounce", True))
    if "keypad_row1" in pins and "keypad_col1" in pins:
        cfg = parts_cfg.get("keypad", {})
        made["keypad"] = Keypad(board, [pins["keypad_row%d" % i] for i in (1, 2, 3, 4)],
                                [pins["keypad_col%d" % i] for i in (1, 2, 3, 4)],
                                diodes=cfg.get("diodes", False), bounce=cfg.get("bounce", True))
    if "lcd_scl" in pins and "lcd_sda" in pins:
        cfg = parts_cfg.get("lcd", {})
        if cfg.get("addr", 0x27) is not None:  # null: no LCD connected
            made["lcd"] = LCD(board, pins["lcd_scl"], pins["lcd_sda"], addr=cfg.get("addr", 0x27))
    for role in ("door_contact", "tamper"):
        if role in pins:
            made[role] = Switch(board, pins[role], role, closed=parts_cfg.get(role, {}).get("closed", True))
    if "battery" in pins:
        cfg = parts_cfg.get("battery", {})
        # a charged supply for the device: a 1S Li-ion cell (shoe), four AA cells (the lock)
        full = 6.0 if device == "kuword" else 4.0
        made["battery"] = Battery(board, pins["battery"], cfg.get("volts", full), cfg.get("divider", 2.0))
    # the probes' supply switch: the moisture probe, the pH module and the RS485 probe hang on
    # it (the DS18B20 and the OLED stay on the 3.3 V rail); without the role they are always on
    supply = None
    if "sensor_power" in pins:
        supply = made["sensor_power"] = PowerSwitch(board, pins["sensor_power"])
    for role in ("soil_moisture", "ph"):
        if role in pins:
            cfg = parts_cfg.get(role, {})
            made[role] = Analog(board, pins[role], role, cfg.get("volts", 2.70 if role == "soil_moisture" else 2.5),
                                supply=supply)
    if "rs485_tx" in pins and "rs485_rx" in pins:
        cfg = parts_cfg.get("soil_probe", {})
        if cfg.get("fitted", True):
            probe = SoilProbe(board, pins["rs485_tx"], pins["rs485_rx"], pins.get("rs485_de"),
                              family=cfg.get("family", "jxct"), addr=cfg.get("addr", 1),
                              baud=cfg.get("baud"), supply=supply)
            probe.set(**cfg.get("values", {}))
            made["soil_probe"] = probe
    if "onewire" in pins:
        cfg = parts_cfg.get("ds18b20", {})
        if cfg.get("fitted", True):
            made["ds18b20"] = DS18B20(board, pins["onewire"], temp_c=cfg.get("temp_c", 25.0))
    if "oled_scl" in pins and "oled_sda" in pins:
        cfg = parts_cfg.get("oled", {})
        if cfg.get("addr", 0x3C) is not None:
            made["oled"] = OLED(board, pins["oled_scl"], pins["oled_sda"], addr=cfg.get("addr", 0x3C))
    return made


def apply(board, parts, item):
    """Apply one scenario input; raises ValueError naming the part and the valid keys."""
    name = item.get("part")
    part = parts.get(name)
    if name == "wifi":
        board.ap_available = item.get("state") == "up"
        return
    if name == "power":
        from vhw import Reset
        from vhw import board as vboard

        for other in parts.values():
            if isinstance(other, (LCD, OLED, DS18B20)):
                other.power_cycle()  # displays and the DS18B20 hang on the board's supply
            elif isinstance(other, Keypad):
                other.release(other.pressed())
        raise Reset(vboard.PWRON_RESET, item["off_ms"], "power cut")
    if part is None:
        raise ValueError("scenario input for unknown part %r (parts: %s)" % (name, ", ".join(sorted(parts))))
    if isinstance(part, HCSR04):
        if "_trace" in item:
            from vhw import clock

            part.trace = item["_trace"]
            part.trace_start_ms = clock.us // 1000
            part._trace_i = 0
        elif "cm" in item:
            part.set_distance(item["cm"])
        elif "fault" in item:
            part.fault = item["fault"]
        elif "temp_c" in item:
            part.temp_c = item["temp_c"]
        else:
            raise ValueError("sonar input needs one of: trace, cm, fault, temp_c")
    elif isinstance(part, Button):
        part.press(item.get("press_ms", 150))
    elif isinstance(part, Battery):
        part.set_volts(item["volts"])
    elif isinstance(part, Keypad):
        if "keys" in item:
            part.type(item["keys"], item.get("hold_ms", 80), item.get("gap_ms", 80))
        elif "hold" in item:
            part.hold(item["hold"])
        else:
            part.release(item["release"])
    elif isinstance(part, Switch):
        part.set(item["state"] == "closed")
    elif isinstance(part, Analog):
        if "trace" in item:
            part.play(item["_trace"], item.get("every_ms", 1000))
        else:
            part.set_volts(item["volts"])
    elif isinstance(part, SoilProbe):
        if "values" in item:
            part.set(**item["values"])
        else:
            fault, n = item["fault"], item.get("count", 1)
            if fault == "drop":
                part.drop += n
            elif fault == "corrupt":
                part.corrupt += n
            elif fault == "stray":
                part.stray = True
            elif fault == "slow":
                part.delay_ms = 1000
            elif fault == "off":
                part.powered = False
            else:
                part.powered, part.stray, part.delay_ms = True, False, 0
    elif isinstance(part, DS18B20):
        if "temp_c" in item:
            part.set(item["temp_c"])
        else:
            fault = item["fault"]
            part.present = fault != "unplugged"
            part.parasite_fails = fault == "parasite"
            if fault == "noise":
                part.noise += 1
    elif isinstance(part, LCD):
        fault = item["fault"]
        if fault == "drop_nibble":
            part.drop_nibbles += item.get("count", 1)
        elif fault == "i2c_error":
            part.fail_writes += item.get("count", 1)
        else:
            part.power_cycle()
