"""Campaign detection benchmark: replay throughput with and without the detector, and how
fast simulated stealth farms are stopped. Prints figures, asserts nothing.

    python bench/campaign_throughput.py                       # simulate, then replay
    python bench/campaign_throughput.py --events FILE [--labels FILE]
    python bench/campaign_throughput.py --synthetic [--events-count N]

Without --events it runs the simulator (``--accounts 10000 --days 2 --seed 23`` by default)
and remembers its stealth-farm teams, so it can also print, per member, the minutes from its
team's first message to its first ban or restrict. ``--synthetic`` replays the generated
stream of ``bench/replay_throughput.py`` instead (mostly ordinary traffic).

Both replays run on the same file, one process, with the report-text scorer off (it is the
same cost with or without campaigns); each is repeated (``--repeat``, default 3) and the
least CPU time kept. The first replay of a fresh checkout compiles the kernel, so a warm-up
replay runs first.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seawall.campaigns import CampaignDetector
from seawall.engine import Engine
from seawall.replay import replay


def simulate_with_teams(out: Path, accounts: int, days: int, seed: int) -> list[list[str]]:
    """Run the simulator; return the stealth-farm teams (account ids) it created."""
    from seawall.simulation import abusers, platform

    teams: list[list[str]] = []
    act = abusers.act

    def spy(p, crews):
        teams.extend([p.ids[i] for i in team] for team in crews.stealth)
        return act(p, crews)

    abusers.act = spy
    try:
        platform.simulate(accounts, days, seed, out)
    finally:
        abusers.act = act
    return teams


def timed(path: Path, detector: CampaignDetector | None):
    """CPU seconds of one replay (a shared machine disturbs wall time more), its result and
    engine."""
    eng = Engine(text_scorer=None, campaigns=detector)
    start = time.process_time()
    result = replay([path], engine=eng, keep_decisions=True)
    return time.process_time() - start, result, eng


def stealth_timing(decisions, teams: list[list[str]], events: Path) -> None:
    members = {a: k for k, team in enumerate(teams) for a in team}
    first: dict[str, int] = {}
    with open(events, "rb") as f:
        for line in f:
            if b'"message"' not in line:
                continue
            e = json.loads(line)
            if e["type"] == "message" and e["account"] in members:
                first.setdefault(e["account"], e["ts"])
    start: dict[int, int] = {}
    for a, k in members.items():
        if a in first:
            start[k] = min(start.get(k, first[a]), first[a])
    caught: dict[str, tuple[int, str]] = {}
    for d in decisions:
        if d.account in members and d.action in ("ban", "restrict"):
            caught.setdefault(d.account, (d.ts, d.stage))
    minutes = [(ts - start[members[a]]) / 60_000 for a, (ts, _) in caught.items()]
    stages = collections.Counter(stage for _, stage in caught.values())
    n = len(members)
    print(f"stealth farms         {len(teams)} teams, {n} accounts; actioned {len(caught)} "
          f"({len(caught) / n:.1%}); by stage {dict(sorted(stages.items()))}")
    if minutes:
        m = np.asarray(minutes)
        print(f"  minutes from team start to action: median {np.median(m):.1f}, p90 "
              f"{np.percentile(m, 90):.1f}; within 10 min {int((m <= 10).sum())} of {n} "
              f"({(m <= 10).sum() / n:.1%}), within 15 min {int((m <= 15).sum())}")


def innocents(decisions, labels: Path) -> None:
    label = {}
    for line in open(labels, "rb"):
        row = json.loads(line)
        label[row["account"]] = (row["label"], row.get("archetype", "?"))
    camp = [d for d in decisions if d.stage == "campaign"]
    wrong = collections.Counter(label[d.account][1] for d in camp
                                if label.get(d.account, ("abuse",))[0] == "legit")
    right = collections.Counter(label[d.account][1] for d in camp
                                if label.get(d.account, ("legit",))[0] == "abuse")
    print(f"campaign decisions    {len(camp)}: abusive {dict(sorted(right.items()))}; "
          f"innocent {dict(sorted(wrong.items())) or 0}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=Path, help="replay this file")
    ap.add_argument("--labels", type=Path, help="labels for --events (innocents check)")
    ap.add_argument("--synthetic", action="store_true",
                    help="replay bench/replay_throughput.py's generated stream")
    ap.add_argument("--events-count", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--repeat", type=int, default=3, help="replays of each kind (best kept)")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    teams: list[list[str]] = []
    path, labels = args.events, args.labels
    if path is None and args.synthetic:
        spec = importlib.util.spec_from_file_location(
            "replay_throughput", Path(__file__).with_name("replay_throughput.py"))
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        path = Path(tmp.name) / "events.jsonl"
        gen.generate(path, 100_000, args.events_count)
    elif path is None:
        teams = simulate_with_teams(Path(tmp.name), args.accounts, args.days, args.seed)
        path, labels = Path(tmp.name) / "events.jsonl", Path(tmp.name) / "labels.jsonl"
    n = sum(1 for _ in open(path, "rb"))

    timed(path, None)   # compile / warm caches
    base_s = camp_s = float("inf")
    for _ in range(args.repeat):
        base_s = min(base_s, timed(path, None)[0])
        seconds, result, eng = timed(path, CampaignDetector())
        camp_s = min(camp_s, seconds)
    found = [c for c in eng.campaigns.campaigns_ if c.merged_into is None]
    print(f"input                 {n:,} events ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"replay, no detector   {n / base_s:,.0f} events/s ({base_s:.2f} s CPU)")
    print(f"replay, detector      {n / camp_s:,.0f} events/s ({camp_s:.2f} s CPU)")
    print(f"ratio detector/none   {base_s / camp_s:.3f}")
    print(f"campaigns             {len(found)} ({sum(c.established is not None for c in found)} "
          f"established), {sum(len(c.members) for c in found)} members")
    if labels is not None:
        innocents(result.decisions, labels)
    if teams:
        stealth_timing(result.decisions, teams, path)
    tmp.cleanup()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
