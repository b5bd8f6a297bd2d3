"""The Typer app every command module registers on, with the settings all commands share (`-h`, no type markers)."""

from __future__ import annotations

import typer

from ddl_cascade import __version__
from ddl_cascade.errors import PROG

# `-h` works as `--help` on every command: click hands the setting down to each subcommand's context.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name=PROG,
    help="Keep shared Flyway DDL in one parent repository and cascade it, verified, to child repositories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT_SETTINGS,
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


def _no_type_markers() -> None:
    """Help without Typer's `<bool>`, `<str>`, `<int>`, `<path>`, `<list[str]>` markers.

    Typer 0.29 renders each parameter's type from `display_type_rich()`, which its help formatters (rich and plain
    alike) call for every option and argument, flags included; no setting turns it off, and an option's `metavar`
    replaces it only for options. So, once for every command: a flag shows no type, an option taking a value shows
    its metavar (default: PATH for paths, else its name in capitals, as argparse does), and an argument shows only
    its name.
    """
    from typer.core import TyperArgument, TyperOption

    def option_type(self, ctx) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        label = "PATH" if self.type_descriptor.is_path else (self.name or "value").upper()
        return label + ("..." if self.nargs != 1 else "")

    TyperOption.display_type_rich = option_type
    TyperArgument.display_type_rich = lambda self, ctx: None


_no_type_markers()
