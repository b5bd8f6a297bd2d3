"""`ddl-cascade db diff` end to end: a parent with V1..V3 published on its delivery branch and V4 in the working tree,
the installed CLI, real git, real throwaway PostgreSQL servers."""

from __future__ import annotations

import json

import pytest

from ddl_cascade.db.diff import SchemaDiff
from ddl_cascade.render.db import schema_changes_markdown

SOURCE = "read-write-flyway-files"

V1_TO_V3 = {
    f"{SOURCE}/sql/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL, note text);\n",
    f"{SOURCE}/sql/V2__index.sql": "CREATE INDEX orders_total ON orders (total);\n",
    # a role: both sides create it, so each side needs a server of its own
    f"{SOURCE}/sql/V3__grant.sql": "CREATE ROLE diff_reader;\nGRANT SELECT ON orders TO diff_reader;\n",
}
V4 = ("ALTER TABLE orders DROP COLUMN note;\n"
      "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n"
      "REVOKE SELECT ON orders FROM diff_reader;\n"
      "CREATE TABLE lines (id int PRIMARY KEY, order_id int REFERENCES orders (id));\n"
      "COMMENT ON TABLE lines IS 'order lines';\n")

EXPECTED = [
    ("table", "public.lines", "added"),
    ("column", "public.lines.id", "added"),
    ("column", "public.lines.order_id", "added"),
    ("column", "public.orders.note", "removed"),
    ("column", "public.orders.total", "changed"),
    ("constraint", "lines_order_id_fkey on public.lines", "added"),
    ("constraint", "lines_pkey on public.lines", "added"),
    ("privilege", "table public.orders to diff_reader", "removed"),
    ("comment", "table public.lines", "added"),
]


def published_parent(make_repo, cli):
    repo = make_repo("parent")
    base = repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n', **V1_TO_V3}, "V1..V3")
    published = cli("publish", cwd=repo.path)
    assert published.code == 0, published.stderr
    repo.write({f"{SOURCE}/sql/V4__reshape_orders.sql": V4})
    return repo, base


@pytest.mark.slow
def test_db_diff_json_and_markdown(make_repo, cli):
    repo, base = published_parent(make_repo, cli)
    delivered = repo.git("rev-parse", "ro-shared-ddl")

    result = cli("db", "diff", "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["base"] == delivered and data["head"] == "working tree"
    assert [(c["kind"], c["name"], c["change"]) for c in data["changes"]] == EXPECTED
    total = next(c for c in data["changes"] if c["name"] == "public.orders.total")
    assert (total["before"]["type"], total["after"]["type"]) == ("integer", "bigint")
    assert total["before"]["nullable"] is False and total["after"]["nullable"] is False

    markdown = cli("db", "diff", "--format", "markdown", cwd=repo.path)
    assert markdown.code == 0, markdown.stderr
    lines = markdown.stdout.splitlines()
    assert lines[0] == "#### Schema changes"
    risky = lines.index("**⚠️ Risky** (3)")
    added = lines.index("**Added** (6)")
    assert risky < added  # the risky ones first
    assert lines[risky + 2:risky + 5] == [
        "- **removed column** `public.orders.note`: drops a column and its data",
        "- **changed column** `public.orders.total`: changes a column's type (a rewrite, and its readers may break): "
        "type `integer` → `bigint`",
        "- **removed privilege** `table public.orders to diff_reader`: revokes a grant (`SELECT`)",
    ]
    assert "- table `public.lines`" in lines and "**Removed**" not in markdown.stdout

    text = cli("db", "diff", cwd=repo.path)
    assert text.code == 0, text.stderr
    assert text.stdout.splitlines()[0].startswith(f"Schema changes from base {delivered[:12]} to the working tree "
                                                  "(3 and 4 migrations replayed on PostgreSQL ")
    assert text.stdout.splitlines()[-1] == "9 schema changes: 3 risky, 6 added."

    # the pull-request comment includes the same section, after the table of checks
    comment = cli("validate", "--format", "markdown", "--schema-diff", cwd=repo.path)
    assert comment.code in (0, 1), comment.stderr  # lint has its say about the dropped column
    assert markdown.stdout in comment.stdout
    assert comment.stdout.index("| check | result |") < comment.stdout.index("#### Schema changes")
    alone = cli("validate", "--schema-diff", cwd=repo.path)
    assert alone.code == 2 and "give it with --format markdown or --comment" in alone.stderr

    # --base names any revision: the commit on main holds the source folder under source.path
    same = cli("db", "diff", "--json", "--base", base, cwd=repo.path)
    assert same.code == 0, same.stderr
    assert json.loads(same.stdout)["changes"] == data["changes"]


def test_db_diff_edited_delivered_migration_failure_and_bad_input(make_repo, cli):
    """An edited delivered migration: each side is replayed from empty on a server of its own (V3 creates a role on
    both); a migration that fails is the command's failure (exit 1); bad options are one sentence (exit 2)."""
    repo, _ = published_parent(make_repo, cli)
    repo.write({f"{SOURCE}/sql/V2__index.sql": "CREATE INDEX orders_total ON orders (total, id);\n"})
    result = cli("db", "diff", "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    changes = [(c["kind"], c["name"], c["change"]) for c in json.loads(result.stdout)["changes"]]
    assert changes == EXPECTED[:7] + [("index", "public.orders_total", "changed")] + EXPECTED[7:]

    repo.write({f"{SOURCE}/sql/V5__broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n"})
    result = cli("db", "diff", "--json", cwd=repo.path)
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        f"ddl-cascade: the migrations of the working tree do not apply: {SOURCE}/sql/V5__broken.sql, line 1: "
        'ERROR: relation "nowhere" does not exist (SQLSTATE 42P01)')

    result = cli("db", "diff", "--base", "no-such-rev", cwd=repo.path)
    assert result.code == 2 and result.stderr.strip() == (
        f"ddl-cascade: --base 'no-such-rev' names no commit in {repo.path}.")
    result = cli("db", "diff", "--format", "sarif", cwd=repo.path)
    assert result.code == 2 and "--format must be one of text, json, markdown" in result.stderr


def test_db_diff_before_the_first_publish(make_repo, cli):
    """No delivery branch: the base is an empty database, and a note on stderr says why."""
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n',
                 f"{SOURCE}/sql/V1__a.sql": "CREATE TABLE a (id int);\n"}, "V1")
    result = cli("db", "diff", "--json", cwd=repo.path)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["base"] is None
    assert [(c["kind"], c["name"], c["change"]) for c in data["changes"]] == [
        ("table", "public.a", "added"), ("column", "public.a.id", "added")]
    assert result.stderr.startswith("ddl-cascade: note: no delivery branch 'ro-shared-ddl' (")
    assert result.stderr.rstrip().endswith("the base is an empty database, so every object is added.")


