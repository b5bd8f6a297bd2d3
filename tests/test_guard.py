"""`ddl-cascade guard` in a child: changes to the read-only folder pass only when they leave it at a delivered tree.

Children are real: delivered by ddl-cascade sync (squash and merge mode) and by the real `git subtree add/pull
--squash`; the guard runs as the installed CLI does, as a plain git hook, and under the real pre-commit framework.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cascade_world import PREFIX, make_world
from gitrepo import Repo

from ddl_cascade.cascade.commands import sync

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(tmp_path):
    w = make_world(tmp_path, {"c1": "squash", "c2": "merge"})
    assert sync(w.config(), None).ok
    return w


def refused(cli, clone, *args):
    result = cli("guard", *args, "--json", cwd=clone.path)
    doc = json.loads(result.stdout) if result.stdout.strip() else None
    return result, doc


# --- what counts as a change -------------------------------------------------------------------------------------

CHANGES = {
    "edit": lambda r: r.write({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id bigint);\n"}),
    "add": lambda r: r.write({f"{PREFIX}/sql/V9__mine.sql": "select 9;\n"}),
    "delete": lambda r: r.write({f"{PREFIX}/sql/V2__more.sql": None}),
    "rename out": lambda r: r.git("mv", f"{PREFIX}/sql/V2__more.sql", "db/V2__more.sql"),
    "rename in": lambda r: r.git("mv", "db/V100__c1.sql", f"{PREFIX}/sql/V100__c1.sql"),
    "mode": lambda r: (r.path / PREFIX / "sql/V2__more.sql").chmod(0o755),
    "symlink": lambda r: (r.write({f"{PREFIX}/sql/V2__more.sql": None}),
                          os.symlink("V1__init.sql", r.path / PREFIX / "sql/V2__more.sql")),
    "case-only file rename": lambda r: r.git("mv", f"{PREFIX}/sql/V2__more.sql", f"{PREFIX}/sql/v2__more.sql"),
    "case-only folder rename": lambda r: r.git("mv", PREFIX, PREFIX.upper()),
    "other-case folder": lambda r: r.write({f"{PREFIX.upper()}/sql/V9__x.sql": "select 9;\n"}),
}


@pytest.mark.parametrize("kind", list(CHANGES))
def test_every_kind_of_change_is_refused_staged_and_in_the_work_tree(world, cli, kind):
    clone = world.clone("c1")
    assert cli("guard", "--staged", cwd=clone.path).code == 0
    CHANGES[kind](clone)
    result, doc = refused(cli, clone)  # the work tree, nothing staged yet
    assert result.code == 1, result
    assert doc["mode"] == "worktree" and doc["prefix"] == PREFIX and doc["prefix_from"] == "trailer"
    paths = [p for change in doc["refused"] for p in change["paths"]]
    assert paths and all(p.lower().startswith(PREFIX) for p in paths)
    staged = clone.git("diff", "--cached", "--name-only")  # `git mv` stages; writing files does not
    assert cli("guard", "--staged", cwd=clone.path).code == (1 if staged else 0)
    clone.git("add", "-A")
    result = cli("guard", "--staged", cwd=clone.path)
    assert result.code == 1 and PREFIX.lower() in result.stderr.lower(), result
    assert "read-only" in result.stderr


def test_changes_outside_the_folder_pass_and_print_nothing(world, cli):
    clone = world.clone("c1")
    clone.write({"db/V101__own.sql": "select 2;\n", "README.md": "changed\n"})
    clone.git("add", "-A")
    for args in ([], ["--staged"]):
        result = cli("guard", *args, cwd=clone.path)
        assert (result.code, result.stdout, result.stderr) == (0, "", ""), result


def test_base_checks_every_commit_and_accepts_a_sync_delivery(world, cli):
    clone = world.clone("c1")
    base = clone.head()
    clone.commit({"db/V101__own.sql": "select 2;\n"}, "own work")
    bad = clone.commit({f"{PREFIX}/sql/V2__more.sql": "changed\n"}, "edit the read-only folder")
    clone.commit({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id int);\n"}, "revert it")
    result, doc = refused(cli, clone, "--base", base)
    assert result.code == 1 and doc["checked_commits"] == 3
    assert [(c["commit"], c["paths"]) for c in doc["refused"]] == [(bad, [f"{PREFIX}/sql/V2__more.sql"])]
    # a delivery made by ddl-cascade sync (a squash commit and its merge) passes
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    before = world.children["c1"].head("main")
    assert sync(world.config(), ["c1"]).ok
    fresh = world.clone("c1", where="c1-fresh")
    assert cli("guard", "--base", before, cwd=fresh.path).code == 0
    # and so does one in merge mode (`Merge commit '<delivered commit>'`)
    before = world.children["c2"].head("main")
    assert sync(world.config(), ["c2"]).ok
    merged = world.clone("c2", where="c2-fresh")
    result, doc = refused(cli, merged, "--base", before)
    assert result.code == 0 and doc["changed_paths"] == 1 and doc["delivered_trees"] >= 1, result


def test_real_git_subtree_squash_deliveries_pass(tmp_path, cli):
    world = make_world(tmp_path, {})
    world.add_child("own", "squash")
    clone = world.clone("own")
    own = clone.head()
    clone.git("subtree", "add", f"--prefix={PREFIX}", "--squash", str(world.parent.path), "ro-shared-ddl")
    first = clone.head()
    assert cli("guard", "--base", own, "--prefix", PREFIX, cwd=clone.path).code == 0
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    clone.git("subtree", "pull", f"--prefix={PREFIX}", "--squash", "-m", "pull", str(world.parent.path),
              "ro-shared-ddl")
    result, doc = refused(cli, clone, "--base", first)
    assert result.code == 0 and doc["prefix_from"] == "trailer" and doc["changed_paths"] == 1, result
    # going back to an older delivered tree by hand is a delivered tree too
    clone.git("checkout", first, "--", PREFIX)
    assert cli("guard", "--staged", cwd=clone.path).code == 0


def test_concluding_a_merge_that_brings_a_delivery_passes(world, cli):
    """`git pull` with a conflict elsewhere (or `git merge --no-commit`) commits through the pre-commit hook: the
    delivery is then in MERGE_HEAD's history only."""
    clone = world.clone("c1")
    clone.commit({"README.md": "mine\n"}, "own work")
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    assert sync(world.config(), ["c1"]).ok
    clone.git("fetch", "-q", "origin")
    clone.git("merge", "-q", "--no-commit", "--no-ff", "origin/main")
    assert clone.git("diff", "--cached", "--name-only", "HEAD", "--", PREFIX) == f"{PREFIX}/sql/V3__third.sql"
    assert cli("guard", "--staged", cwd=clone.path).code == 0
    clone.git("merge", "--abort")
    clone.git("merge", "-q", "--no-commit", "--no-ff", "origin/main")
    clone.write({f"{PREFIX}/sql/V3__third.sql": "create table t3 (id bigint);\n"})  # resolved by hand: not delivered
    clone.git("add", "-A")
    result = cli("guard", "--staged", cwd=clone.path)
    assert result.code == 1 and f"{PREFIX}/sql/V3__third.sql" in result.stderr, result


