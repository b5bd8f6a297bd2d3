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

With `--transport http --rtt-ms 50` (issue 14), the children are served over git's smart HTTP by a server on
127.0.0.1 that runs the real `git http-backend` (CGI) and waits `--rtt-ms` before answering each HTTP request (one
round trip; connections are kept alive, so a TCP or TLS handshake is not counted). It counts the HTTP requests of
each child by kind and reports, for N children and each of `--jobs-list` (default 1,8,32): first, incremental and
no-op sync and status, with requests per child; then the seed method (per child: clone, `git subtree pull --squash`
from the parent, which the same server serves, push; one after another) on `--baseline-sample` children (default
20), scaled to N. With `--shard-of 10000 --shards 16`, the config lists 10,000 children and only those of shard 1/16
exist as repositories; the run selects that shard with `--shard 1/16` (what one CI runner of the matrix does) and reports its first,
incremental and no-op sync and status, its peak memory, and the whole cascade's estimate (16 shards in parallel:
the largest shard's time) against the seed method scaled to 10,000:

    .venv/bin/python bench/sync.py --transport http --rtt-ms 50 --children 100
    .venv/bin/python bench/sync.py --transport http --rtt-ms 50 --shard-of 10000 --shards 16 --jobs-list 32
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


def build(root: Path, n: int, commits: int, url=None, names: list[str] | None = None,
          create=None) -> Path:
    """The parent (published once) and its children: `names` (default child-0000..) listed in cascade.toml, with
    `url(bare)` as each one's URL (default: the path), and only those `create` accepts (default all) made."""
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
    for name in names if names is not None else [f"child-{i:04d}" for i in range(n)]:
        bare = children / f"{name}.git"
        if create is None or create(name):
            git("init", "-q", "--bare", "-b", "main", str(bare), cwd=root)
            fast_import_history(bare, name, commits)
        toml.append(f'[[children]]\nname = "{name}"\nurl = "{url(bare) if url else bare}"\n')
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
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeMemory(proc.pid)
    import threading

    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    reader.start()
    out = proc.stdout.read()
    reader.join()
    # wait4: the peak RSS of the largest single process of ddl-cascade's tree (itself or a git it waited for).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = errors[0] if errors else ""
    elapsed = time.perf_counter() - started
    sampler.stop()
    CPU["last"] = _cpu() - cpu
    MEMORY["tree_mb"] = sampler.peak / 2**20
    MEMORY["largest_mb"] = usage.ru_maxrss / 1024
    CPU["cli"] = usage.ru_utime + usage.ru_stime  # ddl-cascade and its git processes, without the server's
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args[:3])} failed: {err}")
    return elapsed, json.loads(out), proc.returncode


MEMORY: dict[str, float] = {}


class TreeMemory:
    """Samples (every 0.1 s) the memory of a process and all its descendants (the git processes ddl-cascade
    starts), from /proc: `peak` in bytes, the largest sum of their proportional set sizes (PSS: a page shared by k
    processes counts 1/k in each, so the sum is the memory the tree really holds; a sum of RSS would count git's
    shared libraries once per process). Sampling can miss a short peak; the report also gives the largest single
    process (getrusage's ru_maxrss of the waited-for processes)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as fh:
                        ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        out, stack = [], [self.pid]
        while stack:
            pid = stack.pop()
            out.append(pid)
            stack.extend(children.get(pid, []))
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/smaps_rollup") as fh:
                        for line in fh:
                            if line.startswith("Pss:"):
                                total += int(line.split()[1]) * 1024
                                break
                except (OSError, IndexError, ValueError):
                    pass
            self.peak = max(self.peak, total)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def baseline(root: Path, parent: Path, names: list[str], source: str | None = None, url=None) -> float:
    """The seed's method: clone, `git subtree pull --squash`, push; one child after another. `source`: where the
    parent is pulled from (default its path); `url(bare)`: each child's URL (default its path)."""
    work = root / "baseline"
    work.mkdir()
    started, cpu = time.perf_counter(), _cpu()
    for name in names:
        clone = work / name
        bare = root / "children" / f"{name}.git"
        git("clone", "-q", url(bare) if url else str(bare), str(clone), cwd=work)
        git("subtree", "pull", "-q", f"--prefix={PREFIX}", "--squash", source or str(parent), "ro-shared-ddl",
            cwd=clone)
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