def test_the_shared_prefix_gives_what_replays_from_empty_give(make_repo):
    """The fast way (the shared versioned prefix applied once, then copied) and replaying each side from empty
    report the same changes, with repeatable migrations that depend on what the new migrations change and
    callbacks."""
    from ddl_cascade import config
    from ddl_cascade.db import diff as diffs
    from ddl_cascade.db import migrations

    repo = make_repo("parent")
    base = repo.commit({
        "cascade.toml": f'[source]\npath = "{SOURCE}"\n',
        f"{SOURCE}/sql/V1__t.sql": "CREATE TABLE t (id int PRIMARY KEY, a text);\n",
        f"{SOURCE}/sql/V2__u.sql": "CREATE TABLE u (id int);\n",
        # SELECT *: the view's columns are those of t when the repeatable runs
        f"{SOURCE}/sql/R__view.sql": "CREATE OR REPLACE VIEW v AS SELECT * FROM t;\n",
        f"{SOURCE}/callbacks/beforeMigrate.sql": "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles "
                                                 "WHERE rolname = 'cb_reader') THEN CREATE ROLE cb_reader; END IF; END $$;\n",
        f"{SOURCE}/callbacks/afterMigrate.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO cb_reader;\n",
    }, "base")
    repo.write({f"{SOURCE}/sql/V3__b.sql": "ALTER TABLE t ADD COLUMN b int;\nCREATE TABLE w (id int);\n"})
    cfg = config.load(repo.path / "cascade.toml")
    base_set, head_set = migrations.for_parent_at(cfg, base), migrations.for_parent(cfg)
    shared = diffs.shared_prefix(base_set, head_set)
    assert shared is not None and [m.script for m in shared.migrations] == ["V1__t.sql", "V2__u.sql"]

    fast = diffs._from_prefix(shared, base_set, head_set)
    slow = diffs._replay(base_set), diffs._replay(head_set)
    assert fast is not None
    assert [r.migrations for r, _ in fast] == [r.migrations for r, _ in slow] == [3, 4]
    from ddl_cascade.db.catalog import compare

    fast_changes, slow_changes = compare(fast[0][1], fast[1][1]), compare(slow[0][1], slow[1][1])
    assert fast_changes == slow_changes
    assert [(c.kind, c.name, c.change) for c in fast_changes] == [
        ("table", "public.w", "added"), ("column", "public.t.b", "added"), ("column", "public.w.id", "added"),
        ("view", "public.v", "changed"), ("privilege", "table public.w to cb_reader", "added")]

    # an edited delivered migration: no shared prefix
    repo.write({f"{SOURCE}/sql/V2__u.sql": "CREATE TABLE u (id bigint);\n"})
    assert diffs.shared_prefix(base_set, migrations.for_parent(cfg)) is None


