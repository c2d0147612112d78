"""The audit log: append-only, tamper-evident record of who did what through the service.

Each row stores ``hash = sha256(prev_hash + canonical(row))`` where ``canonical`` is the
row's fields (``seq, at, key_id, role, action, target, detail``) as sorted-key compact JSON
and the first row's ``prev_hash`` is 64 zeros: a hash chain in the manner of Schneier and
Kelsey, "Secure Audit Logs to Support Computer Forensics" (1999), and of Certificate
Transparency's Merkle log. Editing, inserting or deleting a row breaks every later link;
:func:`verify` recomputes the chain and names the first row that does not match. (Cutting
rows off the END leaves a valid shorter chain; keep an external copy of the head hash,
printed by ``seawall audit verify``, to detect that.)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from seawall.service.store import utc_now

__all__ = ["GENESIS", "AuditReport", "append", "verify"]

GENESIS = "0" * 64


def _canonical(seq: int, at: str, key_id: str | None, role: str | None, action: str,
               target: str | None, detail: str) -> str:
    return json.dumps({"seq": seq, "at": at, "key_id": key_id, "role": role, "action": action,
                       "target": target, "detail": detail},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _link(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def append(db: sqlite3.Connection, *, key_id: str | None, role: str | None, action: str,
           target: str | None = None, detail: dict[str, Any] | None = None) -> int:
    """Append one row; call inside a write transaction so the chain head cannot race."""
    last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    at = utc_now()
    body = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = _link(prev, _canonical(seq, at, key_id, role, action, target, body))
    db.execute("INSERT INTO audit (seq, at, key_id, role, action, target, detail, prev_hash, "
               "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (seq, at, key_id, role, action, target, body, prev, digest))
    return seq


@dataclass(frozen=True)
class AuditReport:
    """Outcome of :func:`verify`: rows checked, head hash, and the first bad row if any."""

    rows: int
    head: str
    bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_seq is None


def verify(db: sqlite3.Connection) -> AuditReport:
    """Recompute the whole chain in ``seq`` order; stop at the first row that does not link."""
    prev, expected_seq, rows = GENESIS, 1, 0
    cur = db.execute("SELECT seq, at, key_id, role, action, target, detail, prev_hash, hash "
                     "FROM audit ORDER BY seq")
    for seq, at, key_id, role, action, target, detail, prev_hash, digest in cur:
        if seq != expected_seq:
            return AuditReport(rows, prev, expected_seq, f"row {expected_seq} is missing")
        if prev_hash != prev:
            return AuditReport(rows, prev, seq, "prev_hash does not match the previous row's hash")
        if _link(prev, _canonical(seq, at, key_id, role, action, target, detail)) != digest:
            return AuditReport(rows, prev, seq, "hash does not match the row's contents")
        prev, expected_seq, rows = digest, seq + 1, rows + 1
    return AuditReport(rows, prev)
