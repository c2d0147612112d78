"""Coordinated campaigns: accounts acting together, found in event time and acted on whole.

Bulk senders spread volume over many accounts to stay under per-account thresholds. The
detector links accounts by what they do together, then acts on the group:

* **synchronised behaviour** (SynchroTrap, Cao et al., CCS 2014; CopyCatch, Beutel et al.,
  WWW 2013): two accounts that send first contacts to the same stranger within
  ``pair_window`` share a recipient; the link counts fully when their outreach started
  within ``sync_window`` of each other (loose lockstep), and their cadence is compared. Adds
  of strangers to the same group are a shared target too.
* **shared reported content**: credible reports against two accounts that carry
  near-duplicate texts, or the same link, phone number or handle
  (:class:`seawall.fingerprint.ReportTextIndex`).
* **shared infrastructure at registration** (WeChat Ianus, Yuan et al., 2019): the same
  device, number block, IP block, or unofficial client. It is weak evidence and never links
  anyone alone: it counts between two accounts already doing synchronised outreach, and
  blocks with more than ``infra_max`` registrations in a day (offices, universities,
  carrier NAT) are public and link nobody.

No guilt by association: an account is only a member, and only acted on, while it shows
bulk outreach to strangers itself (``min_cold`` first contacts to strangers, a stranger share
of at least ``min_stranger_share``, a reply rate of at most ``max_reply_rate``). A campaign
is a connected set of at least ``min_members`` such accounts; it is *established* once a
member was actioned individually (rules, models, reports) or its link strength reaches
``establish_strength``. Then, at each campaign tick (:attr:`CampaignDetector.tick_ms`), its
members are restricted or banned (stage ``campaign``) with reasons that name it::

    ["CAMPAIGN:cmp-3", "LINK_SHARED_RECIPIENTS", "LINK_SYNCHRONISED_START", ...]

and the registration entities of its actioned members are marked (``EC_CAMPAIGN``), so the
``campaign_infrastructure`` signal lets registration rules refuse or challenge newcomers.

Everything runs in event time from the engine's event matrix (see :mod:`seawall.engine`,
``Engine(campaigns=...)``): the same events give the same campaigns, ids and decisions, for
any batch size. ``seawall campaigns EVENTS...`` replays with the detector and prints them.
"""

from __future__ import annotations

import math
import sys
import tempfile
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import click
import msgspec
import numpy as np
import orjson

from seawall import kernel as K
from seawall import state as S
from seawall.decisions import LEVEL_BAN, LEVEL_RESTRICT
from seawall.fingerprint import ReportTextIndex

__all__ = ["Campaign", "CampaignAction", "CampaignConfig", "CampaignDetector",
           "campaigns_command"]

MINUTE = 60_000
HOUR = 60 * MINUTE
_SWEEP_EVERY = 6 * HOUR     # how often old state is forgotten (event time)
_QUALIFIED_TTL = 5 * MINUTE

# Link kinds, in the order their reason codes are listed when equally strong.
SHARED_RECIPIENTS = "shared_recipients"
SYNCHRONISED_START = "synchronised_start"
SHARED_GROUPS = "shared_groups"
SHARED_CONTENT = "shared_content"
SHARED_INFRASTRUCTURE = "shared_infrastructure"
SIMILAR_CADENCE = "similar_cadence"
LINK_KINDS = (SHARED_RECIPIENTS, SYNCHRONISED_START, SHARED_GROUPS, SHARED_CONTENT,
              SHARED_INFRASTRUCTURE, SIMILAR_CADENCE)
# Reason codes start with LINK_, not CAMPAIGN: consumers (seawall.cases) read every code
# starting with CAMPAIGN as a campaign id.
REASON = {k: "LINK_" + k.upper() for k in LINK_KINDS}
BEHAVIOUR_REASON = "BULK_STRANGER_OUTREACH"


class CampaignConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Detector options; durations in seconds. Defaults suit the shipped rules."""

    tick: int = 30                  # campaign decisions are taken at multiples of this
    episode_gap: int = 7_200        # a pause this long in cold contacts starts a new episode
    pair_window: int = 10_800       # two contacts to one stranger this close are shared
    sync_window: int = 900          # outreach episodes starting this close are synchronised
    max_senders: int = 32           # recent cold senders remembered per recipient or group
    min_cold: int = 3               # first contacts to strangers before an account counts
    min_stranger_share: float = 0.8
    max_reply_rate: float = 0.2
    reports_per_account: int = 1    # reports fingerprinted per account and episode
    reply_delay: int = 900          # replies are judged on cold contacts at least this old ...
    max_typed_share: float = 0.5    # ... unless the account rarely types (known typing data)
    join_strength: float = 0.45     # a member linked to only one other needs this strength
    min_shared_share: float = 0.1   # ... and common recipients with the others for this share
                                    # of its cold contacts, when linked by nothing else
    min_members: int = 3
    establish_strength: float = 0.9  # sum of link strengths that establishes a campaign
    ban_strength: float = 4.0        # ... and above which members are banned, not restricted
    infra_window: int = 86_400      # registrations this close share infrastructure
    infra_max: int = 50             # an entity with more registrations in the window is public
    retention: int = 86_400         # links and outreach state untouched this long age out
    active: int = 7 * 86_400        # a campaign silent this long no longer marks its entities
    # link weights: the strength of one piece of evidence (strengths combine as 1 - prod(1-w))
    w_recipient_sync: float = 0.35  # a stranger both contacted, outreach synchronised
    w_recipient: float = 0.1        # ... not synchronised
    w_group: float = 0.3            # a group both added strangers to
    w_content: float = 0.5          # near-duplicate reported text, or a shared indicator
    w_infra: dict[str, float] = msgspec.field(default_factory=lambda: {
        "device": 0.3, "number_block": 0.15, "ip_block": 0.1, "client": 0.1})
    w_cadence: float = 0.1          # mean gaps within a factor of 1.5
    w_sync: float = 0.2             # outreach started within the sync window


@dataclass(frozen=True)
class CampaignAction:
    """What the engine applies at a tick (``Engine.apply_automatic``, stage ``campaign``)."""

    account: str
    action: str
    ts: int
    reasons: list[str]
    score: float | None


class _Outreach:
    """An account's current episode of cold contacts (first contacts to strangers)."""

    __slots__ = ("cold", "first", "last", "onset", "replies", "reports", "times", "total")

    def __init__(self, t: int) -> None:
        self.onset = t
        self.last = t
        self.cold = 0
        self.total = 0
        self.replies = 0                # cold contacts of this episode that were answered
        self.reports = 0                # reports with text against it, fingerprinted
        self.times: list[int] = []      # when its first cold contacts were sent (capped)
        self.first: tuple[int, int] | None = None  # (recipient, ts) of its first cold contact

    def matured(self, t: int, age: int) -> int:
        """Cold contacts of the episode sent at least ``age`` ms before ``t``."""
        return bisect_right(self.times, t - age)


