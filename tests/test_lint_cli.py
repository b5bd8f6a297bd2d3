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


# --- What delivered migrations establish carries into the new ones (issue 8): the engine lints the same sequence
# the rule tests do, delivered migrations remembered, new ones linted.

SET_NOT_NULL_FIX = [
    "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n",
    "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_nn;\n",
]


def _delivered_then_new(make_repo, delivered: dict[str, str], new: dict[str, str]):
    from test_validate_cli import deliver, make_parent

    repo = make_parent(make_repo, {"sql/V1__users.sql": "CREATE TABLE users (id int, email text);\n", **delivered})
    deliver(repo)
    repo.write({f"{SOURCE}/{path}": text for path, text in new.items()})
    return repo


def _lint_rules(cli, repo) -> list[tuple[str, str]]:
    result = cli("validate", "--json", cwd=repo.path)
    assert result.code == 0, result
    return [(rule, path.rsplit("/", 1)[-1]) for rule, _, path, _ in _lint_findings(result)]


def test_set_not_null_fix_with_delivered_check_is_quiet(make_repo, cli):
    v2, v3, v4 = SET_NOT_NULL_FIX
    repo = _delivered_then_new(make_repo, {"sql/V2__check.sql": v2, "sql/V3__validate.sql": v3},
                               {"sql/V4__not_null.sql": v4})
    assert _lint_rules(cli, repo) == []


def test_set_not_null_without_the_delivered_validate_warns(make_repo, cli):
    v2, _, v4 = SET_NOT_NULL_FIX
    repo = _delivered_then_new(make_repo, {"sql/V2__check.sql": v2}, {"sql/V4__not_null.sql": v4})
    assert _lint_rules(cli, repo) == [("lint/set-not-null", "V4__not_null.sql")]


def test_widening_a_delivered_varchar_is_quiet_narrowing_warns(make_repo, cli):
    delivered = {"sql/V2__orders.sql": "CREATE TABLE orders (id int, code varchar(50), qty int);\n"}
    widen = {"sql/V3__widen.sql": "ALTER TABLE orders ALTER COLUMN code TYPE varchar(100);\n"}
    repo = _delivered_then_new(make_repo, delivered, widen)
    assert _lint_rules(cli, repo) == []
    repo.write({f"{SOURCE}/sql/V4__narrow.sql": "ALTER TABLE orders ALTER COLUMN code TYPE varchar(20);\n",
                f"{SOURCE}/sql/V5__qty.sql": "ALTER TABLE orders ALTER COLUMN qty TYPE bigint;\n"})
    assert _lint_rules(cli, repo) == [("lint/column-type-change", "V4__narrow.sql"),
                                      ("lint/column-type-change", "V5__qty.sql")]
