"""SQLite persistence for the service: one file, ``DIR/seawall.db``, in WAL mode.

Tables: ``journal`` (every accepted batch, minimised, and manual action since the last engine
snapshot, and those of the last ``event_archive_days`` before it: the event archive),
``decisions`` (the feed; ``seq`` is the public cursor), ``reviews`` (appeals and engine
``review`` decisions waiting for a person), ``labels``, ``deliveries`` (webhook state),
``keys`` (API key hashes), ``audit`` (the hash-chained log) and ``meta``.

``journal`` and ``decisions`` use AUTOINCREMENT: journal rows are deleted once a snapshot
covers them and they leave the archive, and a reused sequence number would hide a batch
from recovery.

Writes go through :meth:`Store.write`, a ``BEGIN IMMEDIATE`` transaction, so a batch's
journal row, its decisions, their webhook deliveries and the audit row commit together or
not at all. WAL with ``synchronous=NORMAL`` survives a killed process; a power cut may lose
the last transactions (https://www.sqlite.org/wal.html, "Performance Considerations").
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["DB_NAME", "Store", "utc_now"]

DB_NAME = "seawall.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, events INTEGER NOT NULL,
    body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, journal_seq INTEGER NOT NULL,
    account TEXT NOT NULL, ts INTEGER NOT NULL, action TEXT NOT NULL, stage TEXT NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_account ON decisions (account, seq);
CREATE INDEX IF NOT EXISTS decisions_journal ON decisions (journal_seq);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, account TEXT NOT NULL,
    decision_seq INTEGER, note TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL,
    outcome TEXT, outcome_note TEXT, resolved_at TEXT, reviewer TEXT);
CREATE INDEX IF NOT EXISTS reviews_status ON reviews (status, id);
CREATE TABLE IF NOT EXISTS labels (
    seq INTEGER PRIMARY KEY, account TEXT NOT NULL, label TEXT NOT NULL, ts INTEGER,
    review_id INTEGER);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, decision_seq INTEGER NOT NULL, url TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
    last_error TEXT, delivered_at TEXT, UNIQUE (decision_seq, url));
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL,
    revoked_at TEXT, note TEXT);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, key_id TEXT, role TEXT, action TEXT NOT NULL,
    target TEXT, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
-- Append-only: the service never rewrites history. Someone with the file can drop these
-- triggers, which is why rows are also hash-chained (see audit.py).
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def utc_now() -> str:
    """Wall-clock time for bookkeeping only (audit, review timestamps), never for decisions."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    """One SQLite connection (use one per thread) to ``DIR/seawall.db``, schema ensured."""

    def __init__(self, data_dir: str | Path) -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / DB_NAME
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                  timeout=30.0)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken up front so concurrent writers queue, not deadlock."""
        for attempt in range(50):
            try:
                self.db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value; call inside :meth:`write`."""
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
