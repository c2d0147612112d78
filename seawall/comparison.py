"""Rules only against rules + model, on the same events and labels, side by side.

``seawall compare --events E --labels L [--model MODEL]`` replays the events twice (once
with the rules alone, once with the rules and the model) and measures both runs with
:func:`seawall.evaluation.evaluate`. Before turning a model on, a platform should see it win
on data it never trained on: a simulation with another seed, or a later period of its own
traffic (``--holdout-fraction`` / ``--holdout-from``).

In a held-out period the engine still replays everything before it (the state a live engine
would have), but only the accounts that period is about are measured: accounts first seen in
it, and accounts taken over in it (label ``abuse_from`` inside the period).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import orjson

from seawall.evaluation import (
    Evaluation,
    EvaluationError,
    evaluate,
    holdout_options,
    read_labels,
)

# The figures shown side by side: (key in headline/counts/friction, label, format)
ROWS = (
    ("headline", "recall", "Recall", "pct"),
    ("headline", "false_positive_rate", "False-positive rate", "pct2"),
    ("headline", "precision", "Precision", "pct"),
    ("headline", "proactive_share", "Proactive share", "pct"),
    ("headline", "registration_share", "Registration share", "pct"),
    ("headline", "harm_prevented", "Harm prevented", "pct"),
    ("headline", "harm_prevented_by_recipients", "Harm prevented, by recipients", "pct"),
    ("counts", "caught", "Abusers caught", "int"),
    ("counts", "false_positives", "Innocent accounts enforced", "int"),
    ("counts", "caught_at_registration", "Caught at registration", "int"),
    ("friction", "innocent_challenged_rate", "Innocent challenged", "pct2"),
)


@dataclass
class Comparison:
    """Two evaluations of the same accounts; :meth:`to_dict` is ``comparison.json``."""

    rules: Evaluation
    model: Evaluation
    scope: dict[str, Any]

    def rows(self) -> list[tuple[str, Any, Any, str]]:
        out = []
        for section, key, label, fmt in ROWS:
            a = getattr(self.rules, section).get(key)
            b = getattr(self.model, section).get(key)
            out.append((label, a, b, fmt))
        return out

    def verdict(self) -> dict[str, Any]:
        """Does the model win: more recall at an equal or lower false-positive rate?"""
        r, m = self.rules.headline, self.model.headline
        fpr_ok = (m["false_positive_rate"] or 0.0) <= (r["false_positive_rate"] or 0.0)
        return {
            "recall_gain": _diff(m["recall"], r["recall"]),
            "fpr_change": _diff(m["false_positive_rate"], r["false_positive_rate"]),
            "registration_share_change": _diff(m["registration_share"],
                                               r["registration_share"]),
            "higher_recall_at_equal_or_lower_fpr": bool(
                fpr_ok and (m["recall"] or 0.0) > (r["recall"] or 0.0)),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "verdict": self.verdict(),
            "figures": [{"figure": label, "rules": a, "rules_model": b}
                        for label, a, b, _ in self.rows()],
            "rules": {"headline": self.rules.headline, "counts": self.rules.counts},
            "rules_model": {"headline": self.model.headline, "counts": self.model.counts},
        }


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)


def compare(events: Sequence[str | Path], labels: str | Path, model=None,
            rules: str | Path | None = None, holdout_from: int | None = None,
            holdout_fraction: float | None = None) -> Comparison:
    """Replay ``events`` with the rules alone and with the rules and ``model`` (a path or a
    :class:`seawall.training.ModelBundle`; default the shipped model), and evaluate both."""
    from seawall.replay import replay
    from seawall.training import default_model_path

    events = [Path(p) for p in events]
    for p in [*events, Path(labels)]:
        if not p.is_file():
            raise EvaluationError(f"{p}: no such file")
    model = model if model is not None else default_model_path()
    with_rules = replay(events, rules=rules, model=None).decisions
    with_model = replay(events, rules=rules, model=model).decisions
    scope: dict[str, Any] = {"events": [str(p) for p in events], "labels": str(labels),
                             "model": str(model) if isinstance(model, (str, Path))
                             else "given", "period": "all"}
    if holdout_from is None and holdout_fraction is None:
        return Comparison(evaluate(events, labels, decisions=with_rules),
                          evaluate(events, labels, decisions=with_model), scope)
    first_seen, t_min, t_max = _first_seen(events)
    if holdout_from is None:
        if not 0.0 < holdout_fraction < 1.0:
            raise EvaluationError("--holdout-fraction must be between 0 and 1")
        holdout_from = t_min + int((1.0 - holdout_fraction) * (t_max - t_min))
    lab, _, _ = read_labels(labels)
    keep = [acc for acc, lb in lab.items()
            if first_seen.get(acc, -1) >= holdout_from
            or (lb.abuse_from is not None and lb.abuse_from >= holdout_from)]
    scope.update(period="held out", holdout_from=holdout_from, accounts=len(keep))
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "labels.jsonl"
        sub.write_bytes(b"".join(orjson.dumps(
            {k: v for k, v in (("account", lab[a].account), ("label", lab[a].label),
                               ("archetype", lab[a].archetype),
                               ("abuse_from", lab[a].abuse_from)) if v is not None}) + b"\n"
            for a in keep))
        return Comparison(evaluate(events, sub, decisions=with_rules),
                          evaluate(events, sub, decisions=with_model), scope)


def _first_seen(events: Sequence[Path]) -> tuple[dict[str, int], int, int]:
    """First event time of every acting account, and the events' time range."""
    first: dict[str, int] = {}
    t_min, t_max = None, None
    for p in events:
        with open(p, "rb") as f:
            for line in f:
                try:
                    e = orjson.loads(line)
                    acc, ts = e["account"], int(e["ts"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue   # replay reports bad lines; here they only cannot be placed
                first.setdefault(acc, ts)
                t_min = ts if t_min is None else min(t_min, ts)
                t_max = ts if t_max is None else max(t_max, ts)
    if t_min is None:
        raise EvaluationError("no events with a time in " + ", ".join(map(str, events)))
    return first, t_min, t_max


def _fmt(x: Any, fmt: str) -> str:
    if x is None:
        return "n/a"
    if fmt == "pct":
        return f"{100 * x:.1f}%"
    if fmt == "pct2":
        return f"{100 * x:.2f}%"
    return f"{x:,}"


def print_comparison(c: Comparison, console) -> None:
    from rich.table import Table

    title = "Rules only vs rules + model"
    if c.scope.get("period") != "all":
        title += f" (held-out period from ts {c.scope['holdout_from']}, " \
                 f"{c.scope['accounts']:,} accounts)"
    t = Table(title=title, title_justify="left")
    t.add_column("figure")
    t.add_column("rules only", justify="right")
    t.add_column("rules + model", justify="right", style="bold")
    for label, a, b, fmt in c.rows():
        t.add_row(label, _fmt(a, fmt), _fmt(b, fmt))
    console.print(t)
    v = c.verdict()
    console.print("Higher recall at an equal or lower false-positive rate: "
                  + ("yes" if v["higher_recall_at_equal_or_lower_fpr"] else "no"))


@click.command("compare")
@click.option("--events", "events", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Events file (NDJSON, oldest first); repeat for more files.")
@click.option("--labels", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labels file: {account, label: abuse|legit} per line.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False),
              help="Model file from `seawall train` (default: the shipped model).")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False),
              help="Rule file for both runs (default: the shipped ruleset).")
