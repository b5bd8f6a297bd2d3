"""Shards (`--shard K/N`) and `report merge`: the partition, the option's errors, a shard's `full` (checks the
published delivery branch, fetches it, never pushes), the merge's refusals, and four shards run in four clones of the
parent against the same children, merged, equal to the unsharded run."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cascade_world import PREFIX, SOURCE, make_world
from conftest import hold_to_schema
from gitrepo import Repo

from ddl_cascade import config as config_module
from ddl_cascade.cascade.shards import Shard, shard_of

DELIVERY = "ro-shared-ddl"


# ---------------------------------------------------------------------------------------------------------------------
# The partition


def test_every_child_falls_in_exactly_one_shard_and_the_shards_are_even():
    names = [f"team-{i}/flyway" for i in range(1600)]
    for count in (1, 2, 7, 16):
        of = {n: shard_of(n, count) for n in names}
        assert set(of.values()) <= set(range(1, count + 1))
        sizes = [list(of.values()).count(k) for k in range(1, count + 1)]
        # roughly even: within a third of the mean (the hash is fixed, so this cannot flake)
        assert all(abs(size - len(names) / count) <= len(names) / count / 3 for size in sizes), (count, sizes)
    few = names[:40]
    shards = [Shard(k, 4).select(few, name=str) for k in range(1, 5)]
    assert sorted(n for shard in shards for n in shard) == sorted(few)  # each once, none lost, order kept
    assert all(shard == [n for n in few if n in shard] for shard in shards)
    assert Shard(1, 1).select(names, name=str) == names  # 1/1 is the unsharded selection, in its order


def test_a_childs_shard_depends_on_its_name_alone():
    names = [f"svc-{i}" for i in range(1000)]
    before = {n: shard_of(n, 8) for n in names}
    grown = names[:500] + [f"new-{i}" for i in range(100)] + names[500:]  # added in the middle
    for changed in (grown, names[::2], list(reversed(names))):  # added, half removed, reordered
        shards = [set(Shard(k, 8).select(changed, name=str)) for k in range(1, 9)]
        assert all(before[n] == k for k in range(1, 9) for n in shards[k - 1] if n in before)
    # Going from 8 to 9 shards moves about 1/9 of the children, each of them to the new shard.
    moved = [n for n in names if shard_of(n, 9) != before[n]]
    assert 0.08 < len(moved) / len(names) < 0.15
    assert {shard_of(n, 9) for n in moved} == {9}


@pytest.mark.parametrize("value", ["0/4", "5/4", "2/0", "3", "a/b"])
def test_a_bad_shard_is_one_sentence_and_exit_2(tmp_path, cli, value):
    out = cli("status", "--shard", value, cwd=tmp_path)
    assert out.code == 2, out
    assert out.stderr.count("\n") == 1 and "--shard" in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_every_sharded_command_checks_the_option(tmp_path, cli):
    for args in (["sync"], ["reset", "--all"], ["full"]):
        out = cli(*args, "--shard", "4/3", cwd=tmp_path)
        assert out.code == 2 and "--shard '4/3'" in out.stderr and "Traceback" not in out.stderr, (args, out)


# ---------------------------------------------------------------------------------------------------------------------
# A parent with an origin, and clones of it (the runners of a matrix)


def sharded_world(root: Path, names: list[str]):
    """make_world's parent and bare children, the parent with an `origin` (bare) that has cascade.toml committed."""
    world = make_world(root, {n: "merge" if i % 2 else "squash" for i, n in enumerate(names)})
    origin = root / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(world.parent.path), str(origin)], check=True)
    world.parent.git("remote", "add", "origin", str(origin))
    text = world.config_path.read_text().replace("[source]\n", '[source]\nremote = "origin"\n')
    world.config_path.write_text(text)
    world.parent.commit({"cascade.toml": text}, "cascade.toml")
    world.parent.git("push", "-q", "origin", "main")
    return world, origin


def clone(origin: Path, where: Path) -> Repo:
    subprocess.run(["git", "clone", "-q", str(origin), str(where)], check=True)
    return Repo(where)


