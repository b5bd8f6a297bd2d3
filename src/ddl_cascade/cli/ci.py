"""`ddl-cascade ci init github [--child] | gitlab`: write the CI files that run ddl-cascade (in ddl_cascade.ci)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ddl_cascade.cli.app import CONTEXT_SETTINGS, app
from ddl_cascade.cli.common import ConfigOpt, load_config

ci_app = typer.Typer(help="CI files that run ddl-cascade.", no_args_is_help=True, context_settings=CONTEXT_SETTINGS)
app.add_typer(ci_app, name="ci")


class Forge(str, Enum):
    github = "github"
    gitlab = "gitlab"


@ci_app.command("init")
def init(
    forge: Annotated[Forge, typer.Argument(
        metavar="FORGE", help="github (workflows in .github/workflows/) or gitlab (.gitlab-ci.yml).")],
    child: Annotated[bool, typer.Option(
        "--child", help="In a child: the guard workflow (no cascade.toml needed).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files whose content differs.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the files instead of writing them.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Write the workflows: validate, deliver and drift in the parent; guard in a child (--child)."""
    from ddl_cascade import git
    from ddl_cascade.ci import files, render
    from ddl_cascade.errors import UsageError

    if child and forge is not Forge.github:
        raise UsageError("--child is for `ci init github`: the guard workflow is a GitHub workflow.")
    if child:
        root = git.toplevel(Path.cwd())
        if root is None:
            raise UsageError(f"{Path.cwd()} is not inside a git repository; run `ci init github --child` in the child.")
        cfg = load_config(config) if config is not None else None
        wanted = render.github_child(cfg)
    else:
        cfg = load_config(config)
        root = cfg.root
        wanted = render.github_parent(cfg) if forge is Forge.github else render.gitlab(cfg)
    if dry_run:
        for f in wanted:
            typer.echo(f"# --- {f.path}")
            typer.echo(f.text, nl=False)
        return
    for done in files.write(root, wanted, force=force):
        typer.echo(f"{done.action:<11} {done.path}")
