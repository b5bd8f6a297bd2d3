"""Benchmark of the cascade: N children as local bare repositories, each with its own history.

Times, in one run (each through the installed CLI, as CI would run it):
  first      `ddl-cascade sync` when every child still lacks the read-only folder;
  increment  `ddl-cascade sync` after one new migration was published;
  noop       `ddl-cascade sync` again (nothing to do: must push nothing);
  status     `ddl-cascade status`;
  baseline   the seed's method after one more migration: per child, `git clone`, `git subtree pull --squash`,
             `git push`, one child after another (with --baseline-sample K, K children timed and scaled to N).
Publishing (`git subtree split`) is done outside the timings.

    .venv/bin/python bench/sync.py --children 200
    .venv/bin/python bench/sync.py --children 1000 --baseline-sample 50
    .venv/bin/python bench/sync.py --children 20 --commits 5        # quick

With `--delivery pull-request`, the children live on the local GitHub forge of the tests (tests/localforge.py: git
over smart HTTP with token authentication, GitHub's REST API) and every child is delivered as a pull request; the
figures are then the API requests (reads and writes) per child for the first, update and no-op runs, and wall time:

    .venv/bin/python bench/sync.py --delivery pull-request --children 200
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = "read-write-flyway-files"
PREFIX = "read-only-flyway-files"


def git(*args: str, cwd: Path, input: bytes | None = None, env: dict | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode().strip()


def fast_import_history(repo: Path, name: str, commits: int, files_per_commit: int = 1) -> None:
    """`commits` commits of the child's own migrations on main, in one git fast-import process."""
    lines = []
    when = 1_700_000_000
    for i in range(1, commits + 1):
        body = f"-- {name} local migration {i}\ncreate table {name.replace('-', '_')}_t{i} (id int primary key);\n"
        data = body.encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer Bench <bench@example.com> {when + i * 60} +0000\n".encode())
        msg = f"{name}: local migration {i}\n".encode()
        lines.append(b"data %d\n%s" % (len(msg), msg))
        lines.append(f"M 100644 inline db/V{1000 + i}__local_{i}.sql\n".encode())
        lines.append(b"data %d\n%s\n" % (len(data), data))
        if i == 1:
            readme = f"# {name}\n".encode()
            lines.append(b"M 100644 inline README.md\n")
            lines.append(b"data %d\n%s\n" % (len(readme), readme))
    git("fast-import", "--quiet", cwd=repo, input=b"".join(lines))


def build(root: Path, n: int, commits: int) -> Path:
    parent = root / "shared-flyway-ddl"
    parent.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=parent)
    src = parent / SOURCE
    for sub in ("sql", "callbacks", "yaml"):
        (src / sub).mkdir(parents=True)
    for i in range(1, 5):
        (src / "sql" / f"V{i}__step_{i}.sql").write_text(f"create table step_{i} (id bigint primary key);\n")
        git("add", "-A", cwd=parent)
        git("commit", "-q", "-m", f"V{i}", cwd=parent)
    for cb in ("beforeMigrate", "afterMigrate", "beforeEachMigrate", "afterEachMigrate"):
        (src / "callbacks" / f"{cb}.sql").write_text("select 1;\n")
    (src / "yaml" / "flyway.yaml").write_text("flyway:\n  locations: [filesystem:sql]\n")
    git("add", "-A", cwd=parent)
    git("commit", "-q", "-m", "callbacks and config", cwd=parent)
    publish(parent)
    children = root / "children"
    children.mkdir()
    toml = [f'[source]\npath = "{SOURCE}"\n']
    for i in range(n):
        name = f"child-{i:04d}"
        bare = children / f"{name}.git"
        git("init", "-q", "--bare", "-b", "main", str(bare), cwd=root)
        fast_import_history(bare, name, commits)
        toml.append(f'[[children]]\nname = "{name}"\nurl = "{bare}"\n')
    (parent / "cascade.toml").write_text("\n".join(toml))
    return parent


