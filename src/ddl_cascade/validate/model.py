"""The data `validate` produces: findings, and the rules that make them.

A finding is plain data so the same object feeds the text, JSON, GitHub and SARIF renderers, the dashboard and the
tests. Every rule has a stable id (`naming/invalid`, `lint/drop-table`, ...), a default severity and a one-line summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    path: str  # relative to the parent repository's root, with "/"
    line: int  # 1-based; 0 when the finding is about the whole file
    column: int  # 1-based; 0 when unknown
    message: str
    hint: str


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: Severity  # the default; [validate.rules] in cascade.toml may change it or turn it "off"
    summary: str


@dataclass
class ValidateReport:
    """`validate --json`: every finding, in the order they are printed, and how many files were checked."""

    findings: list[Finding]
    files: int
