"""Near-duplicate fingerprints of reported messages, and the indicators written in them.

A spam campaign sends the same text, lightly varied, from many accounts. When reports
against different accounts carry near-identical messages, or the same link or phone number,
those accounts are likely one operation (coordinated behaviour, ``shared/background.md``).
:func:`fingerprint` turns a report's messages into a MinHash signature of character
5-gram shingles of the normalised text (Broder, "On the resemblance and containment of
documents", 1997) and the indicators it names; :class:`ReportTextIndex` keeps recent
fingerprints in a MinHash LSH index (Indyk and Motwani 1998; the ``datasketch`` library) and
tells, for each new report, which other reported accounts it links to and how.

>>> index = ReportTextIndex()
>>> spam = "Earn 500 USD a day from home, no experience needed! Write to @easy_cash_bot now"
>>> index.add("r1", "acct-a", [spam], ts=1_000)
[]
>>> index.add("r2", "acct-b", [spam.replace("500", "700").replace("now", "today")], ts=2_000)
[Link(account='acct-a', kind='handle:@easy_cash_bot', reports=('r1',)), \
Link(account='acct-a', kind='near_duplicate', reports=('r1',))]
>>> indicators(["Call +1 (555) 010-9999 or visit https://WWW.Example.com/deal"])
('domain:example.com', 'phone:+15550109999')
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import click
import orjson
from datasketch import LeanMinHash, MinHash, MinHashLSH

from seawall.events import InvalidEvent, Report, decode_event
from seawall.reporttext import (
    EMAIL_PATTERN,
    URL_PATTERN,
    ModelFileError,
    ReportTextClassifier,
    normalise,
)

__all__ = [
    "Fingerprint",
    "Link",
    "ReportTextIndex",
    "fingerprint",
    "indicators",
    "report_text_command",
]

NUM_PERM = 64
SEED = 1
SHINGLE = 5
MIN_CHARS = 40
"""Texts shorter than this (after normalisation) are not compared as near-duplicates: a
"Sorry, I'll call later" is sent by millions of people and links nobody."""

# Hosts that everybody links to, or that shorten or host other people's links: the host
# alone says nothing about who sent it, so the indicator is the whole link without its
# scheme ("url:bit.ly/3abc"); Telegram links name a handle ("t.me/name" is "@name").
_SHARED_HOSTS = frozenset({
    "bit.ly", "cutt.ly", "goo.gl", "is.gd", "ow.ly", "rb.gy", "shorturl.at", "t.co",
    "tinyurl.com", "urlz.fr", "clck.ru", "vk.cc", "page.link",
    "t.me", "telegram.me", "telegram.dog", "wa.me", "chat.whatsapp.com",
    "youtube.com", "youtu.be", "google.com", "docs.google.com", "forms.gle", "drive.google.com",
    "instagram.com", "facebook.com", "fb.com", "twitter.com", "x.com", "tiktok.com",
    "vk.com", "ok.ru", "linkedin.com", "github.com", "wikipedia.org", "en.wikipedia.org",
    "ru.wikipedia.org", "reddit.com", "discord.gg", "discord.com", "medium.com",
})
_TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_TELEGRAM_PATHS = frozenset({"joinchat", "s", "c", "addstickers", "share", "proxy", "iv"})
_HANDLE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})(?![\w@])")
_HANDLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TLD = re.compile(r"[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59}")
_TRAILING = ".,;:!?)]}'\"»…"
# 8 to 15 digits (the E.164 range), optionally after "+" or "00", with the separators people
# type inside numbers: "+1 (555) 010-9999", "8 (999) 123-45-67", "0800.123.4567".
_PHONE = re.compile(r"(?<![\d+])(\+|00)?\s?\(?\d(?:[\s.\-()]{0,2}\d){7,14}(?!\d)")
_NOT_PHONE = (
    re.compile(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}"),  # dates
    re.compile(r"\d{1,3}(?:[.,]\d{3})+"),  # amounts with thousands separators
)


class Link(NamedTuple):
    """Another reported account a report is linked to, how, and through which of its reports.

    ``kind`` is ``near_duplicate`` or an indicator both reports name: ``domain:example.com``,
    ``url:bit.ly/3abc``, ``phone:+15550109999``, ``handle:@name``.
    """

    account: str
    kind: str
    reports: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """A report's near-duplicate signature and indicators.

    ``minhash`` is ``None`` when the normalised text is shorter than ``MIN_CHARS``;
    ``indicators`` are sorted ``kind:value`` strings (see :func:`indicators`).
    """

    minhash: LeanMinHash | None
    shingles: int
    indicators: tuple[str, ...]

    def similarity(self, other: Fingerprint) -> float:
        """Estimated Jaccard similarity of the two texts' shingle sets (0 if either is short)."""
        if self.minhash is None or other.minhash is None:
            return 0.0
        return float(self.minhash.jaccard(other.minhash))


