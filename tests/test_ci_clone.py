"""Issue 9, "it works from a fresh CI clone": a clone with only origin/<delivery branch>, a shallow clone, a cache of
children that comes and goes, a deleted source folder, and a stale parent clone told apart from a hand-edited child.

Everything runs the real git and the real CLI, as a CI job would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from cascade_world import PREFIX, SOURCE, World, make_world
from gitrepo import Repo

BRANCH = "ro-shared-ddl"


def with_origin(tmp_path: Path, children: dict[str, str] | None = None) -> tuple[World, Repo]:
    """A world whose parent has a bare `origin` holding main and the delivery branch."""
    world = make_world(tmp_path, children if children is not None else {"c1": "squash", "c2": "merge"})
    origin = Repo.init(tmp_path / "origin.git", bare=True)
    world.parent.git("remote", "add", "origin", str(origin.path))
    world.parent.git("push", "-q", "origin", "main", BRANCH)
    return world, origin


def config_text(world: World, remote: str | None = "origin") -> str:
    text = world.write_config().read_text()
    if remote:
        text = text.replace("[source]\n", f'[source]\nremote = "{remote}"\n', 1)
    return text


def clone(origin: Repo, where: Path, *args: str, config: str | None = None) -> Repo:
    """A CI checkout of the parent: `git clone [args] file://origin where`, with cascade.toml written into it."""
    subprocess.run(["git", "clone", "-q", *args, f"file://{origin.path}", str(where)], check=True)
    repo = Repo(where)
    if config is not None:
        (where / "cascade.toml").write_text(config)
    return repo


def has_ref(repo: Repo, ref: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "-q", ref], cwd=repo.path,
                          capture_output=True).returncode == 0


def states(doc: dict) -> dict[str, str]:
    return {c["name"]: c["state"] for c in doc["children"]}


# ---------------------------------------------------------------------------------------------------------------------
# 1. full --push


def test_full_push_pushes_the_delivery_branch_before_syncing(tmp_path, cli):
    world, origin = with_origin(tmp_path)
    (world.parent.path / "cascade.toml").write_text(config_text(world, remote="origin"))
    world.parent.commit({f"{SOURCE}/sql/V3__three.sql": "create table t3 (id int);\n"}, "V3")
    # Each child refuses a push unless origin already has the new delivery branch: the push comes before the sync.
    expected = world.parent.git("subtree", "split", f"--prefix={SOURCE}", "main")
    for bare in world.children.values():
        hook = bare.path / "hooks" / "pre-receive"
        hook.write_text(f"#!/bin/sh\nunset GIT_DIR GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES "
                        f"GIT_QUARANTINE_PATH\ntest \"$(git --git-dir='{origin.path}' rev-parse -q --verify "
                        f"refs/heads/{BRANCH})\" = {expected} || {{ echo 'origin lacks it'; exit 1; }}\n")
        hook.chmod(hook.stat().st_mode | stat.S_IEXEC)

    out = cli("full", "--push", "--json", cwd=world.parent.path)
    assert out.code == 0, out
    doc = json.loads(out.stdout)
    assert doc["publish"]["pushed_to"] == "origin" and doc["publish"]["new"] == expected
    assert origin.head(f"refs/heads/{BRANCH}") == expected
    assert {c["result"] for c in doc["sync"]["children"]} == {"updated"}

    # A plain `full` pushes nothing (children then refuse: origin lacks V4); `full --push` pushes and says so.
    world.parent.commit({f"{SOURCE}/sql/V4__four.sql": "create table t4 (id int);\n"}, "V4")
    expected = world.parent.git("subtree", "split", f"--prefix={SOURCE}", "main")
    for bare in world.children.values():  # the hook now waits for the V4 delivery
        hook = bare.path / "hooks" / "pre-receive"
        hook.write_text(hook.read_text().replace(doc["publish"]["new"], expected))
    plain = cli("full", "--json", cwd=world.parent.path)
    assert plain.code == 1 and json.loads(plain.stdout)["publish"]["pushed_to"] is None
    assert origin.head(f"refs/heads/{BRANCH}") == doc["publish"]["new"]
    world.parent.git("update-ref", f"refs/heads/{BRANCH}", doc["publish"]["new"])  # as before the plain run
    text = cli("full", "--push", cwd=world.parent.path)
    assert text.code == 0, text
    assert f"{BRANCH}: {doc['publish']['new'][:12]}..{expected[:12]} (1 commit added); pushed to origin" \
        in text.stdout.splitlines()
    assert origin.head(f"refs/heads/{BRANCH}") == expected

    # A pull request's fresh clone now finds origin/ro-shared-ddl: validate sees an edited delivered migration.
    world.parent.git("push", "-q", "origin", "main")
    pr = clone(origin, tmp_path / "pr", config=config_text(world))
    pr.commit({f"{SOURCE}/sql/V4__four.sql": "create table t4 (id bigint);\n"}, "edit V4")
    checked = cli("validate", "--json", cwd=pr.path)
    assert checked.code == 1, checked
    assert "history/modified" in {f["rule"] for f in json.loads(checked.stdout)["findings"]}
    assert "no delivery branch" not in checked.stderr


def test_publish_records_the_push(tmp_path, cli):
    world, origin = with_origin(tmp_path, {})
    (world.parent.path / "cascade.toml").write_text(config_text(world))
    world.parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3")
    quiet = json.loads(cli("publish", "--json", cwd=world.parent.path).stdout)
    assert quiet["pushed_to"] is None and quiet["added"] == 1
    pushed = json.loads(cli("publish", "--push", "--json", cwd=world.parent.path).stdout)
    assert pushed["pushed_to"] == "origin" and origin.head(f"refs/heads/{BRANCH}") == pushed["new"]
    assert cli("full", "--push", cwd=world.parent.path).code == 0
    without = make_world(tmp_path / "no-remote", {})
    out = cli("full", "--push", "--config", str(without.config_path))
    assert out.code == 2 and "source.remote" in out.stderr


# ---------------------------------------------------------------------------------------------------------------------
# 2. fresh and shallow clones


def _behind_world(tmp_path: Path) -> tuple[World, Repo, dict]:
    """c1 in sync, c2 one delivery behind, origin up to date; returns the parent's own status document."""
    from ddl_cascade.cascade.commands import sync

    world, origin = with_origin(tmp_path)
    assert sync(world.config()).ok
    world.deliver({"sql/V3__three.sql": "create table t3 (id int);\n"}, "V3")
    assert sync(world.config(), ["c1"]).ok
    world.parent.git("push", "-q", "origin", "main", BRANCH)
    return world, origin, {}


