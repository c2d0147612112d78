"""Abusive accounts: bulk senders, farms, automation, hijacked accounts.

Each archetype follows a pattern from ``shared/background.md``: the blitz (an account
registered minutes ago sending 100 messages in 15 seconds), group spam (dozens of groups,
thousands of strangers added who then leave), farms registering in bursts from one number
block or network, coordinated accounts in loose lockstep (SynchroTrap, CopyCatch), machine
clients that never type and keep perfect time, and accounts taken over from real people.
They are deliberately not separable by one field: clients vary (official ones included),
adaptive spammers fake typing and warm up, stealth farms avoid shared infrastructure.
Recipients react to unwanted first contacts through :meth:`Platform.react`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seawall.simulation.dice import Dice
from seawall.simulation.identity import WEB_CLIENT
from seawall.simulation.people import conversation
from seawall.simulation.platform import DAY, HOUR, MINUTE, SECOND, Platform

__all__ = ["Crews", "act", "populate"]


@dataclass
class Crews:
    """Abusive accounts by archetype; multi-account archetypes are lists of teams."""

    blitz: list[int] = field(default_factory=list)
    slow: list[int] = field(default_factory=list)
    farms: list[list[int]] = field(default_factory=list)
    stealth: list[list[int]] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    automation: list[int] = field(default_factory=list)
    adaptive: list[list[int]] = field(default_factory=list)
    takeovers: list[int] = field(default_factory=list)


def populate(p: Platform, counts: dict[str, int]) -> Crews:
    """Create the abusive accounts (takeover victims already exist as people)."""
    d = p.dice
    c = Crews()
    c.blitz = [p.new_account("blitz_spammer") for _ in range(counts["blitz_spammer"])]
    c.slow = [p.new_account("slow_spammer") for _ in range(counts["slow_spammer"])]
    for size in d.partition(counts["farm"], 5, 20):
        country = p.idents.country()
        c.farms.append([p.new_account("farm", country) for _ in range(size)])
    for size in d.partition(counts["stealth_farm"], 4, 10):
        c.stealth.append([p.new_account("stealth_farm") for _ in range(size)])
    c.group = [p.new_account("group_spammer") for _ in range(counts["group_spammer"])]
    c.automation = [p.new_account("automation_client")
                    for _ in range(counts["automation_client"])]
    for size in d.partition(counts["adaptive_spammer"], 2, 4):
        c.adaptive.append([p.new_account("adaptive_spammer") for _ in range(size)])
    c.takeovers = [i for i in p.persons if p.archetype[i] == "takeover"]
    return c


def act(p: Platform, c: Crews) -> None:
    """Run every abusive behaviour over the simulated window."""
    for i in c.blitz:
        _blitz(p, i)
    for i in c.slow:
        _slow(p, i)
    for team in c.farms:
        _farm(p, team)
    for k, team in enumerate(c.stealth):
        _stealth_farm(p, team, k, len(c.stealth))
    for i in c.group:
        _group_spam(p, i)
    for i in c.automation:
        _automation(p, i)
    for team in c.adaptive:
        _adaptive(p, team)
    for i in c.takeovers:
        _takeover(p, i)
    # Their apps reconnect like anyone's (the automation client keeps its own clock).
    rate = p.cfg["people"]["sessions_per_day"]
    d = p.dice
    for team in (c.blitz, c.slow, *c.farms, *c.stealth, c.group, *c.adaptive):
        for i in team:
            for day in range(p.days):
                if d.chance(rate):
                    p.session(i, p.live_from[i] + int((day + d.u()) * DAY))


# -- shared pieces ------------------------------------------------------------------------
def _register(p: Platform, i: int, t: int, *, official: float, old: float,
              datacenter: float = 0.0, ip: str | None = None, device: str | None = None,
              phone: str | None = None, verification: str | None = None) -> None:
    """Register ``i`` at ``t`` with an abuser's mix of client, network and verification."""
    d = p.dice
    p.client[i] = p.idents.abuser_client(official, old)
    if ip is None:
        ip = (p.idents.ip_in(p.idents.fresh_block(datacenter=True)) if d.chance(datacenter)
              else p.ip[i])
    p.ip[i] = ip
    if device is not None:
        p.device[i] = device
    if verification is None:
        u = d.u()
        verification = "sms" if u < 0.7 else "voice" if u < 0.85 else "none"
    p.registration(i, t, phone=phone or p.idents.phone(p.country[i]), ip=ip,
                   device=p.device[i], client=p.client[i], verification=verification)
    p.live_from[i] = t


