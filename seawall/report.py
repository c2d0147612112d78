"""Presenting an :class:`~seawall.evaluation.Evaluation`: terminal summary, JSON and HTML.

``report.html`` is one self-contained file (inline CSS and inline SVG plots, no scripts, no
external assets) so it can be mailed or attached to a ticket. It reads top to bottom the way
a trust-and-safety reviewer asks: how much abuse did we stop (headline), where did we miss or
hurt innocent people (tables), what does the distribution look like (plots).

Plots are drawn by matplotlib (its SVG backend, text kept as text) with a fixed hash
salt and no date, so the same evaluation renders to the same bytes.
"""

from __future__ import annotations

import html
import io
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from seawall.evaluation import Evaluation

__all__ = ["console", "print_problems", "print_summary", "render_html", "write_report"]

_ACTIONS = ("ban", "restrict", "challenge", "review", "reinstate")
_ACTION_COLOURS = {"ban": "#b2182b", "restrict": "#ef8a62", "challenge": "#fddbc7",
                   "review": "#92c5de", "reinstate": "#4393c3"}
_CAUGHT, _MISSED = "#2166ac", "#d6604d"


# -- formatting ----------------------------------------------------------------------------


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def _duration(seconds: float | None) -> str:
    """Human duration: 0.4 s, 12 s, 3.5 min, 2.0 h, 1.5 d."""
    if seconds is None:
        return "n/a"
    s = abs(seconds)
    sign = "-" if seconds < 0 else ""
    if s < 10:
        return f"{sign}{s:.1f} s"
    if s < 120:
        return f"{sign}{s:.0f} s"
    if s < 2 * 3600:
        return f"{sign}{s / 60:.1f} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} d"


def _of(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,}"


def _headline_rows(ev: Evaluation) -> list[tuple[str, str, str, str]]:
    """(figure, value, short note, long note): the terminal shows the short, HTML the long."""
    h, c, f, dist = ev.headline, ev.counts, ev.friction, ev.distributions
    msgs = dist["messages_delivered_before_action"]
    tta = dist["time_to_action_seconds"]
    enforced = c["caught"] + c["false_positives"]
    stopped = c["abusive_messages_attempted"] - c["abusive_messages_delivered"]
    blocked = c["abusive_recipients_attempted"] - c["abusive_recipients_delivered"]
    return [
        ("Recall", _pct(h["recall"]), f"{_of(c['caught'], c['abusers'])} abusers",
         f"{_of(c['caught'], c['abusers'])} abusive accounts banned or restricted"),
        ("False-positive rate", _pct(h["false_positive_rate"], 2),
         f"{_of(c['false_positives'], c['innocent'])} innocent",
         f"{_of(c['false_positives'], c['innocent'])} innocent accounts banned or restricted"),
        ("Precision", _pct(h["precision"]), f"of {enforced:,} enforced",
         f"of {enforced:,} banned or restricted accounts, the share that were abusive"),
        ("Proactive share", _pct(h["proactive_share"]),
         f"{_of(c['caught_proactively'], c['caught'])} before a report",
         (f"{_of(c['caught_proactively'], c['caught'])} caught abusers enforced before any "
         "user report on them (WhatsApp, 2019: over 75%)")),
        ("Registration share", _pct(h["registration_share"]),
         f"{_of(c['caught_at_registration'], c['caught'])} at sign-up",
         (f"{_of(c['caught_at_registration'], c['caught'])} caught abusers stopped at "
         "registration (WhatsApp, 2019: about 20%)")),
        ("Harm prevented", _pct(h["harm_prevented"]),
         f"{_of(stopped, c['abusive_messages_attempted'])} messages",
         (f"{_of(stopped, c['abusive_messages_attempted'])} abusive messages came after "
          "enforcement, so were refused")),
        ("Harm prevented, by recipients", _pct(h["harm_prevented_by_recipients"]),
         f"{_of(blocked, c['abusive_recipients_attempted'])} recipients",
         (f"{_of(blocked, c['abusive_recipients_attempted'])} recipients of abusive messages "
          "(a group message counts once per other member) were spared")),
        ("Messages before action", f"{_num(msgs['median'])} / {_num(msgs['p90'])}",
         "median / p90",
         "median / 90th percentile over all abusers (missed ones with all their messages)"),
        ("Time to action", f"{_duration(tta['median'])} / {_duration(tta['p90'])}",
         "median / p90",
         "median / 90th percentile, from first event (or takeover) to enforcement"),
        ("Innocent challenged", _pct(f["innocent_challenged_rate"], 2),
         f"{_of(f['innocent_challenged'], c['innocent'])} innocent",
         (f"{_of(f['innocent_challenged'], c['innocent'])} innocent accounts got a challenge, "
         "restriction or ban")),
    ]


