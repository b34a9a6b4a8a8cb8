"""Modbus RTU master over RS485, for soil probes (JXCT, Renke and their many relabels).

Wiring: a MAX485-style transceiver (or an auto-direction module). RO -> the UART's RX pin,
DI -> its TX pin, DE and /RE tied together -> the direction pin (high = transmit). A/B to the
probe's A/B; the probe itself wants 5-24 V (most "12-24 V": not the ESP32's 3.3 V). WARNING: a
MAX485 powered from 5 V drives RO at 5 V: use a 3.3 V part (MAX3485, SP3485) or a divider on RO.

The protocol (Modbus over serial line V1.02, modbus.org):
- a frame is ADDRESS FUNCTION DATA... CRC, the CRC-16/MODBUS (polynomial 0xA001 reflected,
  start 0xFFFF) sent low byte first;
- frames are separated by at least 3.5 character times of silence (1.75 ms above 19200 baud);
  a character is 10 bits on the wire for 8N1 (start, 8 data, stop), so 3.65 ms at 9600 baud;
- an answer with FUNCTION | 0x80 is an exception: its one data byte says why (EXCEPTIONS).

Half duplex: the direction pin is raised just before the request and lowered as soon as its last
stop bit has left (``UART.flush()`` waits for that), so the probe's answer, which may start after
a few character times, finds the receiver on. A stray byte before the answer (a transceiver
glitch when the direction changes is common) is skipped.

    master = Master(uart, de_pin, baud=9600)
    regs = await master.read(1, 0x0012, 2)      # [moisture x10, temperature x10] of a JXCT probe
    # raises NoAnswer, CRCError, FrameError or ExceptionResponse (all ModbusError)
"""

import asyncio
import time

READ_HOLDING = 3
READ_INPUT = 4
WRITE_SINGLE = 6
WRITE_MULTIPLE = 16

EXCEPTIONS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
              4: "slave device failure", 5: "acknowledge", 6: "slave device busy",
              8: "memory parity error", 10: "gateway path unavailable",
              11: "gateway target failed to respond"}


class ModbusError(Exception):
    """The probe gave no usable answer."""


class NoAnswer(ModbusError):
    pass


class CRCError(ModbusError):
    pass


class FrameError(ModbusError):
    """Wrong address, function or length: not the answer to this request."""


class ExceptionResponse(ModbusError):
    def __init__(self, code):
        super().__init__("exception %d (%s)" % (code, EXCEPTIONS.get(code, "unknown")))
        self.code = code


def crc16(data, start=0, end=None):
    """CRC-16/MODBUS of data[start:end]. Check value: crc16(b"123456789") == 0x4B37."""
    crc = 0xFFFF
    for i in range(start, len(data) if end is None else end):
        crc ^= data[i]
        for _ in range(8):
            if crc & 1:
                crc = (crc >> 1) ^ 0xA001
            else:
                crc >>= 1
    return crc


def with_crc(body):
    crc = crc16(body)
    return bytes(body) + bytes((crc & 0xFF, crc >> 8))


def crc_ok(frame):
    n = len(frame)
    return n >= 4 and crc16(frame, 0, n - 2) == frame[n - 2] | (frame[n - 1] << 8)


def _check_addr(addr, broadcast=False):
    if not (0 if broadcast else 1) <= addr <= 247:
        raise ValueError("Modbus address must be 1-247, not %r" % (addr,))


def read_request(addr, reg, count, func=READ_HOLDING):
    """The request for ``count`` registers from ``reg`` (functions 3 and 4)."""
    _check_addr(addr)
    if func not in (READ_HOLDING, READ_INPUT):
        raise ValueError("read function must be 3 or 4, not %r" % (func,))
    if not 1 <= count <= 125 or not 0 <= reg <= 0xFFFF:
        raise ValueError("read 1-125 registers from 0x0000-0xFFFF (got %r at %r)" % (count, reg))
    return with_crc(bytes((addr, func, reg >> 8, reg & 0xFF, count >> 8, count & 0xFF)))


def write_request(addr, reg, values):
    """Function 16 (write multiple registers): what the probes' address and baud registers take."""
    _check_addr(addr, broadcast=True)
    n = len(values)
    if not 1 <= n <= 123:
        raise ValueError("write 1-123 registers, not %d" % n)
    body = bytearray((addr, WRITE_MULTIPLE, reg >> 8, reg & 0xFF, 0, n, 2 * n))
    for v in values:
        if not 0 <= v <= 0xFFFF:
            raise ValueError("register values are 0-65535, not %r" % (v,))
        body.append(v >> 8)
        body.append(v & 0xFF)
    return with_crc(body)


def answer_length(func, request):
    """Bytes of a normal answer to ``request`` (exception answers are 5)."""
    if func in (READ_HOLDING, READ_INPUT):
        return 5 + 2 * ((request[4] << 8) | request[5])
    return 8  # 5 and 6 echo, 15 and 16 give address and count


