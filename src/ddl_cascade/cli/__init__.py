"""The command line: parse arguments, call a domain module, render its result. Nothing else lives here.

Each command is one module in this package that registers itself on `app` (cli/app.py). `main` runs the app inside
`errors.error_handler()`, the one place that turns an expected failure into one sentence on stderr and an exit code;
a command line that Typer rejects becomes an `errors.UsageError` there (exit 2).
"""

from __future__ import annotations

import sys

import typer

from ddl_cascade.cli.app import app
from ddl_cascade.errors import PROG, UsageError, error_handler

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
