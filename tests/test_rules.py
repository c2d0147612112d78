"""Rule files: validated at load with file:line and why; `seawall rules check`."""

from __future__ import annotations

import re
import textwrap

import pytest
from click.testing import CliRunner

from seawall.cli import cli
from seawall.engine import Engine
from seawall.rules import RuleError, default_rules_path, load_rules, parse_rules

GOOD = """\
version: 1
rules:
  - name: burst
    stage: messaging
    when: 10 <= msgs_1m < 1000 and not (typed_share > 0.5)
    action: restrict
    reason: BURST
    score: 0.7
"""


def test_default_ruleset_loads_and_has_the_published_cases():
    rs = load_rules()
    by_name = {r.name: r for r in rs.rules}
    assert by_name["new_account_blitz"].when == "account_age < 300 and msgs_15s >= 100"
    assert by_name["new_account_blitz"].action == "ban"
    assert by_name["group_creation_burst"].action == "ban"
    assert by_name["mass_group_adds"].when == "members_added_24h >= 1000"
    assert rs.marks == ["risky_registration"]


def test_expression_semantics_on_an_engine():
    rs = parse_rules(GOOD, "good.yaml")
    eng = Engine(rules=rs, text_scorer=None)
    lines = [b'{"type":"message","ts":%d,"account":"a","peer":"p%d","typed":false}' % (i * 1000, i)
             for i in range(12)]
    decisions, _ = eng.ingest_lines(lines)
    assert [(d.action, d.reasons, d.score) for d in decisions] == [("restrict", ["BURST"], 0.7)]
    assert decisions[0].ts == 9000  # the 10th message


def _problems(text: str) -> list[str]:
    with pytest.raises(RuleError) as e:
        parse_rules(textwrap.dedent(text), "r.yaml")
    return e.value.problems


def test_every_problem_is_reported_with_its_line():
    problems = _problems("""\
        version: 1
        rules:
          - name: a
            stage: messaging
            when: msgs_1m > 5 and burstyness < 0
            action: ban
            reason: A
          - name: b
            stage: sending
            when: msgs_1m > 5
            action: delete
            reason: lower_case
            score: 2
          - name: c
            stage: feedback
            when: msgs_1m + 5
            action: review
            reason: C
            colour: red
    """)
    assert problems == [
        "r.yaml:9: rule 'b': stage 'sending' is not one of registration, messaging, feedback",
        "r.yaml:11: rule 'b': action 'delete' is not one of ban, restrict, challenge, review, mark",
        "r.yaml:12: rule 'b': reason 'lower_case' must be an UPPER_SNAKE code (A-Z, 0-9, _; it "
        "is a stable identifier)",
        "r.yaml:13: rule 'b': score must be a number from 0 to 1, got '2'",
        "r.yaml:19: unknown rule key 'colour'",
        "r.yaml:5: rule 'a': unknown signal 'burstyness' in `when` (did you mean 'burstiness'?)",
        "r.yaml:16: rule 'c': `msgs_1m + 5` is a number where a condition is expected (a "
        "comparison, `and`/`or`/`not`, or a mark)",
    ]


@pytest.mark.parametrize("when,problem", [
    ("msgs_1m > (reply_rate < 1)", "`reply_rate < 1` is a condition where a number is expected"),
    ("msgs_1m > 5 and", "`when` is not a valid expression: invalid syntax"),
    ("len(msgs_1m) > 5", "`len(msgs_1m)` is not allowed in a rule condition"),
    ("msgs_1m ** 2 > 5", "operator Pow is not supported (use + - * /)"),
    ("msgs_1m in 5", "operator In is not supported"),
    ("'a' < msgs_1m", "`'a'` is not allowed in a rule condition"),
])
def test_type_errors(when, problem):
    text = f"version: 1\nrules:\n  - {{name: r, stage: messaging, when: \"{when}\", " \
           f"action: ban, reason: R}}\n"
    with pytest.raises(RuleError) as e:
        parse_rules(text, "t.yaml")
    assert e.value.problems[0].startswith(f"t.yaml:3: rule 'r': {problem}")


def test_structure_errors():
    assert _problems("rules: []\n") == ["r.yaml:1: `version: 1` is required"]
    assert _problems("version: 1\nrules: {a: 1}\n") == ["r.yaml:1: `rules` must be a list of rules"]
    assert _problems("version: 1\nrules:\n  - [1, 2]\n") == [
        "r.yaml:3: each rule must be a mapping"]
    assert _problems("version: 1\nrules:\n  - name: x\n") == [
        "r.yaml:3: rule 'x': missing `stage`", "r.yaml:3: rule 'x': missing `when`",
        "r.yaml:3: rule 'x': missing `action`", "r.yaml:3: rule 'x': missing `reason`"]
    dup = GOOD + GOOD.split("rules:\n")[1]
    assert _problems(dup) == ["r.yaml:11: rule name 'burst' already used at line 5"]
    yaml_err = _problems("version: 1\nrules:\n  - name: [\n")
    assert yaml_err[0].startswith("r.yaml:4: not valid YAML")


def test_marks_are_signals_for_later_rules_and_reasons_for_decisions():
    text = """\
    version: 1
    rules:
      - {name: odd_client, stage: registration, when: client_unofficial, action: mark,
         reason: ODD_CLIENT}
      - {name: odd_and_busy, stage: messaging, when: odd_client and msgs_1m >= 3,
         action: restrict, reason: ODD_AND_BUSY}
    """
    rs = parse_rules(textwrap.dedent(text), "m.yaml")
    eng = Engine(rules=rs, text_scorer=None)
    lines = [b'{"type":"registration","ts":0,"account":"a","phone":"+15550001234",'
             b'"client":"wa-automate/4.2"}',
             b'{"type":"registration","ts":0,"account":"b","phone":"+15550001235",'
             b'"client":"android/2.24.1"}']
    for who in (b"a", b"b"):
        lines += [b'{"type":"message","ts":%d,"account":"%s","peer":"x%d"}' % (i, who, i)
                  for i in range(1, 4)]
    decisions, _ = eng.ingest_lines(lines)
    assert [(d.account, d.action, d.reasons) for d in decisions] == [
        ("a", "restrict", ["ODD_AND_BUSY", "ODD_CLIENT"])]


def test_rules_check_cli(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["rules", "check", str(default_rules_path())])
    assert ok.exit_code == 0
    text = default_rules_path().read_text()
    n = {s: len(re.findall(rf"^    stage: {s}$", text, re.M))
         for s in ("registration", "messaging", "feedback")}
    assert (f"{sum(n.values())} rules OK ({n['registration']} registration, "
            f"{n['messaging']} messaging, {n['feedback']} feedback)") in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("msgs_1m", "msgs_2m"))
    res = runner.invoke(cli, ["rules", "check", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:5: rule 'burst': unknown signal 'msgs_2m'" in res.output
    missing = runner.invoke(cli, ["rules", "check", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "cannot read rule file" in missing.output


def test_replay_refuses_a_bad_rule_file_before_reading_events(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\nrules: []\n")
    events = tmp_path / "e.jsonl"
    events.write_text('{"type":"block","ts":1,"account":"a","peer":"b"}\n')
    res = CliRunner().invoke(cli, ["replay", str(events), "--out", str(tmp_path / "d.jsonl"),
                                   "--rules", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:1: `version: 1` is required" in res.output
