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


def test_no_children_configured_says_so_and_exits_0(tmp_path, cli):
    world = make_world(tmp_path, {})
    for command in ("status", "sync"):
        out = cli(command, "--config", str(world.config_path))
        assert out.code == 0, out
        assert "no children configured" in out.stdout.lower() and "0 children" not in out.stdout
        doc = cli(command, "--json", "--config", str(world.config_path))
        assert doc.code == 0 and json.loads(doc.stdout)["children"] == []


# --- 2. status and sync text -----------------------------------------------------------------------------------------

UNREACHABLE = "https://x-access-token:s3cret@127.0.0.1:9/gone.git"
LONG_PATH = "read-only-flyway-files/sql/" + "very_long_directory_name_" * 4 + "/V9__a_migration_with_a_long_name.sql"


def _every_state(tmp_path):
    """world_in_every_state, in cascade.toml order synced, behind, drifted, fresh, gone; drifted also holds a file
    whose path is longer than any terminal line."""
    from cascade_world import world_in_every_state

    world = world_in_every_state(tmp_path, UNREACHABLE)
    clone = world.clone("drifted", "drifted-again")
    clone.commit({LONG_PATH: "select 1;\n"}, "a long path")
    clone.git("push", "-q", "origin", "HEAD:main")
    return world


def _rows(stdout: str, names: list[str]) -> list[str]:
    """The names of the child rows, in the order printed."""
    order = []
    for line in stdout.splitlines():
        words = line.split()
        if words and words[0] in names and words[0] not in order:
            order.append(words[0])
    return order


def _plain_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    assert all(line == line.rstrip() for line in lines), [line for line in lines if line != line.rstrip()]
    assert "\x1b[" not in stdout
    return lines


def test_status_text_problems_first_counts_and_what_to_do(tmp_path, cli):
    world = _every_state(tmp_path)
    names = ["synced", "behind", "drifted", "fresh", "gone"]
    out = cli("status", "--config", str(world.config_path), env={"COLUMNS": "40"})  # piped: never wrapped
    assert out.code == 1, out
    lines = _plain_lines(out.stdout)
    assert _rows(out.stdout, names) == ["gone", "drifted", "behind", "fresh", "synced"]
    assert lines[-1] == "5 children: 1 in_sync, 1 behind, 1 drifted, 1 not_added, 1 unreachable; 4 not in sync."
    drifted = next(line for line in lines if line.startswith("drifted "))
    assert "2 changed paths" in drifted and "ddl-cascade reset drifted --yes" in drifted
    assert any(line.strip() == LONG_PATH for line in lines)  # one path, one line, whole
    behind = next(line for line in lines if line.startswith("behind "))
    assert behind.endswith("1 delivery commit behind")
    gone = next(line for line in lines if line.startswith("gone "))
    assert "127.0.0.1" in gone and "s3cret" not in out.stdout


def test_sync_text_problems_first_and_counts(tmp_path, cli):
    world = _every_state(tmp_path)
    names = ["synced", "behind", "drifted", "fresh", "gone"]
    plan = cli("sync", "--dry-run", "--config", str(world.config_path), env={"COLUMNS": "40"})
    assert _rows(plan.stdout, names) == ["gone", "drifted", "behind", "fresh", "synced"]
    assert _plain_lines(plan.stdout)[-1] == "5 children would be: 2 updated, 1 unchanged, 1 refused, 1 failed"
    out = cli("sync", "--config", str(world.config_path), env={"COLUMNS": "40"})
    assert out.code == 1, out
    lines = _plain_lines(out.stdout)
    assert _rows(out.stdout, names) == ["gone", "drifted", "behind", "fresh", "synced"]
    assert lines[-1] == "5 children: 2 updated, 1 unchanged, 1 refused, 1 failed"
    assert any(line.strip() == f"changed: {LONG_PATH}" for line in lines)
    assert any(line.strip() == "to restore the delivered tree: ddl-cascade reset drifted --yes" for line in lines)


def test_singular_and_plural(tmp_path, cli):
    from ddl_cascade.cascade.commands import sync

    world = make_world(tmp_path, {"only": "merge"})
    assert sync(world.config()).ok
    world.deliver({"sql/V3__three.sql": "select 3;\n"}, "V3")
    one = cli("status", "--config", str(world.config_path))
    assert "1 delivery commit behind" in one.stdout and "commit(s)" not in one.stdout
    assert one.stdout.splitlines()[-1] == "1 child: 1 behind; 1 not in sync."
    world.deliver({"sql/V4__four.sql": "select 4;\n"}, "V4")
    two = cli("status", "--config", str(world.config_path))
    assert "2 delivery commits behind" in two.stdout
    synced = cli("sync", "--config", str(world.config_path))
    assert synced.stdout.splitlines()[-1] == "1 child: 1 updated"


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal; what it wrote there."""
    import os
    import pty
    import subprocess
    import sys

    main, secondary = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update({"TERM": "xterm-256color", "COLUMNS": "60", **env})
    proc = subprocess.Popen([sys.executable, "-m", "ddl_cascade", *args], stdout=secondary, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=full_env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait()
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_colour_on_a_terminal_only_no_color_wins_force_color_forces(tmp_path, cli):
    world = _every_state(tmp_path)
    args = ["status", "--config", str(world.config_path)]
    tty = _on_a_terminal(args, {})
    assert "\x1b[31m" in tty and "\x1b[32m" in tty  # drifted red, in_sync green
    assert any(line.strip() == LONG_PATH for line in tty.splitlines())  # not folded on a terminal either
    assert "\x1b[" not in _on_a_terminal(args, {"NO_COLOR": "1"})
    assert "\x1b[" not in _on_a_terminal(args, {"TERM": "dumb"})
    assert "\x1b[" not in cli(*args, env={"NO_COLOR": ""}).stdout  # piped
    assert "\x1b[31m" in cli(*args, env={"NO_COLOR": "", "FORCE_COLOR": "1"}).stdout  # a CI log that shows colour
    assert "\x1b[" not in cli(*args, env={"NO_COLOR": "1", "FORCE_COLOR": "1"}).stdout


# --- 4. validate's --format ------------------------------------------------------------------------------------------


def _parent(make_repo):
    repo = make_repo("parent")
    repo.write({"cascade.toml": '[source]\npath = "read-write-flyway-files"\n',
                "read-write-flyway-files/sql/V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n"})
    return repo


def test_format_is_case_insensitive(make_repo, cli):
    repo = _parent(make_repo)
    sarif = cli("validate", "--format", "SARIF", cwd=repo.path)
    assert sarif.code == 0, sarif
    assert json.loads(sarif.stdout)["version"] == "2.1.0"
    doc = cli("validate", "--format=Json", cwd=repo.path)
    assert doc.code == 0 and json.loads(doc.stdout)["findings"] == []
    assert cli("validate", "--format", "GitHub", cwd=repo.path).code == 0


@pytest.mark.parametrize("args", [["--json", "--format", "sarif"], ["--format", "json", "--json"],
                                  ["--json", "--format=text"]])
def test_json_with_format_is_a_usage_error(make_repo, cli, args):
    repo = _parent(make_repo)
    out = cli("validate", *args, cwd=repo.path)
    assert out.code == 2, out
    assert out.stdout == "" and "--json" in out.stderr and "--format" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