def git_out(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


def without_shards(doc: dict) -> dict:
    """The document without the shard list and the time it was read (runs at different moments)."""
    return {k: v for k, v in doc.items() if k not in ("shards", "generated_at")}


# ---------------------------------------------------------------------------------------------------------------------
# Four shards in four clones, merged = the unsharded run


def document(report) -> dict:
    """The --json document of a run made in-process, held to its command's schema as the CLI's are (conftest)."""
    from ddl_cascade.cascade.results import FullReport, StatusReport
    from ddl_cascade.render.json import dumps

    text = dumps(report)
    hold_to_schema(["full" if isinstance(report, FullReport) else "status" if isinstance(report, StatusReport)
                    else "sync", "--json"], text)
    return json.loads(text)


@pytest.mark.slow
def test_four_shards_in_four_clones_merge_into_the_unsharded_run(tmp_path, cli):
    from ddl_cascade.cascade.commands import status, sync

    names = [f"svc-{i:02d}" for i in range(8)]
    assert {shard_of(n, 4) for n in names} == {1, 2, 3, 4}  # no shard is empty here
    world, origin = sharded_world(tmp_path, names)
    cfg = config_module.load(world.config_path)
    runners = [clone(origin, tmp_path / f"runner-{k}") for k in range(1, 5)]

    def sharded(command: str) -> tuple[list[int], list[str]]:
        """Each runner runs its shard (at once, as a matrix does); the paths of the documents."""
        def one(k: int) -> int:
            out = cli(command, "--shard", f"{k}/4", "--json", cwd=runners[k - 1].path)
            (tmp_path / f"{command}-{k}.json").write_text(out.stdout)
            return out.code
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(one, range(1, 5)))
        return codes, [str(tmp_path / f"{command}-{k}.json") for k in range(1, 5)]

    # sync: the merged report is the unsharded plan, done. Commit ids carry the time, so ids and the subjects that
    # quote them (`Merge commit '<squash id>'`) are left out.
    plan = document(sync(cfg, dry_run=True))
    codes, files = sharded("sync")
    assert codes == [0, 0, 0, 0]
    out = cli("report", "merge", "--json", *files)
    assert out.code == 0, out
    done = json.loads(out.stdout)

    def shape(report: dict) -> list:
        return [(c["name"], c["result"], c["state"], c["action"], c["target"], c["old"], c["behind_by"],
                 [(n["kind"], None if n["kind"] == "merge" else n["subject"]) for n in c["commits"]])
                for c in report["children"]]
    assert shape(done) == shape(plan) and [c["result"] for c in done["children"]] == ["updated"] * 8
    assert done["dry_run"] is False and done["ok"] is True and done["shard"] is None
    tree = world.parent.git("rev-parse", f"{DELIVERY}^{{tree}}")
    assert all(child.tree("main", PREFIX) == tree for child in world.children.values())

    # status after: each shard holds its part, and the merge equals the unsharded status exactly
    unsharded = document(status(cfg))
    codes, files = sharded("status")
    assert codes == [0, 0, 0, 0]
    parts = [json.loads(Path(f).read_text()) for f in files]
    assert [p["shard"]["index"] for p in parts] == [1, 2, 3, 4]
    assert sorted(c["name"] for p in parts for c in p["children"]) == names
    out = cli("report", "merge", "--json", *files)
    assert out.code == 0, out
    doc = json.loads(out.stdout)
    assert unsharded["shard"] is None and unsharded["shards"] is None
    assert without_shards(doc) == without_shards(unsharded)
    assert doc["generated_at"] == min(p["generated_at"] for p in parts)
    assert doc["shards"] == [{"index": k, "count": 4, "ok": True, "children": [shard_of(n, 4) for n in names].count(k)}
                             for k in range(1, 5)]

    text = cli("status", "--shard", "4/4", cwd=runners[3].path)  # the text says which shard ran
    assert "Shard 4/4: 2 of 8 children." in text.stdout and "svc-06" in text.stdout and "svc-00" not in text.stdout


# ---------------------------------------------------------------------------------------------------------------------
# report merge refuses what no run said