class _Edge:
    """The evidence linking two accounts."""

    __slots__ = ("a", "b", "content", "first", "groups", "infra", "last", "rcpt", "rcpt_sync",
                 "sync")

    def __init__(self, a: int, b: int, t: int) -> None:
        self.a, self.b = a, b
        self.rcpt = 0          # strangers both contacted within the pair window
        self.rcpt_sync = 0     # ... while their outreach episodes were synchronised
        self.groups = 0        # groups both added strangers to
        self.content: dict[str, int] = {}   # fingerprint link kind -> reports
        self.infra: set[str] = set()
        self.sync = False
        self.first = t
        self.last = t

    def behavioural(self) -> bool:
        """Evidence of acting together, not merely sharing a network or a text: strangers
        both reached in outreach that started together, a group both filled with strangers,
        or shared reported content or infrastructure between synchronised outreach."""
        return bool(self.rcpt_sync or self.groups or ((self.content or self.infra)
                                                        and self.sync))


class Campaign:
    """A coordinated campaign: members, the links between them, when, and how much."""

    def __init__(self, number: int, t: int) -> None:
        self.number = number
        self.id = f"cmp-{number}"
        self.detected = t
        self.established: int | None = None
        self.members: dict[int, int] = {}       # account -> ts it joined
        self.actioned: dict[int, tuple[int, str]] = {}  # account -> (ts, action)
        self.individual: dict[int, tuple[int, str]] = {}  # actioned by rules before/after
        self.merged_into: str | None = None
        self.first_seen = t
        self.last_seen = t
        self.messages = 0           # one-to-one and group messages by members since joining
        self.cold = 0               # first contacts to strangers by members since joining
        self.strength = 0.0
        self.entities: set[int] = set()


