"""Time `ddl-cascade db verify` over 300 generated migrations, server start included (target: < 10 s on 2 cores).

The migrations are the kinds a platform team writes: tables with constraints, indexes (some built CONCURRENTLY, so
they run outside a transaction), `$$` functions, `DO` blocks, enums, a partitioned table, `COPY ... FROM stdin`
seed data, grants with placeholders, repeatable views, and callbacks (beforeMigrate, beforeEachMigrate,
afterMigrate). The timed command is `python -m ddl_cascade db verify --json`, exactly as CI would call it: it
starts a throwaway PostgreSQL server, applies everything, writes flyway_schema_history, and removes the server.

    .venv/bin/python bench/db.py [--migrations 300] [--runs 3]
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
    """(file name, SQL) of the i-th versioned migration."""
    table = f"t_{i:04d}"
    kind = i % 8
    version = f"{i // 100 + 1}.{i % 100}" if i % 3 else f"{i // 100 + 1}_{i % 100}_1"
    name = f"V{version}__change_{kind}_{table}.sql"
    if kind == 0:
        sql = (f"CREATE TABLE {table} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
               f"  code text NOT NULL UNIQUE,\n  amount numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),\n"
               f"  created_at timestamptz NOT NULL DEFAULT now()\n);\n"
               f"COMMENT ON TABLE {table} IS 'created by migration {i}';\n"
               f"GRANT SELECT ON {table} TO ${{reader}};\n")
    elif kind == 1:
        sql = (f"CREATE FUNCTION f_{table}(x numeric) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$\n"
               f"BEGIN\n  -- a ; inside the body\n  RETURN x * {i};\nEND;\n$$;\n")
    elif kind == 2:
        sql = (f"DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'e_{table}') THEN\n"
               f"    CREATE TYPE e_{table} AS ENUM ('new', 'open', 'closed');\n  END IF;\nEND\n$$;\n"
               f"CREATE TABLE {table} (id int PRIMARY KEY, state e_{table} NOT NULL DEFAULT 'new');\n")
    elif kind == 3:
        rows = "".join(f"{n}\tcode-{i}-{n}\t{n * 1.5}\n" for n in range(1, 21))
        sql = (f"CREATE TABLE {table} (id int PRIMARY KEY, code text, amount numeric);\n"
               f"COPY {table} (id, code, amount) FROM stdin;\n{rows}\\.\n")
    elif kind == 4:
        sql = (f"CREATE TABLE {table} (id int, day date NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);\n"
               f"CREATE TABLE {table}_2024 PARTITION OF {table} FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
               f"CREATE TABLE {table}_2025 PARTITION OF {table} FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n")
    elif kind == 5:
        sql = f"CREATE TABLE {table} (id int, ref text);\nCREATE INDEX CONCURRENTLY {table}_ref ON {table} (ref);\n"
        # Mixed on purpose: the .sql.conf makes it non-transactional, as a team would.
        return name, sql
    elif kind == 6:
        sql = (f"CREATE TABLE {table} (id int PRIMARY KEY, note text);\n"
               f"INSERT INTO {table} SELECT g, 'note ' || g FROM generate_series(1, 50) g;\n"
               f"CREATE INDEX {table}_note ON {table} (note);\n")
    else:
        sql = (f"CREATE TABLE {table} (id int PRIMARY KEY);\n"
               f"ALTER TABLE {table} ADD COLUMN label text NOT NULL DEFAULT '${{flyway:defaultSchema}}';\n")
    return name, sql


def build(folder: Path, count: int) -> None:
    src = folder / SOURCE
    (src / "sql").mkdir(parents=True)
    (src / "callbacks").mkdir()
    repeatables = max(1, count // 30)
    for i in range(count - repeatables):
        name, sql = migration(i)
        (src / "sql" / name).write_text(sql)
        if i % 8 == 5:
            (src / "sql" / (name + ".conf")).write_text("executeInTransaction=false\n")
    for j in range(repeatables):
        (src / "sql" / f"R__view_{j:03d}.sql").write_text(
            f"CREATE OR REPLACE VIEW v_{j:03d} AS SELECT '{j}'::text AS n, current_user AS u;\n")
    (src / "callbacks" / "beforeMigrate.sql").write_text(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${reader}') THEN "
        "CREATE ROLE ${reader}; END IF; END $$;\n")
    (src / "callbacks" / "beforeEachMigrate.sql").write_text("SET LOCAL lock_timeout = '5s';\n")
    (src / "callbacks" / "afterMigrate.sql").write_text("ANALYZE;\n")
    (folder / "cascade.toml").write_text(f'[source]\npath = "{SOURCE}"\n\n[flyway.placeholders]\nreader = "app_reader"\n')
    subprocess.run(["git", "init", "-q", str(folder)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ddlc-bench-db-") as tmp:
        folder = Path(tmp) / "parent"
        build(folder, args.migrations)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "ddl_cascade", "db", "verify", "--json"], cwd=folder,
                                  capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
            times.append(time.perf_counter() - started)
            if proc.returncode != 0:
                sys.exit(f"db verify failed:\n{proc.stderr}")
            applied = len(json.loads(proc.stdout)["migrations"])
        best = min(times)
        print(f"db verify: {applied} migrations, server start included: best {best:.2f} s of {args.runs} "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)}); target < 10 s")


if __name__ == "__main__":
    main()
