"""The engine end to end: scenarios from the issue, signals by hand, state and determinism."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from seawall import privacy
from seawall.engine import Engine, EngineConfig
from seawall.events import Registration

T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
S = 1000
M = 60 * S
H = 60 * M


def ev(type_: str, ts: int, account: str, **fields) -> bytes:
    return orjson.dumps({"type": type_, "ts": ts, "account": account, **fields})


def run(lines, **kw):
    eng = Engine(text_scorer=None, **kw)
    decisions, rejects = eng.ingest_lines(lines)
    return eng, decisions, rejects


def reg(ts, account, phone="+15550001000", **kw):
    return ev("registration", ts, account, phone=phone, **kw)


# --- the scenarios -----------------------------------------------------------------
def test_blitz_sender_is_banned_at_the_published_threshold():
    lines = [reg(T0, "spam1", ip="198.51.100.7", device="dev-1", client="android/2.24.1")]
    # no address-book or typing data, so only the volume rule can fire
    lines += [ev("message", T0 + 60 * S + 100 * i, "spam1", peer=f"victim{i}", kind="link",
                 id=f"m{i}") for i in range(130)]
    eng, decisions, rejects = run(lines)
    assert rejects == []
    assert len(decisions) == 1
    d = decisions[0]
    # the 100th message (index 99) is the one that crosses 100 messages in 15 s
    assert (d.account, d.action, d.stage, d.event) == ("spam1", "ban", "messaging", "m99")
    assert d.ts == T0 + 60 * S + 9_900
    assert d.reasons == ["NEW_ACCOUNT_BLITZ", "MACHINE_SPEED_SENDING"]
    assert d.score == 0.99
    info = eng.account("spam1")
    assert info["state"] == "ban"
    assert info["refused_attempts"] == 30  # the 30 later messages were refused


def test_strangers_without_typing_are_stopped_even_sooner():
    lines = [reg(T0, "spam2")]
    lines += [ev("message", T0 + 60 * S + 100 * i, "spam2", peer=f"victim{i}", kind="link",
                 typed=False, in_contacts=False, id=f"m{i}") for i in range(130)]
    eng, decisions, _ = run(lines)
    # the 15th untyped first contact to a stranger within the hour: no new chats from here
    assert [(d.action, d.event, d.reasons[0]) for d in decisions] == [
        ("restrict", "m14", "UNTYPED_STRANGER_OUTREACH")]
    assert eng.account("spam2")["refused_attempts"] == 115


def test_99_messages_in_15_seconds_is_not_a_blitz():
    lines = [reg(T0, "busy")]
    lines += [ev("message", T0 + 60 * S + 100 * i, "busy", peer=f"p{i}") for i in range(99)]
    _, decisions, _ = run(lines)
    assert decisions == []


def _friends_reply(account, friends, start, typed=True):
    lines = []
    for i, f in enumerate(friends):
        t = start + i * 15 * S
        lines.append(ev("message", t, account, peer=f, typed=typed, in_contacts=False))
        lines.append(ev("message", t + 4 * M, f, peer=account, typed=True, in_contacts=True))
    return lines


def test_person_announcing_a_new_number_to_friends_who_reply_is_not_actioned():
    friends = [f"friend{i}" for i in range(40)]
    lines = [reg(T0, "newnumber", ip="203.0.113.5", device="phone-9", client="ios/24.3")]
    lines += _friends_reply("newnumber", friends, T0 + 10 * M)
    # later that day: ordinary conversations with some of them
    for h in range(2, 12):
        for f in friends[:5]:
            lines.append(ev("message", T0 + h * H, "newnumber", peer=f, typed=True))
            lines.append(ev("message", T0 + h * H + 2 * M, f, peer="newnumber", typed=True))
    lines.sort(key=lambda b: orjson.loads(b)["ts"])
    eng, decisions, _ = run(lines)
    assert decisions == []
    sig = eng.account("newnumber")["signals"]
    assert sig["first_contacts_total"] == 40
    assert sig["stranger_share"] == 1.0
    assert sig["reply_rate"] == 1.0


def test_mass_reports_from_strangers_never_ban():
    lines = [reg(T0, "victim", phone="+447700900123")]
    for i in range(10):  # an ordinary life: talks with friends who answer
        lines.append(ev("message", T0 + i * H, "victim", peer=f"pal{i}", typed=True,
                        in_contacts=True))
        lines.append(ev("message", T0 + i * H + M, f"pal{i}", peer="victim", typed=True))
    base = T0 + 12 * H
    for i in range(50):  # 50 fresh accounts that never received anything report it
        lines.append(reg(base + i * S, f"troll{i}", phone=f"+4477009{i:05d}"))
        lines.append(ev("report", base + 30 * M + i * 10 * S, f"troll{i}", peer="victim",
                        reason="spam", messages=["this account sends spam"]))
    eng, decisions, _ = run(lines)
    enforced = [d for d in decisions if d.account == "victim" and d.action in ("ban", "restrict")]
    assert enforced == []
    # a person is asked to look, nothing is enforced
    assert [(d.action, d.reasons) for d in decisions if d.account == "victim"] == [
        ("review", ["MASS_REPORTS_UNCORROBORATED"])]
    sig = eng.account("victim")["signals"]
    assert (sig["reporters"], sig["credible_reporters"], sig["credible_reports"]) == (50, 0, 0)


def test_reports_from_recipients_of_spam_do_act():
    lines = [reg(T0, "spammer", phone="+15550009999")]
    for i in range(20):
        lines.append(ev("message", T0 + H + i * M, "spammer", peer=f"r{i}", kind="link",
                        typed=True, in_contacts=False))
    for i in range(3):
        lines.append(ev("report", T0 + 2 * H + i * M, f"r{i}", peer="spammer",
                        messages=["cheap loans at loans.example"]))
    _, decisions, _ = run(lines)
    assert [(d.account, d.action, d.stage, d.reasons[0]) for d in decisions] == [
        ("spammer", "restrict", "feedback", "REPORTED_BY_RECIPIENTS")]


def test_account_takeover_is_actioned_after_the_takeover_and_not_before():
    owner = "owner"
    contacts = [f"c{i}" for i in range(60)]
    lines = [reg(T0, owner, ip="192.0.2.10", device="owner-phone", client="android/2.24.1"),
             ev("session", T0 + M, owner, ip="192.0.2.11", device="owner-phone",
                client="android/2.24.5")]
    for day_hour in range(0, 30, 2):  # normal life: a few chats every two hours
        for j in range(3):
            c = contacts[(day_hour + j) % 60]
            t = T0 + day_hour * H + j * 5 * M + 10 * M
            lines.append(ev("message", t, owner, peer=c, typed=True, in_contacts=True))
            lines.append(ev("message", t + 2 * M, c, peer=owner, typed=True, in_contacts=True))
    takeover = T0 + 31 * H
    lines.append(ev("session", takeover, owner, ip="203.0.113.200", device="emulator-77",
                    client="web/2.3000", id="takeover"))
    for i, c in enumerate(contacts):
        lines.append(ev("message", takeover + 5 * M + i * 20 * S, owner, peer=c, kind="link",
                        typed=False, in_contacts=True, id=f"spam{i}"))
    lines.sort(key=lambda b: orjson.loads(b)["ts"])
    eng, decisions, _ = run(lines)
    assert len(decisions) == 1
    d = decisions[0]
    assert (d.account, d.action) == (owner, "restrict")
    assert d.reasons[0] in ("ACCOUNT_TAKEOVER_SPAM", "ACCOUNT_TAKEOVER_BURST",
                            "ACCOUNT_TAKEOVER_SCRIPTED")
    assert d.ts > takeover
    sig = eng.account(owner)["signals"]
    assert sig["since_takeover"] is not None and sig["msgs_since_takeover"] >= 30


def test_registration_decisions_happen_on_the_registration_event():
    lines = []
    for i in range(9):  # a farm: one number block, one network, modified client, unverified
        lines.append(reg(T0 + i * M, f"farm{i}", phone=f"+15557770{i:03d}", ip="198.51.100.9",
                         device=f"emu{i}", client="gbwhatsapp/17.5", verification="none",
                         id=f"r{i}"))
    _, decisions, _ = run(lines)
    # a modified client alone is challenged (people use them too); the third such sign-up
    # from one number block within the hour is a farm, and the two before it are revisited
    assert [(d.account, d.action, d.stage, d.event) for d in decisions] == [
        ("farm0", "challenge", "registration", "r0"),
        ("farm1", "challenge", "registration", "r1"),
        ("farm2", "ban", "registration", "r2"),
        ("farm0", "ban", "registration", "r2"),
        ("farm1", "ban", "registration", "r2"),
    ] + [(f"farm{i}", "ban", "registration", f"r{i}") for i in range(3, 9)]
    assert decisions[0].reasons == ["UNOFFICIAL_CLIENT", "RISKY_REGISTRATION"]
    assert decisions[2].reasons == ["REGISTRATION_RISKY_BURST", "UNOFFICIAL_CLIENT",
                                    "RISKY_REGISTRATION"]
    assert decisions[3].reasons == ["REGISTRATION_RISKY_BURST", "REGISTRATION_CLUSTER",
                                    "UNOFFICIAL_CLIENT", "RISKY_REGISTRATION"]
    assert decisions[9].reasons[:2] == ["REGISTRATION_RISKY_BURST", "ABUSED_NUMBER_BLOCK"]


def test_company_sims_in_sequence_are_not_a_farm():
    # a company registers new staff on consecutive SIMs from the office network, minutes
    # apart; three of ten on a modified or old app: nobody restricted or banned
    risky = {1: "gbwhatsapp/17.5", 4: "android/2.19.0", 7: "fmwhatsapp/9.8"}
    lines = [reg(T0 + i * 2 * M, f"staff{i}", phone=f"+15557770{i:03d}", ip="198.51.100.9",
                 device=f"phone{i}", client=risky.get(i, "ios/24.3"), verification="sms",
                 id=f"r{i}") for i in range(10)]
    eng, decisions, _ = run(lines)
    # (an outdated app alone is only a mark: it lowers later thresholds)
    assert [(d.account, d.action) for d in decisions] == [
        ("staff1", "challenge"), ("staff7", "challenge")]
    sig = eng.account("staff9")["signals"]
    assert (sig["regs_number_block_1h"], sig["risky_regs_number_block_1h"]) == (10.0, 3.0)
    # the same three sign-ups with nobody else from the block in that hour: a farm
    _, decisions, _ = run([line for i, line in enumerate(lines) if i in risky])
    assert [(d.account, d.action) for d in decisions] == [
        ("staff1", "challenge"), ("staff7", "ban"), ("staff1", "ban"), ("staff4", "ban")]


def test_revisit_is_bounded_by_its_window():
    # the first two risky sign-ups were two hours before the third: not revisited
    lines = [reg(T0 + i * M, f"farm{i}", phone=f"+15557770{i:03d}", client="gbwhatsapp/17.5",
                 verification="none", id=f"r{i}") for i in range(2)]
    lines += [reg(T0 + 2 * H + i * M, f"farm{i}", phone=f"+15557770{i:03d}",
                  client="gbwhatsapp/17.5", verification="none", id=f"r{i}")
              for i in range(2, 5)]
    _, decisions, _ = run(lines)
    banned = [d.account for d in decisions if d.action == "ban"]
    assert banned == ["farm4", "farm2", "farm3"]
    _, decisions, _ = run(lines, config=EngineConfig(revisit_window=0))
    assert [d.account for d in decisions if d.action == "ban"] == ["farm4"]


def test_automation_libraries_are_restricted_at_registration():
    lines = [reg(T0, "bot", client="yowsup/3.2.3", id="r1"),
             reg(T0, "person", phone="+15550002222", client="gbwhatsapp/17.5", id="r2")]
    eng, decisions, _ = run(lines)
    assert [(d.account, d.action, d.reasons) for d in decisions] == [
        ("bot", "restrict", ["AUTOMATION_CLIENT", "UNOFFICIAL_CLIENT", "RISKY_REGISTRATION"]),
        ("person", "challenge", ["UNOFFICIAL_CLIENT", "RISKY_REGISTRATION"])]
    assert eng.account("bot")["signals"]["client_automation"] == 1.0
    assert eng.account("person")["signals"]["client_automation"] == 0.0


def test_office_sharing_a_network_and_number_block_is_not_swept_up():
    lines = [reg(T0 + i * M, f"employee{i}", phone=f"+15558880{i:03d}", ip="198.51.100.20",
                 device=f"phone{i}", client="ios/24.3", verification="sms") for i in range(30)]
    _, decisions, _ = run(lines)
    assert decisions == []


def test_restrict_refuses_new_first_contacts_but_not_conversations():
    lines = [reg(T0, "r", phone="+15550002000"),
             ev("message", T0 + M, "r", peer="old", typed=True),
             ev("message", T0 + 2 * M, "old", peer="r", typed=True)]
    for i in range(20):
        lines.append(ev("message", T0 + H + i * M, "r", peer=f"s{i}", in_contacts=False))
    for i in range(3):
        lines.append(ev("report", T0 + 2 * H + i * M, f"s{i}", peer="r"))
    lines.append(ev("message", T0 + 3 * H, "r", peer="new-stranger"))   # refused
    lines.append(ev("message", T0 + 3 * H + M, "r", peer="old"))        # allowed
    eng, decisions, _ = run(lines)
    assert [d.action for d in decisions] == ["restrict"]
    info = eng.account("r")
    assert info["refused_attempts"] == 1
    assert info["signals"]["msgs_total"] == 22


# --- signals computed by hand ------------------------------------------------------------
def test_messaging_signals_by_hand():
    lines = [reg(T0, "a")]
    # 10 messages to 5 peers, 60 s apart: peers 0-4 twice each
    for i in range(10):
        lines.append(ev("message", T0 + (i + 1) * M, "a", peer=f"p{i % 5}", kind="link" if i < 4
                        else "text", typed=None if i < 2 else (i % 2 == 0),
                        in_contacts=None if i == 0 else False, forwarded=1 if i == 9 else 0))
    lines.append(ev("message", T0 + 11 * M, "p1", peer="a"))  # p1 answers
    eng, _, _ = run(lines)
    s = eng.account("a")["signals"]
    assert s["account_age"] == 11 * 60.0
    assert s["msgs_total"] == 10
    assert s["msgs_15s"] == 0
    assert s["first_contacts_total"] == 5
    # first contacts: p0 (in_contacts unknown), p1..p4 strangers -> 4 of 4 known
    assert s["stranger_share"] == 1.0
    # typed known for messages 2..9: typed on even i (2,4,6,8) -> 4 / 8
    assert s["typed_share"] == 0.5
    assert s["link_share"] == 0.4
    assert s["forwarded_share"] == 0.1
    assert s["reached"] == 5
    # 9 gaps so far: cadence is unknown before 10
    assert s["gap_cv"] is None
    assert s["active_hours_24h"] == 1.0
    # all 5 first contacts are younger than an hour: reply rate not known yet
    assert s["reply_rate"] is None
    later = eng.account("a")
    assert later["state"] == "none"


def test_cadence_of_a_script_is_regular():
    lines = [ev("message", T0 + i * 30 * S, "bot", peer=f"p{i}") for i in range(21)]
    eng, _, _ = run(lines)
    s = eng.account("bot")["signals"]
    assert (s["gap_cv"], s["burstiness"]) == (0.0, -1.0)
    # a person: gaps of 5 s and 600 s alternate -> bursty
    lines = [ev("message", T0 + (i // 2) * 605 * S + (i % 2) * 5 * S, "human", peer="f")
             for i in range(40)]
    eng, _, _ = run(lines)
    s = eng.account("human")["signals"]
    assert s["gap_cv"] > 0.9 and s["burstiness"] > -0.05


def test_reply_rate_counts_answers_among_matured_first_contacts():
    lines = [reg(T0, "a")]
    for i in range(4):
        lines.append(ev("message", T0 + i * S, "a", peer=f"p{i}"))
    lines.append(ev("message", T0 + 10 * M, "p0", peer="a"))
    lines.append(ev("message", T0 + 3 * H, "a", peer="p0"))  # advance the clock
    eng, _, _ = run(lines)
    s = eng.account("a")["signals"]
    assert s["reply_rate"] == 0.25
    assert s["first_contacts_total"] == 4


def test_unknown_metadata_degrades_to_unknown_not_false():
    lines = [ev("message", T0 + i * M, "x", peer=f"p{i}") for i in range(30)]
    eng, decisions, _ = run(lines)
    s = eng.account("x")["signals"]
    assert s["stranger_share"] is None
    assert s["typed_share"] is None
    assert s["account_age"] is None
    assert decisions == []


def test_group_signals_by_hand():
    lines = [ev("group_create", T0, "org", group="g1")]
    for i in range(10):
        lines.append(ev("group_add", T0 + S * (i + 1), "org", group="g1", peer=f"m{i}",
                        in_contacts=i < 6))
    lines.append(ev("group_leave", T0 + M, "m7", group="g1"))
    lines.append(ev("group_leave", T0 + M, "m8", group="g1", removed=True))
    lines.append(ev("group_leave", T0 + 2 * 86_400_000, "m9", group="g1"))  # not "soon"
    eng, _, _ = run(lines)
    s = eng.account("org")["signals"]
    assert s["groups_created_24h"] == 0.0  # two days later the window is empty
    assert s["members_added_24h"] == 0.0
    assert s["stranger_add_share"] == 0.4
    assert s["added_left_share"] == 0.1


def test_registration_signals_and_abuse_history():
    lines = [reg(T0 + i * M, f"n{i}", phone=f"+3161234{i:04d}", ip="203.0.113.7",
                 device="shared") for i in range(3)]
    eng, _, _ = run(lines)
    s = eng.account("n2")["signals"]
    assert s["regs_number_block_1h"] == 3.0    # +3161234000x share a block
    assert s["regs_ip_block_1h"] == 3.0
    assert s["device_accounts"] == 3.0
    assert s["number_block_abuse_share"] == 0.0
    eng.apply_manual("n0", "ban", T0 + 10 * M)
    s = eng.account("n2")["signals"]
    assert s["number_block_actioned"] == 1.0
    assert s["device_abuse_share"] == pytest.approx(1 / 3)
    eng.apply_manual("n0", "reinstate", T0 + 11 * M, stage="appeal")
    assert eng.account("n2")["signals"]["number_block_actioned"] == 0.0


def test_credible_report_weights():
    lines = [reg(T0, "s"), reg(T0, "young-reporter", phone="+15550003333")]
    lines.append(ev("message", T0 + M, "s", peer="old-reporter", in_contacts=False))
    lines.append(ev("message", T0 + M, "s", peer="young-reporter", in_contacts=True))
    lines.append(ev("report", T0 + 2 * M, "old-reporter", peer="s"))
    lines.append(ev("report", T0 + 2 * M, "young-reporter", peer="s"))
    lines.append(ev("report", T0 + 2 * M, "young-reporter", peer="s"))  # again: counted once
    lines.append(ev("report", T0 + 2 * M, "stranger", peer="s"))
    eng, _, _ = run(lines)
    s = eng.account("s")["signals"]
    # stranger first contact 1.5, young reporter (registered < 1 day) 0.5, stranger 0
    assert s["credible_reports"] == 2.0
    assert (s["reporters"], s["credible_reporters"]) == (3, 2)
    assert s["report_rate"] == 1.0


# --- ingest: duplicates, time, bad input --------------------------------------------------
def test_repeated_ids_are_ignored_and_late_events_rejected():
    lines = [ev("message", T0, "a", peer="b", id="x"),
             ev("message", T0 + S, "a", peer="b", id="x"),            # duplicate: ignored
             ev("message", T0 + 10 * M, "a", peer="c"),
             ev("message", T0 + 8 * M, "a", peer="d"),                # 2 min behind: taken
             ev("message", T0 + 4 * M, "a", peer="e")]                # 6 min behind: late
    eng, _, rejects = run(lines)
    assert eng.counters["duplicates"] == 1
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [(5, "late")]
    assert eng.account("a")["signals"]["msgs_total"] == 3


def test_invalid_lines_are_reported_and_change_nothing_else():
    good = [reg(T0, "spam1")] + [ev("message", T0 + 100 * i, "spam1", peer=f"v{i}", id=f"m{i}")
                                 for i in range(120)]
    bad = list(good)
    bad.insert(3, b'{"type":"message","ts":"soon","account":"a","peer":"b"}')
    bad.insert(10, b"not json at all")
    bad.insert(20, b'{"type":"message","ts":1,"account":"a","peer":"b","group":"g"}')
    _, d_good, _ = run(good)
    _, d_bad, rejects = run(bad)
    assert [x.to_json() for x in d_bad] == [x.to_json() for x in d_good]
    assert [(r.line, r.reason) for r in rejects] == [
        (4, "`ts`: Expected `int`, got `str`"),
        (11, "not valid JSON: JSON is malformed: invalid character (byte 4)"),
        (21, "message needs exactly one of `peer` or `group`")]


def test_batch_size_does_not_change_decisions():
    lines = [reg(T0, "spam1")] + [ev("message", T0 + 100 * i, "spam1", peer=f"v{i}")
                                  for i in range(150)]
    lines += [ev("report", T0 + H + i, f"v{i}", peer="spam1") for i in range(5)]
    outs = []
    for bs in (1, 7, 4096):
        _, d, _ = run(lines, config=EngineConfig(batch_size=bs))
        outs.append([x.to_json() for x in d])
    assert outs[0] == outs[1] == outs[2] and len(outs[0]) == 1


# --- online questions and persistence -----------------------------------------------------
def test_check_registration_answers_without_changing_state():
    lines = [reg(T0 + i * M, f"farm{i}", phone=f"+15557770{i:03d}", ip="198.51.100.9",
                 client="gbwhatsapp/17.5", verification="none") for i in range(7)]
    eng, _, _ = run(lines)
    probe = Registration(ts=T0 + 8 * M, account="farm9", phone="+15557770999",
                         ip="198.51.100.9", client="gbwhatsapp/17.5", verification="none")
    before = eng.state.ent_c.copy()
    known = (len(eng.ingest.entities), len(eng.ingest.platforms), len(eng.ingest.accounts))
    v1 = eng.check_registration(probe)
    v2 = eng.check_registration(probe)
    assert (v1.action, v1.reasons[0]) == ("deny", "REGISTRATION_RISKY_BURST")
    assert (v2.action, v2.reasons) == (v1.action, v1.reasons)
    assert (eng.state.ent_c == before).all()
    assert eng.account("farm9") is None
    new_block = Registration(ts=T0 + 5 * M, account="x", phone="+4930123456789",
                             ip="203.0.113.1", device="never-seen", client="odd/1.0")
    assert eng.check_registration(new_block).signals["regs_number_block_1h"] == 1.0
    # asking remembers nothing: no new keys, whatever was asked about
    assert (len(eng.ingest.entities), len(eng.ingest.platforms),
            len(eng.ingest.accounts)) == known
    ok = Registration(ts=T0 + 5 * M, account="alice", phone="+4915112345678",
                      client="android/2.24.1", verification="sms")
    assert eng.check_registration(ok).action == "allow"


def test_check_registration_revisits_nobody():
    lines = [reg(T0 + i * M, f"farm{i}", phone=f"+15557770{i:03d}", client="gbwhatsapp/17.5",
                 verification="none") for i in range(2)]
    eng, decisions, _ = run(lines)
    assert [d.action for d in decisions] == ["challenge", "challenge"]
    probe = Registration(ts=T0 + 3 * M, account="farm2", phone="+15557770002",
                         client="gbwhatsapp/17.5", verification="none")
    before = eng.state.acc_c.copy()
    v = eng.check_registration(probe)
    assert (v.action, v.reasons[0]) == ("deny", "REGISTRATION_RISKY_BURST")
    assert (eng.state.acc_c[:2] == before[:2]).all()
    assert [eng.account(f"farm{i}")["state"] for i in range(2)] == ["challenge", "challenge"]


def test_snapshot_and_restore_continue_exactly(tmp_path):
    lines = [reg(T0, "spam1")] + [ev("message", T0 + 100 * i, "spam1", peer=f"v{i}", id=f"m{i}")
                                  for i in range(150)]
    _, full, _ = run(lines)
    eng = Engine(text_scorer=None)
    first, _ = eng.ingest_lines(lines[:60])
    eng.snapshot(tmp_path / "snap.npz")
    eng2 = Engine.restore(tmp_path / "snap.npz", text_scorer=None)
    second, _ = eng2.ingest_lines(lines[50:])  # overlap: ids already seen are ignored
    assert [d.to_json() for d in first + second] == [d.to_json() for d in full]
    assert eng2.counters["duplicates"] == 10


def test_minimised_events_give_the_engine_the_same_state():
    # what the service journals (seawall.privacy.minimise) rebuilds exactly what it read
    lines = [reg(T0 + i * M, f"farm{i}", phone=f"+15557770{i:03d}", ip=f"198.51.100.{i + 7}",
                 device="emu", client="gbwhatsapp/17.5", verification="none", id=f"r{i}")
             for i in range(4)]
    lines += [ev("session", T0 + 9 * M, "farm0", ip="2001:db8:abcd:12::1", id="s1")]
    lines += [ev("message", T0 + 10 * M + i, "farm3", peer=f"v{i}", id=f"m{i}")
              for i in range(5)]
    eng1, d1, _ = run(lines)
    eng2, d2, _ = run([privacy.minimise(line) for line in lines])
    assert [d.to_json() for d in d1] == [d.to_json() for d in d2]
    for name, arr in eng1.state.arrays().items():
        assert np.array_equal(arr, eng2.state.arrays()[name],
                              equal_nan=arr.dtype.kind == "f"), name
    assert privacy.minimise(lines[0]) != lines[0]


def test_a_snapshot_from_another_state_layout_is_refused(tmp_path):
    eng, _, _ = run([reg(T0, "a")])
    eng.snapshot(tmp_path / "snap.npz")
    with np.load(tmp_path / "snap.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["ent_c"] = arrays["ent_c"][:, :7]  # entity rows as an older version wrote them
    with open(tmp_path / "old.npz", "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match=r"old\.npz: .*another layout.*ent_c"):
        Engine.restore(tmp_path / "old.npz", text_scorer=None)


def test_manual_actions_and_reinstate_stop_automatic_enforcement():
    lines = [reg(T0, "x")] + [ev("message", T0 + 100 * i, "x", peer=f"v{i}") for i in range(100)]
    eng, decisions, _ = run(lines)
    assert decisions[0].action == "ban"
    d = eng.apply_manual("x", "reinstate", T0 + H, stage="appeal", reasons=["APPEAL_UPHELD"])
    assert (d.action, d.stage) == ("reinstate", "appeal")
    assert eng.apply_manual("x", "reinstate", T0 + H) is None
    more = [ev("message", T0 + H + 100 * i, "x", peer=f"w{i}") for i in range(100)]
    again, _ = eng.ingest_lines(more)
    assert [d.action for d in again] == ["review"]  # a person cleared it: queue only


def test_nan_never_leaks_into_decisions():
    lines = [reg(T0, "spam1")] + [ev("message", T0 + 100 * i, "spam1", peer=f"v{i}")
                                  for i in range(100)]
    _, decisions, _ = run(lines)
    assert all(d.score is None or not math.isnan(d.score) for d in decisions)


def test_signal_positions_match_the_catalogue():
    from seawall import signals

    for i, s in enumerate(signals.SIGNALS):
        assert getattr(signals, s.name.upper()) == i, s.name
    assert signals.NSIG == len(signals.SIGNALS)


def test_report_text_weighs_the_report():
    class Scorer:
        calls = 0

        def score_many(self, reports):
            Scorer.calls += 1
            return [1.0 if any("loans" in m for m in r) else 0.0 for r in reports]

    lines = [reg(T0, "s")]
    lines += [ev("message", T0 + M + i, "s", peer=f"r{i}", in_contacts=True) for i in range(3)]
    lines.append(ev("report", T0 + H, "r0", peer="s", messages=["cheap loans at loans.example"]))
    lines.append(ev("report", T0 + H, "r1", peer="s", messages=["see you at dinner"]))
    lines.append(ev("report", T0 + H, "r2", peer="s", messages=["cheap loans at loans.example"]))
    eng = Engine(text_scorer=Scorer())
    eng.ingest_lines(lines)
    # spam text x1.5, ordinary text x0.5 (report_text_min/max); the repeated text is scored once
    assert eng.account("s")["signals"]["credible_reports"] == 3.5
    assert Scorer.calls == 1
