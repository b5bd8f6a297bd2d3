"""The one JSON serialiser: every `--json` document is a typed result object written by `document()`.

`data()` turns result dataclasses, enums and paths into plain JSON data (every field, in declaration order).
`document()` stamps the top level with `"schema_version": SCHEMA_VERSION` and redacts every credential;
render/schema.py describes the same objects.
This module imports nothing heavy, so `publish`'s fast path (entry.py) uses it too.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from pathlib import Path
from typing import Any

from ddl_cascade.redact import redact_data

SCHEMA_VERSION = 1


def data(value: Any) -> Any:
    """Plain JSON-ready data from result dataclasses, enums and paths."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [data(v) for v in value]
    return value


def document(value: Any) -> dict[str, Any]:
    """The JSON document for a result object: `schema_version` first, then its fields, credentials redacted."""
    body = data(value)
    if not isinstance(body, dict):
        raise TypeError(f"a JSON document must be an object, not {type(body).__name__}")
    return redact_data({"schema_version": SCHEMA_VERSION, **body})


def dumps(value: Any) -> str:
    return json.dumps(document(value), indent=2, ensure_ascii=False) + "\n"


def emit(value: Any) -> None:
    """The one JSON document on stdout."""
    sys.stdout.write(dumps(value))
    sys.stdout.flush()
