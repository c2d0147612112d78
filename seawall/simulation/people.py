"""Ordinary people and the innocent hard cases.

A private messenger is for people who know each other (``shared/background.md``: ~90% of
messages are one-to-one, most groups have fewer than 10 members). People here live in
communities with a country and time zone; address books are mostly mutual; a conversation
is a burst of back-and-forth, typed, answered within minutes, during waking hours (sleep
7-8 h). The hard cases are innocents whose metadata looks like an abuser's stereotype: a
person announcing a new number to dozens of friends who do not have it, group organisers,
businesses, a company NAT with sequential SIMs, a family on one device, and a person
falsely mass-reported by a brigade of new accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seawall.simulation.dice import Dice
from seawall.simulation.identity import OLD_CLIENTS, WEB_CLIENT, Country
from seawall.simulation.platform import (
    BRIGADE_SIZE,
    BRIGADE_VICTIMS,
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    Platform,
)

__all__ = ["Cast", "conversation", "hard_cases", "ordinary_life", "populate"]

# Person archetypes: accounts with an ordinary social life (a takeover is one until hijacked).
_PERSON_KINDS = ("heavy_chatter", "organiser", "mass_reported_innocent", "takeover")


@dataclass
class Cast:
    """The innocent hard cases, as account numbers, for :func:`hard_cases`."""

    announcers: list[tuple[int, int]] = field(default_factory=list)  # (new account, old)
    organisers: list[int] = field(default_factory=list)
    businesses: list[int] = field(default_factory=list)
    notifiers: list[int] = field(default_factory=list)
    victims: list[int] = field(default_factory=list)
    brigades: list[list[int]] = field(default_factory=list)
    offices: list[tuple[list[int], Country]] = field(default_factory=list)
    families: list[list[int]] = field(default_factory=list)
    newcomers: list[int] = field(default_factory=list)


# -- population ---------------------------------------------------------------------------
def populate(p: Platform, counts: dict[str, int]) -> Cast:
    """Create every person-like account, their communities, address books and groups."""
    d = p.dice
    cast = Cast()
    people_cfg = p.cfg["people"]
    singles = ["ordinary"] * counts["ordinary"]
    for kind in _PERSON_KINDS:
        singles += [kind] * counts[kind]
    units: list[list[str]] = [[k] for k in singles]
    for size in d.partition(counts["shared_device_family"], 2, 3):
        units.append(["shared_device_family"] * size)
    order = p.rng.permutation(len(units)).tolist()
    units = [units[k] for k in order]

    # communities of friends, each in one country
    pos = 0
    while pos < len(units):
        size = int(min(max(d.lognormal(40, 0.5), 8), 200))
        country = p.idents.country()
        members: list[int] = []
        for unit in units[pos: pos + size]:
            family = []
            for kind in unit:
                family.append(_person(p, kind, country))
            if len(family) > 1:
                cast.families.append(family)
                for a in family:
                    for b in family:
                        p.add_contact(a, b)
            members += family
        pos += size
        _community(p, members)
    for size in d.partition(counts["office_worker"], 8, 30):
        country = p.idents.country()
        office = [_person(p, "office_worker", country) for _ in range(size)]
        _community(p, office, coworkers=True)
        cast.offices.append((office, country))

    by_kind: dict[str, list[int]] = {}
    for i in p.persons:
        by_kind.setdefault(p.archetype[i], []).append(i)
    cast.organisers = by_kind.get("organiser", [])
    for i in cast.organisers:
        # organisers (a club, a class, a congregation) know many people
        while len(p.book[i]) < 60:
            j = _pick_friend(p, i)
            p.add_contact(i, j)
            p.add_contact(j, i)
    cast.victims = by_kind.get("mass_reported_innocent", [])
    for i in by_kind.get("heavy_chatter", []):
        p.conv_rate[i] *= d.between(4.0, 7.0)
        p.mean_turns[i] = 7.0
        for _ in range(int(len(p.book[i]) * 0.7)):
            j = _pick_friend(p, i)
            p.add_contact(i, j)
            p.add_contact(j, i)

    # each announcer retires one ordinary person's old number
    plain = [i for i in by_kind.get("ordinary", []) if p.live_from[i] == p.start]
    olds = d.sample(plain, counts["new_number_announcer"])
    for old in olds:
        while len(p.book[old]) < 45:
            j = _pick_friend(p, old)
            p.add_contact(old, j)
            p.add_contact(j, old)
        new = p.new_account("new_number_announcer", p.country[old])
        p.tz[new], p.wake[new], p.awake_ms[new] = p.tz[old], p.wake[old], p.awake_ms[old]
        p.comm_of[new] = p.comm_of[old]
        cast.announcers.append((new, old))
    taken = set(olds)
    cast.newcomers = [i for i in plain if i not in taken
                      and d.chance(people_cfg["registered_share"])]

    for _ in range(counts["small_business"]):
        b = p.new_account("small_business")
        # opening hours 8:30-19:30 local, answered by a person
        p.wake[b], p.awake_ms[b] = int(8.5 * HOUR), 11 * HOUR
        cast.businesses.append(b)
    for _ in range(counts["business_notifier"]):
        n = p.new_account("business_notifier")
        p.wake[n], p.awake_ms[n] = 8 * HOUR, 14 * HOUR
        p.client[n] = "business_api"
        p.ip[n] = p.idents.ip_in(p.idents.fresh_block(datacenter=True))
        cast.notifiers.append(n)
    for _ in range(counts["report_brigade"] // BRIGADE_SIZE):
        cast.brigades.append([p.new_account("report_brigade") for _ in range(BRIGADE_SIZE)])
    _friend_groups(p)
    return cast


def _person(p: Platform, kind: str, country: Country) -> int:
    d = p.dice
    i = p.new_account(kind, country)
    # Ordinary people are not all tidy: some never update the app, some use a modded one
    # (popular in several countries), some sit behind a VPN, some also use the web client.
    cfg = p.cfg["people"]
    u = d.u()
    if u < cfg["old_client_share"]:
        p.client[i] = d.choice(OLD_CLIENTS)
    elif u < cfg["old_client_share"] + cfg["modded_client_share"]:
        p.client[i] = d.choice(("gbwhatsapp/17.5", "fmwhatsapp/9.8"))
    if d.chance(cfg["vpn_share"]):
        p.ip[i] = p.idents.ip_in(p.idents.fresh_block(datacenter=True))
    if d.chance(cfg["web_share"]):
        p.web_device[i] = p.idents.device()
    p.persons.append(i)
    p.person_set.add(i)
    p.conv_rate[i] = d.lognormal(cfg["conversations_per_day"], 0.6)
    p.mean_turns[i] = 4.0
    return i


def _community(p: Platform, members: list[int], coworkers: bool = False) -> None:
    """Join ``members`` into one community and draw their address books (mostly mutual)."""
    d = p.dice
    cid = len(p.communities)
    p.communities.append(members)
    for i in members:
        p.comm_of[i] = cid
    cfg = p.cfg["people"]
    inside = 0.6 if coworkers else 0.85
    for i in members:
        # each person starts half their links; the other half arrive from others' choices
        links = int(min(max(d.lognormal(cfg["contacts_median"], 0.6), 3), 150)) // 2 + 1
        for _ in range(links):
            if d.u() < inside and len(members) > 1:
                j = d.choice(members)
            else:
                j = d.choice(p.persons)
            if j == i:
                continue
            p.add_contact(i, j)
            if d.u() < cfg["mutual_contacts"]:
                p.add_contact(j, i)


def _pick_friend(p: Platform, i: int) -> int:
    """Someone from ``i``'s community, now and then from anywhere."""
    members = p.communities[p.comm_of[i]]
    for _ in range(50):
        j = p.dice.choice(members) if p.dice.chance(0.8) else p.dice.choice(p.persons)
        if j != i:
            return j
    return p.persons[0] if p.persons[0] != i else p.persons[-1]


