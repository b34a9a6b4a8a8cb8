"""RS485 soil probes ("7-in-1", "NPK", "3-in-1"): register maps of the two families sold under
the same names, and a search that finds an unknown probe's family, address and baud rate.

Sources: ../shared/data/modbus/register_maps.md (vendor manuals and the copies that agree).
- "jxct" (JXCT JXBS-3001 and relabels): pH 0x0006 x0.01, moisture 0x0012 x0.1 %, temperature
  0x0013 int16 x0.1 C, EC 0x0015 uS/cm, N/P/K 0x001E-0x0020 mg/kg; address 0x0100; 9600 baud.
- "renke" (Renke RS-...-N01-TR, VMS-3001, "industrial 7-in-1"): moisture 0x0000 x0.1 %,
  temperature 0x0001 int16 x0.1 C, EC 0x0002, pH 0x0003 x0.1, N/P/K 0x0004-0x0006;
  address 0x07D0; 4800 baud. Its 3-in-1 and 4-in-1 probes stop after EC or pH, and its
  NPK-only probes (Renke RS-NPK-N01-TR, DFRobot SEN0605) keep N/P/K at 0x001E-0x0020 only.

A probe that lacks some registers answers them with exception 2 (illegal data address): it
gives the readings it has (``SoilProbe.read``). Each reading has a documented range
(``in_range``): 65535 in a register is a fault, not a very rich soil.

The two cannot be told apart by their labels: the search asks each family's address register,
which only a probe of that family answers with its own address.

WARNING: these probes' N, P and K figures are computed from conductivity and track soil moisture
(a probe in clean water reads N 50, P 114, K 104 mg/kg: calibration_points.csv N01). They are
indications, not a soil test; the assessment says so.

    probe = SoilProbe(master, addr=1, family="jxct")
    values = await probe.read()     # {"moisture": 31.4, "temperature": 24.5, "ph": 6.52, ...}
    found = await search(master)    # ("renke", 1, 4800) or None
"""

from drivers import modbus_rtu as mb

_M = ("moisture", 10, False)
_T = ("temperature", 10, True)
_EC = ("ec", 1, False)
_NPK = [("n", 1, False), ("p", 1, False), ("k", 1, False)]

# family -> (default baud, address register, [(first register, [(name, scale, signed)...])],
#            [alternatives for a probe without a block: [(first, fields), ...] per slot, the
#             first that answers is read], highest N/P/K its documents give, mg/kg)
PROFILES = {
    "jxct": (9600, 0x0100, [
        (0x0006, [("ph", 100, False)]),
        (0x0012, [_M, _T]),
        (0x0015, [_EC]),
        (0x001E, _NPK),
    ], [], 1999),  # JXBS-3001 manual, first page: 0-1999 mg/kg (register_maps.md)
    "renke": (4800, 0x07D0, [
        (0x0000, [_M, _T, _EC, ("ph", 10, False)] + _NPK),
    ], [
        # 4-in-1 (VMS-3001-TR), 3-in-1 (DFRobot SEN0601, myduino); NPK-only probes (Renke
        # RS-NPK-N01-TR, DFRobot SEN0605) keep N/P/K at 0x001E-0x0020 (register_maps.md)
        [(0x0000, [_M, _T, _EC, ("ph", 10, False)]), (0x0000, [_M, _T, _EC])],
        [(0x001E, _NPK)],
    ], 2999),  # myduino/Industrial-Soil-Sensor-RS485 README: NPK 0-2999 mg/kg
}
BAUDS = (9600, 4800, 2400)
# The measuring ranges the probes' documents give; a reading outside is no soil value (a stuck
# or damaged register, a probe of another map): moisture 0-100 %, EC 0-20000 uS/cm (myduino's
# README for the Renke-style probes; 7-in-1 manuals of other sellers give 0-10000), pH 0-14
# (myduino lists 3-9: only what no pH can be is refused, a probe at the end of its range still
# tells a very acid soil). N/P/K: the family's own, in PROFILES.
LIMITS = {"moisture": 100, "ec": 20000, "ph": 14}


class SoilProbe:
    def __init__(self, master, addr=1, family="jxct"):
        if family not in PROFILES:
            raise ValueError("probe family must be one of %s, not %r" % (", ".join(PROFILES), family))
        self.master = master
        self.addr = addr
        self.family = family
        self.plan = None  # the blocks this probe has, once a read found them

    def in_range(self, name, value):
        """Whether ``value`` of reading ``name`` lies in the probe's documented range (the
        temperature is the caller's to judge)."""
        hi = PROFILES[self.family][4] if name in ("n", "p", "k") else LIMITS.get(name)
        return hi is None or 0 <= value <= hi

    @staticmethod
    def _put(out, fields, regs):
        for i in range(len(fields)):
            name, scale, signed = fields[i]
            value = mb.signed16(regs[i]) if signed else regs[i]
            out[name] = value / scale if scale != 1 else value

    async def read(self):
        """Every reading the probe has, in its units: {name: value}; ModbusError when it fails.

        A block the probe does not have (exception 2, illegal data address: an NPK-only or a
        3-in-1 probe) is left out, once the family's address register proves the probe is of
        this family (else the exception is raised: a probe of another map gives no numbers);
        the family's alternatives then fill in what they can. The blocks found are kept: later
        reads ask only those."""
        out = {}
        if self.plan is not None:
            for first, fields in self.plan:
                self._put(out, fields, await self.master.read(self.addr, first, len(fields)))
            return out
        prof = PROFILES[self.family]
        plan = []
        missing = None
        for first, fields in prof[2]:
            try:
                self._put(out, fields, await self.master.read(self.addr, first, len(fields)))
                plan.append((first, fields))
            except mb.ExceptionResponse as e:
                if e.code != 2:
                    raise
                missing = e
        if missing is not None:
            try:
                ours = (await self.master.read(self.addr, prof[1], 1))[0] == self.addr
            except mb.ExceptionResponse:
                ours = False
            if not ours:
                raise missing
            for slot in prof[3]:
                for first, fields in slot:
                    if fields[0][0] in out:
                        break  # the main blocks gave these
                    try:
                        self._put(out, fields, await self.master.read(self.addr, first, len(fields)))
                    except mb.ExceptionResponse as e:
                        if e.code != 2:
                            raise
                        continue
                    plan.append((first, fields))
                    break
            if not out:
                raise missing
        self.plan = plan
        return out


async def search(master, addrs=None, bauds=BAUDS, families=None, timeout_ms=120):
    """Find the probe on the bus: (family, address, baud), or None. Each family's own baud comes
    first; an exception answer means the address and baud are right and the family is not."""
    families = families or list(PROFILES)
    addrs = addrs or range(1, 17)
    saved = master.baud, master.timeout_ms, master.retries
    master.timeout_ms, master.retries = timeout_ms, 0
    order = []
    for fam in families:
        if PROFILES[fam][0] not in order:
            order.append(PROFILES[fam][0])
    for b in bauds:
        if b not in order:
            order.append(b)
    try:
        for baud in order:
            master.set_baud(baud)
            for addr in addrs:
                for fam in families:
                    try:
                        got = await master.read(addr, PROFILES[fam][1], 1)
                    except mb.ExceptionResponse:
                        continue  # someone answers here: another family
                    except mb.ModbusError:
                        break  # silence or noise: nobody at this address and baud
                    if got[0] == addr:
                        return fam, addr, baud
    finally:
        master.timeout_ms, master.retries = saved[1], saved[2]
        master.set_baud(saved[0])
    return None
