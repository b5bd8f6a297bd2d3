"""Time `ddl-cascade db verify` over 300 generated migrations, server start included (target: < 10 s on 2 cores),
and `ddl-cascade db diff` of those 300 (the base, committed) plus 5 new ones in the working tree (target: < 10 s,
both servers' start included), against what one would do by hand: `db verify --keep` of both sides at once, then
`pg_dump --schema-only` of both databases and `diff -u` of the dumps.

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
import re
import shutil
import signal
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


NEW = [
    ("V9.1__add_customer_column.sql", "ALTER TABLE t_0000 ADD COLUMN customer text;\n"),
    ("V9.2__drop_note.sql", "ALTER TABLE t_0006 DROP COLUMN note;\n"),
    ("V9.3__widen_id.sql", "ALTER TABLE t_0003 ALTER COLUMN amount TYPE numeric(20, 4);\n"),
    ("V9.4__revoke.sql", "REVOKE SELECT ON t_0008 FROM ${reader};\n"),
    ("V9.5__function.sql", "CREATE OR REPLACE FUNCTION f_t_0001(x numeric) RETURNS numeric LANGUAGE sql AS "
                           "'SELECT x * 2';\n"),
]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ddl_cascade", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"})


def bench_diff(folder: Path, runs: int, count: int) -> None:
    """`db diff` (base: the committed 300, head: the working tree with 5 more) against verify + pg_dump + diff."""
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-C", str(folder)]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)
    base_copy = folder.parent / "base"
    subprocess.run(["git", "clone", "-q", str(folder), str(base_copy)], check=True)
    for name, sql in NEW:
        (folder / SOURCE / "sql" / name).write_text(sql)
    ours, theirs = [], []
    changes = lines = 0
    for _ in range(runs):
        started = time.perf_counter()
        proc = _run(["db", "diff", "--base", "HEAD", "--json"], folder)
        ours.append(time.perf_counter() - started)
        if proc.returncode != 0:
            sys.exit(f"db diff failed:\n{proc.stderr}")
        changes = len(json.loads(proc.stdout)["changes"])
        started = time.perf_counter()
        lines = _by_hand(base_copy, folder)
        theirs.append(time.perf_counter() - started)
    best, alternative = min(ours), min(theirs)
    print(f"db diff: {count} migrations (base) + {len(NEW)} new, server start included: best "
          f"{best:.2f} s of {runs} (runs: {', '.join(f'{t:.2f}' for t in ours)}); {changes} changes; target < 10 s")
    print(f"by hand (db verify --keep of both at once, pg_dump --schema-only of both, diff -u): best {alternative:.2f} s "
          f"({lines} diff lines, untyped); db diff takes {best / alternative:.2f}x its time")


def _by_hand(base: Path, head: Path) -> int:
    """What one would script without `db diff`; returns the number of lines `diff -u` prints."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        sys.exit("pg_dump is not on PATH")
    procs = [subprocess.Popen([sys.executable, "-m", "ddl_cascade", "db", "verify", "--keep", "--json"], cwd=side,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for side in (base, head)]
    dumps = []
    for proc in procs:
        _, err = proc.communicate()
        kept = re.search(r'host=(\S+) port=(\d+) user=(\S+) dbname=(\w+)".*kill -INT (\d+); then rm -rf (\S+)\)', err)
        if proc.returncode != 0 or kept is None:
            sys.exit(f"db verify --keep failed:\n{err}")
        host, port, user, dbname, pid, folder = kept.groups()
        try:
            dumps.append(subprocess.run([pg_dump, "--schema-only", "-h", host, "-p", port, "-U", user, dbname],
                                        capture_output=True, text=True, check=True).stdout)
        finally:
            os.kill(int(pid), signal.SIGINT)  # the server that verify kept for us
            for _ in range(200):
                try:
                    os.kill(int(pid), 0)
                except OSError:
                    break
                time.sleep(0.05)
            shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "base.sql", Path(tmp) / "head.sql"
        a.write_text(dumps[0])
        b.write_text(dumps[1])
        out = subprocess.run(["diff", "-u", str(a), str(b)], capture_output=True, text=True).stdout
    return len(out.splitlines())


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
        bench_diff(folder, args.runs, args.migrations)


if __name__ == "__main__":
    main()
