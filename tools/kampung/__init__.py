"""Host-side tools for the Kampung IT firmware suite (the ``kampung`` command)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
BOARDS = ROOT / "boards"
VIRTUAL = ROOT / "tools" / "virtual"
SHARED_DATA = ROOT.parent / "shared" / "data"
