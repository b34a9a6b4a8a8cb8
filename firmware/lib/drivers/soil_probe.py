"""RS485 soil probes ("7-in-1", "NPK", "3-in-1"): register maps of the two families sold under
the same names, and a search that finds an unknown probe's family, address and baud rate.

Sources: ../shared/data/modbus/register_maps.md (vendor manuals and the copies that agree).
- "jxct" (JXCT JXBS-3001 and relabels): pH 0x0006 x0.01, moisture 0x0012 x0.1 %, temperature
  0x0013 int16 x0.1 C, EC 0x0015 uS/cm, N/P/K 0x001E-0x0020 mg/kg; address 0x0100; 9600 baud.
- "renke" (Renke RS-...-N01-TR, VMS-3001, "industrial 7-in-1"): moisture 0x0000 x0.1 %,
  temperature 0x0001 int16 x0.1 C, EC 0x0002, pH 0x0003 x0.1, N/P/K 0x0004-0x0006;
  address 0x07D0; 4800 baud.

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

# family -> (default baud, address register, [(first register, [(name, scale, signed)...])])
PROFILES = {
    "jxct": (9600, 0x0100, [
        (0x0006, [("ph", 100, False)]),
        (0x0012, [("moisture", 10, False), ("temperature", 10, True)]),
        (0x0015, [("ec", 1, False)]),
        (0x001E, [("n", 1, False), ("p", 1, False), ("k", 1, False)]),
    ]),
    "renke": (4800, 0x07D0, [
        (0x0000, [("moisture", 10, False), ("temperature", 10, True), ("ec", 1, False),
                  ("ph", 10, False), ("n", 1, False), ("p", 1, False), ("k", 1, False)]),
    ]),
}
BAUDS = (9600, 4800, 2400)


class SoilProbe:
    def __init__(self, master, addr=1, family="jxct"):
        if family not in PROFILES:
            raise ValueError("probe family must be one of %s, not %r" % (", ".join(PROFILES), family))
        self.master = master
        self.addr = addr
        self.family = family

    async def read(self):
        """Every reading of the probe in its units (floats); ModbusError when it fails."""
        out = {}
        for first, fields in PROFILES[self.family][2]:
            regs = await self.master.read(self.addr, first, len(fields))
            for i in range(len(fields)):
                name, scale, signed = fields[i]
                value = mb.signed16(regs[i]) if signed else regs[i]
                out[name] = value / scale if scale != 1 else value
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
