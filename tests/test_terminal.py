"""Issue 9, "It reads well on a terminal and in CI logs": git's own reasons, the status and sync text, selections
that match nothing, and validate's --format."""

from __future__ import annotations

import json

import pytest
from cascade_world import make_world

from ddl_cascade import git

# --- 1. git's own reason is kept -------------------------------------------------------------------------------------

SSH_PERMISSION = ("git@example.invalid: Permission denied (publickey).\n"
                  "fatal: Could not read from remote repository.\n\n"
                  "Please make sure you have the correct access rights\nand the repository exists.\n")


def _fake_ssh(tmp_path, line: str):
    """A GIT_SSH_COMMAND that says `line` on stderr and exits 255, as ssh does when it cannot connect."""
    script = tmp_path / "fake-ssh"
    script.write_text(f"#!/bin/sh\necho '{line}' >&2\nexit 255\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("url, line", [
    ("git@example.invalid:acme/flyway-1-pipeline.git", "git@example.invalid: Permission denied (publickey)."),
    ("ssh://git@nowhere.invalid/acme/flyway-1-grants.git",
     "ssh: Could not resolve hostname nowhere.invalid: Name or service not known"),
])
def test_an_ssh_failure_shows_sshs_own_line(tmp_path, cli, url, line):
    world = make_world(tmp_path, {"a": "squash"})
    world.extra = [("far", url)]
    world.write_config()
    env = {"GIT_SSH_COMMAND": _fake_ssh(tmp_path, line)}
    out = cli("status", "--json", "--config", str(world.config_path), env=env)
    far = {c["name"]: c for c in json.loads(out.stdout)["children"]}["far"]
    assert far["state"] == "unreachable" and far["error"] == line
    text = cli("status", "--config", str(world.config_path), env=env)
    assert line in text.stdout
    synced = cli("sync", "--json", "--config", str(world.config_path), env=env)
    assert {c["name"]: c for c in json.loads(synced.stdout)["children"]}["far"]["error"] == line


def test_a_run_level_git_error_names_sshs_line_not_gits_generic_one(capsys):
    from ddl_cascade import errors

    exc = git.GitError(["push", "git@example.invalid:acme/parent.git"], 128, SSH_PERMISSION)
    assert errors.message(exc) == "git push failed: git@example.invalid: Permission denied (publickey)."


@pytest.mark.parametrize("stderr, telling", [
    (SSH_PERMISSION, "git@example.invalid: Permission denied (publickey)."),
    # a specific fatal line stays the reason, even with git's generic one after it
    ("fatal: '/nowhere/x.git' does not appear to be a git repository\n"
     "fatal: Could not read from remote repository.\n", "fatal: '/nowhere/x.git' does not appear to be a git repository"),
    ("hint: some hint\nfatal: unable to access 'https://host/r.git/': Could not resolve host: host\n",
     "fatal: unable to access 'https://host/r.git/': Could not resolve host: host"),
    # ssh's warnings and a remote's banner decoration are not the reason
    ("Warning: Permanently added 'example.invalid' (ED25519) to the list of known hosts.\r\n"
     "remote: \nremote: ========\nremote: The project you were looking for could not be found.\nremote: ========\n"
     "fatal: Could not read from remote repository.\n",
     "remote: The project you were looking for could not be found."),
    # a push git refused: its hints give advice that is wrong for this tool, and are never the reason
    ("To /srv/child.git\n ! [rejected]        HEAD -> main (fetch first)\n"
     "error: failed to push some refs to '/srv/child.git'\n"
     "hint: Updates were rejected because the remote contains work that you do\n"
     "hint: not have locally. This is usually caused by another repository pushing\n"
     "hint: (e.g., 'git pull ...') before pushing again.\n", "! [rejected]        HEAD -> main (fetch first)"),
    ("hint: Updates were rejected because the remote contains work that you do\n"
     "hint: (e.g., 'git pull ...') before pushing again.\n", ""),
    ("", ""),
])
def test_telling_line(stderr, telling):
    assert git.telling_line(stderr) == telling


def test_a_push_a_hook_rejects_keeps_the_hooks_words(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash", "guarded": "squash"})
    hook = world.children["guarded"].path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejecting: pushes to main need a review (JIRA-12)' >&2\n"
                    "echo 'ask #platform for an exception' >&2\nexit 1\n")
    hook.chmod(0o755)
    out = cli("sync", "--json", "--config", str(world.config_path))
    assert out.code == 1, out
    guarded = {c["name"]: c for c in json.loads(out.stdout)["children"]}["guarded"]
    assert guarded["result"] == "failed"
    assert guarded["error"] == ("refs/heads/main [remote rejected] (pre-receive hook declined): "
                                "rejecting: pushes to main need a review (JIRA-12) ask #platform for an exception")
    text = cli("sync", "--config", str(world.config_path))
    assert "rejecting: pushes to main need a review (JIRA-12)" in text.stdout
    assert "hint:" not in text.stdout + text.stderr and "git pull" not in text.stdout + text.stderr


# --- 3. a selection that matches nothing is a usage error ------------------------------------------------------------


@pytest.mark.parametrize("args, names", [
    (["status", "--tag", "nightly"], "the tag 'nightly'"),
    (["sync", "--tag", "nightly"], "the tag 'nightly'"),
    (["sync", "--dry-run", "--tag", "nightly"], "the tag 'nightly'"),
    (["full", "--tag", "nightly"], "the tag 'nightly'"),
    (["status", "a", "--tag", "nightly"], "no child of the named children carries the tag 'nightly'"),
    (["status", "typo"], "no child named 'typo'"),
    (["sync", "typo"], "no child named 'typo'"),
    (["full", "typo"], "no child named 'typo'"),
    (["reset", "typo", "--yes"], "no child named 'typo'"),
])
def test_a_tag_or_name_matching_nothing_is_a_usage_error(tmp_path, cli, args, names):
    world = make_world(tmp_path, {"a": "squash", "b": "squash"})
    before = world.refs()
    for extra in ([], ["--json"]):
        out = cli(*args, *extra, "--config", str(world.config_path))
        assert out.code == 2, out
        assert out.stdout == ""
        assert names in out.stderr and str(world.config_path) in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "in sync" not in out.stderr
    assert world.refs() == before  # full did not publish either