def test_markdown_section_is_bounded_and_inert():
    from ddl_cascade.db.catalog import SchemaChange

    changes = [SchemaChange("column", f"public.t.c{i:04d}", "removed", {"type": "int"}, None) for i in range(2000)]
    changes.append(SchemaChange("function", "public.f()", "changed", {"definition": "a\n```\nb `x`"},
                                {"definition": "a\n```\nc"}))
    text = schema_changes_markdown(SchemaDiff("0" * 40, "working tree", changes, "15.0"), limit=5000)
    assert len(text) <= 5000
    assert "more changes not listed" in text
    small = schema_changes_markdown(SchemaDiff(None, "working tree", changes[-1:], "15.0"))
    assert "from an empty database (nothing delivered yet)" in small
    assert "````diff" in small  # the fence is longer than any run of backticks inside


def test_text_lists_risky_first_and_what_changed():
    from ddl_cascade.db.catalog import SchemaChange
    from ddl_cascade.db.diff import DiffRun, Replay
    from ddl_cascade.render.db import diff_lines

    changes = [
        SchemaChange("column", "public.t.a", "changed", {"type": "int", "nullable": True},
                     {"type": "int", "nullable": False}),
        SchemaChange("function", "public.f()", "changed", {"definition": "BEGIN\n  RETURN 1;\nEND"},
                     {"definition": "BEGIN\n  RETURN 2;\nEND"}),
        SchemaChange("privilege", "table public.t to r", "changed", {"privileges": ["INSERT", "SELECT"]},
                     {"privileges": ["SELECT"]}),
    ]
    lines = diff_lines(DiffRun(SchemaDiff("a" * 40, "working tree", changes, "15.0"), Replay(3), Replay(4)))
    assert lines == [
        "Schema changes from base aaaaaaaaaaaa to the working tree (3 and 4 migrations replayed on PostgreSQL 15.0)",
        "  !  changed  column     public.t.a           makes a column NOT NULL (scans the table; writers of NULL fail)",
        "        nullable: true -> false",
        "  !  changed  privilege  table public.t to r  revokes a privilege",
        "        privileges: [INSERT, SELECT] -> [SELECT]",
        "  ~  changed  function   public.f()",
        "        definition changed:",
        "          -  RETURN 1;",
        "          +  RETURN 2;",
        "3 schema changes: 2 risky, 1 changed.",
    ]


RISKS = [
    # (kind, change, before, after, risky)
    ("column", "removed", {"type": "int"}, None, True),
    ("table", "removed", {}, None, True),
    ("constraint", "removed", {"type": "check"}, None, True),
    ("privilege", "removed", {"privileges": ["SELECT"]}, None, True),
    ("column", "changed", {"type": "int"}, {"type": "bigint"}, True),
    ("column", "changed", {"type": "int", "nullable": True}, {"type": "int", "nullable": False}, True),
    ("column", "changed", {"type": "int", "nullable": False}, {"type": "int", "nullable": True}, False),
    ("column", "changed", {"type": "int", "default": None}, {"type": "int", "default": "0"}, False),
    ("privilege", "changed", {"privileges": ["INSERT", "SELECT"]}, {"privileges": ["SELECT"]}, True),
    ("privilege", "changed", {"privileges": ["SELECT"]}, {"privileges": ["INSERT", "SELECT"]}, False),
    ("type", "changed", {"type": "enum", "labels": ["a", "c"]}, {"type": "enum", "labels": ["a", "b", "c"]}, False),
    ("type", "changed", {"type": "enum", "labels": ["a", "b"]}, {"type": "enum", "labels": ["b", "a"]}, True),
    ("index", "removed", {"definition": "CREATE INDEX …"}, None, False),
    ("column", "added", None, {"type": "int"}, False),
    ("comment", "removed", {"text": "x"}, None, False),
]


@pytest.mark.parametrize("kind, change, before, after, risky", RISKS)
def test_which_changes_are_risky(kind, change, before, after, risky):
    from ddl_cascade.db.catalog import SchemaChange
    from ddl_cascade.db.diff import risk

    assert (risk(SchemaChange(kind, "x", change, before, after)) is not None) is risky