def test_report_merge_refuses_missing_duplicated_and_mismatched_shards(tmp_path, cli):
    from ddl_cascade.cascade import commands
    from ddl_cascade.cascade.merge import merge
    from ddl_cascade.errors import CascadeError

    names = ["a", "b", "c", "d", "e", "f"]  # shards of 3: a-d in 3, e in 2, f in 1
    world, _ = sharded_world(tmp_path, names)
    cfg = config_module.load(world.config_path)

    def doc(name: str, report) -> Path:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document(report)))
        return path

    s1, s2, s3 = (doc(f"status-{k}", commands.status(cfg, shard=Shard(k, 3))) for k in (1, 2, 3))
    assert json.loads(s3.read_text())["shard"]["positions"] == [0, 1, 2, 3]

    # On the command line: one sentence naming the files, exit 2.
    for paths, says in (([s1, s3], ["shard 2/3 missing", str(s1), str(s3)]),
                        ([s1, s2, s2, s3], [f"{s2}, {s2} are all shard 2/3"])):
        out = cli("report", "merge", *map(str, paths))
        assert out.code == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out
        assert all(word in out.stderr for word in says), (says, out.stderr)

    def refused(*paths: Path) -> str:
        with pytest.raises(CascadeError) as caught:
            merge(list(paths), 1)
        return str(caught.value)

    assert "shard 1/3" in refused(s1, doc("status-2of2", commands.status(cfg, shard=Shard(2, 2))), s3)
    dry = doc("sync-2", commands.sync(cfg, dry_run=True, shard=Shard(2, 3)))
    assert f"{s1} is a status document but {dry} is a sync document" in refused(s1, dry, s3)
    assert "not the document of a run with --shard K/N" in refused(s1, s2, s3, doc("status", commands.status(cfg)))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert f"{bad} is not a JSON document" in refused(s1, s2, bad)
    edited = json.loads(s2.read_text())
    edited["delivery_tip"] = "0" * 40
    assert "0" * 40 in refused(s1, _write(tmp_path / "edited.json", edited), s3)
    other = doc("other", commands.status(cfg, ["e", "f"], shard=Shard(2, 3)))  # another selection, cut alike
    assert "different selections" in refused(s1, other, s3)

    # N=1: one shard is the whole run
    one = merge([doc("status-1of1", commands.status(cfg, shard=Shard(1, 1)))], 1)
    assert without_shards(document(one.report)) == without_shards(document(commands.status(cfg)))

    # reset --all --shard K/N: shard K of all children; the merge of a reset is a reset
    resets = [doc(f"reset-{k}", commands.reset(cfg, shard=Shard(k, 3))) for k in (1, 2, 3)]
    assert [c["name"] for c in json.loads(resets[1].read_text())["children"]] == ["e"]
    joined = merge(resets, 1)
    assert joined.command == "reset" and [c.name for c in joined.report.children] == names
    assert joined.report.dry_run is True and f"{resets[0]} is a reset document" in refused(resets[0], s2, s3)

    # a failed shard fails the merge (exit 1); the text says which
    done = [doc(f"sync-{k}", commands.sync(cfg, shard=Shard(k, 3))) for k in (1, 2, 3)]
    out = cli("report", "merge", *map(str, done))
    assert out.code == 0 and "Merged from 3 shards, each ok." in out.stdout and "6 children: 6 updated" in out.stdout
    broken = json.loads(done[1].read_text())
    broken["ok"] = False
    done[1].write_text(json.dumps(broken))
    out = cli("report", "merge", *map(str, done))
    assert out.code == 1 and "not ok: 2/3" in out.stdout, out


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------------------------------------------------------------
# full --shard: publishes only to check, fetches the published commit, never pushes