def _friend_groups(p: Platform) -> None:
    """Pre-existing groups among friends: mostly fewer than 10 members."""
    d = p.dice
    n_groups = int(len(p.persons) * p.cfg["people"]["group_share"])
    for _ in range(n_groups):
        seed = d.choice(p.persons)
        friends = p.book_list[seed]
        if len(friends) < 2:
            continue
        size = d.int_between(2, 8) if d.chance(0.92) else d.int_between(9, 40)
        members = [seed] + d.sample(friends, size)
        _add_group(p, p.new_group(), members,
                   d.lognormal(p.cfg["people"]["group_bursts_per_day"], 0.7))


def _add_group(p: Platform, g: str, members: list[int], rate: float, since: int = 0) -> None:
    p.groups.append((g, members, rate, since))
    for m in members:
        p.member_groups.setdefault(m, []).append(g)


# -- conversations ------------------------------------------------------------------------
def _content(d: Dice, typed_share: float) -> tuple[str, bool, int, int]:
    """(kind, typed, size, forwarded) of one human message."""
    u = d.u()
    fwd = 0
    if u < 0.80:
        return "text", d.u() < typed_share, max(2, int(d.lognormal(60, 0.8))), 0
    if u < 0.89:
        kind, typed, size = "media", False, int(d.lognormal(180_000, 1.0))
    elif u < 0.95:
        kind, typed, size = "voice", False, int(d.lognormal(40_000, 0.8))
    elif u < 0.99:
        kind, typed, size = "link", d.u() < 0.7, int(d.lognormal(120, 0.4))
    else:
        kind, typed, size = "other", False, int(d.lognormal(2_000, 1.0))
    if d.u() < 0.12:
        fwd = 1 + d.below(4) if d.u() < 0.9 else 5 + d.below(20)
    return kind, typed, size, fwd


