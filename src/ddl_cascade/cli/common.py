"""Options every command shares (`--config`, `--json`) and the renderers for JSON and plain text."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ddl_cascade.redact import redact_data

ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", help="Path to cascade.toml (default: cascade.toml at the root of this repository)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]


def load_config(path: Path | None):
    from ddl_cascade import config

    return config.load(path)


def to_data(value: Any) -> Any:
    """Plain JSON-ready data from result dataclasses, enums and paths."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_data(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    """The one JSON document on stdout, credentials redacted."""
    sys.stdout.write(json.dumps(redact_data(to_data(value)), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def stdout_console():
    from rich.console import Console

    return Console()
