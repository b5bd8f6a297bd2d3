"""The dashboard's input: status documents read back from files, held to the schema shipped for `status --json`.

A snapshot is a `status --json` document (render/json.py wrote it, so it is already redacted; it is redacted again
here because a file may come from anywhere). `report --from FILE…` renders saved ones instead of running `status`:
a plain `status --json`, or the merged document of a sharded run (`report merge`), which has the same schema. Several
files are the shards of one status run, joined as `report merge` joins them (cascade/merge.py).
`--history DIR` reads every `*.json` in DIR as an earlier snapshot; each needs `generated_at` (status writes it) or
its file's modification time stands in. A file that is not such a document is one sentence naming it, exit 2.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from ddl_cascade.errors import CascadeError
from ddl_cascade.redact import redact_data

STATES = ("in_sync", "ahead", "behind", "drifted", "not_added", "unreachable")


@lru_cache(maxsize=1)
def _validator():
    # jsonschema-rs, not the pure-Python jsonschema: it checks a 10,000-child document in ~15 ms instead of ~12 s
    import jsonschema_rs

    from ddl_cascade.render.schema import shipped

    return jsonschema_rs.Draft202012Validator(json.loads(shipped("status")))


def check(doc: Any, where: str) -> dict[str, Any]:
    """`doc` if it is a status document; else CascadeError naming `where` and the first thing wrong."""
    first = next(iter(_validator().iter_errors(doc)), None)
    if first is not None:
        at = "/".join(str(p) for p in first.instance_path) or "the top level"
        message = first.message if len(first.message) <= 160 else first.message[:157] + "..."
        raise CascadeError(f"{where} is not a `ddl-cascade status --json` document: at {at}, {message}.")
    return redact_data(doc)


def read(path: Path) -> dict[str, Any]:
    """The status document in `path`, checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CascadeError(f"{path} does not exist (expected a `ddl-cascade status --json` document).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CascadeError(f"{path} cannot be read: {exc}.") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CascadeError(f"{path} is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
    return check(doc, str(path))


def join(paths: list[Path]) -> dict[str, Any]:
    """One status document from `--from` files: one file as it is (a status run, or a merged one), several as the
    shards of one status run, joined by `report merge`'s rules (cascade/merge.py: each shard once, none missing, one
    delivery tip), so the page shows exactly what `report merge` would print."""
    if len(paths) == 1:
        return read(paths[0])
    from ddl_cascade.cascade.merge import merge
    from ddl_cascade.render.json import SCHEMA_VERSION, document

    merged = merge(paths, SCHEMA_VERSION)
    if merged.command != "status":
        raise CascadeError(f"{_names(paths)} are the shards of a {merged.command} run; the dashboard shows status "
                           "documents (run `ddl-cascade status --json --shard K/N` in each shard).")
    return check(document(merged.report), " + ".join(str(p) for p in paths))


def _names(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


@dataclass
class Point:
    """One snapshot on the trend chart: when, and how many children were in each state."""

    at: str  # ISO 8601, UTC
    counts: dict[str, int]

    def data(self) -> dict[str, Any]:
        return {"at": self.at, "counts": self.counts}


def counts(doc: dict[str, Any]) -> dict[str, int]:
    out = {s: 0 for s in STATES}
    for child in doc["children"]:
        out[child["state"]] = out.get(child["state"], 0) + 1
    return out


def point(doc: dict[str, Any], fallback_time: float | None = None) -> Point:
    at = doc.get("generated_at")
    if not at:
        stamp = fallback_time if fallback_time is not None else datetime.now(timezone.utc).timestamp()
        at = datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return Point(at, counts(doc))


def history(folder: Path) -> list[Point]:
    """Every `*.json` in `folder` as a point of the trend, oldest first."""
    if not folder.is_dir():
        raise CascadeError(f"--history {folder} is not a folder (expected a folder of earlier status.json files).")
    points = [point(read(path), os.stat(path).st_mtime) for path in sorted(folder.glob("*.json"))]
    return sorted(points, key=lambda p: p.at)


def take(config, db: bool = False) -> dict[str, Any]:
    """A fresh snapshot: `status` (under the parent lock, as every run), with `db` each child's database too
    (`status --db`), as the plain, redacted data `status --json` prints."""
    from ddl_cascade.cascade.commands import status
    from ddl_cascade.render.json import document

    report = status(config)
    if db:
        from ddl_cascade.db.report import attach

        report.ok = attach(config, report) and report.ok
    return document(report)
