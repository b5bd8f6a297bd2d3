"""Text for people from `db drift`: one line per object that differs between the schema the environment's history
builds (expected) and its live schema, what changed under it, the problems, and one closing line."""

from __future__ import annotations

import difflib

from ddl_cascade.db.catalog import SchemaChange
from ddl_cascade.db.results import DriftReport
from ddl_cascade.render.db import SHORT, property_text
from ddl_cascade.render.terminal import plural

_SAYS = {"added": "made outside the migrations", "removed": "dropped outside the migrations",
         "changed": "altered outside the migrations"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}


def _property_lines(change: SchemaChange) -> list[str]:
    """Under a changed object: each property that differs, expected then live."""
    before, after = change.before or {}, change.after or {}
    lines = []
    for key in change.changed_keys:
        old, new = property_text(before.get(key), "none"), property_text(after.get(key), "none")
        if len(old) <= SHORT and len(new) <= SHORT and "\n" not in old + new:
            lines.append(f"      {key}: expected {old}, live {new}")
        else:
            lines.append(f"      {key}:")
            lines += [f"        {ln}" for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), "expected",
                                                                       "live", lineterm="", n=1)]
    return lines


def drift_lines(report: DriftReport) -> list[str]:
    what = f"environment '{report.environment}'" if report.environment else report.target
    lines = [f"Drift of {what} ({report.target}): its live schema (PostgreSQL {report.live_version}) against the "
             f"schema built by its {plural(report.replayed, 'recorded migration')} (expected, replayed on "
             f"PostgreSQL {report.expected_version})"]
    if report.live_version.split(".")[0] != report.expected_version.split(".")[0]:
        lines.append("  note: the versions differ, so definitions PostgreSQL prints differently may show as changes")
    for change in report.changes:
        lines.append(f"  {_MARK[change.change]} {change.kind.replace('_', ' ')} {change.name}: {_SAYS[change.change]}")
        if change.change == "changed":
            lines += _property_lines(change)
    for problem in report.problems:
        lines.append(f"  problem: {problem}")
    if report.ok:
        lines.append("ok: no drift, the live schema is what its migrations built")
    else:
        counts = [plural(len(report.changes), "change")] + (
            [plural(len(report.problems), "problem")] if report.problems else [])
        lines.append(f"drift: {' and '.join(counts)} outside the migrations")
    return lines
