"""`seawall replay` through the CLI: decisions file, rejects file, strict mode, determinism."""

from __future__ import annotations

import orjson
from click.testing import CliRunner

from seawall.cli import cli
from seawall.decisions import Decision

T0 = 1_767_571_200_000


def _events(path, garbage=False):
    lines = [orjson.dumps({"type": "registration", "ts": T0, "account": "spam", "id": "r",
                           "phone": "+15550001234"})]
    lines += [orjson.dumps({"type": "message", "ts": T0 + 100 * i, "account": "spam",
                            "peer": f"v{i}", "id": f"m{i}"}) for i in range(110)]
    lines += [orjson.dumps({"type": "message", "ts": T0 + 20_000, "account": "v1",
                            "peer": "friend"})]
    if garbage:
        lines.insert(2, b'{"type":"message","ts":1,"account":"a"}')
        lines.insert(5, b'{"type":"block","ts":"x","account":"a","peer":"b"}')
        lines.insert(7, b"")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_replay_writes_contract_decisions_and_a_summary(tmp_path):
    events = _events(tmp_path / "events.jsonl")
    out = tmp_path / "decisions.jsonl"
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(out), "--json-summary",
                                   "--no-progress", "--no-model"])
    assert res.exit_code == 0, res.output
    lines = out.read_bytes().splitlines()
    assert [Decision.from_json(x) for x in lines] == [Decision(
        ts=T0 + 9_900, account="spam", action="ban", stage="messaging", score=0.99,
        reasons=["NEW_ACCOUNT_BLITZ", "MACHINE_SPEED_SENDING"], event="m99")]
    summary = orjson.loads(res.stdout)
    assert summary["events_read"] == 112
    assert summary["events_accepted"] == 112
    assert summary["refused_attempts"] == 10
    assert summary["decisions_by_action"] == {"ban": 1}
    assert summary["decisions_by_stage"] == {"messaging": 1}


def test_replay_is_byte_identical_across_runs(tmp_path):
    events = _events(tmp_path / "events.jsonl", garbage=True)
    outs = []
    for k in range(2):
        out = tmp_path / f"d{k}.jsonl"
        res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(out),
                                       "--no-progress", "--no-model"])
        assert res.exit_code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0]


def test_rejects_are_written_counted_and_skipped(tmp_path):
    events = _events(tmp_path / "events.jsonl", garbage=True)
    out, rej = tmp_path / "d.jsonl", tmp_path / "rejects.jsonl"
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(out), "--rejects",
                                   str(rej), "--json-summary", "--no-progress", "--no-model"])
    assert res.exit_code == 0
    rejects = [orjson.loads(x) for x in rej.read_bytes().splitlines()]
    assert [(r["source"], r["line"], r["reason"]) for r in rejects] == [
        (str(events), 3, "message needs exactly one of `peer` or `group`"),
        (str(events), 6, "`ts`: Expected `int`, got `str`")]
    assert rejects[1]["raw"] == '{"type":"block","ts":"x","account":"a","peer":"b"}'
    summary = orjson.loads(res.stdout)
    assert summary["events_rejected"] == 2
    assert summary["rejected_by_reason"] == {
        "`ts`: Expected `int`, got `str`": 1,
        "message needs exactly one of `peer` or `group`": 1}
    assert len(out.read_bytes().splitlines()) == 1


def test_strict_mode_stops_at_the_first_invalid_line(tmp_path):
    events = _events(tmp_path / "events.jsonl", garbage=True)
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(tmp_path / "d.jsonl"),
                                   "--strict", "--no-progress", "--no-model"])
    assert res.exit_code == 2
    assert f"{events}:3: message needs exactly one of `peer` or `group`" in res.output


def test_replay_reads_stdin_and_reports_missing_files(tmp_path):
    events = _events(tmp_path / "events.jsonl")
    out = tmp_path / "d.jsonl"
    res = CliRunner().invoke(cli, ["replay", "-", "--out", str(out), "--no-progress",
                                   "--no-model"],
                             input=events.read_bytes())
    assert res.exit_code == 0 and len(out.read_bytes().splitlines()) == 1
    res = CliRunner().invoke(cli, ["replay", str(tmp_path / "nope.jsonl"), "--out", str(out)])
    assert res.exit_code == 2 and "events file not found" in res.output


def test_engine_config_file_errors_name_the_key(tmp_path):
    events = _events(tmp_path / "events.jsonl")
    cfg = tmp_path / "engine.yaml"
    cfg.write_text("late_tolerance: soon\n")
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(tmp_path / "d.jsonl"),
                                   "--config", str(cfg)])
    assert res.exit_code == 1
    assert "Expected `int`, got `str` - at `$.late_tolerance`" in res.output
    cfg.write_text("late_tolerence: 10\n")
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(tmp_path / "d.jsonl"),
                                   "--config", str(cfg)])
    assert "unknown field `late_tolerence`" in res.output


def test_the_shipped_model_scores_by_default(tmp_path):
    from seawall.replay import replay

    events = _events(tmp_path / "events.jsonl")
    out = tmp_path / "d.jsonl"
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    decisions = [Decision.from_json(x) for x in out.read_bytes().splitlines()]
    # the rules' ban is still there, at the same message
    assert [(d.action, d.event, d.reasons[0]) for d in decisions if d.action == "ban"] == [
        ("ban", "m99", "NEW_ACCOUNT_BLITZ")]
    with_model = replay([events]).engine.account("spam")["signals"]
    rules_only = replay([events], model=None).engine.account("spam")["signals"]
    assert 0.0 <= with_model["behaviour_model"] <= 1.0
    assert 0.0 <= with_model["registration_model"] <= 1.0
    assert rules_only["behaviour_model"] is None and rules_only["registration_model"] is None
