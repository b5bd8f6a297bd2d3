"""The command line: parse arguments, call a domain module, render its result. Nothing else lives here.

Each command is one module in this package that registers itself on `app`. `main` runs the app inside
`errors.error_handler()`, the one place that turns an expected failure into one sentence on stderr and an exit code;
a command line that Typer rejects becomes an `errors.UsageError` there (exit 2).
"""

from __future__ import annotations

import sys

import typer

from ddl_cascade import __version__
from ddl_cascade.errors import PROG, UsageError, error_handler

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


def _register() -> None:
    # Each module adds its commands to `app` when imported.
    from ddl_cascade.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    with error_handler():
        code = _run(sys.argv[1:] if argv is None else list(argv))
    sys.exit(code)


def _run(args: list[str]) -> int:
    """Parse and run one command line; the exit code. Typer's own error printing (a boxed panel per usage error,
    silence on Ctrl-C) is bypassed: usage errors become one `UsageError` sentence, the rest reaches error_handler."""
    from typer.main import get_command

    _register()
    command = get_command(app)
    try:
        with command.make_context(PROG, args) as ctx:
            command.invoke(ctx)
    except typer.Exit as exc:  # --help, --version, and every command's own exit code
        return exc.exit_code
    except typer.TyperException as exc:  # click's errors (Typer vendors click): the command line is wrong
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `ddl-cascade`: the help is the answer
            text = exc.format_message()
            if text.strip():  # the rich formatter has already printed it on stdout
                print(text, file=sys.stderr)
            return getattr(exc, "exit_code", 2)
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx is not None else _command_path(command, args)
        raise UsageError(f"{' '.join(exc.format_message().split())} (see '{path} --help')") from None
    return 0


def _command_path(command, args: list[str]) -> str:
    """`ddl-cascade db verify` for `db verify --url`: the commands named in `args` (for errors click raises without
    a context, such as an option missing its value)."""
    path = [PROG]
    for arg in args:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            if not arg.startswith("-"):
                break
            continue
        path.append(arg)
        command = sub
    return " ".join(path)
