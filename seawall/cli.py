"""The ``seawall`` command. Each subcommand lives beside the part of the engine it drives."""

from __future__ import annotations

import click

from seawall import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seawall")
def cli() -> None:
    """Seawall stops bulk and automated messaging from event metadata.

    Start with `seawall demo`, or `seawall replay EVENTS.jsonl --out DECISIONS.jsonl`.
    """


@cli.group("rules")
def rules_group() -> None:
    """Check and inspect rule files."""


@rules_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def rules_check(file: str) -> None:
    """Validate a rule FILE: every problem is listed with file:line and why (exit 1)."""
    from seawall.rules import RuleError, load_rules

    try:
        rs = load_rules(file)
    except RuleError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    stages = {s: sum(r.stage == s for r in rs.rules) for s in ("registration", "messaging",
                                                                 "feedback")}
    click.echo(f"{file}: {len(rs.rules)} rules OK ("
               + ", ".join(f"{n} {s}" for s, n in stages.items()) + ")")


@rules_group.command("show")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def rules_show(file: str | None) -> None:
    """Print the rules of FILE (default: the shipped ruleset) as a table."""
    from rich.console import Console
    from rich.table import Table

    from seawall.rules import RuleError, load_rules

    try:
        rs = load_rules(file)
    except RuleError as exc:
        raise click.ClickException(str(exc)) from None
    t = Table("name", "stage", "action", "reason", "when", title=rs.source)
    for r in rs.rules:
        t.add_row(r.name, r.stage, r.action, r.reason, " ".join(r.when.split()))
    Console().print(t)


@cli.command("signals")
def signals_command() -> None:
    """List every signal rules and models can read, with its meaning."""
    from seawall.signals import by_family

    for family, signals in by_family():
        click.echo(f"\n[{family}]")
        for s in signals:
            click.echo(f"  {s.name:28} {s.doc}")
            if s.source:
                click.echo(f"  {'':28} source: {s.source}")


# Subcommands are registered here, one line each (keep this block sorted by name).
# -- commands --
from seawall.campaigns import campaigns_command

cli.add_command(campaigns_command)
from seawall.fingerprint import report_text_command

cli.add_command(report_text_command)
from seawall.simulation.commands import simulate_command

cli.add_command(simulate_command)
from seawall.replay import replay_command

cli.add_command(replay_command)
from seawall.cases import cases

cli.add_command(cases)
from seawall.demo import demo_command

cli.add_command(demo_command)
from seawall.evaluation import evaluate_command

cli.add_command(evaluate_command)
from seawall.service.commands import register as register_service

register_service(cli)  # serve, audit verify, keys create|list|revoke
from seawall.training import register as register_training

register_training(cli)  # train, model show, compare


def main() -> None:
    cli()
