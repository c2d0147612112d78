"""The docs say what the code does: every signal and engine option is documented."""

from __future__ import annotations

from pathlib import Path

import msgspec

from seawall.engine import EngineConfig
from seawall.signals import SIGNALS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_signal_is_in_the_rules_doc():
    text = (DOCS / "rules.md").read_text()
    missing = [s.name for s in SIGNALS if f"| `{s.name}` | {s.doc} |" not in text]
    assert missing == [], "run: python scripts/update_signal_docs.py"


def test_every_engine_option_is_in_the_configuration_doc():
    text = (DOCS / "configuration.md").read_text()
    missing = [f.name for f in msgspec.structs.fields(EngineConfig)
               if f"| `{f.name}` |" not in text]
    assert missing == []
