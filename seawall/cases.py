"""Operators and their cases: off-platform evidence, correlation, and the eligibility policy.

Companies sell bulk sending as a service. A platform that wants to take one to court ties the
company (the *operator*) to abuse on the platform: accounts whose reported messages carry the
operator's domains, phone numbers or names; other accounts registered from the same
infrastructure; accounts acted on as part of the same campaign. Since 7 December 2019 a
platform may also rely on *off-platform* evidence alone (a company's public claim that it can
send "80,000 messages a day"), when the abuse continued past that date or can be tied to
on-platform evidence from before it (WhatsApp, "Unauthorized use of automated or bulk
messaging on WhatsApp", notice of 2019; ``shared/background.md``).

The data path reads top to bottom:

1. :class:`CaseStore` keeps cases, attached off-platform evidence and correlation results in
   one SQLite file (stdlib ``sqlite3``; the schema is created on first use).
2. :meth:`CaseStore.correlate` streams contract events (and optionally decisions) and stores
   what ties the operator to accounts: ``content`` links (reported messages carrying an
   indicator), ``infrastructure`` links (shared number block, IP block or device at
   registration, stored as keyed hashes only) and ``campaign`` links (``CAMPAIGN...`` reason
   codes in decisions).
3. :meth:`CaseStore.assess` applies :func:`eligibility` to every off-platform item.

``seawall.evidence`` turns an assessed case into a hashed, verifiable evidence file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import click
import msgspec

from seawall.decisions import Decision
from seawall.events import InvalidEvent, Message, Registration, Report, decode_event
from seawall.privacy import ip_block, number_block

__all__ = [
    "DEFAULT_CUTOFF",
    "DEFAULT_DB",
    "DEV_SECRET",
    "EVIDENCE_KINDS",
    "LINK_KINDS",
    "Account",
    "Assessment",
    "Case",
    "CaseError",
    "CaseStore",
    "CorrelationSummary",
    "Eligibility",
    "Evidence",
    "Exhibit",
    "ItemAssessment",
    "cases",
    "eligibility",
    "keyed_hash",
    "parse_date",
    "resolve_secret",
]

DEFAULT_CUTOFF = date(2019, 12, 7)
DEFAULT_DB = "seawall-cases.db"
# A fixed key keeps development runs reproducible; production must set SEAWALL_SECRET.
DEV_SECRET = "seawall-development-secret-not-for-production"
EVIDENCE_KINDS = ("url", "claim", "phone", "domain", "name", "document")
LINK_KINDS = ("content", "campaign", "infrastructure")  # strongest first
ACTIONS_THAT_ACT = ("ban", "restrict", "challenge")  # review and reinstate are not actions taken
DEFAULT_MAX_SHARED = 100
_EXCERPT_CONTEXT = 80
_SCHEMA_VERSION = "1"


class CaseError(ValueError):
    """Bad input to a case operation; the message says what and where."""


# ---------------------------------------------------------------------------------------------
# The eligibility policy


@dataclass(frozen=True)
class Eligibility:
    """Whether one piece of off-platform evidence may be used, and why (stable codes first)."""

    eligible: bool
    reasons: tuple[str, ...]
    detail: str


def eligibility(cutoff: date, linked_first: date | None, abuse_last: date | None) -> Eligibility:
    """Decide whether an off-platform item is usable, from dates of on-platform evidence.

    The rule follows the platform's public notice: off-platform evidence alone counts only
    for abuse that *continued* after the cutoff, or when it *correlates* with on-platform
    evidence from before the cutoff. "Before" is strictly earlier than the cutoff date; the
    cutoff day itself is after.

    ``linked_first``: the earliest on-platform evidence this item correlates with (reports
    carrying its indicator, and the abuse activity of the accounts those reports name), or
    None. ``abuse_last``: the latest abuse activity of any account implicated in the case, or
    None. The date the item itself was captured does not decide: the notice conditions on
    the abuse, not on when the company's claim was recorded.

    ============  ============  ========  ==============================================
    linked_first  abuse_last    eligible  reasons
    ============  ============  ========  ==============================================
    2019-11-20    2019-11-30    yes       CORRELATED_BEFORE_CUTOFF
    2019-11-20    2020-01-10    yes       CORRELATED_BEFORE_CUTOFF, CONTINUED_AFTER_CUTOFF
    2020-01-10    2020-01-10    yes       CONTINUED_AFTER_CUTOFF
    None          2020-01-10    yes       CONTINUED_AFTER_CUTOFF (the item alone)
    None          2019-11-30    no        ENDED_BEFORE_CUTOFF_UNCORRELATED
    None          None          no        NO_ON_PLATFORM_EVIDENCE
    ============  ============  ========  ==============================================

    >>> cut = date(2019, 12, 7)
    >>> eligibility(cut, date(2019, 11, 20), date(2020, 1, 10)).reasons
    ('CORRELATED_BEFORE_CUTOFF', 'CONTINUED_AFTER_CUTOFF')
    >>> eligibility(cut, None, date(2019, 12, 7)).reasons
    ('CONTINUED_AFTER_CUTOFF',)
    >>> e = eligibility(cut, None, date(2019, 11, 30))
    >>> (e.eligible, e.reasons)
    (False, ('ENDED_BEFORE_CUTOFF_UNCORRELATED',))
    """
    reasons: list[str] = []
    details: list[str] = []
    if linked_first is not None and linked_first < cutoff:
        reasons.append("CORRELATED_BEFORE_CUTOFF")
        details.append(f"correlates with on-platform evidence from {linked_first}, "
                       f"before the cutoff {cutoff}")
    if abuse_last is not None and abuse_last >= cutoff:
        reasons.append("CONTINUED_AFTER_CUTOFF")
        details.append(f"abuse by correlated accounts continued until {abuse_last}, "
                       f"after the cutoff {cutoff}")
    if reasons:
        return Eligibility(True, tuple(reasons), "; ".join(details))
    if abuse_last is None:
        return Eligibility(False, ("NO_ON_PLATFORM_EVIDENCE",),
                           "no on-platform abuse is correlated with this case")
    return Eligibility(False, ("ENDED_BEFORE_CUTOFF_UNCORRELATED",),
                       f"abuse by correlated accounts ended {abuse_last}, before the cutoff "
                       f"{cutoff}, and this item does not correlate with on-platform evidence")


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Case:
    id: str
    operator: str
    note: str | None


@dataclass(frozen=True)
class Evidence:
    """One piece of off-platform evidence attached to a case (``ev-001``, ``ev-002``...)."""

    case_id: str
    id: str
    kind: str
    value: str
    date: date | None
    note: str | None
    file_name: str | None
    file_sha256: str | None
    file_size: int | None


@dataclass(frozen=True)
class Account:
    """An account correlated with a case, with its activity (times are event ``ts``, ms)."""

    account: str
    links: tuple[str, ...]
    registered_ts: int | None
    first_ts: int | None
    last_ts: int | None
    messages: int
    first_message_ts: int | None
    last_message_ts: int | None
    reports: int
    first_report_ts: int | None
    last_report_ts: int | None


@dataclass(frozen=True)
class Exhibit:
    """One piece of on-platform evidence (``ex-0001``...).

    kind ``reported_message``: a report (``event``) whose messages carry ``indicator`` of
    off-platform item ``evidence``; ``account`` is the reported account, ``other`` the reporter.
    kind ``shared_infrastructure``: ``account`` registered (``event``) with the same
    ``key_kind`` (number_block, ip_block, device) as the content-linked ``other``.
    kind ``campaign``: ``account`` was decided on in campaign ``campaign``, as was ``other``.
    kind ``decision``: an enforcement decision on ``account`` (``action``, ``stage``...).
    """

    id: str
    kind: str
    ts: int
    account: str
    other: str | None = None
    event: str | None = None
    evidence: str | None = None
    indicator: str | None = None
    excerpt: str | None = None
    report_reason: str | None = None
    key_kind: str | None = None
    key_hash: str | None = None
    campaign: str | None = None
    action: str | None = None
    stage: str | None = None
    reasons: tuple[str, ...] | None = None
    score: float | None = None


@dataclass(frozen=True)
class SourceFile:
    name: str
    sha256: str
    lines: int
    invalid: int


@dataclass(frozen=True)
class CorrelationSummary:
    events: tuple[SourceFile, ...]
    decisions: tuple[SourceFile, ...]
    accounts: dict[str, int]
    exhibits: dict[str, int]
    common_keys_skipped: int
    max_shared: int


@dataclass(frozen=True)
class ItemAssessment:
    evidence: Evidence
    linked_first: date | None
    eligibility: Eligibility


@dataclass(frozen=True)
class Assessment:
    """A case with its correlation results and the eligibility of each off-platform item."""

    case: Case
    cutoff: date
    items: tuple[ItemAssessment, ...]
    accounts: tuple[Account, ...]
    exhibits: tuple[Exhibit, ...]
    summary: CorrelationSummary | None
    implicated: frozenset[str]
    actioned: frozenset[str]
    abuse_first: date | None
    abuse_last: date | None


# ---------------------------------------------------------------------------------------------
# Small parsers and keys


def parse_date(text: str, where: str = "date") -> date:
    """Parse ``YYYY-MM-DD`` strictly; raise :class:`CaseError` naming ``where``."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or ""):
        raise CaseError(f"{where}: {text!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CaseError(f"{where}: {text!r} is not a valid date ({exc})") from None


def resolve_secret(secret: str | None) -> tuple[bytes, bool]:
    """Return the HMAC key and whether it is the development default."""
    if secret:
        return secret.encode(), False
    return DEV_SECRET.encode(), True


def keyed_hash(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts (NUL-separated), hex. Raw values never leave this function."""
    return hmac.new(key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()


def _day(ts: int) -> date:
    return datetime.fromtimestamp(ts / 1000, tz=UTC).date()


def _phone_digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


# ---------------------------------------------------------------------------------------------
# Indicators: what to look for in reported messages


_DOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class _Indicator:
    evidence: str
    label: str  # e.g. "domain:bulk-sender.example", shown in exhibits
    pattern: re.Pattern[str] | None = None
    digits: str | None = None


def _normalise(kind: str, value: str) -> str:
    """Validate and normalise an attached value; raise CaseError with the reason."""
    value = " ".join(value.split())
    if not value:
        raise CaseError(f"--value: empty {kind}")
    if kind == "domain":
        domain = value.lower().rstrip(".")
        if not _DOMAIN_RE.match(domain):
            raise CaseError(f"--value: {value!r} is not a domain name (e.g. bulk-sender.example)")
        return domain
    if kind == "phone":
        digits = _phone_digits(value)
        if not 7 <= len(digits) <= 15 or re.search(r"[^0-9+()\s.\-]", value):
            raise CaseError(f"--value: {value!r} is not a phone number (7..15 digits)")
        return value
    if kind == "url":
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        if parts.scheme.lower() not in ("http", "https") or not _DOMAIN_RE.match(host):
            raise CaseError(f"--value: {value!r} is not an http(s) URL with a host name")
        return value
    if kind == "name" and len(value) < 2:
        raise CaseError(f"--value: name {value!r} is too short to match (2 characters or more)")
    return value


def _indicators(item: Evidence) -> list[_Indicator]:
    """The matchers an off-platform item contributes (claims and documents contribute none)."""
    if item.kind == "domain":
        return [_Indicator(item.id, f"domain:{item.value}", _domain_pattern(item.value))]
    if item.kind == "url":
        parts = urlsplit(item.value)
        host = (parts.hostname or "").lower()
        bare = host.removeprefix("www.")
        path = parts.path.rstrip("/")
        found = []
        if path or parts.query:
            # The URL itself, without scheme, so "bulk-sender.example/pricing" in a message counts.
            tail = path + (f"?{parts.query}" if parts.query else "")
            pattern = r"(?<![\w.-])(?:[\w-]+\.)*" + re.escape(bare + tail) + r"(?![\w])"
            found.append(_Indicator(item.id, f"url:{bare}{tail}",
                                    re.compile(pattern, re.IGNORECASE)))
        found.append(_Indicator(item.id, f"domain:{bare}", _domain_pattern(bare)))
        return found
    if item.kind == "phone":
        digits = _phone_digits(item.value)
        return [_Indicator(item.id, f"phone:+{digits}", digits=digits)]
    if item.kind == "name":
        words = r"\s+".join(re.escape(w) for w in item.value.split())
        pattern = re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)
        return [_Indicator(item.id, f"name:{item.value}", pattern)]
    return []


def _domain_pattern(domain: str) -> re.Pattern[str]:
    # Subdomains match (www.x.example); a longer domain (x.example.com) does not.
    pattern = r"(?<![\w.-])(?:[\w-]+\.)*" + re.escape(domain) + r"(?![\w-]|\.[\w-])"
    return re.compile(pattern, re.IGNORECASE)


_PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+?[0-9][0-9\s().\-]{5,20}[0-9](?![0-9])")


def _match(ind: _Indicator, text: str) -> tuple[int, int] | None:
    """Span of the first occurrence of the indicator in text, or None."""
    if ind.pattern is not None:
        m = ind.pattern.search(text)
        return m.span() if m else None
    assert ind.digits is not None
    for m in _PHONE_IN_TEXT.finditer(text):
        got = _phone_digits(m.group())
        # Equal, or written without the country code / with an international prefix (00...).
        if got == ind.digits or (len(got) >= 8 and (ind.digits.endswith(got)
                                                    or got.endswith(ind.digits))):
            return m.span()
    return None


def _excerpt(text: str, span: tuple[int, int]) -> str:
    start, end = max(0, span[0] - _EXCERPT_CONTEXT), min(len(text), span[1] + _EXCERPT_CONTEXT)
    body = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


# ---------------------------------------------------------------------------------------------
# Reading NDJSON sources


OnInvalid = Callable[[str, str], None]


class _Tally:
    """Provenance of one source file: SHA-256 of its bytes, lines, invalid lines skipped."""

    def __init__(self, path: Path, on_invalid: OnInvalid | None) -> None:
        self.path, self.on_invalid = path, on_invalid
        self.digest = hashlib.sha256()
        self.lines = self.invalid = 0

    def skip(self, number: int, why: str) -> None:
        self.invalid += 1
        if self.on_invalid:
            self.on_invalid(f"{self.path}:{number}", why)

    def source(self) -> SourceFile:
        return SourceFile(self.path.name, self.digest.hexdigest(), self.lines, self.invalid)


def _lines(path: Path, tally: _Tally | None) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if tally:
                tally.digest.update(line)
            if line.strip():
                if tally:
                    tally.lines += 1
                yield number, line


def _read_events(path: Path, tally: _Tally | None = None) -> Iterator[object]:
    for number, line in _lines(path, tally):
        try:
            yield decode_event(line)
        except InvalidEvent as exc:
            if tally:
                tally.skip(number, str(exc))


def _read_decisions(path: Path, tally: _Tally | None = None) -> Iterator[Decision]:
    for number, line in _lines(path, tally):
        try:
            yield Decision.from_json(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            if tally:
                tally.skip(number, f"not a contract decision: {exc}")


# ---------------------------------------------------------------------------------------------
# Correlation


@dataclass
class _Activity:
    registered_ts: int | None = None
    first_ts: int | None = None
    last_ts: int | None = None
    messages: int = 0
    first_message_ts: int | None = None
    last_message_ts: int | None = None
    reports: int = 0
    first_report_ts: int | None = None
    last_report_ts: int | None = None
    seen_reports: set[str] = field(default_factory=set)

    def saw(self, ts: int) -> None:
        self.first_ts, self.last_ts = _min(self.first_ts, ts), _max(self.last_ts, ts)


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)


def _max(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def _registration_keys(ev: Registration, key: bytes) -> list[tuple[str, str]]:
    keys = [("number_block", keyed_hash(key, "number_block", number_block(ev.phone)))]
    if ev.ip:
        keys.append(("ip_block", keyed_hash(key, "ip_block", ip_block(ev.ip))))
    if ev.device:
        keys.append(("device", keyed_hash(key, "device", ev.device)))
    return keys


def _correlate(items: Sequence[Evidence], events: Sequence[Path], decisions: Sequence[Path],
               key: bytes, max_shared: int, tallies: dict[Path, _Tally]
               ) -> tuple[list[Account], list[Exhibit], int]:
    """Two passes over events, two over decisions; sorted so re-running yields the same rows.

    The first read of each file fills its tally (hash, lines, invalid lines).
    """
    indicators = [ind for item in items for ind in _indicators(item)]

    # Pass 1 over events: reported messages carrying indicators; registration key index.
    hits: dict[tuple[str, str], Exhibit] = {}  # (report id or position, evidence id)
    accounts_by_key: dict[tuple[str, str], set[str]] = defaultdict(set)
    keys_by_account: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for fi, path in enumerate(events):
        for pos, ev in enumerate(_read_events(path, tallies[path])):
            if isinstance(ev, Registration):
                for k in _registration_keys(ev, key):
                    accounts_by_key[k].add(ev.account)
                    keys_by_account[ev.account].add(k)
            elif isinstance(ev, Report) and ev.messages and indicators:
                ref = ev.id if ev.id is not None else f"{fi}:{pos}"
                for ind in indicators:
                    if (ref, ind.evidence) in hits:
                        continue
                    for text in ev.messages:
                        span = _match(ind, text)
                        if span:
                            hits[(ref, ind.evidence)] = Exhibit(
                                id="", kind="reported_message", ts=ev.ts, account=ev.peer,
                                other=ev.account, event=ev.id, evidence=ind.evidence,
                                indicator=ind.label, excerpt=_excerpt(text, span),
                                report_reason=ev.reason)
                            break
    content = {h.account for h in hits.values()}

    # Infrastructure: one hop from content-linked accounts; keys shared too widely (a carrier
    # NAT, a university) are skipped: infrastructure alone never sweeps crowds in.
    infra: dict[tuple[str, str, str], str] = {}  # (account, key_kind, other) -> key hash
    for seed in sorted(content):
        for kk, kh in sorted(keys_by_account.get(seed, ())):
            sharers = accounts_by_key[(kk, kh)]
            if len(sharers) > max_shared:
                continue
            for other in sorted(sharers - {seed}):
                infra.setdefault((other, kk, seed), kh)
    skipped = len({k for seed in content for k in keys_by_account.get(seed, ())
                   if len(accounts_by_key[k]) > max_shared})
    linked = content | {a for a, _, _ in infra}
    del accounts_by_key, keys_by_account

    # Pass over decisions: campaigns named by reason codes, then decisions on the accounts.
    # A member is an account acted on (not merely queued for review) with the campaign's code
    # and not reinstated since: an overturned ban must not tie anyone to an operator.
    relevant = []
    for fi, path in enumerate(decisions):
        for pos, d in enumerate(_read_decisions(path, tallies[path])):
            codes = [c for c in d.reasons if c.startswith("CAMPAIGN:")]
            if d.action == "reinstate" or (codes and d.action in ACTIONS_THAT_ACT):
                relevant.append((d.ts, fi, pos, d.account, d.action, codes))
    members: dict[str, dict[str, int]] = defaultdict(dict)  # campaign -> account -> first ts
    for ts, _, _, acct, action, codes in sorted(relevant):
        if action == "reinstate":
            for inside in members.values():
                inside.pop(acct, None)
        for code in codes:
            members[code].setdefault(acct, ts)
    campaign: dict[tuple[str, str], tuple[int, str]] = {}  # (account, code) -> (ts, via)
    for code in sorted(members):
        inside = sorted(linked & members[code].keys())
        if not inside:
            continue
        for acct, ts in sorted(members[code].items()):
            if acct not in linked:
                campaign[(acct, code)] = (ts, inside[0])
    correlated = linked | {a for a, _ in campaign}
    decided: list[Exhibit] = []
    for path in decisions:
        for d in _read_decisions(path, None):
            if d.account in correlated:
                decided.append(Exhibit(id="", kind="decision", ts=d.ts, account=d.account,
                                       event=d.event, action=d.action, stage=d.stage,
                                       reasons=tuple(d.reasons), score=d.score))

    # Pass 2 over events: activity of the correlated accounts; registrations behind links.
    activity: dict[str, _Activity] = {a: _Activity() for a in correlated}
    reg_event: dict[tuple[str, str, str], tuple[int, str | None]] = {}
    wanted = {(a, kk, kh) for (a, kk, _), kh in infra.items()}
    for fi, path in enumerate(events):
        for pos, ev in enumerate(_read_events(path, None)):
            act = activity.get(ev.account)
            if act is not None:
                act.saw(ev.ts)
                if isinstance(ev, Registration):
                    if act.registered_ts is None:
                        act.registered_ts = ev.ts
                    for kk, kh in _registration_keys(ev, key):
                        if (ev.account, kk, kh) in wanted:
                            reg_event.setdefault((ev.account, kk, kh), (ev.ts, ev.id))
                elif isinstance(ev, Message):
                    act.messages += 1
                    act.first_message_ts = _min(act.first_message_ts, ev.ts)
                    act.last_message_ts = _max(act.last_message_ts, ev.ts)
            peer = getattr(ev, "peer", None)
            target = activity.get(peer) if peer is not None else None
            if target is not None:
                target.saw(ev.ts)
                if isinstance(ev, Report):
                    ref = ev.id if ev.id is not None else f"{fi}:{pos}"
                    if ref not in target.seen_reports:
                        target.seen_reports.add(ref)
                        target.reports += 1
                        target.first_report_ts = _min(target.first_report_ts, ev.ts)
                        target.last_report_ts = _max(target.last_report_ts, ev.ts)

    exhibits: list[Exhibit] = list(hits.values())
    for (acct, kk, other), kh in infra.items():
        ts, eid = reg_event.get((acct, kk, kh), (activity[acct].registered_ts or 0, None))
        exhibits.append(Exhibit(id="", kind="shared_infrastructure", ts=ts, account=acct,
                                other=other, event=eid, key_kind=kk, key_hash=kh))
    for (acct, code), (ts, via) in campaign.items():
        exhibits.append(Exhibit(id="", kind="campaign", ts=ts, account=acct, other=via,
                                campaign=code))
    exhibits.extend(decided)
    order = {"reported_message": 0, "shared_infrastructure": 1, "campaign": 2, "decision": 3}
    # Stable: decisions on one account at one instant keep their file order (ban, reinstate).
    exhibits.sort(key=lambda e: (e.ts, order[e.kind], e.account, e.other or "", e.event or "",
                                 e.evidence or "", e.key_kind or "", e.campaign or ""))
    exhibits = [_with_id(e, f"ex-{i:04d}") for i, e in enumerate(exhibits, 1)]

    links: dict[str, set[str]] = defaultdict(set)
    for a in content:
        links[a].add("content")
    for a, _, _ in infra:
        links[a].add("infrastructure")
    for a, _ in campaign:
        links[a].add("campaign")
    accounts = []
    for acct in sorted(correlated):
        act = activity[acct]
        accounts.append(Account(
            acct, tuple(k for k in LINK_KINDS if k in links[acct]), act.registered_ts,
            act.first_ts, act.last_ts, act.messages, act.first_message_ts, act.last_message_ts,
            act.reports, act.first_report_ts, act.last_report_ts))
    return accounts, exhibits, skipped


def _with_id(e: Exhibit, new_id: str) -> Exhibit:
    return Exhibit(**{**e.__dict__, "id": new_id})


# ---------------------------------------------------------------------------------------------
# The store


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, operator TEXT NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS evidence (
    case_id TEXT NOT NULL REFERENCES cases(id), seq INTEGER NOT NULL, id TEXT NOT NULL,
    kind TEXT NOT NULL, value TEXT NOT NULL, date TEXT, note TEXT,
    file_name TEXT, file_sha256 TEXT, file_size INTEGER, file_bytes BLOB,
    PRIMARY KEY (case_id, seq));
CREATE TABLE IF NOT EXISTS correlations (
    case_id TEXT PRIMARY KEY REFERENCES cases(id), summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    case_id TEXT NOT NULL REFERENCES cases(id), account TEXT NOT NULL, links TEXT NOT NULL,
    registered_ts INTEGER, first_ts INTEGER, last_ts INTEGER,
    messages INTEGER NOT NULL, first_message_ts INTEGER, last_message_ts INTEGER,
    reports INTEGER NOT NULL, first_report_ts INTEGER, last_report_ts INTEGER,
    PRIMARY KEY (case_id, account));
CREATE TABLE IF NOT EXISTS exhibits (
    case_id TEXT NOT NULL REFERENCES cases(id), id TEXT NOT NULL, kind TEXT NOT NULL,
    ts INTEGER NOT NULL, account TEXT NOT NULL, other TEXT, event TEXT, evidence TEXT,
    indicator TEXT, excerpt TEXT, report_reason TEXT, key_kind TEXT, key_hash TEXT,
    campaign TEXT, action TEXT, stage TEXT, reasons TEXT, score REAL,
    PRIMARY KEY (case_id, id));
"""

_EXHIBIT_COLUMNS = ("id", "kind", "ts", "account", "other", "event", "evidence", "indicator",
                    "excerpt", "report_reason", "key_kind", "key_hash", "campaign", "action",
                    "stage", "reasons", "score")
_ACCOUNT_COLUMNS = ("account", "links", "registered_ts", "first_ts", "last_ts", "messages",
                    "first_message_ts", "last_message_ts", "reports", "first_report_ts",
                    "last_report_ts")


class CaseStore:
    """Cases, their off-platform evidence and correlation results in one SQLite file.

    The HTTP service points this at its own database file; the CLI uses ``--db``.

    >>> store = CaseStore(":memory:")
    >>> store.open_case("Acme Bulk Ltd").id
    'case-0001'
    >>> store.attach("case-0001", "domain", "Bulk-Sender.example").value
    'bulk-sender.example'
    """

    def __init__(self, path: str | Path = DEFAULT_DB) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (_SCHEMA_VERSION,))
            self._db.commit()
        except sqlite3.Error as exc:
            raise CaseError(f"{self.path}: cannot use as a case database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock before ids are computed, so two writers (the CLI and
        # the HTTP service) never pick the same case-0007.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cases and off-platform evidence --

    def open_case(self, operator: str, note: str | None = None) -> Case:
        """Open a case for an operator; ids are sequential: ``case-0001``, ``case-0002``..."""
        operator = " ".join(operator.split())
        if not operator:
            raise CaseError("--operator: the operator's name is empty")
        with self._write():
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM cases").fetchone()
            case = Case(f"case-{seq:04d}", operator, note)
            self._db.execute("INSERT INTO cases VALUES (?, ?, ?, ?)",
                             (seq, case.id, case.operator, case.note))
        return case

    def cases(self) -> list[Case]:
        rows = self._db.execute("SELECT id, operator, note FROM cases ORDER BY seq")
        return [Case(*row) for row in rows]

    def case(self, case_id: str) -> Case:
        row = self._db.execute("SELECT id, operator, note FROM cases WHERE id = ?",
                               (case_id,)).fetchone()
        if row is None:
            known = ", ".join(c.id for c in self.cases()[-5:]) or "none yet"
            raise CaseError(f"unknown case {case_id!r} in {self.path} (latest: {known})")
        return Case(*row)

    def attach(self, case_id: str, kind: str, value: str, *, date: date | None = None,
               note: str | None = None, file: Path | None = None,
               content: tuple[str, bytes] | None = None) -> Evidence:
        """Attach off-platform evidence; ``file`` (a path) or ``content`` (a file name and
        its bytes, as the service receives them) stores the file's bytes and SHA-256."""
        self.case(case_id)
        if kind not in EVIDENCE_KINDS:
            raise CaseError(f"--kind: {kind!r} is not one of {', '.join(EVIDENCE_KINDS)}")
        value = _normalise(kind, value)
        blob = name = digest = None
        if file is not None:
            try:
                blob = Path(file).read_bytes()
            except OSError as exc:
                raise CaseError(f"--file: cannot read {file}: {exc.strerror}") from None
            name = Path(file).name
        elif content is not None:
            name, blob = content
            if not name or "/" in name or "\\" in name or name in (".", "..") or len(name) > 255:
                raise CaseError(f"file name: {name!r} is not a plain file name")
        if blob is not None:
            digest = hashlib.sha256(blob).hexdigest()
        with self._write():
            (seq,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM evidence WHERE case_id = ?",
                (case_id,)).fetchone()
            item = Evidence(case_id, f"ev-{seq:03d}", kind, value, date, note, name, digest,
                            None if blob is None else len(blob))
            self._db.execute(
                "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_id, seq, item.id, kind, value, date.isoformat() if date else None, note,
                 name, digest, item.file_size, blob))
        return item

    def evidence(self, case_id: str) -> list[Evidence]:
        self.case(case_id)
        rows = self._db.execute(
            "SELECT case_id, id, kind, value, date, note, file_name, file_sha256, file_size "
            "FROM evidence WHERE case_id = ? ORDER BY seq", (case_id,))
        return [Evidence(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]) if r[4] else None,
                         *r[5:]) for r in rows]

    def evidence_file(self, case_id: str, evidence_id: str) -> bytes | None:
        row = self._db.execute("SELECT file_bytes FROM evidence WHERE case_id = ? AND id = ?",
                               (case_id, evidence_id)).fetchone()
        return None if row is None else row[0]

    # -- on-platform correlation --

    def correlate(self, case_id: str, events: Sequence[Path], decisions: Sequence[Path] = (),
                  *, secret: bytes, max_shared: int = DEFAULT_MAX_SHARED,
                  on_invalid: OnInvalid | None = None) -> CorrelationSummary:
        """Correlate the case's indicators with contract events and decisions; replace results.

        Invalid lines are skipped, counted per file and passed to ``on_invalid(where, why)``.
        """
        items = self.evidence(case_id)
        if not events:
            raise CaseError("correlate: give at least one events file (--events)")
        if max_shared < 1:
            raise CaseError(f"--max-shared: must be at least 1, not {max_shared}")
        for path in [*events, *decisions]:
            if not Path(path).is_file():
                why = "is not a file" if Path(path).exists() else "no such file"
                raise CaseError(f"{path}: {why}")
        ev_paths, de_paths = [Path(p) for p in events], [Path(p) for p in decisions]
        tallies = {p: _Tally(p, on_invalid) for p in [*ev_paths, *de_paths]}
        accounts, exhibits, skipped = _correlate(items, ev_paths, de_paths, secret, max_shared,
                                                 tallies)
        ev_sources = tuple(tallies[p].source() for p in ev_paths)
        de_sources = tuple(tallies[p].source() for p in de_paths)
        by_link = {k: sum(1 for a in accounts if k in a.links) for k in LINK_KINDS}
        by_kind: dict[str, int] = defaultdict(int)
        for e in exhibits:
            by_kind[e.kind] += 1
        summary = CorrelationSummary(ev_sources, de_sources, {"total": len(accounts), **by_link},
                                     dict(sorted(by_kind.items())), skipped, max_shared)
        with self._write():
            for table in ("correlations", "accounts", "exhibits"):
                self._db.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))
            self._db.execute("INSERT INTO correlations VALUES (?, ?)",
                             (case_id, json.dumps(_summary_json(summary), sort_keys=True)))
            self._db.executemany(
                f"INSERT INTO accounts VALUES (?{', ?' * len(_ACCOUNT_COLUMNS)})",
                [(case_id, a.account, ",".join(a.links), *_account_row(a)[2:])
                 for a in accounts])
            self._db.executemany(
                f"INSERT INTO exhibits VALUES (?{', ?' * len(_EXHIBIT_COLUMNS)})",
                [(case_id, *_exhibit_row(e)) for e in exhibits])
        return summary

    def correlation(self, case_id: str) -> tuple[CorrelationSummary | None, list[Account],
                                                 list[Exhibit]]:
        self.case(case_id)
        row = self._db.execute("SELECT summary FROM correlations WHERE case_id = ?",
                               (case_id,)).fetchone()
        summary = None if row is None else _summary_from_json(json.loads(row[0]))
        accounts = [
            Account(r[0], tuple(r[1].split(",")) if r[1] else (), *r[2:])
            for r in self._db.execute(
                f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts WHERE case_id = ? "
                "ORDER BY account", (case_id,))]
        exhibits = []
        for r in self._db.execute(f"SELECT {', '.join(_EXHIBIT_COLUMNS)} FROM exhibits "
                                  "WHERE case_id = ? ORDER BY id", (case_id,)):
            values = dict(zip(_EXHIBIT_COLUMNS, r, strict=True))
            if values["reasons"] is not None:
                values["reasons"] = tuple(json.loads(values["reasons"]))
            exhibits.append(Exhibit(**values))
        return summary, accounts, exhibits

    # -- eligibility --

    def assess(self, case_id: str, cutoff: date = DEFAULT_CUTOFF) -> Assessment:
        """The case, its correlation, and :func:`eligibility` of every off-platform item."""
        case = self.case(case_id)
        items = self.evidence(case_id)
        summary, accounts, exhibits = self.correlation(case_id)
        standing = _standing_actions(exhibits)
        actioned = frozenset(standing)
        # Implicated: tied by content or campaign, or acted on. Infrastructure alone is a lead,
        # not abuse: an office sharing a /24 with a spammer has done nothing.
        implicated = frozenset(a.account for a in accounts
                               if {"content", "campaign"} & set(a.links)
                               or a.account in actioned)
        abuse = _abuse_days(accounts, exhibits, standing, implicated)
        days = [d for acct in implicated for d in abuse.get(acct, ())]
        abuse_first, abuse_last = (min(days), max(days)) if days else (None, None)
        content = [e for e in exhibits if e.kind == "reported_message"]
        assessed = []
        for item in items:
            mine = [e for e in content if e.evidence == item.id or item.kind in
                    ("claim", "document")]  # claims speak for the operator, via the whole case
            linked = [_day(e.ts) for e in mine]
            linked += [d for acct in {e.account for e in mine} for d in abuse.get(acct, ())]
            first = min(linked) if linked else None
            assessed.append(ItemAssessment(item, first, eligibility(cutoff, first, abuse_last)))
        return Assessment(case, cutoff, tuple(assessed), tuple(accounts), tuple(exhibits),
                          summary, implicated, actioned, abuse_first, abuse_last)


