"""The split cache travels with the parent (issue 14): `publish --push` leaves it on the remote as a ref, and a fresh
clone continues from it. A stale, foreign or corrupt cache ref only costs a full run; the ids always equal
`git subtree split`'s (the oracle)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ddl_cascade.cascade import split
from splitkit import Commit, build, git, oracle
from test_split_cache import P, history

REF = split.SHARED_REF


def delivery_tip(clone: Path, branch: str = "ro"):
    def anchor() -> str | None:
        return git(clone, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}", check=False) or None

    return anchor


def published_remote(tmp_path: Path, commits: list[Commit], prefix: str = P, name: str = "remote.git") -> Path:
    """A bare remote holding main, the delivery branch `ro` and the cache ref, as `publish --push` leaves them."""
    work = tmp_path / f"{name}-work"
    build(work, commits, {"main": len(commits) - 1})
    outcome = split.run(work, "main", prefix)
    git(work, "update-ref", "refs/heads/ro", outcome.tip)
    git(work, "update-ref", REF, split.shared_commit(outcome, prefix, work))
    remote = tmp_path / name
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(work, "push", "-q", str(remote), "main", "ro", f"+{REF}:{REF}")
    return remote


def fresh_clone_with_new_commit(tmp_path: Path, remote: Path, n: int, name: str = "clone") -> Path:
    clone = tmp_path / name
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True, capture_output=True)
    assert git(clone, "for-each-ref", "refs/ddl-cascade") == ""  # a plain clone does not bring the cache ref
    head = git(clone, "rev-parse", "main")
    files = {"README": b"new", **{f"{P}/v{j}.sql": b"x" for j in range(n // 2 + 1)}}  # one more file in P
    build(clone, [Commit(parents=[head], files=files, message=b"new\n", when=1_700_100_000)], {"main": 0})
    return clone


def shared(clone: Path, remote: str = "origin", branch: str = "ro") -> split.Shared:
    return split.Shared(remote, delivery_tip(clone, branch), timeout=30)


def test_a_fresh_clone_continues_from_the_cache_ref(tmp_path):
    remote = published_remote(tmp_path, history(12))
    clone = fresh_clone_with_new_commit(tmp_path, remote, 12)
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.from_ref, result.processed) == ("incremental", True, 1)
    assert result.tip == oracle(clone, P)[0]
    # The cache is now the clone's own: the next run does not fetch again, and stays incremental.
    git(remote, "update-ref", "-d", REF)
    again = split.run(clone, "main", P, shared=shared(clone))
    assert (again.mode, again.from_ref, again.tip) == ("cached", False, result.tip)


def test_remote_without_the_ref_and_no_remote_run_in_full(tmp_path, capfd):
    remote = published_remote(tmp_path, history(8))
    git(remote, "update-ref", "-d", REF)
    clone = fresh_clone_with_new_commit(tmp_path, remote, 8)
    capfd.readouterr()
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.from_ref) == ("cold", False)
    assert result.tip == oracle(clone, P)[0]
    assert capfd.readouterr().err == ""  # nothing lost but a round trip
    other = fresh_clone_with_new_commit(tmp_path, remote, 8, name="other")
    assert split.run(other, "main", P).mode == "cold"  # no remote to ask (publish passes no Shared)


def test_without_a_delivery_branch_to_check_against_the_ref_is_not_used(tmp_path, capfd):
    remote = published_remote(tmp_path, history(8))
    clone = fresh_clone_with_new_commit(tmp_path, remote, 8)
    git(clone, "update-ref", "-d", "refs/remotes/origin/ro")  # e.g. source.remote is a URL: no tracking branch
    capfd.readouterr()
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.from_ref, result.tip) == ("cold", False, oracle(clone, P)[0])
    assert capfd.readouterr().err == ""


def test_an_unreachable_remote_warns_and_runs_in_full(tmp_path, capfd):
    remote = published_remote(tmp_path, history(8))
    clone = fresh_clone_with_new_commit(tmp_path, remote, 8)
    capfd.readouterr()
    result = split.run(clone, "main", P, shared=shared(clone, str(tmp_path / "gone.git")))
    assert (result.mode, result.tip) == ("cold", oracle(clone, P)[0])
    assert "could not fetch the split cache" in capfd.readouterr().err


def own_cache(repo: Path, prefix: str = P) -> Path:
    return split._cache_path(split._Repo.open(repo, "main")[0], prefix)


def replace_cache(remote: Path, clone_like: Path, data: bytes, prefix: bytes = P.encode()) -> None:
    """Point the remote's cache ref at a cache commit holding `data` as the cache for P."""
    key = own_cache(clone_like).name
    blobs = {}
    for name, body in ((f"{key}.prefix", prefix), (key, data)):
        blobs[name] = git(remote, "hash-object", "-w", "--stdin", input=body)
    tree = git(remote, "mktree", input="".join(f"100644 blob {oid}\t{name}\n" for name, oid in blobs.items()).encode())
    git(remote, "update-ref", REF, git(remote, "commit-tree", tree, "-m", "forged"))


