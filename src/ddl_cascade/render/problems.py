"""`report --format markdown`: the problems of a status document only, each with the command that fixes it.

For a pinned "dashboard" issue or a CI job summary, so it stays under GitHub's comment limit (LIMIT characters,
as render/validate.py's comment does): when the list is longer, the tail is cut and counted. The problems, worst
first: unreachable and drifted children, failed or unreadable databases, children behind, not added or ahead, then
stale pull requests (open for STALE_DAYS days or more, or closed without merging). Every value from a repository or the config is shown as
code (backticks, which Markdown does not interpret) or escaped, so a child's name cannot inject Markdown or HTML.
"""

from __future__ import annotations

import shlex
from typing import Any

from ddl_cascade.render.snapshot import STATES, counts

LIMIT = 60_000
STALE_DAYS = 7  # an open pull request this old is a problem: someone has to review or merge it
MAX_PATHS = 5  # changed paths shown per drifted child


def code(text: Any) -> str:
    """`text` as inline code that no backtick or newline in it can end early."""
    text = " ".join(str(text).split())
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cmd(*words: str) -> str:
    return code("ddl-cascade " + " ".join(shlex.quote(w) for w in words))


def _child_problem(c: dict[str, Any]) -> str | None:
    name, state = c["name"], c["state"]
    if state == "unreachable":
        return f"- {code(name)} is **unreachable**: {code(c.get('error') or 'no reason given')}. " \
               f"Check its URL and credentials: {_cmd('doctor', name)}"
    if state == "drifted":
        paths = c.get("changed_paths") or []
        shown = ", ".join(code(p) for p in paths[:MAX_PATHS])
        more = f" and {len(paths) - MAX_PATHS} more" if len(paths) > MAX_PATHS else ""
        return (f"- {code(name)} is **drifted** ({len(paths)} changed: {shown}{more}). Review the changes, then "
                f"restore the delivered tree: {_cmd('reset', name, '--yes')}")
    if state == "behind":
        return f"- {code(name)} is **behind** by {c.get('behind_by') or 0}: {_cmd('sync', name)}"
    if state == "not_added":
        return f"- {code(name)} has **no read-only folder yet**: {_cmd('sync', name)}"
    if state == "ahead":
        if c.get("error"):
            return f"- {code(name)} is **ahead**: {code(c['error'])}"
        channel = c.get("channel")
        fix = f"promote its channel: {_cmd('promote', channel)}" if channel else "publish the parent, or unpin it"
        return f"- {code(name)} is **ahead** of its target {code((c.get('target') or '')[:12])}; {fix}"
    if state != "in_sync":
        return f"- {code(name)} is **{code(state)}**: {_cmd('status', name)}"
    return None


def _database_problem(c: dict[str, Any]) -> str | None:
    db = c.get("database")
    if not db or db.get("ok"):
        return None
    name, env = c["name"], db["environment"]
    where = f"{code(name)} in {code(env)}"
    if db.get("error"):
        return f"- {where}: the database cannot be read: {code(db['error'])}. {_cmd('db', 'status', '--child', name, '--env', env)}"
    bits = []
    if db.get("failed"):
        bits.append(f"{db['failed']} failed migration(s)")
    if db.get("mismatches"):
        bits.append(f"{db['mismatches']} checksum mismatch(es)")
    problems = "; ".join(code(p) for p in (db.get("problems") or [])[:3])
    fix = (f"fix the failed script, then {_cmd('db', 'repair', '--child', name, '--env', env)} and "
           f"{_cmd('db', 'migrate', '--child', name, '--env', env)}")
    return f"- {where}: {', '.join(bits) or 'not ok'}{': ' + problems if problems else ''}. {fix}"


def _pull_request_problem(c: dict[str, Any]) -> str | None:
    """An open pull request STALE_DAYS old or more, or one closed without merging (sync leaves it closed)."""
    pr = c.get("pull_request")
    if not pr or pr.get("state") not in ("open", "closed"):
        return None
    if pr["state"] == "open" and pr.get("age_days", 0) < STALE_DAYS:
        return None
    url = pr["url"] if str(pr["url"]).startswith(("https://", "http://")) else ""
    link = f"[#{pr['number']}](<{url.replace('>', '%3E').replace(' ', '%20')}>)" if url else f"#{pr['number']}"
    if pr["state"] == "closed":
        return (f"- {code(c['name'])}: pull request {link} was closed without merging; to deliver again: "
                f"{_cmd('sync', c['name'], '--reopen')}")
    return (f"- {code(c['name'])}: pull request {link} has been open {pr['age_days']} days; review and merge it "
            f"(a later {_cmd('sync', c['name'])} updates it)")


def markdown(doc: dict[str, Any], limit: int = LIMIT) -> str:
    """The problems of status document `doc` as Markdown, at most `limit` characters."""
    children = doc["children"]
    n = counts(doc)
    head = [f"## ddl-cascade dashboard: {code(doc['delivery_branch'])} at {code(doc['delivery_tip'][:12])}", ""]
    when = f" (read {doc['generated_at']})" if doc.get("generated_at") else ""
    head.append(f"{len(children)} children{when}: " + ", ".join(f"{n[s]} {s}" for s in STATES if n.get(s)) + ".")
    head.append("")
    order = {"unreachable": 0, "drifted": 1}
    ranked = sorted(children, key=lambda c: order.get(c["state"], 2))
    sections = [
        ("Children not in sync", [p for p in map(_child_problem, ranked) if p]),
        ("Databases", [p for p in map(_database_problem, children) if p]),
        (f"Pull requests open {STALE_DAYS} days or more, or closed", [p for p in map(_pull_request_problem, children)
                                                                     if p]),
    ]
    total = sum(len(items) for _, items in sections)
    if total == 0:
        return "\n".join(head + ["✅ No problems: every child is in sync, every database is ok, no stale pull request.",
                                 ""])
    lines = head
    size = sum(len(x) + 1 for x in lines)
    shown = 0
    reserve = 200  # room for the line that counts what was cut
    full = False
    for title, items in sections:
        if not items or full:
            continue
        title_line = f"### {title} ({len(items)})"
        if size + len(title_line) + 2 + reserve > limit:
            break
        lines += [title_line, ""]
        size += len(title_line) + 2
        for item in items:
            if size + len(item) + 1 + reserve > limit:
                full = True
                break
            lines.append(item)
            size += len(item) + 1
            shown += 1
        lines.append("")
        size += 1
    if shown < total:
        lines.append(f"… and {total - shown} more problems not shown (limit {limit:,} characters); "
                     "see the dashboard or `ddl-cascade status --json`.")
        lines.append("")
    return "\n".join(lines)
