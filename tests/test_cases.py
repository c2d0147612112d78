"""Cases, correlation, the eligibility policy and evidence files (docs/cases.md)."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.cases import CaseStore, eligibility
from seawall.cli import cli
from seawall.evidence import export_evidence, pseudonym, verify_evidence

SECRET = "test-secret"
CUTOFF = date(2019, 12, 7)


def ms(when: str) -> int:
    return int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp() * 1000)


def reg(when: str, account: str, rid: str, phone: str, ip: str, device: str) -> dict:
    return {"type": "registration", "ts": ms(when), "account": account, "id": rid,
            "phone": phone, "ip": ip, "device": device}


# Before the cutoff: u-spam1 is reported for a message carrying the operator's domain.
EARLY = [
    reg("2019-11-01T09:00:00", "u-spam1", "reg-1", "+15550001001", "203.0.113.10", "dev-a"),
    reg("2019-11-01T09:05:00", "u-spam2", "reg-2", "+447700900123", "198.51.100.7", "dev-b"),
    # Same IPv4 /24 as u-spam1, nothing else in common.
    reg("2019-11-02T08:00:00", "u-near", "reg-3", "+14155550199", "203.0.113.77", "dev-c"),
    reg("2019-11-02T09:00:00", "u-other", "reg-4", "+33612345678", "192.0.2.5", "dev-d"),
    reg("2019-11-03T09:00:00", "u-camp3", "reg-5", "+5511987650000", "100.64.0.1", "dev-e"),
    {"type": "message", "ts": ms("2019-11-20T09:00:00"), "account": "u-spam1", "id": "m-1",
     "peer": "r-1"},
    {"type": "report", "ts": ms("2019-11-20T10:00:00"), "account": "r-1", "id": "rep-1",
     "peer": "u-spam1", "messages": [
         "Need customers? Visit https://bulk-sender.example/pricing - 80,000 messages a day!"]},
]
# After the cutoff: u-spam2 is reported for the operator's phone number; u-other for
# something unrelated.
LATE = [
    {"type": "message", "ts": ms("2020-01-10T08:00:00"), "account": "u-spam2", "id": "m-2",
     "peer": "r-2"},
    {"type": "report", "ts": ms("2020-01-10T09:00:00"), "account": "r-2", "id": "rep-2",
     "peer": "u-spam2", "messages": ["hi", "Call +1 (555) 000-1234 for WhatsApp marketing"]},
    {"type": "message", "ts": ms("2020-01-11T11:00:00"), "account": "u-other", "id": "m-3",
     "peer": "r-3"},
    {"type": "report", "ts": ms("2020-01-11T12:00:00"), "account": "r-3", "id": "rep-3",
     "peer": "u-other", "messages": ["you still owe me 20 dollars, pay me back"]},
]
DECISIONS = [
    {"ts": ms("2019-11-20T10:00:00"), "account": "u-spam1", "action": "ban",
     "stage": "feedback", "score": 0.97, "reasons": ["REPORTED_BY_STRANGERS"], "event": "rep-1"},
    {"ts": ms("2020-01-10T09:00:00"), "account": "u-spam2", "action": "ban",
     "stage": "campaign", "score": 0.9, "reasons": ["CAMPAIGN:cmp-12"], "event": "rep-2"},
    {"ts": ms("2020-01-10T09:05:00"), "account": "u-camp3", "action": "ban",
     "stage": "campaign", "score": 0.9, "reasons": ["CAMPAIGN:cmp-12"], "event": None},
    {"ts": ms("2020-01-12T00:00:00"), "account": "u-zzz", "action": "ban",
     "stage": "campaign", "score": None, "reasons": ["CAMPAIGN:cmp-99"], "event": None},
]


def write_ndjson(path: Path, rows: list[dict], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra)
    return path


@pytest.fixture()
def env(tmp_path: Path) -> dict:
    return {
        "db": str(tmp_path / "cases.db"),
        "events": write_ndjson(tmp_path / "events.jsonl", EARLY + LATE),
        "early": write_ndjson(tmp_path / "early.jsonl", EARLY),
        "decisions": write_ndjson(tmp_path / "decisions.jsonl", DECISIONS),
        "tmp": tmp_path,
    }


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"SEAWALL_SECRET": SECRET})
    if ok:
        assert result.exit_code == 0, result.output
    return result


def open_acme(env: dict) -> str:
    """The standard case: the four pieces of off-platform evidence of the scenario."""
    db = env["db"]
    case = run("cases", "open", "--operator", "Acme Bulk Ltd", "--db", db).stdout.strip()
    shot = env["tmp"] / "site.png"
    shot.write_bytes(b"\x89PNG screenshot of acme's pricing page")
    run("cases", "attach", case, "--kind", "domain", "--value", "bulk-sender.example",
        "--date", "2019-11-25", "--db", db)
    run("cases", "attach", case, "--kind", "phone", "--value", "+1 555 000 1234",
        "--date", "2020-02-01", "--db", db)
    run("cases", "attach", case, "--kind", "claim", "--value", "80,000 messages a day",
        "--date", "2020-02-01", "--file", shot, "--db", db)
    run("cases", "attach", case, "--kind", "domain", "--value", "nothing-here.example",
        "--date", "2019-06-01", "--db", db)
    return case


def correlate(env: dict, case: str, events: str = "events") -> None:
    run("cases", "correlate", case, "--events", env[events], "--decisions", env["decisions"],
        "--db", env["db"])


# -- cases and off-platform evidence --


def test_open_attach_list_show(env):
    db = env["db"]
    assert run("cases", "open", "--operator", "Acme Bulk Ltd", "--note", "agency",
               "--db", db).stdout == "case-0001\n"
    assert run("cases", "open", "--operator", "Other Co", "--db", db).stdout == "case-0002\n"
    doc = env["tmp"] / "contract.pdf"
    doc.write_bytes(b"%PDF-1.4 bulk contract")
    out = run("cases", "attach", "case-0001", "--kind", "document", "--value", "sales contract",
              "--file", doc, "--db", db).stdout
    assert out == f"ev-001 sha256={hashlib.sha256(b'%PDF-1.4 bulk contract').hexdigest()}\n"
    assert run("cases", "attach", "case-0001", "--kind", "domain", "--value",
               "Bulk-Sender.Example", "--date", "2019-11-25", "--db", db).stdout == "ev-002\n"
    assert run("cases", "list", "--db", db).stdout == (
        "case-0001  Acme Bulk Ltd  evidence=2 accounts=0 exhibits=0  not correlated\n"
        "case-0002  Other Co  evidence=0 accounts=0 exhibits=0  not correlated\n")
    shown = run("cases", "show", "case-0001", "--db", db).stdout
    assert "case-0001  operator: Acme Bulk Ltd\nnote: agency\n" in shown
    assert "ev-002  domain   bulk-sender.example  date=2019-11-25  INELIGIBLE " \
           "[NO_ON_PLATFORM_EVIDENCE]" in shown
    assert "file contract.pdf (22 bytes)" in shown
    assert "not correlated yet" in shown
    with CaseStore(db) as store:
        assert store.evidence_file("case-0001", "ev-001") == b"%PDF-1.4 bulk contract"
        assert [c.operator for c in store.cases()] == ["Acme Bulk Ltd", "Other Co"]


# -- correlation --


def test_correlation_links_content_infrastructure_and_campaign(env):
    case = open_acme(env)
    out = run("cases", "correlate", case, "--events", env["events"], "--decisions",
              env["decisions"], "--db", env["db"]).stdout
    assert "case-0001: 4 accounts (content 2, campaign 1, infrastructure 1), 7 exhibits" in out
    with CaseStore(env["db"]) as store:
        _, accounts, exhibits = store.correlation(case)
    links = {a.account: a.links for a in accounts}
    # u-other was reported for unrelated text; u-zzz is in another campaign.
    assert links == {"u-spam1": ("content",), "u-spam2": ("content",),
                     "u-near": ("infrastructure",), "u-camp3": ("campaign",)}
    got = [(e.id, e.kind, e.account, e.other, e.event) for e in exhibits]
    assert got == [
        ("ex-0001", "shared_infrastructure", "u-near", "u-spam1", "reg-3"),
        ("ex-0002", "reported_message", "u-spam1", "r-1", "rep-1"),
        ("ex-0003", "decision", "u-spam1", None, "rep-1"),
        ("ex-0004", "reported_message", "u-spam2", "r-2", "rep-2"),
        ("ex-0005", "decision", "u-spam2", None, "rep-2"),
        ("ex-0006", "campaign", "u-camp3", "u-spam2", None),
        ("ex-0007", "decision", "u-camp3", None, None),
    ]
    domain_hit, phone_hit = exhibits[1], exhibits[3]
    assert (domain_hit.evidence, domain_hit.indicator, domain_hit.ts) == (
        "ev-001", "domain:bulk-sender.example", ms("2019-11-20T10:00:00"))
    assert domain_hit.excerpt == ("Need customers? Visit https://bulk-sender.example/pricing"
                                  " - 80,000 messages a day!")
    assert (phone_hit.evidence, phone_hit.indicator) == ("ev-002", "phone:+15550001234")
    assert phone_hit.excerpt == "Call +1 (555) 000-1234 for WhatsApp marketing"
    infra = exhibits[0]
    assert infra.key_kind == "ip_block" and len(infra.key_hash) == 64
    assert exhibits[6].reasons == ("CAMPAIGN:cmp-12",) and exhibits[6].stage == "campaign"
    spam1 = next(a for a in accounts if a.account == "u-spam1")
    assert (spam1.messages, spam1.reports, spam1.registered_ts) == (
        1, 1, ms("2019-11-01T09:00:00"))


def test_correlation_stores_no_raw_phone_or_ip_and_reruns_identically(env):
    case = open_acme(env)
    correlate(env, case)
    first = Path(env["db"]).read_bytes()
    with CaseStore(env["db"]) as store:
        before = store.correlation(case)
    correlate(env, case)
    with CaseStore(env["db"]) as store:
        assert store.correlation(case) == before
    for raw in (b"203.0.113", b"+1555000100", b"14155550", b"dev-c", b"198.51.100"):
        assert raw not in first


def test_shared_block_used_by_a_crowd_is_not_followed(env):
    case = open_acme(env)
    run("cases", "correlate", case, "--events", env["events"], "--max-shared", "1",
        "--db", env["db"])
    with CaseStore(env["db"]) as store:
        summary, accounts, _ = store.correlation(case)
    assert summary.common_keys_skipped == 1
    assert sorted(a.account for a in accounts) == ["u-spam1", "u-spam2"]


def test_more_events_files_after_events_option_are_read(env, tmp_path):
    late = write_ndjson(tmp_path / "late.jsonl", LATE)
    case = open_acme(env)
    out = run("cases", "correlate", case, "--events", env["early"], late,
              "--db", env["db"]).stdout
    assert "read early.jsonl: 7 lines, 0 invalid skipped\nread late.jsonl: 4 lines" in out
    assert "case-0001: 3 accounts (content 2, campaign 0, infrastructure 1)" in out


# -- eligibility --


@pytest.mark.parametrize(("linked_first", "abuse_last", "eligible", "reasons"), [
    (date(2019, 11, 20), date(2019, 11, 30), True, ("CORRELATED_BEFORE_CUTOFF",)),
    (date(2019, 11, 20), date(2020, 1, 10), True,
     ("CORRELATED_BEFORE_CUTOFF", "CONTINUED_AFTER_CUTOFF")),
    (date(2020, 1, 10), date(2020, 1, 10), True, ("CONTINUED_AFTER_CUTOFF",)),
    (None, date(2019, 12, 7), True, ("CONTINUED_AFTER_CUTOFF",)),  # the cutoff day is after
    (date(2019, 12, 7), date(2019, 12, 6), False, ("ENDED_BEFORE_CUTOFF_UNCORRELATED",)),
    (None, date(2019, 11, 30), False, ("ENDED_BEFORE_CUTOFF_UNCORRELATED",)),
    (None, None, False, ("NO_ON_PLATFORM_EVIDENCE",)),
])
def test_eligibility_policy_table(linked_first, abuse_last, eligible, reasons):
    got = eligibility(CUTOFF, linked_first, abuse_last)
    assert (got.eligible, got.reasons) == (eligible, reasons)


def _verdicts(env: dict, case: str, cutoff: str = "2019-12-07") -> dict:
    with CaseStore(env["db"]) as store:
        a = store.assess(case, date.fromisoformat(cutoff))
    return {it.evidence.id: (it.evidence.date.isoformat(), it.eligibility.eligible,
                             it.eligibility.reasons) for it in a.items}


def test_eligibility_when_abuse_ended_before_the_cutoff(env):
    # On-platform evidence only from before the cutoff: only correlated items count.
    case = open_acme(env)
    correlate(env, case, "early")
    assert _verdicts(env, case) == {
        "ev-001": ("2019-11-25", True, ("CORRELATED_BEFORE_CUTOFF",)),  # before, correlated
        "ev-002": ("2020-02-01", False, ("ENDED_BEFORE_CUTOFF_UNCORRELATED",)),  # after, not
        "ev-003": ("2020-02-01", True, ("CORRELATED_BEFORE_CUTOFF",)),  # after, via the case
        "ev-004": ("2019-06-01", False, ("ENDED_BEFORE_CUTOFF_UNCORRELATED",)),  # before, not
    }
    with CaseStore(env["db"]) as store:
        item = store.assess(case).items[1].eligibility
    assert item.detail == ("abuse by correlated accounts ended 2019-11-20, before the cutoff "
                           "2019-12-07, and this item does not correlate with on-platform "
                           "evidence")


def test_eligibility_when_abuse_continued_after_the_cutoff(env):
    case = open_acme(env)
    correlate(env, case)
    both = ("CORRELATED_BEFORE_CUTOFF", "CONTINUED_AFTER_CUTOFF")
    assert _verdicts(env, case) == {
        "ev-001": ("2019-11-25", True, both),
        "ev-002": ("2020-02-01", True, ("CONTINUED_AFTER_CUTOFF",)),
        "ev-003": ("2020-02-01", True, both),
        "ev-004": ("2019-06-01", True, ("CONTINUED_AFTER_CUTOFF",)),  # alone, abuse continued
    }
    # A later cutoff: the abuse ended before it; the phone's evidence now predates it.
    assert _verdicts(env, case, "2020-06-01") == {
        "ev-001": ("2019-11-25", True, ("CORRELATED_BEFORE_CUTOFF",)),
        "ev-002": ("2020-02-01", True, ("CORRELATED_BEFORE_CUTOFF",)),
        "ev-003": ("2020-02-01", True, ("CORRELATED_BEFORE_CUTOFF",)),
        "ev-004": ("2019-06-01", False, ("ENDED_BEFORE_CUTOFF_UNCORRELATED",)),
    }


def test_eligibility_without_any_on_platform_evidence(env, tmp_path):
    unrelated = write_ndjson(tmp_path / "unrelated.jsonl", [EARLY[3], *LATE[2:]])
    case = open_acme(env)
    run("cases", "correlate", case, "--events", unrelated, "--db", env["db"])
    assert {k: v[1:] for k, v in _verdicts(env, case).items()} == {
        k: (False, ("NO_ON_PLATFORM_EVIDENCE",)) for k in ("ev-001", "ev-002", "ev-003", "ev-004")}


# -- evidence files --


def test_export_then_verify_ok_and_deterministic(env, tmp_path):
    case = open_acme(env)
    correlate(env, case)
    out = run("cases", "export", case, "--out", tmp_path / "ev", "--db", env["db"]).stdout
    assert out.startswith(f"wrote 14 files to {tmp_path / 'ev'}\nmanifest sha256 ")
    recorded = out.split()[-1]
    verified = run("cases", "verify", tmp_path / "ev", "--expect", recorded).stdout
    assert verified == f"OK: 14 files match; manifest sha256 {recorded}\n"
    run("cases", "export", case, "--out", tmp_path / "again", "--db", env["db"])
    for f in sorted((tmp_path / "ev").rglob("*")):
        if f.is_file():
            assert f.read_bytes() == (tmp_path / "again" / f.relative_to(tmp_path / "ev")
                                      ).read_bytes(), f
    doc = json.loads((tmp_path / "ev" / "evidence.json").read_bytes())
    assert doc["counts"] == {
        "abuse_first": "2019-11-20", "abuse_last": "2020-01-10", "accounts": 4,
        "accounts_by_link": {"campaign": 1, "content": 2, "infrastructure": 1},
        "actioned_accounts": 3, "exhibits": 7, "first_seen": "2019-11-01T09:00:00Z",
        "implicated_accounts": 3, "last_seen": "2020-01-10T09:00:00Z", "off_platform": 4,
        "off_platform_eligible": 4, "reported_messages": 2, "reports": 2}
    shot = tmp_path / "ev" / "exhibits" / "ev-003-site.png"
    assert shot.read_bytes() == b"\x89PNG screenshot of acme's pricing page"
    html = (tmp_path / "ev" / "report.html").read_text()
    ex2 = (tmp_path / "ev" / "exhibits" / "ex-0002.json").read_bytes()
    assert hashlib.sha256(ex2).hexdigest() in html
    assert "<script" not in html and "http-equiv" not in html
    assert "Timeline" in html and "eligibility cutoff for off-platform evidence" in html


def test_tampered_exhibit_fails_verification_naming_the_file(env, tmp_path):
    case = open_acme(env)
    correlate(env, case)
    run("cases", "export", case, "--out", tmp_path / "ev", "--db", env["db"])
    target = tmp_path / "ev" / "exhibits" / "ex-0004.json"
    data = bytearray(target.read_bytes())
    data[10] ^= 1
    target.write_bytes(bytes(data))
    result = run("cases", "verify", tmp_path / "ev", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("FAILED: exhibits/ex-0004.json: SHA-256 mismatch")
    assert result.stderr.count("FAILED") == 1


def test_tampered_manifest_fails_verification(env, tmp_path):
    case = open_acme(env)
    correlate(env, case)
    run("cases", "export", case, "--out", tmp_path / "ev", "--db", env["db"])
    manifest = tmp_path / "ev" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"role": "investigator"',
                                                      '"role": "legal"'))
    result = verify_evidence(tmp_path / "ev")
    assert not result.ok
    assert len(result.problems) == 1
    assert result.problems[0].startswith("manifest.json: manifest hash mismatch")
    # An added file and a removed one are named too.
    (tmp_path / "ev" / "exhibits" / "ex-0001.json").unlink()
    (tmp_path / "ev" / "exhibits" / "extra.txt").write_text("x")
    problems = verify_evidence(tmp_path / "ev").problems
    assert "exhibits/ex-0001.json: missing" in problems
    assert "exhibits/extra.txt: not listed in the manifest" in problems


def test_pseudonymised_for_investigators_real_ids_for_legal(env, tmp_path):
    case = open_acme(env)
    correlate(env, case)
    run("cases", "export", case, "--out", tmp_path / "inv", "--db", env["db"])
    run("cases", "export", case, "--out", tmp_path / "legal", "--role", "legal",
        "--db", env["db"])
    inv = b"".join(f.read_bytes() for f in sorted((tmp_path / "inv").rglob("*")) if f.is_file())
    legal = b"".join(f.read_bytes() for f in sorted((tmp_path / "legal").rglob("*"))
                     if f.is_file())
    for account in (b"u-spam1", b"u-spam2", b"u-near", b"u-camp3", b"r-1", b"r-2"):
        assert account not in inv
    for account in (b"u-spam1", b"u-spam2", b"u-near", b"u-camp3"):
        assert account in legal
    assert b'"r-1"' not in legal  # reporters are witnesses: pseudonymised for every role
    alias = pseudonym(SECRET.encode(), case, "u-spam1")
    assert alias.startswith("acct-") and len(alias) == 17
    assert alias.encode() in inv
    doc = json.loads((tmp_path / "legal" / "evidence.json").read_bytes())
    spam1 = next(a for a in doc["accounts"] if a["account"] == "u-spam1")
    assert spam1["pseudonym"] == alias
    run("cases", "verify", tmp_path / "legal")


def test_library_export_matches_cli(env, tmp_path):
    case = open_acme(env)
    correlate(env, case)
    with CaseStore(env["db"]) as store:
        result = export_evidence(store, case, tmp_path / "lib", secret=SECRET.encode())
    out = run("cases", "export", case, "--out", tmp_path / "cli", "--db", env["db"]).stdout
    assert out.split()[-1] == result.manifest_sha256
    assert verify_evidence(tmp_path / "lib").ok


# -- bad input --


def test_unknown_case_is_a_clear_error(env):
    run("cases", "open", "--operator", "Acme", "--db", env["db"])
    for args in (("show", "case-0042"), ("attach", "case-0042", "--kind", "url", "--value",
                                          "https://x.example/"),
                 ("correlate", "case-0042", "--events", str(env["events"])),
                 ("export", "case-0042", "--out", str(env["tmp"] / "x"))):
        result = run("cases", *args, "--db", env["db"], ok=False)
        assert result.exit_code == 1
        assert "Error: unknown case 'case-0042'" in result.stderr
        assert "(latest: case-0001)" in result.stderr
        assert "Traceback" not in result.output


def test_bad_dates_and_values_are_clear_errors(env):
    case = run("cases", "open", "--operator", "Acme", "--db", env["db"]).stdout.strip()
    bad = run("cases", "attach", case, "--kind", "claim", "--value", "x", "--date",
              "2019-13-01", "--db", env["db"], ok=False)
    assert bad.exit_code == 2
    assert "Invalid value for --date: '2019-13-01' is not a valid date" in bad.stderr
    bad = run("cases", "attach", case, "--kind", "claim", "--value", "x", "--date",
              "7 Dec 2019", "--db", env["db"], ok=False)
    assert "'7 Dec 2019' is not a date in the form YYYY-MM-DD" in bad.stderr
    bad = run("cases", "show", case, "--cutoff", "2019/12/07", "--db", env["db"], ok=False)
    assert "Invalid value for --cutoff" in bad.stderr
    bad = run("cases", "attach", case, "--kind", "domain", "--value", "not a domain",
              "--db", env["db"], ok=False)
    assert "Error: --value: 'not a domain' is not a domain name" in bad.stderr
    bad = run("cases", "attach", case, "--kind", "phone", "--value", "12", "--db", env["db"],
              ok=False)
    assert "Error: --value: '12' is not a phone number (7..15 digits)" in bad.stderr


def test_invalid_lines_are_skipped_named_and_counted(env, tmp_path):
    broken = write_ndjson(tmp_path / "broken.jsonl", EARLY,
                          '{not json\n{"type":"report","ts":1,"account":"a"}\n')
    case = open_acme(env)
    result = run("cases", "correlate", case, "--events", broken, "--db", env["db"])
    assert f"warning: {broken}:8: skipped: not valid JSON" in result.stderr
    assert f"warning: {broken}:9: skipped: Object missing required field `peer`" \
        in result.stderr
    assert "read broken.jsonl: 9 lines, 2 invalid skipped" in result.stdout
    assert "2 accounts (content 1, campaign 0, infrastructure 1), 2 exhibits" in result.stdout
    missing = run("cases", "correlate", case, "--events", tmp_path / "nope.jsonl",
                  "--db", env["db"], ok=False)
    assert f"Error: {tmp_path / 'nope.jsonl'}: no such file" in missing.stderr


def test_export_refuses_a_non_empty_directory(env, tmp_path):
    case = open_acme(env)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = run("cases", "export", case, "--out", tmp_path / "full", "--db", env["db"],
                 ok=False)
    assert "exists and is not an empty directory" in result.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_list_json(env):
    case = open_acme(env)
    correlate(env, case)
    assert json.loads(run("cases", "list", "--json", "--db", env["db"]).stdout) == {
        "id": "case-0001", "operator": "Acme Bulk Ltd", "evidence": 4, "accounts": 4,
        "exhibits": 7, "correlated": True}


# -- properties --


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("exported")
    env = {"db": str(tmp / "cases.db"), "events": write_ndjson(tmp / "e.jsonl", EARLY + LATE),
           "decisions": write_ndjson(tmp / "d.jsonl", DECISIONS), "tmp": tmp}
    correlate(env, open_acme(env))
    run("cases", "export", "case-0001", "--out", tmp / "ev", "--db", env["db"])
    return tmp / "ev"


@settings(max_examples=30, deadline=None)
@given(pick=st.integers(min_value=0), offset=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_in_any_file_is_named(exported, pick, offset, bit):
    files = sorted(p.relative_to(exported).as_posix() for p in exported.rglob("*")
                   if p.is_file() and p.name != "manifest.json")
    target = files[pick % len(files)]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "ev"
        shutil.copytree(exported, copy)
        data = bytearray((copy / target).read_bytes())
        data[offset % len(data)] ^= 1 << bit
        (copy / target).write_bytes(bytes(data))
        result = verify_evidence(copy)
    assert not result.ok
    assert [p.split(":")[0] for p in result.problems] == [target]


@settings(max_examples=40, deadline=None)
@given(seps=st.lists(st.sampled_from(["", " ", "-", "."]), min_size=3, max_size=3),
       country=st.sampled_from(["+1", "001", "+1 ", ""]), parens=st.booleans())
def test_phone_matches_however_it_is_written(seps, country, parens):
    area = "(555)" if parens else "555"
    written = f"{country}{area}{seps[0]}000{seps[1]}12{seps[2]}34"
    report = {"type": "report", "ts": 1, "account": "r", "peer": "u", "id": "x",
              "messages": [f"whatsapp blasts, call {written} today"]}
    with tempfile.TemporaryDirectory() as tmp, CaseStore(":memory:") as store:
        events = write_ndjson(Path(tmp) / "e.jsonl", [report])
        store.open_case("Acme")
        store.attach("case-0001", "phone", "+1 555 000 1234")
        store.correlate("case-0001", [events], secret=b"k")
        _, accounts, exhibits = store.correlation("case-0001")
    assert [a.account for a in accounts] == ["u"], written
    assert exhibits[0].indicator == "phone:+15550001234"


@pytest.mark.parametrize(("text", "matches"), [
    ("visit www.bulk-sender.example now", True),
    ("mail sales@bulk-sender.example", True),
    ("BULK-SENDER.EXAMPLE/promo", True),
    ("see bulk-sender.example.", True),
    ("see bulk-sender.example.com", False),
    ("see notbulk-sender.example", False),
    ("Acme Bulk Ltd sends for you", True),
    ("acme   bulk ltd!", True),
    ("acmebulk ltd", False),
])
def test_domain_and_name_matching(text, matches):
    report = {"type": "report", "ts": 1, "account": "r", "peer": "u", "id": "x",
              "messages": [text]}
    with tempfile.TemporaryDirectory() as tmp, CaseStore(":memory:") as store:
        events = write_ndjson(Path(tmp) / "e.jsonl", [report])
        store.open_case("Acme")
        store.attach("case-0001", "domain", "bulk-sender.example")
        store.attach("case-0001", "name", "Acme Bulk Ltd")
        store.correlate("case-0001", [events], secret=b"k")
        _, accounts, _ = store.correlation("case-0001")
    assert bool(accounts) is matches


def test_reinstated_or_review_only_campaign_members_are_not_added(env, tmp_path):
    later = ms("2020-01-10T10:00:00")
    extra = [
        {"ts": later, "account": "u-rein", "action": "ban", "stage": "campaign", "score": 0.8,
         "reasons": ["CAMPAIGN:cmp-12"], "event": None},
        {"ts": later, "account": "u-rev", "action": "review", "stage": "campaign",
         "score": 0.5, "reasons": ["CAMPAIGN:cmp-12"], "event": None},
        {"ts": later + 1, "account": "u-rein", "action": "reinstate", "stage": "appeal",
         "score": None, "reasons": ["APPEAL_UPHELD"], "event": None},
        # u-near (infrastructure only) banned, then reinstated: not implicated.
        {"ts": later + 2, "account": "u-near", "action": "restrict", "stage": "manual",
         "score": None, "reasons": ["MANUAL"], "event": None},
        {"ts": later + 3, "account": "u-near", "action": "reinstate", "stage": "appeal",
         "score": None, "reasons": ["APPEAL_UPHELD"], "event": None},
    ]
    decisions = write_ndjson(tmp_path / "more.jsonl", extra)
    case = open_acme(env)
    run("cases", "correlate", case, "--events", env["events"], "--decisions",
        env["decisions"], "--decisions", decisions, "--db", env["db"])
    with CaseStore(env["db"]) as store:
        a = store.assess(case)
    assert [x.account for x in a.accounts] == ["u-camp3", "u-near", "u-spam1", "u-spam2"]
    assert sorted(a.actioned) == ["u-camp3", "u-spam1", "u-spam2"]
    assert sorted(a.implicated) == ["u-camp3", "u-spam1", "u-spam2"]
    near = [(e.action, e.stage) for e in a.exhibits if e.account == "u-near"
            and e.kind == "decision"]
    assert near == [("restrict", "manual"), ("reinstate", "appeal")]
