"""How well decisions stop abuse, measured against labels: recall, false positives, harm.

The definitions are written out in ``docs/evaluation.md``; in short, per labelled account:

- *enforcement* is the account's first ``ban`` or ``restrict`` decision (``review`` is not
  enforcement; a later ``reinstate`` does not undo it for measuring);
- for an account taken over (label ``abuse`` with ``abuse_from``), an enforcement before
  ``abuse_from`` is a false positive and one at/after it is a catch;
- *harm prevented* is the share of abusive messages that were sent at or after the
  enforcement, i.e. that the platform would have refused.

The headline figures mirror what WhatsApp publishes about its bans (``shared/background.md``:
"over 75% without a recent user report", "about 20% at registration"), so that a run of the
engine can be read against them: *proactive share* and *registration share*.

The events files are streamed once (they can hold millions of lines) after the decisions are
known, keeping a handful of integers per abusive account.

>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.jsonl").write_text("\\n".join(json.dumps(e) for e in [
...     {"type": "message", "ts": 1000, "account": "spam", "peer": "x"},
...     {"type": "message", "ts": 2000, "account": "spam", "peer": "y"},
...     {"type": "message", "ts": 3000, "account": "spam", "peer": "z"}]))
>>> _ = (d / "l.jsonl").write_text('{"account":"spam","label":"abuse"}\\n'
...                                 '{"account":"x","label":"legit"}\\n')
>>> ev = evaluate([d / "e.jsonl"], d / "l.jsonl", decisions=[
...     {"ts": 2000, "account": "spam", "action": "ban", "stage": "messaging"}])
>>> ev.headline["recall"], ev.headline["false_positive_rate"], ev.headline["harm_prevented"]
(1.0, 0.0, 0.6667)
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import click
import msgspec
import numpy as np
import orjson

from seawall import __version__
from seawall.decisions import Decision

__all__ = [
    "Evaluation",
    "EvaluationError",
    "Problem",
    "evaluate",
    "read_decisions",
    "read_labels",
]

ENFORCING = frozenset({"ban", "restrict"})
# "Friction": the same counting with a challenge (re-verification) treated as an action.
FRICTION = frozenset({"ban", "restrict", "challenge"})
# Bins of the "messages delivered before action" histogram: [lower, upper) message counts.
MESSAGE_BINS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
# How many problems and example accounts a report lists (all of them are counted).
MAX_LISTED = 20
_DIGITS = 4


class EvaluationError(ValueError):
    """Inputs that cannot be evaluated; the message names the file, the line and why."""


@dataclass(frozen=True)
class Problem:
    """One input line that was skipped, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


# -- input records ------------------------------------------------------------------------

AccountId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Millis = Annotated[int, msgspec.Meta(ge=0)]


class _Label(msgspec.Struct, kw_only=True):
    """A contract label, plus the simulator's optional ``archetype`` and ``abuse_from``.

    Unknown fields are ignored: a platform's label export may carry its own bookkeeping.
    """

    account: AccountId
    label: Literal["abuse", "legit"]
    ts: Millis | None = None
    archetype: str | None = None
    abuse_from: Millis | None = None


_label_decoder = msgspec.json.Decoder(_Label)
_decision_decoder = msgspec.json.Decoder(Decision)


def _explain(exc: msgspec.MsgspecError) -> str:
    # msgspec says "Invalid enum value 'spam' - at `$.label`"; readers want the field first.
    msg = str(exc)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return f"not valid JSON ({msg})"
    if " - at `$." in msg:
        reason, _, where = msg.rpartition(" - at `$.")
        return f"`{where.rstrip('`')}`: {reason}"
    return msg