def _standing_actions(exhibits: Sequence[Exhibit]) -> dict[str, list[Exhibit]]:
    """Ban/restrict/challenge decisions per account that no later ``reinstate`` lifted."""
    standing: dict[str, list[Exhibit]] = {}
    for e in exhibits:  # in time order
        if e.kind == "decision" and e.action == "reinstate":
            standing.pop(e.account, None)
        elif e.kind == "decision" and e.action in ACTIONS_THAT_ACT:
            standing.setdefault(e.account, []).append(e)
    return standing


def _abuse_days(accounts: Sequence[Account], exhibits: Sequence[Exhibit],
                standing: dict[str, list[Exhibit]],
                implicated: frozenset[str]) -> dict[str, list[date]]:
    """Dates of abuse activity per implicated account: its messages, reports, actions."""
    days: dict[str, list[date]] = defaultdict(list)
    for a in accounts:
        if a.account in implicated:
            for ts in (a.first_message_ts, a.last_message_ts, a.first_report_ts,
                       a.last_report_ts):
                if ts is not None:
                    days[a.account].append(_day(ts))
    for e in exhibits:
        if e.account in implicated and e.kind == "reported_message":
            days[e.account].append(_day(e.ts))
    for acct, actions in standing.items():
        if acct in implicated:
            days[acct].extend(_day(e.ts) for e in actions)
    return days