def _spam(p: Platform, i: int, t: int, r: int, texts: list[str], reached: set[int], *,
          typed: float, link: float = 0.8, forwarded: int = 0,
          reason: str = "spam") -> None:
    """One unwanted message from ``i`` to ``r``; a first contact may draw a reaction."""
    d = p.dice
    kind = "link" if d.u() < link else "text"
    size = len(d.choice(texts).encode()) + d.below(8)
    p.message(i, t, peer=r, kind=kind, typed=d.u() < typed, size=size, forwarded=forwarded)
    if r not in reached:
        reached.add(r)
        rc = p.cfg["reactions"]
        p.react(i, r, t, texts, block=rc["block"], report=rc["report"], reply=rc["reply"],
                reason=reason)


def _jittered_times(d: Dice, start: int, n: int, span: float) -> list[int]:
    return sorted(start + int(d.u() * span) for _ in range(n))


# -- archetypes ---------------------------------------------------------------------------
def _blitz(p: Platform, i: int) -> None:
    """Fresh account; within minutes 100+ messages to strangers in about 15 seconds."""
    d = p.dice
    t = p.at(d.between(0.02, 0.9))
    _register(p, i, t, official=0.5, old=0.25, datacenter=0.35)
    texts = p.texts.campaign(2)
    reached: set[int] = set()
    fwd = 1 + d.below(5) if d.chance(0.3) else 0
    start = t + int(d.between(45, 240) * SECOND)
    for _wave in range(1 + (d.int_between(1, 3) if d.chance(0.4) else 0)):
        n = d.int_between(100, 260)
        for tm in _jittered_times(d, start, n, d.between(6, 14) * SECOND):
            _spam(p, i, tm, p.stranger(i, tm), texts, reached, typed=0.0, link=0.85,
                  forwarded=fwd)
        start += int(d.between(1, 6) * HOUR)


def _slow(p: Platform, i: int) -> None:
    """Stays under per-minute limits: one message to a stranger every 1-3 minutes, all day."""
    d = p.dice
    if d.chance(0.5):
        _register(p, i, p.at(d.between(0.0, 0.3)), official=0.7, old=0.15, datacenter=0.2)
    else:
        p.client[i] = p.idents.abuser_client(0.75, 0.15)
        p.session(i, p.at(d.between(0.0, 0.05)))
    typed = d.between(0.0, 0.4)
    texts = p.texts.campaign(3)
    reached: set[int] = set()
    for day in range(-1, p.days):
        t = p.day_time(i, day, d.between(0.0, 0.2))
        stop = t + int(d.between(10, 16) * HOUR)
        t = max(t, p.live_from[i] + int(d.between(5, 60) * MINUTE))
        while t < stop:
            _spam(p, i, t, p.stranger(i, t), texts, reached, typed=typed, link=0.6)
            t += int(d.between(60, 180) * SECOND)


def _farm(p: Platform, team: list[int]) -> None:
    """Accounts registered in a burst from one number block, mostly one network and a few
    devices, on old or unofficial clients, sometimes unverified; then they spam."""
    d = p.dice
    country = p.country[team[0]]
    numbers = p.idents.number_block(country)
    last = d.below(500)
    datacenter = d.chance(0.5)
    net = p.idents.fresh_block(datacenter=datacenter) if d.chance(0.8) else None
    devices = [p.idents.device() for _ in range(d.int_between(1, 3))] if d.chance(0.5) else None
    official = d.between(0.0, 0.35)
    verification = "none" if d.chance(0.35) else d.choice(("sms", "voice"))
    texts = p.texts.campaign(3)
    t = p.at(d.between(0.02, 0.6))
    for i in team:
        t += int(d.lognormal(40 * SECOND, 0.8))
        last += 1 + d.below(3)
        _register(p, i, t, official=official, old=0.45,
                  ip=p.idents.ip_in(net) if net else None,
                  device=d.choice(devices) if devices else None,
                  phone=p.idents.in_block(numbers, last),
                  verification=verification)
    typed = 0.1 if d.chance(0.2) else 0.0
    for i in team:
        reached: set[int] = set()
        tm = p.live_from[i] + int(d.lognormal(2 * HOUR, 0.8))
        for _ in range(d.int_between(30, 120)):
            _spam(p, i, tm, p.stranger(i, tm), texts, reached, typed=typed)
            tm += int(d.exponential(d.between(60, 150) * SECOND)) + SECOND