def _lines(path: Path, hasher: Any = None, chunk: int = 1 << 20) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` of a file, reading it in large chunks (and hashing them)."""
    lineno = 0
    rest = b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            if hasher is not None:
                hasher.update(block)
            parts = (rest + block).split(b"\n")
            rest = parts.pop()
            for line in parts:
                lineno += 1
                yield lineno, line
    if rest:
        yield lineno + 1, rest


def _file_info(path: Path, hasher: Any = None) -> dict[str, Any]:
    if hasher is None:
        hasher = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                hasher.update(block)
    return {"path": str(path), "bytes": os.path.getsize(path), "sha256": hasher.hexdigest()}


def _rules_info(rules: str | Path | None) -> dict[str, Any]:
    from seawall.rules import default_rules_path

    builtin = default_rules_path()
    path = Path(rules) if rules is not None else builtin
    info = _file_info(path)
    if path.resolve() == builtin.resolve():
        # The package's location differs between machines; its content is what matters.
        info["path"] = "built-in: seawall/default_rules.yaml"
    return info


def read_labels(path: str | Path) -> tuple[dict[str, _Label], list[Problem], int]:
    """Read a labels file: ``({account: label}, problems, duplicates)``.

    A later line for the same account replaces the earlier one (labels get revised, e.g. when
    an appeal overturns a ban). Blank lines are skipped silently.
    """
    labels: dict[str, _Label] = {}
    problems: list[Problem] = []
    duplicates = 0
    for lineno, line in _lines(Path(path)):
        if not line.strip():
            continue
        try:
            lab = _label_decoder.decode(line)
        except msgspec.MsgspecError as exc:
            problems.append(Problem(str(path), lineno, _explain(exc)))
            continue
        if lab.account in labels:
            duplicates += 1
        labels[lab.account] = lab
    return labels, problems, duplicates


def read_decisions(path: str | Path) -> tuple[list[Decision], list[Problem]]:
    """Read a decisions file (one contract decision per line): ``(decisions, problems)``."""
    decisions: list[Decision] = []
    problems: list[Problem] = []
    for lineno, line in _lines(Path(path)):
        if not line.strip():
            continue
        try:
            decisions.append(_decision_decoder.decode(line))
        except msgspec.MsgspecError as exc:
            problems.append(Problem(str(path), lineno, "not a contract decision: " + _explain(exc)))
    return decisions, problems


def _as_decision(obj: Any) -> Decision:
    if isinstance(obj, Decision):
        return obj
    if isinstance(obj, dict):
        # Hand-written decisions may leave out the fields the evaluation does not read.
        return msgspec.convert({"score": None, "reasons": [], "event": None, **obj}, Decision)
    return msgspec.convert(obj, Decision, from_attributes=True)


# -- per-account bookkeeping ----------------------------------------------------------------


class _Account:
    """What the evaluation keeps about one labelled account."""

    __slots__ = (
        "abuse_from",
        "archetype",
        "attempted",
        "attempted_recipients",
        "catch",
        "catch_friction",
        "delivered",
        "delivered_recipients",
        "first_report_ts",
        "first_ts",
        "fp",
        "fp_friction",
        "label",
    )

    def __init__(self, label: _Label) -> None:
        self.label = label.label
        self.archetype = label.archetype
        self.abuse_from = label.abuse_from if label.label == "abuse" else None
        self.fp: Decision | None = None          # first enforcement while innocent
        self.catch: Decision | None = None       # first enforcement while abusive
        self.fp_friction: Decision | None = None
        self.catch_friction: Decision | None = None
        self.first_ts: int | None = None
        self.first_report_ts: int | None = None
        self.attempted = 0
        self.delivered = 0
        self.attempted_recipients = 0
        self.delivered_recipients = 0

    @property
    def abusive(self) -> bool:
        return self.label == "abuse"

    @property
    def ever_innocent(self) -> bool:
        """Legit accounts, and taken-over accounts before ``abuse_from``."""
        return self.label == "legit" or self.abuse_from is not None

    def innocent_at(self, ts: int) -> bool:
        return self.label == "legit" or (self.abuse_from is not None and ts < self.abuse_from)


# -- the result --------------------------------------------------------------------------


@dataclass
class Evaluation:
    """The figures of one evaluation; :meth:`to_dict` is what ``report.json`` holds."""

    config: dict[str, Any]
    inputs: dict[str, Any]
    headline: dict[str, Any]
    counts: dict[str, Any]
    friction: dict[str, Any]
    distributions: dict[str, Any]
    decisions: dict[str, Any]
    archetypes: dict[str, list[dict[str, Any]]] | None
    examples: dict[str, list[dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)
    # Per-abuser series for plots; too long for report.json on a large platform.
    series: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seawall_version": __version__,
            "config": self.config,
            "inputs": self.inputs,
            "headline": self.headline,
            "counts": self.counts,
            "friction": self.friction,
            "distributions": self.distributions,
            "decisions": self.decisions,
            "archetypes": self.archetypes,
            "examples": self.examples,
            "problems": [str(p) for p in self.problems[:MAX_LISTED]],
        }


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, _DIGITS) if den else None


def _prevented(delivered: int, attempted: int) -> float | None:
    return round(1 - delivered / attempted, _DIGITS) if attempted else None


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    """Median and 90th percentile (numpy's default linear interpolation)."""
    if not values:
        return {"median": None, "p90": None}
    med, p90 = np.percentile(np.asarray(values, dtype=np.float64), [50, 90])
    return {"median": round(float(med), _DIGITS), "p90": round(float(p90), _DIGITS)}


def _histogram(values: Sequence[int]) -> list[dict[str, Any]]:
    edges = list(MESSAGE_BINS)
    counts = np.histogram(np.asarray(values, dtype=np.int64),
                          bins=[*edges, np.iinfo(np.int64).max])[0]
    out = []
    for i, lo in enumerate(edges):
        hi = edges[i + 1] - 1 if i + 1 < len(edges) else None
        name = f"{lo}+" if hi is None else (str(lo) if hi == lo else f"{lo}-{hi}")
        out.append({"bin": name, "abusers": int(counts[i])})
    return out


def _time_to_action(acc: _Account) -> float | None:
    start = acc.abuse_from if acc.abuse_from is not None else acc.first_ts
    if acc.catch is None or start is None:
        return None
    return (acc.catch.ts - start) / 1000.0


# -- the evaluation ----------------------------------------------------------------------


def evaluate(
    events_paths: Sequence[str | Path],
    labels_path: str | Path,
    decisions: Iterable[Any] | str | Path | None = None,
    *,
    rules: str | Path | None = None,
    model: str | Path | None = "default",
    strict: bool = False,
    progress: bool = False,
) -> Evaluation:
    """Measure decisions against labels over the events they were made on.

    ``decisions`` is a list of decisions (``seawall.decisions.Decision`` objects or contract
    dicts), a path to a decisions file, or ``None`` to run the engine
    (``seawall.replay.replay(events_paths, rules=rules)``) first. ``rules`` is recorded
    (path, sha256) in :attr:`Evaluation.config` as the rule file behind the decisions.

    Lines of the labels and decisions files that do not parse are skipped and listed in
    :attr:`Evaluation.problems`; with ``strict=True`` the first one raises
    :class:`EvaluationError` instead.
    """
    events_paths = [Path(p) for p in events_paths]
    labels_path = Path(labels_path)
    given_files = [*events_paths, labels_path]
    if isinstance(decisions, (str, Path)):
        given_files.append(Path(decisions))
    for p in given_files:
        if not p.is_file():
            raise EvaluationError(f"{p}: no such file")

    labels, label_problems, duplicates = read_labels(labels_path)
    if strict and label_problems:
        raise EvaluationError(str(label_problems[0]))

    config: dict[str, Any] = {
        "events": [],
        "labels": _file_info(labels_path),
        "decisions": None,
        # Without a rule file, engine-made decisions come from the built-in ruleset.
        "rules": _rules_info(rules) if rules is not None or decisions is None else None,
        "model": (None if decisions is not None else
                  "none (rules only)" if model is None else str(model)),
    }
    decision_problems: list[Problem] = []
    if decisions is None:
        config["decisions"] = {"source": "engine (seawall.replay)"}
        decision_list = _run_engine(events_paths, rules, model, progress)
    elif isinstance(decisions, (str, Path)):
        config["decisions"] = _file_info(Path(decisions))
        decision_list, decision_problems = read_decisions(decisions)
        if strict and decision_problems:
            raise EvaluationError(str(decision_problems[0]))
    else:
        config["decisions"] = {"source": "given"}
        try:
            decision_list = [_as_decision(d) for d in decisions]
        except msgspec.ValidationError as exc:
            raise EvaluationError(f"not a contract decision: {_explain(exc)}") from None

    accounts = {acc: _Account(lab) for acc, lab in labels.items()}
    by_action: Counter[str] = Counter()
    by_stage: Counter[str] = Counter()
    by_stage_action: Counter[tuple[str, str]] = Counter()
    unlabelled: set[str] = set()
    # Decisions take effect in event time; equal times keep their given order (stable sort).
    for d in sorted(decision_list, key=lambda d: d.ts):
        by_action[d.action] += 1
        by_stage[d.stage] += 1
        by_stage_action[d.stage, d.action] += 1
        acc = accounts.get(d.account)
        if acc is None:
            unlabelled.add(d.account)
            continue
        innocent = acc.innocent_at(d.ts)
        if d.action in ENFORCING:
            if innocent and acc.fp is None:
                acc.fp = d
            elif not innocent and acc.catch is None:
                acc.catch = d
        if d.action in FRICTION:
            if innocent and acc.fp_friction is None:
                acc.fp_friction = d
            elif not innocent and acc.catch_friction is None:
                acc.catch_friction = d

    events_info = _stream_events(events_paths, accounts)
    config["events"] = events_info["files"]
    problems = label_problems + decision_problems + events_info["problems"]

    inputs = {
        "events_lines": events_info["lines"],
        "events_skipped": events_info["skipped"],
        "labels": len(accounts),
        "labels_skipped": len(label_problems),
        "labels_duplicate_accounts": duplicates,
        "decisions": len(decision_list),
        "decisions_skipped": len(decision_problems),
    }
    return _summarise(accounts, config, inputs, problems, unlabelled,
                      by_action, by_stage, by_stage_action)


def _run_engine(events_paths: list[Path], rules: str | Path | None,
                model: str | Path | None, progress: bool) -> list[Decision]:
    try:
        from seawall.replay import replay
    except ImportError as exc:
        raise EvaluationError(
            f"the engine is not available ({exc}); pass a decisions file with --decisions"
        ) from None
    from seawall.rules import RuleError

    try:
        result = replay([str(p) for p in events_paths], rules=rules, model=model,
                        progress=progress)
    except (RuleError, ValueError) as exc:  # rule or model file: names file and why
        raise EvaluationError(str(exc)) from None
    return [_as_decision(d) for d in result.decisions]


_GROUP_EVENTS = frozenset({"group_create", "group_add", "group_leave"})


def _track_group(members: dict[str, set[str]], etype: str, obj: dict, account: str) -> None:
    """Keep each group's members, in stream order, to count who a group message reaches."""
    group = obj.get("group")
    if not isinstance(group, str):
        return
    if etype == "group_leave":
        if group in members:
            members[group].discard(account)
        return
    in_group = members.setdefault(group, set())
    in_group.add(account)  # the creator, or the adder (who must be in the group to add)
    peer = obj.get("peer")
    if etype == "group_add" and isinstance(peer, str):
        in_group.add(peer)


def _stream_events(paths: list[Path], accounts: dict[str, _Account]) -> dict[str, Any]:
    """One pass over the events: first event, first report and messages of each abuser.

    A message reaches one recipient, or every other member of its group at that point of
    the stream (from ``group_create``, ``group_add`` and ``group_leave``).
    """
    # Hot path: millions of lines. Only abusers need per-event work.
    abusers = {a: acc for a, acc in accounts.items() if acc.abusive}
    catch_ts = {a: (acc.catch.ts if acc.catch is not None else None) for a, acc in abusers.items()}
    members: dict[str, set[str]] = {}
    loads = orjson.loads
    files = []
    problems: list[Problem] = []
    lines = bad = 0
    for path in paths:
        hasher = hashlib.sha256()
        for lineno, line in _lines(path, hasher):
            if not line.strip():
                continue
            lines += 1
            try:
                obj = loads(line)
                etype = obj["type"]
                ts = obj["ts"]
                account = obj["account"]
                if type(ts) is not int or type(account) is not str:
                    raise TypeError
            except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
                bad += 1
                if bad <= MAX_LISTED:
                    problems.append(Problem(str(path), lineno, "not an event (skipped)"))
                continue
            if etype in _GROUP_EVENTS:
                _track_group(members, etype, obj, account)
            acc = abusers.get(account)
            if acc is not None:
                if acc.first_ts is None or ts < acc.first_ts:
                    acc.first_ts = ts
                if etype == "message" and (acc.abuse_from is None or ts >= acc.abuse_from):
                    group = obj.get("group")
                    if group is None:
                        reached = 1
                    else:
                        in_group = members.get(group, ())
                        reached = len(in_group) - (account in in_group)
                    acc.attempted += 1
                    acc.attempted_recipients += reached
                    enforced = catch_ts[account]
                    if enforced is None or ts < enforced:
                        acc.delivered += 1
                        acc.delivered_recipients += reached
            if etype == "report":
                target = abusers.get(obj.get("peer"))  # type: ignore[arg-type]
                if target is not None and (target.first_report_ts is None
                                           or ts < target.first_report_ts):
                    target.first_report_ts = ts
        files.append(_file_info(path, hasher))
    return {"files": files, "lines": lines, "skipped": bad, "problems": problems}


def _summarise(accounts: dict[str, _Account], config: dict[str, Any],
               inputs: dict[str, Any], problems: list[Problem], unlabelled: set[str],
               by_action: Counter[str], by_stage: Counter[str],
               by_stage_action: Counter[tuple[str, str]]) -> Evaluation:
    abusers = [acc for acc in accounts.values() if acc.abusive]
    innocents = [acc for acc in accounts.values() if acc.ever_innocent]
    caught = [acc for acc in abusers if acc.catch is not None]
    fps = [acc for acc in innocents if acc.fp is not None]
    proactive = [acc for acc in caught if acc.first_report_ts is None
                 or acc.catch.ts < acc.first_report_ts]
    at_registration = [acc for acc in caught if acc.catch.stage == "registration"]
    attempted = sum(acc.attempted for acc in abusers)
    delivered = sum(acc.delivered for acc in abusers)
    reached = sum(acc.attempted_recipients for acc in abusers)
    reached_before = sum(acc.delivered_recipients for acc in abusers)
    ttas = [t for acc in caught if (t := _time_to_action(acc)) is not None]
    delivered_each = [acc.delivered for acc in abusers]
    acted = [acc for acc in abusers if acc.catch_friction is not None]
    challenged = [acc for acc in innocents if acc.fp_friction is not None]

    headline = {
        "recall": _ratio(len(caught), len(abusers)),
        "false_positive_rate": _ratio(len(fps), len(innocents)),
        "precision": _ratio(len(caught), len(caught) + len(fps)),
        "proactive_share": _ratio(len(proactive), len(caught)),
        "registration_share": _ratio(len(at_registration), len(caught)),
        "harm_prevented": _prevented(delivered, attempted),
        "harm_prevented_by_recipients": _prevented(reached_before, reached),
    }
    counts = {
        "accounts_labelled": len(accounts),
        "abusers": len(abusers),
        "takeovers": sum(1 for acc in abusers if acc.abuse_from is not None),
        "innocent": len(innocents),
        "caught": len(caught),
        "false_positives": len(fps),
        "caught_proactively": len(proactive),
        "caught_at_registration": len(at_registration),
        "caught_by_stage": dict(sorted(Counter(acc.catch.stage for acc in caught).items())),
        "abusive_messages_attempted": attempted,
        "abusive_messages_delivered": delivered,
        "abusive_recipients_attempted": reached,
        "abusive_recipients_delivered": reached_before,
        "caught_without_first_event": len(caught) - len(ttas),
    }
    friction = {
        "abusers_acted_on": len(acted),
        "recall_incl_challenge": _ratio(len(acted), len(abusers)),
        "innocent_challenged": len(challenged),
        "innocent_challenged_rate": _ratio(len(challenged), len(innocents)),
        "precision_incl_challenge": _ratio(len(acted), len(acted) + len(challenged)),
    }
    distributions = {
        "messages_delivered_before_action": {
            **_quantiles(delivered_each), "histogram": _histogram(delivered_each)},
        "time_to_action_seconds": _quantiles(ttas),
    }
    decisions = {
        "total": inputs["decisions"],
        "on_unlabelled_accounts": len(unlabelled),
        "by_action": dict(sorted(by_action.items())),
        "by_stage": dict(sorted(by_stage.items())),
        "by_stage_action": {f"{s}/{a}": n for (s, a), n in sorted(by_stage_action.items())},
    }
    has_archetypes = any(acc.archetype is not None for acc in accounts.values())
    archetypes = _archetype_tables(abusers, innocents) if has_archetypes else None
    examples = _examples(accounts)
    return Evaluation(
        config=config, inputs=inputs, headline=headline, counts=counts, friction=friction,
        distributions=distributions, decisions=decisions, archetypes=archetypes,
        examples=examples, problems=problems,
        series={"messages_delivered": delivered_each, "time_to_action_seconds": ttas},
    )


def _archetype_tables(abusers: list[_Account],
                      innocents: list[_Account]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[_Account]] = {}
    for acc in abusers:
        groups.setdefault(acc.archetype or "unknown", []).append(acc)
    abuse_rows = []
    for name in sorted(groups):
        members = groups[name]
        caught = [acc for acc in members if acc.catch is not None]
        attempted = sum(acc.attempted for acc in members)
        delivered = sum(acc.delivered for acc in members)
        ttas = [t for acc in caught if (t := _time_to_action(acc)) is not None]
        abuse_rows.append({
            "archetype": name,
            "accounts": len(members),
            "caught": len(caught),
            "recall": _ratio(len(caught), len(members)),
            "median_time_to_action_seconds": _quantiles(ttas)["median"],
            "harm_prevented": _prevented(delivered, attempted),
            "caught_by_stage": dict(sorted(Counter(acc.catch.stage for acc in caught).items())),
        })
    groups = {}
    for acc in innocents:
        groups.setdefault(acc.archetype or "unknown", []).append(acc)
    innocent_rows = []
    for name in sorted(groups):
        members = groups[name]
        fps = sum(1 for acc in members if acc.fp is not None)
        chall = sum(1 for acc in members if acc.fp_friction is not None)
        innocent_rows.append({
            "archetype": name,
            "accounts": len(members),
            "false_positives": fps,
            "false_positive_rate": _ratio(fps, len(members)),
            "challenged": chall,
            "challenged_rate": _ratio(chall, len(members)),
        })
    return {"abuse": abuse_rows, "innocent": innocent_rows}


def _examples(accounts: dict[str, _Account]) -> dict[str, list[dict[str, Any]]]:
    """A few accounts worth a reviewer's look: the worst misses and the false positives."""
    missed = sorted(((acc.delivered, name) for name, acc in accounts.items()
                     if acc.abusive and acc.catch is None), key=lambda t: (-t[0], t[1]))
    worst = [{"account": name, "archetype": accounts[name].archetype,
              "messages_delivered": n} for n, name in missed[:MAX_LISTED]]
    fps = sorted(((acc.fp.ts, name) for name, acc in accounts.items() if acc.fp is not None))
    false_pos = []
    for _, name in fps[:MAX_LISTED]:
        acc = accounts[name]
        false_pos.append({"account": name, "archetype": acc.archetype, "ts": acc.fp.ts,
                          "action": acc.fp.action, "stage": acc.fp.stage,
                          "reasons": list(acc.fp.reasons)})
    return {"missed_abusers": worst, "false_positives": false_pos}


# -- the command -------------------------------------------------------------------------


def holdout_options(f):
    """``--holdout-fraction`` and ``--holdout-from`` of ``compare`` and ``evaluate --compare``."""
    f = click.option("--holdout-from", type=int,
                     help="Measure only from this ts (ms) on (evaluate: with --compare).")(f)
    return click.option("--holdout-fraction", type=float,
                        help="Measure only the last share of event time (accounts new in it; "
                             "evaluate: with --compare).")(f)


@click.command("evaluate")
@click.argument("more_events", nargs=-1, type=click.Path(exists=True, dir_okay=False),
                metavar="[EVENTS]...")
@click.option("--events", "events", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Events file (NDJSON); more files may follow it or repeat --events.")
@click.option("--labels", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labels file: {account, label: abuse|legit} per line.")
@click.option("--decisions", type=click.Path(exists=True, dir_okay=False),
              help="Decisions file; without it the engine is run on the events.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Write DIR/report.json and a self-contained DIR/report.html.")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False),
              help="Rule file for the engine (default: the built-in ruleset).")
@click.option("--model", default="default", show_default=True,
              help="Model file for the engine; `default` is the shipped model.")
@click.option("--no-model", is_flag=True, help="Run the engine with rules only.")
@click.option("--strict", is_flag=True, help="Stop at the first bad labels/decisions line.")
@click.option("--compare", is_flag=True,
              help="Run rules only and rules + model and compare them (as `seawall compare`; "
                   "--report writes both runs' reports and comparison.json).")
@holdout_options
def evaluate_command(more_events: tuple[str, ...], events: tuple[str, ...], labels: str,
                     decisions: str | None, report_dir: str | None, rules: str | None,
                     model: str, no_model: bool, strict: bool, compare: bool,
                     holdout_fraction: float | None, holdout_from: int | None) -> None:
    """Measure decisions against labels: recall, false positives, harm prevented.

    \b
    seawall evaluate --events events.jsonl --labels labels.jsonl --report out/
    seawall evaluate --events a.jsonl b.jsonl --labels l.jsonl --decisions d.jsonl
    seawall evaluate --events events.jsonl --labels labels.jsonl --compare \\
        --holdout-fraction 0.25
    """
    from seawall import report

    if compare:
        if decisions is not None or no_model:
            raise click.UsageError("--compare runs the engine twice itself: it takes neither "
                                   "--decisions nor --no-model")
        from seawall.comparison import run_comparison

        run_comparison([*events, *more_events], labels, model, rules, holdout_fraction,
                       holdout_from, report_dir)
        return
    if holdout_fraction is not None or holdout_from is not None:
        raise click.UsageError("--holdout-fraction and --holdout-from need --compare")

    try:
        ev = evaluate([*events, *more_events], labels,
                      decisions=decisions, rules=rules, model=None if no_model else model,
                      strict=strict,
                      progress=report.console(stderr=True).is_terminal)
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from None
    report.print_problems(ev)
    report.print_summary(ev, report.console())
    if report_dir is not None:
        json_path, html_path = report.write_report(ev, report_dir)
        click.echo(f"Report: {html_path}")
        click.echo(f"        {json_path}")
