"""Options every command shares (`--config`, `--json`), loading the config, and the one JSON document on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer


ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", help="Path to cascade.toml (default: cascade.toml at the root of this repository)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]


def load_config(path: Path | None):
    from ddl_cascade import config

    return config.load(path)


def emit_json(value: Any) -> None:
    """The one JSON document on stdout (see ddl_cascade.render.json)."""
    from ddl_cascade.render.json import emit

    emit(value)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)