def _stealth_farm(p: Platform, team: list[int], k: int, n_teams: int) -> None:
    """Coordinated accounts with nothing shared (own number, /24, device, official client)
    that start within minutes of each other, at a similar cadence, from one target list
    and one link: loose lockstep."""
    d = p.dice
    # campaigns of different teams are spread out over the second part of the window
    slot = 0.5 / max(n_teams, 1)
    first = p.at(0.4 + slot * (k + d.between(0.1, 0.9)))
    for i in team:
        t = p.start + int(d.u() * max(first - HOUR - p.start, MINUTE))
        p.ip[i] = p.idents.ip_in(p.idents.fresh_block())
        _register(p, i, t, official=1.0, old=0.0, ip=p.ip[i], verification="sms")
    texts = p.texts.campaign(2)
    typed = d.between(0.0, 0.3)
    gap = d.between(40, 120) * SECOND
    for day in range(p.days):
        start = first + day * DAY + (int(d.between(-20, 20) * MINUTE) if day else 0)
        targets = [p.stranger(team[0], start) for _ in range(d.int_between(60, 150))]
        length = d.between(1, 3) * HOUR
        for i in team:
            reached: set[int] = set()
            t = start + int(d.between(0, 8) * MINUTE)
            stop = t + length
            for r in d.sample(targets, int(len(targets) * 0.6)):
                if t >= stop:
                    break
                _spam(p, i, t, r, texts, reached, typed=typed, link=0.7)
                t += int(gap * d.lognormal(1.0, 0.25))


def _group_spam(p: Platform, i: int) -> None:
    """Creates dozens of groups within minutes and adds hundreds of strangers, who mostly
    leave; posts links in the groups."""
    d = p.dice
    t = p.at(d.between(0.02, 0.8))
    _register(p, i, t, official=0.4, old=0.2, datacenter=0.3)
    texts = p.texts.campaign(2)
    rc = p.cfg["reactions"]
    t += int(d.between(2, 30) * MINUTE)
    for _ in range(d.int_between(8, 30)):
        g = p.new_group()
        p.group_create(i, t, g)
        ta = t
        added = []
        for _ in range(d.int_between(40, 200)):
            ta += int(d.lognormal(400, 0.5))
            r = p.stranger(i, ta)
            p.group_add(i, ta, g, r)
            added.append(r)
        tm = ta
        for _ in range(d.int_between(1, 4)):
            tm += int(d.lognormal(20 * SECOND, 0.8))
            p.message(i, tm, group=g, kind="link", typed=False,
                      size=len(d.choice(texts).encode()))
        for r in added:
            u = d.u()
            if u < rc["group_leave"]:
                tl = p.next_awake(r, ta + int(d.lognormal(20 * MINUTE, 1.2)))
                p.group_leave(r, tl, g)
                if d.chance(rc["report"]):
                    p.report(r, tl - SECOND, i, group=g,
                             messages=d.sample(texts, 1 + d.below(len(texts))))
                elif d.chance(rc["block"]):
                    p.block(r, tl + SECOND, i)
        t += int(d.lognormal(12 * SECOND, 0.5))


def _automation(p: Platform, i: int) -> None:
    """A scripted client: machine-regular timing around the clock, never a typing
    indicator, modest volume to a fixed list."""
    d = p.dice
    if d.chance(0.5):
        _register(p, i, p.at(d.between(0.0, 0.3)), official=0.5, old=0.1, datacenter=0.6)
    else:
        p.client[i] = d.choice(("web/2.3000", "wa-automate/4.2", "yowsup/3.3",
                                "android/2.24.1", "android/2.23.25"))
        p.ip[i] = p.idents.ip_in(p.idents.fresh_block(datacenter=d.chance(0.6)))
    texts = p.texts.campaign(3)
    targets = [p.stranger(i, p.live_from[i]) for _ in range(d.int_between(40, 200))]
    for r in targets:
        if d.chance(0.25):
            p.add_contact(r, i)   # subscribers who saved the number
    interval = d.between(2, 10) * MINUTE
    reached: set[int] = set()
    t = p.live_from[i] + int(d.u() * interval)
    k = 0
    next_session = t + 6 * HOUR
    while t < p.end:
        r = targets[k % len(targets)]
        kind = "link" if d.chance(0.4) else "media" if d.chance(0.15) else "text"
        p.message(i, t, peer=r, kind=kind, typed=False, size=len(d.choice(texts).encode()))
        if r not in reached:
            reached.add(r)
            if i not in p.book[r]:
                rc = p.cfg["reactions"]
                p.react(i, r, t, texts, block=rc["block"], report=rc["report"],
                        reply=rc["reply"])
        k += 1
        t += int(interval * (1.0 + 0.04 * d.normal()))
        if t > next_session:
            p.session(i, next_session)
            next_session += 6 * HOUR