_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")


def fingerprint(messages: Sequence[str], *, min_chars: int = MIN_CHARS) -> Fingerprint:
    """Fingerprint one report's messages.

    Each message is :func:`seawall.reporttext.normalise`d and lower-cased, so links, numbers
    and obfuscation do not make copies of one text look different; shingles are its
    character 5-grams (never across two messages), hashed into a 64-permutation MinHash
    with a fixed seed, so equal texts give equal signatures in every process.

    >>> a = fingerprint(["Win a FREE iPhone 15 today, click https://promo.example/abc"])
    >>> b = fingerprint(["Win a F R E E iPhone 16 today, click http://promo2.example/zz"])
    >>> a.similarity(b)
    1.0
    """
    if isinstance(messages, str):
        raise TypeError("messages must be a list of strings, not a string")
    texts = [normalise(m).lower() for m in messages]
    shingles: set[bytes] = set()
    for text in texts:
        if len(text) <= SHINGLE:
            if text:
                shingles.add(text.encode())
            continue
        shingles.update(text[i:i + SHINGLE].encode() for i in range(len(text) - SHINGLE + 1))
    minhash = None
    if sum(map(len, texts)) >= min_chars:
        sketch = MinHash(num_perm=NUM_PERM, permutations=_TEMPLATE.permutations,
                         scheme="affine32")
        sketch.update_batch(sorted(shingles))
        # The lean form keeps only the 64 values, not a copy of the permutations.
        minhash = LeanMinHash(sketch)
    return Fingerprint(minhash, len(shingles), indicators(messages))


def indicators(messages: Sequence[str]) -> tuple[str, ...]:
    """Links, phone numbers and handles named in the messages, as sorted ``kind:value``.

    - ``domain:HOST``: the host of a link, lower-case, without ``www.``; for shorteners and
      big platforms (``bit.ly``, ``youtube.com``...), ``url:HOST/PATH?QUERY`` (path and
      query keep their case: ``bit.ly/AbC`` is not ``bit.ly/abc``).
    - ``handle:@name``: an ``@name`` (4-32 letters, digits, ``_``; lower-case), and a
      Telegram link ``t.me/name``.
    - ``phone:NUMBER``: 8-15 digits, in ASCII whatever the script they were written in;
      ``+`` kept (``00`` becomes ``+``), separators dropped.
      A number without ``+`` stays as written (``8 (999) ...`` is not ``+7 999 ...``).

    >>> indicators(["Пишите @Crypto_Boss или t.me/crypto_boss, тел. 8 (999) 123-45-67"])
    ('handle:@crypto_boss', 'phone:89991234567')
    """
    found: set[str] = set()
    for message in messages:
        text = "".join(ch for ch in message if unicodedata.category(ch) != "Cf")
        text = unicodedata.normalize("NFKC", text)
        text = EMAIL_PATTERN.sub(" ", text)
        for match in URL_PATTERN.finditer(text):
            indicator = _link_indicator(match.group().rstrip(_TRAILING))
            if indicator:
                found.add(indicator)
        text = URL_PATTERN.sub(" ", text)
        found.update(f"handle:@{name.lower()}" for name in _HANDLE.findall(text))
        for match in _PHONE.finditer(text):
            raw = match.group().strip(" (")
            if any(p.fullmatch(raw) for p in _NOT_PHONE):
                continue
            # Any script's decimal digits ("٩٧١") become ASCII ones.
            digits = "".join(str(unicodedata.decimal(ch)) for ch in raw if ch.isdecimal())
            if raw.startswith("00"):
                digits = digits[2:]
            plus = "+" if raw.startswith(("+", "00")) else ""
            if 8 <= len(digits) <= 15:
                found.add(f"phone:{plus}{digits}")
    return tuple(sorted(found))


