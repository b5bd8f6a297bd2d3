"""The split cache: incremental runs give the script's answer; a rewritten branch, a deleted or corrupt cache, and
pruned objects only cost a recompute. Also: a partial clone without blobs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ddl_cascade.cascade import split
from splitkit import Commit, build, oracle

P = "db"


def history(n: int, start: int = 0, base: int | None = None) -> list[Commit]:
    """`n` commits in a line (optionally on top of index `base`), every other one changing the folder."""
    out = []
    for i in range(n):
        k = start + i
        parents = [k - 1] if k else []
        if i == 0 and base is not None:
            parents = [base]
        files = {"README": b"r%d" % (k % 3), f"{P}/v{k // 2}.sql": b"x"}
        for j in range(k // 2):
            files[f"{P}/v{j}.sql"] = b"x"
        out.append(Commit(parents=parents, files=files, message=b"c%d\n" % k, when=1_700_000_000 + 60 * k))
    return out


def cache_dir(repo: Path) -> Path:
    return repo / ".git" / "ddl-cascade" / "split"


def test_incremental_runs_match_the_script(tmp_path):
    commits = history(12)
    ids = build(tmp_path, commits, {"main": 11})
    first = split.run(tmp_path, ids[5], P)
    assert first.mode == "cold"
    again = split.run(tmp_path, ids[5], P)
    assert (again.mode, again.tip) == ("cached", first.tip)
    more = split.run(tmp_path, "main", P)
    assert more.mode == "incremental" and more.processed == 6
    assert more.tip == oracle(tmp_path, P)[0]


def test_rewritten_branch(tmp_path):
    commits = history(10)
    build(tmp_path, commits, {"main": 9})
    split.run(tmp_path, "main", P)
    # Rewrite: main goes back to commit 4 and grows a different line.
    rewritten = commits + [Commit(parents=[4], files={"README": b"new", f"{P}/v0.sql": b"changed"},
                                  message=b"rewritten\n", when=1_700_009_000)]
    build(tmp_path, rewritten, {"main": 10})
    result = split.run(tmp_path, "main", P)
    assert result.mode == "incremental"
    assert result.tip == oracle(tmp_path, P)[0]


def test_deleted_cache_recomputes(tmp_path):
    build(tmp_path, history(6), {"main": 5})
    tip = split.run(tmp_path, "main", P).tip
    shutil.rmtree(cache_dir(tmp_path))
    result = split.run(tmp_path, "main", P)
    assert (result.mode, result.tip) == ("cold", tip)


def test_corrupt_cache_warns_and_recomputes(tmp_path, capfd):
    build(tmp_path, history(6), {"main": 5})
    tip = split.run(tmp_path, "main", P).tip
    (cache,) = [f for f in cache_dir(tmp_path).iterdir() if not f.name.endswith(".gens")]
    data = bytearray(cache.read_bytes())
    data[-3] ^= 0x01  # one flipped bit in a cached id
    cache.write_bytes(bytes(data))
    capfd.readouterr()
    result = split.run(tmp_path, "main", P)
    assert (result.mode, result.tip) == ("cold", tip)
    assert "corrupt" in capfd.readouterr().err


def test_truncated_cache_warns(tmp_path, capfd):
    build(tmp_path, history(4), {"main": 3})
    tip = split.run(tmp_path, "main", P).tip
    for f in cache_dir(tmp_path).iterdir():
        f.write_bytes(f.read_bytes()[:30])
    capfd.readouterr()
    assert split.run(tmp_path, "main", P).tip == tip
    assert "corrupt" in capfd.readouterr().err


def test_pruned_split_commits_are_rebuilt(tmp_path):
    commits = history(8)
    build(tmp_path, commits, {"main": 7})
    old_tip = split.run(tmp_path, "main", P).tip
    # Remove every split commit object (they are unreachable: no branch points at them), as a gc would.
    listed = subprocess.run(["git", "rev-list", old_tip], cwd=tmp_path, capture_output=True, text=True).stdout.split()
    for oid in listed:
        (tmp_path / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    assert subprocess.run(["git", "cat-file", "-e", old_tip], cwd=tmp_path).returncode != 0
    build(tmp_path, commits + history(1, start=8, base=7), {"main": 8})
    result = split.run(tmp_path, "main", P)
    assert result.tip == oracle(tmp_path, P)[0]
    fsck = subprocess.run(["git", "rev-list", "--objects", result.tip], cwd=tmp_path, capture_output=True)
    assert fsck.returncode == 0, fsck.stderr


def test_partial_clone_without_blobs(tmp_path):
    source = tmp_path / "source"
    build(source, history(8), {"main": 7})
    subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=source, check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-checkout", "--filter=blob:none", f"file://{source}", str(clone)],
                   check=True)

    def missing_blobs() -> int:
        out = subprocess.run(["git", "rev-list", "--objects", "--missing=print", "--all"], cwd=clone,
                             capture_output=True, text=True, check=True).stdout
        return sum(1 for line in out.splitlines() if line.startswith("?"))

    before = missing_blobs()
    assert before > 0
    result = split.run(clone, "origin/main", P)
    assert missing_blobs() == before  # nothing was fetched: no blob was read
    assert result.tip == oracle(source, P)[0]


def test_rejoin_after_a_cached_run_stays_incremental(make_repo):
    repo = make_repo("parent").path

    def commit(path: str, text: str) -> None:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"edit {path}"], cwd=repo, check=True)

    for i in range(4):
        commit(f"{P}/v{i}.sql", str(i))
        commit("app.txt", str(i))
    assert split.run(repo, "main", P).mode == "cold"
    subprocess.run(["git", "subtree", "split", "-q", f"--prefix={P}", "--rejoin"], cwd=repo, check=True,
                   capture_output=True)
    commit(f"{P}/v9.sql", "9")
    result = split.run(repo, "main", P)
    assert result.mode == "incremental" and result.processed <= 3  # the rejoin merge and the new commit
    assert result.tip == oracle(repo, P)[0]


def test_rewritten_branch_that_drops_a_rejoin(make_repo):
    """Trailers of the old history are baked into the cache; once they are gone from the branch, recompute."""
    repo = make_repo("parent").path

    def commit(path: str, text: str) -> str:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"edit {path} {text}"], cwd=repo, check=True)
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()

    commit(f"{P}/a.sql", "1")
    base = commit("app.txt", "1")
    subprocess.run(["git", "subtree", "split", "-q", f"--prefix={P}", "--rejoin", "--annotate=(x) "], cwd=repo,
                   check=True, capture_output=True)
    commit(f"{P}/b.sql", "2")
    assert split.run(repo, "main", P).tip == oracle(repo, P)[0]
    subprocess.run(["git", "reset", "-q", "--hard", base], cwd=repo, check=True)
    commit(f"{P}/c.sql", "3")
    result = split.run(repo, "main", P)
    assert result.mode == "cold"
    assert result.tip == oracle(repo, P)[0]


def test_no_process_per_commit(tmp_path, monkeypatch):
    """A cold split of 10 or of 60 commits starts the same few git processes, and looks nothing up one by one."""
    import subprocess as sp

    from ddl_cascade import git

    started: list[list[str]] = []
    real_popen = sp.Popen

    class Counting(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args, *a, **kw):
            started.append(list(args))
            super().__init__(args, *a, **kw)

    singles: list[str] = []
    real_lookup = git.ObjectInfo.lookup
    monkeypatch.setattr(git.ObjectInfo, "lookup", lambda self, rev: singles.append(rev) or real_lookup(self, rev))

    counts = []
    for n in (10, 60):
        repo = tmp_path / f"r{n}"
        build(repo, history(n), {"main": n - 1})
        started.clear()
        monkeypatch.setattr(sp, "Popen", Counting)
        split.run(repo, "main", P, cache=False)
        monkeypatch.setattr(sp, "Popen", real_popen)
        counts.append(len(started))
    assert counts[0] == counts[1] <= 10, started
    assert singles == []


def test_many_new_commits_are_written_as_one_valid_pack(tmp_path):
    build(tmp_path, history(160), {"main": 159})
    packs_before = set((tmp_path / ".git" / "objects" / "pack").glob("*.pack"))
    result = split.run(tmp_path, "main", P)
    assert result.created > 64
    new_packs = set((tmp_path / ".git" / "objects" / "pack").glob("*.pack")) - packs_before
    assert len(new_packs) == 1
    fsck = subprocess.run(["git", "fsck", "--no-dangling"], cwd=tmp_path, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    count = subprocess.run(["git", "rev-list", "--count", result.tip], cwd=tmp_path, capture_output=True, text=True)
    assert int(count.stdout) == result.created
    assert result.tip == oracle(tmp_path, P)[0]
