"""`ddl-cascade publish` end to end, through the installed CLI, on real repositories."""

from __future__ import annotations

import json
import subprocess

import pytest

SOURCE = "read-write-flyway-files"


def sh(cwd, *args: str) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def parent(make_repo):
    repo = make_repo("parent")
    repo.write({"cascade.toml": f'[source]\npath = "{SOURCE}"\nremote = "origin"\n'})
    repo.commit({f"{SOURCE}/sql/V1__one.sql": "create table one (id int);\n"}, "V1")
    repo.commit({"app.txt": "outside the folder"}, "app")
    repo.commit({f"{SOURCE}/sql/V2__two.sql": "create table two (id int);\n"}, "V2")
    return repo


def subtree_split(repo) -> str:
    return sh(repo.path, "git", "subtree", "split", "-q", f"--prefix={SOURCE}", "main")


def test_publish_creates_the_delivery_branch_with_git_subtree_ids(parent, cli):
    result = cli("publish", cwd=parent.path)
    assert result.code == 0, result
    tip = parent.head("ro-shared-ddl")
    assert tip == subtree_split(parent)
    assert f"ro-shared-ddl: (new)..{tip[:12]} (2 commits added)" in result.stdout


def test_json_shape_and_rerun_is_a_no_op(parent, cli):
    first = json.loads(cli("publish", "--json", cwd=parent.path).stdout)
    assert set(first) == {"schema_version", "delivery_branch", "old", "new", "added", "pushed_to"}
    assert (first["delivery_branch"], first["old"], first["added"]) == ("ro-shared-ddl", None, 2)
    again = cli("publish", "--json", cwd=parent.path)
    assert again.code == 0
    assert json.loads(again.stdout) == {"schema_version": 1, "delivery_branch": "ro-shared-ddl", "old": first["new"],
                                        "new": first["new"], "added": 0, "pushed_to": None}
    parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3")
    third = json.loads(cli("publish", "--json", cwd=parent.path).stdout)
    assert (third["old"], third["added"]) == (first["new"], 1)
    assert third["new"] == subtree_split(parent)


def test_push_fast_forward_and_force(parent, make_repo, cli):
    remote = make_repo("remote.git", bare=True)
    parent.git("remote", "add", "origin", str(remote.path))
    assert cli("publish", "--push", cwd=parent.path).code == 0
    assert remote.head("refs/heads/ro-shared-ddl") == parent.head("ro-shared-ddl")

    # Someone rewrites the remote delivery branch: a plain push must refuse, --force must win.
    other = remote.git("commit-tree", remote.git("rev-parse", "ro-shared-ddl^{tree}"), "-m", "rewritten")
    remote.git("update-ref", "refs/heads/ro-shared-ddl", other)
    parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3")
    refused = cli("publish", "--push", cwd=parent.path)
    assert refused.code == 2 and "pushing ro-shared-ddl" in refused.stderr
    assert remote.head("refs/heads/ro-shared-ddl") == other
    assert cli("publish", "--push", "--force", cwd=parent.path).code == 0
    assert remote.head("refs/heads/ro-shared-ddl") == parent.head("ro-shared-ddl")


def test_push_without_remote_is_a_config_error(make_repo, cli):
    repo = make_repo("noremote")
    repo.write({"cascade.toml": f'[source]\npath = "{SOURCE}"\n'})
    repo.commit({f"{SOURCE}/a.sql": "x"}, "one")
    result = cli("publish", "--push", cwd=repo.path)
    assert result.code == 2 and "source.remote" in result.stderr
    assert repo.git("rev-parse", "--verify", "--quiet", "ro-shared-ddl", check=False) == ""


def test_rewritten_delivery_branch_needs_force(parent, cli):
    assert cli("publish", cwd=parent.path).code == 0
    stray = parent.git("commit-tree", parent.git("rev-parse", "ro-shared-ddl^{tree}"), "-m", "stray")
    parent.git("update-ref", "refs/heads/ro-shared-ddl", stray)
    parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3")
    refused = cli("publish", cwd=parent.path)
    assert refused.code == 2
    assert "not an ancestor" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert parent.head("ro-shared-ddl") == stray  # nothing changed
    forced = cli("publish", "--force", "--json", cwd=parent.path)
    assert forced.code == 0
    assert json.loads(forced.stdout)["new"] == parent.head("ro-shared-ddl") == subtree_split(parent)


