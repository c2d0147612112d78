"""Replay throughput benchmark: prints figures, asserts nothing.

    python bench/replay_throughput.py [--events FILE] [--accounts N] [--events-count N]

Without --events it generates a deterministic synthetic stream (registrations, sessions,
one-to-one and group messages, group activity, reports and blocks in realistic
proportions) and replays it. It prints, on one run of the same file:

* replay throughput (events/s, one process, one core: numba runs single-threaded here);
* the same file parsed with orjson alone, and the ratio replay / parse;
* peak memory (max RSS) and fixed state bytes per account.

The first replay in a fresh checkout compiles the kernel (cached afterwards); the timed
replay is a second run on a fresh engine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

from seawall.engine import Engine
from seawall.replay import replay
from seawall.state import bytes_per_account


def generate(path: Path, accounts: int, events: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    t0 = 1_767_571_200_000  # 2026-01-05
    ts = t0 + np.sort(rng.integers(0, 2 * 86_400_000, events))
    kind = rng.choice(8, size=events, p=[0.01, 0.01, 0.80, 0.005, 0.05, 0.02, 0.0025, 0.1025])
    acc = rng.zipf(1.3, size=events) % accounts
    peer = (acc + 1 + rng.zipf(1.5, size=events) % 200) % accounts
    kinds = ["text", "media", "link", "voice"]
    with open(path, "wb") as f:
        for i in range(events):
            a = f"u{acc[i]}"
            p = f"u{peer[i]}"
            k = kind[i]
            e: dict
            if k == 0:
                e = {"type": "registration", "phone": f"+1555{acc[i]:07d}",
                     "ip": f"10.{acc[i] % 200}.{acc[i] % 13}.{acc[i] % 250}",
                     "device": f"d{acc[i]}", "client": "android/2.24.1", "verification": "sms"}
            elif k == 1:
                e = {"type": "session", "ip": f"10.{acc[i] % 200}.1.1", "device": f"d{acc[i]}",
                     "client": "android/2.24.1"}
            elif k == 2:
                e = {"type": "message", "peer": p, "kind": kinds[i % 4], "typed": bool(i % 5),
                     "in_contacts": bool(i % 7)}
            elif k == 3:
                e = {"type": "group_create", "group": f"g{acc[i]}"}
            elif k == 4:
                e = {"type": "message", "group": f"g{peer[i] % 500}", "typed": True}
            elif k == 5:
                e = {"type": "group_add", "group": f"g{acc[i]}", "peer": p, "in_contacts": True}
            elif k == 6:
                e = {"type": "report", "peer": p, "messages": ["win a prize at spam.example"]}
            else:
                e = {"type": "message", "peer": p, "typed": True, "in_contacts": True}
            e.update(ts=int(ts[i]), account=a, id=f"e{i}")
            f.write(orjson.dumps(e) + b"\n")


def events_file(given: Path | None, accounts: int, count: int):
    """``(path, tmpdir)``: the given file, or a generated one in a temporary directory (the
    caller cleans it up)."""
    if given is not None:
        return given, None
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "events.jsonl"
    generate(path, accounts, count)
    return path, tmp


def parse_only(path: Path) -> float:
    start = time.perf_counter()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            orjson.loads(line)
            n += 1
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=Path, help="replay this file instead of a generated one")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--events-count", type=int, default=1_000_000)
    ap.add_argument("--no-text", action="store_true", help="disable the report-text scorer")
    args = ap.parse_args()

    path, tmp = events_file(args.events, args.accounts, args.events_count)
    size = path.stat().st_size
    n = sum(1 for _ in open(path, "rb"))

    replay([path], engine=Engine(text_scorer=None), keep_decisions=False)  # compile / warm
    parse_rate = parse_only(path)
    eng = Engine(text_scorer=None) if args.no_text else Engine()
    start = time.perf_counter()
    result = replay([path], engine=eng, keep_decisions=False)
    seconds = time.perf_counter() - start
    rate = n / seconds
    accounts = result.summary["accounts"]
    st = eng.state
    table_bytes = st.pairs.nbytes + st.members.nbytes
    print(f"machine              {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} cpus, Python {platform.python_version()}")
    print(f"input                {n:,} events, {size / 1e6:.1f} MB, {accounts:,} accounts")
    print(f"replay               {rate:,.0f} events/s ({seconds:.2f} s)")
    print(f"orjson parse only    {parse_rate:,.0f} events/s")
    print(f"ratio replay/parse   {rate / parse_rate:.3f}")
    print(f"decisions            {result.summary['decisions']:,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS)    {peak:.0f} MB")
    print(f"fixed state/account  {bytes_per_account()} bytes")
    print(f"pair+member tables   {table_bytes / 1e6:.1f} MB "
          f"({int(st.used[0]):,} pairs, {int(st.used[1]):,} memberships)")
    if tmp is not None:
        tmp.cleanup()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
