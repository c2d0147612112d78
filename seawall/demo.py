"""``seawall demo``: simulate a platform, replay it through the engine, measure the result.

The three steps are the library calls a user would chain by hand::

    seawall simulate --accounts 5000 --days 2 --seed 7 --out out/demo
    seawall replay out/demo/events.jsonl --out out/demo/decisions.jsonl
    seawall evaluate --events out/demo/events.jsonl --labels out/demo/labels.jsonl \\
        --decisions out/demo/decisions.jsonl --report out/demo

so that everything the demo shows can be reproduced, and inspected, file by file. The
simulator's labels carry each account's archetype, so the summary says which kinds of abuse
the engine stops and which innocent behaviours it hurts.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

__all__ = ["demo_command"]


@click.command("demo")
@click.option("--accounts", default=5000, show_default=True, type=click.IntRange(min=1),
              help="Accounts on the simulated platform.")
@click.option("--days", default=2, show_default=True, type=click.IntRange(min=1),
              help="Days of simulated activity.")
@click.option("--seed", default=7, show_default=True, type=int,
              help="Random seed: the same seed gives the same platform and report.")
@click.option("--out", "out_dir", default="out/demo", show_default=True,
              type=click.Path(file_okay=False),
              help="Directory for events, labels, decisions and the report.")
def demo_command(accounts: int, days: int, seed: int, out_dir: str) -> None:
    """Simulate a platform, replay it through the engine, report how well it did."""
    from seawall import report
    from seawall.evaluation import EvaluationError, evaluate
    from seawall.replay import replay
    from seawall.rules import default_rules_path
    from seawall.simulation import simulate

    console = report.console()
    out = Path(out_dir)
    # Wall-clock times below are shown to the user only; no output file contains them.
    started = time.perf_counter()

    console.print(f"[bold]1/3[/] Simulating {accounts:,} accounts over {days} day(s), "
                  f"seed {seed} ...")
    t0 = time.perf_counter()
    try:
        with console.status("simulating the platform"):
            sim = simulate(accounts=accounts, days=days, seed=seed, out_dir=out)
    except ValueError as exc:  # the simulator's ConfigError names the option and why
        raise click.ClickException(str(exc)) from None
    events_path, labels_path = Path(sim.events_path), Path(sim.labels_path)
    console.print(f"    {sim.events:,} events, {sim.labels['abuse']:,} abusive and "
                  f"{sim.labels['legit']:,} legit accounts -> {events_path} "
                  f"({time.perf_counter() - t0:.1f} s)")

    console.print("[bold]2/3[/] Replaying the events through the engine ...")
    decisions_path = out / "decisions.jsonl"
    rules = default_rules_path()
    result = replay([str(events_path)], rules=rules, out=str(decisions_path), progress=True)
    s = result.summary
    console.print(f"    {s['events_accepted']:,} events, {len(result.decisions):,} decisions "
                  f"-> {decisions_path} ({s['events_per_second']:,.0f} events/s)")

    console.print("[bold]3/3[/] Measuring the decisions against the simulator's labels ...")
    try:
        ev = evaluate([events_path], labels_path, decisions=decisions_path, rules=rules)
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from None
    report.print_problems(ev)
    json_path, html_path = report.write_report(ev, out)
    console.print()
    report.print_summary(ev, console)
    console.print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    click.echo(f"Report: {html_path}")
    click.echo(f"        {json_path}")
