"""`ddl-cascade validate` runs the `lint/...` rules on new migrations: end to end, on a real parent repository with a
delivery branch, through the installed CLI."""

from __future__ import annotations

import json

from cascade_world import SOURCE, make_world

RISKY = """\
CREATE INDEX t1_idx ON t1 (id);
-- ddl-cascade: ignore lint/drop-table nothing has read t2 since V2
DROP TABLE t2;
ALTER TABLE orders
    ADD COLUMN note text NOT NULL;
ALTER TABLE t1 RENAME TO t1_old;
"""


def _lint_findings(result) -> list[tuple[str, str, str, int]]:
    doc = json.loads(result.stdout)
    return [(f["rule"], f["severity"], f["path"], f["line"]) for f in doc["findings"] if f["rule"].startswith("lint/")]


def _world(tmp_path):
    world = make_world(tmp_path, children={})  # delivered: V1 creates t1, V2 creates t2
    world.parent.commit({
        f"{SOURCE}/sql/V3__orders.sql": "CREATE TABLE orders (id int, c int);\nCREATE INDEX orders_c ON orders (c);\n",
        f"{SOURCE}/sql/V4__risky.sql": RISKY,
    }, "pending migrations")
    return world


def test_lint_warnings_on_new_migrations_only(tmp_path, cli):
    world = _world(tmp_path)
    result = cli("validate", "--json", cwd=world.parent.path)
    assert result.code == 0, result  # warnings only
    v4 = f"{SOURCE}/sql/V4__risky.sql"
    # orders is new (created by the pending V3), t1 was delivered; the DROP TABLE is silenced inline.
    assert _lint_findings(result) == [
        ("lint/index-not-concurrent", "warning", v4, 1),
        ("lint/rename-table", "warning", v4, 6),
    ]


def test_lint_severity_from_cascade_toml(tmp_path, cli):
    world = _world(tmp_path)
    config = world.config_path
    config.write_text(config.read_text() + '\n[validate.rules]\n"lint/rename-table" = "error"\n'
                      '"lint/index-not-concurrent" = "off"\n')
    result = cli("validate", "--json", cwd=world.parent.path)
    assert result.code == 1, result
    assert _lint_findings(result) == [("lint/rename-table", "error", f"{SOURCE}/sql/V4__risky.sql", 6)]
