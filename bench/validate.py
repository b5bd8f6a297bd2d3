"""Time `ddl-cascade validate` end to end on a parent with 2,000 realistic migration files (target: < 5 s on 2 cores).

The generated folder looks like a real platform team's: dotted, underscored and date-like versions, tables with
constraints and indexes, `$$` functions and `DO` blocks, `COPY ... FROM stdin` data, grants, repeatable views and
callbacks. Half of the history is on the delivery branch, so the history checks compare real trees; the other half
is new, so it is linted too. The run is `python -m ddl_cascade validate --json`, exactly as CI would call it.

    .venv/bin/python bench/validate.py [--files 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = "read-write-flyway-files"


def migration(i: int) -> tuple[str, str]:
    """(file name, SQL) of the i-th migration; the kinds of change repeat the way real folders do."""
    table = f"t_{i:05d}"
    kind = i % 10
    if i > 600:
        # Like many real teams, the folder switched to date-like versions after its first few hundred migrations.
        n = i - 601
        version = f"{2019 + n // 300}.{n % 300 // 25 + 1:02d}.{n % 25 + 1:02d}"
    elif i % 7 == 0:
        version = f"{i}_1"  # underscored
    else:
        version = f"{i}.0" if i % 11 == 0 else str(i)
    name = f"V{version}__change_{kind}_{table}.sql"
    if kind in (0, 1, 2):
        sql = f"""-- {table}: created for ticket CCD-{i}
CREATE TABLE {table} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    name text NOT NULL,
    status varchar(20) NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'active', 'closed')),
    payload jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz
);
CREATE INDEX {table}_tenant_idx ON {table} (tenant_id);
CREATE UNIQUE INDEX {table}_name_uq ON {table} (tenant_id, lower(name));
COMMENT ON TABLE {table} IS 'Rows of {table}; owned by the platform team.';
GRANT SELECT, INSERT, UPDATE ON {table} TO app_rw;
GRANT SELECT ON {table} TO app_ro;
"""
    elif kind == 3:
        sql = f"""CREATE OR REPLACE FUNCTION {table}_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();  -- keep; semicolons in a dollar-quoted body do not end it
    RETURN NEW;
END;
$$;
"""
    elif kind == 4:
        rows = "\n".join(f"{n}\tcode_{n}\tLabel {n} é" for n in range(1, 25))
        sql = f"""CREATE TABLE {table} (id int PRIMARY KEY, code text NOT NULL, label text);
COPY {table} (id, code, label) FROM stdin;
{rows}
\\.
ANALYZE {table};
"""
    elif kind == 5:
        sql = f"""DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'role_{i}') THEN
        CREATE ROLE role_{i} NOLOGIN;
    END IF;
END
$$;
"""
    elif kind == 6:
        sql = f"""INSERT INTO settings (key, value, updated_at)
VALUES ('feature.{i}', 'on', now()), ('feature.{i}.limit', '{i * 3}', now())
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
"""
    elif kind == 7:
        sql = f"""ALTER TABLE t_{max(i - 7, 0):05d} ADD COLUMN note_{i} text;
UPDATE t_{max(i - 7, 0):05d} SET note_{i} = 'x' WHERE note_{i} IS NULL AND id < 100;
"""
    elif kind == 8:
        sql = f"""CREATE VIEW v_{table} AS
SELECT t.id, t.name, t.status, count(*) OVER (PARTITION BY t.tenant_id) AS per_tenant
FROM t_{max(i - 8, 0):05d} t
WHERE t.status <> 'closed';
GRANT SELECT ON v_{table} TO app_ro;
"""
    else:
        sql = f"""CREATE SEQUENCE IF NOT EXISTS seq_{i} START 1000;
