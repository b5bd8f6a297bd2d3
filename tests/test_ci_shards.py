"""`[ci] shards = N`: the deliver and drift workflows as a publish job, a matrix of N shard jobs and a merge job (and
GitLab's `parallel: N`). They pass actionlint, zizmor and the published schemas; their commands, run here as a
runner would (tests/test_ci_init.py `Actions`), publish once, deliver each shard, and merge; N is refused above what
the CI system runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cascade_world import PREFIX, make_world
from conftest import hold_to_schema
from test_ci_init import ACTIONLINT_DIR, BIN, GITHUB_CONFIG, PARENT_FILES, ROOT, Actions, generate, yaml_load

SHARDED = GITHUB_CONFIG + "\n[ci]\nshards = 4\n"


@pytest.fixture
def sharded_parent(make_repo):
    repo = make_repo("parent")
    (repo.path / "cascade.toml").write_text(SHARDED)
    return repo


def test_sharded_workflows_pass_the_linters_and_run_a_matrix(sharded_parent):
    from ddl_cascade.ci.pins import PINS

    generate(sharded_parent)
    generate(sharded_parent, gitlab=True)
    paths = [str(sharded_parent.path / p) for p in PARENT_FILES]
    lint = subprocess.run(["node", str(ROOT / "tests/actionlint.cjs"), str(ACTIONLINT_DIR), *paths],
                          capture_output=True, text=True)
    assert lint.returncode == 0 and json.loads(lint.stdout) == [], lint.stdout + lint.stderr
    zizmor = subprocess.run([str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-progress", *paths],
                            capture_output=True, text=True)
    assert zizmor.returncode == 0 and "No findings" in zizmor.stdout + zizmor.stderr, zizmor.stdout + zizmor.stderr
    for schema, files in (("vendor.github-workflows", paths), ("vendor.gitlab-ci", [str(sharded_parent.path /
                                                                                        ".gitlab-ci.yml")])):
        checked = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, *files],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr

    deliver = yaml_load((sharded_parent.path / PARENT_FILES[1]).read_text())
    assert list(deliver["jobs"]) == ["publish", "deliver", "merge"]
    publish, shards, merge = deliver["jobs"].values()
    assert publish["permissions"] == {"contents": "write"}
    assert publish["steps"][-1]["run"] == "ddl-cascade publish --push"
    assert shards["needs"] == "publish" and shards["permissions"] == {"contents": "read"}
    assert shards["strategy"] == {"fail-fast": False, "matrix": {"shard": [1, 2, 3, 4]}}
    run = next(s for s in shards["steps"] if s.get("name") == "Deliver")
    assert run["run"] == 'ddl-cascade full --shard "$SHARD/4" --json > "ddl-cascade-shard-$SHARD.json"'
    assert "--push" not in run["run"] and run["env"]["SHARD"] == "${{ matrix.shard }}"
    upload = shards["steps"][-1]
    assert upload["if"] == "always()" and upload["uses"] == PINS["upload-artifact"].uses().split(" #")[0]
    assert merge["needs"] == "deliver" and merge["if"] == "${{ !cancelled() }}" and merge["permissions"] == {}
    assert merge["steps"][-2]["uses"] == PINS["download-artifact"].uses().split(" #")[0]
    assert merge["steps"][-1]["run"] == "ddl-cascade report merge shards/*.json"

    drift = yaml_load((sharded_parent.path / PARENT_FILES[2]).read_text())
    assert list(drift["jobs"]) == ["drift", "merge"]
    status = next(s for s in drift["jobs"]["drift"]["steps"] if s.get("name") == "Status")
    assert status["run"] == 'ddl-cascade status --db --drift --json --shard "$SHARD/4" > "ddl-cascade-shard-$SHARD.json"'
    assert status["env"]["PGPASSWORD"] == "${{ secrets.PGPASSWORD }}"
    assert "report merge --json shards/*.json > ddl-cascade-status.json" in \
        next(s for s in drift["jobs"]["merge"]["steps"] if s.get("id") == "status")["run"]

    ci = yaml_load((sharded_parent.path / ".gitlab-ci.yml").read_text())
    assert ci["ddl-cascade-publish"]["script"][-1] == "ddl-cascade publish --push"
    assert ci["ddl-cascade-deliver"]["parallel"] == 4 and ci["ddl-cascade-deliver"]["needs"] == ["ddl-cascade-publish"]
    assert ci["ddl-cascade-deliver"]["script"] == [
        'ddl-cascade full --shard "$CI_NODE_INDEX/$CI_NODE_TOTAL" --json > "ddl-cascade-shard-$CI_NODE_INDEX.json"']
    assert ci["ddl-cascade-drift"]["parallel"] == 4 and ci["ddl-cascade-drift-merge"]["needs"] == ["ddl-cascade-drift"]
    assert ci["ddl-cascade-deliver-merge"]["script"] == ["ddl-cascade report merge ddl-cascade-shard-*.json"]
    # What sharding does not change is the same as in the unsharded pipeline.
    (sharded_parent.path / "cascade.toml").write_text(GITHUB_CONFIG)
    (sharded_parent.path / ".gitlab-ci.yml").unlink()
    generate(sharded_parent, gitlab=True)
    plain = yaml_load((sharded_parent.path / ".gitlab-ci.yml").read_text())
    for job in (".ddl-cascade", "ddl-cascade-validate"):
        assert ci[job] == plain[job], job


@pytest.mark.parametrize("value, command", [("257", "github"), ("0", "github"), ("true", "github"),
                                            ("201", "gitlab")])
def test_shards_beyond_what_the_ci_runs_are_refused(cli, make_repo, value, command):
    repo = make_repo("parent")
    (repo.path / "cascade.toml").write_text(GITHUB_CONFIG + f"\n[ci]\nshards = {value}\n")
    out = cli("ci", "init", command, cwd=repo.path)
    assert out.code == 2 and out.stderr.count("\n") == 1, out
    assert "shards" in out.stderr and "cascade.toml" in out.stderr and "Traceback" not in out.stderr
    assert not (repo.path / ".github").exists() and not (repo.path / ".gitlab-ci.yml").exists()


def test_one_shard_writes_the_unsharded_files(make_repo):
    plain, one = make_repo("plain"), make_repo("one")
    (plain.path / "cascade.toml").write_text(GITHUB_CONFIG)
    (one.path / "cascade.toml").write_text(GITHUB_CONFIG + "\n[ci]\nshards = 1\n")
    for repo in (plain, one):
        generate(repo)
        generate(repo, gitlab=True)
    for path in [*PARENT_FILES, ".gitlab-ci.yml"]:
        assert (one.path / path).read_text() == (plain.path / path).read_text(), path


def test_sharded_deliver_and_drift_run_publish_shards_and_merge(tmp_path, sharded_parent):
    (sharded_parent.path / "cascade.toml").write_text(SHARDED.replace("shards = 4", "shards = 2"))
    generate(sharded_parent)
    flows = {p.rsplit("-", 1)[1][:-4]: yaml_load((sharded_parent.path / p).read_text()) for p in PARENT_FILES}
    world = make_world(tmp_path / "world", {"c1": "squash", "c2": "merge", "c3": "squash"})
    origin = tmp_path / "world" / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(world.parent.path), str(origin)], check=True)
    world.parent.git("remote", "add", "origin", str(origin))
    world.config_path.write_text(world.config_path.read_text().replace("[source]\n", '[source]\nremote = "origin"\n'))
    world.parent.commit({"cascade.toml": world.config_path.read_text()}, "cascade.toml")
    world.parent.commit({"read-write-flyway-files/sql/V3__new.sql": "create table t3 (id int);\n"}, "V3")
    world.parent.git("push", "-q", "origin", "main")  # the push that runs the workflow

    def job(flow: str, name: str, shard: int | None, workspace: Path):
        where = tmp_path / f"{flow}-{name}-{shard}"
        where.mkdir()
        actions = Actions(where, workspace, {"ref": "refs/heads/main"})
        if shard is not None:
            actions.expressions["matrix.shard"] = str(shard)
        steps = dict(flows[flow]["jobs"][name])
        steps.pop("if", None)  # the merge job's `!cancelled()`: the jobs before it were not cancelled
        for step in steps["steps"]:
            if "run" in step:
                step["run"] = step["run"].replace("status --db --drift --json", "status --json")  # no database here
        return actions, actions.run(steps)

    def merge_dir(flow: str, runners: list[Path]) -> Path:
        """What download-artifact leaves: every shard's document in shards/."""
        where = tmp_path / f"{flow}-merge"
        (where / "shards").mkdir(parents=True)
        for k, runner in enumerate(runners, 1):
            shutil.copy(runner / f"ddl-cascade-shard-{k}.json", where / "shards")
        return where

    _, steps = job("deliver", "publish", None, world.parent.path)
    assert [(n, c) for n, c, _ in steps] == [("Git credentials from the environment", 0), ("Publish", 0)], steps
    published = world.parent.git("rev-parse", "ro-shared-ddl")
    runners = []
    for k in (1, 2):
        runner = tmp_path / f"runner-{k}"
        subprocess.run(["git", "clone", "-q", str(origin), str(runner)], check=True)
        _, steps = job("deliver", "deliver", k, runner)
        assert [(n, c) for n, c, _ in steps] == [("Git credentials from the environment", 0), ("Deliver", 0)], steps
        runners.append(runner)
    actions, steps = job("deliver", "merge", None, merge_dir("deliver", runners))
    assert [(n, c) for n, c, _ in steps] == [("Merge", 0)], steps
    assert "Merged from 2 shards, each ok." in steps[0][2] and "3 children: 3 updated" in steps[0][2]
    assert "ddl-cascade full" in actions.summary.read_text()
    tree = world.parent.git("rev-parse", f"{published}^{{tree}}")
    assert all(child.tree("main", PREFIX) == tree for child in world.children.values())

    runners = []
    for k in (1, 2):
        runner = tmp_path / f"drift-runner-{k}"
        subprocess.run(["git", "clone", "-q", str(origin), str(runner)], check=True)
        _, steps = job("drift", "drift", k, runner)
        assert [(n, c) for n, c, _ in steps] == [("Git credentials from the environment", 0), ("Status", 0)], steps
        runners.append(runner)
    where = merge_dir("drift", runners)
    actions, steps = job("drift", "merge", None, where)
    assert [(n, c) for n, c, _ in steps] == [("Merge", 0), ("Dashboard", 0)], steps
    page = (where / "ddl-cascade-dashboard" / "index.html").read_text()
    assert all(f'"{name}"' in page for name in world.children), "the dashboard of the merged status lists every child"
    assert actions.outputs()["exit-code"] == "0" and "all 3 children in sync" in actions.summary.read_text()
    merged = (where / "ddl-cascade-status.json").read_text()
    hold_to_schema(["status", "--json"], merged)
    assert [c["state"] for c in json.loads(merged)["children"]] == ["in_sync"] * 3
