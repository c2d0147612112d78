"""``seawall demo`` end to end at a small scale: simulate, replay, evaluate, report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from seawall.cli import cli


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--accounts", "300", "--days", "1", "--seed", "3", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for name in ("events.jsonl", "labels.jsonl", "decisions.jsonl", "report.json",
                 "report.html"):
        assert (out / name).is_file(), name
    assert "Seawall evaluation" in result.output
    assert "Recall" in result.output and "Harm prevented" in result.output
    assert f"Report: {out / 'report.html'}" in result.output

    report = json.loads((out / "report.json").read_text())
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert report["counts"]["accounts_labelled"] == len(labels) == 300
    assert report["counts"]["abusers"] == sum(1 for r in labels if r["label"] == "abuse")
    assert report["config"]["rules"]["path"] == "built-in: seawall/default_rules.yaml"
    assert report["inputs"]["events_skipped"] == 0
    assert report["inputs"]["decisions_skipped"] == 0
    # The simulator's labels carry archetypes, so the per-archetype tables are there.
    assert {r["archetype"] for r in report["archetypes"]["abuse"]} >= {"blitz_spammer", "farm"}
    assert 0.0 <= report["headline"]["recall"] <= 1.0
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 4

    # Same seed, same report, byte for byte.
    first = (out / "report.json").read_bytes()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert (out / "report.json").read_bytes() == first