def test_fresh_clone_with_only_the_remote_tracking_branch(tmp_path, cli):
    world, origin, _ = _behind_world(tmp_path)
    ci = clone(origin, tmp_path / "ci", config=config_text(world, remote=None))
    assert not has_ref(ci, f"refs/heads/{BRANCH}") and has_ref(ci, f"refs/remotes/origin/{BRANCH}")

    out = cli("status", "--json", cwd=ci.path)
    assert out.code == 1, out
    doc = json.loads(out.stdout)
    assert states(doc) == {"c1": "in_sync", "c2": "behind"} and doc["delivery_tip"] == world.parent.head(BRANCH)
    planned = json.loads(cli("reset", "--all", "--json", cwd=ci.path).stdout)  # without --yes: the plan
    assert {c["name"]: c["action"] for c in planned["children"]} == {"c1": "none", "c2": "reset"}
    synced = cli("sync", "--json", cwd=ci.path)
    assert synced.code == 0, synced
    assert {c["name"]: c["result"] for c in json.loads(synced.stdout)["children"]} == \
        {"c1": "unchanged", "c2": "updated"}
    assert not has_ref(ci, f"refs/heads/{BRANCH}")  # sync made no branch in the clone


def test_shallow_clone_fetches_only_the_delivery_branch(tmp_path, cli):
    world, origin, _ = _behind_world(tmp_path)
    ci = clone(origin, tmp_path / "shallow", "--depth=1", config=config_text(world))
    assert not has_ref(ci, f"refs/remotes/origin/{BRANCH}")

    out = cli("status", "--json", cwd=ci.path)
    assert out.code == 1, out
    doc = json.loads(out.stdout)
    assert states(doc) == {"c1": "in_sync", "c2": "behind"}
    assert [c["behind_by"] for c in doc["children"]] == [None, 1]
    assert ci.head(f"refs/remotes/origin/{BRANCH}") == world.parent.head(BRANCH)
    # Only the delivered commits came: the source branch is still cut off at depth 1.
    assert ci.git("rev-list", "--count", "main") == "1" and ci.git("rev-parse", "--is-shallow-repository") == "true"
    assert cli("validate", cwd=ci.path).stderr.count("no delivery branch") == 0
    assert cli("sync", cwd=ci.path).code == 0
    assert world.children["c2"].tree("main", PREFIX) == world.parent.tree(BRANCH)