class LatencyGitServer:
    """git's smart HTTP for the bare repositories under `root`, on 127.0.0.1, through the real `git http-backend`
    (tests/localforge_common.py), each request answered `rtt` seconds late. Counts requests per repository and kind:
    `refs` (GET info/refs, the advertisement), `upload-pack` (POST: ls-refs, fetch), `receive-pack` (POST: push)."""

    def __init__(self, root: Path, rtt: float) -> None:
        import collections
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import localforge_common

        self.counts: collections.Counter = collections.Counter()
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection per git process, as with a real forge

            def log_message(self, *args) -> None:
                pass

            def _serve(self) -> None:
                time.sleep(rtt)
                path, _, query = self.path.partition("?")
                body = localforge_common.read_body(self)
                repo, _, rest = path.lstrip("/").partition(".git/")
                kind = "refs" if rest == "info/refs" else rest.removeprefix("git-")
                with lock:
                    server.counts[(repo, kind)] += 1
                # REMOTE_USER set: http-backend enables receive-pack (http.receivepack's default for a known user).
                localforge_common.http_backend(self, root, "bench", path, query, body)

            do_GET = do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url_of(self, bare: Path) -> str:
        return f"{self.url}/{bare.name}"

    def snapshot(self) -> dict:
        return dict(self.counts)

    def since(self, before: dict, repos: set[str] | None = None) -> dict[str, int]:
        """Requests by kind since `before` (only to `repos`, when given)."""
        out: dict[str, int] = {}
        for (repo, kind), count in self.counts.items():
            if repos is None or repo in repos:
                delta = count - before.get((repo, kind), 0)
                if delta:
                    out[kind] = out.get(kind, 0) + delta
        return out

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _initial_tips(children: Path, names: list[str]) -> dict[str, str]:
    return {name: git("rev-parse", "main", cwd=children / f"{name}.git") for name in names}


def _restore(children: Path, tips: dict[str, str]) -> None:
    """Every child back at its own history, without the read-only folder (as before the first sync)."""
    for name, tip in tips.items():
        (children / f"{name}.git" / "refs" / "heads" / "main").write_text(tip + "\n")


