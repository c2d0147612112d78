"""Replay: run the whole engine over recorded events, in event time, exactly as online.

``seawall replay EVENTS.jsonl [...] --out DECISIONS.jsonl`` reads the files in the order
given (each in ``ts`` order, as the contract says; give daily files oldest first), writes
every decision as one JSON line, optionally every rejected line to ``--rejects``, and ends
with a summary. The same input and configuration give byte-identical output.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import click
import orjson

from seawall.decisions import Decision
from seawall.engine import Engine, EngineConfig
from seawall.ingest import Reject
from seawall.rules import RuleError, RuleSet

CHUNK_BYTES = 1 << 20


class StrictModeError(Exception):
    """Raised by ``--strict`` replays on the first invalid line."""

    def __init__(self, reject: Reject) -> None:
        self.reject = reject
        super().__init__(f"{reject.source}:{reject.line}: {reject.reason}")


@dataclass
class ReplayResult:
    decisions: list[Decision]
    summary: dict = field(default_factory=dict)
    engine: Engine | None = None


def replay(paths, rules: RuleSet | str | Path | None = None, model="default", out=None,
           rejects=None, progress: bool = False, strict: bool = False,
           config: EngineConfig | None = None, engine: Engine | None = None,
           keep_decisions: bool = True) -> ReplayResult:
    """Replay event files through one engine; see the module docstring.

    ``out`` and ``rejects`` are paths (or None). ``paths`` may include ``-`` for stdin.
    ``model`` is "default" (the shipped model), None (rules only) or a model file.
    """
    eng = engine or Engine(config=config, rules=rules, model=model)
    paths = [str(p) for p in paths]
    out_f = open(out, "wb") if out is not None else None
    rej_f = open(rejects, "wb") if rejects is not None else None
    decisions: list[Decision] = []
    rejected: Counter[str] = Counter()
    read = 0
    total_bytes = sum(Path(p).stat().st_size for p in paths if p != "-")
    started = time.perf_counter()
    bar = _Progress(total_bytes) if progress else None
    try:
        for path in paths:
            f = sys.stdin.buffer if path == "-" else open(path, "rb")
            line_no = 1
            try:
                while True:
                    lines = f.readlines(CHUNK_BYTES)
                    if not lines:
                        break
                    got, rej = eng.ingest_lines(lines, source=path, first_line=line_no)
                    line_no += len(lines)
                    read += sum(1 for ln in lines if ln.strip())
                    if rej:
                        if strict:
                            raise StrictModeError(rej[0])
                        for r in rej:
                            rejected[r.kind] += 1
                            if rej_f is not None:
                                rej_f.write(orjson.dumps(r.to_dict()) + b"\n")
                    if out_f is not None:
                        out_f.writelines(d.to_json() + b"\n" for d in got)
                    if keep_decisions:
                        decisions.extend(got)
                    if bar is not None:
                        bar.advance(sum(len(ln) for ln in lines), read, eng)
            finally:
                if f is not sys.stdin.buffer:
                    f.close()
    finally:
        if bar is not None:
            bar.close()
        if out_f is not None:
            out_f.close()
        if rej_f is not None:
            rej_f.close()
    seconds = time.perf_counter() - started
    c = eng.counters
    summary = {
        "events_read": read,
        "events_accepted": c["events"],
        "events_rejected": sum(rejected.values()),
        "rejected_by_reason": dict(sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))),
        "duplicates_ignored": c["duplicates"],
        "refused_attempts": c["refused"],
        "decisions": c["decisions"],
        "decisions_by_action": _by_prefix(c, "action:"),
        "decisions_by_stage": _by_prefix(c, "stage:"),
        "accounts": len(eng.ingest.account_names) - 1,
        "seconds": round(seconds, 3),
        "events_per_second": round(read / seconds) if seconds > 0 else None,
    }
    return ReplayResult(decisions=decisions, summary=summary, engine=eng)


def _by_prefix(c: Counter, prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in sorted(c.items()) if k.startswith(prefix)}


class _Progress:
    """A rich progress bar over bytes read, with events and decisions so far."""

    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.p = Progress(TextColumn("[bold]replay"), BarColumn(),
                          TextColumn("{task.percentage:>3.0f}%"),
                          TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                          TimeRemainingColumn(), transient=False)
        self.task = self.p.add_task("replay", total=total or None, info="")
        self.p.start()

    def advance(self, nbytes: int, events: int, eng: Engine) -> None:
        c = eng.counters
        self.p.update(self.task, advance=nbytes,
                      info=f"{events:,} events · {c['decisions']:,} decisions "
                           f"· {c['action:ban']:,} bans")

    def close(self) -> None:
        self.p.stop()


def print_summary(summary: dict, file=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stderr)
    t = Table(title="Replay summary", show_header=False)
    t.add_row("events read", f"{summary['events_read']:,}")
    t.add_row("accepted", f"{summary['events_accepted']:,}")
    t.add_row("rejected", f"{summary['events_rejected']:,}")
    for reason, n in list(summary["rejected_by_reason"].items())[:10]:
        t.add_row(f"  {reason}", f"{n:,}")
    t.add_row("duplicates ignored", f"{summary['duplicates_ignored']:,}")
    t.add_row("refused attempts", f"{summary['refused_attempts']:,}")
    t.add_row("decisions", f"{summary['decisions']:,}")
    for k, n in summary["decisions_by_action"].items():
        t.add_row(f"  action {k}", f"{n:,}")
    for k, n in summary["decisions_by_stage"].items():
        t.add_row(f"  stage {k}", f"{n:,}")
    t.add_row("throughput", f"{summary['events_per_second'] or 0:,} events/s "
                            f"({summary['seconds']} s)")
    console.print(t)


@click.command("replay")
@click.argument("events", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Where to write decisions (NDJSON).")
@click.option("--rules", type=click.Path(dir_okay=False), help="Rule file (default: shipped).")
@click.option("--model", type=click.Path(dir_okay=False), default="default", show_default=True,
              help="Model file from `seawall train`; `default` is the shipped model.")
@click.option("--no-model", is_flag=True, help="Rules only.")
@click.option("--rejects", type=click.Path(dir_okay=False),
              help="Write each rejected line here (NDJSON: source, line, reason, raw).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Engine options (YAML); see docs/configuration.md.")
@click.option("--strict", is_flag=True, help="Stop at the first invalid line (exit 2).")
@click.option("--progress/--no-progress", default=None,
              help="Progress display (default: when stderr is a terminal).")
@click.option("--json-summary", is_flag=True, help="Print the summary as JSON on stdout.")
def replay_command(events, out, rules, model, no_model, rejects, config_path, strict, progress,
                   json_summary) -> None:
    """Run the engine over recorded EVENTS files (NDJSON, contract v1) in event time.

    Files are read in the order given; `-` reads stdin. Decisions go to --out, one JSON
    object per line; invalid lines are reported with file:line and reason, counted, and
    skipped (unless --strict).
    """
    for p in events:
        if p != "-" and not Path(p).is_file():
            raise click.UsageError(f"events file not found: {p}")
    try:
        config = load_config(config_path) if config_path else None
        result = replay(events, rules=rules, model=None if no_model else model, out=out,
                        rejects=rejects,
                        progress=sys.stderr.isatty() if progress is None else progress,
                        strict=strict, config=config, keep_decisions=False)
    except RuleError as exc:
        raise click.ClickException(f"invalid rules:\n{exc}") from None
    except StrictModeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if json_summary:
        click.echo(orjson.dumps(result.summary, option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(result.summary)


def load_config(path: str | Path) -> EngineConfig:
    """Engine options from a YAML file; unknown keys and bad values name the key."""
    import msgspec
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read engine configuration: {exc}") from None
    try:
        return msgspec.convert(data, EngineConfig)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from None