def test_a_squash_merged_delivery_needs_the_parent(world, cli, tmp_path):
    """A delivery pull request squash-merged on the forge leaves one commit without trailers: only the parent's
    delivery branch knows its tree."""
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    clone = world.clone("c1")
    base = clone.head()
    delivered = world.parent.tree("ro-shared-ddl")
    clone.git("rm", "-rq", PREFIX)
    clone.git("fetch", "-q", str(world.parent.path), "ro-shared-ddl")
    clone.git("read-tree", f"--prefix={PREFIX}/", "-u", "FETCH_HEAD")
    assert clone.tree("HEAD") != clone.git("write-tree")
    clone.git("commit", "-qm", "Deliver V3 (#12)")  # what a squash merge leaves
    assert clone.tree("HEAD", PREFIX) == delivered
    result, doc = refused(cli, clone, "--base", base)
    assert result.code == 1 and doc["notes"] == [], result  # history alone does not know the tree
    shallow = Repo(tmp_path / "shallow")
    subprocess.run(["git", "clone", "-q", "--depth=2", f"file://{clone.path}", str(shallow.path)], check=True)
    result, doc = refused(cli, shallow, "--base", "HEAD~1", "--prefix", PREFIX)
    assert result.code == 1 and "shallow" in doc["notes"][0], result
    result, doc = refused(cli, clone, "--base", base, "--parent", str(world.parent.path))
    assert result.code == 0 and doc["parent_fetched"] is True, result
    assert clone.git("rev-parse", "refs/ddl-cascade/remote/ro-shared-ddl") == world.parent.head("ro-shared-ddl")
    # .ddl-cascade.toml names the parent (and the prefix); the fetched ref is used without fetching again
    (clone.path / ".ddl-cascade.toml").write_text(f'prefix = "{PREFIX}"\nparent = "{world.parent.path}"\n')
    result, doc = refused(cli, clone, "--base", base)
    assert result.code == 0 and doc["parent_fetched"] is False and doc["prefix_from"] == ".ddl-cascade.toml"


