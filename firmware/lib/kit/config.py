"""Settings: defaults merged with the board's ``config.json``, validated when loaded.

Each setting is declared once with a checker; an invalid value raises ``ConfigError`` naming the
file, the field and what would be valid, so a typo never reaches the device logic.

    SCHEMA = {"period_ms": (60, config.int_range(60, 1000))}
    settings = config.load(SCHEMA, "/config.json")
"""


class ConfigError(ValueError):
    pass


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, int) or isinstance(v, float)) and not isinstance(v, bool)


def int_range(lo, hi):
    def check(v):
        if not _is_int(v) or not lo <= v <= hi:
            return "a whole number from %d to %d" % (lo, hi)
        return None

    return check


def num_range(lo, hi):
    def check(v):
        if not _is_num(v) or not lo <= v <= hi:
            return "a number from %s to %s" % (lo, hi)
        return None

    return check


def choice(*options):
    def check(v):
        if v not in options:
            return "one of " + ", ".join([repr(o) for o in options])
        return None

    return check


def increasing(count, lo, hi):
    def check(v):
        if not isinstance(v, list) or len(v) != count or not all([_is_num(x) for x in v]):
            return "a list of %d numbers" % count
        for i in range(count):
            if not lo <= v[i] <= hi or (i and v[i] <= v[i - 1]):
                return "%d increasing numbers from %s to %s" % (count, lo, hi)
        return None

    return check


def num_list(count, lo, hi):
    def check(v):
        if not isinstance(v, list) or len(v) != count:
            return "a list of %d numbers from %s to %s" % (count, lo, hi)
        for x in v:
            if not _is_num(x) or not lo <= x <= hi:
                return "a list of %d numbers from %s to %s" % (count, lo, hi)
        return None

    return check


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
        problem = schema[name][1](values[name])
        if problem is not None:
            raise ConfigError("%s: field %r is %r; it must be %s" % (source, name, values[name], problem))
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
