"""A virtual RS485 soil probe: a Modbus RTU slave behind a half-duplex transceiver.

It hears what the board's UART sends on the probe's bus and answers the way the probes in
../shared/data/modbus/register_maps.md do:

- family "jxct" (JXCT JXBS-3001 and relabels): pH 0x0006 x0.01, moisture 0x0012 x0.1,
  temperature 0x0013 int16 x0.1, EC 0x0015, N/P/K 0x001E-0x0020, address 0x0100, baud 0x0101
  (the baud itself); default 9600 baud;
- family "renke" (Renke RS-...-N01-TR, VMS-3001, "industrial 7-in-1"): moisture 0x0000 x0.1,
  temperature 0x0001 int16 x0.1, EC 0x0002, pH 0x0003 x0.1, N/P/K 0x0004-0x0006 (and
  0x001E-0x0020 as on the NPK-only probes), address 0x07D0, baud code 0x07D1 (0 = 2400,
  1 = 4800, 2 = 9600); default 4800 baud.

Like the hardware:
- a request counts only when its CRC is right and it is addressed to this probe (or broadcast
  0, which is never answered); a wrong CRC or someone else's address gets silence;
- a request sent at another baud rate is noise to the probe: silence;
- a frame ends after 3.5 character times of silence; the probe answers after ``turnaround_ms``;
- the board's DE pin must be high for the whole request (a master that drops DE before its last
  stop bit cuts the frame, so the CRC fails) and low while the answer comes (RE is tied to DE:
  a receiver left off hears nothing);
- unknown registers give exception 2, unknown functions exception 1;
- written address or baud take effect at the next power-up (the probes' manuals say so).

Models (``model``): "7in1" (default, every register above); "3in1" (moisture, temperature and
EC only: JXCT 0x0012/0x0013/0x0015, Renke 0x0000-0x0002, as DFRobot SEN0601); "npk" (N/P/K at
0x001E-0x0020 only, as the Renke RS-NPK-N01-TR and DFRobot SEN0605 of register_maps.md). Each
keeps its family's address and baud registers and answers the registers it lacks with
exception 2, as a block read that runs into one does.

Faults for tests: ``drop`` (the next N requests get no answer), ``corrupt`` (the next N
answers have one byte flipped), ``stray`` (a 0x00 before each answer), ``delay_ms`` (extra
turnaround), ``powered`` False (no answer at all: its own supply wire is cut).

Supply: with a ``supply`` (vhw.parts.simple.PowerSwitch, the board's ``sensor_power`` role) the
probe hears nothing while the switch is off, and after it comes on its microcontroller needs
``startup_ms`` before it listens (frames before that are lost, counted in ``early_requests``;
frames while off in ``unpowered_requests``). Each switch-on is a power-up: a written address or
baud takes effect then. ``startup_ms`` 500 is an assumption (no manual in ../shared/data or the
pages we could read gives the start-up time); the firmware's default warm-up, 1 s, covers it.

Known differences from a real probe: the answer's bytes reach the UART all at its last stop bit
(not byte by byte); readings change only when a test or scenario sets them.
"""

from vhw import clock

BAUD_CODES = {0: 2400, 1: 4800, 2: 9600}


