"""Virtual matrix keypad (4x4 membrane keypad; any rows x cols with a matching keymap).

Electrical model: each key is a switch between its row wire and its column wire. The part is
the level source of the column pins; a column reads
- 0 when the pressed keys connect it to a row pin the firmware drives low (an output or an
  open-drain pin written 0). Without diodes current flows through any chain of pressed keys:
  holding 1, 2 and 4 connects column 2 to row 2 through 2 -> row 1 -> 1 -> column 1 -> 4, so 5
  reads pressed while row 2 is scanned. That is ghosting, as on the real part;
- with ``diodes=True`` (a diode in series with every key, column -> row) only the key at the
  crossing of the column and a low row counts, and a high row cannot pull a column up;
- otherwise 1 through the column pin's pull-up, or 1 when the keys connect it to a push-pull
  row driven high; a column without pull-up and without a high row floats and reads 0
  (the virtual board's rule for floating inputs; a real one drifts).
A column connected to both a row driven low and a push-pull row driven high is a short between
two outputs on the real board: it reads 0 here and each such read counts in ``shorts``.

Contact bounce (``bounce=True``): on every press and release the contact toggles at 0, 0.35,
0.9, 1.6, 2.5, 3.4, 4.2, 4.7 and 5.0 ms after the edge (an odd number of toggles, so it settles
in the new state after 5 ms; membrane and dome contacts chatter for 1-5 ms). The pattern is
fixed, so every run is the same. ``bounce=False`` gives clean edges.

Inputs (times on the virtual clock): ``press(key, hold_ms)``, ``type(keys, hold_ms, gap_ms)``,
``hold(keys)`` and ``release(keys)``. A scenario input ``{"part": "keypad", "keys": "1234#"}``
maps to ``type(keys, hold_ms=80, gap_ms=80)``.

Known differences from the real part: contact resistance, line capacitance (no settle time is
needed after driving a row) and the strength of a short are not modelled; ``next_change`` is
None, so ``machine.time_pulse_us`` on a column waits out its timeout, as on a button pin.
"""

from vhw import clock

KEYMAP_4X4 = "123A456B789C*0#D"
# Offsets (us) after an edge at which a bouncing contact toggles; odd count: ends in the new state.
_CHATTER_US = (0, 350, 900, 1600, 2500, 3400, 4200, 4700, 5000)
_BOUNCE_END_US = 5000


