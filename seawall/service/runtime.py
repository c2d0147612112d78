"""The engine running online: every state change journalled, snapshotted, recoverable.

How a restart loses nothing and repeats nothing (write-ahead logging with checkpoints, as in
ARIES and every database since; here the "log" is a SQLite table):

1. A batch is run through the engine in memory, then ONE SQLite transaction stores the
   batch's accepted events in ``journal`` (minimised by :func:`seawall.privacy.minimise`),
   the decisions it produced (``decisions``), their webhook deliveries, review items and the
   audit row. Either all of it commits or none of it does; the HTTP answer is sent only
   after the commit. Manual actions and review outcomes are journalled the same way
   (account, action, event-time ``ts``, stage, reasons).
2. Every ``snapshot_every`` events, and at shutdown, the engine state is written to
   ``snapshots/engine-<journal seq>.snapshot`` (to a temporary name, then renamed); only
   then is the snapshot recorded in ``meta``, in one transaction with dropping the journal
   rows it covers that are older than ``event_archive_days`` of event time (the rest stay as
   the archive case correlation reads). A crash between the two leaves the old snapshot +
   journal in force.
3. On start the recorded snapshot is restored and the journal rows after it are re-applied
   in order. The engine is deterministic, so re-application rebuilds exactly the state it
   had; the decisions it re-emits are already stored, so they are dropped, not repeated.

A client whose request was cut by a crash does not know whether its batch committed: it
sends it again, and events with an ``id`` seen before are ignored by the engine (the
contract's idempotent ingest), so the retry does not double anything.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from seawall import privacy
from seawall.events import Registration
from seawall.service import audit, auth, webhooks
from seawall.service.auth import Principal
from seawall.service.config import ServiceConfig, engine_config
from seawall.service.store import Store, utc_now

__all__ = ["ENFORCING", "Conflict", "NotFound", "Runtime"]

# Engine states an appeal can be about; "review" has no effect yet, so there is nothing to lift.
ENFORCING = ("ban", "restrict", "challenge")
_SNAPSHOT_DIR = "snapshots"


class Conflict(Exception):
    """The request is well-formed but the current state does not allow it (HTTP 409)."""


class NotFound(Exception):
    """No such account, review item, ... (HTTP 404)."""


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: list[dict[str, Any]]
    decisions: list[dict[str, Any]]


def _decision_out(seq: int, body: bytes) -> dict[str, Any]:
    return {"seq": seq, **orjson.loads(body)}


class Runtime:
    """The service's state: one engine, its SQLite store, and the webhook worker."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.dir = Path(config.data)
        self.store = Store(self.dir)
        self._engine_config = engine_config(config)
        self._since_snapshot = 0
        self.engine = self._recover()
        self.worker = (webhooks.DeliveryWorker(self.dir, config.webhooks)
                       if config.webhooks.urls else None)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def close(self) -> None:
        """Snapshot, stop the webhook worker, close the store (graceful shutdown)."""
        try:
            self.snapshot()
        finally:
            if self.worker is not None:
                self.worker.stop()
            self.store.close()

    def _recover(self) -> Any:
        from seawall.engine import Engine

        snap_dir = self.dir / _SNAPSHOT_DIR
        snap_dir.mkdir(exist_ok=True)
        name = self.store.get_meta("snapshot_file")
        covered = int(self.store.get_meta("snapshot_seq") or 0)
        if name is not None:
            engine = Engine.restore(snap_dir / name, config=self._engine_config,
                                    rules=self.config.rules, model=self.config.model)
        else:
            first = self.store.db.execute("SELECT MIN(seq) FROM journal").fetchone()[0]
            if first is not None and first > 1 and covered == 0:
                raise RuntimeError(f"{self.store.path}: journal starts at {first} but no "
                                   "snapshot is recorded; the data directory is damaged")
            engine = Engine(config=self._engine_config, rules=self.config.rules,
                            model=self.config.model)
        self._since_snapshot = 0
        rows = self.store.db.execute(
            "SELECT j.seq, j.kind, j.events, j.body, "
            "(SELECT COUNT(*) FROM decisions d WHERE d.journal_seq = j.seq) "
            "FROM journal j WHERE j.seq > ? ORDER BY j.seq", (covered,))
        for seq, kind, events, body, stored in rows:
            emitted = self._reapply(engine, kind, body)
            if emitted != stored:
                # Determinism is what makes recovery exact; say so loudly if it ever breaks.
                print(f"seawall: warning: journal row {seq} re-emitted {emitted} decisions, "
                      f"{stored} were stored", file=sys.stderr)
            self._since_snapshot += events
        for stray in snap_dir.iterdir():
            if stray.name != name:
                stray.unlink()
        return engine

    @staticmethod
    def _reapply(engine: Any, kind: str, body: bytes) -> int:
        if kind == "events":
            decisions, _ = engine.ingest_lines(body.split(b"\n"), source="journal")
            return len(decisions)
        m = orjson.loads(body)
        d = engine.apply_manual(m["account"], action=m["action"], ts=m["ts"], stage=m["stage"],
                                reasons=m["reasons"], score=None)
        return 0 if d is None else 1

    def snapshot(self) -> None:
        """Write the engine state and drop the journal rows it covers (no-op if up to date)."""
        db = self.store.db
        last = db.execute("SELECT MAX(seq) FROM journal").fetchone()[0]
        if last is None or last <= int(self.store.get_meta("snapshot_seq") or 0):
            return
        snap_dir = self.dir / _SNAPSHOT_DIR
        name = f"engine-{last:012d}.snapshot"
        tmp = snap_dir / (name + ".tmp")
        self.engine.snapshot(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, snap_dir / name)
        old = self.store.get_meta("snapshot_file")
        with self.store.write():
            self.store.set_meta("snapshot_file", name)
            self.store.set_meta("snapshot_seq", str(last))
            self._archive(db, last)
        if old is not None and old != name:
            (snap_dir / old).unlink(missing_ok=True)
        self._since_snapshot = 0

    def _archive(self, db: Any, last: int) -> None:
        """The journal rows up to ``last`` are covered by a snapshot: keep them as the event
        archive that case correlation reads, for ``event_archive_days`` of event time, and
        drop the older ones. ``archive_marks`` remembers, per snapshot, its last row and the
        engine's clock then."""
        horizon = self.engine.clock - self.config.event_archive_days * 86_400_000
        marks = orjson.loads(self.store.get_meta("archive_marks") or "[]")
        marks.append([last, self.engine.clock])
        expired = max((seq for seq, clock in marks if clock <= horizon), default=None)
        if expired is not None:   # with no archive (0 days) that is this snapshot's rows
            db.execute("DELETE FROM journal WHERE seq <= ?", (expired,))
            marks = [m for m in marks if m[0] > expired]
        self.store.set_meta("archive_marks", orjson.dumps(marks).decode())

    def _commit(self, write: Any) -> Any:
        """Run ``write(db)`` in one transaction; if it fails, rebuild the engine from disk so
        memory never runs ahead of what is stored."""
        try:
            with self.store.write() as db:
                result = write(db)
        except BaseException:
            self.engine = self._recover()
            raise
        if self.worker is not None:
            self.worker.wake()
        return result

    def _store_decision(self, db: Any, decision: Any, journal_seq: int) -> dict[str, Any]:
        body = decision.to_json()
        cur = db.execute("INSERT INTO decisions (journal_seq, account, ts, action, stage, body) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (journal_seq, decision.account, decision.ts, decision.action,
                          decision.stage, body))
        seq = cur.lastrowid
        webhooks.enqueue(db, seq, self.config.webhooks.urls)
        if decision.action == "review":
            db.execute("INSERT INTO reviews (kind, account, decision_seq, status, created_at) "
                       "VALUES ('review', ?, ?, 'open', ?)", (decision.account, seq, utc_now()))
        return _decision_out(seq, body)

    # -- ingest and queries ----------------------------------------------------------------

    def ingest(self, lines: list[bytes], positions: list[int],
               who: Principal) -> IngestResult:
        """Run a batch of NDJSON lines; ``positions[i]`` is line i's 1-based place in the
        request body, used in the rejections."""
        try:
            decisions, rejects = self.engine.ingest_lines(lines, source="http")
        except BaseException:
            # Part of the batch may have reached the engine; nothing of it is stored.
            self.engine = self._recover()
            raise
        rejected = [{"position": positions[r.line - 1], "reason": r.reason} for r in rejects]
        accepted = len(lines) - len(rejects)
        # The journal keeps only what rebuilds the state: the accepted events, with phone
        # numbers and IPs reduced to the blocks the engine reads (seawall.privacy).
        refused = {r.line for r in rejects}
        kept = [privacy.minimise(line) for i, line in enumerate(lines, 1) if i not in refused]

        def write(db: Any) -> list[dict[str, Any]]:
            out = []
            if accepted:
                jseq = db.execute("INSERT INTO journal (kind, events, body) VALUES "
                                  "('events', ?, ?)", (accepted, b"\n".join(kept))).lastrowid
                out = [self._store_decision(db, d, jseq) for d in decisions]
            audit.append(db, key_id=who.key_id, role=who.role, action="events.ingest",
                         detail={"accepted": accepted, "rejected": len(rejected),
                                 "decisions": len(out)})
            return out

        stored = self._commit(write)
        self._since_snapshot += accepted
        if self._since_snapshot >= self.config.snapshot_every:
            try:
                self.snapshot()
            except OSError as exc:
                # The batch is committed and the journal still holds everything since the
                # last good snapshot, so the answer stays a success; try again next batch.
                print(f"seawall: warning: snapshot failed: {exc}", file=sys.stderr)
        return IngestResult(accepted, rejected, stored)

    def check_registration(self, event: Registration) -> dict[str, Any]:
        verdict = self.engine.check_registration(event)
        return {"verdict": verdict.action, "reasons": list(verdict.reasons),
                "score": verdict.score}

    def account(self, account: str, who: Principal) -> dict[str, Any]:
        info = self.engine.account(account)
        db = self.store.db
        history = [_decision_out(s, b) for s, b in db.execute(
            "SELECT seq, body FROM decisions WHERE account = ? ORDER BY seq", (account,))]
        if info is None and not history:
            raise NotFound(f"no account {account!r}")
        info = info or {"account": account, "state": "none", "stage": None, "signals": {},
                        "refused_attempts": 0}
        reviews = [self._review_out(r) for r in db.execute(
            "SELECT * FROM reviews WHERE account = ? ORDER BY id", (account,))]
        with self.store.write() as wdb:
            audit.append(wdb, key_id=who.key_id, role=who.role, action="account.read",
                         target=account)
        return {**info, "decisions": history, "reviews": reviews}

    def decisions(self, after: int, limit: int) -> dict[str, Any]:
        rows = self.store.db.execute("SELECT seq, body FROM decisions WHERE seq > ? "
                                     "ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return {"decisions": [_decision_out(s, b) for s, b in rows],
                "next": str(rows[-1][0] if rows else after)}

    # -- people: appeals, review, manual actions, labels -----------------------------------

    def _state(self, account: str) -> str:
        info = self.engine.account(account)
        return "none" if info is None else info["state"]

    def _review_out(self, row: Any) -> dict[str, Any]:
        decision = None
        if row["decision_seq"] is not None:
            body = self.store.db.execute("SELECT body FROM decisions WHERE seq = ?",
                                         (row["decision_seq"],)).fetchone()
            decision = None if body is None else _decision_out(row["decision_seq"], body[0])
        return {"id": row["id"], "kind": row["kind"], "account": row["account"],
                "status": row["status"], "note": row["note"], "decision": decision,
                "created_at": row["created_at"], "outcome": row["outcome"],
                "outcome_note": row["outcome_note"], "resolved_at": row["resolved_at"],
                "reviewer": row["reviewer"]}

    def appeal(self, account: str, note: str | None, who: Principal) -> dict[str, Any]:
        state = self._state(account)
        if state not in ENFORCING:
            raise Conflict(f"account {account!r} has no enforcement to appeal (state {state})")
        db = self.store.db
        open_ = db.execute("SELECT id FROM reviews WHERE account = ? AND kind = 'appeal' AND "
                           "status = 'open'", (account,)).fetchone()
        if open_ is not None:
            raise Conflict(f"account {account!r} already has an open appeal ({open_[0]})")
        last = db.execute("SELECT MAX(seq) FROM decisions WHERE account = ? AND action = ?",
                          (account, state)).fetchone()[0]

        def write(wdb: Any) -> int:
            rid = wdb.execute("INSERT INTO reviews (kind, account, decision_seq, note, status, "
                              "created_at) VALUES ('appeal', ?, ?, ?, 'open', ?)",
                              (account, last, note, utc_now())).lastrowid
            audit.append(wdb, key_id=who.key_id, role=who.role, action="appeal.create",
                         target=account, detail={"review": rid})
            return rid

        rid = self._commit(write)
        return self._review_out(db.execute("SELECT * FROM reviews WHERE id = ?",
                                           (rid,)).fetchone())

    def review_queue(self, status: str) -> list[dict[str, Any]]:
        where = "" if status == "all" else "WHERE status = ?"
        args = () if status == "all" else (status,)
        rows = self.store.db.execute(f"SELECT * FROM reviews {where} ORDER BY id", args)
        out = []
        for row in rows.fetchall():
            item = self._review_out(row)
            item["state"] = self._state(row["account"])
            out.append(item)
        return out

    def _manual(self, account: str, action: str, stage: str,
                reasons: list[str]) -> tuple[Any, bytes | None]:
        ts = self.engine.clock
        try:
            d = self.engine.apply_manual(account, action=action, ts=ts, stage=stage,
                                         reasons=reasons, score=None)
        except BaseException:
            self.engine = self._recover()
            raise
        entry = orjson.dumps({"account": account, "action": action, "ts": ts, "stage": stage,
                              "reasons": reasons})
        return d, (None if d is None else entry)

    def _journal_manual(self, db: Any, d: Any, entry: bytes | None) -> dict[str, Any] | None:
        if d is None:
            return None
        jseq = db.execute("INSERT INTO journal (kind, events, body) VALUES ('manual', 0, ?)",
                          (entry,)).lastrowid
        return self._store_decision(db, d, jseq)

    def resolve(self, review_id: int, outcome: str, note: str | None, action: str | None,
                who: Principal) -> dict[str, Any]:
        """Close a review item. Appeals: ``overturn`` reinstates (stage ``appeal``), ``uphold``
        leaves the enforcement. Engine ``review`` items: ``uphold`` applies ``action``
        (default ``ban``) and ``overturn`` lifts the review, both stage ``manual``. Either way
        the outcome becomes a label: uphold -> abuse, overturn -> legit."""
        db = self.store.db
        row = db.execute("SELECT * FROM reviews WHERE id = ?", (review_id,)).fetchone()
        if row is None:
            raise NotFound(f"no review item {review_id}")
        if row["status"] != "open":
            raise Conflict(f"review item {review_id} is already resolved ({row['outcome']})")
        account = row["account"]
        if row["kind"] == "appeal":
            d, entry = ((None, None) if outcome == "uphold" else
                        self._manual(account, "reinstate", "appeal", ["appeal_overturned"]))
        elif outcome == "uphold":
            d, entry = self._manual(account, action or "ban", "manual", ["review_upheld"])
        else:
            d, entry = self._manual(account, "reinstate", "manual", ["review_overturned"])
        label = "abuse" if outcome == "uphold" else "legit"
        clock = self.engine.clock

        def write(wdb: Any) -> dict[str, Any] | None:
            out = self._journal_manual(wdb, d, entry)
            wdb.execute("UPDATE reviews SET status = 'resolved', outcome = ?, outcome_note = ?, "
                        "resolved_at = ?, reviewer = ? WHERE id = ?",
                        (outcome, note, utc_now(), who.key_id, review_id))
            wdb.execute("INSERT INTO labels (account, label, ts, review_id) VALUES (?, ?, ?, ?)",
                        (account, label, clock, review_id))
            audit.append(wdb, key_id=who.key_id, role=who.role, action="review.resolve",
                         target=str(review_id),
                         detail={"account": account, "outcome": outcome, "label": label,
                                 "decision": None if out is None else out["seq"]})
            return out

        out = self._commit(write)
        item = self._review_out(db.execute("SELECT * FROM reviews WHERE id = ?",
                                           (review_id,)).fetchone())
        return {"review": item, "decision": out, "label": {"account": account, "label": label,
                                                           "ts": clock}}

    def act(self, account: str, action: str, reasons: list[str], note: str | None,
            who: Principal) -> dict[str, Any]:
        """A reviewer's own action on an account (stage ``manual``)."""
        d, entry = self._manual(account, action, "manual", reasons or [f"manual_{action}"])

        def write(wdb: Any) -> dict[str, Any] | None:
            out = self._journal_manual(wdb, d, entry)
            audit.append(wdb, key_id=who.key_id, role=who.role, action="account.action",
                         target=account,
                         detail={"action": action, "note": note,
                                 "decision": None if out is None else out["seq"]})
            return out

        out = self._commit(write)
        return {"decision": out, "state": self._state(account)}

    def labels(self, who: Principal) -> list[bytes]:
        """The latest label of each labelled account, in the order they were decided."""
        rows = self.store.db.execute(
            "SELECT account, label, ts FROM labels WHERE seq IN "
            "(SELECT MAX(seq) FROM labels GROUP BY account) ORDER BY seq").fetchall()
        with self.store.write() as wdb:
            audit.append(wdb, key_id=who.key_id, role=who.role, action="labels.export",
                         detail={"labels": len(rows)})
        return [orjson.dumps({"account": a, "label": lab, "ts": ts}) for a, lab, ts in rows]

    def deliveries(self, status: str | None, after: int, limit: int) -> dict[str, Any]:
        where, args = "WHERE id > ?", [after]
        if status is not None:
            where += " AND status = ?"
            args.append(status)
        rows = self.store.db.execute(
            f"SELECT id, decision_seq, url, status, attempts, last_error, delivered_at "
            f"FROM deliveries {where} ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        items = [{"id": r[0], "seq": r[1], "url": r[2], "status": r[3], "attempts": r[4],
                  "last_error": r[5], "delivered_at": r[6]} for r in rows]
        return {"deliveries": items, "next": str(rows[-1][0] if rows else after)}

    def retry_delivery(self, delivery_id: int, who: Principal) -> dict[str, Any]:
        """Put a failed (or pending) delivery back in the queue with a fresh attempt budget;
        returns the delivery as it is right after (the worker may already be sending it)."""
        def write(db: Any) -> dict[str, Any] | None:
            cur = db.execute("UPDATE deliveries SET status = 'pending', attempts = 0, "
                             "next_at = 0 WHERE id = ? AND status != 'delivered'",
                             (delivery_id,))
            if cur.rowcount != 1:
                return None
            audit.append(db, key_id=who.key_id, role=who.role, action="delivery.retry",
                         target=str(delivery_id))
            return self.deliveries(None, delivery_id - 1, 1)["deliveries"][0]

        out = self._commit(write)
        if out is None:
            row = self.store.db.execute("SELECT status FROM deliveries WHERE id = ?",
                                        (delivery_id,)).fetchone()
            if row is None:
                raise NotFound(f"no delivery {delivery_id}")
            raise Conflict(f"delivery {delivery_id} is already delivered")
        return out

    def keys(self) -> list[dict[str, Any]]:
        return auth.list_keys(self.store.db)

    def create_key(self, role: str, note: str | None, who: Principal) -> dict[str, Any]:
        def write(db: Any) -> tuple[str, str]:
            key_id, key = auth.create_key(db, role, note)
            audit.append(db, key_id=who.key_id, role=who.role, action="key.create",
                         target=key_id, detail={"role": role, "by": "api"})
            return key_id, key

        key_id, key = self._commit(write)
        return {"id": key_id, "role": role, "note": note, "key": key}

    def revoke_key(self, key_id: str, who: Principal) -> None:
        def write(db: Any) -> bool:
            done = auth.revoke_key(db, key_id)
            if done:
                audit.append(db, key_id=who.key_id, role=who.role, action="key.revoke",
                             target=key_id, detail={"by": "api"})
            return done

        if not self._commit(write):
            raise NotFound(f"no active key {key_id!r}")

    def audit_forbidden(self, who: Principal, method: str, path: str, needed: str) -> None:
        with self.store.write() as db:
            audit.append(db, key_id=who.key_id, role=who.role, action="auth.forbidden",
                         target=f"{method} {path}", detail={"needed": needed})