def conversation(p: Platform, a: int, b: int, t: int, mean_turns: float = 4.0) -> int:
    """A back-and-forth between ``a`` (who starts at ``t``) and ``b``; returns its end.

    Each turn is 1-3 quick messages; the other side answers within a minute or two, now and
    then much later; someone who is asleep answers after waking and the talk ends there.
    """
    d = p.dice
    typed_share = p.cfg["people"]["typed_share"]
    turns = 1 + int(d.exponential(max(mean_turns - 1.0, 0.1)))
    s, r = a, b
    for turn in range(turns):
        if not (p.alive(s, t) and p.alive(r, t)):
            return t
        u = d.u()
        burst = 1 if u < 0.55 else 2 if u < 0.83 else 3 if u < 0.95 else 4 + d.below(3)
        for _ in range(burst):
            kind, typed, size, fwd = _content(d, typed_share)
            p.message(s, t, peer=r, kind=kind, typed=typed, size=size, forwarded=fwd)
            t += int(d.lognormal(12 * SECOND, 0.7)) + 300
        if turn == turns - 1:
            break
        delay = d.lognormal(70 * SECOND, 1.0) if d.u() < 0.88 else d.lognormal(25 * MINUTE, 1.0)
        t += int(delay)
        s, r = r, s
        if not p.is_awake(s, t):
            t = p.next_awake(s, t) + int(d.lognormal(15 * MINUTE, 1.0))
            turns = turn + 2   # the sleepy side answers once; the talk ends there
    return t


def _group_burst(p: Platform, g: str, members: list[int], t: int) -> None:
    d = p.dice
    typed_share = p.cfg["people"]["typed_share"]
    for _ in range(2 + int(d.exponential(4.0))):
        s = d.choice(members)
        if p.alive(s, t) and p.is_awake(s, t):
            kind, typed, size, fwd = _content(d, typed_share)
            p.message(s, t, group=g, kind=kind, typed=typed, size=size, forwarded=fwd)
        t += int(d.lognormal(40 * SECOND, 1.0)) + 500