def test_missing_branch(parent, cli):
    parent.write({"cascade.toml": f'[source]\npath = "{SOURCE}"\nbranch = "nope"\n'})
    result = cli("publish", cwd=parent.path)
    assert result.code == 2 and "source.branch 'nope'" in result.stderr


def test_path_that_never_existed(parent, cli):
    parent.write({"cascade.toml": '[source]\npath = "no-such-folder"\n'})
    result = cli("publish", cwd=parent.path)
    assert result.code == 2 and "never existed" in result.stderr
    assert parent.git("rev-parse", "--verify", "--quiet", "ro-shared-ddl", check=False) == ""


def test_not_a_git_repository(tmp_path, cli):
    (tmp_path / "cascade.toml").write_text(f'[source]\npath = "{SOURCE}"\n')
    result = cli("publish", "--config", str(tmp_path / "cascade.toml"), cwd=tmp_path)
    assert result.code == 2 and "not a git repository" in result.stderr
    assert "Traceback" not in result.stderr


def typer_cli(cwd, *args: str) -> subprocess.CompletedProcess:
    """The same command through the Typer app, bypassing the fast path of `ddl_cascade.entry`."""
    import sys

    code = "import sys; from ddl_cascade.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("args", [["publish"], ["publish", "--json"], ["publish", "--push"]])
def test_fast_path_and_typer_command_agree(parent, cli, args):
    assert cli("publish", cwd=parent.path).code == 0  # both runs below are then no-ops or the same error
    fast = cli(*args, cwd=parent.path)
    slow = typer_cli(parent.path, *args)
    assert (fast.code, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)


def test_help_and_unknown_options_go_to_typer(parent, cli):
    shown = cli("publish", "--help", cwd=parent.path)
    assert shown.code == 0 and "--push" in shown.stdout
    bad = cli("publish", "--no-such-option", cwd=parent.path)
    assert bad.code == 2 and "No such option" in bad.stderr


def test_recomputed_split_still_refuses_a_rewritten_delivery_branch(parent, cli):
    """A full recompute creates every split commit again; that must not pass for a fast-forward."""
    import shutil

    assert cli("publish", cwd=parent.path).code == 0
    stray = parent.git("commit-tree", parent.git("rev-parse", "ro-shared-ddl^{tree}"), "-m", "stray")
    parent.git("update-ref", "refs/heads/ro-shared-ddl", stray)
    shutil.rmtree(parent.path / ".git" / "ddl-cascade" / "split")
    parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3")
    refused = cli("publish", cwd=parent.path)
    assert refused.code == 2 and "not an ancestor" in refused.stderr
    assert parent.head("ro-shared-ddl") == stray


def test_added_counts_merged_history(parent, cli):
    assert cli("publish", cwd=parent.path).code == 0
    parent.git("checkout", "-q", "-b", "feature")
    parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3 on a branch")
    parent.commit({f"{SOURCE}/sql/V4__four.sql": "select 4;\n"}, "V4 on a branch")
    parent.git("checkout", "-q", "main")
    parent.commit({f"{SOURCE}/sql/V5__five.sql": "select 5;\n"}, "V5 on main")
    parent.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    result = json.loads(cli("publish", "--json", cwd=parent.path).stdout)
    expected = int(parent.git("rev-list", "--count", f"{result['old']}..{result['new']}"))
    assert result["added"] == expected == 4
    assert result["new"] == subtree_split(parent)


def test_shallow_clone_is_refused(parent, tmp_path, cli):
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{parent.path}", str(clone)], check=True)
    result = cli("publish", cwd=clone)
    assert result.code == 2 and "shallow" in result.stderr
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "ro-shared-ddl"], cwd=clone).returncode != 0


def test_fresh_clone_continues_from_the_remote_delivery_branch(parent, make_repo, tmp_path, cli):
    """In CI the clone has only origin/ro-shared-ddl: publish counts from it and still refuses a rewrite."""
    remote = make_repo("remote.git", bare=True)
    parent.git("remote", "add", "origin", str(remote.path))
    parent.git("push", "-q", "origin", "main")
    assert cli("publish", "--push", cwd=parent.path).code == 0
    published = parent.head("ro-shared-ddl")
    parent.commit({f"{SOURCE}/sql/V3__three.sql": "select 3;\n"}, "V3")
    parent.git("push", "-q", "origin", "main")

    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(remote.path), str(clone)], check=True)
    result = cli("publish", "--json", "--push", cwd=clone)
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert (data["old"], data["added"]) == (published, 1)
    assert remote.head("refs/heads/ro-shared-ddl") == data["new"] == subtree_split(parent)