class CampaignDetector:
    """Incremental campaign detection for :class:`seawall.engine.Engine` (``campaigns=``).

    The engine calls :meth:`observe` after every micro-batch and :meth:`tick` before the
    first event of each new tick; :meth:`explain` and :meth:`campaigns` describe what was
    found. ``observe`` is on the hot path: it filters the batch with numpy to the few rows
    that matter (cold first contacts, registrations, credible reports with text, stranger
    adds, replies) and touches per-account state only for those.
    """

    def __init__(self, config: CampaignConfig | None = None) -> None:
        self.config = c = config or CampaignConfig()
        self.tick_ms = c.tick * 1000
        self._pair_ms = c.pair_window * 1000
        self._sync_ms = c.sync_window * 1000
        self._gap_ms = c.episode_gap * 1000
        self._infra_ms = c.infra_window * 1000
        self._ret_ms = c.retention * 1000
        self._out: dict[int, _Outreach] = {}
        self._rcpt: dict[int, list[tuple[int, int]]] = {}     # recipient -> (ts, sender)
        self._grp: dict[int, list[tuple[int, int]]] = {}      # group -> (ts, adder)
        self._reg: dict[int, list[tuple[int, int]]] = {}     # entity -> (ts, account)
        self._public: dict[int, int] = {}      # entity -> last registration (too many)
        self._ents: dict[int, tuple[int, tuple[tuple[int, str], ...]]] = {}  # acc -> reg
        self._edges: dict[tuple[int, int], _Edge] = {}
        self._adj: dict[int, list[_Edge]] = {}    # behavioural edges of each account
        self._parent: dict[int, int] = {}
        self._dirty: dict[int, None] = {}      # accounts whose component changed
        self._wake: dict[int, dict[int, None]] = {}  # tick -> accounts to look at again
        self._qcache: dict[int, tuple[int, bool]] = {}  # account -> (valid until, qualified)
        self._individual: dict[int, tuple[int, str]] = {}   # actioned by rules or models
        self._texts = ReportTextIndex(window_ms=self._ret_ms)
        self._reports = 0
        self.campaigns_: list[Campaign] = []
        self._member: dict[int, int] = {}      # account -> number of its campaign
        self._camp_of = np.zeros(1024, np.int32)  # account -> campaign number + 1
        self._next_sweep = -1
        self._next_prune = -1

    # -- the engine's hooks ------------------------------------------------------------
    def observe(self, engine, ev: np.ndarray, evflags: np.ndarray, texts: dict,
                decisions: list) -> None:
        """Take in one processed micro-batch (rows in event order)."""
        n = ev.shape[0]
        if n == 0:
            return
        accs = ev[:, K.EV_ACC]
        self._count_members(ev, evflags, accs)
        for d in decisions:
            if d.action in ("restrict", "ban") and d.stage != "campaign":
                a = engine.ingest.accounts[d.account]
                self._individual.setdefault(a, (d.ts, d.action))
                if a in self._parent:
                    self._dirty[a] = None
        etype = ev[:, K.EV_TYPE]
        fc = (evflags & K.EVF_FIRST_CONTACT) != 0
        cold = fc & (((evflags & K.EVF_STRANGER) != 0) | (ev[:, K.EV_INC] < 0))
        stranger_add = (etype == K.GROUP_ADD) & (ev[:, K.EV_INC] == 0) & (evflags == 0)
        interesting = cold | stranger_add | (etype == K.REGISTRATION)
        interesting |= (evflags & K.EVF_REPLY) != 0
        if texts:
            interesting |= (etype == K.REPORT) & ((evflags & K.EVF_CREDIBLE) != 0)
        rows = np.flatnonzero(interesting)
        if rows.size == 0:
            return
        sub = ev[rows].tolist()          # plain ints: cheaper than numpy scalars per row
        flags = evflags[rows].tolist()
        # one pass in event order, so that a batch gives what its events one by one would
        for k, i in enumerate(rows.tolist()):
            row = sub[k]
            typ = row[K.EV_TYPE]
            t = row[K.EV_TS]
            a = row[K.EV_ACC]
            if typ == K.MESSAGE:
                if flags[k] & K.EVF_REPLY:      # an answer to the peer's first contact
                    o = self._out.get(row[K.EV_PEER])
                    if o is not None:
                        o.replies += 1
                else:
                    self._cold_contact(a, row[K.EV_PEER], t)
            elif typ == K.GROUP_ADD:
                self._cold_contact(a, row[K.EV_PEER], t)
                self._group_add(a, row[K.EV_GROUP], t)
            elif typ == K.REGISTRATION:
                self._registration(a, row, t)
            elif i in texts:
                o = self._out.get(row[K.EV_PEER])
                # only accounts doing cold outreach can be members, and a few reports show
                # what an account sends: fingerprinting costs milliseconds
                if (o is not None and o.cold >= self.config.min_cold
                        and o.reports < self.config.reports_per_account):
                    o.reports += 1
                    self._report(engine, row[K.EV_PEER], texts[i], t)

    def tick(self, engine, t: int) -> list[CampaignAction]:
        """Campaign decisions at tick start ``t`` (ms): detect, establish, act."""
        if t >= self._next_sweep:
            if self._next_sweep >= 0:
                self._sweep(engine, t)
            self._next_sweep = t - t % HOUR + _SWEEP_EVERY
        elif t >= self._next_prune:
            self._prune(t)
        if t >= self._next_prune:
            self._next_prune = t - t % HOUR + HOUR
        tick = t // self.tick_ms
        for k in sorted(k for k in self._wake if k <= tick):
            for a in self._wake.pop(k):
                if a in self._parent:
                    self._dirty[a] = None
        if not self._dirty:
            return []
        dirty = self._dirty
        self._dirty = {}
        seen: set[int] = set()
        components = []
        for a in sorted(dirty):
            # only a qualified account (or a campaign's member) can change what a component
            # amounts to; busy components of ordinary accounts are not walked every tick
            if a not in self._parent or not (a in self._member
                                              or self._qualified_now(engine, a, t, dirty)):
                continue
            root = self._find(a)
            if root not in seen:
                seen.add(root)
                components.append(root)
        actions: list[CampaignAction] = []
        for root in components:
            self._component(engine, root, t, actions, dirty)
        return actions

    # -- observing ----------------------------------------------------------------------
    def _count_members(self, ev: np.ndarray, evflags: np.ndarray, accs: np.ndarray) -> None:
        """Volume and last activity of campaigns, vectorised over the whole batch."""
        if not self._member:
            return
        n_acc = int(accs.max()) + 1
        if n_acc > self._camp_of.shape[0]:
            grown = np.zeros(max(n_acc, 2 * self._camp_of.shape[0]), np.int32)
            grown[: self._camp_of.shape[0]] = self._camp_of
            self._camp_of = grown
        camp = self._camp_of[accs]
        hit = np.flatnonzero(camp > 0)
        if hit.size == 0:
            return
        ts = ev[hit, K.EV_TS]
        num = camp[hit] - 1
        # refused attempts show the campaign is still trying, but they reached nobody
        done = (evflags[hit] & K.EVF_REFUSED) == 0
        msg = (ev[hit, K.EV_TYPE] == K.MESSAGE) & done
        cold = (evflags[hit] & K.EVF_STRANGER) != 0
        for c in np.unique(num).tolist():
            sel = num == c
            cp = self.campaigns_[c]
            cp.last_seen = max(cp.last_seen, int(ts[sel].max()))
            cp.messages += int(np.count_nonzero(msg & sel))
            cp.cold += int(np.count_nonzero(cold & sel))

    def _cold_contact(self, a: int, r: int, t: int) -> None:
        o = self._out.get(a)
        if o is None or t - o.last > self._gap_ms:
            o = self._out[a] = _Outreach(t)
        o.cold += 1
        o.total += 1
        o.last = t
        if len(o.times) < 64:
            o.times.append(t)
        n = o.cold
        if n <= 2 * self.config.min_cold or n & (n - 1) == 0:
            # what the account's contacts show changes at these counts (not at every one,
            # which would re-evaluate busy campaigns all the time); replies are judged once
            # the contact is old enough, so look again then too
            self._wake.setdefault((t + self.config.reply_delay * 1000) // self.tick_ms + 1,
                                  {})[a] = None
            if a in self._parent:
                self._dirty[a] = None
        # A single cold contact is everyday life (3% of people's conversations); recipients
        # are indexed from an episode's second one on, which keeps the index small.
        if n == 1:
            o.first = (r, t)
        else:
            if o.first is not None:
                self._shared_recipient(a, *o.first)
                o.first = None
            self._shared_recipient(a, r, t)
        if o.cold == self.config.min_cold:
            self._infra_links(a, t)

    def _shared_recipient(self, a: int, r: int, t: int) -> None:
        senders = self._rcpt.get(r)
        if senders is None:
            self._rcpt[r] = [(t, a)]
        else:
            horizon = t - self._pair_ms
            for tb, b in senders:
                if b == a or tb < horizon:
                    continue
                e = self._edge(a, b, t)
                was = e.behavioural()
                e.rcpt += 1
                if self._synchronised(a, b):
                    e.rcpt_sync += 1
                    e.sync = True
                    if e.rcpt_sync <= 4 or e.rcpt_sync & (e.rcpt_sync - 1) == 0:
                        self._dirty[a] = None   # the link got stronger
                        self._dirty[b] = None
                if not was and e.behavioural():
                    self._link(e)
            senders.append((t, a))
            if len(senders) > self.config.max_senders:
                del senders[0]

    def _group_add(self, a: int, g: int, t: int) -> None:
        adders = self._grp.setdefault(g, [])
        horizon = t - self._pair_ms
        if any(b == a and tb >= horizon for tb, b in adders):
            return
        for tb, b in adders:
            if b != a and tb >= horizon:
                e = self._edge(a, b, t)
                was = e.behavioural()
                e.groups += 1
                if not was:
                    self._link(e)
        adders.append((t, a))
        if len(adders) > self.config.max_senders:
            del adders[0]

    def _registration(self, a: int, row: list[int], t: int) -> None:
        keys = []
        for col, kind in ((K.EV_NB, "number_block"), (K.EV_IPB, "ip_block"),
                          (K.EV_DEV, "device")):
            e = row[col]
            if e >= 0:
                keys.append((e, kind))
        if row[K.EV_CFLAGS] & S.CLIENT_UNOFFICIAL and row[K.EV_CLIENT] >= 0:
            keys.append((-2 - row[K.EV_CLIENT], "client"))  # negative: not an entity
        if not keys:
            return
        self._ents[a] = (t, tuple(keys))
        horizon = t - self._infra_ms
        for key, _ in keys:
            if key in self._public:
                self._public[key] = t
                continue
            regs = [(tb, b) for tb, b in self._reg.get(key, ()) if tb >= horizon and b != a]
            regs.append((t, a))
            if len(regs) > self.config.infra_max:
                # an office, a university, a carrier NAT: registrations there link nobody
                self._public[key] = t
                self._reg.pop(key, None)
            else:
                self._reg[key] = regs
        if a in self._out and self._out[a].cold >= self.config.min_cold:
            self._infra_links(a, t)

    def _infra_links(self, a: int, t: int) -> None:
        """Shared registration infrastructure between ``a`` and others in outreach."""
        reg = self._ents.get(a)
        if reg is None or t - reg[0] > self._ret_ms:
            return
        horizon = reg[0] - self._infra_ms
        for key, kind in reg[1]:
            for tb, b in self._reg.get(key, ()):
                o = self._out.get(b)
                if b == a or tb < horizon or o is None or o.cold < self.config.min_cold:
                    continue
                e = self._edge(a, b, t)
                was = e.behavioural()
                e.infra.add(kind)
                if self._synchronised(a, b):
                    e.sync = True
                if not was and e.behavioural():
                    self._link(e)

    def _report(self, engine, p: int, messages: list[str], t: int) -> None:
        """A credible report with text against ``p``: shared reported content."""
        names = engine.ingest.account_names
        self._reports += 1
        links = self._texts.add(f"r{self._reports}", names[p], messages, t)
        for link in links:
            b = engine.ingest.accounts[link.account]
            e = self._edge(p, b, t)
            self._dirty[p] = None
            self._dirty[b] = None
            was = e.behavioural()
            kind = link.kind if link.kind == "near_duplicate" else link.kind.split(":")[0]
            e.content[kind] = e.content.get(kind, 0) + 1
            if self._synchronised(p, b):
                e.sync = True
            if not was and e.behavioural():
                self._link(e)

    def _synchronised(self, a: int, b: int) -> bool:
        oa, ob = self._out.get(a), self._out.get(b)
        return oa is not None and ob is not None and abs(oa.onset - ob.onset) <= self._sync_ms

    def _edge(self, a: int, b: int, t: int) -> _Edge:
        key = (a, b) if a < b else (b, a)
        e = self._edges.get(key)
        if e is None:
            e = self._edges[key] = _Edge(key[0], key[1], t)
        e.last = t
        return e

    # -- components (union-find over behavioural links) -------------------------------------
    def _find(self, a: int) -> int:
        parent = self._parent
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    def _link(self, e: _Edge) -> None:
        """An edge just became behavioural: it now connects its two accounts."""
        self._adj.setdefault(e.a, []).append(e)
        self._adj.setdefault(e.b, []).append(e)
        self._union(e.a, e.b)

    def _union(self, a: int, b: int) -> None:
        for x in (a, b):
            if x not in self._parent:
                self._parent[x] = x
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            # the smaller index is the root: deterministic whatever the order of unions
            self._parent[max(ra, rb)] = min(ra, rb)
        self._dirty[a] = None
        self._dirty[b] = None

    def _members_of(self, root: int) -> list[int]:
        """Accounts of the component of ``root``, found through the links (small)."""
        out = {root}
        stack = [root]
        while stack:
            x = stack.pop()
            for e in self._adj.get(x, ()):
                y = e.b if e.a == x else e.a
                if y not in out:
                    out.add(y)
                    stack.append(y)
        for a in list(out):
            c = self._member.get(a)
            if c is not None:
                out.update(self.campaigns_[c - 1].members)
        return sorted(out)

    # -- deciding ------------------------------------------------------------------------
    def _unanswered(self, engine, a: int, o: _Outreach, t: int) -> bool:
        """The episode's cold contacts go unanswered. Replies take minutes, so the rate is
        judged on contacts older than ``reply_delay``; an account that rarely types (a
        script) is judged on all of them at once, which is what lets a campaign be stopped
        minutes after it starts (typing indicators: shared/background.md)."""
        cfg = self.config
        c = engine.state.acc_c
        typed_known = int(c[a, S.C_TYPED_KNOWN])
        if typed_known >= cfg.min_cold and c[a, S.C_TYPED] < cfg.max_typed_share * typed_known:
            return o.replies <= cfg.max_reply_rate * o.cold
        matured = o.matured(t, cfg.reply_delay * 1000)
        return matured >= cfg.min_cold and o.replies <= cfg.max_reply_rate * matured

    def _qualified_now(self, engine, a: int, t: int, dirty: dict[int, None]) -> bool:
        """:meth:`_qualified`, recomputed for accounts that changed and otherwise at most
        every ``_QUALIFIED_TTL``: a busy component is looked at often, its members' own
        behaviour changes slowly."""
        hit = self._qcache.get(a)
        if hit is None or a in dirty or t >= hit[0]:
            hit = self._qcache[a] = (t + _QUALIFIED_TTL, self._qualified(engine, a, t))
        return hit[1]

    def _qualified(self, engine, a: int, t: int) -> bool:
        """Bulk outreach to strangers by the account itself (never by association)."""
        c = engine.state.acc_c
        if a >= c.shape[0] or c[a, S.C_FLAGS] & S.FLAG_BUSINESS:
            return False
        cfg = self.config
        fc = int(c[a, S.C_FC])
        known = int(c[a, S.C_FC_KNOWN])
        stranger = int(c[a, S.C_FC_STRANGER])
        if c[a, S.C_REPLIES] > cfg.max_reply_rate * fc:
            return False
        o = self._out.get(a)
        if o is not None and not self._unanswered(engine, a, o, t):
            return False
        adds = int(c[a, S.C_ADDS_STRANGER])
        if adds >= 2 * cfg.min_cold and adds >= cfg.min_stranger_share * int(
                c[a, S.C_ADDS_KNOWN]):
            return True     # strangers added to groups in bulk
        if known > 0:
            return stranger >= cfg.min_cold and stranger >= cfg.min_stranger_share * known
        # no address-book data: twice the volume of unanswered first contacts instead
        return fc >= 2 * cfg.min_cold

    def _strength(self, e: _Edge) -> float:
        """Combined strength of an edge's evidence, 0..1."""
        if not e.behavioural():
            return 0.0
        c = self.config
        miss = ((1 - c.w_recipient_sync) ** e.rcpt_sync
                * (1 - c.w_recipient) ** (e.rcpt - e.rcpt_sync)
                * (1 - c.w_group) ** e.groups
                * (1 - c.w_content) ** sum(e.content.values()))
        for kind in sorted(e.infra):   # sorted: the same float result in every process
            miss *= 1 - c.w_infra.get(kind, 0.0)
        if e.sync:
            miss *= 1 - c.w_sync
        if self._similar_cadence(e.a, e.b):
            miss *= 1 - c.w_cadence
        return 1.0 - miss

    def _similar_cadence(self, a: int, b: int) -> bool:
        oa, ob = self._out.get(a), self._out.get(b)
        if oa is None or ob is None or oa.cold < 3 or ob.cold < 3:
            return False
        ga = (oa.last - oa.onset) / (oa.cold - 1)
        gb = (ob.last - ob.onset) / (ob.cold - 1)
        return max(ga, gb) <= 1.5 * min(ga, gb) if min(ga, gb) > 0 else ga == gb

    def _kinds(self, e: _Edge) -> dict[str, float]:
        """Each link kind of an edge and its weight (for reasons and explanations)."""
        c = self.config
        k: dict[str, float] = {}
        if e.rcpt:
            k[SHARED_RECIPIENTS] = 1 - ((1 - c.w_recipient_sync) ** e.rcpt_sync
                                        * (1 - c.w_recipient) ** (e.rcpt - e.rcpt_sync))
        if e.sync:
            k[SYNCHRONISED_START] = c.w_sync
        if e.groups:
            k[SHARED_GROUPS] = 1 - (1 - c.w_group) ** e.groups
        if e.content:
            k[SHARED_CONTENT] = 1 - (1 - c.w_content) ** sum(e.content.values())
        if e.infra:
            k[SHARED_INFRASTRUCTURE] = 1 - math.prod(1 - c.w_infra.get(x, 0.0)
                                                     for x in sorted(e.infra))
        if self._similar_cadence(e.a, e.b):
            k[SIMILAR_CADENCE] = c.w_cadence
        return k

    def _component(self, engine, root: int, t: int, actions: list[CampaignAction],
                   dirty: dict[int, None]) -> None:
        cfg = self.config
        members = self._members_of(root)
        qualified = self._core({a for a in members if self._qualified_now(engine, a, t, dirty)})
        # campaigns are connected sets of qualified accounts: an innocent account in the
        # middle never carries a link between two others
        groups = _connected(sorted(qualified), self._adj, qualified)
        for group in groups:
            numbers = sorted({self._member[a] for a in group if a in self._member})
            if len(group) < cfg.min_members and not numbers:
                continue
            camp = self._campaign_for(numbers, t)
            for a in group:
                if a not in camp.members:
                    camp.members[a] = t
                    self._set_member(a, camp.number)
            self._evaluate(engine, camp, qualified, t, actions)

    def _core(self, nodes: set[int]) -> set[int]:
        """Drop, until none is left to drop, accounts linked to only one other in ``nodes``
        by less than ``join_strength``: one stranger in common with one other account,
        however synchronised, is a coincidence a busy platform produces every day."""
        nodes = set(nodes)
        changed = True
        while changed:
            changed = False
            for a in sorted(nodes):
                links = [e for e in self._adj.get(a, ()) if (e.b if e.a == a else e.a) in nodes]
                if (len(links) < 2 and sum(self._strength(e) for e in links)
                        < self.config.join_strength) or self._coincidental(a, links):
                    nodes.discard(a)
                    changed = True
        return nodes

    def _coincidental(self, a: int, links: list[_Edge]) -> bool:
        """Linked only by common recipients, and only by a few of its many cold contacts: an
        account that writes to dozens of strangers meets a spam campaign's targets by chance
        (a farm shares a large part of its targets, CopyCatch's lockstep)."""
        o = self._out.get(a)
        if o is None or any(e.content or e.groups or e.infra for e in links):
            return False
        shared = sum(e.rcpt_sync for e in links)
        return shared < self.config.min_shared_share * o.cold

    def _campaign_for(self, numbers: list[int], t: int) -> Campaign:
        if not numbers:
            camp = Campaign(len(self.campaigns_) + 1, t)
            self.campaigns_.append(camp)
            return camp
        camp = self.campaigns_[numbers[0] - 1]
        for n in numbers[1:]:   # two campaigns turned out to be one: the older id stays
            other = self.campaigns_[n - 1]
            other.merged_into = camp.id
            for a, ts in other.members.items():
                camp.members.setdefault(a, ts)
                self._set_member(a, camp.number)
            camp.actioned.update({a: v for a, v in other.actioned.items()
                                  if a not in camp.actioned})
            camp.first_seen = min(camp.first_seen, other.first_seen)
            camp.last_seen = max(camp.last_seen, other.last_seen)
            camp.messages += other.messages
            camp.cold += other.cold
            camp.entities |= other.entities
            if other.established is not None:
                camp.established = min(camp.established or other.established,
                                       other.established)
        return camp

    def _set_member(self, a: int, number: int) -> None:
        self._member[a] = number
        if a >= self._camp_of.shape[0]:
            grown = np.zeros(max(a + 1, 2 * self._camp_of.shape[0]), np.int32)
            grown[: self._camp_of.shape[0]] = self._camp_of
            self._camp_of = grown
        self._camp_of[a] = number

    def _evaluate(self, engine, camp: Campaign, qualified: set[int], t: int,
                  actions: list[CampaignAction]) -> None:
        """Establish ``camp`` when the evidence suffices, then act on its members."""
        cfg = self.config
        members = sorted(camp.members)
        inside = set(members)
        edges = self._edges_within(inside)
        camp.strength = sum(self._strength(e) for e in edges)
        for a in members:
            if a in self._individual:
                camp.individual.setdefault(a, self._individual[a])
            o = self._out.get(a)
            if o is not None:
                camp.first_seen = min(camp.first_seen, o.onset)
        active = [a for a in members if a in qualified]
        if camp.established is None:
            if len(active) < cfg.min_members:
                return
            if not camp.individual and camp.strength < cfg.establish_strength:
                return
            camp.established = t
        per_member: dict[int, list[_Edge]] = {}
        for e in edges:
            per_member.setdefault(e.a, []).append(e)
            per_member.setdefault(e.b, []).append(e)
        names = engine.ingest.account_names
        acc_c = engine.state.acc_c
        score = round(1.0 - 0.5 ** (camp.strength / cfg.establish_strength), 4)
        for a in active:
            before = camp.actioned.get(a, (0, ""))[1]
            if before == "ban":
                continue
            own = per_member.get(a, [])
            weight: dict[str, float] = {}
            for e in own:
                for kind, w in self._kinds(e).items():
                    weight[kind] = weight.get(kind, 0.0) + w
            if not weight:
                continue
            order = sorted(weight, key=lambda k: (-round(weight[k], 9), LINK_KINDS.index(k)))
            own_strength = sum(self._strength(e) for e in own)
            # a ban needs the account's own coordinated acts (common targets or reported
            # content); infrastructure and timing alone restrict
            acted = any(e.rcpt_sync or e.groups or e.content for e in own)
            action = ("ban" if camp.strength >= cfg.ban_strength and own_strength >= 0.8
                      and acted else "restrict")
            if action == before:
                continue    # restricted already; banned once the evidence grows enough
            camp.actioned[a] = (t, action)
            acc_c[a, S.C_CAMPAIGN] = camp.number
            self._mark_entities(engine, camp, a)
            if acc_c[a, S.C_ENF] >= (LEVEL_BAN if action == "ban" else LEVEL_RESTRICT):
                continue
            actions.append(CampaignAction(
                account=names[a], action=action, ts=t, score=score,
                reasons=[f"CAMPAIGN:{camp.id}", *(REASON[k] for k in order),
                         BEHAVIOUR_REASON]))

    def _edges_within(self, inside: set[int]) -> list[_Edge]:
        seen: dict[tuple[int, int], _Edge] = {}
        for a in sorted(inside):
            for e in self._adj.get(a, ()):
                if e.a in inside and e.b in inside:
                    seen[(e.a, e.b)] = e
        return [seen[k] for k in sorted(seen)]

    def _mark_entities(self, engine, camp: Campaign, a: int) -> None:
        """Mark the registration entities of an actioned member as campaign infrastructure.

        A device is one person's (or one farm's): it is marked at once. A number block or
        IP block is shared by strangers (sequential corporate SIMs, office NAT), so it is
        marked only once two actioned members registered there and they are at least half
        of all its registrations.
        """
        st = engine.state
        for col in (S.C_DEV, S.C_NB, S.C_IPB):
            e = int(st.acc_c[a, col])
            if e < 0:
                continue
            if col != S.C_DEV:
                mine = sum(1 for b in camp.actioned if st.acc_c[b, col] == e)
                if mine < 2 or 2 * mine < int(st.ent_c[e, S.EC_REGISTERED]):
                    continue
            st.ent_c[e, S.EC_CAMPAIGN] = camp.number
            camp.entities.add(e)

    # -- ageing --------------------------------------------------------------------------
    def _prune(self, t: int) -> None:
        """Forget recipients and groups no longer within the pair window (hourly)."""
        pair_h = t - self._pair_ms
        for table in (self._rcpt, self._grp):
            for k in [k for k, v in table.items() if max(x[0] for x in v) < pair_h]:
                del table[k]

    def _sweep(self, engine, t: int) -> None:
        """Forget what is older than the retention, so memory stays bounded."""
        horizon = t - self._ret_ms
        self._prune(t)
        infra_h = t - self._infra_ms
        for k in [k for k, v in self._reg.items() if v[-1][0] < infra_h]:
            del self._reg[k]
        for k in [k for k, v in self._public.items() if v < infra_h]:
            del self._public[k]
        for k in [k for k, v in self._ents.items() if v[0] < horizon]:
            del self._ents[k]
        for k in [k for k, v in self._out.items() if v.last < horizon and k not in self._member]:
            del self._out[k]
        self._qcache = {}
        for k in [k for k, v in self._individual.items() if v[0] < horizon]:
            del self._individual[k]
        keep = {}
        for key, e in self._edges.items():
            if e.last >= horizon or (e.a in self._member and e.b in self._member):
                keep[key] = e
        if len(keep) != len(self._edges):
            self._edges = keep
            pending = self._dirty
            self._adj = {}
            self._parent = {}
            for e in keep.values():
                if e.behavioural():
                    self._link(e)
            for camp in self.campaigns_:
                if camp.merged_into is None:
                    members = sorted(camp.members)
                    for b in members[1:]:
                        self._union(members[0], b)
            self._dirty = pending
        # campaigns silent for `active` stop marking their registration infrastructure
        quiet = t - self.config.active * 1000
        ent_c = engine.state.ent_c
        for camp in self.campaigns_:
            if camp.entities and camp.last_seen < quiet:
                for e in sorted(camp.entities):
                    v = int(ent_c[e, S.EC_CAMPAIGN])
                    if v and self._resolve(v) is camp:   # not re-marked by another since
                        ent_c[e, S.EC_CAMPAIGN] = 0
                camp.entities.clear()

    def _resolve(self, number: int) -> Campaign:
        """The live campaign a (possibly merged) campaign number belongs to now."""
        camp = self.campaigns_[number - 1]
        while camp.merged_into is not None:
            camp = self._by_id(camp.merged_into)
        return camp

    # -- explaining ----------------------------------------------------------------------
    def explain(self, campaign_id: str, engine=None) -> dict:
        """Members, links (kinds and strengths), time windows, volume and harm of a campaign.

        ``engine`` (the one the detector ran in) adds each member's counters: messages
        delivered, strangers contacted, reports and blocks received, attempts refused.
        Raises KeyError for an unknown id.
        """
        camp = self._by_id(campaign_id)
        if camp.merged_into is not None:
            return {**self.explain(camp.merged_into, engine), "id": camp.id,
                    "merged_into": self._resolve(camp.number).id}
        names = engine.ingest.account_names if engine is not None else None

        def name(a: int):
            return names[a] if names is not None else a

        inside = set(camp.members)
        edges = self._edges_within(inside)
        onsets = [self._out[a].onset for a in camp.members if a in self._out]
        members = []
        for a in sorted(camp.members, key=lambda x: (camp.members[x], x)):
            o = self._out.get(a)
            m: dict = {"account": name(a), "joined": camp.members[a]}
            if o is not None:
                m["outreach"] = {"onset": o.onset, "last": o.last, "cold_contacts": o.total}
            if a in camp.actioned:
                m["campaign_action"] = {"ts": camp.actioned[a][0], "action": camp.actioned[a][1]}
            if a in camp.individual:
                m["individual_action"] = {"ts": camp.individual[a][0],
                                          "action": camp.individual[a][1]}
            if engine is not None and a < engine.state.acc_c.shape[0]:
                c = engine.state.acc_c[a]
                m["counters"] = {"messages": int(c[S.C_MSGS]),
                                 "strangers_contacted": int(c[S.C_FC_STRANGER]),
                                 "replies_received": int(c[S.C_REPLIES]),
                                 "reporters": int(c[S.C_REPORTERS]),
                                 "blockers": int(c[S.C_BLOCKERS]),
                                 "refused_attempts": int(c[S.C_REFUSED])}
            members.append(m)
        links = []
        for e in edges:
            link = {"accounts": [name(e.a), name(e.b)], "strength": round(self._strength(e), 4),
                    "kinds": {k: round(w, 4) for k, w in self._kinds(e).items()},
                    "first": e.first, "last": e.last}
            if e.rcpt:
                link["shared_recipients"] = e.rcpt
                link["shared_recipients_synchronised"] = e.rcpt_sync
            if e.groups:
                link["shared_groups"] = e.groups
            if e.content:
                link["shared_content"] = dict(sorted(e.content.items()))
            if e.infra:
                link["shared_infrastructure"] = sorted(e.infra)
            links.append(link)
        # volume and harm: the members' own counters when the engine is at hand (everything
        # they did, before and after the campaign was found), what was seen since otherwise
        counted = [m["counters"] for m in members if "counters" in m]
        cold = sum(self._out[a].total for a in camp.members if a in self._out)
        volume = {"members": len(members),
                  "messages": sum(c["messages"] for c in counted) if counted else None}
        harm = {"strangers_contacted": (sum(c["strangers_contacted"] for c in counted)
                                        if counted else cold),
                "reporters": sum(c["reporters"] for c in counted) if counted else None,
                "blockers": sum(c["blockers"] for c in counted) if counted else None,
                "refused_attempts": (sum(c["refused_attempts"] for c in counted)
                                     if counted else None),
                "after_detection": {"messages": camp.messages,
                                    "strangers_contacted": camp.cold}}
        return {
            "id": camp.id,
            "status": "established" if camp.established is not None else "detected",
            "members": members,
            "size": len(members),
            "actioned": len(camp.actioned),
            "strength": round(camp.strength, 4),
            "links": links,
            "link_kinds": _count_kinds(self._kinds(e) for e in edges),
            "windows": {
                "start": [min(onsets), max(onsets)] if onsets else None,
                "detected": camp.detected,
                "established": camp.established,
                "first_seen": camp.first_seen,
                "last_seen": camp.last_seen,
            },
            "volume": volume,
            "harm": harm,
            "infrastructure_marked": len(camp.entities),
        }

    def campaigns(self, engine=None) -> list[dict]:
        """Every campaign found (merged ones point to the survivor), oldest first."""
        return [self.explain(c.id, engine) if c.merged_into is None
                else {"id": c.id, "merged_into": c.merged_into} for c in self.campaigns_]

    def _by_id(self, campaign_id: str) -> Campaign:
        prefix, _, number = campaign_id.partition("-")
        if prefix != "cmp" or not number.isdigit() or not 1 <= int(number) <= len(
                self.campaigns_):
            raise KeyError(campaign_id)
        return self.campaigns_[int(number) - 1]


