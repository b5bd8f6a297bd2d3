"""Turn a validate `Report` into text, JSON, GitHub workflow annotations, SARIF 2.1.0 or a pull-request comment.

Renderers take the plain report and return strings (or JSON-ready data); none of them knows whether it writes to a
terminal. Colour is a parameter the CLI decides.

The Markdown comment (`markdown`) follows what reviewers of Atlas's and squawk's comments ask for: the verdict first,
then a table of checks, then the findings of the files the pull request changes (the rest are counted, not listed),
grouped by file, with links to the line and to the rule's documentation, long parts collapsed, and the whole under
60,000 characters (GitHub refuses a comment above 65,536). It opens with a hidden marker, so the one comment that
carries it can be found and edited again (`forge.upsert_comment`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ddl_cascade import __version__
from ddl_cascade.validate.model import Finding, RuleInfo, Severity

FORMATS = ("text", "json", "github", "sarif", "markdown")


def summary(findings: list[Finding], files: int) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = len(findings) - errors
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')} checked."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def text(findings: list[Finding], files: int, colour: bool = False) -> str:
    """Findings grouped by file, each with its position, severity, rule, message and hint; then one summary line."""

    def paint(s: str, code: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if colour else s

    lines: list[str] = []
    current: str | None = None
    for f in findings:
        if f.path != current:
            if current is not None:
                lines.append("")
            lines.append(paint(f.path, "1"))
            current = f.path
        where = f"{f.line}:{f.column}" if f.column else (str(f.line) if f.line else "-")
        sev = paint(f"{f.severity.value:<7}", "31" if f.severity is Severity.ERROR else "33")
        lines.append(f"  {where:>7}  {sev}  {paint(f.rule, '36')}  {f.message}")
        if f.hint:
            lines.append(f"  {'':>7}  {'':<7}  {paint('hint: ' + f.hint, '2')}")
    if lines:
        lines.append("")
    lines.append(summary(findings, files))
    return "\n".join(lines) + "\n"


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(findings: list[Finding], files: int) -> str:
    """GitHub Actions workflow commands: one `::error` / `::warning` annotation per finding, then the summary."""
    out: list[str] = []
    for f in findings:
        props = [f"file={_escape_property(f.path)}"]
        if f.line:
            props.append(f"line={f.line}")
            if f.column:
                props.append(f"col={f.column}")
        props.append(f"title={_escape_property(f.rule)}")
        message = f.message + (f"\n{f.hint}" if f.hint else "")
        out.append(f"::{f.severity.value} {','.join(props)}::{escape_data(message)}")
    out.append(summary(findings, files))
    return "\n".join(out) + "\n"


def sarif(findings: list[Finding], rules: dict[str, RuleInfo], docs: dict[str, str]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: the tool's rules (every known rule) and one result per finding."""
    ids = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    rule_objects = []
    for rule_id in ids:
        info = rules[rule_id]
        obj: dict[str, Any] = {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": info.summary},
            "defaultConfiguration": {"level": info.severity.value},
        }
        if docs.get(rule_id):
            obj["fullDescription"] = {"text": docs[rule_id].split("\n\n", 1)[0]}
            obj["help"] = {"text": docs[rule_id]}
        rule_objects.append(obj)
    results = []
    for f in findings:
        location: dict[str, Any] = {
            "physicalLocation": {"artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"}}
        }
        if f.line:
            region: dict[str, Any] = {"startLine": f.line}
            if f.column:
                region["startColumn"] = f.column
            location["physicalLocation"]["region"] = region
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": f.severity.value,
            "message": {"text": f.message + (f" Hint: {f.hint}" if f.hint else "")},
            "locations": [location],
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ddl-cascade",
                        "version": __version__,
                        "rules": rule_objects,
                    }
                },
                "results": results,
            }
        ],
    }


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


# ---------------------------------------------------------------------------------------------------------------------
# Markdown: the pull-request comment and the job summary

