"""API keys and roles.

A key looks like ``sw_<id>_<secret>``: the id finds the row, the secret is 32 random bytes
(``secrets.token_urlsafe``). Only ``sha256(key)`` is stored: a key is high-entropy, so a
fast hash is enough (a slow password hash protects guessable secrets, not random ones), and
comparison is constant-time (``hmac.compare_digest``).

Roles grant permissions:

=========  ==========================================================================
ingest     ``ingest``: POST /v1/events, POST /v1/check/registration
reviewer   ``review``: accounts, decision feed, review queue, appeals, manual actions,
           labels
admin      everything above plus ``admin``: webhook deliveries, keys
=========  ==========================================================================
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from seawall.service.store import utc_now

__all__ = [
    "ROLES",
    "Principal",
    "authenticate",
    "create_key",
    "has_any_key",
    "list_keys",
    "revoke_key",
]

ROLES: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest"}),
    "reviewer": frozenset({"review"}),
    "admin": frozenset({"ingest", "review", "admin"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and role (the secret never leaves :func:`authenticate`)."""

    key_id: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in ROLES[self.role]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(db: sqlite3.Connection, role: str, note: str | None = None) -> tuple[str, str]:
    """Create a key with ``role``; return ``(key_id, key)``. The key is shown once, never stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    key_id = secrets.token_hex(4)
    key = f"sw_{key_id}_{secrets.token_urlsafe(32)}"
    db.execute("INSERT INTO keys (id, hash, role, created_at, note) VALUES (?, ?, ?, ?, ?)",
               (key_id, _digest(key), role, utc_now(), note))
    return key_id, key


def authenticate(db: sqlite3.Connection, authorization: str | None) -> Principal | None:
    """The principal for an ``Authorization: Bearer <key>`` header, or None if not valid."""
    if not authorization:
        return None
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith("sw_"):
        return None
    key_id = key[3:].partition("_")[0]
    row = db.execute("SELECT hash, role, revoked_at FROM keys WHERE id = ?", (key_id,)).fetchone()
    if row is None or row[2] is not None:
        return None
    if not hmac.compare_digest(row[0], _digest(key)):
        return None
    return Principal(key_id, row[1])


def list_keys(db: sqlite3.Connection) -> list[dict[str, str | None]]:
    """All keys, oldest first, without their hashes."""
    rows = db.execute("SELECT id, role, created_at, revoked_at, note FROM keys "
                      "ORDER BY created_at, id").fetchall()
    return [dict(zip(("id", "role", "created_at", "revoked_at", "note"), r, strict=True))
            for r in rows]


def revoke_key(db: sqlite3.Connection, key_id: str) -> bool:
    """Revoke a key (takes effect on the next request); False if no such active key."""
    cur = db.execute("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                     (utc_now(), key_id))
    return cur.rowcount == 1


def has_any_key(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM keys LIMIT 1").fetchone() is not None
