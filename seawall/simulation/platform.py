"""The simulated platform: accounts, their state, and the events they emit.

:class:`Platform` holds what the platform knows about every account (address book, usual
device and network, daily rhythm, when it exists) and writes contract-v1 events through a
:class:`~seawall.simulation.timeline.Timeline`. Behaviours live beside it: ordinary people
and innocent hard cases in :mod:`seawall.simulation.people`, abusers in
:mod:`seawall.simulation.abusers`. :func:`simulate` runs the whole thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

from seawall.simulation.config import (
    ARCHETYPES,
    DERIVED_ARCHETYPES,
    ConfigError,
    SimulationConfig,
)
from seawall.simulation.dice import Dice
from seawall.simulation.identity import Country, Identities
from seawall.simulation.texts import Texts
from seawall.simulation.timeline import Timeline

__all__ = ["DEFAULT_START", "Platform", "SimulationResult", "simulate", "DAY", "HOUR",
           "MINUTE", "SECOND"]

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
DEFAULT_START = "2026-01-05T00:00:00Z"
LABELS = {**{name: label for name, (label, _, _) in ARCHETYPES.items()}, **DERIVED_ARCHETYPES}
# A report brigade: new accounts that falsely mass-report innocents, up to three victims each.
BRIGADE_SIZE = 44
BRIGADE_VICTIMS = 3


@dataclass
class SimulationResult:
    """What :func:`simulate` wrote: counts by archetype and label, and the event count."""

    accounts: int
    events: int
    archetypes: dict[str, int]
    labels: dict[str, int]
    events_path: Path
    labels_path: Path
    groups: int = 0


class Platform:
    """Account state plus one method per event type; every method drops events outside the
    simulated window, so behaviours may overrun it freely."""

    def __init__(self, cfg: SimulationConfig, days: int, seed: int, start_ms: int, *,
                 address_books: bool = True, typing: bool = True,
                 scratch: Path | None = None) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.dice = Dice(self.rng)
        self.idents = Identities(self.dice, cfg["people"]["ipv6_share"])
        self.texts = Texts(self.dice, cfg["spam_samples"])
        self.days = days
        self.start = start_ms
        self.end = start_ms + days * DAY
        self.timeline = Timeline(start_ms, scratch=scratch)
        self.address_books = address_books
        self.typing = typing
        # per-account state, indexed by the internal account number
        self.archetype: list[str] = []
        self.live_from: list[int] = []
        self.live_until: list[int] = []
        self.tz: list[int] = []
        self.wake: list[int] = []
        self.awake_ms: list[int] = []
        self.country: list[Country] = []
        self.ip: list[str] = []
        self.device: list[str] = []
        self.client: list[str] = []
        self.book: list[set[int]] = []
        self.book_list: list[list[int]] = []
        self.abuse_from: dict[int, int] = {}
        self.ids: list[str] = []
        # people: who has an ordinary social life, their circles and how much they chat
        self.persons: list[int] = []
        self.person_set: set[int] = set()
        self.communities: list[list[int]] = []
        self.comm_of: dict[int, int] = {}
        self.conv_rate: dict[int, float] = {}
        self.mean_turns: dict[int, float] = {}
        # groups people chat in: (group id, members, chat bursts per day, created at)
        self.groups: list[tuple[str, list[int], float, int]] = []
        self.member_groups: dict[int, list[str]] = {}
        # people who never start a conversation with a non-contact (falsely reported
        # victims and their bystander reporters: keeps "never messaged" exact)
        self.no_strangers: set[int] = set()
        self.web_device: dict[int, str] = {}   # a linked web client (laptop) some people use
        self._groups = 0

    # -- accounts ------------------------------------------------------------------------
    def new_account(self, archetype: str, country: Country | None = None, *,
                    live_from: int | None = None, tz_hours: float | None = None) -> int:
        """Create an account living in ``country`` with a human daily rhythm."""
        d = self.dice
        i = len(self.archetype)
        country = country or self.idents.country()
        tz = country.tz_hours if tz_hours is None else tz_hours
        if country.calling_code == "1" and tz_hours is None:
            tz -= d.below(4)
        self.archetype.append(archetype)
        self.live_from.append(self.start if live_from is None else live_from)
        self.live_until.append(self.end)
        self.tz.append(int(tz * HOUR))
        # wake around 7:15 local; awake 16-17 h, so sleep 7-8 h
        self.wake.append(int(min(max(d.lognormal(7.2, 0.12), 5.0), 10.5) * HOUR))
        self.awake_ms.append(int(d.between(16.0, 17.0) * HOUR))
        self.country.append(country)
        self.ip.append(self.idents.home_ip(country))
        self.device.append(self.idents.device())
        self.client.append(self.idents.official_client())
        self.book.append(set())
        self.book_list.append([])
        return i

    def add_contact(self, owner: int, other: int) -> None:
        """``owner`` saves ``other`` in their address book."""
        if other != owner and other not in self.book[owner]:
            self.book[owner].add(other)
            self.book_list[owner].append(other)

    def new_group(self) -> str:
        self._groups += 1
        return f"g{self._groups}"

    def alive(self, i: int, t: int) -> bool:
        return self.live_from[i] <= t < self.live_until[i]

    def is_awake(self, i: int, t: int) -> bool:
        return (t + self.tz[i] - self.wake[i]) % DAY < self.awake_ms[i]

    def next_awake(self, i: int, t: int) -> int:
        """``t`` if ``i`` is awake then, else the moment ``i`` next wakes up."""
        x = (t + self.tz[i] - self.wake[i]) % DAY
        return t if x < self.awake_ms[i] else t + DAY - x

    def day_time(self, i: int, day: int, frac: float) -> int:
        """UTC ms at fraction ``frac`` of ``i``'s waking hours on local day ``day``."""
        return self.start + day * DAY + self.wake[i] - self.tz[i] + int(frac * self.awake_ms[i])

    def moment(self, i: int, lo: float, hi: float) -> int:
        """A moment ``i`` is awake, near a random fraction in [lo, hi) of the window."""
        t = self.next_awake(i, self.at(self.dice.between(lo, hi)))
        return t if t < self.end else self.next_awake(i, self.at(lo))

    def weekday(self, day: int) -> int:
        """Weekday (Monday 0) of simulated day ``day`` in UTC."""
        return (self.start // DAY + day + 3) % 7   # 1970-01-01 was a Thursday

    def at(self, frac: float) -> int:
        """The moment at fraction ``frac`` of the simulated window."""
        return self.start + int(frac * (self.end - self.start))

    def assign_ids(self) -> None:
        # Account ids are a random permutation so an id never hints at the archetype.
        n = len(self.archetype)
        width = max(5, len(str(n - 1)))
        perm = self.rng.permutation(n).tolist()
        self.ids = [f"u{k:0{width}d}" for k in perm]

    # -- events (one method per contract type) -------------------------------------------
    def _emit(self, ts: int, event: dict) -> bool:
        if self.start <= ts < self.end:
            self.timeline.add(ts, orjson.dumps(event))
            return True
        return False

    def registration(self, i: int, ts: int, *, phone: str, ip: str, device: str, client: str,
                     verification: str = "sms", business: bool = False) -> bool:
        ev = {"type": "registration", "ts": ts, "account": self.ids[i], "phone": phone,
              "ip": ip, "device": device, "client": client, "verification": verification}
        if business:
            ev["business"] = True
        return self._emit(ts, ev)

    def session(self, i: int, ts: int, *, ip: str | None = None, device: str | None = None,
                client: str | None = None) -> bool:
        return self._emit(ts, {"type": "session", "ts": ts, "account": self.ids[i],
                               "ip": ip or self.ip[i], "device": device or self.device[i],
                               "client": client or self.client[i]})

    def message(self, i: int, ts: int, *, peer: int | None = None, group: str | None = None,
                kind: str = "text", typed: bool | None = None, size: int | None = None,
                forwarded: int = 0, in_contacts: bool | None = None) -> bool:
        """One message; for a one-to-one message ``in_contacts`` defaults to whether the
        recipient has the sender in their address book (the contract's meaning)."""
        ev: dict = {"type": "message", "ts": ts, "account": self.ids[i]}
        if peer is not None:
            ev["peer"] = self.ids[peer]
        else:
            ev["group"] = group
        ev["kind"] = kind
        if forwarded:
            ev["forwarded"] = forwarded
        if typed is not None and self.typing:
            ev["typed"] = typed
        if peer is not None and self.address_books:
            ev["in_contacts"] = (i in self.book[peer]) if in_contacts is None else in_contacts
        if size is not None:
            ev["size"] = size
        return self._emit(ts, ev)

    def group_create(self, i: int, ts: int, group: str) -> bool:
        return self._emit(ts, {"type": "group_create", "ts": ts, "account": self.ids[i],
                               "group": group})

    def group_add(self, i: int, ts: int, group: str, peer: int) -> bool:
        ev = {"type": "group_add", "ts": ts, "account": self.ids[i], "group": group,
              "peer": self.ids[peer]}
        if self.address_books:
            ev["in_contacts"] = i in self.book[peer]
        return self._emit(ts, ev)

    def group_leave(self, i: int, ts: int, group: str, removed: bool = False) -> bool:
        ev = {"type": "group_leave", "ts": ts, "account": self.ids[i], "group": group}
        if removed:
            ev["removed"] = True
        return self._emit(ts, ev)

    def report(self, i: int, ts: int, peer: int, *, reason: str = "spam",
               group: str | None = None, messages: list[str] | None = None) -> bool:
        ev: dict = {"type": "report", "ts": ts, "account": self.ids[i], "peer": self.ids[peer],
                    "reason": reason}
        if group is not None:
            ev["group"] = group
        if messages:
            ev["messages"] = messages
        return self._emit(ts, ev)

    def block(self, i: int, ts: int, peer: int) -> bool:
        return self._emit(ts, {"type": "block", "ts": ts, "account": self.ids[i],
                               "peer": self.ids[peer]})

    # -- shared behaviour ----------------------------------------------------------------
    def text_size(self) -> int:
        return max(2, int(self.dice.lognormal(60, 0.8)))

    def react(self, sender: int, r: int, t: int, texts: list[str], *, block: float,
              report: float, reply: float, reason: str = "spam") -> None:
        """How recipient ``r`` answers an unwanted message from ``sender`` sent at ``t``:
        mostly ignore it; sometimes report it (attaching what they got), block, or reply."""
        d = self.dice
        u = d.u()
        if u >= block + report + reply or r not in self.person_set:
            return   # mostly ignored; businesses and bots do not react like people
        tr = self.next_awake(r, t + int(d.lognormal(6 * MINUTE, 1.3)))
        if not self.alive(r, tr):
            return
        if u < report:
            k = min(len(texts), 1 + d.below(3))
            self.report(r, tr, sender, reason=reason, messages=d.sample(texts, k))
            if d.chance(0.6):
                self.block(r, tr + int(d.lognormal(4 * SECOND, 0.5)), sender)
        elif u < report + block:
            self.block(r, tr, sender)
        else:
            self.message(r, tr, peer=sender, kind="text", typed=True, size=self.text_size())

    def stranger(self, i: int, t: int) -> int:
        """A random person who exists at ``t`` and does not have ``i`` in their book."""
        persons = self.persons
        for _ in range(20):
            r = persons[self.dice.below(len(persons))]
            if r != i and self.alive(r, t) and i not in self.book[r]:
                return r
        return r


def plan_counts(cfg: SimulationConfig, accounts: int) -> dict[str, int]:
    """Accounts per archetype for ``accounts`` in total (``ordinary`` takes the rest)."""
    counts: dict[str, int] = {}
    for name, (_, _, minimum) in ARCHETYPES.items():
        share = cfg["mix"][name]
        counts[name] = max(minimum, round(share * accounts)) if share > 0 else 0
    victims = counts["mass_reported_innocent"]
    counts["report_brigade"] = math.ceil(victims / BRIGADE_VICTIMS) * BRIGADE_SIZE
    special = sum(counts.values())
    # every announcer retires an ordinary person's old number; keep >= 60% ordinary anyway
    if special > 0.4 * accounts:
        raise ConfigError(f"--accounts {accounts} is too small for the archetype mix: the "
                          f"special archetypes need {special} accounts; use at least "
                          f"{math.ceil(special / 0.4)} accounts or lower the shares")
    counts["ordinary"] = accounts - special
    return counts


def parse_start(value: str | None) -> int:
    """Milliseconds for an ISO date or date-time (UTC when no offset is given)."""
    text = (value or DEFAULT_START).strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--start: not an ISO date or date-time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def simulate(accounts: int, days: int, seed: int, out_dir: str | Path,
             config: SimulationConfig | str | Path | None = None, *,
             address_books: bool = True, typing: bool = True,
             start: str | None = None) -> SimulationResult:
    """Simulate ``accounts`` accounts for ``days`` days; write ``events.jsonl`` and
    ``labels.jsonl`` into ``out_dir``. Same arguments, same bytes."""
    from seawall.simulation import abusers, people
    from seawall.simulation.config import load_config

    if accounts < 1:
        raise ConfigError(f"--accounts must be >= 1, got {accounts}")
    if days < 1:
        raise ConfigError(f"--days must be >= 1, got {days}")
    if config is None:
        cfg = SimulationConfig.default()
    elif isinstance(config, SimulationConfig):
        cfg = config
    else:
        cfg = load_config(config)
    counts = plan_counts(cfg, accounts)
    start_ms = parse_start(start)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    p = Platform(cfg, days, seed, start_ms, address_books=address_books, typing=typing,
                 scratch=out)
    try:
        cast = people.populate(p, counts)
        crews = abusers.populate(p, counts)
        p.assign_ids()
        people.hard_cases(p, cast)
        abusers.act(p, crews)
        people.ordinary_life(p)
        events_path = out / "events.jsonl"
        labels_path = out / "labels.jsonl"
        n_events = p.timeline.write(events_path)
    finally:
        p.timeline.close()
    by_arch: dict[str, int] = {}
    by_label = {"abuse": 0, "legit": 0}
    rows = []
    for i, arch in enumerate(p.archetype):
        by_arch[arch] = by_arch.get(arch, 0) + 1
        label = LABELS[arch]
        by_label[label] += 1
        row: dict = {"account": p.ids[i], "label": label, "archetype": arch}
        if i in p.abuse_from:
            row["abuse_from"] = p.abuse_from[i]
        rows.append(row)
    rows.sort(key=lambda r: r["account"])
    labels_path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return SimulationResult(accounts=len(rows), events=n_events,
                            archetypes=dict(sorted(by_arch.items())), labels=by_label,
                            events_path=events_path, labels_path=labels_path,
                            groups=p._groups)
