"""`report merge`: the `--json` documents of a sharded run (status, sync, reset or full with `--shard K/N`) joined
into the document one unsharded run of the same command prints.

What is refused (one sentence naming the file or files, exit 2), because a merge of it would say something no run
said: a file that is not such a document (unreadable, not JSON, another schema_version, no `shard`); documents of
different commands, of different shard counts, of different delivery tips or delivery branches, of a dry run mixed
with a real one, or cut from different selections; a shard given twice; a shard missing.

The merged document has the unsharded run's schema: the children in the unsharded run's order (cascade.toml's,
narrowed by names and tag), which each shard recorded as its children's positions (`ShardPart.positions`), so no
cascade.toml is needed where the merge runs; `shard` null; `shards` the list of parts and whether each run was ok;
`ok` true only when every shard's was. Whatever is the same in every shard (the delivery branch, its tip and tree,
the channels, full's publish check, the delivery branch's newest commits) is taken from shard 1; `generated_at` is the
oldest part's (the snapshot is as old as its oldest reading).

The documents are read back into the result classes with pydantic (the same type hints the schemas come from), so
the merged document is written by the one serialiser and printed as text by the same renderer as any run's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from ddl_cascade.cascade.results import CascadeReport, FullReport, StatusReport
from ddl_cascade.cascade.shards import ShardPart, ShardRun
from ddl_cascade.errors import CascadeError

Report = Union[StatusReport, CascadeReport, FullReport]
KINDS: dict[str, type] = {"status": StatusReport, "sync": CascadeReport, "reset": CascadeReport, "full": FullReport}


@dataclass
class Merged:
    """The merged document and the command whose document it is (the renderer needs to know sync from reset)."""

    command: str
    report: Report

    @property
    def ok(self) -> bool:
        return _ok(self.report)


@dataclass
class _Part:
    path: Path
    report: Report

    @property
    def cascade(self) -> StatusReport | CascadeReport:
        """The part that lists the children (full's sync)."""
        return self.report.sync if isinstance(self.report, FullReport) else self.report

    @property
    def shard(self) -> ShardPart:
        assert self.report.shard is not None
        return self.report.shard


def merge(paths: list[Path], schema_version: int) -> Merged:
    """The documents at `paths` joined into one; `schema_version` is the one this ddl-cascade writes and reads."""
    if not paths:
        raise CascadeError("report merge needs the shards' JSON documents (the --json output of each shard's run).")
    raw = [(path, _read(path, schema_version)) for path in paths]
    commands = {path: doc["shard"]["command"] for path, doc in raw}
    if len(set(commands.values())) > 1:
        (a, ca), (b, cb) = _first_two_different(commands)
        raise CascadeError(f"{a} is a {ca} document but {b} is a {cb} document: a merge joins the shards of one run.")
    command = commands[paths[0]]
    parts = [_Part(path, _typed(path, doc, command)) for path, doc in raw]
    _check_shards(parts)
    _check_same_run(parts)
    parts.sort(key=lambda p: p.shard.index)
    return Merged(command, _join(parts))


def _read(path: Path, schema_version: int) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CascadeError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    except UnicodeDecodeError:
        raise CascadeError(f"{path} is not a JSON document (not UTF-8 text).") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CascadeError(f"{path} is not a JSON document ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise CascadeError(f"{path} is not a ddl-cascade --json document (it has no schema_version).")
    if doc["schema_version"] != schema_version:
        raise CascadeError(f"{path} has schema_version {doc['schema_version']!r}; this ddl-cascade reads "
                           f"{schema_version} (merge with the version that wrote the shards).")
    shard = doc.get("shard")
    if not isinstance(shard, dict):
        raise CascadeError(f"{path} is not the document of a run with --shard K/N (its shard is "
                           f"{json.dumps(shard) if 'shard' in doc else 'missing'}).")
    if shard.get("command") not in KINDS:
        raise CascadeError(f"{path}: its shard names the command {shard.get('command')!r}, which report merge does not "
                           f"join ({', '.join(KINDS)}).")
    return doc


def _typed(path: Path, doc: dict[str, Any], command: str) -> Report:
    """The document as its result class; a document that does not fit the class is refused, naming the first
    misfit."""
    from pydantic import TypeAdapter, ValidationError

    try:
        report = TypeAdapter(KINDS[command]).validate_python(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top level"
        raise CascadeError(f"{path} is not a {command} document: {where}: {first['msg']}.") from None
    if isinstance(report, FullReport) and report.sync.shard is None:
        raise CascadeError(f"{path} is not the document of a run with --shard K/N (its sync.shard is null).")
    return report


def _first_two_different(values: dict[Path, Any]) -> tuple[tuple[Path, Any], tuple[Path, Any]]:
    items = list(values.items())
    first = items[0]
    return first, next(item for item in items if item[1] != first[1])


def _names(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def _check_shards(parts: list[_Part]) -> None:
    """One count N for all, and each index 1..N exactly once."""
    counts = {p.path: p.shard.count for p in parts}
    if len(set(counts.values())) > 1:
        (a, _), (b, _) = _first_two_different(counts)
        sa, sb = next(p.shard for p in parts if p.path == a), next(p.shard for p in parts if p.path == b)
        raise CascadeError(f"{a} is shard {sa} but {b} is shard {sb}: the shards of one run share one N.")
    count = parts[0].shard.count
    by_index: dict[int, list[Path]] = {}
    for p in parts:
        if not 1 <= p.shard.index <= count:
            raise CascadeError(f"{p.path} claims to be shard {p.shard}, which does not exist.")
        by_index.setdefault(p.shard.index, []).append(p.path)
    twice = {i: paths for i, paths in by_index.items() if len(paths) > 1}
    if twice:
        index, paths = min(twice.items())
        raise CascadeError(f"{_names(paths)} are all shard {index}/{count}: give each shard's document once.")
    missing = [i for i in range(1, count + 1) if i not in by_index]
    if missing:
        which = ", ".join(f"{i}/{count}" for i in missing)
        raise CascadeError(f"shard{'s' if len(missing) > 1 else ''} {which} missing: got only "
                           f"{_names([p.path for p in parts])}.")


def _check_same_run(parts: list[_Part]) -> None:
    """One delivery branch and tip, one kind of run, one selection cut into parts that fit together."""
    first = parts[0]
    for attribute, what in (("delivery_branch", "delivery branch"), ("delivery_tip", "delivery tip")):
        values = {p.path: getattr(p.cascade, attribute) for p in parts}
        if len(set(values.values())) > 1:
            (a, va), (b, vb) = _first_two_different(values)
            raise CascadeError(f"{a} ran against the {what} {va} but {b} against {vb}: the shards of one run deliver "
                               "one commit.")
    if isinstance(first.cascade, CascadeReport):
        runs = {p.path: p.cascade.dry_run for p in parts}  # type: ignore[union-attr]
        if len(set(runs.values())) > 1:
            (a, _), (b, _) = _first_two_different(runs)
            dry, real = (a, b) if runs[a] else (b, a)
            raise CascadeError(f"{dry} is a dry run but {real} is not: a merge joins the shards of one run.")
    selected = {p.path: p.shard.selected for p in parts}
    if len(set(selected.values())) > 1:
        (a, na), (b, nb) = _first_two_different(selected)
        raise CascadeError(f"{a} is a part of {na} children but {b} of {nb}: the shards ran over different "
                           "selections (names, tag or cascade.toml).")
    seen: dict[int, Path] = {}
    for p in parts:
        if len(p.shard.positions) != len(p.cascade.children):
            raise CascadeError(f"{p.path} lists {len(p.cascade.children)} children but positions for "
                               f"{len(p.shard.positions)}: it was edited or cut short.")
        for position in p.shard.positions:
            if position in seen or not 0 <= position < selected[p.path]:
                other = f" and {seen[position]}" if position in seen else ""
                raise CascadeError(f"{p.path}{other} do not fit together as the shards of one selection (names, "
                                   "tag or cascade.toml differ).")
            seen[position] = p.path
    if len(seen) != first.shard.selected:
        raise CascadeError(f"{_names([p.path for p in parts])} hold {len(seen)} of the {first.shard.selected} "
                           "children their runs selected: the shards ran over different selections.")


def _ok(report: Report) -> bool:
    return report.sync.ok if isinstance(report, FullReport) else report.ok


def _join(parts: list[_Part]) -> Report:
    """The unsharded document: shard 1's common fields, every child in the unsharded order, the shard list."""
    ordered = sorted(((pos, child) for p in parts for pos, child in zip(p.shard.positions, p.cascade.children)),
                     key=lambda item: item[0])
    children = [child for _, child in ordered]
    shards = [ShardRun(p.shard.index, p.shard.count, _ok(p.report), len(p.cascade.children)) for p in parts]
    ok = all(s.ok for s in shards)
    first = parts[0].report
    if isinstance(first, StatusReport):
        # The snapshot is as old as its oldest part; the delivery branch's commits are one list (one tip).
        times = [p.report.generated_at for p in parts if isinstance(p.report, StatusReport) and p.report.generated_at]
        return StatusReport(first.delivery_branch, first.delivery_tip, first.delivered_tree, ok=ok,
                            generated_at=min(times) if times else None, delivery_commits=first.delivery_commits,
                            children=children, channels=first.channels, shards=shards)
    sync = first.sync if isinstance(first, FullReport) else first
    joined = CascadeReport(sync.delivery_branch, sync.delivery_tip, sync.delivered_tree, sync.dry_run, ok=ok,
                           children=children)
    if isinstance(first, FullReport):
        return FullReport(first.publish, joined, shards=shards)
    joined.shards = shards
    return joined