MARKER = "<!-- ddl-cascade:validate -->"
LIMIT = 60_000  # characters; GitHub refuses a comment body above 65,536
FALLBACK_PROJECT_URL = "https://github.com/ddl-cascade/ddl-cascade"
_OPEN_FINDINGS = 5  # a file's first findings are shown; the rest are collapsed
_MESSAGE_MAX = 1_000  # one finding's message and hint, each, before "…"

# The checks of the table, by rule family (the part of a rule id before "/"), in the order a reviewer reads them.
CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Flyway names and versions", ("naming", "file", "callback", "version", "repeatable", "script-config")),
    ("Delivered history", ("history",)),
    ("SQL: encoding, syntax, placeholders, transactions", ("encoding", "sql", "tx")),
    ("Risky DDL (lint)", ("lint",)),
    ("Children's own migrations (--children)", ("child",)),
    ("Inline suppressions", ("suppression",)),
)


@dataclass(frozen=True)
class Links:
    """Where the comment's links point: `blob` is the pull request's head on the forge
    (`https://github.com/o/r/blob/<sha>/`), None to show plain paths; `docs` is the project's docs folder."""

    blob: str | None
    docs: str

    def file(self, path: str, line: int = 0) -> str | None:
        if self.blob is None:
            return None
        return f"{self.blob}{quote(path, safe='/')}" + (f"#L{line}" if line else "")

    def rule(self, rule_id: str) -> str:
        if rule_id.startswith("lint/"):
            return f"{self.docs}lint-rules.md#{_anchor(rule_id)}"
        return f"{self.docs}validate.md#rules"


def project_url() -> str:
    """The project's repository, from the installed package's metadata (`Project-URL: Repository`), else ours."""
    from importlib import metadata

    try:
        for entry in metadata.metadata("ddl-cascade").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() in ("repository", "source", "source code") and url.strip():
                return url.strip().rstrip("/")
    except metadata.PackageNotFoundError:
        pass
    return FALLBACK_PROJECT_URL