def _link_indicator(link: str) -> str | None:
    if "://" not in link:
        link = "http://" + link
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    host = host.removeprefix("www.")
    if "." not in host or not _TLD.fullmatch(host.rpartition(".")[2]):
        return None
    segment = next((s for s in parts.path.split("/") if s), "")
    if host in _TELEGRAM_HOSTS and _HANDLE_NAME.fullmatch(segment) \
            and segment.lower() not in _TELEGRAM_PATHS:
        return f"handle:@{segment.lower()}"
    if host in _SHARED_HOSTS or host.endswith(".page.link"):
        path = parts.path.strip("/")
        query = f"?{parts.query}" if parts.query else ""
        return f"url:{host}/{path}{query}" if path else None
    return f"domain:{host}"


class _Entry(NamedTuple):
    account: str
    ts: int
    fingerprint: Fingerprint


class ReportTextIndex:
    """Recent reports' fingerprints; links each new report to other accounts' similar ones.

    Parameters: ``threshold`` (estimated Jaccard similarity at or above which two reports
    are near-duplicates, default 0.6); ``window_ms`` (reports older than the newest ``ts``
    seen minus this are forgotten, default 30 days); ``max_reports`` (at most this many
    reports are kept, the oldest go first, default 100,000); ``min_chars`` (see
    :data:`MIN_CHARS`). Memory is bounded by ``max_reports``: each kept report costs its
    64-value signature, its keys in the 10 LSH bands and its indicators, about 4 KB in
    Python objects (so about 400 MB at the default cap).

    Only event time is used, never the wall clock, so a replay gives the same links.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.6,
        window_ms: int = 30 * 24 * 3600 * 1000,
        max_reports: int = 100_000,
        min_chars: int = MIN_CHARS,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if window_ms <= 0 or max_reports <= 0:
            raise ValueError("window_ms and max_reports must be positive")
        self.threshold = threshold
        self.window_ms = window_ms
        self.max_reports = max_reports
        self.min_chars = min_chars
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._entries: dict[str, _Entry] = {}
        self._by_indicator: dict[str, dict[str, None]] = {}
        self._age: list[tuple[int, int, str]] = []  # (ts, arrival, key): a min-heap, oldest first
        self._arrivals = 0
        self._clock: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, report_key: object) -> bool:
        return report_key in self._entries

    def add(self, report_key: str, account: str, messages: Sequence[str], ts: int) -> list[Link]:
        """Index a report against ``account`` (the reported one) and return its links.

        Returns the other accounts whose kept reports are near-duplicates of this one or
        name one of its indicators, one :class:`Link` per (account, kind), sorted. A
        ``report_key`` already kept is ignored (returns ``[]``), like a repeated event id.
        """
        if report_key in self._entries:
            return []
        self._clock = ts if self._clock is None else max(self._clock, ts)
        self._evict(self._clock - self.window_ms, self.max_reports - 1)
        fp = fingerprint(messages, min_chars=self.min_chars)

        found: dict[tuple[str, str], set[str]] = {}
        if fp.minhash is not None:
            for key in self._lsh.query(fp.minhash):
                other = self._entries[key]
                # LSH gives candidates; keep those whose estimate really clears the threshold.
                if other.account != account and fp.similarity(other.fingerprint) >= self.threshold:
                    found.setdefault((other.account, "near_duplicate"), set()).add(key)
        for indicator in fp.indicators:
            for key in self._by_indicator.get(indicator, ()):
                other = self._entries[key]
                if other.account != account:
                    found.setdefault((other.account, indicator), set()).add(key)

        if ts >= self._clock - self.window_ms:
            self._insert(report_key, _Entry(account, ts, fp))
        return [Link(acct, kind, tuple(sorted(keys)))
                for (acct, kind), keys in sorted(found.items())]

    def _insert(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        if entry.fingerprint.minhash is not None:
            self._lsh.insert(key, entry.fingerprint.minhash)
        for indicator in entry.fingerprint.indicators:
            self._by_indicator.setdefault(indicator, {})[key] = None
        heapq.heappush(self._age, (entry.ts, self._arrivals, key))
        self._arrivals += 1

    def _evict(self, horizon: int, keep: int) -> None:
        """Forget reports older than ``horizon``, then the oldest until ``keep`` remain."""
        while self._age and (self._age[0][0] < horizon or len(self._entries) > keep):
            _, _, key = heapq.heappop(self._age)
            entry = self._entries.pop(key)
            if entry.fingerprint.minhash is not None:
                self._lsh.remove(key)
            for indicator in entry.fingerprint.indicators:
                holders = self._by_indicator[indicator]
                del holders[key]
                if not holders:
                    del self._by_indicator[indicator]


@click.command("report-text")
@click.argument("events", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the NDJSON here instead of standard output.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report-text model file (default: the shipped one).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.6,
              show_default=True, help="Jaccard similarity for a near-duplicate link.")
@click.option("--window-days", type=click.FloatRange(0.0, min_open=True), default=30.0,
              show_default=True, help="Reports older than this are forgotten.")
@click.option("--max-reports", type=click.IntRange(1), default=100_000, show_default=True,
              help="At most this many reports are kept for linking.")
def report_text_command(events: tuple[Path, ...], out: Path | None, model: Path | None,
                        threshold: float, window_days: float, max_reports: int) -> None:
    """Score the text attached to reports and link accounts reported with the same spam.

    Reads contract events (NDJSON) from EVENTS, in the order given, and writes one JSON
    line per `report` event: its `ts`, `event` id, `reporter`, reported `account`, the
    spam `score` of its messages (null without messages) and its `links` to other
    reported accounts. Invalid lines are listed on stderr as file:line: why; a repeated
    event id is ignored.
    """
    try:
        classifier = ReportTextClassifier.load(model)
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from None
    index = ReportTextIndex(threshold=threshold, window_ms=int(window_days * 86_400_000),
                            max_reports=max_reports)
    sink = out.open("wb") if out is not None else click.get_binary_stream("stdout")
    counts = {"reports": 0, "with_text": 0, "linked": 0, "invalid": 0}
    seen: set[str] = set()  # event ids: a repeated id is ignored, as the contract says
    try:
        for path in events:
            with path.open("rb") as lines:
                for number, line in enumerate(lines, start=1):
                    if not line.strip():
                        continue
                    try:
                        event = decode_event(line)
                    except InvalidEvent as exc:
                        counts["invalid"] += 1
                        click.echo(f"{path}:{number}: {exc}", err=True)
                        continue
                    if not isinstance(event, Report) or event.id in seen:
                        continue
                    if event.id is not None:
                        seen.add(event.id)
                    messages = event.messages or []
                    key = event.id or f"{path}:{number}"
                    links = index.add(key, event.peer, messages, event.ts) if messages else []
                    score = classifier.score(messages)
                    counts["reports"] += 1
                    counts["with_text"] += score is not None
                    counts["linked"] += bool(links)
                    sink.write(orjson.dumps({
                        "ts": event.ts, "event": event.id, "reporter": event.account,
                        "account": event.peer, "score": score,
                        "links": [link._asdict() for link in links],
                    }) + b"\n")
    finally:
        if out is not None:
            sink.close()
    click.echo(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()), err=True)