def _crc(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _frame(body):
    crc = _crc(body)
    return bytes(body) + bytes((crc & 0xFF, crc >> 8))


class SoilProbe:
    FAMILIES = ("jxct", "renke")
    MODELS = {"7in1": None, "3in1": {"jxct": (0x12, 0x13, 0x15), "renke": (0x00, 0x01, 0x02)},
              "npk": {"jxct": (0x1E, 0x1F, 0x20), "renke": (0x1E, 0x1F, 0x20)}}

    def __init__(self, board, tx_gpio, rx_gpio, de_gpio=None, family="jxct", addr=1, baud=None,
                 name="soil_probe", supply=None, startup_ms=500, model="7in1"):
        if family not in self.FAMILIES:
            raise ValueError("family must be one of %s, not %r" % (", ".join(self.FAMILIES), family))
        if model not in self.MODELS:
            raise ValueError("model must be one of %s, not %r" % (", ".join(self.MODELS), model))
        self.board = board
        self.family = family
        self.model = model
        self.addr = addr
        self.baud = baud or (9600 if family == "jxct" else 4800)
        self.next_addr = self.addr  # written values apply at the next power-up
        self.next_baud = self.baud
        self.values = {"moisture": 0.0, "temperature": 25.0, "ec": 0, "ph": 7.0,
                       "n": 0, "p": 0, "k": 0}
        self.turnaround_ms = 5
        self.delay_ms = 0
        self.drop = 0
        self.corrupt = 0
        self.stray = False
        self.powered = True
        self.supply = supply
        self.startup_ms = startup_ms
        self.unpowered_requests = 0  # frames sent while the supply switch was off
        self.early_requests = 0  # frames sent while the probe was still starting
        if supply is not None:
            supply.loads.append(self)
        self.requests = 0  # valid requests for this probe
        self.crc_errors = 0
        self.cut_frames = 0  # requests whose DE went low before their end
        self.lost_answers = 0  # answers sent while the board's receiver was off
        self._rx_gpio = rx_gpio
        self._de = board.pin(de_gpio) if de_gpio is not None else None
        self._de_low_at = 0  # virtual us of the last falling DE edge
        if self._de is not None:
            self._de.watchers.append(self._de_changed)
        self._buf = bytearray()
        self._buf_ok = True
        self._last_end = 0
        self._uart = None
        board.uart_peers[tx_gpio] = self
        board.attach(name, self)

    # -- readings -----------------------------------------------------------------------------
    def set(self, **values):
        for k, v in values.items():
            if k not in self.values:
                raise ValueError("soil probe has no reading %r (%s)" % (k, ", ".join(self.values)))
            self.values[k] = v

    def power_cycle(self):
        self.addr, self.baud = self.next_addr, self.next_baud

    def supply_changed(self, on):
        """The sensor_power switch went on (a power-up) or off (everything in flight is lost)."""
        self._buf = bytearray()
        self._buf_ok = True
        if on:
            self.power_cycle()

    def listening(self):
        """Whether the probe hears the bus now: its own wire intact, the switch on (when there is
        one) for at least ``startup_ms``."""
        if not self.powered:
            return False
        if self.supply is None:
            return True
        up = self.supply.on_for_us()
        return up is not None and up >= self.startup_ms * 1000

    def registers(self):
        v = self.values
        temp = int(round(v["temperature"] * 10)) & 0xFFFF
        if self.family == "jxct":
            regs = {0x06: int(round(v["ph"] * 100)), 0x12: int(round(v["moisture"] * 10)),
                    0x13: temp, 0x15: int(v["ec"]), 0x1E: int(v["n"]), 0x1F: int(v["p"]),
                    0x20: int(v["k"]), 0x100: self.addr, 0x101: self.baud}
        else:
            code = {b: c for c, b in BAUD_CODES.items()}[self.baud]
            regs = {0x00: int(round(v["moisture"] * 10)), 0x01: temp, 0x02: int(v["ec"]),
                    0x03: int(round(v["ph"] * 10)), 0x04: int(v["n"]), 0x05: int(v["p"]),
                    0x06: int(v["k"]), 0x1E: int(v["n"]), 0x1F: int(v["p"]), 0x20: int(v["k"]),
                    0x7D0: self.addr, 0x7D1: code}
        keep = self.MODELS[self.model]
        if keep is not None:
            keep = keep[self.family] + ((0x100, 0x101) if self.family == "jxct" else (0x7D0, 0x7D1))
            regs = {r: x for r, x in regs.items() if r in keep}
        return regs

    # -- the bus ------------------------------------------------------------------------------
    def _de_changed(self, value):
        if not value:
            self._de_low_at = clock.us

    def _char_us(self, baud):
        return 10000000 // baud

    def uart_write(self, uart, data, baud):
        """The board's UART sends ``data`` between uart.tx_start and uart.tx_end (virtual us)."""
        self._uart = uart
        start, end = uart.tx_start, uart.tx_end
        if not self.listening():
            if self.supply is not None and self.powered:
                if self.supply.on():
                    self.early_requests += 1
                else:
                    self.unpowered_requests += 1
            return
        if baud != self.baud:
            self._buf_ok = False  # noise at our rate: framing errors, no valid frame
        if self._de is not None and self._de.level() != 1:
            return  # the transceiver is not driving the bus: nothing reaches the probe
        if self._buf and start - self._last_end > 35 * self._char_us(self.baud) // 10:
            self._buf = bytearray()
            self._buf_ok = True
        self._buf.extend(data)
        self._last_end = end
        clock.at(end + 35 * self._char_us(self.baud) // 10, self._frame_end(start, end))

    def _frame_end(self, start, end):
        def check():
            if self._last_end != end:
                return  # more bytes followed: a later alarm sees the whole frame
            if not self.listening():
                self._buf = bytearray()
                return  # the supply went off before the frame ended
            frame, ok = bytes(self._buf), self._buf_ok
            self._buf = bytearray()
            self._buf_ok = True
            if self._de is not None and start <= self._de_low_at < end:
                self.cut_frames += 1
                return  # DE fell while the frame was still on the wire: its tail never left
            if ok:
                self._request(frame)
        return check

    def _request(self, frame):
        if len(frame) < 4 or _crc(frame[:-2]) != frame[-2] | (frame[-1] << 8):
            self.crc_errors += 1
            return
        if frame[0] != self.addr:
            return
        self.requests += 1
        answer = self._answer(frame)
        if self.drop:
            self.drop -= 1
            return
        if self.corrupt:
            self.corrupt -= 1
            answer = bytearray(answer)
            answer[len(answer) // 2] ^= 0x10
            answer = bytes(answer)
        if self.stray:
            answer = b"\x00" + answer
        send_at = clock.us + (self.turnaround_ms + self.delay_ms) * 1000
        arrive = send_at + len(answer) * self._char_us(self.baud)
        clock.at(arrive, self._deliver(answer, send_at, arrive))

    def _deliver(self, answer, start, end):
        def deliver():
            uart = self._uart
            if uart is None or not self.listening():
                return  # the supply went off while it answered
            if self._de is not None and (self._de.level() == 1 or self._de_low_at > start):
                self.lost_answers += 1  # the board's receiver was off for part of the answer
                return
            if uart._baud != self.baud:
                uart._receive(bytes(b ^ 0x55 for b in answer))  # framing garbage
                return
            uart._receive(answer)
        return deliver

    def _answer(self, frame):
        func = frame[1]
        regs = self.registers()
        if func in (3, 4):
            reg = (frame[2] << 8) | frame[3]
            count = (frame[4] << 8) | frame[5]
            if not 1 <= count <= 125:
                return _frame(bytes((self.addr, func | 0x80, 3)))
            values = []
            for r in range(reg, reg + count):
                if r not in regs:
                    return _frame(bytes((self.addr, func | 0x80, 2)))
                values.append(regs[r])
            body = bytearray((self.addr, func, 2 * count))
            for v in values:
                body.append((v >> 8) & 0xFF)
                body.append(v & 0xFF)
            return _frame(body)
        if func in (6, 16):
            reg = (frame[2] << 8) | frame[3]
            if func == 6:
                values = [(frame[4] << 8) | frame[5]]
            else:
                n = (frame[4] << 8) | frame[5]
                values = [(frame[7 + 2 * i] << 8) | frame[8 + 2 * i] for i in range(n)]
            addr_reg, baud_reg = (0x100, 0x101) if self.family == "jxct" else (0x7D0, 0x7D1)
            for i, v in enumerate(values):
                r = reg + i
                if r == addr_reg and 1 <= v <= 247:
                    self.next_addr = v
                elif r == baud_reg and self.family == "jxct" and v in (2400, 4800, 9600):
                    self.next_baud = v
                elif r == baud_reg and self.family == "renke" and v in BAUD_CODES:
                    self.next_baud = BAUD_CODES[v]
                else:
                    return _frame(bytes((self.addr, func | 0x80, 2 if r not in regs else 3)))
            return _frame(frame[:6])
        return _frame(bytes((self.addr, func | 0x80, 1)))