def publish(parent: Path) -> float:
    started = time.perf_counter()
    split = git("subtree", "split", f"--prefix={SOURCE}", "main", cwd=parent)
    git("update-ref", "refs/heads/ro-shared-ddl", split, cwd=parent)
    return time.perf_counter() - started


def new_migration(parent: Path, version: int) -> float:
    (parent / SOURCE / "sql" / f"V{version}__step_{version}.sql").write_text(
        f"create table step_{version} (id bigint primary key);\n")
    git("add", "-A", cwd=parent)
    git("commit", "-q", "-m", f"V{version}", cwd=parent)
    return publish(parent)


CPU: dict[str, float] = {}


def _cpu() -> float:
    """CPU seconds used by finished child processes (and theirs): the load-independent cost of a step."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(parent: Path, *args: str, jobs: int | None) -> tuple[float, dict, int]:
    cmd = [sys.executable, "-m", "ddl_cascade", *args, "--json", "--config", str(parent / "cascade.toml")]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    started, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    CPU["last"] = _cpu() - cpu
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr}")
    return elapsed, json.loads(proc.stdout), proc.returncode


def baseline(root: Path, parent: Path, names: list[str]) -> float:
    """The seed's method: clone, `git subtree pull --squash`, push; one child after another."""
    work = root / "baseline"
    work.mkdir()
    started, cpu = time.perf_counter(), _cpu()
    for name in names:
        clone = work / name
        git("clone", "-q", str(root / "children" / f"{name}.git"), str(clone), cwd=work)
        git("subtree", "pull", "-q", f"--prefix={PREFIX}", "--squash", str(parent), "ro-shared-ddl", cwd=clone)
        git("push", "-q", "origin", "HEAD:main", cwd=clone)
        shutil.rmtree(clone)
    CPU["last"] = _cpu() - cpu
    return time.perf_counter() - started