def test_bad_input_is_one_sentence_and_exit_2(world, cli, tmp_path):
    clone = world.clone("c1")
    result = cli("guard", "--base", "no-such-rev", cwd=clone.path)
    assert result.code == 2 and "--base 'no-such-rev' names no commit" in result.stderr
    assert "Traceback" not in result.stderr
    (clone.path / ".ddl-cascade.toml").write_text('prefix = 3\n')
    result = cli("guard", cwd=clone.path)
    assert result.code == 2 and ".ddl-cascade.toml: 'prefix' must be" in result.stderr, result
    (clone.path / ".ddl-cascade.toml").write_text('prefx = "x"\n')
    assert "unknown key 'prefx'" in cli("guard", cwd=clone.path).stderr
    plain = Repo.init(tmp_path / "no-delivery")
    plain.commit({"a": "b"}, "x")
    result = cli("guard", "--staged", cwd=plain.path)
    assert result.code == 2 and "no read-only folder known" in result.stderr
    result = cli("guard", "--staged", "--base", "HEAD", cwd=clone.path)
    assert result.code == 2 and "not both" in result.stderr


# --- hooks ---------------------------------------------------------------------------------------------------------

def _env_with_cli_on_path(tmp_path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "ddl-cascade"
    script.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT / 'src'} exec {sys.executable} -m ddl_cascade \"$@\"\n")
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_guard_install_writes_a_hook_that_refuses_the_commit(world, cli, tmp_path):
    clone = world.clone("c1")
    hook = clone.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    result = cli("guard", "install", cwd=clone.path)
    assert result.code == 2 and "not written by ddl-cascade" in result.stderr and "mine" in hook.read_text()
    assert cli("guard", "install", "--force", cwd=clone.path).code == 0
    assert cli("guard", "install", cwd=clone.path).code == 0  # its own hook: replaced without --force
    env = _env_with_cli_on_path(tmp_path)
    clone.write({f"{PREFIX}/sql/V2__more.sql": "changed\n"})
    # `git commit -a` stages into a temporary index that only the hook's GIT_INDEX_FILE names
    proc = subprocess.run(["git", "commit", "-qam", "edit"], cwd=clone.path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and f"{PREFIX}/sql/V2__more.sql" in proc.stderr, proc
    clone.write({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id int);\n", "README.md": "own\n"})
    proc = subprocess.run(["git", "commit", "-qam", "own"], cwd=clone.path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc


def _pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("pre-commit is not installed in this virtualenv: run `make setup` (it is in the test extras)")
    return found


def _run_pre_commit(pre_commit: str, clone: Repo, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**_env_with_cli_on_path(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    return subprocess.run([pre_commit, "run"], cwd=clone.path, env=env, capture_output=True, text=True)


def test_pre_commit_framework_with_the_shipped_hook_definition(world, tmp_path):
    """The real `pre-commit`, fast: `repo: local` with the hook exactly as .pre-commit-hooks.yaml defines it, but
    `language: system` (the ddl-cascade on PATH) instead of an install of this project."""
    import yaml

    pre_commit = _pre_commit()
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["language"], hook["pass_filenames"]) == ("ddl-cascade-guard", "python", False)
    assert hook["entry"] == "ddl-cascade guard --staged"
    clone = world.clone("c1")
    local = {**hook, "language": "system"}
    (clone.path / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local",
                                                                                   "hooks": [local]}]}))
    clone.write({f"{PREFIX}/sql/V2__more.sql": "changed\n"})
    clone.git("add", "-A")
    proc = _run_pre_commit(pre_commit, clone, tmp_path)
    assert proc.returncode == 1 and f"{PREFIX}/sql/V2__more.sql" in proc.stdout, proc
    clone.git("restore", "--staged", "--worktree", "--", PREFIX)
    proc = _run_pre_commit(pre_commit, clone, tmp_path)
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc


