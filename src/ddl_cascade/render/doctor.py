"""Text for `doctor`: one row per child (children with problems first), each problem on its own line under it, and
a closing count. Everything is redacted; nothing here runs git or decides anything."""

from __future__ import annotations

from ddl_cascade.cascade.doctor import ChildAccess, Credential, DoctorReport
from ddl_cascade.redact import redact
from ddl_cascade.render.terminal import Cell, colour, columns, glyph, plural, write

_CREDENTIAL = {
    Credential.NONE: "none asked",
    Credential.URL: "credential in the url",
    Credential.FORGE_TOKEN: "forge token",
    Credential.APP_TOKEN: "GitHub App token",
    Credential.CREDENTIAL_HELPER: "credential helper",
    Credential.ASKPASS: "askpass",
    Credential.SSH_AGENT: "ssh agent",
    Credential.SSH_KEY: "ssh key",
    Credential.SSH: "ssh",
}


def _yes_no(value: bool | None, yes: str, no: str) -> str:
    return "not checked" if value is None else yes if value else no


def credential(child: ChildAccess) -> str:
    words = _CREDENTIAL[child.credential]
    return f"{words} ({child.credential_detail})" if child.credential_detail else words


def _forge(child: ChildAccess) -> str:
    f = child.forge
    if f is None:
        return ""
    return f"contents {f.contents or '?'}, pull requests {f.pull_requests or '?'}"


def doctor(report: DoctorReport) -> None:
    on = colour()
    ok, bad = glyph("✓", "ok"), glyph("✗", "x")
    rows: list[list[Cell | str]] = []
    for child in sorted(report.children, key=lambda c: c.ok):
        mark = Cell(f"{ok} ok", "green") if child.ok else Cell(f"{bad} problem", "red")
        reach = "reachable" if child.reachable else "unreachable"
        push = _yes_no(child.can_push, "push allowed", "push refused")
        rows.append([mark, child.name, reach, push, f"credential: {credential(child)}", _forge(child)])
        for problem in child.problems:
            rows.append([f"    - {problem.message}"])
    lines = columns(rows, on)
    troubled = sum(1 for c in report.children if not c.ok)
    lines.append(f"{plural(len(report.children), 'child', 'children')} checked, "
                 f"{troubled} with problems." if troubled else
                 f"{plural(len(report.children), 'child', 'children')} checked, all fine.")
    write(redact(line) for line in lines)
