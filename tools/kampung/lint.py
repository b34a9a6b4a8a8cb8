"""The project lint: rules for firmware/ that ruff and pyright cannot know.

    python -m kampung.lint                 # the repo's firmware/ folder
    python -m kampung.lint firmware/apps   # files and/or folders
    python -m kampung.lint --rules         # every rule, why it exists and how to fix a finding

In the spirit of ESPHome's script/ci-custom.py: each finding is one line,
``path:line:col: KPxxx message``, and the message says what the rule protects and what to
write instead. The rules apply to files under firmware/ (a path with a ``firmware`` folder in
it); other files are skipped. CPython's ``ast`` parses the firmware, which is plain Python.

KP000  an exemption comment without a rule or a reason, for an unknown rule, or unused
KP001  ``machine`` imported outside firmware/lib/kit/hal.py and firmware/lib/drivers/
KP002  time.sleep / sleep_ms / sleep_us (or utime.*) called inside ``async def``.
       Allowed: ``time.sleep_us(N)`` with a literal N <= 50 (SHORT_SLEEP_US), e.g. the 10 us
       trigger pulse of an ultrasonic sensor: shorter than one pass of the asyncio loop.
KP003  raw arithmetic on ticks: ``a - b`` or ``a + b`` where a side is a ticks_ms/us/cpu() call
KP004  bare ``except:`` in firmware; ``except BaseException`` in firmware/apps
KP005  ``assert`` in firmware
KP006  firmware/apps/<device>/logic.py imports machine, time, utime, asyncio, uasyncio, network
KP007  imports of modules MicroPython lacks (MISSING_MODULES, each with its reason)
KP999  the file does not parse (the other rules cannot run on it)

Exempt one line with a trailing comment naming the rule and a reason:

    time.sleep_ms(5)  # kp: allow KP002 settle the ADC before the first read; 5 ms is fine here

Several rules: ``# kp: allow KP002, KP003 reason``. The comment must be on the line the finding
names (for a statement over several lines, its first line). A comment without a reason, or one
that exempts nothing, is itself a finding (KP000).
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kampung import FIRMWARE, ROOT

SHORT_SLEEP_US = 50  # KP002: time.sleep_us(N), N a literal <= this, may run inside async def

# KP001: the only places allowed to import machine (paths relative to firmware/).
MACHINE_FILES = ("lib/kit/hal.py",)
MACHINE_DIRS = ("lib/drivers/",)

# KP006: what a logic module must not import.
LOGIC_FORBIDDEN = ("machine", "time", "utime", "asyncio", "uasyncio", "network")

# KP007: modules MicroPython lacks (none of them is in the ESP32 or unix firmware), and why /
# what to use instead. micropython-lib has small versions of a few, but we do not install them.
MISSING_MODULES = {
    "typing": "not in MicroPython; annotations need no import: keep types in the stubs/pyright "
    "config or write them without typing names",
    "dataclasses": "not in MicroPython: write a plain class with __init__ (or use a tuple)",
    "pathlib": "not in MicroPython: use str paths and os (os.stat, os.listdir, os.rename)",
    "logging": "not in MicroPython firmware: use kit.log.info(...)",
    "threading": "not in MicroPython (the ESP32 _thread is minimal): use asyncio tasks",
    "subprocess": "no processes on a microcontroller: do the work in-process",
    "enum": "not in MicroPython: use module-level int constants (micropython.const)",
    "abc": "not in MicroPython: describe the interface in a docstring; raise "
    "NotImplementedError in the base method",
    "functools": "not built into MicroPython (micropython-lib's tiny one is not installed): "
    "write the helper inline (a closure instead of partial, a dict cache instead of lru_cache)",
}

TICKS = ("ticks_ms", "ticks_us", "ticks_cpu")
SLEEPS = ("sleep", "sleep_ms", "sleep_us")
TIME_MODULES = ("time", "utime")

RULES = {
    "KP000": "exemption comments: `# kp: allow KPxxx <reason>` trailing the flagged line; a "
    "reason is required and the comment must exempt a finding on its line",
    "KP001": "only the board layer (lib/kit/hal.py) and drivers (lib/drivers/) touch machine: "
    "ask kit.hal for a ready-made peripheral (hal.output/input/pwm/adc) and pass it in",
    "KP002": "time.sleep* inside async def blocks the asyncio loop, so every other task "
    "(feedback, button) stalls: use await asyncio.sleep_ms(...); only time.sleep_us(N) with a "
    "literal N <= %d is allowed" % SHORT_SLEEP_US,
    "KP003": "ticks wrap at 2**30 on the ESP32 (after ~12.4 days for ticks_ms): use "
    "time.ticks_diff(a, b) for differences and time.ticks_add(t, delta) for deadlines",
    "KP004": "bare except / except BaseException catch KeyboardInterrupt (Ctrl-C, mpremote) "
    "and SystemExit: name the exception, e.g. except OSError",
    "KP005": "assertions vanish at opt level >= 1, as when frozen into the firmware: raise an "
    "exception instead (if not ok: raise ValueError(...))",
    "KP006": "logic is pure: take `now` (and ticks_diff) and values as arguments, so it runs "
    "and is tested on the host unchanged",
    "KP007": "MicroPython lacks this module: " + "; ".join(
        "%s: %s" % item for item in MISSING_MODULES.items()),
}

_ALLOW = re.compile(r"#\s*kp:\s*allow\b(?P<rest>.*)$", re.IGNORECASE)
_CODE = re.compile(r"KP\d{3}$")


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int  # 1-based, like the editors
    code: str
    message: str

    def __str__(self) -> str:
        return "%s:%d:%d: %s %s" % (self.path, self.line, self.col, self.code, self.message)


def firmware_relpath(path: str | os.PathLike[str]) -> str | None:
    """``path`` relative to the firmware folder (posix form), or None if it is not in one.

    A path under kampung.FIRMWARE counts, and so does any path with a folder named
    ``firmware`` (``firmware/apps/x/app.py`` in tests, a copy of the tree elsewhere)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(FIRMWARE.resolve()).as_posix()
    except (OSError, ValueError):
        pass
    parts = PurePosixPath(p.as_posix()).parts
    if "firmware" in parts[:-1]:
        i = parts.index("firmware")
        return PurePosixPath(*parts[i + 1:]).as_posix()
    return None