# -- terminal ------------------------------------------------------------------------------


def console(stderr: bool = False) -> Console:
    """A rich console; when output goes to a file or pipe, wide enough for the tables."""
    con = Console(stderr=stderr)
    return con if con.is_terminal else Console(stderr=stderr, width=110)


def print_problems(ev: Evaluation, file: TextIO | None = None, limit: int = 20) -> None:
    """List skipped input lines, one ``file:line: why`` per line (to stderr by default)."""
    out = file if file is not None else sys.stderr
    for p in ev.problems[:limit]:
        print(f"skipped {p}", file=out)
    inp = ev.inputs
    total = inp["labels_skipped"] + inp["decisions_skipped"] + inp["events_skipped"]
    if total > min(limit, len(ev.problems)):
        print(f"... {total:,} skipped lines in all: {inp['labels_skipped']:,} labels, "
              f"{inp['decisions_skipped']:,} decisions, {inp['events_skipped']:,} events",
              file=out)


def print_summary(ev: Evaluation, console: Console) -> None:
    """Print the headline figures and the per-archetype tables as rich tables."""
    table = Table(title="Seawall evaluation", title_justify="left", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right", style="bold")
    table.add_column("counted")
    for name, value, note, _ in _headline_rows(ev):
        table.add_row(name, value, note)
    console.print(table)
    if ev.archetypes is None:
        return
    abuse = Table(title="Abusive accounts by archetype", title_justify="left")
    for col in ("archetype", "accounts", "caught", "recall", "time to action",
                "harm prevented", "caught by stage"):
        abuse.add_column(col, justify="left" if col in ("archetype", "caught by stage")
                         else "right")
    for r in ev.archetypes["abuse"]:
        abuse.add_row(r["archetype"], f"{r['accounts']:,}", f"{r['caught']:,}",
                      _pct(r["recall"]), _duration(r["median_time_to_action_seconds"]),
                      _pct(r["harm_prevented"]), _stages(r["caught_by_stage"]))
    console.print(abuse)
    innocent = Table(title="Innocent accounts by archetype", title_justify="left")
    for col in ("archetype", "accounts", "false positives", "FP rate", "challenged"):
        innocent.add_column(col, justify="left" if col == "archetype" else "right")
    for r in ev.archetypes["innocent"]:
        innocent.add_row(r["archetype"], f"{r['accounts']:,}", f"{r['false_positives']:,}",
                         _pct(r["false_positive_rate"], 2), f"{r['challenged']:,}")
    console.print(innocent)


def _stages(by_stage: dict[str, int]) -> str:
    return ", ".join(f"{s} {n:,}" for s, n in by_stage.items()) or "-"


# -- files ---------------------------------------------------------------------------------


def write_report(ev: Evaluation, directory: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``directory``; return both paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_bytes(orjson.dumps(ev.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    html_path.write_text(render_html(ev), encoding="utf-8")
    return json_path, html_path


# -- plots ---------------------------------------------------------------------------------


def _svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    # A fixed salt and no date make the SVG bytes depend on the figure only.
    with matplotlib.rc_context({"svg.hashsalt": "seawall", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    # The XML prolog and the RDF metadata block are noise inside an HTML page.
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text[text.index("<svg"):], flags=re.DOTALL)


def _figure(width: float = 6.4, height: float = 3.6) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _integer_x(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _legend_outside(ax: Any) -> None:
    # Above the axes, so it never hides a bar or a label.
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=5, frameon=False,
              fontsize="small")


def _plot_caught(ev: Evaluation) -> str:
    if ev.archetypes is not None:
        rows = ev.archetypes["abuse"]
        names = [r["archetype"] for r in rows]
        caught = [r["caught"] for r in rows]
        missed = [r["accounts"] - r["caught"] for r in rows]
    else:
        names = ["all abusive accounts"]
        caught = [ev.counts["caught"]]
        missed = [ev.counts["abusers"] - ev.counts["caught"]]
    fig, ax = _figure(6.4, 0.6 + 0.45 * len(names))
    ys = list(range(len(names)))[::-1]
    ax.barh(ys, caught, color=_CAUGHT, label="caught")
    ax.barh(ys, missed, left=caught, color=_MISSED, label="not caught")
    for y, c, m in zip(ys, caught, missed, strict=True):
        if c + m:
            ax.annotate(f" {100 * c / (c + m):.0f}%", (c + m, y), va="center")
    ax.set_xlim(0, max(1, *(c + m for c, m in zip(caught, missed, strict=True))) * 1.12)
    ax.set_yticks(ys, names)
    ax.set_xlabel("abusive accounts")
    _integer_x(ax)
    _legend_outside(ax)
    return _svg(fig)


def _plot_time_to_action(values: Sequence[float]) -> str:
    import numpy as np

    fig, ax = _figure()
    if values:
        xs = np.sort(np.maximum(np.asarray(values, dtype=float), 0.0))
        ys = np.arange(1, len(xs) + 1) / len(xs)
        ax.step(xs, ys, where="post", color=_CAUGHT)
        ax.set_xscale("symlog", linthresh=1.0)
        ticks = [t for t in (0, 1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400)
                 if t <= max(1.0, xs[-1]) * 1.5]
        labels = {0: "0", 1: "1 s", 10: "10 s", 60: "1 min", 600: "10 min", 3600: "1 h",
                  6 * 3600: "6 h", 86400: "1 d", 7 * 86400: "7 d"}
        ax.set_xticks(ticks, [labels[t] for t in ticks])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time from first event (or takeover) to enforcement")
    ax.set_ylabel("share of caught abusers")
    ax.grid(alpha=0.3)
    return _svg(fig)


def _plot_decisions(ev: Evaluation) -> str:
    stages = list(ev.decisions["by_stage"])
    counts = ev.decisions["by_stage_action"]
    fig, ax = _figure(6.4, 0.8 + 0.45 * max(1, len(stages)))
    ys = list(range(len(stages)))[::-1]
    left = [0] * len(stages)
    for action in _ACTIONS:
        widths = [counts.get(f"{s}/{action}", 0) for s in stages]
        if any(widths):
            ax.barh(ys, widths, left=left, color=_ACTION_COLOURS[action], label=action)
            left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, stages)
    ax.set_xlabel("decisions (all accounts)")
    _integer_x(ax)
    if stages:
        _legend_outside(ax)
    return _svg(fig)


def _plot_messages(ev: Evaluation) -> str:
    hist = ev.distributions["messages_delivered_before_action"]["histogram"]
    fig, ax = _figure()
    xs = range(len(hist))
    ax.bar(xs, [b["abusers"] for b in hist], color=_MISSED)
    ax.set_xticks(list(xs), [b["bin"] for b in hist], rotation=30)
    ax.set_xlabel("abusive messages delivered before enforcement")
    ax.set_ylabel("abusive accounts")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(fig)


def _plots(ev: Evaluation) -> list[str]:
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the figures and tables above still tell the whole story
        return ['<p class="sub">Plots need matplotlib (<code>pip install matplotlib</code>).</p>']
    return [f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"
            for caption, svg in [
                ("Abusive accounts caught and not caught, by archetype", _plot_caught(ev)),
                ("Time to action: share of caught abusers enforced within a given time",
                 _plot_time_to_action(ev.series.get("time_to_action_seconds", []))),
                ("Decisions per stage, by action", _plot_decisions(ev)),
                ("Abusive messages delivered before enforcement, per abusive account",
                 _plot_messages(ev)),
            ]]


# -- HTML ----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:2em auto;
max-width:1100px;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
.sub{color:#666}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));
gap:.8em;margin:1em 0}.card{border:1px solid #ddd;border-radius:6px;padding:.7em 1em}
.card .v{font-size:2em;font-weight:600}.card .n{font-weight:600}.card .w{color:#555;
font-size:.9em}table{border-collapse:collapse;margin:.6em 0}th,td{border-bottom:1px solid #eee;
padding:.3em .8em;text-align:right}th{background:#f6f6f6}td.l,th.l{text-align:left}
code{font-size:.85em}figure{margin:1em 0}figure svg{max-width:100%;height:auto}
figcaption{color:#555}dl.defs dt{font-weight:600}dl.defs dd{margin:0 0 .5em 1em}
"""

_DEFINITIONS = [
    ("Enforcement", ("an account's first ban or restrict decision. Review is not enforcement; "
     "a later reinstate (e.g. on appeal) does not undo it here.")),
    ("Recall", "abusive accounts enforced while abusive / abusive accounts."),
    ("False-positive rate", ("innocent accounts enforced while innocent / innocent accounts. "
     "Innocent = labelled legit, plus taken-over accounts before their takeover.")),
    ("Precision", "caught / (caught + false positives), per account."),
    ("Proactive share", ("caught abusers enforced strictly before any user report naming them "
     "/ caught abusers.")),
    ("Registration share", ("caught abusers whose enforcing decision has stage registration / "
     "caught abusers.")),
    ("Harm prevented", ("1 - abusive messages sent before enforcement / all abusive messages "
     "(a group message counts once).")),
]


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="l"' if i < left else ""
        return f"<{tag}{cls}>{html.escape(str(v))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(ev: Evaluation) -> str:
    """The whole report as one HTML document with inline CSS and SVG."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Seawall evaluation</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Seawall evaluation</h1>",
             (f'<p class="sub">{ev.counts["accounts_labelled"]:,} labelled accounts '
             f'({ev.counts["abusers"]:,} abusive, {ev.counts["innocent"]:,} innocent), '
             f'{ev.inputs["events_lines"]:,} events, {ev.decisions["total"]:,} decisions.</p>'),
             '<div class="cards">']
    for name, value, _, note in _headline_rows(ev):
        parts.append(f'<div class="card"><div class="n">{e(name)}</div>'
                     f'<div class="v">{e(value)}</div><div class="w">{e(note)}</div></div>')
    parts.append("</div>")

    if ev.archetypes is not None:
        parts.append("<h2>Abusive accounts by archetype</h2>")
        parts.append(_table(
            ["archetype", "accounts", "caught", "recall", "median time to action",
             "harm prevented", "caught by stage"],
            [[r["archetype"], f"{r['accounts']:,}", f"{r['caught']:,}", _pct(r["recall"]),
              _duration(r["median_time_to_action_seconds"]), _pct(r["harm_prevented"]),
              _stages(r["caught_by_stage"])] for r in ev.archetypes["abuse"]]))
        parts.append("<h2>Innocent accounts by archetype</h2>")
        parts.append(_table(
            ["archetype", "accounts", "false positives", "false-positive rate", "challenged",
             "challenged rate"],
            [[r["archetype"], f"{r['accounts']:,}", f"{r['false_positives']:,}",
              _pct(r["false_positive_rate"], 2), f"{r['challenged']:,}",
              _pct(r["challenged_rate"], 2)] for r in ev.archetypes["innocent"]]))

    parts.append("<h2>Decisions by stage</h2>")
    stages = list(ev.decisions["by_stage"])
    sa = ev.decisions["by_stage_action"]
    parts.append(_table(["stage", *_ACTIONS, "total"],
                        [[s, *(f"{sa.get(f'{s}/{a}', 0):,}" for a in _ACTIONS),
                          f"{ev.decisions['by_stage'][s]:,}"] for s in stages]))
    parts.append(f'<p class="sub">Caught abusers by enforcing stage: '
                 f'{e(_stages(ev.counts["caught_by_stage"]))}.</p>')

    ex = ev.examples
    if ex["false_positives"]:
        parts.append("<h2>False positives</h2>")
        parts.append(_table(["account", "archetype", "ts", "action", "stage", "reasons"],
                            [[r["account"], r["archetype"] or "", r["ts"], r["action"],
                              r["stage"], ", ".join(r["reasons"])]
                             for r in ex["false_positives"]], left=6))
    if ex["missed_abusers"]:
        parts.append("<h2>Abusive accounts not caught, most messages first</h2>")
        parts.append(_table(["account", "archetype", "messages delivered"],
                            [[r["account"], r["archetype"] or "", f"{r['messages_delivered']:,}"]
                             for r in ex["missed_abusers"]], left=2))

    parts.append("<h2>Plots</h2>")
    parts.extend(_plots(ev))

    parts.append('<h2>Definitions</h2><dl class="defs">')
    for term, text in _DEFINITIONS:
        parts.append(f"<dt>{e(term)}</dt><dd>{e(text)}</dd>")
    parts.append("</dl>")

    parts.append("<h2>Run configuration</h2>")
    cfg = ev.config
    files = [("events", f) for f in cfg["events"]] + [("labels", cfg["labels"])]
    for kind in ("decisions", "rules"):
        if cfg.get(kind) and "path" in cfg[kind]:
            files.append((kind, cfg[kind]))
    parts.append(_table(["input", "path", "bytes", "sha256"],
                        [[k, f["path"], f"{f['bytes']:,}", f["sha256"]] for k, f in files],
                        left=2))
    if cfg.get("decisions") and "source" in cfg["decisions"]:
        parts.append(f'<p class="sub">Decisions: {e(cfg["decisions"]["source"])}; rules: '
                     f'{e(cfg["rules"]["path"]) if cfg.get("rules") else "built-in"}.</p>')
    inp = ev.inputs
    parts.append(f'<p class="sub">Skipped lines: {inp["labels_skipped"]:,} labels, '
                 f'{inp["decisions_skipped"]:,} decisions, {inp["events_skipped"]:,} events. '
                 f'Seawall {e(ev.to_dict()["seawall_version"])}.</p>')
    if ev.problems:
        parts.append("<ul>" + "".join(f"<li><code>{e(str(p))}</code></li>"
                                      for p in ev.problems[:20]) + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