# -- ordinary life -----------------------------------------------------------------------
def ordinary_life(p: Platform) -> None:
    """Every person's days: conversations, group chat, sessions, the odd block or report."""
    d = p.dice
    cfg = p.cfg["people"]
    persons = p.persons
    rates = np.array([p.conv_rate[i] for i in persons])
    group_rates = np.array([g[2] for g in p.groups]) if p.groups else np.zeros(0)
    stranger_share = cfg["stranger_conversations"]
    for day in range(-1, p.days):
        counts = p.rng.poisson(rates).tolist()
        for k, n in enumerate(counts):
            if not n:
                continue
            i = persons[k]
            book = p.book_list[i]
            for _ in range(n):
                # people chat a little more in the evening
                t = p.day_time(i, day, d.u() ** 0.85)
                if not p.alive(i, t):
                    continue
                if (d.u() < stranger_share and i not in p.no_strangers) or not book:
                    b = _pick_friend(p, i)   # someone met through friends, not saved yet
                    if b == i:
                        continue   # a platform of one
                else:
                    b = d.choice(book)
                    if b not in p.person_set:
                        continue   # a saved business or bot: no chat from ordinary life
                conversation(p, i, b, t, p.mean_turns[i])
        bursts = p.rng.poisson(group_rates).tolist()
        for (g, members, _, since), n in zip(p.groups, bursts, strict=True):
            for _ in range(n):
                t = p.day_time(d.choice(members), day, d.u())
                if t > since:
                    _group_burst(p, g, members, t)
        session = (p.rng.random(len(persons)) < cfg["sessions_per_day"]).tolist()
        block = (p.rng.random(len(persons)) < cfg["block_rate"]).tolist()
        report = (p.rng.random(len(persons)) < cfg["report_rate"]).tolist()
        for k, i in enumerate(persons):
            if session[k]:
                t = p.day_time(i, day, d.u())
                if p.alive(i, t):
                    if i in p.web_device and d.chance(0.3):
                        # the person's laptop, linked as a web client, at home
                        p.session(i, t, device=p.web_device[i], client=WEB_CLIENT)
                        continue
                    mobile = d.chance(0.35) and ":" not in p.ip[i]
                    ip = p.idents.carrier_ip(p.country[i]) if mobile else p.ip[i]
                    p.session(i, t, ip=ip)
            if (block[k] or report[k]) and p.book_list[i]:
                t = p.day_time(i, day, d.u())
                j = d.choice(p.book_list[i])
                if p.alive(i, t) and p.live_from[j] <= t and j in p.person_set:
                    if report[k]:
                        said = p.texts.chat(1 + d.below(2)) if d.chance(0.6) else None
                        p.report(i, t, j, reason=d.choice(("abuse", "other", "spam")),
                                 messages=said)
                    if block[k] or d.chance(0.5):
                        p.block(i, t + int(d.lognormal(5 * SECOND, 0.5)), j)


# -- innocent hard cases ------------------------------------------------------------------
def hard_cases(p: Platform, cast: Cast) -> None:
    """Registrations and the special behaviour of every innocent hard case."""
    # people who register during the window first: later behaviour must know who exists
    for i in cast.newcomers:
        _newcomer(p, i)
    for office, country in cast.offices:
        _office(p, office, country)
    for family in cast.families:
        _family_device(p, family)
    for new, old in cast.announcers:
        _announce_new_number(p, new, old)
    for i in cast.organisers:
        _organise(p, i)
    for b in cast.businesses:
        _small_business(p, b)
    for n in cast.notifiers:
        _notify_customers(p, n)
    for k, brigade in enumerate(cast.brigades):
        victims = cast.victims[k * BRIGADE_VICTIMS:(k + 1) * BRIGADE_VICTIMS]
        _mass_report(p, brigade, victims)


def _newcomer(p: Platform, i: int) -> None:
    """An ordinary person joining the platform mid-simulation; friends have the number."""
    t = p.moment(i, 0.02, 0.9)
    p.live_from[i] = t + 5 * SECOND
    # "none": moved from a trusted old device without a code (rare, but not only abusers)
    verification = p.dice.weighted(("sms", "voice", "none"), (0.88, 0.1, 0.02))
    p.registration(i, t, phone=p.idents.phone(p.country[i]), ip=p.ip[i], device=p.device[i],
                   client=p.client[i], verification=verification)


def _announce_new_number(p: Platform, new: int, old: int) -> None:
    """A person with a new number tells 30-60 friends, who do not have it yet."""
    d = p.dice
    t = p.moment(old, 0.05, 0.6)
    p.live_until[old] = t
    p.ip[new], p.client[new] = p.ip[old], p.client[old]
    if d.chance(0.5):
        p.device[new] = p.device[old]   # same phone, new SIM
    p.registration(new, t, phone=p.idents.phone(p.country[new]), ip=p.ip[new],
                   device=p.device[new], client=p.client[new])
    for j in p.book_list[old]:
        p.add_contact(new, j)   # the address book comes along
    t += int(d.between(2, 15) * MINUTE)
    joined = [r for r in p.book_list[old] if p.live_from[r] <= t]
    for r in d.sample(joined, d.int_between(30, 60)):
        p.message(new, t, peer=r, kind="text", typed=d.chance(0.85), size=p.text_size())
        if d.chance(0.8):
            tr = p.next_awake(r, t + int(d.lognormal(5 * MINUTE, 1.4)))
            if p.alive(r, tr):
                p.message(r, tr, peer=new, kind="text", typed=True, size=p.text_size())
                if d.chance(0.4):
                    p.message(new, tr + int(d.lognormal(90 * SECOND, 0.8)), peer=r,
                              kind="text", typed=True, size=p.text_size())
            p.add_contact(r, new)
        elif d.chance(0.4):
            p.add_contact(r, new)
        t += int(d.lognormal(25 * SECOND, 0.6))
    p.live_from[new] = t + 30 * MINUTE
    p.persons.append(new)
    p.person_set.add(new)
    p.conv_rate[new] = p.conv_rate[old]
    p.mean_turns[new] = p.mean_turns[old]


