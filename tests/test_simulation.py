"""The platform simulator: contract-valid, deterministic output whose archetypes show the
behaviour they are named for (asserted from the events each one emits)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from seawall.cli import cli
from seawall.events import decode_event
from seawall.simulation import ConfigError, SimulationConfig, simulate

ACCOUNTS, DAYS, SEED = 500, 1, 3
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
START = 1767571200000   # 2026-01-05T00:00:00Z


def _read(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("sim")
    result = simulate(accounts=ACCOUNTS, days=DAYS, seed=SEED, out_dir=out)
    events = _read(out / "events.jsonl")
    labels = {r["account"]: r for r in _read(out / "labels.jsonl")}
    by_account: dict[str, list[dict]] = defaultdict(list)
    for ev in events:
        by_account[ev["account"]].append(ev)
    arch: dict[str, list[str]] = defaultdict(list)
    for acc, r in sorted(labels.items()):
        arch[r["archetype"]].append(acc)
    return {"out": out, "result": result, "events": events, "labels": labels,
            "by": by_account, "arch": arch}


def _messages(sim: dict, account: str) -> list[dict]:
    return [e for e in sim["by"][account] if e["type"] == "message"]


def _registration(sim: dict, account: str) -> dict | None:
    regs = [e for e in sim["by"][account] if e["type"] == "registration"]
    return regs[0] if regs else None


# -- format and determinism ---------------------------------------------------------------
def test_every_line_is_a_valid_contract_event_with_a_unique_id(sim: dict) -> None:
    lines = (sim["out"] / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == sim["result"].events > 5000
    ids = set()
    for line in lines:
        ev = decode_event(line)
        assert ev.id is not None
        ids.add(ev.id)
    assert len(ids) == len(lines)
    types = Counter(e["type"] for e in sim["events"])
    assert set(types) == {"registration", "session", "message", "group_create", "group_add",
                          "group_leave", "report", "block"}


def test_events_are_sorted_by_time_and_inside_the_window(sim: dict) -> None:
    ts = [e["ts"] for e in sim["events"]]
    assert ts == sorted(ts)
    assert ts[0] >= START and ts[-1] < START + DAYS * DAY


def test_labels_cover_every_account_that_appears(sim: dict) -> None:
    labels = sim["labels"]
    assert len(labels) == ACCOUNTS
    for ev in sim["events"]:
        assert ev["account"] in labels
        if "peer" in ev:
            assert ev["peer"] in labels
    assert {r["label"] for r in labels.values()} == {"abuse", "legit"}
    for r in labels.values():
        assert ("abuse_from" in r) == (r["archetype"] == "takeover")
    expected = {"ordinary", "new_number_announcer", "organiser", "small_business",
                "business_notifier", "mass_reported_innocent", "heavy_chatter",
                "office_worker", "shared_device_family", "blitz_spammer", "slow_spammer",
                "farm", "stealth_farm", "group_spammer", "automation_client", "takeover",
                "adaptive_spammer", "report_brigade"}
    assert set(sim["arch"]) == expected
    assert sim["result"].archetypes == {a: len(accs) for a, accs in sim["arch"].items()}


def test_nobody_acts_or_is_addressed_before_registering(sim: dict) -> None:
    registered = {}
    for ev in sim["events"]:
        if ev["type"] == "registration":
            assert ev["account"] not in registered
            registered[ev["account"]] = ev["ts"]
    assert len(registered) > 50
    for ev in sim["events"]:
        for who in (ev["account"], ev.get("peer")):
            if who in registered:
                assert ev["ts"] >= registered[who], ev


def test_groups_are_used_only_after_they_are_created(sim: dict) -> None:
    created: dict[str, int] = {}
    for ev in sim["events"]:
        if ev["type"] == "group_create":
            created[ev["group"]] = ev["ts"]
    assert len(created) >= 10
    used = [ev for ev in sim["events"] if ev["type"] != "group_create" and "group" in ev
            and ev["group"] in created]
    assert len(used) > 500
    assert all(ev["ts"] >= created[ev["group"]] for ev in used)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(sim: dict,
                                                                  tmp_path: Path) -> None:
    simulate(accounts=ACCOUNTS, days=DAYS, seed=SEED, out_dir=tmp_path / "a")
    simulate(accounts=ACCOUNTS, days=DAYS, seed=SEED + 1, out_dir=tmp_path / "b")
    for name in ("events.jsonl", "labels.jsonl"):
        same = (tmp_path / "a" / name).read_bytes()
        assert same == (sim["out"] / name).read_bytes()
        assert same != (tmp_path / "b" / name).read_bytes()


def test_cli_writes_files_and_a_summary(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["simulate", "--accounts", "300", "--days", "1", "--seed",
                                   "5", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "300 accounts" in res.output and "ordinary" in res.output
    n = len((tmp_path / "events.jsonl").read_bytes().splitlines())
    assert f"{n} events" in res.output
    assert len((tmp_path / "labels.jsonl").read_bytes().splitlines()) == 300


def test_platform_without_address_books_or_typing(sim: dict, tmp_path: Path) -> None:
    simulate(accounts=ACCOUNTS, days=DAYS, seed=SEED, out_dir=tmp_path / "nb",
             address_books=False)
    simulate(accounts=ACCOUNTS, days=DAYS, seed=SEED, out_dir=tmp_path / "nt", typing=False)
    no_books = _read(tmp_path / "nb" / "events.jsonl")
    no_typing = _read(tmp_path / "nt" / "events.jsonl")
    assert all(decode_event(orjson.dumps(e)).in_contacts is None
               for e in no_books if e["type"] in ("message", "group_add"))
    assert all(decode_event(orjson.dumps(e)).typed is None
               for e in no_typing if e["type"] == "message")
    # the same platform otherwise: only the switched-off field is gone
    strip = [{k: v for k, v in e.items() if k != "typed"} for e in sim["events"]]
    assert strip == no_typing
    assert sum("in_contacts" in e for e in sim["events"]) > 1000


# -- ordinary people ----------------------------------------------------------------------
def test_ordinary_people_sleep_type_and_talk_to_their_contacts(sim: dict) -> None:
    slept = active = 0
    for acc in sim["arch"]["ordinary"]:
        times = sorted(e["ts"] % DAY for e in sim["by"][acc])
        if len(times) < 10:
            continue
        active += 1
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        gaps.append(times[0] + DAY - times[-1])
        slept += max(gaps) >= 6 * HOUR
    assert active > 200
    assert slept / active > 0.97
    msgs = [m for acc in sim["arch"]["ordinary"] for m in _messages(sim, acc)]
    texts = [m for m in msgs if m["kind"] == "text"]
    assert sum(m["typed"] for m in texts) / len(texts) > 0.9
    direct = [m for m in msgs if "peer" in m]
    assert sum(m["in_contacts"] for m in direct) / len(direct) > 0.85
    assert len(direct) / len(msgs) > 0.8


def test_replies_come_within_minutes(sim: dict) -> None:
    last_from: dict[tuple[str, str], int] = {}
    delays = []
    ordinary = set(sim["arch"]["ordinary"])
    for e in sim["events"]:
        if e["type"] != "message" or "peer" not in e or e["account"] not in ordinary:
            continue
        back = last_from.get((e["peer"], e["account"]))
        if back is not None:
            delays.append(e["ts"] - back)
        last_from[(e["account"], e["peer"])] = e["ts"]
    assert statistics.median(delays) < 5 * MINUTE


# -- innocent hard cases ------------------------------------------------------------------
def test_new_number_announcer_tells_friends_who_mostly_reply(sim: dict) -> None:
    for acc in sim["arch"]["new_number_announcer"]:
        reg = _registration(sim, acc)
        blast = [m for m in _messages(sim, acc)
                 if m["ts"] - reg["ts"] < HOUR and not m["in_contacts"]]
        assert len({m["peer"] for m in blast}) >= 30
        replied = {e["account"] for e in sim["events"] if e["type"] == "message"
                   and e.get("peer") == acc and e["ts"] < blast[-1]["ts"] + 12 * HOUR}
        assert len(replied) >= 0.5 * len({m["peer"] for m in blast})


def test_business_notifier_sends_within_its_tier_to_customers_who_saved_it(sim: dict) -> None:
    for acc in sim["arch"]["business_notifier"]:
        reg = _registration(sim, acc)
        assert reg["business"] is True and reg["client"] == "business_api"
        msgs = _messages(sim, acc)
        first_day = {m["peer"] for m in msgs if m["ts"] < reg["ts"] + DAY}
        assert 130 <= len(first_day) <= 250
        assert sum(m["in_contacts"] for m in msgs) / len(msgs) > 0.85
        assert not any(m.get("typed") for m in msgs)


def test_mass_reported_innocent_is_reported_by_strangers_it_never_messaged(sim: dict) -> None:
    for acc in sim["arch"]["mass_reported_innocent"]:
        reports = [e for e in sim["events"] if e["type"] == "report" and e["peer"] == acc]
        reporters = {e["account"] for e in reports}
        assert len(reporters) >= 40
        first = min(e["ts"] for e in reports)
        assert sum(e["ts"] - first < HOUR for e in reports) >= 40
        messaged = {m["peer"] for m in _messages(sim, acc) if "peer" in m}
        assert not reporters & messaged
        new = [r for r in reporters if _registration(sim, r) is not None]
        assert len(new) > len(reporters) / 2
        assert sim["labels"][acc]["label"] == "legit"


def test_office_workers_share_a_nat_block_and_a_number_block(sim: dict) -> None:
    regs = [_registration(sim, a) for a in sim["arch"]["office_worker"]]
    by_net: dict[str, list[dict]] = defaultdict(list)
    for r in regs:
        if r:
            by_net[r["ip"].rsplit(".", 1)[0]].append(r)
    assert by_net   # each office registers its new hires from its own NAT block
    for hires in by_net.values():
        assert len(hires) >= 2
        assert len({r["phone"][:-3] for r in hires}) == 1
        assert len({r["phone"] for r in hires}) == len(hires)
    nets = {s["ip"].rsplit(".", 1)[0] for a in sim["arch"]["office_worker"]
            for s in sim["by"][a] if s["type"] == "session"}
    assert set(by_net) <= nets   # everyone's phone reconnects on the office network


def test_family_accounts_register_on_one_device(sim: dict) -> None:
    regs = [_registration(sim, a) for a in sim["arch"]["shared_device_family"]]
    devices = Counter(r["device"] for r in regs)
    assert max(devices.values()) >= 2
    assert len({r["phone"] for r in regs}) == len(regs)


def test_organiser_adds_many_people_mostly_contacts(sim: dict) -> None:
    for acc in sim["arch"]["organiser"]:
        creates = [e for e in sim["by"][acc] if e["type"] == "group_create"]
        adds = [e for e in sim["by"][acc] if e["type"] == "group_add"]
        assert len(creates) >= 1 and len(adds) >= 15 * len(creates)
        assert sum(a["in_contacts"] for a in adds) / len(adds) > 0.7


def test_small_business_customers_write_first(sim: dict) -> None:
    for acc in sim["arch"]["small_business"]:
        first: dict[str, str] = {}
        for e in sim["events"]:
            if e["type"] == "message" and acc in (e["account"], e.get("peer")):
                other = e["peer"] if e["account"] == acc else e["account"]
                first.setdefault(other, e["account"])
        assert len(first) >= 10
        assert all(sender != acc for sender in first.values())


# -- abusers ------------------------------------------------------------------------------
def test_blitz_spammer_sends_100_in_15_seconds_within_minutes_of_registering(sim: dict) -> None:
    for acc in sim["arch"]["blitz_spammer"]:
        reg = _registration(sim, acc)
        ts = [m["ts"] for m in _messages(sim, acc)]
        assert ts[0] - reg["ts"] < 5 * MINUTE
        assert ts[99] - ts[0] <= 15_000
        assert not any(m.get("in_contacts") for m in _messages(sim, acc))


def test_slow_spammer_stays_under_a_message_a_minute_to_strangers(sim: dict) -> None:
    for acc in sim["arch"]["slow_spammer"]:
        msgs = _messages(sim, acc)
        assert len(msgs) >= 100
        gaps = [b["ts"] - a["ts"] for a, b in zip(msgs, msgs[1:], strict=False)]
        assert min(gaps) >= MINUTE
        assert sum(not m["in_contacts"] for m in msgs) / len(msgs) > 0.95
    hit = set(sim["arch"]["slow_spammer"])
    assert any(e["type"] in ("block", "report") and e["peer"] in hit for e in sim["events"])


def test_farm_registers_in_a_burst_from_one_number_block(sim: dict) -> None:
    regs = [_registration(sim, a) for a in sim["arch"]["farm"]]
    blocks = Counter(r["phone"][:-3] for r in regs)
    assert min(blocks.values()) >= 5
    for block in blocks:
        times = sorted(r["ts"] for r in regs if r["phone"][:-3] == block)
        assert times[-1] - times[0] < 30 * MINUTE


def test_stealth_farm_shares_nothing_but_starts_in_lockstep(sim: dict) -> None:
    members = sim["arch"]["stealth_farm"]
    regs = [_registration(sim, a) for a in members]
    assert len({r["ip"].rsplit(".", 1)[0] for r in regs}) == len(members)
    assert len({r["device"] for r in regs}) == len(members)
    assert len({r["phone"][:-3] for r in regs}) == len(members)
    # teams campaign at different times: members of one team start within 10 minutes
    starts = sorted(_messages(sim, a)[0]["ts"] for a in members)
    teams: list[list[int]] = [[starts[0]]]
    for t in starts[1:]:
        if t - teams[-1][-1] > 10 * MINUTE:
            teams.append([])
        teams[-1].append(t)
    assert all(len(team) >= 4 and team[-1] - team[0] <= 10 * MINUTE for team in teams)
    span = max(r["ts"] for r in regs) - min(r["ts"] for r in regs)
    assert span > HOUR   # registered independently, not in a burst


def test_group_spammer_adds_strangers_who_leave(sim: dict) -> None:
    for acc in sim["arch"]["group_spammer"]:
        own = sim["by"][acc]
        creates = [e for e in own if e["type"] == "group_create"]
        assert len(creates) >= 8
        assert creates[7]["ts"] - creates[0]["ts"] < 10 * MINUTE
        adds = [e for e in own if e["type"] == "group_add"]
        assert len(adds) >= 300 and not any(a["in_contacts"] for a in adds)
        groups = {c["group"] for c in creates}
        leaves = [e for e in sim["events"]
                  if e["type"] == "group_leave" and e["group"] in groups]
        assert len(leaves) >= 0.3 * len(adds)


def test_automation_client_keeps_machine_time_and_never_types(sim: dict) -> None:
    for acc in sim["arch"]["automation_client"]:
        msgs = _messages(sim, acc)
        assert len(msgs) >= 100
        assert not any(m.get("typed") for m in msgs)
        gaps = [b["ts"] - a["ts"] for a, b in zip(msgs, msgs[1:], strict=False)]
        assert statistics.pstdev(gaps) / statistics.mean(gaps) < 0.2
        hours = {(m["ts"] // HOUR) % 24 for m in msgs}
        assert len(hours) >= 20 or msgs[0]["ts"] > START + 4 * HOUR


def test_takeover_switches_device_network_and_client_then_spams_contacts(sim: dict) -> None:
    for acc in sim["arch"]["takeover"]:
        cut = sim["labels"][acc]["abuse_from"]
        own = sim["by"][acc]
        before = [e for e in own if e["ts"] < cut]
        after = [e for e in own if e["ts"] >= cut]
        assert any(e["type"] == "message" for e in before)
        session = after[0]
        assert session["type"] == "session" and session["ts"] == cut
        seen = [e for e in before if e["type"] in ("session", "registration")]
        assert session["device"] not in {e["device"] for e in seen}
        assert session["ip"].rsplit(".", 1)[0] not in {e["ip"].rsplit(".", 1)[0] for e in seen}
        assert session["client"] not in {e["client"] for e in seen}
        spam = [e for e in after if e["type"] == "message"]
        assert len({m["peer"] for m in spam}) >= 5
        assert sum(m["in_contacts"] for m in spam) / len(spam) > 0.5


def test_adaptive_spammer_fakes_typing_and_warms_up(sim: dict) -> None:
    for acc in sim["arch"]["adaptive_spammer"]:
        msgs = _messages(sim, acc)
        assert sum(bool(m.get("typed")) for m in msgs) / len(msgs) > 0.7
        first_event = sim["by"][acc][0]["ts"]
        strangers = [m for m in msgs if not m["in_contacts"]]
        assert strangers and strangers[0]["ts"] - first_event > 3 * HOUR


def test_reports_on_spam_carry_the_spam_texts(sim: dict) -> None:
    spammers = {"blitz_spammer", "slow_spammer", "farm", "stealth_farm", "group_spammer",
                "automation_client", "adaptive_spammer"}
    reports = [e for e in sim["events"] if e["type"] == "report"
               and sim["labels"][e["peer"]]["archetype"] in spammers]
    assert len(reports) >= 10
    assert all(1 <= len(r["messages"]) <= 3 for r in reports)
    assert all(isinstance(t, str) and 0 < len(t) <= 4096 for r in reports
               for t in r["messages"])


def test_abusers_are_not_separable_by_client_alone(sim: dict) -> None:
    clients: dict[str, set[str]] = defaultdict(set)
    for acc, r in sim["labels"].items():
        reg = _registration(sim, acc)
        if reg:
            clients[r["label"]].add(reg["client"])
    # official clients are used on both sides
    assert {"android/2.24.1", "android/2.24.2"} & clients["abuse"] & clients["legit"]


# -- configuration ------------------------------------------------------------------------
def test_config_file_overrides_rates_and_mix(tmp_path: Path) -> None:
    cfg = tmp_path / "sim.yaml"
    cfg.write_text("mix:\n  slow_spammer: 0.02\nreactions:\n  block: 0.5\n  report: 0.0\n")
    res = CliRunner().invoke(cli, ["simulate", "-n", "500", "-d", "1", "--out",
                                   str(tmp_path / "o"), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    labels = _read(tmp_path / "o" / "labels.jsonl")
    assert sum(r["archetype"] == "slow_spammer" for r in labels) == 10


def test_bad_config_key_names_file_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("reactions:\n  block: 0.1\nmix:\n  blitz_spamer: 0.01\n")
    res = CliRunner().invoke(cli, ["simulate", "-n", "500", "-d", "1", "--out",
                                   str(tmp_path / "o"), "--config", str(cfg)])
    assert res.exit_code != 0
    assert f"{cfg}:4: unknown key `mix.blitz_spamer`" in res.output
    assert "Traceback" not in res.output


def test_bad_config_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="`people.typed_share` is a share"):
        SimulationConfig.from_mapping({"people": {"typed_share": 2}})
    with pytest.raises(ConfigError, match="must be a number"):
        SimulationConfig.from_mapping({"reactions": {"block": "often"}})
    with pytest.raises(ConfigError, match="too small"):
        simulate(accounts=40, days=1, seed=1, out_dir="/nonexistent/never-written")


_NUMBERS = st.one_of(st.integers(-5, 5), st.floats(-1, 3, allow_nan=False), st.text(max_size=3),
                     st.booleans(), st.none())
_KNOWN = {s: sorted(v) for s, v in SimulationConfig.default().items() if isinstance(v, dict)}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(_KNOWN) + ["mixx"]),
                       st.dictionaries(st.sampled_from(["block", "farm", "typed_share",
                                                        "conversations_per_day", "nope"]),
                                       _NUMBERS, max_size=3), max_size=3))
def test_config_validation_accepts_or_names_the_problem(data: dict) -> None:
    try:
        cfg = SimulationConfig.from_mapping(data)
    except ConfigError as exc:
        assert str(exc).startswith("<config>")
        return
    for section, values in data.items():
        for key, value in values.items():
            assert cfg[section][key] == value