# -- exemption comments ---------------------------------------------------------------------


@dataclass
class _Allow:
    line: int
    col: int
    codes: tuple[str, ...]
    problem: str | None  # why the comment is malformed (then it exempts nothing)


def _parse_allow(comment: str, line: int, col: int) -> _Allow | None:
    m = _ALLOW.search(comment)
    if m is None:
        return None
    words = m.group("rest").replace(",", " ").split()
    codes = []
    while words and _CODE.match(words[0].upper()):
        codes.append(words.pop(0).upper())
    reason = " ".join(words)
    problem = None
    if not codes:
        problem = "`# kp: allow` names no rule: write `# kp: allow KPxxx <reason>`"
    elif not any(c.isalpha() for c in reason):
        problem = ("`# kp: allow %s` gives no reason: say why the rule does not apply here, "
                   "e.g. `# kp: allow %s 10 us trigger pulse`" % (", ".join(codes), codes[0]))
    else:
        unknown = [c for c in codes if c not in RULES or c == "KP000"]
        if unknown:
            problem = "`# kp: allow` names %s: not a rule it can exempt (KP001-KP%03d)" % (
                ", ".join(unknown), len(RULES) - 1)
    return _Allow(line, col + 1, tuple(codes), problem)


def _allows(text: str) -> list[_Allow]:
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                allow = _parse_allow(tok.string, tok.start[0], tok.start[1])
                if allow is not None:
                    out.append(allow)
    except (tokenize.TokenError, SyntaxError):
        pass  # the parse error is reported by lint_source
    return out


# -- the rules --------------------------------------------------------------------------------


def _call_name(node: ast.AST) -> tuple[str | None, str] | None:
    """(receiver name or None, function name) of a call ``a.f(...)`` / ``f(...)``."""
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    if isinstance(f, ast.Name):
        return None, f.id
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f.value.id, f.attr
    return None