def pull_requests(root: Path, args) -> None:
    """The pull-request delivery against the local forge: API requests per child and wall time per run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from localforge import LocalForge

    forge = LocalForge(root / "forge", validate_responses=False)
    token = "ghp_benchmarktoken000000000000000000000"
    forge.add_token(token)
    try:
        started = time.perf_counter()
        parent = build(root, 0, 0)
        toml = [(parent / "cascade.toml").read_text(),
                f'[forge]\nkind = "github"\napi_url = "{forge.api_url}"\ntoken_env = "BENCH_FORGE_TOKEN"\n'
                f'writes_per_second = {args.writes_per_second}\n',
                '[defaults]\ndelivery = "pull-request"\n\n[defaults.pull_request]\nlabels = ["shared-ddl"]\n']
        for i in range(args.children):
            name = f"child-{i:04d}"
            bare = forge.create_repo("bench", name)
            git("update-ref", "-d", "refs/heads/main", cwd=bare)
            fast_import_history(bare, name, args.commits)
            toml.append(f'[[children]]\nname = "{name}"\nurl = "{forge.git_url("bench", name)}"\n')
        (parent / "cascade.toml").write_text("\n".join(toml))
        os.environ["BENCH_FORGE_TOKEN"] = token
        print(f"setup: {args.children} children on the local forge in {time.perf_counter() - started:.1f} s "
              f"(writes_per_second = {args.writes_per_second})", flush=True)
        n = args.children
        rows = {}

        def run(label: str, expected: str) -> None:
            reads, writes = forge.count("api", write=False), forge.count("api", write=True)
            t, doc, _ = cli(parent, "sync", jobs=args.jobs)
            bad = [c for c in doc["children"] if c["result"] != expected]
            assert not bad, bad[:3]
            reads, writes = forge.count("api", write=False) - reads, forge.count("api", write=True) - writes
            rows[label] = {"seconds": round(t, 2), "reads_per_child": round(reads / n, 2),
                           "writes_per_child": round(writes / n, 2)}
            print(f"{label:<16}{t:7.2f} s   API reads/child {reads / n:5.2f}   writes/child {writes / n:5.2f}   "
                  f"(cpu {CPU['last']:.1f} s)", flush=True)

        run("first", "pr_opened")
        new_migration(parent, 5)
        run("update", "pr_updated")
        run("no-op", "unchanged")
        print(json.dumps({"children": n, "delivery": "pull-request", "cores": os.cpu_count(), "runs": rows}))
    finally:
        forge.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--children", type=int, default=200)
    ap.add_argument("--commits", type=int, default=20, help="own commits per child")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--baseline-sample", type=int, default=None,
                    help="time the baseline on this many children and scale to N (default: all)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--first-only", action="store_true", help="stop after the first sync")
    ap.add_argument("--delivery", choices=("push", "pull-request"), default="push")
    ap.add_argument("--writes-per-second", type=float, default=20,
                    help="pull-request delivery: the run's API write budget ([forge] writes_per_second)")
    args = ap.parse_args()

    env_home = tempfile.mkdtemp(prefix="bench-home-")
    cfg = Path(env_home) / ".gitconfig"
    cfg.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
                   "[protocol \"file\"]\n\tallow = always\n")
    os.environ.update(HOME=env_home, GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1")

    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    if args.delivery == "pull-request":
        try:
            pull_requests(root, args)
        finally:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(env_home, ignore_errors=True)
        return
    try:
        started = time.perf_counter()
        parent = build(root, args.children, args.commits)
        print(f"setup: {args.children} children x {args.commits} commits in {time.perf_counter() - started:.1f} s",
              flush=True)
        figures = {}

        t, doc, _ = cli(parent, "sync", jobs=args.jobs)
        assert all(c["result"] == "updated" for c in doc["children"]), doc
        figures["first sync"] = t
        print(f"first sync        {t:7.2f} s   (cpu {CPU['last']:.1f} s)", flush=True)
        if args.first_only:
            return

        new_migration(parent, 5)
        t, doc, _ = cli(parent, "sync", jobs=args.jobs)
        assert all(c["result"] == "updated" for c in doc["children"]), doc
        figures["incremental sync"] = t
        print(f"incremental sync  {t:7.2f} s   (cpu {CPU['last']:.1f} s)", flush=True)

        t, doc, _ = cli(parent, "sync", jobs=args.jobs)
        assert all(c["result"] == "unchanged" for c in doc["children"]), doc
        figures["no-op sync"] = t
        print(f"no-op sync        {t:7.2f} s   (cpu {CPU['last']:.1f} s)", flush=True)

        t, doc, code = cli(parent, "status", jobs=args.jobs)
        assert code == 0 and all(c["state"] == "in_sync" for c in doc["children"]), doc
        figures["status"] = t
        print(f"status            {t:7.2f} s   (cpu {CPU['last']:.1f} s)", flush=True)

        if not args.no_baseline:
            new_migration(parent, 6)
            names = [f"child-{i:04d}" for i in range(args.children)]
            sample = names[: args.baseline_sample] if args.baseline_sample else names
            t = baseline(root, parent, sample) * len(names) / len(sample)
            figures["baseline (seed method)"] = t
            scaled = f" (scaled from {len(sample)})" if len(sample) != len(names) else ""
            print(f"baseline          {t:7.2f} s{scaled}   (cpu {CPU['last']:.1f} s for {len(sample)} children)",
                  flush=True)
            print(f"baseline / incremental = {t / figures['incremental sync']:.1f}x", flush=True)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        print(json.dumps({"children": args.children, "commits": args.commits, "cores": os.cpu_count(),
                          "seconds": {k: round(v, 2) for k, v in figures.items()}}))
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(env_home, ignore_errors=True)


if __name__ == "__main__":
    main()
