"""Contract v1 ingest: every field validated; garbage is reported, never fatal."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawall.engine import Engine
from seawall.events import InvalidEvent, Message, Registration, decode_event, encode_event

OK = {
    "registration": {"phone": "+15550001234", "ip": "2001:db8::1", "device": "d",
                     "client": "android/2.24.1", "verification": "sms", "business": False},
    "session": {"ip": "192.0.2.1", "device": "d", "client": "ios/24.3"},
    "message": {"peer": "b", "kind": "media", "forwarded": 2, "typed": None,
                "in_contacts": True, "size": 10},
    "group_create": {"group": "g"},
    "group_add": {"group": "g", "peer": "b", "in_contacts": None},
    "group_leave": {"group": "g", "removed": True},
    "report": {"peer": "b", "reason": "scam", "group": "g", "messages": ["hi", "buy"]},
    "block": {"peer": "b"},
}


@pytest.mark.parametrize("type_", sorted(OK))
def test_every_event_type_round_trips(type_):
    obj = {"type": type_, "ts": 1, "account": "a", "id": "e1", **OK[type_]}
    ev = decode_event(orjson.dumps(obj))
    assert ev.type == type_ and ev.ts == 1 and ev.id == "e1"
    assert decode_event(encode_event(ev)) == ev


@pytest.mark.parametrize("patch,reason", [
    ({"ts": -1}, "`ts`: Expected `int` >= 0"),
    ({"ts": 1.5}, "`ts`: Expected `int`, got `float`"),
    ({"account": "x" * 129}, "`account`: Expected `str` of length <= 128"),
    ({"id": ""}, "`id`: Expected `str` of length >= 1"),
    ({"kind": "sticker"}, "`kind`: Invalid enum value 'sticker'"),
    ({"forwarded": -2}, "`forwarded`: Expected `int` >= 0"),
    ({"typed": "yes"}, "`typed`: Expected `bool | null`, got `str`"),
    ({"group": "g"}, "message needs exactly one of `peer` or `group`"),
    ({"text": "hello"}, "Object contains unknown field `text`"),
    ({"type": "sms"}, "`type`: Invalid value 'sms'"),
])
def test_invalid_message_fields_are_named(patch, reason):
    obj = {"type": "message", "ts": 1, "account": "a", "peer": "b", **patch}
    with pytest.raises(InvalidEvent) as e:
        decode_event(orjson.dumps(obj))
    assert str(e.value) == reason


def test_registration_needs_an_e164_phone_and_a_real_ip():
    with pytest.raises(InvalidEvent, match="phone"):
        decode_event(b'{"type":"registration","ts":1,"account":"a","phone":"5550001234"}')
    with pytest.raises(InvalidEvent, match="`ip` is not an IPv4 or IPv6 address: '999.1.1.1'"):
        decode_event(b'{"type":"registration","ts":1,"account":"a","phone":"+15550001234",'
                     b'"ip":"999.1.1.1"}')
    ok = decode_event(b'{"type":"registration","ts":1,"account":"a","phone":"+155500012"}')
    assert isinstance(ok, Registration) and ok.verification is None and ok.business is False


def test_report_messages_limits():
    base = {"type": "report", "ts": 1, "account": "a", "peer": "b"}
    with pytest.raises(InvalidEvent, match="length <= 5"):
        decode_event(orjson.dumps({**base, "messages": ["x"] * 6}))
    with pytest.raises(InvalidEvent, match="length <= 4096"):
        decode_event(orjson.dumps({**base, "messages": ["x" * 4097]}))


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=60), _json.map(orjson.dumps),
                          st.fixed_dictionaries({"type": st.sampled_from(sorted(OK)),
                                                 "ts": st.integers(-5, 10**13),
                                                 "account": st.text(max_size=3)}).map(
                                                     orjson.dumps)),
                max_size=20))
def test_garbage_is_rejected_with_its_line_and_never_crashes(lines):
    lines = [ln.replace(b"\n", b" ") for ln in lines]
    eng = Engine(text_scorer=None)
    decisions, rejects = eng.ingest_lines(lines, source="fuzz.jsonl")
    non_blank = [i + 1 for i, ln in enumerate(lines) if ln.strip()]
    accepted = eng.counters["events"] + eng.counters["duplicates"]
    assert len(rejects) + accepted == len(non_blank)
    for r in rejects:
        assert r.source == "fuzz.jsonl" and r.line in non_blank and r.reason


@settings(max_examples=200, deadline=None)
@given(st.builds(Message, ts=st.integers(0, 2**53), account=st.text(min_size=1, max_size=128),
                 peer=st.text(min_size=1, max_size=128),
                 kind=st.sampled_from(["text", "media", "link", "voice", "other"]),
                 forwarded=st.integers(0, 1000), typed=st.none() | st.booleans(),
                 in_contacts=st.none() | st.booleans()))
def test_valid_messages_survive_encode_decode(msg):
    assert decode_event(encode_event(msg)) == msg