@holdout_options
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Write DIR/comparison.json and each run's report under DIR/rules and "
                   "DIR/rules_model.")
def compare_command(events, labels, model, rules, holdout_fraction, holdout_from,
                    report_dir) -> None:
    """Compare rules only against rules + model on the same EVENTS and LABELS.

    \b
    seawall compare --events events.jsonl --labels labels.jsonl --model model.json
    """
    run_comparison(events, labels, model, rules, holdout_fraction, holdout_from, report_dir)


def run_comparison(events, labels, model, rules, holdout_fraction, holdout_from,
                   report_dir) -> None:
    """``seawall compare`` and ``seawall evaluate --compare``: run, print, write reports."""
    from seawall import report

    if model == "default":
        model = None
    try:
        c = compare(events, labels, model=model, rules=rules, holdout_from=holdout_from,
                    holdout_fraction=holdout_fraction)
    except ValueError as exc:   # EvaluationError, model and rule file errors
        raise click.ClickException(str(exc)) from None
    print_comparison(c, report.console())
    if report_dir is not None:
        out = Path(report_dir)
        out.mkdir(parents=True, exist_ok=True)
        report.write_report(c.rules, out / "rules")
        report.write_report(c.model, out / "rules_model")
        (out / "comparison.json").write_bytes(
            orjson.dumps(c.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        click.echo(f"Report: {out / 'comparison.json'}")
