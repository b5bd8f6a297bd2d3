"""demo: the seed's playground. Its SQL is valid PostgreSQL (run on a real server), and the whole demo runs end to
end through the CLI: validate, full, status, a V5, full and status again (V5 reaches the dev children only), then
promote prod, sync and status: exit 0, every child in sync and holding V5."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from ddl_cascade import demo


def test_playground_sql_runs_on_postgresql_for_every_child(tmp_path, pg_db):
    root = tmp_path / "play"
    root.mkdir()
    demo.build(root, lambda line: None)
    shared = sorted(demo.MIGRATIONS.items()) + [demo.V5]
    for name in demo.CHILDREN:
        local = sorted((path.rsplit("/", 1)[1], text) for path, text in demo._child_files(name).items()
                       if path.startswith("local-flyway-files/sql/"))
        assert [n[:5] for n, _ in local] == ["V1001", "V1002"]
        schema = name.replace("-", "_")
        pg_db.query(f"CREATE SCHEMA {schema}")
        with pg_db.connect() as conn:
            conn.execute(f"SET search_path TO {schema}")
            for _, sql in shared + local:  # in version order, as Flyway applies them
                conn.execute(sql)
            assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 2
            assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
                                "AND table_name = 'orders' AND column_name = 'shipped_at'", (schema,)).fetchone()[0] == 1
    callbacks = sorted(p.name for p in (root / "shared-flyway-ddl" / demo.SOURCE / "callbacks").iterdir())
    assert len(callbacks) == 16 and all(c[:-4] in demo.CALLBACK_EVENTS for c in callbacks)
    for name in demo.CHILDREN:
        refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)"], cwd=root / "remotes" / f"{name}.git",
                              capture_output=True, text=True).stdout.split()
        assert refs == ["refs/heads/main"]


def test_demo_rejects_a_folder_that_is_not_empty(tmp_path, cli):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    out = cli("demo", str(tmp_path / "busy"))
    assert out.code == 2 and "not empty" in out.stderr


def _section(stdout: str, start: str, end: str) -> str:
    return stdout[stdout.index(start):stdout.index(end)]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, cli):
    out = cli("demo", str(tmp_path / "play"))
    assert out.code == 0, out.stdout[-3000:] + out.stderr
    assert out.stdout.count("$ ddl-cascade validate") == 2 and out.stdout.count("$ ddl-cascade full") == 2
    assert out.stdout.count("$ ddl-cascade status") == 3
    assert out.stdout.count("$ ddl-cascade promote prod") == 1 and out.stdout.count("$ ddl-cascade sync") == 1
    assert out.stdout.count("All 4 children in sync.") == 3
    assert "(exit code 1)" not in out.stdout and "(exit code 2)" not in out.stdout
    assert "changes from" in out.stdout  # the second cascade is incremental

    dev, prod = ([n for n in demo.CHILDREN if demo.CHANNEL[n] == c] for c in ("dev", "prod"))
    assert dev == ["flyway-1-pipeline", "flyway-1-grants"] and prod == ["flyway-2-pipeline", "flyway-2-grants"]
    # After V5 is published: the dev children are updated, the prod children stay, and prod is one commit behind.
    second = _section(out.stdout, "Step 5", "Step 6")
    assert all(re.search(rf"{n}\s+behind 1\s+updated", second) for n in dev), second
    assert all(re.search(rf"{n}\s+in_sync\s+unchanged", second) for n in prod), second
    assert "1 delivery commit behind dev" in second
    # promote prod passes its gate and names what it brings; the next sync brings the prod children.
    promoted = _section(out.stdout, "$ ddl-cascade promote prod", "Step 7")
    assert "prod: promoted " in promoted and demo.V5[0] in promoted and "(exit code 0)" in promoted
    assert all(n in promoted for n in prod)
    last = out.stdout[out.stdout.index("Step 7"):]
    assert all(re.search(rf"{n}\s+behind 1\s+updated", last) for n in prod), last
    assert all(re.search(rf"{n}\s+in_sync\s+unchanged", last) for n in dev), last
    assert "behind dev" not in last

    parent = tmp_path / "play" / "shared-flyway-ddl"
    status = cli("status", "--json", cwd=parent)
    assert status.code == 0
    doc = json.loads(status.stdout)
    assert [c["name"] for c in doc["children"]] == list(demo.CHILDREN)
    assert [c["channel"] for c in doc["children"]] == [demo.CHANNEL[n] for n in demo.CHILDREN]
    assert [(c["name"], c["behind_first"]) for c in doc["channels"]] == [("dev", 0), ("prod", 0)]
    for name in demo.CHILDREN:
        files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], capture_output=True, text=True,
                               cwd=tmp_path / "play" / "remotes" / f"{name}.git").stdout.split()
        assert f"{demo.PREFIX}/sql/{demo.V5[0]}" in files
        assert any(f.startswith("local-flyway-files/sql/V1001__") for f in files) and "README.md" in files
    tagged = cli("sync", "--tag", "env-1", "--dry-run", "--json", cwd=parent)
    assert tagged.code == 0
    assert [c["name"] for c in json.loads(tagged.stdout)["children"]] == ["flyway-1-pipeline", "flyway-1-grants"]
    twice = cli("status", "flyway-2-grants", "flyway-2-grants", "--json", cwd=parent)
    assert [c["name"] for c in json.loads(twice.stdout)["children"]] == ["flyway-2-grants"]
