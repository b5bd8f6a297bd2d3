"""The `lint/...` documentation is executable: each rule's anti-pattern triggers it, its fix does not, and
docs/lint-rules.md is exactly what the docstrings render to."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from lintkit import parse_file

from ddl_cascade.validate import suppress
from ddl_cascade.validate.lint import MODULES, RULES, Migration, lint_migrations
from ddl_cascade.validate.lint._docs import examples, render

ROOT = Path(__file__).resolve().parent.parent
_NEXT = re.compile(r"^-- next migration\b.*$", re.MULTILINE)


def _lint_example(sql: str) -> list:
    """Findings of an example, split into migrations at `-- next migration:`, after inline suppressions."""
    parts = _NEXT.split(sql)
    migrations = [Migration("sql/V1__doc.sql", parse_file(part)) for part in parts]
    out = []
    for part, m, found in zip(parts, migrations, lint_migrations(migrations)):
        silenced = suppress.scan(part, [stmt for stmt, _ in m.statements])
        out += [f for f in found if not silenced.silences(f)]
    return out


@pytest.mark.parametrize("module", MODULES, ids=[m.INFO.id for m in MODULES])
def test_docstring_examples_are_true(module):
    doc = inspect.cleandoc(module.__doc__ or "")
    assert doc.splitlines()[0].endswith("."), "the docstring opens with a one-sentence description"
    found = examples(module)
    assert set(found) == {"Anti-pattern", "Fix"}, f"{module.INFO.id} needs an Anti-pattern and a Fix sql block"
    rule = module.INFO.id
    assert rule in {f.rule for f in _lint_example(found["Anti-pattern"])}, "the anti-pattern must trigger its rule"
    assert rule not in {f.rule for f in _lint_example(found["Fix"])}, "the fix must not trigger its rule"


def test_fixes_do_not_trade_one_warning_for_another():
    # A fix may need a .sql.conf (executeInTransaction=false) the example cannot show; nothing else may fire.
    needs_conf = {"lint/concurrently-in-transaction"}
    allowed = {"lint/reindex-not-concurrent": needs_conf, "lint/detach-partition-not-concurrent": needs_conf}
    for module in MODULES:
        rules = {f.rule for f in _lint_example(examples(module)["Fix"])}
        assert rules <= allowed.get(module.INFO.id, set()), module.INFO.id


def test_every_rule_is_documented_in_docs_lint_rules_md():
    text = (ROOT / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    assert text == render(), "regenerate: python -m ddl_cascade.validate.lint._docs > docs/lint-rules.md"
    for rule_id, info in RULES.items():
        assert f"## {rule_id}\n" in text and info.summary in text

