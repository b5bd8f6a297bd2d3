"""Compare the parent's migrations with what was already delivered, as every child's Flyway will.

Flyway matches an applied migration with a file by (numeric version, type) for versioned and baseline migrations,
and by description for repeatables; the script path is never compared (§5.1 of the Flyway reference). So:
- same version, other checksum             -> `history/modified` (checksum mismatch everywhere it was applied);
- same version and content, new description -> `history/renamed` (Flyway's description mismatch);
- version gone, its content under a new version or description -> `history/renamed` (it would run again);
- version gone otherwise                    -> `history/deleted` (applied but not resolved);
- a new version below the highest delivered one -> `history/out-of-order` (ignored with outOfOrder=false).
A delivered repeatable may change freely (Flyway re-runs it), but not disappear.
"""

from __future__ import annotations

from ddl_cascade import flyway
from ddl_cascade.validate.checked import Checked
from ddl_cascade.validate.files import Files, decode, resolve
from ddl_cascade.validate.model import Finding
from ddl_cascade.validate.rules import finding


def compare(current: Files, resolution: flyway.Resolution, delivered: Files, checked: dict[str, Checked],
            encoding: str) -> list[Finding]:
    out: list[Finding] = []
    cur_files = {f.key: f for f in current.scripts}
    old_files = {f.key: f for f in delivered.scripts}
    old_resolution = resolve(delivered)

    def old_text(m: flyway.ResolvedMigration) -> str | None:
        return decode(old_files[m.path].data, encoding)[0]

    def cur_sum(m: flyway.ResolvedMigration) -> int | None:
        result = checked.get(cur_files[m.path].path)
        return result.checksum if result is not None else None

    current_versioned: dict[tuple[flyway.Kind, flyway.Version], list[flyway.ResolvedMigration]] = {}
    current_repeatable: dict[str, flyway.ResolvedMigration] = {}
    for m in resolution.migrations:
        if m.version is not None:
            current_versioned.setdefault((m.kind, m.version), []).append(m)
        else:
            current_repeatable.setdefault(m.description, m)

    delivered_keys = {(m.kind, m.version) for m in old_resolution.migrations if m.version is not None}
    delivered_descriptions = {m.description for m in old_resolution.migrations if m.version is None}
    # Current migrations that were not delivered under their version / description: candidates for a rename.
    new_by_sum: dict[int, list[flyway.ResolvedMigration]] = {}
    for m in resolution.migrations:
        is_new = (m.kind, m.version) not in delivered_keys if m.version is not None \
            else m.description not in delivered_descriptions
        checksum = cur_sum(m)
        if is_new and checksum is not None:
            new_by_sum.setdefault(checksum, []).append(m)

    for d in old_resolution.migrations:
        text = old_text(d)
        old_sum = flyway.checksum_text(text) if text is not None else None
        d_path = old_files[d.path].path
        label = f"version {d.version}" if d.version is not None else f"repeatable '{d.description}'"
        if d.version is not None:
            matches = current_versioned.get((d.kind, d.version), [])
            if matches:
                cur = next((m for m in matches if m.path == d.path), matches[0])
                cur_file = cur_files[cur.path]
                new_sum = cur_sum(cur)
                if old_sum is not None and new_sum is not None and new_sum != old_sum:
                    line = _first_difference(text or "", checked[cur_file.path].text or "")
                    out.append(finding(
                        "history/modified", cur_file.path, line, 0,
                        f"{label} was already delivered with checksum {old_sum}; it is now {new_sum}, so every "
                        "database that applied it fails Flyway's validate with a checksum mismatch",
                    ))
                elif cur.description != d.description:
                    out.append(finding(
                        "history/renamed", cur_file.path, 0, 0,
                        f"{label} was delivered as {d_path} (description '{d.description}'); Flyway reports a "
                        f"description mismatch for '{cur.description}'",
                    ))
                continue
        elif d.description in current_repeatable:
            continue
        moved = [m for m in new_by_sum.get(old_sum, []) if old_sum is not None]
        if moved:
            target = cur_files[moved[0].path]
            out.append(finding(
                "history/renamed", target.path, 0, 0,
                f"this is {d_path} ({label}, already delivered) under a new name; Flyway would run it again and "
                f"report {label} as missing",
            ))
        else:
            out.append(finding(
                "history/deleted", d_path, 0, 0,
                f"{label} was already delivered but is no longer in any migration location; databases that applied "
                "it report it as missing",
            ))

    highest = max((m.version for m in old_resolution.migrations
                   if m.version is not None and m.kind is flyway.Kind.VERSIONED), default=None)
    if highest is not None:
        for m in resolution.migrations:
            if m.kind is flyway.Kind.VERSIONED and m.version is not None and (m.kind, m.version) not in delivered_keys \
                    and m.version < highest:
                out.append(finding(
                    "history/out-of-order", cur_files[m.path].path, 0, 0,
                    f"new version {m.version} is below the highest delivered version {highest}; databases already "
                    "at that version ignore it unless Flyway runs with outOfOrder=true",
                ))
    return out


def _first_difference(old: str, new: str) -> int:
    """The 1-based line where two texts first differ (ignoring line-ending style, as Flyway's checksum does)."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for i, (a, b) in enumerate(zip(old_lines, new_lines)):
        if a != b:
            return i + 1
    if len(old_lines) == len(new_lines):
        return 1
    return max(1, min(min(len(old_lines), len(new_lines)) + 1, len(new_lines)))
