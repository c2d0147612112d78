"""Rewrite the signal tables in docs/rules.md from the catalogue in seawall/signals.py.

    python scripts/update_signal_docs.py

tests/test_docs.py fails when the docs and the catalogue disagree.
"""

from __future__ import annotations

from pathlib import Path

from seawall.signals import by_family

BEGIN = "<!-- signals:begin -->"
END = "<!-- signals:end -->"


def tables() -> str:
    out: list[str] = []
    for family, signals in by_family():
        out.append(f"\n### {family}\n\n| signal | meaning | source |\n|---|---|---|")
        out += [f"| `{s.name}` | {s.doc} | {s.source} |" for s in signals]
    return "\n".join(out) + "\n"


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    text = path.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{tables()}{END}{tail}")


if __name__ == "__main__":
    main()
