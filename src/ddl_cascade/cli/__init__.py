"""The command line: parse arguments, call a domain module, render its result. Nothing else lives here.

Each command is one module in this package that registers itself on `app`. `main` is the only place that turns a
`CascadeError` into one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import sys

import typer

from ddl_cascade import __version__
from ddl_cascade.errors import CascadeError
from ddl_cascade.redact import redact

app = typer.Typer(
    name="ddl-cascade",
    help="Keep shared Flyway DDL in one parent repository and cascade it, verified, to child repositories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ddl-cascade {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Keep shared Flyway DDL in one parent repository and cascade it, verified, to child repositories."""


def _register() -> None:
    # Each module adds its commands to `app` when imported.
    from ddl_cascade.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, prog_name="ddl-cascade")
    except CascadeError as exc:
        print(f"ddl-cascade: {redact(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("ddl-cascade: interrupted.", file=sys.stderr)
        sys.exit(130)