@pytest.mark.slow
def test_pre_commit_framework_installs_this_project_as_the_hook_repository(world, tmp_path):
    """The real `pre-commit` installs this project (a git repository of it at a commit: `repo: <path>`) into its own
    virtualenv with pip, as a user's `repo: https://github.com/OWNER/ddl-cascade` would (about 30 s: pip installs
    the dependencies, from its cache or PyPI)."""
    pre_commit = _pre_commit()
    hook_repo = Repo.init(tmp_path / "hook-repo")
    subprocess.run(["cp", "-r", str(ROOT / "src"), str(ROOT / "pyproject.toml"), str(ROOT / "README.md"),
                    str(ROOT / ".pre-commit-hooks.yaml"), str(hook_repo.path)], check=True)
    rev = hook_repo.commit(message="ddl-cascade at a commit")
    clone = world.clone("c1")
    (clone.path / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo.path}\n  rev: {rev}\n  hooks:\n  - id: ddl-cascade-guard\n")
    clone.write({f"{PREFIX}/sql/V2__more.sql": "changed\n"})
    clone.git("add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}  # no ddl-cascade on PATH
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "ddl-cascade").exists())
    proc = subprocess.run([pre_commit, "run"], cwd=clone.path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and f"{PREFIX}/sql/V2__more.sql" in proc.stdout, proc
    clone.git("restore", "--staged", "--worktree", "--", PREFIX)
    proc = subprocess.run([pre_commit, "run"], cwd=clone.path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "Passed" in proc.stdout, proc


# --- speed ---------------------------------------------------------------------------------------------------------

def big_child(root: Path, commits: int = 10_000) -> Repo:
    """A child with `commits` commits of its own on top of a real ddl-cascade delivery (git fast-import)."""
    world = make_world(root, {"big": "squash"})
    assert sync(world.config(), None).ok
    clone = world.clone("big")
    lines = ["commit refs/heads/main\ncommitter A <a@example.com> 1700000000 +0000\ndata 4\nown\n"
             f"from {clone.head()}\n"]
    for i in range(commits):
        text = f"line {i}\n"
        lines.append(f"commit refs/heads/main\ncommitter A <a@example.com> {1700000001 + i} +0000\ndata 4\nown\n"
                     f"M 100644 inline app/f{i % 50}.txt\ndata {len(text)}\n{text}\n")
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=clone.path, input="".join(lines).encode(),
                   check=True)
    clone.git("reset", "-q", "--hard", "main")
    return clone


def test_guard_takes_under_0_2_s_on_10000_commits(tmp_path):
    clone = big_child(tmp_path)
    clone.write({f"{PREFIX}/sql/V2__more.sql": "changed\n"})
    clone.git("add", "-A")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for args, code in ((["--staged"], 1), (["--base", "HEAD~50"], 0)):
        best = 9.0
        for _ in range(4):  # the first run reads the whole history; the next ones only what is new (History)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "ddl_cascade", "guard", *args], cwd=clone.path, env=env,
                                  capture_output=True)
            best = min(best, time.perf_counter() - start)
            assert proc.returncode == code, proc
        assert best < 0.2, f"guard {' '.join(args)}: {best:.3f} s"
