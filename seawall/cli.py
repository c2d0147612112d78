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


# Subcommands are registered here, one line each (keep this block sorted by name).
# -- commands --
from seawall.cases import cases  # noqa: E402
cli.add_command(cases)
from seawall.demo import demo_command  # noqa: E402
cli.add_command(demo_command)
from seawall.evaluation import evaluate_command  # noqa: E402
cli.add_command(evaluate_command)
from seawall.service.commands import register as register_service  # noqa: E402
register_service(cli)  # serve, audit verify, keys create|list|revoke


def main() -> None:
    cli()
