"""Campaigns, operator cases and evidence files through the service's HTTP API (a real server
on loopback, as in ``test_service.py``)."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from pathlib import Path

import orjson
import pytest
from test_campaigns import T0 as CAMPAIGN_T0
from test_campaigns import TARGETS, _clock, _farm, _people
from test_service import Server, make_key

from seawall.evidence import pseudonym
from seawall.service.app import CASES_DB
from seawall.service.config import ServiceConfig

SECRET = "test-service-cases-secret"

# 2026-01-10 09:00 UTC: a stranger is messaged by "seller1"; they report it, quoting the
# operator's domain. "chatty" is reported for something unrelated.
T1 = 1_768_035_600_000
REPORTED = [
    {"type": "registration", "ts": T1, "account": "seller1", "phone": "+447700900123",
     "ip": "198.51.100.7", "device": "dev-s1", "id": "reg-s1"},
    {"type": "registration", "ts": T1 + 1000, "account": "chatty", "phone": "+33612345678",
     "ip": "192.0.2.5", "device": "dev-c", "id": "reg-c"},
    {"type": "message", "ts": T1 + 60_000, "account": "seller1", "peer": "victim",
     "id": "m-1"},
    {"type": "report", "ts": T1 + 120_000, "account": "victim", "peer": "seller1",
     "id": "rep-1", "messages": ["Grow fast: https://www.bulk-sender.example/pricing today"]},
    {"type": "message", "ts": T1 + 180_000, "account": "chatty", "peer": "friend",
     "id": "m-2"},
    {"type": "report", "ts": T1 + 240_000, "account": "friend", "peer": "chatty",
     "id": "rep-2", "messages": ["you still owe me 20 dollars"]},
]


def _ndjson(events: list[dict]) -> bytes:
    ordered = sorted(events, key=lambda e: e["ts"])   # stable: equal ts keep their order
    return b"".join(orjson.dumps(e) + b"\n" for e in ordered)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("SEAWALL_SECRET", SECRET)
    return SECRET.encode()


def _audit_actions(data: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(data / "seawall.db") as db:
        return [(a, t) for a, t in db.execute(
            "SELECT action, target FROM audit WHERE action LIKE 'case.%' ORDER BY seq")]


# -- campaigns ---------------------------------------------------------------------------------

def test_campaigns_listed_and_explained(data: Path, keys: dict[str, str]) -> None:
    # test_campaigns' lockstep farm: five accounts starting together on shared strangers.
    events = (_farm("f", 5, CAMPAIGN_T0, TARGETS, share_recipients=True)
              + _people(20, CAMPAIGN_T0 - 30 * 60_000))
    events += _clock(min(e["ts"] for e in events), max(e["ts"] for e in events) + 3_600_000)
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["reviewer"]) as c:
            assert c.get("/v1/campaigns").json() == {"campaigns": []}
            assert c.get("/v1/campaigns/cmp-1").status_code == 404
        with s.client(keys["ingest"]) as c:
            r = c.post("/v1/events", content=_ndjson(events),
                       headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 200 and r.json()["rejected"] == []
        with s.client(keys["reviewer"]) as c:
            rows = c.get("/v1/campaigns").json()["campaigns"]
            doc = c.get("/v1/campaigns/cmp-1").json()
            missing = c.get("/v1/campaigns/cmp-2")
            bad = c.get("/v1/campaigns/nonsense")
    assert [(r["id"], r["status"], r["members"], r["actioned"]) for r in rows] == [
        ("cmp-1", "established", 5, 5)]
    assert rows[0]["first_seen"] <= rows[0]["last_seen"]
    assert rows[0]["merged_into"] is None
    assert doc["id"] == "cmp-1" and doc["status"] == "established"
    assert [m["account"] for m in doc["members"]] == ["f0", "f1", "f2", "f3", "f4"]
    assert doc["windows"]["start"] == [CAMPAIGN_T0, CAMPAIGN_T0 + 4 * 60_000 + 4000]
    assert doc["windows"]["detected"] == CAMPAIGN_T0 + 5 * 60_000
    assert doc["link_kinds"]["shared_recipients"] == len(doc["links"]) > 0
    assert all(0.0 < link["strength"] <= 1.0 for link in doc["links"])
    assert doc["volume"]["members"] == 5
    assert set(doc["harm"]) >= {"strangers_contacted", "reporters", "blockers"}
    assert missing.status_code == 404 and missing.json() == {"error": "no campaign 'cmp-2'"}
    assert bad.status_code == 404


# -- cases ---------------------------------------------------------------------------------

def test_case_round_trip_pseudonymised_for_reviewer_real_for_admin(
        data: Path, keys: dict[str, str], secret: bytes) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["ingest"]) as c:
            assert c.post("/v1/events", content=_ndjson(REPORTED), headers={
                "Content-Type": "application/x-ndjson"}).json()["accepted"] == 6
        with s.client(keys["reviewer"]) as rc, s.client(keys["admin"]) as ac:
            r = rc.post("/v1/cases", json={"operator": "Acme  Bulk Ltd", "note": "tip 42"})
            assert r.status_code == 201
            assert r.json() == {"id": "case-0001", "operator": "Acme Bulk Ltd",
                                "note": "tip 42"}
            assert ac.post("/v1/cases", json={"operator": "Other Co"}).json()["id"] == \
                "case-0002"
            assert [c["id"] for c in rc.get("/v1/cases").json()["cases"]] == [
                "case-0001", "case-0002"]
            r = rc.post("/v1/cases/case-0001/evidence",
                        json={"kind": "domain", "value": "Bulk-Sender.example",
                              "date": "2026-01-05", "note": "their website"})
            assert r.status_code == 201
            assert r.json() == {"id": "ev-001", "kind": "domain",
                                "value": "bulk-sender.example", "date": "2026-01-05",
                                "note": "their website", "file": None}
            before = rc.get("/v1/cases/case-0001").json()
            assert before["correlation"] is None
            assert before["evidence"][0]["eligibility"]["reasons"] == [
                "NO_ON_PLATFORM_EVIDENCE"]

            after = rc.post("/v1/cases/case-0001/correlate").json()
            assert after["correlation"]["accounts"]["content"] == 1
            assert after["correlation"]["exhibits"]["reported_message"] == 1
            assert [f["name"] for f in after["correlation"]["sources"]["events"]] == [
                "journal-events.ndjson"]
            assert after["correlation"]["sources"]["events"][0]["lines"] == 6
            assert after["implicated_accounts"] == 1
            # The abuse (2026) is after the 2019 cutoff.
            assert after["evidence"][0]["eligibility"]["reasons"] == [
                "CONTINUED_AFTER_CUTOFF"]
            assert rc.get("/v1/cases/case-0001").json() == after

            as_reviewer = rc.get("/v1/cases/case-0001/export").json()
            as_admin = ac.get("/v1/cases/case-0001/export").json()
    alias = pseudonym(secret, "case-0001", "seller1")
    ev = as_reviewer["evidence"]
    assert as_reviewer["role"] == "investigator" and ev["pseudonymised"] is True
    assert [a["account"] for a in ev["accounts"]] == [alias]
    [exhibit] = [x for x in ev["exhibits"] if x["kind"] == "reported_message"]
    assert exhibit["account"] == alias
    assert "bulk-sender.example" in exhibit["excerpt"]
    assert b"seller1" not in orjson.dumps(as_reviewer)
    ev = as_admin["evidence"]
    assert as_admin["role"] == "legal" and ev["pseudonymised"] is False
    assert [(a["account"], a["pseudonym"]) for a in ev["accounts"]] == [("seller1", alias)]
    assert ev["case"] == {"id": "case-0001", "operator": "Acme Bulk Ltd", "note": "tip 42"}
    # The reporter is a witness: pseudonymised for the legal role too.
    assert b'"victim"' not in orjson.dumps(as_admin)
    assert len(as_admin["manifest_sha256"]) == 64
    assert as_admin["manifest_sha256"] != as_reviewer["manifest_sha256"]
    assert (data / CASES_DB).is_file()
    assert _audit_actions(data) == [
        ("case.open", "case-0001"), ("case.open", "case-0002"), ("case.attach", "case-0001"),
        ("case.correlate", "case-0001"), ("case.export", "case-0001"),
        ("case.export", "case-0001")]


def test_bad_evidence_is_answered_400_with_the_reason(data: Path,
                                                      keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s, s.client(keys["admin"]) as c:
        assert c.post("/v1/cases", json={"operator": "Acme"}).status_code == 201
        domain = c.post("/v1/cases/case-0001/evidence",
                        json={"kind": "domain", "value": "not a domain"})
        phone = c.post("/v1/cases/case-0001/evidence", json={"kind": "phone", "value": "12"})
        kind = c.post("/v1/cases/case-0001/evidence", json={"kind": "fax", "value": "x"})
        when = c.post("/v1/cases/case-0001/evidence",
                      json={"kind": "claim", "value": "80,000 a day", "date": "2020-13-01"})
        empty = c.post("/v1/cases", json={"operator": "   "})
        unknown = c.post("/v1/cases/case-0009/evidence", json={"kind": "claim", "value": "x"})
        shape = c.post("/v1/cases/case-0001/evidence", json={"value": "x"})
        assert c.get("/v1/cases/case-0001").json()["evidence"] == []
        assert c.get("/v1/cases/case-0009").status_code == 404
        assert c.post("/v1/cases/case-0009/correlate").status_code == 404
        assert c.get("/v1/cases/case-0009/export").status_code == 404
    assert (domain.status_code, domain.json()) == (400, {
        "error": "value: 'not a domain' is not a domain name (e.g. bulk-sender.example)"})
    assert (phone.status_code, phone.json()) == (400, {
        "error": "value: '12' is not a phone number (7..15 digits)"})
    assert kind.status_code == 400
    assert kind.json()["error"].startswith("kind: 'fax' is not one of url, claim, phone")
    assert when.status_code == 400
    assert when.json()["error"].startswith("date: '2020-13-01' is not a valid date")
    assert (empty.status_code, empty.json()) == (400, {
        "error": "operator: the operator's name is empty"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "no case 'case-0009'"})
    assert shape.status_code == 422
    assert _audit_actions(data) == [("case.open", "case-0001")]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/v1/campaigns", None),
    ("GET", "/v1/campaigns/cmp-1", None),
    ("GET", "/v1/cases", None),
    ("POST", "/v1/cases", {"operator": "Acme"}),
    ("GET", "/v1/cases/case-0001", None),
    ("POST", "/v1/cases/case-0001/evidence", {"kind": "claim", "value": "x"}),
    ("POST", "/v1/cases/case-0001/correlate", None),
    ("GET", "/v1/cases/case-0001/export", None),
])
def test_new_routes_need_a_reviewer_or_admin_key(data: Path, method: str, path: str,
                                                 body: dict | None) -> None:
    ingest = make_key(data, "ingest")
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(None) as c:
            r = c.request(method, path, json=body)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
        with s.client("sw_nope_nope") as c:
            assert c.request(method, path, json=body).status_code == 401
        with s.client(ingest) as c:
            r = c.request(method, path, json=body)
    assert r.status_code == 403
    assert r.json() == {"error": "a key with role 'ingest' may not do this (needs 'review')"}
    # Nothing was created by the refused calls.
    with sqlite3.connect(data / "seawall.db") as db:
        assert db.execute("SELECT action, target FROM audit WHERE action = 'auth.forbidden'"
                          ).fetchall() == [("auth.forbidden", f"{method} {path}")]
    assert not (data / CASES_DB).exists()


def _correlated_lines(s: Server, key: str) -> int:
    with s.client(key) as rc:
        if rc.get("/v1/cases/case-0001").status_code == 404:
            rc.post("/v1/cases", json={"operator": "Acme Bulk Ltd"})
            rc.post("/v1/cases/case-0001/evidence",
                    json={"kind": "domain", "value": "bulk-sender.example"})
        out = rc.post("/v1/cases/case-0001/correlate").json()
    return out["correlation"]["sources"]["events"][0]["lines"]


def test_correlation_reads_the_event_archive_after_snapshots(data: Path,
                                                             keys: dict[str, str]) -> None:
    # a snapshot after every batch: the journalled events stay as the archive for
    # `event_archive_days` of event time, so correlation still sees them
    later = [{"type": "message", "ts": T1 + 40 * 86_400_000, "account": "chatty",
              "peer": "friend", "id": "m-late"}]
    config = ServiceConfig(data=str(data), model=None, snapshot_every=1)
    with Server(config) as s:
        with s.client(keys["ingest"]) as c:
            c.post("/v1/events", content=_ndjson(REPORTED),
                   headers={"Content-Type": "application/x-ndjson"})
        assert _correlated_lines(s, keys["reviewer"]) == 6
        with s.client(keys["ingest"]) as c:   # 40 days later in event time
            c.post("/v1/events", content=_ndjson(later),
                   headers={"Content-Type": "application/x-ndjson"})
        assert _correlated_lines(s, keys["reviewer"]) == 1
    # restarted from its snapshot, with the archive still there
    with Server(config) as s:
        assert _correlated_lines(s, keys["reviewer"]) == 1


def test_no_event_archive_when_turned_off(data: Path, keys: dict[str, str]) -> None:
    config = ServiceConfig(data=str(data), model=None, snapshot_every=1, event_archive_days=0)
    with Server(config) as s:
        with s.client(keys["ingest"]) as c:
            c.post("/v1/events", content=_ndjson(REPORTED),
                   headers={"Content-Type": "application/x-ndjson"})
        assert _correlated_lines(s, keys["reviewer"]) == 0


def test_eligibility_cutoff_as_a_query_parameter(data: Path, keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["ingest"]) as c:
            c.post("/v1/events", content=_ndjson(REPORTED),
                   headers={"Content-Type": "application/x-ndjson"})
        with s.client(keys["reviewer"]) as rc:
            rc.post("/v1/cases", json={"operator": "Acme Bulk Ltd"})
            rc.post("/v1/cases/case-0001/evidence",
                    json={"kind": "domain", "value": "bulk-sender.example",
                          "date": "2026-01-05"})
            rc.post("/v1/cases/case-0001/correlate")
            default = rc.get("/v1/cases/case-0001").json()
            later = rc.get("/v1/cases/case-0001", params={"cutoff": "2027-01-01"}).json()
            bad = rc.get("/v1/cases/case-0001", params={"cutoff": "01/01/2027"})
            export = rc.get("/v1/cases/case-0001/export",
                            params={"cutoff": "2027-01-01"}).json()
    assert default["cutoff"] == "2019-12-07"
    assert default["evidence"][0]["eligibility"]["reasons"] == ["CONTINUED_AFTER_CUTOFF"]
    # with a cutoff after the abuse, the item qualifies as correlated with earlier evidence
    assert later["cutoff"] == "2027-01-01"
    assert later["evidence"][0]["eligibility"]["reasons"] == ["CORRELATED_BEFORE_CUTOFF"]
    assert bad.status_code == 400
    assert bad.json() == {"error": "cutoff: '01/01/2027' is not a date in the form YYYY-MM-DD"}
    assert export["evidence"]["cutoff"] == "2027-01-01"


def test_evidence_files_over_http(data: Path, keys: dict[str, str]) -> None:
    shot = b"\x89PNG\r\n\x1a\n a screenshot of the operator's price list"
    digest = hashlib.sha256(shot).hexdigest()
    with Server(ServiceConfig(data=str(data), model=None)) as s, \
            s.client(keys["reviewer"]) as rc:
        rc.post("/v1/cases", json={"operator": "Acme Bulk Ltd"})
        r = rc.post("/v1/cases/case-0001/evidence",
                    json={"kind": "document", "value": "price list", "file_name": "prices.png",
                          "file_base64": base64.b64encode(shot).decode()})
        assert r.status_code == 201
        assert r.json()["file"] == {"name": "prices.png", "sha256": digest, "size": len(shot)}
        bad = [rc.post("/v1/cases/case-0001/evidence", json=body) for body in (
            {"kind": "document", "value": "x", "file_name": "a.png"},
            {"kind": "document", "value": "x", "file_name": "a.png", "file_base64": "%%%"},
            {"kind": "document", "value": "x", "file_name": "../a.png",
             "file_base64": "AAAA"})]
        assert [(b.status_code, b.json()["error"]) for b in bad] == [
            (400, "file_name and file_base64 go together"),
            (400, "file_base64: not valid base64"),
            (400, "file name: '../a.png' is not a plain file name")]
        assert rc.get("/v1/cases/case-0001").json()["evidence"][0]["file"]["sha256"] == digest
        export = rc.get("/v1/cases/case-0001/export").json()
    assert digest in orjson.dumps(export).decode()