def test_a_corrupt_cache_ref_warns_and_runs_in_full(tmp_path, capfd):
    remote = published_remote(tmp_path, history(10))
    work = tmp_path / "remote.git-work"
    data = bytearray(own_cache(work).read_bytes())
    data[-3] ^= 0x01
    replace_cache(remote, work, bytes(data))
    clone = fresh_clone_with_new_commit(tmp_path, remote, 10)
    capfd.readouterr()
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.from_ref, result.tip) == ("cold", False, oracle(clone, P)[0])
    assert "is corrupt" in capfd.readouterr().err


def test_a_cache_of_another_folder_is_not_used(tmp_path, capfd):
    commits = history(10)
    for c in commits:  # a second folder beside P, with its own history
        c.files.update({f"other/{name[len(P) + 1:]}": b"y" for name in c.files if name.startswith(P + "/")})
    remote = published_remote(tmp_path, commits, prefix="other")
    clone = fresh_clone_with_new_commit(tmp_path, remote, 10)
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.tip) == ("cold", oracle(clone, P)[0])
    # Even under P's name (a valid checksum, P's key), the other folder's ids do not match P's delivery branch.
    other_work = tmp_path / "remote.git-work"
    git(other_work, "update-ref", "refs/heads/ro", split.run(other_work, "main", P).tip)
    git(other_work, "push", "-q", str(remote), "+ro")
    replace_cache(remote, other_work, own_cache(other_work, "other").read_bytes())
    clone2 = fresh_clone_with_new_commit(tmp_path, remote, 10, name="clone2")
    capfd.readouterr()
    result = split.run(clone2, "main", P, shared=shared(clone2))
    assert (result.mode, result.tip) == ("cold", oracle(clone2, P)[0])
    assert "does not match the delivery branch" in capfd.readouterr().err


def test_a_cache_of_another_repository_is_not_used(tmp_path, capfd):
    remote = published_remote(tmp_path, history(10))
    stranger = tmp_path / "stranger"
    commits = history(10)
    for c in commits:
        c.message = b"stranger " + c.message  # other commits, other ids, same folder
    build(stranger, commits, {"main": 9})
    split.run(stranger, "main", P)
    replace_cache(remote, stranger, own_cache(stranger).read_bytes())
    clone = fresh_clone_with_new_commit(tmp_path, remote, 10)
    capfd.readouterr()
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.tip) == ("cold", oracle(clone, P)[0])
    assert "does not match the delivery branch" in capfd.readouterr().err


def test_a_stale_cache_ref_is_used_and_a_rewritten_delivery_branch_is_not(tmp_path, capfd):
    commits = history(14)
    remote = published_remote(tmp_path, commits[:10])  # the cache of an older publish...
    work = tmp_path / "remote.git-work"
    build(work, commits, {"main": 13})
    git(work, "update-ref", "refs/heads/ro", split.run(work, "main", P, cache=False).tip)
    git(work, "push", "-q", str(remote), "main", "ro")  # ...and a delivery branch that moved on since
    clone = fresh_clone_with_new_commit(tmp_path, remote, 14)
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.from_ref, result.processed) == ("incremental", True, 5)
    assert result.tip == oracle(clone, P)[0]

    # The delivery branch rewritten (not a descendant of the cache's): the cache is not trusted.
    rewritten = git(work, "commit-tree", git(work, "rev-parse", "ro^{tree}"), "-m", "rewritten")
    git(work, "push", "-q", "--force", str(remote), f"{rewritten}:refs/heads/ro")
    clone2 = fresh_clone_with_new_commit(tmp_path, remote, 14, name="clone2")
    capfd.readouterr()
    result = split.run(clone2, "main", P, shared=shared(clone2))
    assert (result.mode, result.tip) == ("cold", oracle(clone2, P)[0])
    assert "does not match the delivery branch" in capfd.readouterr().err


def test_a_wrong_entry_that_passes_the_anchor_is_caught(tmp_path):
    """A cache (valid checksum) whose entry for the last published commit names an older delivery commit, an
    ancestor of the delivery tip: the anchor check alone would accept it; the entry check refuses it."""
    remote = published_remote(tmp_path, history(12))
    work = tmp_path / "remote.git-work"
    stored = split._Cache.load(own_cache(work))
    last = stored.tips[-1]
    memo = stored.memo.everything()
    memo[last] = git(work, "rev-parse", memo[last] + "^")
    forged = tmp_path / "forged"
    split._Cache(stored.tips, memo, stored.seeds, stored.exclusions).save(forged)
    replace_cache(remote, work, forged.read_bytes())
    clone = fresh_clone_with_new_commit(tmp_path, remote, 12)
    result = split.run(clone, "main", P, shared=shared(clone))
    assert result.mode == "cold"
    assert result.tip == oracle(clone, P)[0]


