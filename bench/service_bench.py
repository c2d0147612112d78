"""Benchmark the Seawall service over HTTP on loopback. Prints figures; asserts nothing.

1. Ingest throughput: events/s through ``POST /v1/events`` in NDJSON batches of 1,000 (one
   client, sequential batches, each answered only after its SQLite commit).
2. ``POST /v1/check/registration`` latency at a sustained request rate (default 1,000 req/s
   for 10 s, open loop: request i is sent at start + i/rate whatever happened before, so a
   stall shows up as latency instead of silently lowering the rate; Tene's "coordinated
   omission"). Latency is measured from the scheduled send time.

The server is a real ``seawall serve`` subprocess on 127.0.0.1 with a fresh data directory.

    python bench/service_bench.py [--events 200000] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

from seawall.service.auth import create_key
from seawall.service.store import Store

REPO = Path(__file__).resolve().parents[1]
T0 = 1_767_225_600_000


def _events(n: int) -> list[bytes]:
    """``n`` contract events in ts order: ordinary users chatting plus a blitz sender every
    50 accounts (so decisions are produced and stored too)."""
    rng = np.random.default_rng(7)
    out: list[bytes] = []
    ts, acct = T0, 0
    while len(out) < n:
        name = f"u{acct}"
        out.append(orjson.dumps({"type": "registration", "ts": ts, "account": name,
                                 "phone": f"+49151{acct:08d}", "verification": "sms",
                                 "id": f"{name}-r"}))
        blitz = acct % 50 == 49
        for i in range(120 if blitz else 18):
            ts += 100 if blitz else int(rng.integers(1, 400))
            ev = {"type": "message", "ts": ts, "account": name, "id": f"{name}-m{i}",
                  "peer": f"{name}-p{i}" if blitz else f"u{int(rng.integers(0, acct + 1))}",
                  "kind": "link" if blitz else "text"}
            if not blitz:
                ev |= {"typed": True, "in_contacts": True}
            out.append(orjson.dumps(ev))
        acct += 1
    return out[:n]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "seawall", "serve", "--data", str(data),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("seawall serve did not start")


def bench_ingest(url: str, key: str, events: list[bytes], batch: int = 1000) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    bodies = [b"\n".join(events[i:i + batch]) for i in range(0, len(events), batch)]
    accepted = decisions = 0
    with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
        c.post("/v1/events", content=bodies[0])            # warm-up (engine JIT, caches)
        start = time.perf_counter()
        for body in bodies[1:]:
            out = c.post("/v1/events", content=body).json()
            accepted += out["accepted"]
            decisions += len(out["decisions"])
        seconds = time.perf_counter() - start
    print(f"ingest: {accepted:,} events in {len(bodies) - 1} batches of {batch} over HTTP: "
          f"{accepted / seconds:,.0f} events/s ({seconds * 1000 / (len(bodies) - 1):.1f} ms "
          f"per batch, {decisions} decisions)")


async def _check_run(port: int, key: str, rate: float, seconds: float,
                     connections: int = 32) -> None:
    # A small raw HTTP/1.1 keep-alive client on asyncio streams: a general-purpose Python
    # client spends more per request than the server does, and would measure itself.
    n = int(rate * seconds)
    requests = []
    for i in range(n):
        body = orjson.dumps({"type": "registration", "ts": T0 + 10**9 + i,
                             "account": f"new{i}", "phone": f"+4917{i:09d}",
                             "verification": "sms", "client": "android/2.24.1"})
        requests.append(b"POST /v1/check/registration HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Authorization: Bearer " + key.encode() + b"\r\n"
                        b"Content-Type: application/json\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\n\r\n" + body)
    latency, service = np.zeros(n), np.zeros(n)
    statuses: list[int] = []
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    scheduled = np.zeros(n)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (i := await queue.get()) is not None:
            sent = time.perf_counter()
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            done = time.perf_counter()
            statuses.append(int(head.split(b" ", 2)[1]))
            latency[i], service[i] = done - scheduled[i], done - sent
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = time.perf_counter() + 0.05
    for i in range(n):
        scheduled[i] = start + i / rate
        delay = scheduled[i] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    errors = sum(s != 200 for s in statuses)
    p = np.percentile(latency * 1000, [50, 90, 99, 99.9])
    s = np.percentile(service * 1000, [50, 90, 99])
    print(f"check/registration: {n:,} requests at {rate:,.0f} req/s target over {connections} "
          f"connections, {n / elapsed:,.0f} req/s achieved, {errors} errors")
    print(f"  latency from scheduled send (ms): p50 {p[0]:.2f}  p90 {p[1]:.2f}  "
          f"p99 {p[2]:.2f}  p99.9 {p[3]:.2f}  max {latency.max() * 1000:.2f}")
    print(f"  latency from actual send (ms):    p50 {s[0]:.2f}  p90 {s[1]:.2f}  p99 {s[2]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        store = Store(data)
        with store.write() as db:
            _, key = create_key(db, "admin", note="bench")
        store.close()
        port = _free_port()
        events = _events(args.events)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (client and server share "
              "them)")
        proc = _start(data, port)
        try:
            url = f"http://127.0.0.1:{port}"
            bench_ingest(url, key, events)
            for _ in range(2):                              # warm-up: JIT, caches
                httpx.post(f"{url}/v1/check/registration", headers={
                    "Authorization": f"Bearer {key}"}, content=orjson.dumps({
                        "type": "registration", "ts": T0, "account": "warm",
                        "phone": "+4917000000000"}), timeout=60)
            try:    # the client's own overhead counts in its latencies: keep it small
                import uvloop
                runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
            except ImportError:
                runner = asyncio.Runner()
            with runner:
                runner.run(_check_run(port, key, args.rate, args.seconds))
        finally:
            proc.terminate()
            proc.wait(60)


if __name__ == "__main__":
    main()
