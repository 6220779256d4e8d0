"""The ``vllora`` command line. One click command per module, imported lazily so startup stays fast.

Each module ``vllora/cli/<name>.py`` defines a click command named ``command``. Errors are one clear line
on stderr and a non-zero exit (raise ``click.ClickException`` or a ``VlloraError``), never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from vllora import __version__

# command name -> module under vllora.cli (each exposes `command`)
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "build": "build",
    "list": "list_models",
    "serve": "serve",
    "sync": "sync",
    "docs": "docs",
    "keys": "keys",
    "audit": "audit",
    "usage": "usage",
    "requests": "requests",
}

_SHORT_HELP: dict[str, str] = {
    "validate": "Check every registry file; print file:line problems.",
    "build": "Compile the registry into the catalog artifact.",
    "list": "Print the model catalog as a table or JSON.",
    "serve": "Run the gateway (Models API + OpenAI-compatible routing).",
    "sync": "Learn new models from the providers' list endpoints.",
    "docs": "Generate (or --check) the catalog and CLI pages under docs/.",
    "keys": "Issue and manage gateway keys: budgets, rate limits, allowlists.",
    "audit": "Compare registry facts with models.dev, LiteLLM and OpenRouter.",
    "usage": "Usage and cost from the request log, by model, provider, day...",
    "requests": "Recent requests from the request log (--follow to tail it).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        try:
            cmd: click.Command = importlib.import_module(f"vllora.cli.{module}").command
        except ModuleNotFoundError as exc:
            if exc.name == f"vllora.cli.{module}":
                return None
            raise
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vllora")
def cli() -> None:
    """vllora: a model registry and a fast OpenAI-compatible LLM gateway.

    \b
    Examples:
      vllora validate                 # check registry/ (file:line for every problem)
      vllora list --capability chat   # the catalog as a table
      vllora serve --port 9090        # Models API + /v1 routing on 127.0.0.1:9090
    """


def main(argv: list[str] | None = None) -> Any:
    from vllora.errors import VlloraError

    try:
        return cli.main(args=argv, prog_name="vllora", standalone_mode=True)
    except VlloraError as exc:  # pragma: no cover - commands normally convert these themselves
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
