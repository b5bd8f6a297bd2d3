"""Text for people: the status table and the sync/reset report, from the same result objects `--json` prints.

Read on a terminal and in CI logs alike (render/terminal.py: no wrapping, no trailing spaces, colour only where it
is wanted). Problem rows come first, so a long run's log shows what needs a person at the top: unreachable, then
drifted (refused), then other failures, then children that are behind, not added or ahead, then the rest; within a
group, cascade.toml's order. The closing line counts each state (status) or result (sync, reset). A run with
`--shard K/N` says so under the heading, and a document `report merge` joined says which shards it joins and which
were not ok. Nothing here runs git or decides anything.
"""

from __future__ import annotations

import shlex

from ddl_cascade.cascade.results import CascadeReport, ChildResult, Result, StatusReport
from ddl_cascade.cascade.state import ChildStatus, State
from ddl_cascade.render.terminal import Cell, colour, columns, glyph, paint, plural, write

MAX_PATHS = 10  # changed paths listed under a drifted child; the rest are counted

# The order of groups, problems first; a state not listed here sorts with the behind group.
_STATE_RANK = {State.UNREACHABLE: 0, State.DRIFTED: 1, State.IN_SYNC: 4}
_RESULT_RANK = {Result.REFUSED: 1, Result.FAILED: 2, Result.UPDATED: 3, Result.PR_OPENED: 3, Result.PR_UPDATED: 3,
                Result.UNCHANGED: 4}


def short(oid: str | None) -> str:
    return oid[:12] if oid else "-"


def status_rank(child: ChildStatus) -> int:
    return _STATE_RANK.get(child.state, 3)


def result_rank(child: ChildResult) -> int:
    # An unreachable child fails before anything is tried: it leads, as it does in status.
    return 0 if child.state is State.UNREACHABLE and child.result is Result.FAILED else _RESULT_RANK.get(child.result, 3)


def problems_first(children: list, rank) -> list:
    """`children` with the problem groups first; `sorted` is stable, so cascade.toml's order holds within a group."""
    return sorted(children, key=rank)


def reset_hint(name: str) -> str:
    return f"ddl-cascade reset {shlex.quote(name)} --yes"


def counts(values: list[str], order: list[str]) -> str:
    """"3 in_sync, 1 behind, 1 drifted": each value that occurs, in `order`."""
    return ", ".join(f"{values.count(v)} {v}" for v in order if v in values)


def _mark(state: State) -> Cell:
    ok, bad, attention = glyph("✓", "ok"), glyph("✗", "x"), "!"
    marks = {State.IN_SYNC: (ok, "green"), State.AHEAD: (attention, "yellow"), State.BEHIND: (attention, "yellow"),
             State.NOT_ADDED: (attention, "yellow"), State.DRIFTED: (bad, "red"), State.UNREACHABLE: (bad, "red")}
    sign, style = marks[state]
    return Cell(f"{sign} {state.value}", style)


def _status_detail(child: ChildStatus) -> tuple[str, list[str]]:
    """The detail cell of a child's row, and its continuation lines."""
    if child.state is State.BEHIND:
        return f"{plural(child.behind_by or 0, 'delivery commit')} behind", []
    if child.state is State.AHEAD:  # with an error: ahead of a stale parent clone, and what to do
        return child.error or "holds a delivered tree newer than its target", []
    if child.state is State.NOT_ADDED:
        return "no read-only folder yet", []
    if child.state is State.DRIFTED:
        paths = child.changed_paths or []
        more = [f"… and {len(paths) - MAX_PATHS} more"] if len(paths) > MAX_PATHS else []
        return (f"{plural(len(paths), 'changed path')}; to restore the delivered tree: {reset_hint(child.name)}",
                paths[:MAX_PATHS] + more)
    if child.state is State.UNREACHABLE:
        return child.error or "", []
    return "", []


def parts(report) -> list[str]:
    """The line that says which shard ran (`--shard K/N`), or which shards a merged document joins (any document
    with `shard` and `shards`)."""
    if report.shard is not None:
        return [f"Shard {report.shard}: {len(report.shard.positions)} of "
                f"{plural(report.shard.selected, 'child', 'children')}."]
    if report.shards is not None:
        failed = [f"{s.index}/{s.count}" for s in report.shards if not s.ok]
        return [f"Merged from {plural(len(report.shards), 'shard')}" +
                (f"; not ok: {', '.join(failed)}." if failed else ", each ok.")]
    return []


