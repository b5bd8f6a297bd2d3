"""Time `db drift --env ENV` and `db verify --against ENV` on an environment built by 300 generated migrations
(bench/db.py's), against what a person would do without them, in the same run.

The environment is a database on a PostgreSQL server this script starts (ddl-cascade's throwaway-server code),
migrated with `db migrate`, then changed by hand (a column added, an index dropped, a grant added). Timed:
- `db drift --env prod --json` (throwaway server start, 300 migrations replayed, both catalogs read and compared);
- the alternative for drift: `db verify --keep` (the same replay, from empty), then `pg_dump --schema-only` of the
  kept database and of the environment, then a unified diff of the two dumps (a text diff, which also lists
  ownership lines and does not say what kind of object changed);
- `db verify --against prod --json` with 5 new migrations (pg_dump of the environment, restore, 5 applied), against
  plain `db verify --json` (all 305 from empty: what proves the same SQL without the environment's schema).

    .venv/bin/python bench/drift.py [--migrations 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import db as generated  # noqa: E402  (bench/db.py: the 300 migrations)

from ddl_cascade.db import server  # noqa: E402


def cli(folder: Path, *args: str, env: dict[str, str], ok=(0,)) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "ddl_cascade", *args], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", **env})
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def best(label: str, runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    print(f"{label}: best {min(times):.2f} s of {runs} (runs: {', '.join(f'{t:.2f}' for t in times)})")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ddlc-bench-drift-") as tmp, server.start() as live:
        folder = Path(tmp) / "parent"
        generated.build(folder, args.migrations)
        live.create_database("prod")
        toml = folder / "cascade.toml"
        toml.write_text(toml.read_text() + f'\n[environments.prod]\nurl = "postgresql://postgres:${{BENCH_PW}}@'
                                           f'127.0.0.1:{live.port}/prod"\n')
        env = {"BENCH_PW": live.password}
        cli(folder, "db", "migrate", "--env", "prod", env=env)
        with live.connect("prod") as conn:
            conn.execute("ALTER TABLE t_0000 ADD COLUMN note text")
            conn.execute("DROP INDEX t_0006_note")
            conn.execute("GRANT UPDATE ON t_0008 TO app_reader")

        found: list[int] = []
        drift = best("db drift --env prod", args.runs,
                     lambda: found.append(len(json.loads(cli(folder, "db", "drift", "--env", "prod", "--json",
                                                             env=env, ok=(1,)).stdout)["changes"])))
        print(f"  found {found[-1]} changes (3 made by hand)")

        def by_hand() -> None:
            kept = cli(folder, "db", "verify", "--keep", env=env).stdout
            m = re.search(r'psql "(host=(\S+) port=(\d+) user=\S+ dbname=(\S+))".*kill -INT (\d+); then rm -rf (\S+)\)',
                          kept)
            assert m, kept
            try:
                dumps = [subprocess.run(["pg_dump", "--schema-only", "-h", host, "-p", port, "-U", "postgres", name],
                                        capture_output=True, text=True, check=True).stdout
                         for host, port, name in ((m[2], m[3], m[4]), (str(live.socket_dir), str(live.port), "prod"))]
                lines = list(difflib.unified_diff(dumps[0].splitlines(), dumps[1].splitlines(), lineterm=""))
                assert lines
            finally:
                os.kill(int(m[5]), 2)
                for _ in range(200):
                    try:
                        os.kill(int(m[5]), 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.05)
                subprocess.run(["rm", "-rf", m[6]], check=True)

        alternative = best("alternative: db verify --keep + pg_dump of both + diff", args.runs, by_hand)
        print(f"db drift vs the alternative: {alternative / drift:.2f}x")

        for i in range(5):
            (folder / generated.SOURCE / "sql" / f"V99.{i}__new_{i}.sql").write_text(
                f"CREATE TABLE new_{i} (id int PRIMARY KEY);\n")
        against = best("db verify --against prod (5 new)", args.runs,
                       lambda: cli(folder, "db", "verify", "--against", "prod", "--json", env=env))
        empty = best(f"db verify from empty ({args.migrations + 5})", args.runs,
                     lambda: cli(folder, "db", "verify", "--json", env=env))
        print(f"db verify --against vs from empty: {empty / against:.2f}x")


if __name__ == "__main__":
    main()