class _Checker(ast.NodeVisitor):
    def __init__(self, rel: str, path: str):
        self.rel = rel
        self.path = path
        self.findings: list[Finding] = []
        self.in_apps = rel.startswith("apps/")
        parts = rel.split("/")
        self.is_logic = len(parts) == 3 and parts[0] == "apps" and parts[2] == "logic.py"
        self.may_import_machine = rel in MACHINE_FILES or rel.startswith(MACHINE_DIRS)
        self.async_depth: list[bool] = []  # one entry per enclosing function: is it async?
        # names bound by imports: local name -> "time" for the module, "time.sleep_ms" for a
        # function imported from it
        self.time_modules: set[str] = set(TIME_MODULES)
        self.time_funcs: dict[str, str] = {}

    def add(self, node: ast.AST, code: str, message: str) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        self.findings.append(Finding(self.path, line, col, code, message))

    # imports: KP001, KP006, KP007, and the aliases KP002/KP003 need
    def _module(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if self.is_logic and top in LOGIC_FORBIDDEN:
            self.add(node, "KP006", "logic module imports %s: logic is pure: take `now` (and "
                     "time.ticks_diff as `diff`) and values as arguments; app.py does the "
                     "hardware and the clock" % module)
        elif top == "machine" and not self.may_import_machine:
            self.add(node, "KP001", "`machine` imported in %s: only the board layer "
                     "(lib/kit/hal.py) and drivers (lib/drivers/) touch machine: ask kit.hal for "
                     "a ready-made peripheral (hal.output/input/pwm/adc) and pass it in"
                     % self.rel)
        if top in MISSING_MODULES:
            self.add(node, "KP007", "`%s`: %s" % (module, MISSING_MODULES[top]))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(node, alias.name)
            if alias.name in TIME_MODULES and alias.asname:
                self.time_modules.add(alias.asname)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            self._module(node, node.module)
            if node.module in TIME_MODULES:
                for alias in node.names:
                    self.time_funcs[alias.asname or alias.name] = alias.name
        self.generic_visit(node)

    # scopes: KP002
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.async_depth.append(False)
        self.generic_visit(node)
        self.async_depth.pop()

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.async_depth.append(True)
        self.generic_visit(node)
        self.async_depth.pop()

    def _time_func(self, node: ast.AST) -> str | None:
        """``sleep_ms`` for time.sleep_ms(...), utime.sleep_ms(...) or an imported sleep_ms()."""
        name = _call_name(node)
        if name is None:
            return None
        receiver, func = name
        if receiver is None:
            return self.time_funcs.get(func, func if func in TICKS else None)
        return func if receiver in self.time_modules else None

    def visit_Call(self, node: ast.Call) -> None:
        func = self._time_func(node)
        if func in SLEEPS and self.async_depth and self.async_depth[-1]:
            short = (func == "sleep_us" and len(node.args) == 1 and not node.keywords
                     and isinstance(node.args[0], ast.Constant)
                     and type(node.args[0].value) is int
                     and node.args[0].value <= SHORT_SLEEP_US)
            if not short:
                self.add(node, "KP002", "%s() inside async def blocks the asyncio loop (every "
                         "other task stalls): use `await asyncio.sleep_ms(...)`; only "
                         "time.sleep_us(N) with a literal N <= %d is allowed"
                         % (ast.unparse(node.func), SHORT_SLEEP_US))
        self.generic_visit(node)

    # KP003
    def _ticks(self, node: ast.AST) -> str | None:
        func = self._time_func(node)
        return ast.unparse(node) if func in TICKS else None

    def _tick_math(self, node: ast.AST, op: ast.operator, sides: list[ast.AST]) -> None:
        ticks = [t for t in map(self._ticks, sides) if t]
        if not ticks:
            return
        if isinstance(op, ast.Sub):
            self.add(node, "KP003", "raw subtraction with %s: ticks wrap at 2**30 on the ESP32, "
                     "so the difference jumps when they do: use time.ticks_diff(a, b)" % ticks[0])
        elif isinstance(op, ast.Add):
            self.add(node, "KP003", "raw addition to %s: ticks wrap at 2**30 on the ESP32, so "
                     "the deadline can pass the wrap: use time.ticks_add(t, delta)" % ticks[0])

    def visit_BinOp(self, node: ast.BinOp) -> None:
        self._tick_math(node, node.op, [node.left, node.right])
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._tick_math(node, node.op, [node.value])
        self.generic_visit(node)

    # KP004
    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.add(node, "KP004", "bare `except:` catches KeyboardInterrupt (Ctrl-C, mpremote) "
                     "and SystemExit, so the board cannot be stopped or reset cleanly: name the "
                     "exception, e.g. `except OSError:`")
        elif self.in_apps:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if any(isinstance(t, ast.Name) and t.id == "BaseException" for t in types):
                self.add(node, "KP004", "`except BaseException` in an app catches "
                         "KeyboardInterrupt (Ctrl-C, mpremote) and resets: name the exception, "
                         "e.g. `except OSError:` (or `except Exception:` at the outermost level)")
        self.generic_visit(node)

    # KP005
    def visit_Assert(self, node: ast.Assert) -> None:
        self.add(node, "KP005", "assertions vanish at opt level >= 1, as when frozen into the "
                 "firmware: raise an exception instead (`if not ok: raise ValueError(...)`)")
        self.generic_visit(node)


def lint_source(text: str, path: str | os.PathLike[str]) -> list[Finding]:
    """Findings for the source ``text`` of the file ``path`` (which picks the rules: a path
    outside any firmware/ folder gets none)."""
    rel = firmware_relpath(path)
    shown = str(path)
    if rel is None:
        return []
    try:
        tree = ast.parse(text, filename=shown)
    except SyntaxError as e:
        return [Finding(shown, e.lineno or 1, (e.offset or 1), "KP999",
                        "cannot parse: %s (the other rules did not run)" % e.msg)]
    checker = _Checker(rel, shown)
    checker.visit(tree)
    found = checker.findings
    out = []
    allows = _allows(text)
    valid = {a.line: a for a in allows if a.problem is None}
    used: set[tuple[int, str]] = set()
    for f in found:
        allow = valid.get(f.line)
        if allow is not None and f.code in allow.codes:
            used.add((f.line, f.code))
        else:
            out.append(f)
    for a in allows:
        if a.problem is not None:
            out.append(Finding(shown, a.line, a.col, "KP000", a.problem))
            continue
        for code in a.codes:
            if (a.line, code) not in used:
                out.append(Finding(shown, a.line, a.col, "KP000", "`# kp: allow %s` exempts "
                                   "nothing: there is no %s finding on this line (an exemption "
                                   "trails the flagged line): remove it or move it" % (code, code)))
    return sorted(set(out))


def python_files(paths: list[Path]) -> list[Path]:
    """The .py files named or under the folders named, sorted, without hidden/cache folders."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*.py")):
                rel = f.relative_to(p).parts
                if not any(part.startswith(".") or part == "__pycache__" for part in rel):
                    files.append(f)
        else:
            files.append(p)
    return files


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def lint_paths(paths: list[Path]) -> tuple[list[Finding], int, int]:
    """(findings, files linted, files skipped as outside firmware/)."""
    findings: list[Finding] = []
    linted = skipped = 0
    for f in python_files(paths):
        shown = _shown(f)
        if firmware_relpath(f) is None:
            skipped += 1
            continue
        linted += 1
        # the rules go by the real path; the finding shows the short one
        for finding in lint_source(f.read_text(encoding="utf-8"), f):
            findings.append(Finding(shown, finding.line, finding.col, finding.code,
                                    finding.message))
    return findings, linted, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kampung.lint",
        description="Project lint for firmware/ (rules KP000-KP007; --rules explains them).")
    parser.add_argument("paths", nargs="*", type=Path,
                        help="files or folders (default: the repo's firmware/)")
    parser.add_argument("--rules", action="store_true", help="list the rules and exit")
    args = parser.parse_args(argv)
    if args.rules:
        for code, text in RULES.items():
            print("%s  %s" % (code, text))
        return 0
    paths = args.paths or [FIRMWARE]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print("kampung.lint: no such file or folder: %s" % ", ".join(missing), file=sys.stderr)
        return 2
    findings, linted, skipped = lint_paths(paths)
    note = " (%d outside firmware/ skipped)" % skipped if skipped else ""
    for f in findings:
        print(f)
    if findings:
        print("kampung.lint: %d finding(s) in %d file(s)%s; `python -m kampung.lint --rules` "
              "explains each rule" % (len(findings), len({f.path for f in findings}), note),
              file=sys.stderr)
        return 1
    print("kampung.lint: %d file(s) clean%s" % (linted, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
