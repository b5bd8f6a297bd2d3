"""The process entry point: `ddl-cascade publish` and `ddl-cascade guard` without loading the full command line,
everything else via Typer.

An incremental publish does about 30 ms of work, but importing Typer (click, and pydantic through Typer's adapters)
costs several times that, and issue 2 gives publish 0.3 s wall including Python start-up. So a publish whose
arguments this module fully understands (`--config PATH`, `--json`, `--push`, `--force`) runs here, with the same
output, errors and exit codes as the Typer command in `cli/publish.py`: both run inside `errors.error_handler()`,
which imports neither Typer nor click. Any other invocation, and any publish invocation with something else in it
(`--help`, a typo), goes to the Typer app unchanged, so there is still one place that defines the command line.

`guard` runs as a pre-commit hook on every commit and has 0.2 s (issue 12): its plain option forms (`--staged`,
`--json`, `--base REV`, `--prefix P`, `--parent URL`) run here too, through the same domain function and renderer as
`cli/guard.py`.
"""

from __future__ import annotations

import sys

_FLAGS = {"--json": "json", "--push": "push", "--force": "force"}


def main(argv: list[str] | None = None) -> None:
    from ddl_cascade.errors import error_handler

    args = sys.argv[1:] if argv is None else list(argv)
    with error_handler():  # also around the imports: a Ctrl-C while Typer loads is "interrupted.", exit 130
        parsed = _parse_publish(args[1:]) if args[:1] == ["publish"] else None
        guarded = _parse_guard(args[1:]) if args[:1] == ["guard"] else None
        if parsed is None and guarded is None:
            from ddl_cascade.cli import main as full

            full(argv)  # runs in error_handler() too, and exits
        code = _publish(**parsed) if parsed is not None else _guard(**guarded)
    sys.exit(code)


def _parse_publish(args: list[str]) -> dict | None:
    opts: dict = {"config": None, "json": False, "push": False, "force": False}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _FLAGS:
            opts[_FLAGS[arg]] = True
        elif arg == "--config" and i + 1 < len(args):
            opts["config"] = args[i + 1]
            i += 1
        elif arg.startswith("--config=") and len(arg) > len("--config="):
            opts["config"] = arg[len("--config="):]
        else:
            return None  # let Typer explain it
        i += 1
    return opts


_GUARD_FLAGS = {"--staged": "staged", "--json": "json"}
_GUARD_VALUES = {"--base": "base", "--prefix": "prefix", "--parent": "parent"}


def _parse_guard(args: list[str]) -> dict | None:
    """`guard`'s options when this module understands them all (`guard install`, `--help` and typos go to Typer)."""
    opts: dict = {"staged": False, "json": False, "base": None, "prefix": None, "parent": None}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg in _GUARD_FLAGS:
            opts[_GUARD_FLAGS[arg]] = True
        elif name in _GUARD_VALUES and eq and value:
            opts[_GUARD_VALUES[name]] = value
        elif arg in _GUARD_VALUES and i + 1 < len(args) and not args[i + 1].startswith("-"):
            opts[_GUARD_VALUES[arg]] = args[i + 1]
            i += 1
        else:
            return None
        i += 1
    return opts


def _guard(staged: bool, json: bool, base: str | None, prefix: str | None, parent: str | None) -> int:
    from pathlib import Path

    from ddl_cascade.guard import guard
    from ddl_cascade.render.guard import show

    report = guard(Path.cwd(), staged=staged, base=base, prefix=prefix, parent=parent)
    show(report, json)
    return report.exit_code


def _publish(config: str | None, json: bool, push: bool, force: bool) -> int:
    from pathlib import Path

    from ddl_cascade import config as config_module
    from ddl_cascade.cascade.publish import publish

    result = publish(config_module.load(Path(config) if config else None), push=push, force=force)
    if json:
        from ddl_cascade.render.json import dumps

        sys.stdout.write(dumps(result))
    else:
        print(result.summary())
    sys.stdout.flush()
    return 0