def _nothing(report: StatusReport | CascadeReport, verb: str) -> str:
    return f"No child falls in this shard: nothing to {verb}." if report.shard is not None else \
        f"No children configured: nothing to {verb}."


def status(report: StatusReport) -> None:
    on = colour()
    lines = [paint("STATUS CHECK", "bold", on),
             f"Delivery branch {report.delivery_branch} at {short(report.delivery_tip)}, "
             f"delivered tree {report.delivered_tree}", *parts(report)]
    if not report.children:
        write(lines + [_nothing(report, "check")])
        return
    rows: list[list[Cell | str]] = [[Cell(h, "dim") for h in ("child", "state", "tree", "detail")]]
    for group, children in _by_channel(report):
        if group is not None:
            rows.append([Cell(group, "bold")])
        rows += _status_rows(children)
    lines += columns(rows, on)
    total = len(report.children)
    states = [c.state.value for c in report.children]
    bad = sum(1 for c in report.children if c.state is not State.IN_SYNC)
    if bad == 0:
        lines.append("The child is in sync." if total == 1 else f"All {total} children in sync.")
    else:
        lines.append(f"{plural(total, 'child', 'children')}: {counts(states, [s.value for s in State])}; "
                     f"{bad} not in sync.")
    write(lines)


def _by_channel(report: StatusReport) -> list[tuple[str | None, list[ChildStatus]]]:
    """The children grouped by channel, in [channels] order, each group headed by the channel's commit and how far
    it is behind the first channel; one unheaded group without channels."""
    if not report.channels:
        return [(None, report.children)]
    groups = []
    for channel in report.channels:
        behind = "" if channel.behind_first == 0 else \
            f", {plural(channel.behind_first, 'delivery commit')} behind {report.channels[0].name}"
        children = [c for c in report.children if c.channel == channel.name]
        groups.append((f"channel {channel.name} ({channel.branch}) at {short(channel.commit)}{behind}", children))
    return groups


def _status_rows(children: list[ChildStatus]) -> list[list[Cell | str]]:
    rows: list[list[Cell | str]] = []
    for child in problems_first(children, status_rank):
        detail, more = _status_detail(child)
        if child.pinned:
            detail = f"pinned at {short(child.target)}" + (f"; {detail}" if detail else "")
        rows.append([child.name, _mark(child.state), short(child.tree), detail])
        rows += [["", "", "", f"  {line}"] for line in more]
        pr = child.pull_request
        if pr is not None:
            rows.append(["", "", "", f"  pull request #{pr.number} ({pr.state}, {plural(pr.age_days, 'day')} old) "
                                     f"{pr.url}"])
    return rows


def _what(child: ChildResult, dry_run: bool) -> str:
    if child.result is Result.UPDATED and dry_run:
        return f"would push {short(child.old)} -> {short(child.planned)}"
    if child.result is Result.UPDATED:
        return f"updated {short(child.old)} -> {short(child.commit)}"
    pr = child.pull_request
    if child.result is Result.PR_OPENED and pr is not None:
        return f"opened pull request #{pr.number} {pr.url}"
    if child.result is Result.PR_UPDATED and pr is not None:
        return f"updated pull request #{pr.number} {pr.url}"
    if child.result is Result.UNCHANGED and pr is not None:
        return f"unchanged: pull request #{pr.number} is current {pr.url}"
    if child.result is Result.UNCHANGED:
        return f"unchanged at {short(child.commit)}"
    if child.result is Result.REFUSED:
        return f"refused: {child.error}"
    return f"failed: {child.error}"


def cascade(report: CascadeReport, verb: str = "sync") -> None:
    on = colour()
    head = "PLAN (dry run: nothing pushed)" if report.dry_run else verb.upper()
    lines = [f"{paint(head, 'bold', on)}: delivery branch {report.delivery_branch} at {short(report.delivery_tip)}, "
             f"delivered tree {short(report.delivered_tree)}", *parts(report)]
    if not report.children:
        write(lines + [_nothing(report, verb)])
        return
    styles = {Result.UPDATED: "green", Result.PR_OPENED: "green", Result.PR_UPDATED: "green", Result.UNCHANGED: None,
              Result.REFUSED: "red", Result.FAILED: "red"}
    rows: list[list[Cell | str]] = []
    for child in problems_first(report.children, result_rank):
        state = child.state.value + (f" {child.behind_by}" if child.behind_by else "")
        rows.append(["", child.name, state, Cell(_what(child, report.dry_run), styles[child.result])])
        if child.result in (Result.UPDATED, Result.PR_OPENED, Result.PR_UPDATED):
            rows += [["", "", "", f"  + {commit.id[:12]} {commit.subject}"] for commit in child.commits]
        if child.result is Result.REFUSED:
            paths = child.changed_paths or []
            rows += [["", "", "", f"  changed: {path}"] for path in paths[:MAX_PATHS]]
            if len(paths) > MAX_PATHS:
                rows.append(["", "", "", f"  … and {len(paths) - MAX_PATHS} more"])
            if child.state is State.DRIFTED:
                rows.append(["", "", "", f"  to restore the delivered tree: {reset_hint(child.name)}"])
    lines += columns(rows, on)
    results = [c.result.value for c in report.children]
    total = plural(len(report.children), "child", "children")
    summary = counts(results, [r.value for r in Result])
    lines.append(f"{total} would be: {summary}" if report.dry_run else f"{total}: {summary}")
    write(lines)


