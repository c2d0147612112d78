"""The service killed in the middle of a stream and restarted loses and repeats nothing.

The helpers (events built by hand, the loopback server) are those of ``test_service.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from test_service import (
    REPO,
    T0,
    Server,
    blitz,
    chatter,
    free_port,
    make_key,
    ndjson,
    stream,
    wait_for,
)

from seawall.service.config import ServiceConfig


def _feed(c: httpx.Client) -> list[dict]:
    out, after = [], "0"
    while page := c.get("/v1/decisions", params={"after": after, "limit": 1000}).json()[
            "decisions"]:
        out += page
        after = str(page[-1]["seq"])
    return out


def _batches() -> list[list[dict]]:
    # One number block for all the blitz senders: later ones are caught at registration
    # from what the engine learned about the block, i.e. from state that must survive.
    events = stream(*(blitz(f"s{i}", T0 + 9_000 * i, phone=f"+4915112345{i:03d}")
                      for i in range(6)),
                    *(chatter(f"u{i}", T0 + 1_000 * i) for i in range(3)))
    return [events[i:i + 50] for i in range(0, len(events), 50)]


def _serve_process(data: Path, port: int, config: Path) -> subprocess.Popen:
    """``seawall serve`` in its own process, so that it can really be killed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen([sys.executable, "-m", "seawall", "serve", "--data", str(data),
                             "--port", str(port), "--config", str(config)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, "seawall serve to start", timeout=60)
    return proc


def _post_ignoring_errors(url: str, headers: dict[str, str], batch: list[dict]) -> None:
    with contextlib.suppress(httpx.TransportError):
        httpx.post(f"{url}/v1/events", content=ndjson(batch), headers=headers, timeout=30)


def test_restart_after_kill_mid_stream_loses_and_repeats_nothing(tmp_path: Path) -> None:
    batches = _batches()
    assert (len(batches), sum(map(len, batches))) == (16, 789)

    # The uninterrupted run.
    ref_data = tmp_path / "ref"
    key = make_key(ref_data, "admin")
    with Server(ServiceConfig(data=str(ref_data), snapshot_every=200, model=None)) as s, \
            s.client(key) as c:
        for b in batches:
            assert c.post("/v1/events", content=ndjson(b)).status_code == 200
        expected = _feed(c)
    # The blitz rule bans the first senders; the later ones are caught at registration
    # (exactly how depends on the rule set's tuning, so only the shape is pinned here).
    assert [(d["seq"], d["account"], d["action"], d["stage"]) for d in expected[:2]] == [
        (1, "s0", "ban", "messaging"), (2, "s1", "ban", "messaging")]
    assert [d["account"] for d in expected] == ["s0", "s1", "s3", "s2", "s4", "s5"]
    assert [d["stage"] for d in expected].count("registration") == 3

    # The same stream to a `seawall serve` process SIGKILLed while batch 10 is in flight:
    # after the snapshots at ~200 and ~400 events, with batches 8-9 only in the journal.
    data, port = tmp_path / "crash", free_port()
    config = tmp_path / "seawall.yaml"
    config.write_text("snapshot_every: 200\nmodel: null\n")
    proc = _serve_process(data, port, config)
    try:
        # The first start creates an admin key, prints it once and stores only its hash.
        banner = [proc.stdout.readline().decode() for _ in range(3)]
        assert banner[0] == ("seawall: no API keys yet; created an admin key (shown once, "
                             "stored hashed):\n")
        key = banner[1].strip()
        assert banner[2].startswith(f"seawall: serving on http://127.0.0.1:{port} ")
        db = sqlite3.connect(data / "seawall.db")
        [(role, digest)] = db.execute("SELECT role, hash FROM keys").fetchall()
        db.close()
        assert (role, digest) == ("admin", hashlib.sha256(key.encode()).hexdigest())
        url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            for b in batches[:10]:
                assert c.post("/v1/events", content=ndjson(b)).status_code == 200
        inflight = threading.Thread(target=_post_ignoring_errors,
                                    args=(url, headers, batches[10]))
        inflight.start()
        proc.send_signal(signal.SIGKILL)
        inflight.join()
    finally:
        proc.kill()
        proc.wait()
    db = sqlite3.connect(data / "seawall.db")
    assert db.execute("SELECT COUNT(*) FROM journal").fetchone()[0] >= 2
    db.close()

    # Restarted on the same data: the client does not know whether batch 10 committed, so it
    # sends it again, then the rest; and a batch sent twice by mistake changes nothing.
    with Server(ServiceConfig(data=str(data), snapshot_every=200, model=None)) as s, \
            s.client(key) as c:
        for b in batches[10:]:
            assert c.post("/v1/events", content=ndjson(b)).status_code == 200
        again = c.post("/v1/events", content=ndjson(batches[9])).json()
        assert (again["accepted"], again["decisions"]) == (len(batches[9]), [])
        assert _feed(c) == expected
    # A graceful stop snapshots the engine: nothing is left to re-apply from the journal
    # (what it still holds is the event archive, covered by the snapshot).
    db = sqlite3.connect(data / "seawall.db")
    covered = int(db.execute("SELECT value FROM meta WHERE key = 'snapshot_seq'").fetchone()[0])
    assert db.execute("SELECT MAX(seq) FROM journal").fetchone() == (covered,)
    db.close()
