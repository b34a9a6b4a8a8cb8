"""Settings: defaults merged with the board's ``config.json``, validated when loaded.

Each setting is declared once as ``name: (default, rule)``; an invalid value raises
``ConfigError`` naming the file, the field and what would be valid, so a typo never reaches the
device logic. Rules are plain tuples (data, not closures: they cost little RAM):

    ("int", lo, hi)            a whole number from lo to hi
    ("num", lo, hi)            any number from lo to hi
    ("choice", a, b, ...)      one of the listed values
    ("list", n, lo, hi)        n numbers from lo to hi
    ("ints", n, lo, hi)        n whole numbers from lo to hi
    ("rising", n, lo, hi)      n strictly increasing numbers from lo to hi
    ("name", n)                an id of 1..n letters, digits, '-' or '_' ("" = not set)
    ("types",)                 {"name": strikes 0..9, ...}, 1 to 12 alert types
    ("roles",)                 {"board role": "name", ...}

    SCHEMA = {"period_ms": (60, ("int", 60, 1000))}
    settings = config.load(SCHEMA, "config.json", "blind_shoe")
"""


class ConfigError(ValueError):
    pass


def _num(v, whole):
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (not whole and isinstance(v, float))


def problem(rule, v):
    """None when ``v`` satisfies ``rule``, else the words for what would be valid."""
    kind = rule[0]
    if kind in ("int", "num"):
        lo, hi = rule[1], rule[2]
        if _num(v, kind == "int") and lo <= v <= hi:
            return None
        return "%s from %s to %s" % ("a whole number" if kind == "int" else "a number", lo, hi)
    if kind == "choice":
        if v in rule[1:]:
            return None
        return "one of " + ", ".join([repr(o) for o in rule[1:]])
    if kind in ("list", "rising", "ints"):
        n, lo, hi = rule[1], rule[2], rule[3]
        ok = isinstance(v, list) and len(v) == n
        for i in range(len(v) if ok else 0):
            x = v[i]
            if not _num(x, kind == "ints") or not lo <= x <= hi or (kind == "rising" and i and x <= v[i - 1]):
                ok = False
        if ok:
            return None
        what = {"rising": "increasing numbers", "ints": "whole numbers"}.get(kind, "numbers")
        return "%d %s from %s to %s" % (n, what, lo, hi)
    if kind == "name":
        if isinstance(v, str) and len(v) <= rule[1] and _name_chars(v):
            return None
        return "up to %d letters, digits, '-' or '_'" % rule[1]
    if kind in ("types", "roles"):
        ok = isinstance(v, dict) and (kind == "roles" or 0 < len(v) <= 12)
        for k in v if ok else ():
            x = v[k]
            if not (isinstance(k, str) and 0 < len(k) <= 16 and _name_chars(k)):
                ok = False
            elif kind == "types" and not (_num(x, True) and 0 <= x <= 9):
                ok = False
            elif kind == "roles" and not (isinstance(x, str) and x):
                ok = False
        if ok:
            return None
        if kind == "types":
            return "an object of 1 to 12 alert names (letters, digits, '-', '_') to strikes 0-9"
        return "an object of board roles to alert names"
    if kind == "crops":
        what = "a list of up to 20 [name, lowest pH, highest pH], e.g. [[\"cabai\", 6.0, 7.0]]"
        if not isinstance(v, list) or len(v) > 20:
            return what
        for i in range(len(v)):
            c = v[i]
            if not (isinstance(c, list) and len(c) == 3):
                return "%s; entry %d is not [name, lowest pH, highest pH]" % (what, i)
            if not (isinstance(c[0], str) and 0 < len(c[0]) <= 20):
                n = " (%r has %d)" % (c[0], len(c[0])) if isinstance(c[0], str) else ""
                return "%s; entry %d: the name must be 1 to 20 characters%s" % (what, i, n)
            if not (_num(c[1], False) and _num(c[2], False) and 0 <= c[1] < c[2] <= 14):
                return "%s; entry %d: pH %r to %r must rise within 0-14" % (what, i, c[1], c[2])
        return None
    raise ValueError("unknown rule %r" % (kind,))


def _name_chars(s):
    for c in s:
        if not (c in "-_" or "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"):
            return False
    return True


def validate(schema, values, source):
    """Defaults from ``schema`` overlaid with ``values``; raises ConfigError on the first bad or
    unknown field."""
    if not isinstance(values, dict):
        raise ConfigError("%s: must be a JSON object" % source)
    out = {}
    for name in schema:
        out[name] = schema[name][0]
    for name in values:
        if name not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError("%s: unknown field %r (known fields: %s)" % (source, name, known))
        words = problem(schema[name][1], values[name])
        if words is not None:
            raise ConfigError("%s: field %r is %r; it must be %s" % (source, name, values[name], words))
        out[name] = values[name]
    return out


def load(schema, path, section=None):
    """Read ``path`` (missing file = all defaults) and validate it, or one section of it."""
    from kit import store

    data = store.read_json(path, {})
    if section is not None:
        data = data.get(section, {}) if isinstance(data, dict) else data
        path = "%s [%s]" % (path, section)
    return validate(schema, data, path)