def status_summary(report: StatusReport) -> str:
    """Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`): the counts per state, then each child not in sync."""
    total = len(report.children)
    states = [c.state.value for c in report.children]
    bad = [c for c in problems_first(report.children, status_rank) if c.state is not State.IN_SYNC]
    if not report.children:
        head = f"ddl-cascade status: {'no child in this shard' if report.shard else 'no children configured'}"
    elif not bad:
        head = f"✅ ddl-cascade status: all {plural(total, 'child', 'children')} in sync"
    else:
        head = f"❌ ddl-cascade status: {len(bad)} of {plural(total, 'child', 'children')} not in sync"
    lines = [f"### {head}", "",
             f"Delivery branch `{report.delivery_branch}` at `{short(report.delivery_tip)}`.", ""]
    lines += [*parts(report), ""] if parts(report) else []
    if report.children:
        lines += ["| state | children |", "|---|--:|"]
        lines += [f"| {s.value} | {states.count(s.value)} |" for s in State if s.value in states] + [""]
    if bad:
        lines += ["| child not in sync | state | detail |", "|---|---|---|"]
        for child in bad:
            detail, more = _status_detail(child)
            if more:  # a drifted child's changed paths
                detail += ": " + ", ".join(f"`{line}`" for line in more)
            detail = " ".join(detail.split()).replace("|", "\\|").replace("<", "&lt;")
            lines.append(f"| `{child.name}` | {child.state.value} | {detail} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def cascade_summary(report: CascadeReport, verb: str = "sync", whole=None) -> str:
    """Markdown for a CI job summary of a sync, reset or full: the counts per result, then each child that was
    refused or failed (what `report merge` writes for a sharded delivery). `whole`: the document that says which
    shards it joins, when that is not `report` (full's)."""
    total = plural(len(report.children), "child", "children")
    bad = [c for c in problems_first(report.children, result_rank) if c.result in (Result.REFUSED, Result.FAILED)]
    plan = " (dry run)" if report.dry_run else ""
    head = f"✅ ddl-cascade {verb}{plan}: {total}, none refused or failed" if not bad else \
        f"❌ ddl-cascade {verb}{plan}: {len(bad)} of {total} refused or failed"
    lines = [f"### {head}", "", f"Delivery branch `{report.delivery_branch}` at `{short(report.delivery_tip)}`.", ""]
    shard_lines = parts(whole if whole is not None else report)
    lines += [*shard_lines, ""] if shard_lines else []
    results = [c.result.value for c in report.children]
    if results:
        lines += ["| result | children |", "|---|--:|"]
        lines += [f"| {r.value} | {results.count(r.value)} |" for r in Result if r.value in results] + [""]
    if bad:
        lines += ["| child | result | detail |", "|---|---|---|"]
        for child in bad:
            detail = " ".join((child.error or "").split()).replace("|", "\\|").replace("<", "&lt;")
            lines.append(f"| `{child.name}` | {child.result.value} | {detail} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def promotion(result) -> None:
    """`promote`: old..new, the migrations it brings, the children the next sync updates, and the gate's reasons
    (a refusal's, or those `--force` skipped)."""
    lines = [result.summary()]
    if result.old != result.new:
        lines.append(f"{plural(len(result.migrations), 'migration')} the promotion brings"
                     + (":" if result.migrations else "."))
        lines += [f"  {path}" for path in result.migrations]
        if result.moved:
            lines.append(f"the next sync updates {plural(len(result.children), 'child', 'children')}"
                         + (": " + ", ".join(result.children) if result.children else "."))
    if result.gate.reasons:
        lines.append("gate skipped (--force):" if result.moved else "gate closed:")
        lines += [f"  {reason}" for reason in result.gate.reasons]
    write(lines)