def docs_url(project: str | None = None) -> str:
    return f"{project or project_url()}/blob/main/docs/"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation other than `-` and `_` dropped."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def inert(text: str, limit: int = _MESSAGE_MAX) -> str:
    """Text from a migration or a message, made inert in Markdown: no HTML, no emphasis, links, tables or mentions."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = html.escape(text, quote=False)
    text = re.sub(r"([\\`*_\[\]|~#!])", r"\\\1", text)
    return text.replace("@", "@\u200b")  # "@name" would notify someone


def _code(path: str) -> str:
    return "`" + path.replace("`", "'") + "`"


def _counts(findings: list[Finding]) -> tuple[int, int]:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return errors, len(findings) - errors


def verdict(findings: list[Finding], files: int) -> str:
    """The first line a reviewer reads: passed or failed, and the counts."""
    errors, warnings = _counts(findings)
    if errors:
        head = f"❌ **ddl-cascade validate failed**: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    elif warnings:
        head = f"⚠️ **ddl-cascade validate passed** with {_plural(warnings, 'warning')}"
    else:
        head = "✅ **ddl-cascade validate passed**: no findings"
    return f"{head} in {_plural(files, 'file')} checked."


def checks_table(findings: list[Finding], *, history: bool, children: bool) -> list[str]:
    """One row per check: its result and counts. A check that did not run says so."""
    rows = ["| check | result | errors | warnings |", "|---|---|--:|--:|"]
    for title, families in CHECKS:
        mine = [f for f in findings if f.rule.split("/", 1)[0] in families]
        errors, warnings = _counts(mine)
        if families == ("history",) and not history:
            result = "⏭️ skipped (nothing delivered)"
        elif families == ("child",) and not children and not mine:
            result = "⏭️ not run"
        else:
            result = "❌ failed" if errors else "⚠️ warnings" if warnings else "✅ passed"
        rows.append(f"| {title} | {result} | {errors} | {warnings} |")
    return rows


def _finding_line(f: Finding, links: Links) -> str:
    icon = "❌" if f.severity is Severity.ERROR else "⚠️"
    where = ""
    if f.line:
        label = f"line {f.line}" + (f":{f.column}" if f.column else "")
        target = links.file(f.path, f.line)
        where = f" {f'[{label}]({target})' if target else label}:"
    line = f"- {icon} [`{f.rule}`]({links.rule(f.rule)}){where} {inert(f.message)}"
    if f.hint:
        line += f"<br>↳ {inert(f.hint)}"
    return line


def markdown(findings: list[Finding], files: int, *, changed: list[str] | None, source: str, links: Links,
             history: bool = True, children: bool = False, notes: list[str] | None = None,
             sections: list[str] | None = None, limit: int = LIMIT) -> str:
    """The pull-request comment. `changed`: the files the pull request changes (None: all of them); findings about
    files outside `source` (the source folder, e.g. `cascade.toml`) are always listed. `sections`: Markdown
    sections that follow the table of checks (`db diff`'s "Schema changes"), counted in the limit."""
    prefix = source.rstrip("/") + "/"
    wanted = None if changed is None else set(changed)
    shown = [f for f in findings if wanted is None or f.path in wanted or not f.path.startswith(prefix)]
    hidden = len(findings) - len(shown)

    head = [MARKER, f"### {verdict(findings, files)}", ""] + checks_table(findings, history=history,
                                                                              children=children) + [""]
    for section in sections or []:
        head += section.rstrip("\n").split("\n") + [""]
    if notes:
        head += ["<details><summary>Not checked</summary>", ""] + [f"- {inert(n)}" for n in notes] + ["", "</details>",
                                                                                                  ""]
    if shown:
        head += [f"#### Findings in the files this pull request changes ({len(shown)})", ""]
    elif findings:
        head += ["No finding is in a file this pull request changes.", ""]

    body: list[str] = []
    used = sum(len(line) + 1 for line in head)
    reserve = 600  # the closing tags and the summary lines below
    listed = 0
    groups: dict[str, list[Finding]] = {}
    for f in shown:
        groups.setdefault(f.path, []).append(f)
    truncated = False
    for path, group in groups.items():
        errors, warnings = _counts(group)
        target = links.file(path)
        title = f"[{_code(path)}]({target})" if target else _code(path)
        block = [f"**{title}**: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}", ""]
        closing: list[str] = []
        for i, f in enumerate(group):
            if i == _OPEN_FINDINGS:
                block += ["", f"<details><summary>{len(group) - _OPEN_FINDINGS} more in this file</summary>", ""]
                closing = ["", "</details>"]
            line = _finding_line(f, links)
            cost = sum(len(x) + 1 for x in block) + len(line) + 1 + sum(len(x) + 1 for x in closing)
            if used + cost + reserve > limit:
                truncated = True
                break
            block.append(line)
            listed += 1
        if any(x.startswith("- ") for x in block):
            body += block + closing + [""]
            used += sum(len(x) + 1 for x in block + closing) + 1
        if truncated:
            break

    tail: list[str] = []
    if truncated:
        tail.append(f"**{_plural(len(shown) - listed, 'more finding')} not listed**: the comment stays under "
                    f"{limit:,} characters; `ddl-cascade validate` lists them all.")
    if hidden:
        tail.append(f"{_plural(hidden, 'finding')} in files this pull request does not change "
                    "(counted above, not listed); `ddl-cascade validate` lists them.")
    tail.append(f"<sub>ddl-cascade {__version__}</sub>")
    return "\n".join(head + body + "\n\n".join(tail).split("\n")) + "\n"


def step_summary(findings: list[Finding], files: int, *, history: bool = True, children: bool = False) -> str:
    """The job summary (`$GITHUB_STEP_SUMMARY`): the verdict and the table of checks, no findings."""
    return "\n".join([f"### {verdict(findings, files)}", ""]
                     + checks_table(findings, history=history, children=children)) + "\n\n"