class Keypad:
    def __init__(self, board, rows, cols, keymap=KEYMAP_4X4, diodes=False, bounce=True, name="keypad"):
        rows = list(rows)
        cols = list(cols)
        if len(rows) * len(cols) != len(keymap) or not rows:
            raise ValueError("keypad keymap %r has %d keys but %d rows x %d cols make %d"
                             % (keymap, len(keymap), len(rows), len(cols), len(rows) * len(cols)))
        for i in range(len(keymap)):
            if keymap.find(keymap[i]) != i:
                raise ValueError("keypad keymap %r has %r twice" % (keymap, keymap[i]))
        self.board = board
        self.name = name
        self.keymap = keymap
        self.diodes = diodes
        self.bounce = bounce
        self.nr = len(rows)
        self.nc = len(cols)
        self._all_cols = (1 << self.nc) - 1
        self.rows = [board.pin(g) for g in rows]
        self.cols = [board.pin(g) for g in cols]
        self._col_index = {}
        for c in range(self.nc):
            self._col_index[cols[c]] = c
        for state in self.rows:
            state.logged = False  # the scan writes rows thousands of times a second
        for state in self.cols:
            state.source = self
        self._down = 0  # keys pressed (after the bounce)
        self._bouncing = 0  # keys whose last edge is less than _BOUNCE_END_US ago
        self._edge_us = [0] * len(keymap)
        self.shorts = 0
        self.presses = 0
        board.attach(name, self)

    # -- inputs ---------------------------------------------------------------------------------
    def _index(self, keys):
        out = []
        for k in keys:
            i = self.keymap.find(k) if len(k) == 1 else -1
            if i < 0:
                raise ValueError("keypad has no key %r (valid: %s)" % (k, self.keymap))
            out.append(i)
        return out

    def press(self, key, hold_ms=80):
        """Press ``key`` now and release it ``hold_ms`` later."""
        if len(key) != 1:
            raise ValueError("press takes one key, not %r (use type for several)" % (key,))
        self.type(key, hold_ms, 0)

    def type(self, keys, hold_ms=80, gap_ms=80):
        """Type ``keys`` one after the other: each held ``hold_ms``, ``gap_ms`` between a
        release and the next press; the first press is now. Returns the ms until the last
        release."""
        if hold_ms < 0 or gap_ms < 0:
            raise ValueError("hold_ms and gap_ms must be >= 0, not %r, %r" % (hold_ms, gap_ms))
        idx = self._index(keys)
        step = hold_ms + gap_ms
        for n in range(len(idx)):
            start = n * step
            if start:
                clock.after(int(start * 1000), self._later(idx[n], True))
            else:
                self._edge(idx[n], True)
            clock.after(int((start + hold_ms) * 1000), self._later(idx[n], False))
        return len(idx) * step - gap_ms if idx else 0

    def hold(self, keys):
        """Press every key in ``keys`` now and keep them pressed (several at once: ghosts)."""
        for i in self._index(keys):
            self._edge(i, True)

    def release(self, keys):
        for i in self._index(keys):
            self._edge(i, False)

    def pressed(self):
        """The keys held now (after the bounce), in keymap order."""
        return "".join([self.keymap[i] for i in range(len(self.keymap)) if self._down >> i & 1])

    def _later(self, i, down):
        def edge():
            self._edge(i, down)

        return edge

    def _edge(self, i, down):
        bit = 1 << i
        if bool(self._down & bit) == down:
            return
        if down:
            self._down |= bit
            self.presses += 1
        else:
            self._down &= ~bit
        if self.bounce:
            self._edge_us[i] = clock.us
            self._bouncing |= bit

    # -- electrical behaviour -----------------------------------------------------------------
    def contacts(self):
        """Bitmask of the contacts closed at this instant (bounce included), bit row*ncols+col."""
        closed = self._down
        if not self._bouncing:
            return closed
        now = clock.us
        for i in range(len(self._edge_us)):
            bit = 1 << i
            if not self._bouncing & bit:
                continue
            dt = now - self._edge_us[i]
            if dt >= _BOUNCE_END_US:
                self._bouncing &= ~bit
                continue
            toggles = 0
            for t in _CHATTER_US:
                if t <= dt:
                    toggles += 1
            if not toggles & 1:
                closed ^= bit  # between toggles back at the old state
        return closed

    def level(self, gpio):
        c = self._col_index[gpio]
        closed = self.contacts()
        nc = self.nc
        low = 0
        high = 0
        for r in range(self.nr):
            s = self.rows[r]
            if s.mode in ("out", "od") and s.out == 0:
                low |= 1 << r
            elif s.mode == "out":
                high |= 1 << r
        if self.diodes:
            rows = 0
            for r in range(self.nr):
                if closed >> (r * nc + c) & 1:
                    rows |= 1 << r
            high = 0  # a diode blocks current from a high row into the column
        else:
            cols = 1 << c
            rows = 0
            while True:  # grow the set of wires the pressed keys join to this column
                grown = rows
                for r in range(self.nr):
                    if (closed >> (r * nc)) & cols:
                        grown |= 1 << r
                more = cols
                for r in range(self.nr):
                    if grown >> r & 1:
                        more |= (closed >> (r * nc)) & self._all_cols
                if grown == rows and more == cols:
                    break
                rows = grown
                cols = more
        if rows & low:
            if rows & high:
                self.shorts += 1
            return 0
        if rows & high:
            return 1
        return 1 if self.cols[c].pull == "up" else 0

    def next_change(self, gpio):
        return None
