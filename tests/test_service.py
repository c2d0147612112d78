"""The Seawall service through a real HTTP server on loopback (uvicorn in a thread, httpx)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import itertools
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import orjson
import pytest
import uvicorn
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.cli import cli
from seawall.service.app import create_app
from seawall.service.config import ServiceConfig, WebhookConfig
from seawall.service.openapi import build_openapi
from seawall.service.runtime import Runtime

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
REPO = Path(__file__).resolve().parents[1]


# -- events built by hand per the contract -----------------------------------------------------

def phone_of(account: str) -> str:
    """A distinct E.164 number (and number block) per account, so that accounts do not taint
    each other through a shared number block."""
    return "+" + str(int(hashlib.sha256(account.encode()).hexdigest(), 16))[:12]


def registration(account: str, ts: int, phone: str | None = None) -> dict:
    phone = phone or phone_of(account)
    return {"type": "registration", "ts": ts, "account": account, "phone": phone,
            "id": f"{account}-reg", "verification": "sms", "client": "android/2.24.1"}


def blitz(account: str, start: int, n: int = 120, phone: str | None = None) -> list[dict]:
    """A new account that sends ``n`` link messages 100 ms apart to distinct peers: the
    default rules ban it at its 100th message."""
    out = [registration(account, start, phone)]
    out += [{"type": "message", "ts": start + 1000 + 100 * i, "account": account,
             "peer": f"{account}-peer{i}", "kind": "link", "id": f"{account}-m{i}"}
            for i in range(n)]
    return out


def chatter(account: str, start: int, n: int = 20) -> list[dict]:
    """An ordinary user: a few typed messages to two contacts, minutes apart."""
    out = [registration(account, start)]
    out += [{"type": "message", "ts": start + 60_000 * (i + 1), "account": account,
             "peer": f"{account}-friend{i % 2}", "typed": True, "in_contacts": True,
             "id": f"{account}-m{i}"} for i in range(n)]
    return out


def outreach(account: str, start: int, n: int = 25) -> list[dict]:
    """An established account (10 days old) writing slowly to ``n`` strangers: the default
    rules queue it for review (no enforcement) at its 20th first contact."""
    out = [registration(account, start)]
    out += [{"type": "message", "ts": start + 10 * 86_400_000 + 240_000 * (i + 1),
             "account": account, "peer": f"{account}-stranger{i}", "typed": True,
             "in_contacts": False, "id": f"{account}-m{i}"} for i in range(n)]
    return out


def stream(*parts: list[dict]) -> list[dict]:
    return sorted((e for p in parts for e in p), key=lambda e: e["ts"])


def ndjson(events: list[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


# -- a real server on a free loopback port -----------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(data: Path, role: str) -> str:
    res = CliRunner().invoke(cli, ["keys", "create", "--role", role, "--data", str(data)])
    assert res.exit_code == 0, res.output
    return res.stdout.strip()


class Server:
    """``with Server(cfg) as s:`` serves ``cfg`` on 127.0.0.1 until the block ends."""

    def __init__(self, config: ServiceConfig) -> None:
        config.host, config.port = "127.0.0.1", free_port()
        self.config = config
        self.url = f"http://127.0.0.1:{config.port}"

    def __enter__(self) -> Self:
        self.runtime = Runtime(self.config)
        self.server = uvicorn.Server(uvicorn.Config(create_app(self.runtime), host="127.0.0.1",
                                                    port=self.config.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def wait_for(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


# -- ingest, check, feed -----------------------------------------------------------------------

def test_ingest_mixed_valid_and_invalid_ndjson(data: Path, keys: dict[str, str]) -> None:
    good = blitz("spammer", T0)
    body = (orjson.dumps(good[0]) + b"\n"
            + b'{"type":"message","ts":1,"account":"x"}\n'          # line 2: no peer/group
            + b"\n"                                                  # line 3: blank, skipped
            + b"not json\n"                                          # line 4
            + b'{"type":"registration","ts":5,"account":"y","phone":"12"}\n'  # line 5
            + ndjson(good[1:]))
    with Server(ServiceConfig(data=str(data), model=None)) as s, s.client(keys["ingest"]) as c:
        r = c.post("/v1/events", content=body,
                   headers={"Content-Type": "application/x-ndjson"})
        assert r.status_code == 200
        out = r.json()
    assert out["accepted"] == 121
    assert [x["position"] for x in out["rejected"]] == [2, 4, 5]
    assert out["rejected"][0]["reason"] == "message needs exactly one of `peer` or `group`"
    assert out["rejected"][1]["reason"].startswith("not valid JSON")
    assert out["rejected"][2]["reason"].startswith("`phone`")
    [ban] = out["decisions"]
    assert (ban["seq"], ban["account"], ban["action"], ban["stage"]) == (
        1, "spammer", "ban", "messaging")
    # The 100th message (index 99) triggers it, at its own event time.
    assert (ban["ts"], ban["event"]) == (T0 + 1000 + 100 * 99, "spammer-m99")
    assert ban["reasons"] == ["NEW_ACCOUNT_BLITZ", "MACHINE_SPEED_SENDING"]


def test_ingest_json_array_positions_and_check_registration(data: Path,
                                                            keys: dict[str, str]) -> None:
    events = [registration("a1", T0), {"type": "block", "ts": T0 + 5, "account": "a1"},
              {"type": "session", "ts": T0 + 9, "account": "a1", "ip": "10.0.0.1"}]
    with Server(ServiceConfig(data=str(data), model=None)) as s, s.client(keys["ingest"]) as c:
        out = c.post("/v1/events", json=events).json()
        assert out["accepted"] == 2
        assert out["rejected"] == [{"position": 2,
                                    "reason": "Object missing required field `peer`"}]
        r = c.post("/v1/check/registration",
                   json=registration("newcomer", T0 + 10) | {"id": None})
        assert r.status_code == 200
        verdict = r.json()
        assert verdict["verdict"] in ("allow", "challenge", "deny")
        assert set(verdict) == {"verdict", "reasons", "score"}
        # No state change: the account does not exist afterwards.
        with s.client(keys["reviewer"]) as rc:
            assert rc.get("/v1/accounts/newcomer").status_code == 404
        bad = c.post("/v1/check/registration", json={"type": "block", "ts": 1, "account": "a",
                                                      "peer": "b"})
        assert bad.status_code == 422
        assert bad.json() == {"error": "expected a registration event, got 'block'"}
        assert c.post("/v1/events", content=b"[1,", headers={
            "Content-Type": "application/json"}).status_code == 400


def test_the_journal_keeps_no_phone_number_or_ip_address(data: Path,
                                                         keys: dict[str, str]) -> None:
    events = [registration("a1", T0, phone="+4915112345678") | {"ip": "203.0.113.77"},
              {"type": "session", "ts": T0 + 9, "account": "a1", "ip": "2001:db8:abcd:12::1",
               "device": "dev-a1"}]
    body = ndjson(events) + b'{"type":"registration","ts":5,"account":"y","phone":"+4915'
    with Server(ServiceConfig(data=str(data), model=None)) as s, s.client(keys["ingest"]) as c:
        out = c.post("/v1/events", content=body,
                     headers={"Content-Type": "application/x-ndjson"}).json()
        assert (out["accepted"], [r["position"] for r in out["rejected"]]) == (2, [3])
        db = sqlite3.connect(data / "seawall.db")
        [(journal,)] = db.execute("SELECT body FROM journal WHERE kind = 'events'").fetchall()
        db.close()
    journal = bytes(journal)
    for raw in (b"+4915112345678", b"203.0.113.77", b"2001:db8:abcd:12::1", b"+4915\""):
        assert raw not in journal
    assert [orjson.loads(line).get("phone", orjson.loads(line).get("ip"))
            for line in journal.split(b"\n")] == ["+4915112345000", "2001:db8:abcd::"]
    assert b'"ip":"203.0.113.0"' in journal and b'"device":"dev-a1"' in journal


def test_ingest_positions_property(data: Path, keys: dict[str, str]) -> None:
    """Whatever the mix, exactly the invalid items are rejected, each at its position."""
    clock = itertools.count(T0, 1000)
    good = lambda: orjson.dumps({"type": "session", "ts": next(clock),  # noqa: E731
                                 "account": f"a{next(clock)}", "ip": "192.0.2.7"})
    bad = b'{"type":"block","ts":1,"account":"a"}'         # valid JSON, no `peer`
    with Server(ServiceConfig(data=str(data), model=None)) as s, s.client(keys["ingest"]) as c:

        @settings(max_examples=40, deadline=None)
        @given(st.lists(st.sampled_from(["good", "bad", "blank", "garbage"]), max_size=25),
               st.booleans())
        def check(kinds: list[str], as_array: bool) -> None:
            if as_array:
                kinds = [k for k in kinds if k in ("good", "bad")]
                items = [good() if k == "good" else bad for k in kinds]
                r = c.post("/v1/events", content=b"[" + b",".join(items) + b"]",
                           headers={"Content-Type": "application/json"})
            else:
                lines = [{"good": good, "bad": lambda: bad, "blank": lambda: b"",
                          "garbage": lambda: b"{not json"}[k]() for k in kinds]
                r = c.post("/v1/events", content=b"\n".join(lines),
                           headers={"Content-Type": "application/x-ndjson"})
            out = r.json()
            assert out["accepted"] == kinds.count("good")
            assert [x["position"] for x in out["rejected"]] == [
                i for i, k in enumerate(kinds, 1) if k in ("bad", "garbage")]

        check()


def test_decision_feed_pagination_and_account(data: Path, keys: dict[str, str]) -> None:
    senders = [f"s{i}" for i in range(5)]
    events = stream(*(blitz(a, T0 + 7_000 * i) for i, a in enumerate(senders)),
                    chatter("ok-user", T0))
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["ingest"]) as c:
            for i in range(0, len(events), 100):
                assert c.post("/v1/events", content=ndjson(events[i:i + 100])).status_code == 200
        with s.client(keys["reviewer"]) as c:
            pages, after = [], "0"
            while True:
                page = c.get("/v1/decisions", params={"after": after, "limit": 2}).json()
                if not page["decisions"]:
                    assert page["next"] == after
                    break
                pages.append([(d["seq"], d["account"], d["action"]) for d in page["decisions"]])
                after = page["next"]
            assert pages == [[(1, "s0", "ban"), (2, "s1", "ban")],
                             [(3, "s2", "ban"), (4, "s3", "ban")], [(5, "s4", "ban")]]
            assert c.get("/v1/decisions", params={"limit": 0}).status_code == 400
            acct = c.get("/v1/accounts/s3").json()
            assert (acct["account"], acct["state"], acct["stage"]) == ("s3", "ban", "messaging")
            assert [d["seq"] for d in acct["decisions"]] == [4]
            assert isinstance(acct["signals"], dict)
            ok = c.get("/v1/accounts/ok-user").json()
            assert (ok["state"], ok["decisions"]) == ("none", [])
            assert c.get("/v1/accounts/nobody").status_code == 404


# -- appeals, review, manual actions, labels ---------------------------------------------------

def test_appeal_round_trip_reinstates_and_exports_label(data: Path,
                                                        keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["ingest"]) as c:
            c.post("/v1/events", content=ndjson(stream(blitz("spammer", T0),
                                                       chatter("ok-user", T0))))
        with s.client(keys["reviewer"]) as c:
            assert c.post("/v1/appeals", json={"account": "ok-user"}).status_code == 409
            r = c.post("/v1/appeals", json={"account": "spammer", "note": "it was my cousin"})
            assert r.status_code == 201
            appeal = r.json()
            assert (appeal["kind"], appeal["status"], appeal["decision"]["action"]) == (
                "appeal", "open", "ban")
            assert c.post("/v1/appeals", json={"account": "spammer"}).status_code == 409
            queue = c.get("/v1/review").json()["items"]
            assert [(i["id"], i["kind"], i["account"], i["state"]) for i in queue] == [
                (appeal["id"], "appeal", "spammer", "ban")]
            res = c.post(f"/v1/review/{appeal['id']}",
                         json={"outcome": "overturn", "note": "verified by phone"}).json()
            reinstate = res["decision"]
            assert (reinstate["seq"], reinstate["account"], reinstate["action"],
                    reinstate["stage"]) == (2, "spammer", "reinstate", "appeal")
            assert reinstate["ts"] == T0 + 60_000 * 20   # the engine's event-time clock
            assert res["review"]["outcome"] == "overturn"
            again = c.post(f"/v1/review/{appeal['id']}", json={"outcome": "uphold"})
            assert again.status_code == 409
            assert c.post("/v1/review/999", json={"outcome": "uphold"}).status_code == 404
            assert c.post(f"/v1/review/{appeal['id']}",
                          json={"outcome": "maybe"}).status_code == 422
            feed = c.get("/v1/decisions").json()["decisions"]
            assert [(d["account"], d["action"], d["stage"]) for d in feed] == [
                ("spammer", "ban", "messaging"), ("spammer", "reinstate", "appeal")]
            assert c.get("/v1/accounts/spammer").json()["state"] == "none"
            assert c.get("/v1/review").json()["items"] == []

            # A reviewer acts by hand; a second identical action changes nothing.
            act = c.post("/v1/accounts/ok-user/actions",
                         json={"action": "restrict", "reasons": ["SPAM_REPORTS_CONFIRMED"]})
            assert act.json()["decision"]["stage"] == "manual"
            assert act.json()["decision"]["reasons"] == ["SPAM_REPORTS_CONFIRMED"]
            again = c.post("/v1/accounts/ok-user/actions", json={"action": "restrict"}).json()
            assert again == {"decision": None, "state": "restrict"}
            appeal2 = c.post("/v1/appeals", json={"account": "ok-user"}).json()
            up = c.post(f"/v1/review/{appeal2['id']}", json={"outcome": "uphold"}).json()
            assert up["decision"] is None

            r = c.get("/v1/labels")
            assert r.headers["content-type"] == "application/x-ndjson"
            labels = [orjson.loads(line) for line in r.content.splitlines()]
            assert labels == [{"account": "spammer", "label": "legit", "ts": T0 + 60_000 * 20},
                              {"account": "ok-user", "label": "abuse", "ts": T0 + 60_000 * 20}]


def test_engine_review_items_uphold_and_overturn(data: Path, keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["ingest"]) as c:
            out = c.post("/v1/events", content=ndjson(stream(outreach("pusher", T0),
                                                             outreach("helper", T0 + 7)))).json()
        assert [(d["account"], d["action"], d["stage"], d["reasons"]) for d in out[
            "decisions"]] == [("pusher", "review", "messaging", ["STRANGER_OUTREACH_REVIEW"]),
                              ("helper", "review", "messaging", ["STRANGER_OUTREACH_REVIEW"])]
        with s.client(keys["reviewer"]) as c:
            queue = c.get("/v1/review").json()["items"]
            assert [(i["id"], i["kind"], i["account"], i["state"], i["decision"]["seq"])
                    for i in queue] == [(1, "review", "pusher", "review", 1),
                                        (2, "review", "helper", "review", 2)]
            up = c.post("/v1/review/1", json={"outcome": "uphold", "action": "restrict",
                                              "note": "sells crypto"}).json()
            assert (up["decision"]["action"], up["decision"]["stage"],
                    up["decision"]["reasons"]) == ("restrict", "manual", ["review_upheld"])
            down = c.post("/v1/review/2", json={"outcome": "overturn"}).json()
            assert (down["decision"]["action"], down["decision"]["stage"]) == (
                "reinstate", "manual")
            assert c.get("/v1/review").json()["items"] == []
            done = c.get("/v1/review", params={"status": "resolved"}).json()["items"]
            assert [(i["id"], i["outcome"], i["outcome_note"]) for i in done] == [
                (1, "uphold", "sells crypto"), (2, "overturn", None)]
            assert [orjson.loads(x)["label"] for x in c.get("/v1/labels").content.split()] == [
                "abuse", "legit"]
            assert c.get("/v1/accounts/pusher").json()["state"] == "restrict"
            assert c.get("/v1/accounts/helper").json()["state"] == "none"


# -- webhooks ----------------------------------------------------------------------------------

class Receiver:
    """A loopback HTTP server that records requests; it answers 500 to the first ``fail``
    requests for each decision (``Idempotency-Key``), then 204."""

    def __init__(self, fail: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail = fail
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                seen = sum(h["Idempotency-Key"] == self.headers["Idempotency-Key"]
                           for h, _ in receiver.requests)
                status = 500 if seen <= receiver.fail else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_webhooks_signed_deduplicated_and_retried(data: Path, keys: dict[str, str]) -> None:
    good, flaky = Receiver(), Receiver(fail=2)
    secret = "whsec-test"
    hooks = WebhookConfig(urls=[good.url, flaky.url], secret=secret, backoff_base=0.05,
                          max_attempts=5)
    try:
        with Server(ServiceConfig(data=str(data), model=None, webhooks=hooks)) as s:
            with s.client(keys["ingest"]) as c:
                events = stream(blitz("s0", T0), blitz("s1", T0 + 20_000))
                c.post("/v1/events", content=ndjson(events))
                c.post("/v1/events", content=ndjson(events))    # a repeat: no new decisions
            with s.client(keys["admin"]) as c:
                def settled():
                    d = c.get("/v1/webhooks/deliveries").json()["deliveries"]
                    return len(d) == 4 and all(x["status"] == "delivered" for x in d) and d
                deliveries = wait_for(settled, "webhook deliveries")
                flaky_rows = [d for d in deliveries if d["url"] == flaky.url]
                assert [(d["seq"], d["attempts"], d["last_error"]) for d in flaky_rows] == [
                    (1, 3, "HTTP 500"), (2, 3, "HTTP 500")]
                assert [(d["seq"], d["attempts"], d["last_error"])
                        for d in deliveries if d["url"] == good.url] == [(1, 1, None), (2, 1, None)]
                assert c.get("/v1/webhooks/deliveries",
                             params={"status": "failed"}).json()["deliveries"] == []
                with s.client(keys["reviewer"]) as rc:
                    assert rc.get("/v1/webhooks/deliveries").status_code == 403
    finally:
        good.close()
        flaky.close()
    assert [h["Idempotency-Key"] for h, _ in good.requests] == ["1", "2"]
    assert sorted(h["Idempotency-Key"] for h, _ in flaky.requests) == ["1"] * 3 + ["2"] * 3
    for headers, body in good.requests + flaky.requests:
        t, _, v1 = headers["Seawall-Signature"].partition(",v1=")
        t = t.removeprefix("t=")
        mac = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(mac, v1)
        assert headers["Content-Type"] == "application/json"
    bodies = [orjson.loads(b) for _, b in good.requests]
    assert [(b["seq"], b["account"], b["action"]) for b in bodies] == [
        (1, "s0", "ban"), (2, "s1", "ban")]


def test_failed_delivery_is_visible_and_can_be_retried(data: Path,
                                                       keys: dict[str, str]) -> None:
    down = Receiver(fail=1000)
    hooks = WebhookConfig(urls=[down.url], secret="s", backoff_base=0.01, max_attempts=2)
    try:
        with Server(ServiceConfig(data=str(data), model=None, webhooks=hooks)) as s:
            with s.client(keys["ingest"]) as c:
                c.post("/v1/events", content=ndjson(blitz("s0", T0)))
            with s.client(keys["admin"]) as c:
                failed = wait_for(lambda: c.get("/v1/webhooks/deliveries", params={
                    "status": "failed"}).json()["deliveries"], "the delivery to fail")
                assert [(d["id"], d["seq"], d["attempts"], d["last_error"]) for d in failed] == [
                    (1, 1, 2, "HTTP 500")]
                down.fail = 0
                r = c.post("/v1/webhooks/deliveries/1/retry")
                assert (r.status_code, r.json()["status"], r.json()["attempts"]) == (
                    200, "pending", 0)
                done = wait_for(lambda: c.get("/v1/webhooks/deliveries", params={
                    "status": "delivered"}).json()["deliveries"], "the retried delivery")
                assert [(d["id"], d["attempts"]) for d in done] == [(1, 1)]
                assert c.post("/v1/webhooks/deliveries/1/retry").status_code == 409
                assert c.post("/v1/webhooks/deliveries/9/retry").status_code == 404
    finally:
        down.close()
    assert len(down.requests) == 3


# -- security ----------------------------------------------------------------------------------

def test_authentication_roles_and_payload_limit(data: Path, keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None, max_body_bytes=2048)) as s:
        with s.client(None) as c:
            r = c.get("/v1/decisions")
            assert (r.status_code, r.headers["www-authenticate"]) == (401, "Bearer")
            assert c.get("/healthz").json()["status"] == "ok"
            assert c.get("/openapi.json").json()["paths"].keys() == build_openapi()[
                "paths"].keys()
        with s.client("sw_deadbeef_not-a-key") as c:
            assert c.post("/v1/events", content=b"").status_code == 401
        with s.client(keys["ingest"]) as c:
            assert c.get("/v1/decisions").status_code == 403
            assert c.post("/v1/appeals", json={"account": "a"}).status_code == 403
            big = ndjson([registration(f"a{i}", T0 + i) for i in range(40)])
            assert len(big) > 2048
            r = c.post("/v1/events", content=big)
            assert r.status_code == 413
            assert "limit of 2048" in r.json()["error"]
        with s.client(keys["reviewer"]) as c:
            assert c.post("/v1/events", content=b"").status_code == 403
            assert c.get("/v1/decisions").status_code == 200
        with s.client(keys["admin"]) as c:
            assert c.post("/v1/events", content=b"").json()["accepted"] == 0
        key_id = keys["reviewer"].split("_")[1]
        res = CliRunner().invoke(cli, ["keys", "revoke", key_id, "--data", str(data)])
        assert res.exit_code == 0
        with s.client(keys["reviewer"]) as c:
            assert c.get("/v1/decisions").status_code == 401
    listed = CliRunner().invoke(cli, ["keys", "list", "--data", str(data)]).stdout
    assert [line.split("\t")[1] for line in listed.splitlines()] == [
        "ingest", "reviewer", "admin"]
    assert "revoked" in listed.splitlines()[1]


def test_admin_manages_keys_over_http(data: Path, keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["reviewer"]) as c:
            assert c.get("/v1/keys").status_code == 403
        with s.client(keys["admin"]) as c:
            r = c.post("/v1/keys", json={"role": "ingest", "note": "platform A"})
            assert r.status_code == 201
            new = r.json()
            assert (new["role"], new["note"], new["key"].split("_")[1]) == (
                "ingest", "platform A", new["id"])
            listed = c.get("/v1/keys").json()["keys"]
            assert [(k["role"], k["revoked_at"]) for k in listed][-1] == ("ingest", None)
            assert all("hash" not in k and "key" not in k for k in listed)
            with s.client(new["key"]) as nc:
                assert nc.post("/v1/events", content=b"").status_code == 200
            assert c.delete(f"/v1/keys/{new['id']}").json() == {"revoked": new["id"]}
            assert c.delete(f"/v1/keys/{new['id']}").status_code == 404
            assert c.post("/v1/keys", json={"role": "root"}).status_code == 422
            with s.client(new["key"]) as nc:
                assert nc.post("/v1/events", content=b"").status_code == 401


def test_audit_verify_detects_a_tampered_row(data: Path, keys: dict[str, str]) -> None:
    with Server(ServiceConfig(data=str(data), model=None)) as s:
        with s.client(keys["ingest"]) as c:
            c.post("/v1/events", content=ndjson(blitz("spammer", T0)))
            assert c.get("/v1/decisions").status_code == 403
        with s.client(keys["reviewer"]) as c:
            c.post("/v1/appeals", json={"account": "spammer"})
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", "--data", str(data)])
    assert ok.exit_code == 0
    # 3 key.create, events.ingest, auth.forbidden, appeal.create
    assert ok.stdout.startswith("audit log OK: 6 rows, head ")
    db = sqlite3.connect(data / "seawall.db")
    rows = db.execute("SELECT action, target FROM audit ORDER BY seq").fetchall()
    assert [a for a, _ in rows] == ["key.create"] * 3 + [
        "events.ingest", "auth.forbidden", "appeal.create"]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET target = 'someone-else' WHERE seq = 6")
    # Someone with the file can drop the guard; the hash chain still gives them away.
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET target = 'someone-else' WHERE seq = 6")
    db.commit()
    db.close()
    bad = runner.invoke(cli, ["audit", "verify", "--data", str(data)])
    assert bad.exit_code == 1
    assert "audit log BROKEN at row 6: hash does not match the row's contents" in bad.output


# -- configuration and OpenAPI -----------------------------------------------------------------

def test_bad_config_is_named_with_file_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "seawall.yaml"
    cfg.write_text("port: 8471\nwebhooks:\n  urls: [http://127.0.0.1:9/x]\n  secret: s\n"
                   "  max_attempts: zero\n")
    res = CliRunner().invoke(cli, ["serve", "--config", str(cfg)])
    assert res.exit_code == 1
    assert f"{cfg}:5: `webhooks.max_attempts`: Expected `int`, got `str`" in res.output
    cfg.write_text("snapshot_evry: 10\n")
    res = CliRunner().invoke(cli, ["keys", "list", "--config", str(cfg)])
    assert f"{cfg}:1: `snapshot_evry`: unknown key" in res.output
    cfg.write_text("port: 1\nengine:\n  dedup_window: 60\n  late_tolerence: 5\n")
    res = CliRunner().invoke(cli, ["keys", "list", "--config", str(cfg)])
    assert f"{cfg}:4: `engine.late_tolerence`: unknown key" in res.output
    cfg.write_text("webhooks:\n  urls: [http://127.0.0.1:9/x]\n")
    res = CliRunner().invoke(cli, ["keys", "list", "--config", str(cfg)])
    assert f"{cfg}:1: `webhooks.secret`: required when `webhooks.urls` is set" in res.output


def test_committed_openapi_matches_the_app() -> None:
    committed = orjson.loads((REPO / "docs" / "openapi.json").read_bytes())
    assert committed == orjson.loads(orjson.dumps(build_openapi()))