def _account_row(a: Account) -> tuple:
    return (a.account, ",".join(a.links), a.registered_ts, a.first_ts, a.last_ts, a.messages,
            a.first_message_ts, a.last_message_ts, a.reports, a.first_report_ts,
            a.last_report_ts)


def _exhibit_row(e: Exhibit) -> tuple:
    values = dict(e.__dict__)
    if values["reasons"] is not None:
        values["reasons"] = json.dumps(list(values["reasons"]))
    return tuple(values[c] for c in _EXHIBIT_COLUMNS)


def _summary_json(s: CorrelationSummary) -> dict:
    return {"events": [f.__dict__ for f in s.events],
            "decisions": [f.__dict__ for f in s.decisions],
            "accounts": s.accounts, "exhibits": s.exhibits,
            "common_keys_skipped": s.common_keys_skipped, "max_shared": s.max_shared}


def _summary_from_json(d: dict) -> CorrelationSummary:
    return CorrelationSummary(tuple(SourceFile(**f) for f in d["events"]),
                              tuple(SourceFile(**f) for f in d["decisions"]),
                              d["accounts"], d["exhibits"], d["common_keys_skipped"],
                              d["max_shared"])


# ---------------------------------------------------------------------------------------------
# Command line: seawall cases ...


def _db_option(f: Callable) -> Callable:
    return click.option("--db", "db", default=DEFAULT_DB, show_default=True,
                        envvar="SEAWALL_CASES_DB", type=click.Path(dir_okay=False),
                        help="Case database (SQLite); env SEAWALL_CASES_DB.")(f)