def _adaptive(p: Platform, team: list[int]) -> None:
    """Evades simple rules: official client, fakes typing, warms up for a day chatting
    within the crew, then spreads moderate volume over waking hours."""
    d = p.dice
    for i in team:
        _register(p, i, p.at(d.between(0.0, 0.15)), official=1.0, old=0.0, verification="sms")
        for j in team:
            if j != i:
                p.add_contact(i, j)
    warmup = int(min(DAY, 0.4 * (p.end - p.start)))
    texts = p.texts.campaign(3)
    for i in team:
        begin = p.live_from[i]
        crew = [x for x in team if x != i] or [p.stranger(i, begin)]
        for _ in range(d.int_between(4, 12)):
            j = d.choice(crew)
            t = p.next_awake(i, max(begin, p.live_from[j]) + int(d.u() * warmup))
            p.message(i, t, peer=j, kind="text", typed=True, size=p.text_size())
            p.message(j, t + int(d.lognormal(MINUTE, 0.8)), peer=i, kind="text",
                      typed=True, size=p.text_size())
        reached: set[int] = set()
        spam_from = begin + warmup
        mean_gap = d.between(2, 5) * MINUTE
        for day in range(-1, p.days):
            for _ in range(d.int_between(3, 5)):
                t = p.day_time(i, day, d.u() * 0.9)
                if t < spam_from <= t + DAY:
                    # the first spam day starts right after the warm-up, not a day later
                    t = p.next_awake(i, spam_from + int(d.u() * 2 * HOUR))
                stop = t + int(d.between(30, 90) * MINUTE)
                while t < stop:
                    if t >= spam_from:
                        _spam(p, i, t, p.stranger(i, t), texts, reached, typed=0.9, link=0.35)
                    t += int(d.exponential(mean_gap)) + 5 * SECOND


def _takeover(p: Platform, i: int) -> None:
    """A real person's account hijacked: a session from a new device, a new network and a
    different client, then scam messages to the owner's contacts."""
    d = p.dice
    # the owner chats as usual (ordinary life, plus one sure chat soon after they wake)
    awake = p.next_awake(i, p.start + 10 * MINUTE) + int(d.u() * HOUR)
    t = max(p.at(d.between(0.3, 0.85)), awake + 3 * HOUR)
    friends = [j for j in p.book_list[i] if j in p.person_set]
    if friends:
        conversation(p, i, d.choice(friends), awake, p.mean_turns[i])
    p.live_until[i] = t   # the owner has lost the account
    p.abuse_from[i] = t
    clients = ("web/2.3000", "android/2.24.2", "ios/24.3", "gbwhatsapp/17.5",
               "android/2.20.1")
    used = {p.client[i], WEB_CLIENT if i in p.web_device else p.client[i]}
    client = d.choice([c for c in clients if c not in used])
    p.session(i, t, ip=p.idents.ip_in(p.idents.fresh_block(datacenter=d.chance(0.5))),
              device=p.idents.device(), client=client)
    texts = p.texts.campaign(2, scam=True)
    rc = p.cfg["reactions"]
    typed = 0.2 if client.startswith("web") else 0.05
    tm = t + int(d.between(2, 10) * MINUTE)
    for r in d.sample(p.book_list[i], len(p.book_list[i])):
        if p.live_from[r] > tm:
            continue
        kind = "link" if d.chance(0.5) else "text"
        p.message(i, tm, peer=r, kind=kind, typed=d.u() < typed,
                  size=len(d.choice(texts).encode()))
        p.react(i, r, tm, texts, block=rc["takeover_block"], report=rc["takeover_report"],
                reply=rc["takeover_reply"], reason="scam")
        tm += int(d.lognormal(20 * SECOND, 0.6))