def test_shallow_clone_with_a_cut_off_delivery_branch(tmp_path, cli):
    """`--depth=1 --no-single-branch` gives origin/ro-shared-ddl with one commit: behind_by needs its history."""
    world, origin, _ = _behind_world(tmp_path)
    ci = clone(origin, tmp_path / "shallow", "--depth=1", "--no-single-branch", config=config_text(world, None))
    assert ci.git("rev-list", "--count", f"origin/{BRANCH}") == "1"
    out = cli("status", "--json", cwd=ci.path)
    doc = json.loads(out.stdout)
    assert states(doc) == {"c1": "in_sync", "c2": "behind"}, out
    assert [c["behind_by"] for c in doc["children"]] == [None, 1]
    assert ci.git("rev-list", "--count", "main") == "1"  # the source history was not fetched


def test_publish_in_a_shallow_clone_says_what_to_fetch(tmp_path, cli):
    world, origin, _ = _behind_world(tmp_path)
    ci = clone(origin, tmp_path / "shallow", "--depth=1", config=config_text(world))
    out = cli("publish", cwd=ci.path)
    assert out.code == 2 and "`git fetch --unshallow origin main`" in out.stderr, out
    assert not has_ref(ci, f"refs/heads/{BRANCH}")


def test_no_delivery_branch_anywhere_is_one_clear_sentence(tmp_path, cli):
    world, origin = with_origin(tmp_path)
    origin.git("branch", "-D", BRANCH)
    ci = clone(origin, tmp_path / "ci", config=config_text(world))
    out = cli("status", cwd=ci.path)
    assert out.code == 2 and "Traceback" not in out.stderr
    assert f"no delivery branch '{BRANCH}'" in out.stderr and "'origin' has no branch" in out.stderr


# ---------------------------------------------------------------------------------------------------------------------
# 3. the cache of children is never required


def _documents(cli, cwd: Path) -> list[dict]:
    """status and a dry run of sync; new commits are dated now, so their ids are left out, as is when status read
    the children (`generated_at`)."""
    status, plan = (json.loads(cli(*args, "--json", cwd=cwd).stdout) for args in (("status",), ("sync", "--dry-run")))
    assert status.pop("generated_at")
    for child in plan["children"]:
        child["planned"] = bool(child["planned"])
        child["commits"] = [(c["kind"], c["subject"].split(" '")[0]) for c in child["commits"]]
    return [status, plan]


def test_deleting_the_cache_between_runs_costs_only_time(tmp_path, cli):
    from cascade_world import world_in_every_state

    world = world_in_every_state(tmp_path, str(tmp_path / "gone.git"))
    world.write_config()
    cwd = world.parent.path
    cache = Path(world.parent.git("rev-parse", "--path-format=absolute", "--git-common-dir")) / "ddl-cascade"
    first = _documents(cli, cwd)
    assert (cache / "children.git").is_dir()
    shutil.rmtree(cache)
    assert _documents(cli, cwd) == first
    # A full run after deleting it again: the same results as on a warm cache.
    world.deliver({"sql/V4__four.sql": "select 4;\n"}, "V4")
    shutil.rmtree(cache)
    full = json.loads(cli("full", "--json", cwd=cwd).stdout)
    assert {c["name"]: c["result"] for c in full["sync"]["children"]} == \
        {"synced": "updated", "behind": "updated", "drifted": "refused", "fresh": "updated", "gone": "failed"}
    shutil.rmtree(cache)
    after = _documents(cli, cwd)
    assert states(after[0]) == {"synced": "in_sync", "behind": "in_sync", "drifted": "drifted",
                                "fresh": "in_sync", "gone": "unreachable"}