def http_transport(root: Path, args) -> None:
    """--transport http: the figures of issue 14 (see the module docstring)."""
    from ddl_cascade.cascade.shards import shard_of

    rtt = args.rtt_ms / 1000
    server = LatencyGitServer(root / "children", rtt)
    try:
        if args.shard_of:
            all_names = [f"child-{i:05d}" for i in range(args.shard_of)]
            sizes = [0] * args.shards
            for name in all_names:
                sizes[shard_of(name, args.shards) - 1] += 1
            names = [name for name in all_names if shard_of(name, args.shards) == 1]
            select = ["--shard", f"1/{args.shards}"]  # what one runner of the CI matrix runs
        else:
            all_names = names = [f"child-{i:04d}" for i in range(args.children)]
            select = []
        chosen = set(names)
        started = time.perf_counter()
        parent = build(root, len(all_names), args.commits, url=server.url_of, names=all_names,
                       create=chosen.__contains__)
        # The parent's delivery branch, served by the same server for the seed method's `git subtree pull`.
        git("init", "-q", "--bare", str(root / "children" / "parent.git"), cwd=root)
        delivered = {"first": git("rev-parse", "ro-shared-ddl", cwd=parent)}
        new_migration(parent, 5)
        delivered["increment"] = git("rev-parse", "ro-shared-ddl", cwd=parent)
        tips = _initial_tips(root / "children", names)
        print(f"setup: {len(names)} children x {args.commits} commits ({len(all_names)} in cascade.toml) served over "
              f"HTTP with {args.rtt_ms:.0f} ms per request, in {time.perf_counter() - started:.1f} s", flush=True)
        n = len(names)
        figures: dict[str, dict] = {}

        def run(label: str, command: str, jobs: int, check) -> float:
            before = server.snapshot()
            t, doc, _ = cli(parent, command, *select, jobs=jobs)
            bad = [c for c in doc["children"] if not check(c)]
            assert not bad, bad[:3]
            kinds = server.since(before, chosen)
            per_child = {k: round(v / n, 2) for k, v in sorted(kinds.items())}
            total = round(sum(kinds.values()) / n, 2)
            figures.setdefault(f"jobs {jobs}", {})[label] = {
                "seconds": round(t, 2), "requests_per_child": total, "by_kind": per_child,
                "tree_memory_mb": round(MEMORY["tree_mb"]), "largest_process_mb": round(MEMORY["largest_mb"]),
                "cpu_seconds": round(CPU["last"], 1), "cpu_seconds_ddl_cascade": round(CPU["cli"], 1)}
            print(f"jobs {jobs:>2}  {label:<12}{t:8.2f} s   HTTP requests/child {total:5.2f} {per_child}   "
                  f"memory: tree {MEMORY['tree_mb']:.0f} MB PSS, largest process {MEMORY['largest_mb']:.0f} MB   cpu {CPU['last']:.1f} s "
                  f"(ddl-cascade and its git {CPU['cli']:.1f} s, the rest the server's)", flush=True)
            return t

        for jobs in args.jobs_list:
            _restore(root / "children", tips)
            shutil.rmtree(parent / ".git" / "ddl-cascade" / "children.git", ignore_errors=True)
            git("update-ref", "refs/heads/ro-shared-ddl", delivered["first"], cwd=parent)
            run("first", "sync", jobs, lambda c: c["result"] == "updated")
            git("update-ref", "refs/heads/ro-shared-ddl", delivered["increment"], cwd=parent)
            run("incremental", "sync", jobs, lambda c: c["result"] == "updated")
            run("no-op", "sync", jobs, lambda c: c["result"] == "unchanged")
            run("status", "status", jobs, lambda c: c["state"] == "in_sync")

        # The seed method, over the same server: clone, subtree pull --squash from the parent, push.
        git("push", "-q", "--force", str(root / "children" / "parent.git"), "ro-shared-ddl", cwd=parent)
        new_migration(parent, 6)
        git("push", "-q", "--force", str(root / "children" / "parent.git"), "ro-shared-ddl", cwd=parent)
        sample = names[: args.baseline_sample or 20]
        before = server.snapshot()
        seed = baseline(root, parent, sample, source=f"{server.url}/parent.git", url=server.url_of)
        per_child_seed = seed / len(sample)
        seed_kinds = server.since(before, set(sample))
        seed_requests = round(sum(seed_kinds.values()) / len(sample), 2)
        print(f"seed method: {per_child_seed:.2f} s per child (sample of {len(sample)}, one after another), "
              f"HTTP requests/child {seed_requests} (to the child; plus the parent's)", flush=True)
        summary: dict = {"children": n, "rtt_ms": args.rtt_ms, "cores": os.cpu_count(), "runs": figures,
                         "seed_seconds_per_child": round(per_child_seed, 2), "seed_requests_per_child": seed_requests}
        for jobs in args.jobs_list:
            inc = figures[f"jobs {jobs}"]["incremental"]["seconds"]
            print(f"jobs {jobs:>2}: seed method scaled to {n} children {per_child_seed * n:8.1f} s vs incremental "
                  f"sync {inc:.2f} s -> {per_child_seed * n / inc:.0f}x", flush=True)
        if args.shard_of:
            best = min(args.jobs_list, key=lambda j: figures[f"jobs {j}"]["incremental"]["seconds"])
            run_f = figures[f"jobs {best}"]
            tree_mb = max(r["tree_memory_mb"] for r in run_f.values())
            largest = max(r["largest_process_mb"] for r in run_f.values())
            whole = run_f["incremental"]["seconds"] * max(sizes) / n
            seed_all = per_child_seed * args.shard_of
            summary["shards"] = {"count": args.shards, "sizes_min_max": [min(sizes), max(sizes)], "jobs": best,
                                 "whole_incremental_estimate_seconds": round(whole, 1),
                                 "seed_method_seconds": round(seed_all), "ratio": round(seed_all / whole)}
            print(f"shard 1/{args.shards} ({n} children; shards hold {min(sizes)}..{max(sizes)}), --jobs {best}: "
                  f"incremental {run_f['incremental']['seconds']:.1f} s (target < 60 s), no-op "
                  f"{run_f['no-op']['seconds']:.1f} s (target < 30 s), peak memory of ddl-cascade and its git processes "
                  f"{tree_mb} MB (PSS summed over the tree, sampled), largest single process {largest} MB "
                  "(target < 300 MB)")
            print(f"whole cascade of {args.shard_of} children, {args.shards} shards in parallel (the largest shard, "
                  f"{max(sizes)} children, scaled from this one): {whole:.1f} s; seed method {seed_all:.0f} s -> "
                  f"{seed_all / whole:.0f}x (target >= 50x)")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        print(json.dumps(summary))
    finally:
        server.close()


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
    ap.add_argument("--transport", choices=("local", "http"), default="local",
                    help="http: children over smart HTTP (git http-backend) with --rtt-ms per request")
    ap.add_argument("--rtt-ms", type=float, default=50, help="--transport http: delay of every HTTP request")
    ap.add_argument("--jobs-list", type=lambda t: [int(x) for x in t.split(",")], default=[1, 8, 32],
                    help="--transport http: the --jobs values to run (comma-separated)")
    ap.add_argument("--shard-of", type=int, default=0,
                    help="--transport http: list this many children in cascade.toml and run shard 1 of --shards")
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--writes-per-second", type=float, default=20,
                    help="pull-request delivery: the run's API write budget ([forge] writes_per_second)")
    args = ap.parse_args()

    env_home = tempfile.mkdtemp(prefix="bench-home-")
    cfg = Path(env_home) / ".gitconfig"
    cfg.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
                   "[protocol \"file\"]\n\tallow = always\n")
    os.environ.update(HOME=env_home, GIT_CONFIG_GLOBAL=str(cfg), GIT_CONFIG_NOSYSTEM="1")

    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    if args.transport == "http":
        try:
            http_transport(root, args)
        finally:
            if args.keep:
                print(f"kept {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)
                shutil.rmtree(env_home, ignore_errors=True)
        return
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