def _cutoff_option(f: Callable) -> Callable:
    return click.option("--cutoff", default=DEFAULT_CUTOFF.isoformat(), show_default=True,
                        help="Eligibility cutoff date for off-platform evidence.")(f)


def _secret_option(f: Callable) -> Callable:
    return click.option("--secret", envvar="SEAWALL_SECRET", default=None,
                        help="Key for keyed hashes and pseudonyms (prefer env SEAWALL_SECRET).")(f)


def _store(db: str) -> CaseStore:
    try:
        return CaseStore(db)
    except CaseError as exc:
        raise click.ClickException(str(exc)) from None


def _key(secret: str | None) -> bytes:
    key, dev = resolve_secret(secret)
    if dev:
        click.echo("warning: no --secret or SEAWALL_SECRET given; using the development "
                   "secret (hashes and pseudonyms are guessable)", err=True)
    return key


def _date_arg(text: str | None, where: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text, where)
    except CaseError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[1], param_hint=where) from None


def _fail(exc: CaseError) -> click.ClickException:
    return click.ClickException(str(exc))


def _time(ts: int | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group("cases")
def cases() -> None:
    """Operators and evidence files: open cases, attach off-platform evidence, correlate,
    export and verify (docs/cases.md)."""


@cases.command("open")
@click.option("--operator", required=True, help="The company the case is about.")
@click.option("--note", default=None, help="Free-text note.")
@_db_option
def open_cmd(operator: str, note: str | None, db: str) -> None:
    """Open a case for an operator; prints the case id."""
    with _store(db) as store:
        try:
            click.echo(store.open_case(operator, note).id)
        except CaseError as exc:
            raise _fail(exc) from None


@cases.command("attach")
@click.argument("case_id", metavar="CASE")
@click.option("--kind", required=True, type=click.Choice(EVIDENCE_KINDS))
@click.option("--value", required=True, help="The URL, claim text, phone, domain, name...")
@click.option("--date", "when", default=None, help="When it was published/seen (YYYY-MM-DD).")
@click.option("--note", default=None)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Store this file's bytes and SHA-256 (screenshot, PDF...).")
@_db_option
def attach_cmd(case_id: str, kind: str, value: str, when: str | None, note: str | None,
               file: Path | None, db: str) -> None:
    """Attach off-platform evidence to CASE; prints the evidence id."""
    day = _date_arg(when, "--date")
    with _store(db) as store:
        try:
            item = store.attach(case_id, kind, value, date=day, note=note, file=file)
        except CaseError as exc:
            raise _fail(exc) from None
    suffix = f" sha256={item.file_sha256}" if item.file_sha256 else ""
    click.echo(f"{item.id}{suffix}")


@cases.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per case.")
@_db_option
def list_cmd(as_json: bool, db: str) -> None:
    """List cases."""
    with _store(db) as store:
        for case in store.cases():
            n_items = len(store.evidence(case.id))
            summary, accounts, exhibits = store.correlation(case.id)
            if as_json:
                click.echo(json.dumps({"id": case.id, "operator": case.operator,
                                       "evidence": n_items, "accounts": len(accounts),
                                       "exhibits": len(exhibits),
                                       "correlated": summary is not None}, sort_keys=True))
            else:
                state = "correlated" if summary else "not correlated"
                click.echo(f"{case.id}  {case.operator}  evidence={n_items} "
                           f"accounts={len(accounts)} exhibits={len(exhibits)}  {state}")


@cases.command("show")
@click.argument("case_id", metavar="CASE")
@_cutoff_option
@_db_option
def show_cmd(case_id: str, cutoff: str, db: str) -> None:
    """Show a case: evidence with eligibility, correlated accounts and exhibit counts.

    Real account ids are shown: this is the investigator's own database.
    """
    cut = _date_arg(cutoff, "--cutoff")
    with _store(db) as store:
        try:
            a = store.assess(case_id, cut)
        except CaseError as exc:
            raise _fail(exc) from None
    click.echo(f"{a.case.id}  operator: {a.case.operator}")
    if a.case.note:
        click.echo(f"note: {a.case.note}")
    click.echo(f"off-platform evidence (cutoff {a.cutoff}):")
    for it in a.items:
        e = it.evidence
        verdict = "eligible" if it.eligibility.eligible else "INELIGIBLE"
        click.echo(f"  {e.id}  {e.kind:<8} {e.value}  date={e.date or '-'}  {verdict} "
                   f"[{', '.join(it.eligibility.reasons)}]")
        if e.file_name:
            click.echo(f"          file {e.file_name} ({e.file_size} bytes) sha256={e.file_sha256}")
    if a.summary is None:
        click.echo("not correlated yet: run `seawall cases correlate`")
        return
    acc = a.summary.accounts
    click.echo(f"accounts: {acc['total']} (content {acc['content']}, campaign "
               f"{acc['campaign']}, infrastructure {acc['infrastructure']}); implicated "
               f"{len(a.implicated)}, actioned {len(a.actioned)}")
    click.echo(f"abuse activity: {a.abuse_first or '-'} .. {a.abuse_last or '-'}")
    for acct in a.accounts:
        click.echo(f"  {acct.account}  {'+'.join(acct.links)}  messages={acct.messages} "
                   f"reports={acct.reports} seen {_time(acct.first_ts)} .. {_time(acct.last_ts)}")
    kinds = ", ".join(f"{k} {n}" for k, n in a.summary.exhibits.items()) or "none"
    click.echo(f"exhibits: {len(a.exhibits)} ({kinds})")


@cases.command("correlate")
@click.argument("case_id", metavar="CASE")
@click.argument("more_events", nargs=-1, type=click.Path(path_type=Path), metavar="[E2 ...]")
@click.option("--events", "events", multiple=True, type=click.Path(path_type=Path),
              help="Contract events (NDJSON); repeat or list more after it.")
@click.option("--decisions", "decisions", multiple=True, type=click.Path(path_type=Path),
              help="Contract decisions (NDJSON); repeatable.")
@click.option("--max-shared", default=DEFAULT_MAX_SHARED, show_default=True,
              help="Ignore a number block, IP block or device shared by more accounts.")
@_secret_option
@_cutoff_option
@_db_option
def correlate_cmd(case_id: str, more_events: tuple[Path, ...], events: tuple[Path, ...],
                  decisions: tuple[Path, ...], max_shared: int, secret: str | None,
                  cutoff: str, db: str) -> None:
    """Correlate CASE with on-platform events and decisions (replaces earlier results)."""
    cut = _date_arg(cutoff, "--cutoff")
    key = _key(secret)
    shown = 0

    def on_invalid(where: str, why: str) -> None:
        nonlocal shown
        shown += 1
        if shown <= 10:
            click.echo(f"warning: {where}: skipped: {why}", err=True)

    with _store(db) as store:
        try:
            s = store.correlate(case_id, [*events, *more_events], decisions, secret=key,
                                max_shared=max_shared, on_invalid=on_invalid)
            a = store.assess(case_id, cut)
        except CaseError as exc:
            raise _fail(exc) from None
    if shown > 10:
        click.echo(f"warning: {shown - 10} more invalid lines skipped", err=True)
    for src in (*s.events, *s.decisions):
        click.echo(f"read {src.name}: {src.lines} lines, {src.invalid} invalid skipped")
    acc = s.accounts
    click.echo(f"{case_id}: {acc['total']} accounts (content {acc['content']}, campaign "
               f"{acc['campaign']}, infrastructure {acc['infrastructure']}), "
               f"{sum(s.exhibits.values())} exhibits")
    if s.common_keys_skipped:
        click.echo(f"{s.common_keys_skipped} registration keys shared by more than "
                   f"{s.max_shared} accounts were not followed")
    ok = sum(1 for it in a.items if it.eligibility.eligible)
    click.echo(f"eligible off-platform evidence: {ok} of {len(a.items)} (cutoff {a.cutoff})")


@cases.command("export")
@click.argument("case_id", metavar="CASE")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the evidence file into (must be empty or new).")
@click.option("--role", type=click.Choice(("investigator", "legal")), default="investigator",
              show_default=True, help="legal sees real account ids; others see pseudonyms.")
@_secret_option
@_cutoff_option
@_db_option
def export_cmd(case_id: str, out: Path, role: str, secret: str | None, cutoff: str,
               db: str) -> None:
    """Write CASE's evidence file (evidence.json, report.html, exhibits/, manifest.json)."""
    from seawall.evidence import EvidenceError, export_evidence  # evidence imports this module

    cut = _date_arg(cutoff, "--cutoff")
    key = _key(secret)
    with _store(db) as store:
        try:
            result = export_evidence(store, case_id, out, role=role, secret=key, cutoff=cut)
        except (CaseError, EvidenceError) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {len(result.files)} files to {out}")
    click.echo(f"manifest sha256 {result.manifest_sha256}")


@cases.command("verify")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--expect", default=None, help="The manifest SHA-256 recorded at export time.")
def verify_cmd(directory: Path, expect: str | None) -> None:
    """Check every file of an evidence file against its manifest; exit 1 on any mismatch."""
    from seawall.evidence import verify_evidence  # evidence imports this module

    result = verify_evidence(directory, expect=expect)
    if result.ok:
        click.echo(f"OK: {result.checked} files match; manifest sha256 {result.manifest_sha256}")
        return
    for problem in result.problems:
        click.echo(f"FAILED: {problem}", err=True)
    sys.exit(1)
