"""Ingest: contract lines in, validated event rows out, in event time.

Each line is decoded and validated against contract v1 (:mod:`seawall.events`). A line that
fails becomes a :class:`Reject` naming where (source and line) and why; it never stops or
changes the rest. Then:

* **duplicates**: an ``id`` seen within ``dedup_window`` is ignored (idempotent ingest);
* **time**: the stream's clock is the largest ``ts`` seen; an event up to ``late_tolerance``
  behind it is processed at the clock's time (time never moves backwards), an older one is
  rejected as late;
* **keys**: accounts and groups are interned to dense integers; phone numbers, IPs and
  devices become entity keys through keyed hashes of their blocks (:mod:`seawall.privacy`).

The result is one int64 row per event (columns in :mod:`seawall.kernel`).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import numpy as np

from seawall import kernel as K
from seawall import privacy
from seawall.clients import ClientPolicy
from seawall.events import (
    DECODE_ERRORS,
    Block,
    Event,
    GroupAdd,
    GroupCreate,
    GroupLeave,
    InvalidEvent,
    Message,
    Registration,
    Report,
    Session,
    decode_event,
    decode_unchecked,
)
from seawall.state import (
    ENTITY_DEVICE,
    ENTITY_IP_BLOCK,
    ENTITY_NUMBER_BLOCK,
    VERIF_NONE,
    VERIF_SMS,
    VERIF_VOICE,
)

_TRI = {None: -1, False: 0, True: 1}
_KIND = {"text": K.KIND_TEXT, "media": K.KIND_MEDIA, "link": K.KIND_LINK,
         "voice": K.KIND_VOICE, "other": K.KIND_OTHER}
_VERIF = {None: -1, "sms": VERIF_SMS, "voice": VERIF_VOICE, "none": VERIF_NONE}
_REASON = {"spam": 0, "scam": 1, "abuse": 2, "other": 3}
DUPLICATE = "duplicate"
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\(byte \d+\)|\d{2,}")


@dataclass(frozen=True)
class Reject:
    """An input line that was not accepted."""

    source: str
    line: int
    reason: str
    raw: bytes

    @property
    def kind(self) -> str:
        """The reason without the offending value, for counting rejects by reason."""
        return _QUOTED.sub("…", self.reason)

    def to_dict(self) -> dict:
        return {"source": self.source, "line": self.line, "reason": self.reason,
                "raw": self.raw.decode("utf-8", "replace")}


class Ingest:
    """Validation, deduplication, event-time ordering and interning for one engine."""

    def __init__(self, *, secret: bytes, dedup_window_ms: int, late_tolerance_ms: int,
                 clients: ClientPolicy) -> None:
        self.secret = secret
        self.dedup_window = dedup_window_ms
        self.late_tolerance = late_tolerance_ms
        self.clients = clients
        self.clock = -1
        self.accounts: dict[str, int] = {}
        self.account_names: list[str] = []
        self.groups: dict[str, int] = {}
        self.entities: dict[bytes, int] = {}
        self.platforms: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        self._seen_order: deque[tuple[int, str]] = deque()
        self.duplicates = 0
        self.late = 0
        # While answering a question (check_registration): entity rows to use for keys never
        # seen, so that asking adds nothing to the key tables.
        self.probe: tuple[int, int, int] | None = None

    # -- interning -----------------------------------------------------------------------
    def account(self, name: str) -> int:
        i = self.accounts.get(name)
        if i is None:
            i = self.accounts[name] = len(self.account_names)
            self.account_names.append(name)
        return i

    def group(self, name: str) -> int:
        i = self.groups.get(name)
        if i is None:
            i = self.groups[name] = len(self.groups)
        return i

    def entity(self, kind: int, value: str | None) -> int:
        if value is None:
            return -1
        key = privacy.keyed_hash(self.secret, "nid"[kind], value)
        i = self.entities.get(key)
        if i is None:
            if self.probe is not None:  # a question, not an event: remember nothing
                return self.probe[kind]
            i = self.entities[key] = len(self.entities)
        return i

    def _identity(self, ip: str | None, device: str | None, client: str | None):
        ipb = self.entity(ENTITY_IP_BLOCK, privacy.ip_block(ip)) if ip is not None else -1
        dev = self.entity(ENTITY_DEVICE, device)
        flags = self.clients.classify(client)[1] if client is not None else 0
        cli = -1
        if client is not None:  # the whole string: a version change is a different client
            cli = self.platforms.get(client, -1)
            if cli < 0 and self.probe is None:
                cli = self.platforms[client] = len(self.platforms)
        return ipb, dev, cli, flags

    # -- lines -> rows -------------------------------------------------------------------
    def decode(self, lines, source: str, first_line: int, rows: list, ids: list, tss: list,
               texts: list, rejects: list[Reject]) -> None:
        """Validate ``lines``; append accepted rows (and their ids, ts) and the rejects."""
        admit = self.admit
        append = self.append
        for n, raw in enumerate(lines, first_line):
            try:
                ev = decode_unchecked(raw)
            except DECODE_ERRORS:
                if not raw.strip():
                    continue
                try:
                    decode_event(raw)
                except InvalidEvent as exc:
                    rejects.append(Reject(source, n, str(exc), raw.rstrip(b"\r\n")))
                continue
            reason = admit(ev)
            if reason is None:
                append(ev, rows, ids, tss, texts)
            elif reason is not DUPLICATE:
                rejects.append(Reject(source, n, reason, raw.rstrip(b"\r\n")))

    def admit(self, ev: Event) -> str | None:
        """Apply the duplicate and lateness checks: None to accept, :data:`DUPLICATE` to
        ignore silently (idempotent ingest), or the reason to reject it."""
        ts = ev.ts
        if ev.id is not None:
            seen = self.seen.get(ev.id)
            if seen is not None and ts - seen <= self.dedup_window:
                self.duplicates += 1
                return DUPLICATE
            self.seen[ev.id] = ts
            self._seen_order.append((ts, ev.id))
        if ts < self.clock - self.late_tolerance:
            self.late += 1
            return (f"late: ts {ts} is {self.clock - ts} ms behind the stream "
                    f"(tolerance {self.late_tolerance} ms)")
        if ts > self.clock:
            self.clock = ts
            horizon = ts - self.dedup_window
            order = self._seen_order
            while order and order[0][0] < horizon:
                old_ts, old_id = order.popleft()
                if self.seen.get(old_id) == old_ts:
                    del self.seen[old_id]
        return None

    def append(self, ev: Event, rows: list, ids: list, tss: list, texts: list) -> None:
        """Turn one admitted event into a kernel row (the ingest hot path)."""
        t = self.clock  # never behind the stream's clock
        cls = type(ev)
        known = self.accounts.get
        a = known(ev.account)
        if a is None:
            a = self.account(ev.account)
        if cls is Message:
            if ev.peer is not None:
                p = known(ev.peer)
                if p is None:
                    p = self.account(ev.peer)
                g = -1
            else:
                p, g = -1, self.group(ev.group)
            rows.append((K.MESSAGE, t, a, p, g, _KIND[ev.kind], ev.forwarded, _TRI[ev.typed],
                         _TRI[ev.in_contacts], -1, -1, -1, -1, 0, -1, 0, 0, -1))
        elif cls is Report or cls is Block:
            p = self.account(ev.peer)
            if cls is Report:
                g = self.group(ev.group) if ev.group is not None else -1
                texts.append((len(rows), ev.messages) if ev.messages else None)
                rows.append((K.REPORT, t, a, p, g, 0, 0, -1, -1, -1, -1, -1, -1, 0, -1, 0,
                             _REASON[ev.reason], -1))
            else:
                rows.append((K.BLOCK, t, a, p, -1, 0, 0, -1, -1, -1, -1, -1, -1, 0, -1, 0, 0, -1))
        elif cls is Registration:
            nb = self.entity(ENTITY_NUMBER_BLOCK, privacy.number_block(ev.phone))
            ipb, dev, cli, flags = self._identity(ev.ip, ev.device, ev.client)
            rows.append((K.REGISTRATION, t, a, -1, -1, 0, 0, -1, -1, nb, ipb, dev, cli, flags,
                         _VERIF[ev.verification], int(ev.business), 0, -1))
        elif cls is Session:
            ipb, dev, cli, flags = self._identity(ev.ip, ev.device, ev.client)
            rows.append((K.SESSION, t, a, -1, -1, 0, 0, -1, -1, -1, ipb, dev, cli, flags, -1, 0,
                         0, -1))
        elif cls is GroupCreate:
            rows.append((K.GROUP_CREATE, t, a, -1, self.group(ev.group), 0, 0, -1, -1, -1, -1,
                         -1, -1, 0, -1, 0, 0, -1))
        elif cls is GroupAdd:
            rows.append((K.GROUP_ADD, t, a, self.account(ev.peer), self.group(ev.group), 0, 0,
                         -1, _TRI[ev.in_contacts], -1, -1, -1, -1, 0, -1, 0, 0, -1))
        elif cls is GroupLeave:
            rows.append((K.GROUP_LEAVE, t, a, -1, self.group(ev.group), 0, 0, -1, -1, -1, -1,
                         -1, -1, 0, -1, 0, int(ev.removed), -1))
        ids.append(ev.id)
        tss.append(ev.ts)


def to_matrix(rows: list) -> np.ndarray:
    """Rows (tuples) -> the kernel's int64 event matrix."""
    if not rows:
        return np.zeros((0, K.EV_N), np.int64)
    return np.array(rows, dtype=np.int64)