def find_answer(buf, addr, func, length):
    """The answer frame in ``buf``: skips stray leading bytes. Returns the frame, or None when
    ``buf`` may still be incomplete; raises CRCError/FrameError/ExceptionResponse on a
    complete frame that is wrong."""
    n = len(buf)
    for start in range(n):
        if buf[start] != addr:
            continue
        if n - start >= 2 and buf[start + 1] == func | 0x80:
            if n - start < 5:
                return None
            frame = buf[start:start + 5]
            if crc_ok(frame):
                raise ExceptionResponse(frame[2])
            continue
        if n - start >= 2 and buf[start + 1] == func:
            if func in (READ_HOLDING, READ_INPUT) and n - start >= 3 and buf[start + 2] != length - 5:
                declared = 5 + buf[start + 2]
                if n - start >= declared and crc_ok(buf[start:start + declared]):
                    raise FrameError("%d registers in the answer, %d asked"
                                     % (buf[start + 2] // 2, (length - 5) // 2))
            if n - start < length:
                return None
            frame = buf[start:start + length]
            if crc_ok(frame):
                if func in (READ_HOLDING, READ_INPUT) and frame[2] != length - 5:
                    raise FrameError("byte count %d, expected %d" % (frame[2], length - 5))
                return frame
    if n >= length + 1:  # as long as an answer and one stray byte, and still no valid frame
        if buf[0] == addr and buf[1] == func:
            raise CRCError("CRC mismatch in %s" % hexlify(buf[:length]))
        raise FrameError("no answer from address %d function %d in %s" % (addr, func, hexlify(buf)))
    return None


def complete_answer(buf, addr, func, length):
    """The answer frame in a buffer to which nothing more will come, or the error saying what
    is wrong with it."""
    found = find_answer(buf, addr, func, length)
    if found is not None:
        return found
    if len(buf) >= 4 and crc_ok(buf):
        if buf[0] != addr:
            raise FrameError("answer from address %d, expected %d" % (buf[0], addr))
        if buf[1] & 0x7F != func:
            raise FrameError("answer to function %d, expected %d" % (buf[1] & 0x7F, func))
        raise FrameError("answer of %d bytes, expected %d" % (len(buf), length))
    raise CRCError("answer cut short or corrupt: %s" % hexlify(buf))


def parse_read(frame, addr, func, count):
    """Register values (unsigned 16-bit) of a complete read answer; raises on any fault."""
    found = complete_answer(frame, addr, func, 5 + 2 * count)
    return [(found[3 + 2 * i] << 8) | found[4 + 2 * i] for i in range(count)]


def signed16(v):
    return v - 0x10000 if v & 0x8000 else v


def hexlify(data):
    return " ".join("%02X" % b for b in data)


def char_us(baud):
    """One 8N1 character on the wire: 10 bits."""
    return 10000000 // baud


def silence_us(baud):
    """The 3.5-character gap that ends a frame (35 bits, rounded up); fixed 1750 us above
    19200 baud (the spec)."""
    return 1750 if baud > 19200 else (35000000 + baud - 1) // baud


class Master:
    """One RS485 bus. ``de``: the direction pin (None for an auto-direction module)."""

    def __init__(self, uart, de=None, baud=9600, timeout_ms=300, retries=2):
        self.uart = uart
        self.de = de
        self.baud = baud
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.last_us = time.ticks_us()  # end of the last traffic on the bus
        self.errors = 0  # failed attempts, retries included
        if de is not None:
            de.value(0)  # receive
        uart.init(baudrate=baud, bits=8, parity=None, stop=1, timeout=0)

    def set_baud(self, baud):
        self.baud = baud
        self.uart.init(baudrate=baud, bits=8, parity=None, stop=1, timeout=0)

    async def _quiet(self):
        """Wait for the inter-frame silence after the last traffic."""
        wait = silence_us(self.baud) - time.ticks_diff(time.ticks_us(), self.last_us)
        if wait > 0:
            await asyncio.sleep_ms((wait + 999) // 1000)

    async def transact(self, request, func, length):
        """Send ``request`` and return the checked answer frame (retries on any fault)."""
        addr = request[0]
        tries = self.retries + 1
        while True:
            try:
                return await self._once(request, addr, func, length)
            except ExceptionResponse:
                raise  # the probe understood and refused: asking again gets the same answer
            except ModbusError:
                self.errors += 1
                tries -= 1
                if not tries:
                    raise

    async def _once(self, request, addr, func, length):
        await self._quiet()
        while self.uart.any():  # a late answer to an earlier request: not ours
            self.uart.read()
        if self.de is not None:
            self.de.value(1)
        self.uart.write(request)
        self.uart.flush()  # the last stop bit has left
        if self.de is not None:
            self.de.value(0)
        start = quiet_since = time.ticks_ms()
        buf = b""
        gap_ms = silence_us(self.baud) // 1000 + 1
        while True:
            n = self.uart.any()
            if n:
                buf += self.uart.read(n) or b""
                quiet_since = time.ticks_ms()
                found = find_answer(buf, addr, func, length)
                if found is not None:
                    self.last_us = time.ticks_us()
                    return found
            elif buf and time.ticks_diff(time.ticks_ms(), quiet_since) > gap_ms:
                self.last_us = time.ticks_us()
                return complete_answer(buf, addr, func, length)
            if time.ticks_diff(time.ticks_ms(), start) > self.timeout_ms:
                self.last_us = time.ticks_us()
                if buf:
                    raise CRCError("incomplete answer %s" % hexlify(buf))
                raise NoAnswer("no answer from address %d within %d ms" % (addr, self.timeout_ms))
            await asyncio.sleep_ms(1)

    async def read(self, addr, reg, count, func=READ_HOLDING):
        """``count`` registers from ``reg`` as unsigned 16-bit values."""
        request = read_request(addr, reg, count, func)
        frame = await self.transact(request, func, 5 + 2 * count)
        return [(frame[3 + 2 * i] << 8) | frame[4 + 2 * i] for i in range(count)]

    async def write(self, addr, reg, values):
        request = write_request(addr, reg, values)
        frame = await self.transact(request, WRITE_MULTIPLE, 8)
        if frame[2:6] != request[2:6]:
            raise FrameError("write echo %s differs from the request" % hexlify(frame))
