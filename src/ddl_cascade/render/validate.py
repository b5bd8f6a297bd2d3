"""Turn a validate `Report` into text, JSON, GitHub workflow annotations or SARIF 2.1.0.

Renderers take the plain report and return strings (or JSON-ready data); none of them knows whether it writes to a
terminal. Colour is a parameter the CLI decides.
"""

from __future__ import annotations

from typing import Any

from ddl_cascade import __version__
from ddl_cascade.validate.model import Finding, RuleInfo, Severity

FORMATS = ("text", "json", "github", "sarif")


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