def _organise(p: Platform, o: int) -> None:
    """Creates a few groups and adds many people, mostly from the address book."""
    d = p.dice
    community = p.communities[p.comm_of[o]]
    for _ in range(d.int_between(2, 5)):
        t = p.moment(o, 0.03, 0.9)
        g = p.new_group()
        p.group_create(o, t, g)
        size = min(d.int_between(15, 80), int(len(p.book_list[o]) / 0.85))
        known = d.sample(p.book_list[o], int(size * 0.85))
        # a few friends of friends the organiser has not saved
        others = [j for j in d.sample(community, size - len(known) + 5)
                  if j != o and j not in p.book[o]][: size - len(known)]
        members = [m for m in known + others if p.live_from[m] <= t and m in p.person_set]
        t += 2 * SECOND
        for m in members:
            # a person picks everyone in one dialog; the adds land within a second or two
            t += int(d.lognormal(40, 0.5))
            p.group_add(o, t, g, m)
        # the organiser's announcement
        p.message(o, t + int(d.lognormal(MINUTE, 0.8)), group=g, kind="text", typed=True,
                  size=p.text_size())
        stay = [o]
        for m in members:
            if d.chance(0.06):
                p.group_leave(m, p.next_awake(m, t + int(d.lognormal(3 * HOUR, 1.0))), g)
            else:
                stay.append(m)
        # the group then chats like any friend group (those who left stay quiet)
        _add_group(p, g, stay, d.lognormal(2.0, 0.5), since=t + 5 * MINUTE)


def _small_business(p: Platform, b: int) -> None:
    """A shop answering customers who write first, during opening hours."""
    d = p.dice
    regulars: list[int] = []
    country_people = [i for i in p.persons if p.country[i] == p.country[b]]
    if len(country_people) < 200:
        country_people = p.persons   # a small simulation: customers from anywhere
    for day in range(-1, p.days):
        if p.weekday(day) == 6:
            continue   # closed on Sundays
        for _ in range(int(d.lognormal(35, 0.3))):
            if regulars and d.chance(0.3):
                c = d.choice(regulars)
            else:
                c = d.choice(country_people)
            t = p.day_time(b, day, d.u() * 0.9)
            if not p.alive(c, t):
                continue
            if d.chance(0.7):
                p.add_contact(c, b)
            conversation(p, c, b, t, mean_turns=d.between(2.0, 5.0))
            if d.chance(0.3):
                p.add_contact(b, c)
                regulars.append(c)
        p.session(b, p.day_time(b, day, 0.01))


def _notify_customers(p: Platform, n: int) -> None:
    """A business on the business platform: templated messages to opted-in customers
    (who saved the number), at most ~250 unique recipients a day (the starting tier)."""
    d = p.dice
    t = p.at(d.between(0.0, 0.08))
    p.live_from[n] = t
    p.registration(n, t, phone=p.idents.phone(p.country[n]), ip=p.ip[n], device=p.device[n],
                   client="business_api", verification="sms", business=True)
    customers = d.sample(p.persons, min(len(p.persons), d.int_between(400, 3000)))
    for c in customers:
        if d.chance(0.92):
            p.add_contact(c, n)
    texts = p.texts.notifications()
    for day in range(p.days):
        # one tier period per 24 h since registration; sends mostly in local daytime
        period = t + day * DAY
        recipients = d.sample(customers, min(len(customers), d.int_between(150, 240)))
        times = []
        for _ in recipients:
            for _ in range(5):
                tm = period + 1 + int(d.u() * (DAY - 2))
                if p.is_awake(n, tm):
                    break
            times.append(tm)
        times.sort()
        for c, tm in zip(recipients, times, strict=True):
            if p.live_from[c] > tm:
                continue
            kind = "link" if d.chance(0.3) else "text"
            p.message(n, tm, peer=c, kind=kind, typed=False, size=int(d.lognormal(300, 0.3)))
            if n in p.book[c]:
                p.react(n, c, tm, texts, block=0.005, report=0.002, reply=0.06)
            else:
                p.react(n, c, tm, texts, block=0.03, report=0.01, reply=0.03)


