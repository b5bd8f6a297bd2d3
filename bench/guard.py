"""Benchmark: `ddl-cascade guard` in a child with --commits commits (default 10,000), against the alternative.

The child is real: a parent delivered to it by ddl-cascade sync (tests/cascade_world.py), then --commits commits
of its own added with one `git fast-import`. Reported (issue 12: under 0.2 s, as it runs on every commit), wall
time with Python start-up, the median of --repeat runs:

1. `guard --staged` with nothing staged in the folder (most commits): one `git diff`, no history read;
2. `guard --staged` with a staged edit of the folder, cold (no history cache) and warm (cache at HEAD), prefix found
   from the last delivery's trailer;
3. `guard --base HEAD~50` (CI);
4. the alternative: `git log` over the whole history with the message of every commit (what reading every trailer
   without `--grep` costs), and the same through `git rev-list` alone (the floor of any full walk).

Usage: .venv/bin/python bench/guard.py [--commits 10000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]


def timed(args: list[str], cwd: Path, repeat: int, before=None) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times, code = [], 0
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        code = proc.returncode
    return statistics.median(times), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path)
    opts = parser.parse_args()
    root = opts.keep or Path(tempfile.mkdtemp(prefix="bench-guard-"))
    root.mkdir(parents=True, exist_ok=True)
    from cascade_world import PREFIX
    from test_guard import big_child

    start = time.perf_counter()
    child = big_child(root, opts.commits)
    print(f"child with {opts.commits} commits of its own built in {time.perf_counter() - start:.1f} s: {child.path}")
    guard = [sys.executable, "-m", "ddl_cascade", "guard"]
    cache = child.path / ".git" / "ddl-cascade" / "guard-history.json"
    rows = []
    rows.append(("guard --staged, folder untouched", *timed(guard + ["--staged"], child.path, opts.repeat)))
    child.write({f"{PREFIX}/sql/V2__more.sql": "changed\n"})
    child.git("add", "-A")
    rows.append(("guard --staged, folder edited, cold", *timed(guard + ["--staged"], child.path, opts.repeat,
                                                               before=lambda: cache.unlink(missing_ok=True))))
    rows.append(("guard --staged, folder edited, warm", *timed(guard + ["--staged"], child.path, opts.repeat)))
    child.git("reset", "-q", "--hard")
    rows.append(("guard --base HEAD~50", *timed(guard + ["--base", "HEAD~50"], child.path, opts.repeat)))
    rows.append(("alternative: git log --format=%B (every message)",
                 *timed(["git", "log", "--format=%H %T %P%n%B"], child.path, opts.repeat)))
    rows.append(("floor: git rev-list HEAD", *timed(["git", "rev-list", "HEAD"], child.path, opts.repeat)))
    width = max(len(r[0]) for r in rows)
    for label, seconds, code in rows:
        verdict = "" if label.startswith(("alternative", "floor")) else ("  ok" if seconds < 0.2 else "  OVER 0.2 s")
        print(f"{label:<{width}}  {seconds:6.3f} s  exit {code}{verdict}")
    if not opts.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
