"""`guard`'s output: nothing on success unless a delivery changed the folder, else the refused paths on stderr; or
the one JSON document. Shared by the Typer command and entry.py's fast path (which never loads Typer)."""

from __future__ import annotations

import sys

from ddl_cascade.errors import say
from ddl_cascade.guard import GuardReport, summary


def show(report: GuardReport, json: bool) -> None:
    if json:
        from ddl_cascade.render.json import emit

        emit(report)
        return
    for note in report.notes:
        say(f"note: {note}")
    text = summary(report)
    if text:
        print(text, file=sys.stdout if report.ok else sys.stderr)
        (sys.stdout if report.ok else sys.stderr).flush()
