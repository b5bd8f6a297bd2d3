"""`ddl-cascade guard` (in a child): refuse changes to the read-only folder that are not deliveries; `guard install`
writes the plain git pre-commit hook. The logic lives in `ddl_cascade.guard`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ddl_cascade.cli.app import CONTEXT_SETTINGS, app
from ddl_cascade.cli.common import JsonOpt

guard_app = typer.Typer(name="guard", invoke_without_command=True, add_completion=False,
                        pretty_exceptions_enable=False, context_settings=CONTEXT_SETTINGS)
app.add_typer(guard_app, name="guard")


@guard_app.callback()
def guard(
    ctx: typer.Context,
    staged: Annotated[bool, typer.Option("--staged", help="Check the index against HEAD (the pre-commit hook).")] = False,
    base: Annotated[Optional[str], typer.Option("--base", metavar="REV",
                                                help="Check every commit of REV..HEAD (CI).")] = None,
    prefix: Annotated[Optional[str], typer.Option("--prefix", help="The read-only folder (default: 'prefix' in "
                                                  ".ddl-cascade.toml, else the last delivery's git-subtree-dir).")] = None,
    parent: Annotated[Optional[str], typer.Option("--parent", metavar="URL", help="Also accept the trees of this "
                                                  "parent's delivery branch (default: 'parent' in .ddl-cascade.toml).")] = None,
    json: JsonOpt = False,
) -> None:
    """Refuse changes to the read-only folder that leave it at a tree no delivery made (exit 1, listing the paths).

    Plain `guard` checks the work tree against HEAD."""
    if ctx.invoked_subcommand is not None:
        return
    raise typer.Exit(run(staged=staged, base=base, prefix=prefix, parent=parent, json=json))


def run(*, staged: bool, base: str | None, prefix: str | None, parent: str | None, json: bool) -> int:
    """Run the guard in the current directory and print its result; the exit code."""
    from ddl_cascade.guard import guard as run_guard
    from ddl_cascade.render.guard import show

    report = run_guard(Path.cwd(), staged=staged, base=base, prefix=prefix, parent=parent)
    show(report, json)
    return report.exit_code


@guard_app.command()
def install(
    force: Annotated[bool, typer.Option("--force", help="Replace a pre-commit hook ddl-cascade did not write.")] = False,
) -> None:
    """Write .git/hooks/pre-commit running `ddl-cascade guard --staged` (for those without the pre-commit tool)."""
    from ddl_cascade.guard import install_hook

    done = install_hook(Path.cwd(), force=force)
    typer.echo(f"wrote {done.path}" + (" (replacing the hook that was there)" if done.replaced else ""))