CREATE TYPE mood_{i} AS ENUM ('sad', 'ok', 'happy');
ALTER TABLE t_{max(i - 9, 0):05d} ADD CONSTRAINT t_{i}_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) NOT VALID;
"""
    return name, sql


def build(root: Path, count: int, delivered: bool = True) -> Path:
    parent = root / "shared-flyway-ddl"
    sql = parent / SOURCE / "sql"
    callbacks = parent / SOURCE / "callbacks"
    sql.mkdir(parents=True)
    callbacks.mkdir()
    (parent / "cascade.toml").write_text(f'[source]\npath = "{SOURCE}"\n\n[flyway.placeholders]\nschema = "app"\n')
    repeatables = 20
    in_order: list[str] = []
    for i in range(1, count - repeatables - 2 + 1):
        name, text = migration(i)
        folder = sql / f"{2015 + i // 200}"  # yearly sub-folders, as real teams keep them
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        in_order.append((folder / name).relative_to(parent / SOURCE).as_posix())
    for r in range(repeatables):
        (sql / f"R__view_{r:02d}.sql").write_text(
            f"CREATE OR REPLACE VIEW ${{schema}}.report_{r} AS SELECT {r} AS n, now() AS at;\n", encoding="utf-8")
    (callbacks / "afterMigrate.sql").write_text("GRANT USAGE ON SCHEMA public TO app_ro;\n")
    (callbacks / "beforeMigrate__lock_timeout.sql").write_text("SET lock_timeout = '5s';\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="b@x")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=parent, check=True, env=env, capture_output=True)

    git("init", "-q", "-b", "main")
    # The delivery branch: the first half of the migrations, the folder at its root (as `git subtree split` makes it).
    git("add", "-A")
    git("commit", "-q", "-m", "all")
    half = in_order[: count // 2]
    tree_input = subprocess.run(
        ["git", "ls-tree", "-r", "HEAD", "--", *[f"{SOURCE}/{p}" for p in half]],
        cwd=parent, check=True, capture_output=True, text=True, env=env).stdout
    index = root / "delivery.index"
    ienv = dict(env, GIT_INDEX_FILE=str(index))
    entries = "".join(line.replace(f"\t{SOURCE}/", "\t", 1) + "\n" for line in tree_input.splitlines())
    subprocess.run(["git", "update-index", "--index-info"], cwd=parent, input=entries, text=True, check=True, env=ienv)
    tree = subprocess.run(["git", "write-tree"], cwd=parent, capture_output=True, text=True, check=True,
                          env=ienv).stdout.strip()
    commit = subprocess.run(["git", "commit-tree", tree, "-m", "delivered"], cwd=parent, capture_output=True,
                            text=True, check=True, env=env).stdout.strip()
    if delivered:
        git("update-ref", "refs/heads/ro-shared-ddl", commit)
    return parent


def _children_cpu() -> float:
    """CPU seconds (user + system) used by finished child processes: wall time alone means little on a busy machine."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for delivered, label in ((True, "half delivered, new half linted"), (False, "nothing delivered, all linted")):
        with tempfile.TemporaryDirectory(prefix="ddl-cascade-bench-") as tmp:
            parent = build(Path(tmp), args.files, delivered)
            times = []
            cpu = []
            report = {}
            for _ in range(args.runs):
                before = _children_cpu()
                start = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "ddl_cascade", "validate", "--json"], cwd=parent,
                                      capture_output=True, text=True)
                times.append(time.perf_counter() - start)
                cpu.append(_children_cpu() - before)
                if proc.returncode not in (0, 1):
                    sys.exit(f"validate failed ({proc.returncode}): {proc.stderr}")
                report = json.loads(proc.stdout)
            errors = [f for f in report["findings"] if f["severity"] == "error"]
            warnings = len(report["findings"]) - len(errors)
            best = min(times)
            print(f"validate ({label}): {report['files']} files, {len(errors)} errors, {warnings} warnings; "
                  f"best {best:.2f} s of {args.runs} runs (all: {', '.join(f'{t:.2f}' for t in times)}; "
                  f"CPU {min(cpu):.2f} s, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
                  f"target < 5 s: {'met' if best < 5 else 'MISSED'}")
            for f in errors[:10]:
                print(f"  unexpected error: {f['path']}:{f['line']} {f['rule']} {f['message']}")


if __name__ == "__main__":
    main()