def _office(p: Platform, office: list[int], country: Country) -> None:
    """A company: one NAT /24 for everyone at work, SIMs bought in sequence, and a batch of
    new employees registered the same morning from the office network."""
    d = p.dice
    block = p.idents.fresh_block()
    nat = [p.idents.ip_in(block) for _ in range(2)]
    numbers = p.idents.number_block(country)
    last = d.below(600)
    hires = [i for i in office if d.chance(0.45)]
    if len(hires) < 2:
        hires = office[:2]
    boss = office[0]
    day = d.below(p.days)
    t = p.day_time(boss, day, d.between(0.12, 0.2))
    for i in hires:
        t += int(d.lognormal(4 * MINUTE, 0.7))
        last += 1 + d.below(2)   # consecutive SIMs, now and then one skipped
        p.wake[i], p.tz[i] = p.wake[boss], p.tz[boss]
        p.registration(i, t, phone=p.idents.in_block(numbers, last),
                       ip=d.choice(nat), device=p.device[i], client=p.client[i],
                       verification="sms")
        p.live_from[i] = t + 10 * SECOND
    _add_group(p, p.new_group(), list(office), d.lognormal(2.5, 0.4))
    for dd in range(p.days):
        if p.weekday(dd) >= 5:
            continue   # weekend
        for i in office:
            # arriving, after lunch, late afternoon: the phone reconnects on office Wi-Fi
            for lo, hi in ((8.3, 10.0), (12.5, 14.0), (15.0, 17.0)):
                tm = p.start + dd * DAY - p.tz[i] + int(d.between(lo, hi) * HOUR)
                if d.chance(0.6) and p.alive(i, tm):
                    p.session(i, tm, ip=d.choice(nat))


def _family_device(p: Platform, family: list[int]) -> None:
    """Two or three family members registering accounts on one shared device."""
    d = p.dice
    head = family[0]
    device = p.device[head]
    t = p.moment(head, 0.0, 0.5)
    for i in family:
        p.device[i], p.ip[i], p.client[i] = device, p.ip[head], p.client[head]
        p.registration(i, t, phone=p.idents.phone(p.country[i]), ip=p.ip[i], device=device,
                       client=p.client[i], verification="sms")
        p.live_from[i] = t + 10 * SECOND
        t = min(t + int(d.lognormal(40 * MINUTE, 1.2)), p.end - 10 * MINUTE)


def _mass_report(p: Platform, brigade: list[int], victims: list[int]) -> None:
    """A brigade of fresh accounts (with a few bystanders) falsely reports innocents: ~50
    reporters within an hour who never received anything from the victim."""
    d = p.dice
    attacks = sorted(p.at(d.between(0.35, 0.95)) for _ in victims)
    if not attacks:
        return
    first = attacks[0]
    vpn = [p.idents.fresh_block(datacenter=True) for _ in range(2)]
    for i in brigade:
        t = p.start + int(d.u() * max(first - 20 * MINUTE - p.start, MINUTE))
        ip = p.idents.ip_in(d.choice(vpn)) if d.chance(0.3) else p.ip[i]
        p.registration(i, t, phone=p.idents.phone(p.country[i]), ip=ip, device=p.device[i],
                       client=p.client[i], verification="sms")
        p.live_from[i] = t
    ordinary = [i for i in p.persons if p.archetype[i] == "ordinary"]
    for victim, t0 in zip(victims, attacks, strict=True):
        # neither side may start a chat with a stranger, so the victim never writes to them
        p.no_strangers.add(victim)
        groups = set(p.member_groups.get(victim, ()))
        reporters = d.sample(brigade, d.int_between(34, 42))
        bystanders: list[int] = []
        for _ in range(200):
            if len(bystanders) >= d.int_between(6, 14):
                break
            j = d.choice(ordinary)
            if (p.comm_of.get(j) != p.comm_of.get(victim) and victim not in p.book[j]
                    and j not in p.book[victim] and j not in bystanders
                    and not groups.intersection(p.member_groups.get(j, ()))
                    and p.alive(j, t0 + HOUR)):
                bystanders.append(j)
                p.no_strangers.add(j)
        for r in reporters + bystanders:
            t = t0 + int(d.u() * 55 * MINUTE)
            p.report(r, t, victim, reason=d.choice(("spam", "spam", "abuse", "scam")))
            if d.chance(0.2):
                p.block(r, t + int(d.lognormal(3 * SECOND, 0.5)), victim)
