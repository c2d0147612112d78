"""Webhook delivery: every decision POSTed to every configured URL, signed, retried, recorded.

Delivery rows are written in the same transaction as the decision they carry, so a decision
that is in the feed is also queued for every receiver (at-least-once, surviving restarts).
A background thread sends them; ingest never waits for a receiver.

Each request carries the decision (the contract's object plus its feed ``seq``) as the raw
JSON body and the headers

- ``Seawall-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
  ``HMAC-SHA256(secret, "<t>." + body)``: the scheme of Stripe's webhook signatures
  (https://docs.stripe.com/webhooks#verify-manually), which binds the timestamp so an old
  request cannot be replayed later with a fresh ``t``;
- ``Idempotency-Key: <seq>``: the same for every retry of a decision, so a receiver that
  saw it already can drop the repeat.

Failed attempts (no 2xx, or no answer) are retried after
``min(backoff_base * 2**(attempt-1), backoff_max)`` seconds, up to ``max_attempts``.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import orjson

from seawall.service.config import WebhookConfig
from seawall.service.store import Store, utc_now

__all__ = ["DeliveryWorker", "delivery_body", "enqueue", "sign", "verify_signature"]

SIGNATURE_HEADER = "Seawall-Signature"


def sign(secret: str, body: bytes, t: int) -> str:
    """The ``Seawall-Signature`` header value for ``body`` sent at unix time ``t``.

    >>> sign("s3cret", b'{"seq":1}', 1700000000)
    't=1700000000,v1=cbdcfdffb94ac16f20fc7dff420aed60e8abb875b1394e892e008fdba0124439'
    """
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def verify_signature(secret: str, body: bytes, header: str, now: float | None = None,
                     tolerance: float = 300.0) -> bool:
    """Receiver side: True if ``header`` signs ``body`` and ``t`` is within ``tolerance`` s."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if now is not None and abs(now - t) > tolerance:
        return False
    expected = sign(secret, body, t).partition(",v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def delivery_body(seq: int, decision_json: bytes) -> bytes:
    """The decision object with its feed ``seq`` first, as sent and as listed in the feed."""
    return orjson.dumps({"seq": seq, **orjson.loads(decision_json)})


def enqueue(db: sqlite3.Connection, decision_seq: int, urls: list[str]) -> None:
    """Queue one delivery per URL; call inside the transaction that stores the decision."""
    db.executemany("INSERT OR IGNORE INTO deliveries (decision_seq, url, status, next_at) "
                   "VALUES (?, ?, 'pending', 0)", [(decision_seq, u) for u in urls])


class DeliveryWorker:
    """A thread that sends due deliveries in order and records each attempt."""

    def __init__(self, data_dir: str | Path, config: WebhookConfig) -> None:
        self._dir = data_dir
        self._cfg = config
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seawall-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Tell the worker new deliveries are queued (it also polls once a second)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        store = Store(self._dir)
        client = httpx.Client(timeout=self._cfg.timeout)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                now = time.time()
                due = store.db.execute(
                    "SELECT d.id, d.decision_seq, d.url, d.attempts, x.body FROM deliveries d "
                    "JOIN decisions x ON x.seq = d.decision_seq "
                    "WHERE d.status = 'pending' AND d.next_at <= ? "
                    "ORDER BY d.next_at, d.id LIMIT 100", (now,)).fetchall()
                if not due:
                    nxt = store.db.execute("SELECT MIN(next_at) FROM deliveries "
                                           "WHERE status = 'pending'").fetchone()[0]
                    self._wake.wait(1.0 if nxt is None else min(1.0, max(0.0, nxt - now)))
                    continue
                for row in due:
                    if self._stop.is_set():
                        break
                    self._attempt(store, client, *row)
        finally:
            client.close()
            store.close()

    def _attempt(self, store: Store, client: httpx.Client, delivery_id: int, seq: int, url: str,
                 attempts: int, decision_json: bytes) -> None:
        body = delivery_body(seq, decision_json)
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(seq),
                   SIGNATURE_HEADER: sign(self._cfg.secret or "", body, int(time.time()))}
        error = None
        try:
            resp = client.post(url, content=body, headers=headers)
            if not 200 <= resp.status_code < 300:
                error = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts += 1
        with store.write() as db:
            if error is None:
                # last_error is kept: "delivered on attempt 3 after HTTP 500" is worth seeing.
                db.execute("UPDATE deliveries SET status = 'delivered', attempts = ?, "
                           "delivered_at = ? WHERE id = ?",
                           (attempts, utc_now(), delivery_id))
            elif attempts >= self._cfg.max_attempts:
                db.execute("UPDATE deliveries SET status = 'failed', attempts = ?, "
                           "last_error = ? WHERE id = ?", (attempts, error, delivery_id))
            else:
                delay = min(self._cfg.backoff_base * 2 ** (attempts - 1), self._cfg.backoff_max)
                db.execute("UPDATE deliveries SET attempts = ?, last_error = ?, next_at = ? "
                           "WHERE id = ?", (attempts, error, time.time() + delay, delivery_id))
