"""Replay throughput with the learned models on and off: prints figures, asserts nothing.

    python bench/model_throughput.py [--events FILE] [--model MODEL] [--events-count N]

Replays the same file (by default the deterministic synthetic stream of
``bench/replay_throughput.py``) three times on fresh engines: rules only, rules + the model
(the shipped one unless --model), and once more rules only, and prints events/s for each and
the cost of the model per event. Every replay runs once untimed first so that compilation is
not measured. The report-text scorer is off in all runs (it is measured elsewhere).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay_throughput import events_file  # noqa: E402

from seawall.engine import Engine  # noqa: E402
from seawall.replay import replay  # noqa: E402
from seawall.training import default_model_path, load_model  # noqa: E402


def _rate(path: Path, n: int, model) -> tuple[float, int]:
    eng = Engine(text_scorer=None, model=model)
    start = time.perf_counter()
    result = replay([path], engine=eng, keep_decisions=False)
    return n / (time.perf_counter() - start), result.summary["decisions"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=Path, help="replay this file instead of a generated one")
    ap.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--events-count", type=int, default=1_000_000)
    args = ap.parse_args()

    model = load_model(args.model or default_model_path())
    path, tmp = events_file(args.events, args.accounts, args.events_count)
    n = sum(1 for _ in open(path, "rb"))
    replay([path], engine=Engine(text_scorer=None, model=model), keep_decisions=False)  # warm
    off1, d_off = _rate(path, n, None)
    on, d_on = _rate(path, n, model)
    off2, _ = _rate(path, n, None)
    off = max(off1, off2)
    trees = sum(int(m.roots.size) for m in model.models if m is not None)
    print(f"input                {n:,} events ({path.name})")
    print(f"model                {args.model or default_model_path()} ({trees} trees)")
    print(f"rules only           {off:,.0f} events/s ({d_off:,} decisions)")
    print(f"rules + model        {on:,.0f} events/s ({d_on:,} decisions)")
    print(f"model cost           {1e6 / on - 1e6 / off:.2f} µs/event")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
