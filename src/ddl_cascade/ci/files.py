"""Writing the CI files: what would change, and the refusal to overwrite a file someone edited.

A file that does not exist, or holds exactly what we would write, is fine to write; any other content is the
user's and is kept unless `force`. Nothing is written when one file is refused, so a run never leaves half a set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddl_cascade.ci.render import CiFile
from ddl_cascade.errors import UsageError


@dataclass(frozen=True)
class Written:
    path: str
    action: str  # "created", "unchanged", "overwritten"


def write(root: Path, wanted: list[CiFile], *, force: bool = False) -> list[Written]:
    plan = []
    for f in wanted:
        target = root / f.path
        if not target.exists():
            plan.append((f, target, "created"))
        elif target.read_text(encoding="utf-8", errors="replace") == f.text:
            plan.append((f, target, "unchanged"))
        else:
            plan.append((f, target, "overwritten"))
    refused = [f.path for f, _, action in plan if action == "overwritten" and not force]
    if refused:
        raise UsageError(f"{', '.join(refused)} already exist{'s' if len(refused) == 1 else ''} with other content; "
                         "nothing written (--force overwrites, --dry-run shows what would be written).")
    for f, target, action in plan:
        if action != "unchanged":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text, encoding="utf-8")
    return [Written(f.path, action) for f, _, action in plan]
