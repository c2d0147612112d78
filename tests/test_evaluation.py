"""Evaluation metrics on a hand-built platform whose figures are computed by hand below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.cli import cli
from seawall.evaluation import EvaluationError, evaluate, read_labels
from seawall.report import render_html

S = 1000  # one second in ms


def _reg(ts: int, account: str) -> dict:
    return {"type": "registration", "ts": ts, "account": account, "phone": "+15550000000"}


def _msg(ts: int, account: str, peer: str | None = None, group: str | None = None) -> dict:
    ev = {"type": "message", "ts": ts, "account": account}
    ev.update({"peer": peer} if peer else {"group": group})
    return ev


def _report(ts: int, account: str, peer: str) -> dict:
    return {"type": "report", "ts": ts, "account": account, "peer": peer}


# spam1: 4 messages, banned at 25 s (messaging), reported at 35 s after the ban -> proactive.
# spam2: 3 messages, reported at 55 s, banned at 65 s (feedback) -> not proactive.
# farm1: refused at registration (100 s); its 2 later messages are refused attempts.
# ato1:  taken over at 300 s; restricted at 150 s (a false positive), banned at 325 s; one of
#        its abusive messages is a group message (counts once; it reaches x and y, z having
#        left); reported at 315 s.
# missed1: 5 messages, only a review (not enforcement) and a challenge (friction).
# alice (legit): challenged. bob (legit): banned then reinstated on appeal. carol (legit).
EVENTS = sorted([
    _reg(0, "spam1"), _reg(1 * S, "ato1"), _reg(2 * S, "missed1"), _reg(3 * S, "alice"),
    _reg(4 * S, "bob"), _reg(4 * S, "carol"), _reg(5 * S, "spam2"),
    _msg(10 * S, "spam1", "a"), _msg(20 * S, "spam1", "b"), _msg(30 * S, "spam1", "c"),
    _msg(40 * S, "spam1", "d"), _report(35 * S, "alice", "spam1"),
    _msg(50 * S, "spam2", "a"), _msg(60 * S, "spam2", "b"), _msg(70 * S, "spam2", "c"),
    _report(55 * S, "bob", "spam2"),
    _reg(100 * S, "farm1"), _msg(110 * S, "farm1", "a"), _msg(120 * S, "farm1", "b"),
    _msg(200 * S, "ato1", "alice"),
    {"type": "group_create", "ts": 305 * S, "account": "ato1", "group": "g1"},
    *({"type": "group_add", "ts": 306 * S, "account": "ato1", "group": "g1", "peer": p}
      for p in ("x", "y", "z")),
    {"type": "group_leave", "ts": 318 * S, "account": "z", "group": "g1"},
    _msg(310 * S, "ato1", "x"),
    _msg(320 * S, "ato1", group="g1"), _msg(330 * S, "ato1", "y"),
    _report(315 * S, "carol", "ato1"),
    *(_msg(t * S, "missed1", f"p{t}") for t in (400, 410, 420, 430, 440)),
    _msg(450 * S, "alice", "bob"), _msg(460 * S, "bob", "alice"),
], key=lambda e: e["ts"])

LABELS = [
    {"account": "spam1", "label": "abuse", "archetype": "spammer"},
    {"account": "spam2", "label": "abuse", "archetype": "spammer"},
    {"account": "farm1", "label": "abuse", "archetype": "farm"},
    {"account": "ato1", "label": "abuse", "archetype": "takeover", "abuse_from": 300 * S},
    {"account": "missed1", "label": "abuse", "archetype": "farm"},
    {"account": "alice", "label": "legit", "archetype": "regular"},
    {"account": "bob", "label": "legit", "archetype": "regular", "ts": 800 * S},
    {"account": "carol", "label": "legit", "archetype": "business"},
]


def _d(ts: int, account: str, action: str, stage: str) -> dict:
    return {"ts": ts, "account": account, "action": action, "stage": stage, "score": 0.9,
            "reasons": ["TEST"], "event": None}


DECISIONS = [
    _d(25 * S, "spam1", "ban", "messaging"),
    _d(50 * S, "zed", "ban", "messaging"),  # an account without a label
    _d(65 * S, "spam2", "ban", "feedback"),
    _d(100 * S, "farm1", "ban", "registration"),
    _d(150 * S, "ato1", "restrict", "messaging"),
    _d(325 * S, "ato1", "ban", "campaign"),
    _d(405 * S, "missed1", "review", "messaging"),
    _d(415 * S, "missed1", "challenge", "messaging"),
    _d(500 * S, "alice", "challenge", "messaging"),
    _d(600 * S, "bob", "ban", "feedback"),
    _d(700 * S, "bob", "reinstate", "appeal"),
]


def _write(path: Path, rows: list, extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra)
    return path


@pytest.fixture()
def platform(tmp_path: Path) -> dict[str, Path]:
    return {
        "events": _write(tmp_path / "events.jsonl", EVENTS, "this is not json\n"),
        "labels": _write(tmp_path / "labels.jsonl", LABELS),
        "decisions": _write(tmp_path / "decisions.jsonl", DECISIONS),
    }


def test_hand_computed_metrics(platform: dict[str, Path]) -> None:
    ev = evaluate([platform["events"]], platform["labels"], decisions=DECISIONS)
    # 5 abusers; innocent = 3 legit + ato1 before its takeover; caught: spam1, spam2, farm1,
    # ato1; false positives: bob (the reinstate does not undo it) and ato1's early restrict.
    assert ev.headline == {
        "recall": 0.8,                 # 4 / 5
        "false_positive_rate": 0.5,    # 2 / 4
        "precision": 0.6667,           # 4 / (4 + 2)
        "proactive_share": 0.5,        # spam1 (reported after its ban), farm1 (never reported)
        "registration_share": 0.25,    # farm1
        "harm_prevented": 0.3529,      # 1 - 11 delivered / 17 attempted
        # recipients: as messages, but ato1's group message reaches 2 -> 1 - 12 / 18
        "harm_prevented_by_recipients": 0.3333,
    }
    c = ev.counts
    assert (c["abusers"], c["takeovers"], c["innocent"], c["caught"], c["false_positives"]) == (
        5, 1, 4, 4, 2)
    # attempted: spam1 4 + spam2 3 + farm1 2 + ato1 3 (not the one before takeover) + missed 5
    # delivered: spam1 2 + spam2 2 + farm1 0 + ato1 2 + missed1 5
    assert (c["abusive_messages_attempted"], c["abusive_messages_delivered"]) == (17, 11)
    assert (c["abusive_recipients_attempted"], c["abusive_recipients_delivered"]) == (18, 12)
    assert c["caught_by_stage"] == {"campaign": 1, "feedback": 1, "messaging": 1,
                                    "registration": 1}
    assert ev.friction == {
        "abusers_acted_on": 5,             # missed1's challenge counts here
        "recall_incl_challenge": 1.0,
        "innocent_challenged": 3,          # alice (challenge), bob (ban), ato1 (restrict)
        "innocent_challenged_rate": 0.75,
        "precision_incl_challenge": 0.625,  # 5 / (5 + 3)
    }
    dist = ev.distributions
    # delivered per abuser [0, 2, 2, 2, 5]: median 2, p90 = 2 + 0.6 * 3
    assert dist["messages_delivered_before_action"]["median"] == 2.0
    assert dist["messages_delivered_before_action"]["p90"] == 3.8
    # time to action [25, 60, 0, 25] s (ato1 from its takeover): median 25, p90 = 25 + .7 * 35
    assert dist["time_to_action_seconds"] == {"median": 25.0, "p90": 49.5}
    hist = {b["bin"]: b["abusers"] for b in dist["messages_delivered_before_action"]["histogram"]}
    assert (hist["0"], hist["2-4"], hist["5-9"]) == (1, 3, 1)
    assert ev.decisions["total"] == 11
    assert ev.decisions["on_unlabelled_accounts"] == 1
    assert ev.decisions["by_action"] == {"ban": 6, "challenge": 2, "reinstate": 1,
                                         "restrict": 1, "review": 1}
    assert ev.inputs["events_lines"] == len(EVENTS) + 1
    assert ev.inputs["events_skipped"] == 1
    assert [str(p) for p in ev.problems] == [
        f"{platform['events']}:{len(EVENTS) + 1}: not an event (skipped)"]


def test_archetype_tables(platform: dict[str, Path]) -> None:
    ev = evaluate([platform["events"]], platform["labels"], decisions=platform["decisions"])
    abuse = {r["archetype"]: r for r in ev.archetypes["abuse"]}
    assert list(abuse) == ["farm", "spammer", "takeover"]
    assert abuse["farm"] == {
        "archetype": "farm", "accounts": 2, "caught": 1, "recall": 0.5,
        "median_time_to_action_seconds": 0.0, "harm_prevented": 0.2857,  # 1 - 5/7
        "caught_by_stage": {"registration": 1}}
    assert abuse["spammer"]["median_time_to_action_seconds"] == 42.5  # (25 + 60) / 2
    assert abuse["spammer"]["harm_prevented"] == 0.4286  # 1 - 4/7
    assert abuse["takeover"]["caught_by_stage"] == {"campaign": 1}
    innocent = {r["archetype"]: (r["accounts"], r["false_positives"], r["challenged"])
                for r in ev.archetypes["innocent"]}
    assert innocent == {"business": (1, 0, 0), "regular": (2, 1, 2), "takeover": (1, 1, 1)}
    assert [r["account"] for r in ev.examples["false_positives"]] == ["ato1", "bob"]
    assert ev.examples["missed_abusers"] == [
        {"account": "missed1", "archetype": "farm", "messages_delivered": 5}]


def test_labels_without_archetypes(platform: dict[str, Path], tmp_path: Path) -> None:
    plain = [{"account": r["account"], "label": r["label"]} for r in LABELS]
    ev = evaluate([platform["events"]], _write(tmp_path / "plain.jsonl", plain),
                  decisions=DECISIONS)
    assert ev.archetypes is None
    # Without abuse_from, ato1 is an ordinary abuser: its early restrict catches it.
    assert ev.headline["recall"] == 0.8
    assert ev.headline["false_positive_rate"] == 0.3333  # bob, of alice, bob, carol
    page = render_html(ev)
    assert "Abusive accounts by archetype" not in page and "all abusive accounts" in page


def test_cli_writes_report(platform: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, [
        "evaluate", "--events", str(platform["events"]), "--labels", str(platform["labels"]),
        "--decisions", str(platform["decisions"]), "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "Recall" in result.output and "80.0%" in result.output
    assert f"Report: {out / 'report.html'}" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["headline"]["precision"] == 0.6667
    assert report["config"]["events"][0]["path"] == str(platform["events"])
    assert len(report["config"]["decisions"]["sha256"]) == 64
    assert report["archetypes"]["abuse"][1]["archetype"] == "spammer"
    page = (out / "report.html").read_text()
    for figure in ("80.0%", "50.00%", "66.7%", "50.0%", "25.0%", "35.3%"):
        assert figure in page
    assert page.count("<svg") == 4
    for external in ("<script", "<link", "src=", 'href="http'):  # self-contained
        assert external not in page
    # Deterministic: a second run writes the same bytes.
    first = (out / "report.json").read_bytes(), page
    CliRunner().invoke(cli, [
        "evaluate", "--events", str(platform["events"]), "--labels", str(platform["labels"]),
        "--decisions", str(platform["decisions"]), "--report", str(out)])
    assert ((out / "report.json").read_bytes(), (out / "report.html").read_text()) == first


def test_bad_labels_lines_are_named_and_skipped(platform: dict[str, Path],
                                                tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(LABELS[0]) + "\n{not json\n"
                      + '{"account": "x", "label": "spam"}\n' + json.dumps(LABELS[5]) + "\n")
    args = ["evaluate", "--events", str(platform["events"]), "--labels", str(labels),
            "--decisions", str(platform["decisions"])]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"{labels}:2: not valid JSON" in result.output
    assert f"{labels}:3: `label`: Invalid enum value 'spam'" in result.output
    strict = CliRunner().invoke(cli, [*args, "--strict"])
    assert strict.exit_code == 1
    assert f"Error: {labels}:2: not valid JSON" in strict.output
    assert "Traceback" not in strict.output


def test_bad_decisions_line(platform: dict[str, Path], tmp_path: Path) -> None:
    bad = _write(tmp_path / "d.jsonl", DECISIONS[:3], '{"ts": 1, "account": "a"}\n')
    ev = evaluate([platform["events"]], platform["labels"], decisions=bad)
    assert ev.inputs["decisions"] == 3 and ev.inputs["decisions_skipped"] == 1
    assert str(ev.problems[0]).startswith(f"{bad}:4: not a contract decision: ")
    with pytest.raises(EvaluationError, match=r"d\.jsonl:4: not a contract decision"):
        evaluate([platform["events"]], platform["labels"], decisions=bad, strict=True)


def test_several_events_files(platform: dict[str, Path], tmp_path: Path) -> None:
    half = len(EVENTS) // 2
    a = _write(tmp_path / "a.jsonl", EVENTS[:half])
    b = _write(tmp_path / "b.jsonl", EVENTS[half:])
    result = CliRunner().invoke(cli, [
        "evaluate", "--events", str(a), str(b), "--labels", str(platform["labels"]),
        "--decisions", str(platform["decisions"]), "--report", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["headline"]["harm_prevented"] == 0.3529
    assert [f["path"] for f in report["config"]["events"]] == [str(a), str(b)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=40),
    st.builds(lambda a, lab: json.dumps({"account": a, "label": lab}).encode(),
              st.text(max_size=5), st.sampled_from(["abuse", "legit", "spam", ""])),
), max_size=12))
def test_labels_reader_never_crashes(tmp_path_factory: pytest.TempPathFactory,
                                     lines: list[bytes]) -> None:
    lines = [ln.replace(b"\n", b" ").replace(b"\r", b" ") for ln in lines]
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl"
    path.write_bytes(b"\n".join(lines))
    labels, problems, duplicates = read_labels(path)
    # Every non-blank line is either a label (maybe replacing an earlier one) or a problem
    # that names its own line number.
    assert len(labels) + duplicates + len(problems) == sum(1 for ln in lines if ln.strip())
    for p in problems:
        assert p.path == str(path) and lines[p.line - 1].strip()


def test_without_decisions_runs_the_engine(platform: dict[str, Path], tmp_path: Path) -> None:
    from seawall.replay import replay

    ran = evaluate([platform["events"]], platform["labels"])
    given = evaluate([platform["events"]], platform["labels"],
                     decisions=replay([platform["events"]]).decisions)
    assert ran.config["decisions"] == {"source": "engine (seawall.replay)"}
    assert ran.config["rules"]["path"] == "built-in: seawall/default_rules.yaml"
    assert given.config["rules"] is None  # unknown: the decisions came from elsewhere
    assert ran.to_dict()["headline"] == given.to_dict()["headline"]
    assert ran.decisions == given.decisions

    rules = tmp_path / "bad.yaml"
    rules.write_text("rules:\n  - nope: 1\n")
    result = CliRunner().invoke(cli, ["evaluate", "--events", str(platform["events"]),
                                      "--labels", str(platform["labels"]), "--rules", str(rules)])
    assert result.exit_code == 1
    assert f"Error: {rules}:" in result.output and "Traceback" not in result.output


def test_engine_runs_with_or_without_the_model(platform: dict[str, Path],
                                              tmp_path: Path) -> None:
    shipped = evaluate([platform["events"]], platform["labels"])
    rules_only = evaluate([platform["events"]], platform["labels"], model=None)
    assert shipped.config["model"] == "default"
    assert rules_only.config["model"] == "none (rules only)"
    bad = tmp_path / "model.json"
    bad.write_text("{}")
    result = CliRunner().invoke(cli, ["evaluate", "--events", str(platform["events"]),
                                      "--labels", str(platform["labels"]), "--model", str(bad)])
    assert result.exit_code == 1
    assert f"Error: {bad}: not a Seawall model file" in result.output
    result = CliRunner().invoke(cli, ["evaluate", "--events", str(platform["events"]),
                                      "--labels", str(platform["labels"]), "--no-model"])
    assert result.exit_code == 0, result.output


def test_many_bad_lines_are_counted_not_flooded(platform: dict[str, Path],
                                                tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(LABELS[0]) + "\n" + "oops\n" * 30)
    result = CliRunner().invoke(cli, ["evaluate", "--events", str(platform["events"]),
                                      "--labels", str(labels), "--decisions",
                                      str(platform["decisions"])])
    assert result.exit_code == 0, result.output
    assert sum(ln.startswith("skipped ") for ln in result.output.splitlines()) == 20
    assert f"{labels}:31: not valid JSON" not in result.output
    assert "... 31 skipped lines in all: 30 labels, 0 decisions, 1 events" in result.output