def test_full_of_a_shard_checks_the_published_branch_fetches_it_and_pushes_nothing(tmp_path, cli):
    from ddl_cascade.cascade.publish import publish

    world, origin = sharded_world(tmp_path, ["a", "b", "c"])  # shards of 2: a, b in 2; c in 1
    runner = clone(origin, tmp_path / "runner")
    # The job before the matrix: a new migration, published and pushed.
    world.parent.commit({f"{SOURCE}/sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    published = publish(config_module.load(world.config_path), push=True).new
    world.parent.git("push", "-q", "origin", "main")
    assert git_out(origin, "rev-parse", DELIVERY).stdout.strip() == published
    # The runner checks out the commit it was published from, and has not seen the delivery branch since.
    runner.git("fetch", "-q", "origin", "main")
    runner.git("reset", "-q", "--hard", "origin/main")
    assert git_out(runner.path, "cat-file", "-e", published).returncode != 0
    # From here, origin refuses any push and records the attempt.
    hook = origin / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\ntouch "$GIT_DIR/push-attempted"\nexit 1\n')
    hook.chmod(0o755)
    before = world.refs()

    out = cli("full", "--shard", "2/2", "--json", cwd=runner.path)
    assert out.code == 0, out
    doc = json.loads(out.stdout)
    assert doc["publish"]["new"] == published and doc["publish"]["pushed_to"] is None
    assert doc["shard"]["index"] == 2 and doc["shard"]["command"] == "full" and doc["sync"]["shard"] == doc["shard"]
    assert [(c["name"], c["result"]) for c in doc["sync"]["children"]] == [("a", "updated"), ("b", "updated")]
    assert not (origin / "push-attempted").exists()
    assert runner.git("rev-parse", f"refs/remotes/origin/{DELIVERY}").strip() == published  # fetched
    tree = world.parent.git("rev-parse", f"{published}^{{tree}}")
    assert world.children["a"].tree("main", PREFIX) == tree and world.children["b"].tree("main", PREFIX) == tree
    assert {k: v for k, v in world.refs().items() if k.startswith("c:")} == \
        {k: v for k, v in before.items() if k.startswith("c:")}  # shard 1's child is not this job's

    text = cli("full", "--shard", "1/2", cwd=runner.path)
    assert text.code == 0 and "checked, not pushed" in text.stdout and "Shard 1/2: 1 of 3 children." in text.stdout
    (tmp_path / "full-2.json").write_text(out.stdout)
    again = cli("full", "--shard", "1/2", "--json", cwd=runner.path)  # a no-op now
    (tmp_path / "full-1.json").write_text(again.stdout)
    files = [str(tmp_path / "full-1.json"), str(tmp_path / "full-2.json")]
    merged = cli("report", "merge", "--json", *files)
    assert merged.code == 0, merged
    whole = json.loads(merged.stdout)
    assert whole["publish"]["new"] == published and whole["shard"] is None and whole["sync"]["shard"] is None
    assert [(c["name"], c["result"]) for c in whole["sync"]["children"]] == [
        ("a", "updated"), ("b", "updated"), ("c", "unchanged")]
    text = cli("report", "merge", *files)
    assert text.code == 0 and "Merged from 2 shards, each ok." in text.stdout and "up to date" in text.stdout

    # The publish job moved on (V4) but this runner is still at V3: its split disagrees, and it delivers nothing.
    world.parent.commit({f"{SOURCE}/sql/V4__fourth.sql": "create table t4 (id int);\n"}, "V4")
    hook.unlink()
    newer = publish(config_module.load(world.config_path), push=True).new
    hook.write_text('#!/bin/sh\ntouch "$GIT_DIR/push-attempted"\nexit 1\n')
    hook.chmod(0o755)
    before = world.refs()
    out = cli("full", "--shard", "2/2", cwd=runner.path)
    assert out.code == 2 and out.stderr.count("\n") == 1, out
    assert newer[:12] in out.stderr and published[:12] in out.stderr and "nothing was delivered" in out.stderr
    assert {k: v for k, v in world.refs().items() if not k.startswith("parent:")} == \
        {k: v for k, v in before.items() if not k.startswith("parent:")}
    assert not (origin / "push-attempted").exists()

    out = cli("full", "--shard", "1/2", "--push", cwd=runner.path)
    assert out.code == 2 and "drop --push" in out.stderr, out


def test_full_of_a_shard_refuses_without_a_published_branch(tmp_path):
    from ddl_cascade.cascade.commands import full
    from ddl_cascade.errors import CascadeError

    world, origin = sharded_world(tmp_path, ["a"])
    subprocess.run(["git", "--git-dir", str(origin), "branch", "-q", "-D", DELIVERY], check=True)
    before = world.refs()
    with pytest.raises(CascadeError, match=f"'origin' has no delivery branch '{DELIVERY}' yet: run "
                                           "`ddl-cascade publish --push` before the shards"):
        full(config_module.load(world.config_path), shard=Shard(1, 1))
    assert world.refs() == before  # nothing published, nothing delivered