def test_a_cache_restored_into_another_clone_is_used_and_harmless(tmp_path, cli):
    """CI saves `.git/ddl-cascade/` after one job and restores it into the next job's fresh clone (another path)."""
    world, origin, _ = _behind_world(tmp_path)
    first = clone(origin, tmp_path / "job1", config=config_text(world))
    expected = _documents(cli, first.path)
    second = clone(origin, tmp_path / "job2", config=config_text(world))
    shutil.copytree(first.path / ".git" / "ddl-cascade", second.path / ".git" / "ddl-cascade")
    shutil.rmtree(first.path)  # the saved cache's alternates pointed here
    assert _documents(cli, second.path) == expected
    synced = json.loads(cli("sync", "--json", cwd=second.path).stdout)
    assert {c["name"]: c["result"] for c in synced["children"]} == {"c1": "unchanged", "c2": "updated"}


# ---------------------------------------------------------------------------------------------------------------------
# 4. a source folder deleted in the latest commit


def test_a_deleted_source_folder_is_an_error_not_up_to_date(tmp_path, cli):
    world, origin = with_origin(tmp_path)
    cwd = world.parent.path
    assert cli("publish", cwd=cwd).code == 0  # warms the split cache
    tip = world.parent.head(BRANCH)
    world.parent.git("rm", "-r", "-q", SOURCE)
    deleting = world.parent.commit(message="drop the shared folder")
    # git subtree split refuses too: it dies when the folder is absent (it looks in the work tree, git 2.39).
    script = subprocess.run(["git", "subtree", "split", f"--prefix={SOURCE}", "main"], cwd=world.parent.path,
                            capture_output=True, text=True)
    assert script.returncode != 0 and f"'{SOURCE}' does not exist" in script.stderr
    before = world.refs()
    for args in (("publish",), ("publish", "--json"), ("full",), ("full", "--json")):
        out = cli(*args, cwd=cwd)
        assert out.code == 2, (args, out)
        assert f"'{SOURCE}' was deleted in commit {deleting[:12]} ('drop the shared folder')" in out.stderr
        assert "up to date" not in out.stdout + out.stderr and out.stdout == ""
    split_cache = Path(world.parent.git("rev-parse", "--path-format=absolute", "--git-common-dir")) / "ddl-cascade"
    shutil.rmtree(split_cache)  # the cold split says the same
    out = cli("publish", cwd=cwd)
    assert out.code == 2 and f"deleted in commit {deleting[:12]}" in out.stderr
    assert world.refs() == before and world.parent.head(BRANCH) == tip


# ---------------------------------------------------------------------------------------------------------------------
# 5. a stale parent clone is not a drifted child


