"""`python -m ddl_cascade.ci.summary STATUS_JSON [EXIT_CODE]`: the drift workflow's job summary, in Markdown.

Reads the document `ddl-cascade status --json` (or `status --db --json`) wrote, so the workflow runs status once and
keeps the same document as its artifact. Children not in sync come first, then a count of each state.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def markdown(doc: dict, code: int = 0) -> str:
    children = doc.get("children", [])
    bad = [c for c in children if c["state"] != "in_sync" or (c.get("database") or {}).get("ok") is False]
    verdict = ("every child is in sync" if not bad and code == 0
               else f"{len(bad)} of {len(children)} children need attention")
    lines = [f"### ddl-cascade status: {verdict}", "",
             f"Delivery branch `{doc.get('delivery_branch', '?')}` at `{(doc.get('delivery_tip') or '?')[:12]}`.", ""]
    if bad:
        lines += ["| child | state | detail |", "|---|---|---|"]
        for c in bad:
            detail = c.get("error") or ""
            if c.get("changed_paths"):
                paths = c["changed_paths"]
                detail = ", ".join(f"`{p}`" for p in paths[:10]) + (" …" if len(paths) > 10 else "")
            elif c.get("behind_by"):
                detail = f"{c['behind_by']} delivery commit(s) behind"
            db = c.get("database")
            if db and db.get("ok") is False:
                detail += f" database {db.get('environment')}: not ok"
            cell = detail.replace("|", "\\|")
            lines.append(f"| {c['name']} | {c['state']} | {cell} |")
        lines.append("")
    counts = Counter(c["state"] for c in children)
    lines.append(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no children")
    if code not in (0, 1):
        lines += ["", f"`ddl-cascade status` failed (exit {code}); its error is in the log."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path, code = Path(argv[0]), int(argv[1]) if len(argv) > 1 else 0
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = {}
    sys.stdout.write(markdown(doc, code))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
