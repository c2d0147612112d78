"""``seawall simulate``: write a simulated platform's events and labels."""

from __future__ import annotations

import time
from pathlib import Path

import click

from seawall.simulation.config import ConfigError, load_config
from seawall.simulation.platform import DEFAULT_START, simulate

__all__ = ["simulate_command"]


@click.command("simulate")
@click.option("--accounts", "-n", type=click.IntRange(min=1), required=True,
              help="Number of accounts.")
@click.option("--days", "-d", type=click.IntRange(min=1), required=True,
              help="Simulated days.")
@click.option("--seed", "-s", type=int, default=0, show_default=True,
              help="Random seed; the same seed gives byte-identical files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Directory for events.jsonl and labels.jsonl.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="YAML file overriding rates and the archetype mix.")
@click.option("--no-address-books", is_flag=True,
              help="Platform without address books: every in_contacts is null.")
@click.option("--no-typing", is_flag=True,
              help="Platform without typing indicators: every typed is null.")
@click.option("--start", default=DEFAULT_START, show_default=True,
              help="Start of the simulated window (ISO date or date-time, UTC).")
def simulate_command(accounts: int, days: int, seed: int, out_dir: Path,
                     config_path: Path | None, no_address_books: bool, no_typing: bool,
                     start: str) -> None:
    """Simulate a messaging platform: ordinary people, hard innocent cases and abusers.

    Writes OUT/events.jsonl (contract v1, sorted by ts, unique ids) and OUT/labels.jsonl
    (account, label, archetype, and abuse_from for account takeovers).
    """
    began = time.perf_counter()
    try:
        config = load_config(config_path) if config_path is not None else None
        result = simulate(accounts, days, seed, out_dir, config,
                          address_books=not no_address_books, typing=not no_typing,
                          start=start)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or out_dir}: {exc.strerror}") from None
    elapsed = time.perf_counter() - began
    click.echo(f"{result.accounts} accounts ({result.labels['abuse']} abusive), "
               f"{result.events} events, {days} day(s), seed {seed}, {elapsed:.1f} s")
    width = max(len(name) for name in result.archetypes)
    for name, n in sorted(result.archetypes.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {name:<{width}}  {n:>7}")
    click.echo(f"wrote {result.events_path} and {result.labels_path}")
