"""Near-duplicate fingerprints, indicators, and the index that links reported accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.cli import cli
from seawall.fingerprint import Link, ReportTextIndex, fingerprint, indicators

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DAY = 24 * 3600 * 1000

SPAM = ("Hello dear, I am a crypto trading expert and I help people earn 2000 dollars a week "
        "from home. No experience needed, message me to start today")
SPAM_VARIANT = ("Hello friend, I am a crypto trading expert and I help people earn 3500 dollars "
                "a week from home. No experience required, message me to start now")
UNRELATED = ("Does anyone know a good place to draw diagrams for an article? Excalidraw looks "
             "nice but I could not export it")


def test_spam_differing_by_a_few_words_links_the_two_accounts():
    index = ReportTextIndex()
    assert index.add("r1", "acct-a", [SPAM], ts=0) == []
    assert index.add("r2", "acct-b", [SPAM_VARIANT], ts=1000) == [
        Link("acct-a", "near_duplicate", ("r1",))
    ]
    assert fingerprint([SPAM]).similarity(fingerprint([SPAM_VARIANT])) >= 0.6


def test_unrelated_texts_do_not_link():
    index = ReportTextIndex()
    index.add("r1", "acct-a", [SPAM], ts=0)
    assert index.add("r2", "acct-b", [UNRELATED], ts=1) == []
    assert fingerprint([SPAM]).similarity(fingerprint([UNRELATED])) < 0.2


def test_reports_against_the_same_account_are_not_links():
    index = ReportTextIndex()
    index.add("r1", "acct-a", [SPAM], ts=0)
    assert index.add("r2", "acct-a", [SPAM], ts=1) == []
    assert len(index) == 2


def test_shared_indicators_link_even_when_the_texts_differ():
    index = ReportTextIndex()
    index.add("r1", "acct-a", ["Best odds today: https://www.Lucky-Bets.example.com/r?id=1"], ts=0)
    index.add("r2", "acct-c", ["call me +44 7700 900123"], ts=1)
    links = index.add("r3", "acct-b", ["Hi, try lucky-bets.example.com or ring 0044-7700-900123"],
                      ts=2)
    assert links == [
        Link("acct-a", "domain:lucky-bets.example.com", ("r1",)),
        Link("acct-c", "phone:+447700900123", ("r2",)),
    ]


def test_links_gather_every_report_of_an_account_and_come_sorted():
    index = ReportTextIndex()
    index.add("k2", "zed", [SPAM + " @crypto_guru_pro"], ts=0)
    index.add("k1", "zed", [SPAM_VARIANT], ts=1)
    index.add("k3", "amy", ["write to @Crypto_Guru_Pro"], ts=2)
    links = index.add("k4", "bob", [SPAM + " @crypto_guru_pro"], ts=3)
    assert links == [
        Link("amy", "handle:@crypto_guru_pro", ("k3",)),
        Link("zed", "handle:@crypto_guru_pro", ("k2",)),
        Link("zed", "near_duplicate", ("k1", "k2")),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Visit https://WWW.Example.com/deal?x=1.", ("domain:example.com",)),
        ("go to shop.example.co.uk/offer, or sub.domain.ru", ("domain:shop.example.co.uk",
                                                              "domain:sub.domain.ru")),
        ("bit.ly/3AbC and https://t.me/joinchat/XyZ", ("url:bit.ly/3AbC",
                                                       "url:t.me/joinchat/XyZ")),
        ("join t.me/Crypto_Signals or @Crypto_Signals now", ("handle:@crypto_signals",)),
        ("write to support@example.com, not @ab", ()),
        ("Call +1 (555) 010-9999 today", ("phone:+15550109999",)),
        ("звоните 8 (999) 123-45-67 или +7 999 123 45 67",
         ("phone:+79991234567", "phone:89991234567")),
        ("intl 0044 20 7946 0958", ("phone:+442079460958",)),
        ("اتصل +٩٧١ ٥٠ ١٢٣ ٤٥٦٧", ("phone:+971501234567",)),
        ("on 2024-01-15 we paid 10,000,000 rub, code 12345", ()),
        ("Mr.Smith said message.it was fine", ()),
        ("http://localhost:8080/x and https://999.1/", ()),
    ],
)
def test_indicators_are_extracted_exactly(text, expected):
    assert indicators([text]) == expected


def test_short_texts_are_not_compared_as_near_duplicates():
    fp = fingerprint(["Sorry, I'll call later"])
    assert fp.minhash is None and fp.similarity(fp) == 0.0
    index = ReportTextIndex()
    index.add("r1", "a", ["Sorry, I'll call later"], ts=0)
    assert index.add("r2", "b", ["Sorry, I'll call later"], ts=1) == []


def test_reports_older_than_the_window_are_forgotten():
    index = ReportTextIndex(window_ms=7 * DAY)
    index.add("r1", "acct-a", [SPAM], ts=0)
    assert index.add("r2", "acct-b", [SPAM], ts=7 * DAY) == [
        Link("acct-a", "near_duplicate", ("r1",))
    ]
    assert index.add("r3", "acct-c", [SPAM], ts=7 * DAY + 1) == [
        Link("acct-b", "near_duplicate", ("r2",))
    ]
    assert len(index) == 2 and "r1" not in index
    # A report older than the window is compared but not kept.
    assert index.add("r0", "acct-d", [SPAM], ts=0) == [
        Link("acct-b", "near_duplicate", ("r2",)),
        Link("acct-c", "near_duplicate", ("r3",)),
    ]
    assert "r0" not in index


def test_the_report_count_is_capped_oldest_first():
    index = ReportTextIndex(max_reports=2)
    index.add("r1", "acct-a", [SPAM + " x.example.com"], ts=10)
    index.add("r2", "acct-b", [UNRELATED], ts=20)
    index.add("r3", "acct-c", [UNRELATED + " again"], ts=30)
    assert len(index) == 2 and "r1" not in index
    assert index.add("r4", "acct-d", [SPAM + " x.example.com"], ts=40) == []


def test_a_repeated_report_key_is_ignored():
    index = ReportTextIndex()
    index.add("r1", "acct-a", [SPAM], ts=0)
    index.add("r2", "acct-b", [SPAM], ts=1)
    assert index.add("r2", "acct-c", [SPAM], ts=2) == []
    assert len(index) == 2


def test_bad_index_parameters_are_refused():
    with pytest.raises(ValueError, match="threshold must be in"):
        ReportTextIndex(threshold=0)
    with pytest.raises(ValueError, match="must be positive"):
        ReportTextIndex(max_reports=0)


def test_same_reports_in_same_order_give_same_links():
    lines = (DATA / "telegram_spam_samples.txt").read_text(encoding="utf-8").splitlines()[:120]

    def run() -> list[list[Link]]:
        index = ReportTextIndex()
        return [index.add(f"r{i}", f"a{i % 40}", [text], ts=i) for i, text in enumerate(lines)]

    first = run()
    assert first == run()
    assert sum(len(links) for links in first) > 0


def test_real_spam_campaign_reported_against_many_accounts_is_linked():
    lines = (DATA / "telegram_spam_samples.txt").read_text(encoding="utf-8").splitlines()
    index = ReportTextIndex()
    linked = sum(bool(index.add(f"r{i}", f"a{i}", [t], ts=i)) for i, t in enumerate(lines))
    ham = (DATA / "telegram_ham_samples.txt").read_text(encoding="utf-8").splitlines()
    before = len(index)
    ham_links = [index.add(f"h{i}", f"h{i}", [t], ts=10_000 + i) for i, t in enumerate(ham)]
    near = [link for links in ham_links for link in links if link.kind == "near_duplicate"]
    assert linked >= 20
    assert near == []
    assert len(index) == before + len(ham)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=400), max_size=5))
def test_fingerprinting_arbitrary_text_never_fails_and_is_deterministic(messages):
    a, b = fingerprint(messages), fingerprint(messages)
    assert a.indicators == b.indicators == indicators(messages)
    assert a.shingles == b.shingles
    if a.minhash is None:
        assert b.minhash is None
    else:
        assert (a.minhash.digest() == b.minhash.digest()).all()
        assert a.similarity(b) == 1.0
    index = ReportTextIndex()
    index.add("x", "a", messages, ts=0)
    links = index.add("y", "b", messages, ts=1)
    assert all(link.account == "a" and link.reports == ("x",) for link in links)


def _events(path: Path) -> Path:
    lines = [
        {"type": "report", "ts": 1000, "account": "u1", "peer": "s1", "id": "e1",
         "messages": [SPAM]},
        {"type": "message", "ts": 1500, "account": "s1", "peer": "u1"},
        {"type": "report", "ts": 2000, "account": "u2", "peer": "s2", "id": "e2",
         "messages": ["hi", SPAM_VARIANT + " https://earn.example.net"]},
        {"type": "report", "ts": 2500, "account": "u3", "peer": "s3"},
        {"type": "report", "ts": 3000, "account": "u4", "peer": "s4",
         "messages": ["see https://earn.example.net/x"]},
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    text += '\n{"type":"report","ts":"x","account":"u5","peer":"s5"}\n'
    text += json.dumps({**lines[0], "messages": ["repeated id"]}) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_scores_reports_and_links_accounts(tmp_path):
    events = _events(tmp_path / "events.jsonl")
    result = CliRunner().invoke(cli, ["report-text", str(events), "--out",
                                      str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"{events}:6: `ts`: Expected `int`, got `str`",
        "4 reports, 3 with text, 2 linked, 1 invalid",
    ]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["event"], r["account"], r["reporter"]) for r in rows] == [
        ("e1", "s1", "u1"), ("e2", "s2", "u2"), (None, "s3", "u3"), (None, "s4", "u4")]
    assert [r["links"] for r in rows] == [
        [],
        [{"account": "s1", "kind": "near_duplicate", "reports": ["e1"]}],
        [],
        [{"account": "s2", "kind": "domain:earn.example.net", "reports": ["e2"]}],
    ]
    assert rows[2]["score"] is None
    assert rows[3]["score"] < 0.5 < rows[0]["score"]


def test_cli_with_a_missing_model_says_which_file(tmp_path):
    events = _events(tmp_path / "events.jsonl")
    missing = tmp_path / "nope.npz"
    result = CliRunner().invoke(cli, ["report-text", str(events), "--model", str(missing)])
    assert result.exit_code == 1
    assert f"Error: {missing}: no such model file" in result.stderr