def _connected(nodes: list[int], adj: dict[int, list[_Edge]], allowed: set[int]) -> list[
        list[int]]:
    """Connected components of ``allowed`` through behavioural edges, each sorted."""
    seen: set[int] = set()
    out = []
    for start in nodes:
        if start in seen:
            continue
        comp = [start]
        seen.add(start)
        stack = [start]
        while stack:
            x = stack.pop()
            for e in adj.get(x, ()):
                y = e.b if e.a == x else e.a
                if y in allowed and y not in seen:
                    seen.add(y)
                    comp.append(y)
                    stack.append(y)
        out.append(sorted(comp))
    return out


def _count_kinds(kinds) -> dict[str, int]:
    counts = dict.fromkeys(LINK_KINDS, 0)
    for k in kinds:
        for kind in k:
            counts[kind] += 1
    return {k: v for k, v in counts.items() if v}


# -- the command ---------------------------------------------------------------------------
def load_campaign_config(path: str | Path) -> CampaignConfig:
    """Detector options from a YAML file; unknown keys and bad values name the key."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read campaign configuration: {exc}") from None
    try:
        return msgspec.convert(data, CampaignConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from None


@click.command("campaigns")
@click.argument("events", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Write every campaign (members, links, windows, harm) as JSON here.")
@click.option("--decisions", "decisions_out", type=click.Path(dir_okay=False),
              help="Also write the engine's decisions (NDJSON), campaign ones included.")
@click.option("--explain", "explain_id", metavar="ID",
              help="Print one campaign in full (e.g. cmp-3) as JSON.")
@click.option("--rules", type=click.Path(dir_okay=False), help="Rule file (default: shipped).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Engine options (YAML), as for `seawall replay`.")
@click.option("--campaign-config", "campaign_config_path", type=click.Path(dir_okay=False),
              help="Detector options (YAML): the fields of CampaignConfig.")
def campaigns_command(events, out, decisions_out, explain_id, rules, config_path,
                      campaign_config_path) -> None:
    """Replay EVENTS with campaign detection and list the coordinated campaigns found.

    Each campaign has an id (cmp-1, cmp-2, ... in the order found), members, the links
    between them with their strengths, its time windows, volume and harm.
    """
    from rich.console import Console
    from rich.table import Table

    from seawall.engine import Engine
    from seawall.replay import load_config, replay
    from seawall.rules import RuleError, load_rules

    for p in events:
        if p != "-" and not Path(p).is_file():
            raise click.UsageError(f"events file not found: {p}")
    try:
        config = load_config(config_path) if config_path else None
        detector = CampaignDetector(load_campaign_config(campaign_config_path)
                                    if campaign_config_path else None)
        engine = Engine(config=config, rules=load_rules(rules) if rules else None,
                        campaigns=detector)
        with tempfile.TemporaryDirectory() as tmp:
            rejects = Path(tmp) / "rejects.jsonl"
            result = replay(events, engine=engine, out=decisions_out, rejects=rejects,
                            keep_decisions=False)
            _echo_rejects(rejects)
    except RuleError as exc:
        raise click.ClickException(f"invalid rules:\n{exc}") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    found = detector.campaigns(engine)
    if out is not None:
        Path(out).write_bytes(orjson.dumps({"campaigns": found}, option=orjson.OPT_INDENT_2)
                              + b"\n")
    if explain_id is not None:
        try:
            doc = detector.explain(explain_id, engine)
        except KeyError:
            raise click.ClickException(
                f"no campaign {explain_id!r} (found {len(found)}: cmp-1..cmp-{len(found)})"
                if found else f"no campaign {explain_id!r}: none found") from None
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("id", "status", "members", "actioned", "strength", "links (count)",
                  "start (UTC) + spread", "messages", "strangers",
                  title=f"{len(found)} campaigns")
    for c in found:
        if "merged_into" in c and "members" not in c:
            continue
        if c.get("merged_into"):
            continue
        start = c["windows"]["start"]
        table.add_row(c["id"], c["status"], str(c["size"]), str(c["actioned"]),
                      f"{c['strength']:.2f}",
                      " ".join(f"{_SHORT[k]}:{n}" for k, n in c["link_kinds"].items()),
                      _window(start), f"{c['volume']['messages']:,}",
                      f"{c['harm']['strangers_contacted']:,}")
    Console(file=sys.stdout, width=120).print(table)
    click.echo("links: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in _SHORT.items()))
    summary = result.summary
    click.echo(f"{summary['events_read']:,} events ({summary['events_rejected']:,} invalid, "
               f"skipped), {summary['decisions_by_stage'].get('campaign', 0):,} campaign "
               "decisions")


def _echo_rejects(path: Path, limit: int = 5) -> None:
    """The first invalid lines, as file:line: why (they were skipped, the rest was read)."""
    with open(path, "rb") as f:
        lines = f.readlines()
    for raw in lines[:limit]:
        r = orjson.loads(raw)
        click.echo(f"{r['source']}:{r['line']}: {r['reason']} (skipped)", err=True)
    if len(lines) > limit:
        click.echo(f"... and {len(lines) - limit:,} more invalid lines skipped", err=True)


_SHORT = {SHARED_RECIPIENTS: "rcpt", SYNCHRONISED_START: "sync", SHARED_GROUPS: "grp",
          SHARED_CONTENT: "text", SHARED_INFRASTRUCTURE: "infra", SIMILAR_CADENCE: "cad"}


def _window(span) -> str:
    if not span:
        return "-"
    import datetime as dt

    a, b = (dt.datetime.fromtimestamp(x / 1000, dt.UTC) for x in span)
    return f"{a:%Y-%m-%d %H:%M}+{(b - a).total_seconds() / 60:.0f}min"