def test_publish_push_leaves_the_cache_ref_and_a_fresh_clone_uses_it(tmp_path, make_repo, cli):
    source = "read-write-flyway-files"
    parent = make_repo("parent")
    parent.write({"cascade.toml": f'[source]\npath = "{source}"\nremote = "origin"\n'})
    parent.commit({f"{source}/sql/V1__one.sql": "create table one (id int);\n"}, "V1")
    parent.commit({"app.txt": "outside the folder"}, "app")
    remote = make_repo("remote.git", bare=True)
    parent.git("remote", "add", "origin", str(remote.path))
    parent.git("push", "-q", "origin", "main")
    assert cli("publish", "--push", cwd=parent.path).code == 0
    key = own_cache(parent.path, source).name
    assert remote.git("ls-tree", "--name-only", REF).split() == [key, f"{key}.prefix"]  # no merges: no .gens
    assert remote.git("cat-file", "blob", f"{REF}:{key}.prefix") == source
    assert remote.git("rev-list", "--count", REF) == "1"  # one root commit: old caches are pruned, not kept

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote.path), str(clone)], check=True)
    (clone / source / "sql" / "V2__two.sql").write_text("create table two (id int);\n")
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "V2")
    result = cli("publish", "--push", "--json", cwd=clone)
    assert result.code == 0 and result.stderr == "", result
    doc = json.loads(result.stdout)
    assert doc["added"] == 1 and doc["new"] == oracle(clone, source)[0]
    assert own_cache(clone, source).exists()  # adopted from the ref, then kept up to date
    assert remote.git("rev-parse", REF) != parent.git("rev-parse", REF)  # the newer cache replaced the older


def test_trailers_in_the_cache_must_be_the_historys(make_repo, tmp_path, capfd):
    work = make_repo("work").path

    def commit(repo: Path, path: str, text: str) -> None:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", f"edit {path}")

    for i in range(3):
        commit(work, f"{P}/v{i}.sql", str(i))
        commit(work, "app.txt", str(i))
    git(work, "subtree", "split", "-q", f"--prefix={P}", "--rejoin")  # a trailer the cache must carry
    commit(work, f"{P}/v5.sql", "5")
    outcome = split.run(work, "main", P)
    assert split._Cache.load(own_cache(work)).seeds  # the case under test: a cache with trailers
    git(work, "update-ref", "refs/heads/ro", outcome.tip)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(work, "update-ref", REF, split.shared_commit(outcome, P, work))
    git(work, "push", "-q", str(remote), "main", "ro", f"+{REF}:{REF}")

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True, capture_output=True)
    commit(clone, f"{P}/v6.sql", "6")
    result = split.run(clone, "main", P, shared=shared(clone))
    assert (result.mode, result.from_ref, result.processed) == ("incremental", True, 1)
    assert result.tip == oracle(clone, P)[0]

    # A cache whose trailers the history does not have (a forged mapping) is refused.
    stored = split._Cache.load(own_cache(work))
    head = git(work, "rev-parse", "main")
    forged = tmp_path / "forged"
    split._Cache(stored.tips, stored.memo, {**stored.seeds, head: head}, stored.exclusions).save(forged)
    replace_cache(remote, work, forged.read_bytes())
    clone2 = tmp_path / "clone2"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone2)], check=True, capture_output=True)
    commit(clone2, f"{P}/v6.sql", "6")
    capfd.readouterr()
    result = split.run(clone2, "main", P, shared=shared(clone2))
    assert (result.mode, result.tip) == ("cold", oracle(clone2, P)[0])
    assert "subtree trailers" in capfd.readouterr().err



def test_the_cache_ref_over_smart_http(tmp_path, local_forge, cli):
    """`publish --push` to a forge over git's smart HTTP (the real `git http-backend`) leaves the ref; a fresh clone
    of the forge's repository fetches it and continues incrementally."""
    token = "ghp_cacheref0000000000000000000000000000"
    local_forge.add_token(token)
    bare = local_forge.create_repo("acme", "parent", files={"README.md": "parent\n"})
    url = local_forge.git_url("acme", "parent").replace("://", f"://x-access-token:{token}@")
    work = tmp_path / "work"
    build(work, history(6), {"main": 5})
    git(work, "remote", "add", "origin", url)
    git(work, "push", "-q", "--force", "origin", "main")
    (work / "cascade.toml").write_text(f'[source]\npath = "{P}"\nremote = "origin"\n')
    result = cli("publish", "--push", cwd=work)
    assert result.code == 0 and result.stderr == "", result
    assert git(bare, "rev-list", "--count", REF) == "1"

    clone = fresh_clone_with_new_commit(tmp_path, url, 6)
    outcome = split.run(clone, "main", P, shared=shared(clone, branch="ro-shared-ddl"))
    assert (outcome.mode, outcome.from_ref, outcome.processed) == ("incremental", True, 1)
    assert outcome.tip == oracle(clone, P)[0]