def _fetch_log_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A `git` first on PATH that logs each `fetch` it runs in a parent clone, then runs the real git."""
    real = shutil.which("git")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "fetches.log"
    wrapper = bindir / "git"
    wrapper.write_text(f"#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = fetch ] && [ -d .git ] && "
                       f"echo \"$PWD $*\" >> '{log}'; done\nexec '{real}' \"$@\"\n")
    wrapper.chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}, log


def _stale_world(tmp_path: Path, cli) -> tuple[World, Repo, Repo]:
    """A parent clone made before the parent delivered V3 and synced c1 (the clone has its own local branch)."""
    from ddl_cascade.cascade.commands import sync

    world, origin = with_origin(tmp_path, {"c1": "squash", "c2": "squash", "c3": "merge"})
    (world.parent.path / "cascade.toml").write_text(config_text(world))
    assert sync(world.config()).ok
    stale = clone(origin, tmp_path / "stale", config=config_text(world))
    stale.git("branch", BRANCH, f"origin/{BRANCH}")
    world.parent.commit({f"{SOURCE}/sql/V3__three.sql": "create table t3 (id int);\n"}, "V3")
    (world.parent.path / "cascade.toml").write_text(config_text(world))
    out = cli("full", "c1", "--push", cwd=world.parent.path)  # pushes the delivery branch to origin
    assert out.code == 0, out
    # c3 is really edited by hand
    edit = world.clone("c3")
    edit.commit({f"{PREFIX}/sql/V2__more.sql": "create table t2 (id bigint);\n"}, "by hand")
    edit.git("push", "-q", "origin", "HEAD:main")
    return world, origin, stale


def test_a_stale_parent_clone_is_told_apart_from_a_hand_edit(tmp_path, cli):
    world, origin, stale = _stale_world(tmp_path, cli)
    env, log = _fetch_log_env(tmp_path)
    out = cli("status", "--json", cwd=stale.path, env=env)
    assert out.code == 1, out
    doc = json.loads(out.stdout)
    got = {c["name"]: c for c in doc["children"]}
    assert got["c1"]["state"] == "ahead" and got["c1"]["changed_paths"] is None
    assert f"this parent clone's {BRANCH} ({stale.head(BRANCH)[:12]}) is behind origin/{BRANCH}" in got["c1"]["error"]
    assert f"git fetch origin {BRANCH}:{BRANCH}" in got["c1"]["error"] and "reset" not in got["c1"]["error"]
    assert got["c2"]["state"] == "in_sync"
    assert got["c3"]["state"] == "drifted" and got["c3"]["error"] is None
    assert len(log.read_text().splitlines()) == 1  # the parent's remote, fetched once for two drifted-looking children

    text = cli("status", cwd=stale.path)
    assert "is behind origin/" in text.stdout and text.code == 1

    before = world.refs()
    synced = cli("sync", "--json", cwd=stale.path)
    assert synced.code == 1
    results = {c["name"]: c for c in json.loads(synced.stdout)["children"]}
    assert results["c1"]["result"] == "failed" and "is behind origin/" in results["c1"]["error"]
    assert results["c3"]["result"] == "refused"
    reset = cli("reset", "--all", "--yes", "--json", cwd=stale.path)
    c1 = {c["name"]: c for c in json.loads(reset.stdout)["children"]}["c1"]
    assert c1["action"] == "none" and c1["backup"] is None and "is behind origin/" in c1["error"]
    assert world.children["c1"].head("main") == before["c1:refs/heads/main"]
    assert not [r for r in world.refs() if r.startswith("c1:") and "backup" in r]

    # Once the clone is brought up to date, c1 reads in sync.
    stale.git("fetch", "-q", "origin", f"{BRANCH}:{BRANCH}")
    assert states(json.loads(cli("status", "--json", cwd=stale.path).stdout))["c1"] == "in_sync"


def test_a_stale_fresh_clone_fetches_and_asks_to_run_again(tmp_path, cli):
    world, origin, stale = _stale_world(tmp_path, cli)
    stale.git("branch", "-D", BRANCH)  # only origin/ro-shared-ddl, as CI clones have
    out = cli("status", "--json", cwd=stale.path)
    c1 = {c["name"]: c for c in json.loads(out.stdout)["children"]}["c1"]
    assert c1["state"] == "ahead" and "has been fetched now: run again" in c1["error"]
    again = json.loads(cli("status", "--json", cwd=stale.path).stdout)
    assert states(again) == {"c1": "in_sync", "c2": "behind", "c3": "drifted"}


def test_no_fetch_of_the_parent_when_nothing_looks_drifted(tmp_path, cli):
    world, origin, _ = _behind_world(tmp_path)
    (world.parent.path / "cascade.toml").write_text(config_text(world))
    env, log = _fetch_log_env(tmp_path)
    assert cli("status", cwd=world.parent.path, env=env).code == 1
    assert cli("sync", cwd=world.parent.path, env=env).code == 0
    assert not log.exists()
