"""The virtual hardware offers nothing a real ESP32 lacks: every fake name is in the stubs.

The fakes (tools/virtual/{machine,network,esp32,time,onewire,_onewire}.py) stand in for the ESP32 port's built-in
modules, so firmware that runs on them must also run on a board. This test reads both sides as
text with ``ast`` (the fakes need the virtual board to import; the stubs are not importable) and
checks, per public name of a fake:

- the name exists in the matching MicroPython ESP32 stub (``machine.pyi``, ``network.pyi``,
  ``esp32.pyi``, ``time.pyi``) and is the same kind of thing (function, class, constant);
- constants have the stub's value wherever the stub gives a literal (``OUT: Final[int] = 3``);
- functions and methods: at least one of the stub's overloads accepts the fake's parameter list
  (``overload_problems``), or, failing that, all overloads merged into one parameter list do
  (``merged``; a fake cannot overload). A stub ``def f(*args, **kwargs)`` accepts anything.

What counts as a fake's name: functions, classes and assignments at module level (also inside
module-level ``if``/``try`` blocks), and a public class's methods and class attributes, including
those inherited from a base class in the same file. Imports are not definitions (``clock``,
``Reset``, ``_board``, ``errno`` come from ``vhw``). Names starting with ``_`` are helpers and
skipped, except a class's ``__init__``/``__call__`` and any other dunder ``object`` lacks: those
are how the firmware calls the class. ``VIRTUAL_ONLY`` lists the few names that exist only to
control the virtual board, each with its reason.

The stubs live in ``.venv/mpstubs`` (``make venv`` installs them); ``KAMPUNG_STUBS`` overrides
that folder.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAKES = REPO / "tools" / "virtual"
# fake module -> its stub, relative to the stubs folder (time.py is compared with the ESP32 time)
STUB_FILES = {
    "machine": "esp32_stubs/machine.pyi",
    "network": "esp32_stubs/network.pyi",
    "esp32": "esp32_stubs/esp32.pyi",
    "time": "esp32_stubs/time.pyi",
    "onewire": "esp32_stubs/onewire.pyi",
    "_onewire": "esp32_stubs/_onewire.pyi",
}
# Names a fake defines that no board has, on purpose. Keep this tiny: every entry is a way for
# firmware to pass in the simulator and fail on a board.
VIRTUAL_ONLY = {
    "time.rtc_base": "the virtual RTC: seconds since 2000 at clock 0, set by "
    "machine.RTC().datetime() and by tests; firmware sets the time through RTC",
}
# Dunders every object has: a fake defining one (``__repr__``) offers nothing a board lacks.
# ``__init__`` is among them but is how a class is called, so it is always checked.
_OBJECT_DUNDERS = frozenset(dir(object)) - {"__init__"}
_NO_VALUE = object()


def stubs_dir() -> Path:
    return Path(os.environ.get("KAMPUNG_STUBS") or REPO / ".venv" / "mpstubs")


# -- reading definitions with ast ------------------------------------------------------------


@dataclass
class Param:
    name: str
    required: bool


@dataclass
class Sig:
    """One parameter list, without ``self``: ``posonly`` and ``args`` are positional in order."""

    posonly: list[Param]
    args: list[Param]
    vararg: bool
    kwonly: list[Param]
    varkw: bool
    text: str

    @property
    def positional(self) -> list[Param]:
        return self.posonly + self.args

    def keyword(self, name: str) -> Param | None:
        for p in self.args + self.kwonly:
            if p.name == name:
                return p
        return None

    def accepts_anything(self) -> bool:
        return self.vararg and self.varkw and not (self.posonly or self.args or self.kwonly)


@dataclass
class Definition:
    kind: str  # "function", "class" or "constant"
    line: int
    sigs: list[Sig] = field(default_factory=list)  # function: every def (stub: the overloads)
    value: object = _NO_VALUE  # constant: the literal value, if one is given
    members: dict[str, Definition] = field(default_factory=dict)  # class: own body
    bases: list[str] = field(default_factory=list)  # class: base names


def _sig(fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> Sig:
    a = fn.args
    positional = a.posonlyargs + a.args
    n_required = len(positional) - len(a.defaults)
    params = [Param(arg.arg, i < n_required) for i, arg in enumerate(positional)]
    n_posonly = len(a.posonlyargs)
    decorators = {ast.unparse(d) for d in fn.decorator_list}
    if method and "staticmethod" not in decorators and params:
        params = params[1:]  # self / cls
        n_posonly = max(0, n_posonly - 1)
    kwonly = [Param(arg.arg, d is None) for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)]
    text = "%s(%s)" % (fn.name, ast.unparse(a))
    return Sig(params[:n_posonly], params[n_posonly:], a.vararg is not None, kwonly,
               a.kwarg is not None, text)


def _literal(node: ast.expr | None) -> object:
    if node is None:
        return _NO_VALUE
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError):
        return _NO_VALUE
    return _NO_VALUE if value is Ellipsis else value


def _statements(body: list[ast.stmt]):
    """Top-level statements, looking into if/try/with blocks (still the same scope)."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _statements(node.body)
            yield from _statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _statements(block)
            for handler in node.handlers:
                yield from _statements(handler.body)
        elif isinstance(node, ast.With):
            yield from _statements(node.body)
        else:
            yield node


def definitions(source: str, method: bool = False, body: list[ast.stmt] | None = None
                ) -> dict[str, Definition]:
    """Names defined (not imported) in a module's or class's body, in source order."""
    if body is None:
        body = ast.parse(source).body
    found: dict[str, Definition] = {}
    for node in _statements(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            d = found.get(node.name)
            if d is None or d.kind != "function":
                d = found[node.name] = Definition("function", node.lineno)
            d.sigs.append(_sig(node, method))
        elif isinstance(node, ast.ClassDef):
            found[node.name] = Definition(
                "class", node.lineno, members=definitions(source, True, node.body),
                bases=[ast.unparse(b) for b in node.bases])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                alias = found.get(node.value.id) if isinstance(node.value, ast.Name) else None
                if alias is not None and alias.kind == "function":  # localtime = gmtime
                    found[target.id] = Definition("function", node.lineno, sigs=alias.sigs)
                else:
                    found[target.id] = Definition("constant", node.lineno, value=_literal(node.value))
    return found


def class_members(module: dict[str, Definition], name: str) -> dict[str, Definition]:
    """A class's members with those of its bases defined in the same file (own ones win)."""
    cls = module[name]
    members: dict[str, Definition] = {}
    for base in cls.bases:
        if base in module and module[base].kind == "class" and base != name:
            members.update(class_members(module, base))
    members.update(cls.members)
    return members


def _public_member(name: str) -> bool:
    if name.startswith("__") and name.endswith("__"):
        return name not in _OBJECT_DUNDERS
    return not name.startswith("_")


# -- comparing -------------------------------------------------------------------------------


def overload_problems(fake: Sig, stub: Sig) -> list[str]:
    """Why ``stub`` does not accept ``fake``'s parameter list (empty: it does).

    - positional parameters in the same order; names may differ only where the stub's are
      positional-only; a fake positional parameter beyond the stub's needs a stub ``*args``;
    - each fake keyword-only parameter is a keyword-capable stub parameter (or the stub has
      ``**kwargs``); fake ``*args``/``**kwargs`` need the stub's;
    - a parameter the fake requires is required in the stub, so the fake never requires what the
      stub makes optional; whatever the stub requires, the fake takes.
    """
    if stub.accepts_anything():
        return []
    problems = []
    stub_pos = stub.positional
    for i, fp in enumerate(fake.positional):
        if i < len(stub_pos):
            sp = stub_pos[i]
            if i >= len(stub.posonly) and fp.name != sp.name:
                problems.append("positional parameter %d is %r, the stub's is %r (which callers "
                                "may pass by keyword)" % (i + 1, fp.name, sp.name))
            if fp.required and not sp.required:
                problems.append("%r is required, the stub makes it optional" % fp.name)
        elif not stub.vararg:
            where = " (keyword-only there)" if stub.keyword(fp.name) else ""
            problems.append("%r is positional parameter %d, the stub has only %d%s"
                            % (fp.name, i + 1, len(stub_pos), where))
    for i, sp in enumerate(stub_pos[len(fake.positional):], len(fake.positional)):
        if sp.required and not fake.vararg:
            problems.append("the stub requires positional parameter %d (%r), the fake lacks it"
                            % (i + 1, sp.name))
    for fp in fake.kwonly:
        sp = stub.keyword(fp.name)
        if sp is None:
            if not stub.varkw:
                problems.append("keyword %r is not a keyword parameter in the stub" % fp.name)
        elif fp.required and not sp.required:
            problems.append("keyword %r is required, the stub makes it optional" % fp.name)
    for sp in stub.kwonly:
        if sp.required and fake.keyword(sp.name) is None and not fake.varkw:
            problems.append("the stub requires keyword %r, the fake lacks it" % sp.name)
    if fake.vararg and not stub.vararg:
        problems.append("the fake takes *args, the stub does not")
    if fake.varkw and not stub.varkw:
        problems.append("the fake takes **kwargs, the stub does not")
    return problems


def merged(overloads: list[Sig]) -> Sig:
    """The narrowest single parameter list that takes every call any of ``overloads`` takes.

    A parameter is required only if every overload requires it; positional-only only if every
    overload that has it says so; keyword-only parameters and ``*args``/``**kwargs`` are pooled.
    """
    width = max(len(s.positional) for s in overloads)
    positional, n_posonly = [], 0
    for i in range(width):
        here = [s.positional[i] for s in overloads if i < len(s.positional)]
        required = len(here) == len(overloads) and all(p.required for p in here)
        named = [s.positional[i].name for s in overloads
                 if len(s.posonly) <= i < len(s.positional)]
        if not named and n_posonly == i:  # positional-only everywhere, and so far all were
            n_posonly += 1
        positional.append(Param("|".join(dict.fromkeys(named or [here[0].name])), required))
    posonly, args = positional[:n_posonly], positional[n_posonly:]
    kwonly: dict[str, Param] = {}
    for name in dict.fromkeys(p.name for s in overloads for p in s.kwonly):
        found = [p for s in overloads for p in s.kwonly if p.name == name]
        kwonly[name] = Param(name, len(found) == len(overloads) and all(p.required for p in found))
    text = "<merged overloads>(%s)" % ", ".join(
        [p.name + ("" if p.required else "=...") for p in posonly]
        + (["/"] if posonly else [])
        + [p.name + ("" if p.required else "=...") for p in args]
        + (["*args"] if any(s.vararg for s in overloads) else ["*"] if kwonly else [])
        + [p.name + ("" if p.required else "=...") for p in kwonly.values()]
        + (["**kwargs"] if any(s.varkw for s in overloads) else []))
    return Sig(posonly, args, any(s.vararg for s in overloads), list(kwonly.values()),
               any(s.varkw for s in overloads), text)


def signature_problems(fake: Sig, overloads: list[Sig]) -> list[str]:
    """Empty if one overload, or failing that all of them merged, accepts ``fake``.

    The merged fallback exists because a fake is one Python function and cannot overload: the
    ESP32 port parses keywords with ``mp_arg_parse_all``, so ``Timer(0, period=.., freq=..)`` is
    one C signature that the stubs split into an overload per keyword.
    """
    per_overload = [overload_problems(fake, s) for s in overloads]
    if any(not p for p in per_overload):
        return []
    combined = merged(overloads) if len(overloads) > 1 else None
    combined_problems = overload_problems(fake, combined) if combined else []
    if combined is not None and not combined_problems:
        return []
    lines = ["  fake: def %s" % fake.text]
    for stub, why in zip(overloads, per_overload, strict=True):
        lines.append("  stub: def %s\n        -> %s" % (stub.text, "; ".join(why)))
    if combined is not None:
        lines.append("  stub: %s\n        -> %s" % (combined.text, "; ".join(combined_problems)))
    return lines


def _compare(qualname: str, fake: Definition, stub: Definition | None) -> list[str]:
    qualname = "%s (fake line %d)" % (qualname, fake.line)
    if stub is None:
        return ["%s: not in the stub (a real ESP32 has no such name)" % qualname]
    if fake.kind != stub.kind:
        return ["%s: a %s here, a %s in the stub" % (qualname, fake.kind, stub.kind)]
    if fake.kind == "constant":
        if stub.value is not _NO_VALUE and (type(fake.value) is not type(stub.value)
                                            or fake.value != stub.value):
            return ["%s = %r here, %r in the stub" % (qualname, fake.value, stub.value)]
        return []
    problems = []
    for fsig in fake.sigs if fake.kind == "function" else []:
        lines = signature_problems(fsig, stub.sigs)
        if lines:
            problems.append("\n".join(["%s: no stub overload accepts the fake's parameters"
                                       % qualname] + lines))
    return problems


def check_module(module: str, fake_source: str, stub_source: str) -> dict[str, list[str]]:
    """{qualified name: problems} for every public name the fake defines."""
    fake = definitions(fake_source)
    stub = definitions(stub_source)
    report: dict[str, list[str]] = {}
    for name, fdef in fake.items():
        if name.startswith("_"):
            continue
        qual = "%s.%s" % (module, name)
        if qual in VIRTUAL_ONLY:
            report[qual] = []
            continue
        sdef = stub.get(name)
        report[qual] = _compare(qual, fdef, sdef)
        if fdef.kind != "class":
            continue
        stub_class = sdef is not None and sdef.kind == "class"
        stub_members = class_members(stub, name) if stub_class else {}
        for member, mdef in class_members(fake, name).items():
            if _public_member(member):
                mqual = "%s.%s" % (qual, member)
                report[mqual] = (_compare(mqual, mdef, stub_members.get(member)) if stub_class
                                 else ["%s: the stub has no class %s" % (mqual, name)])
    return report


# -- the tests -------------------------------------------------------------------------------


def _fake_source(module: str) -> str:
    return (FAKES / ("%s.py" % module)).read_text()


def _stub_source(module: str) -> str:
    path = stubs_dir() / STUB_FILES[module]
    if not path.is_file():
        pytest.skip("MicroPython ESP32 stubs not found at %s: run `make venv` (or set "
                    "KAMPUNG_STUBS to the folder holding esp32_stubs/)" % stubs_dir())
    return path.read_text()


def _fake_names() -> list[tuple[str, str]]:
    """(module, qualified name) for every public name of every fake; needs only the fakes."""
    names = []
    for module in STUB_FILES:
        fake = definitions(_fake_source(module))
        for name, d in fake.items():
            if name.startswith("_"):
                continue
            names.append((module, "%s.%s" % (module, name)))
            if d.kind == "class":
                for member in class_members(fake, name):
                    if _public_member(member):
                        names.append((module, "%s.%s.%s" % (module, name, member)))
    return names


FAKE_NAMES = _fake_names()
_reports: dict[str, dict[str, list[str]]] = {}


def _report(module: str) -> dict[str, list[str]]:
    if module not in _reports:
        _reports[module] = check_module(module, _fake_source(module), _stub_source(module))
    return _reports[module]


def test_stubs_installed():
    root = stubs_dir()
    if not root.is_dir():
        pytest.skip("MicroPython ESP32 stubs not found at %s: run `make venv`" % root)
    missing = [rel for rel in STUB_FILES.values() if not (root / rel).is_file()]
    assert not missing, "stubs folder %s lacks %s: run `make venv` again" % (root, missing)


@pytest.mark.parametrize(("module", "qualname"), FAKE_NAMES, ids=[q for _, q in FAKE_NAMES])
def test_fake_conforms(module, qualname):
    problems = _report(module)[qualname]
    assert not problems, "\n".join(problems)


def test_virtual_only_is_honest():
    """Every VIRTUAL_ONLY name is defined by its fake and really absent from the stub."""
    for qual in VIRTUAL_ONLY:
        module, name = qual.split(".", 1)
        assert name in definitions(_fake_source(module)), "%s: stale VIRTUAL_ONLY entry" % qual
        assert name not in definitions(_stub_source(module)), (
            "%s is in the stub after all: check it like any other name" % qual)


# -- the checker catches what it should ------------------------------------------------------


def _problems_with(module: str, extra: str) -> dict[str, list[str]]:
    report = check_module(module, _fake_source(module) + "\n\n" + extra, _stub_source(module))
    return {name: p for name, p in report.items() if p}


def test_checker_reports_what_a_board_lacks():
    """The fakes never offer what a real board lacks: an invented function is caught."""
    bad = _problems_with("machine", "def frobnicate():\n    pass\n")
    assert "machine.frobnicate" in bad and "not in the stub" in bad["machine.frobnicate"][0]


def test_checker_reports_bad_members_values_and_parameters():
    extra = (
        "class Pin:\n"
        "    OUT = 4\n"
        "    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None):\n"
        "        pass\n"
        "    def value(self, x, extra=None):\n"
        "        pass\n"
        "    def irq(self, handler=None, trigger=3, *, colour=None):\n"
        "        pass\n"
        "    def blink(self):\n"
        "        pass\n"
        "def time_pulse_us(pin, level, timeout_us):\n"
        "    pass\n"
        "def freq(mhz=None):\n"
        "    pass\n"
        "def enable_irq():\n"
        "    pass\n"
    )
    bad = _problems_with("machine", extra)
    assert "= 4 here, 3 in the stub" in bad["machine.Pin.OUT"][0]
    assert "not in the stub" in bad["machine.Pin.blink"][0]
    assert "'extra' is positional parameter 2" in bad["machine.Pin.value"][0]
    assert "keyword 'colour'" in bad["machine.Pin.irq"][0]
    assert "'timeout_us' is required, the stub makes it optional" in bad["machine.time_pulse_us"][0]
    assert "requires positional parameter 1" in bad["machine.enable_irq"][0]
    assert "machine.freq" not in bad  # hz is positional-only in the stub: any name will do
    assert "machine.Pin.__init__" not in bad
    message = bad["machine.Pin.irq"][0]
    assert "fake: def irq(self, handler=None" in message and "stub: def irq(" in message


def test_checker_skips_imports_and_helpers_and_reads_aliases():
    extra = "from vhw import clock as frob\nimport errno as nope\n_helper = 1\nlocaltime = sleep_ms\n"
    bad = _problems_with("time", extra)
    assert "time.frob" not in bad and "time.nope" not in bad and "time._helper" not in bad
    assert "no stub overload accepts" in bad["time.localtime"][0]  # sleep_ms requires its argument


def test_checker_pos_or_keyword_names_must_match():
    bad = _problems_with("network", "class WLAN:\n    def status(self, which=None):\n        pass\n")
    assert "network.WLAN.status" not in bad  # the stub's param is positional-only
    bad = _problems_with("machine", "class RTC:\n    def datetime(self, when=None):\n        pass\n")
    assert "'when', the stub's is 'datetimetuple'" in bad["machine.RTC.datetime"][0]


def test_checker_merges_overloads_but_not_beyond_them():
    """Timer's keywords are one C signature split into overloads; unknown keywords still fail."""
    timer = ("class Timer:\n    def init(self, *, mode=1, period=-1, freq=-1, tick_hz=1000, "
             "callback=None, hard=False%s):\n        pass\n")
    assert "machine.Timer.init" not in _problems_with("machine", timer % "")
    bad = _problems_with("machine", timer % ", colour=None")
    assert "<merged overloads>" in bad["machine.Timer.init"][0]
    assert "keyword 'colour' is not a keyword parameter" in bad["machine.Timer.init"][0]
    bad = _problems_with("machine", "class Pin:\n    def value(self, x=None, y=None):\n        pass\n")
    assert "'y' is positional parameter 2, the stub has only 1" in bad["machine.Pin.value"][0]
