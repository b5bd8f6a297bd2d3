"""Pull-request delivery against the local forge (tests/localforge.py), whose every request is held to GitHub's
OpenAPI description: first pull request, no-op, update, closed, merged by each method then `in_sync`, a failing
child among others, rate-limit answers, an App token renewed, and a token that appears in no output, argv or file.
The CLI runs as a user runs it (`python -m ddl_cascade`), with real git over smart HTTP to the forge."""

from __future__ import annotations

import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest

from cascade_world import PREFIX, World, make_world

TOKEN = "ghp_pullrequestdeliverytoken0000000000"
OWNER = "acme"


class Setup:
    """A parent whose children live on `forge` (the local GitHub, or the local GitLab of
    tests/test_pull_requests_gitlab.py: both offer create_repo, git_url, add_token and pulls) under `owner`."""

    def __init__(self, root: Path, forge, names: tuple[str, ...] = ("billing", "orders"), extra: str = "",
                 forge_table: str | None = None, token: str = TOKEN, owner: str = OWNER) -> None:
        self.forge = forge
        self.owner = owner
        self.world: World = make_world(root, children={})
        self.names = names
        forge.add_token(token)
        for name in names:
            forge.create_repo(owner, name, files={"README.md": f"# {name}\n"})
        self.env = {"DDLC_FORGE_TOKEN": token}
        table = forge_table if forge_table is not None else \
            f'[forge]\nkind = "github"\napi_url = "{forge.api_url}"\ntoken_env = "DDLC_FORGE_TOKEN"\n' \
            f'writes_per_second = 50\n'
        text = f'[source]\npath = "read-write-flyway-files"\n\n{table}\n[defaults]\ndelivery = "pull-request"\n\n' \
               '[defaults.pull_request]\nlabels = ["shared-ddl"]\nreviewers = ["dba"]\n' + extra
        for name in names:
            text += f'\n[[children]]\nname = "{name}"\nurl = "{forge.git_url(owner, name)}"\n'
        self.world.config_path.write_text(text)
        self.world.parent.commit({"cascade.toml": text}, "config")

    def run(self, cli, *args: str, env: dict[str, str] | None = None):
        return cli(*args, cwd=self.world.parent.path, env={**self.env, **(env or {})})

    def sync(self, cli, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
        result = self.run(cli, "sync", "--json", *args, env=env)
        assert result.stdout, result.stderr
        return result.code, {c["name"]: c for c in json.loads(result.stdout)["children"]}

    def status(self, cli) -> dict:
        result = self.run(cli, "status", "--json")
        assert result.stdout, result.stderr
        return {c["name"]: c for c in json.loads(result.stdout)["children"]}

    def pulls(self, name: str) -> list[dict]:
        return self.forge.pulls(self.owner, name)

    def api(self, method: str, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.forge.api_url + path, method=method, data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": "test",
                                                  "Accept": "application/vnd.github+json"})
        with urllib.request.urlopen(request) as resp:
            return json.loads(resp.read())

    def branch_file(self, name: str, branch: str, path: str) -> str | None:
        repo = self.forge.root / self.owner / f"{name}.git"
        import subprocess

        proc = subprocess.run(["git", "show", f"{branch}:{path}"], cwd=repo, capture_output=True, text=True)
        return proc.stdout if proc.returncode == 0 else None


@pytest.fixture
def setup(tmp_path, local_forge):
    return Setup(tmp_path, local_forge)


def test_first_run_opens_one_pull_request_per_child_with_labels_reviewers_and_a_useful_body(setup, cli):
    code, children = setup.sync(cli)
    assert code == 0
    for name in setup.names:
        child = children[name]
        assert child["result"] == "pr_opened" and child["pull_request"]["state"] == "open"
        (pr,) = setup.pulls(name)
        assert child["pull_request"]["number"] == pr["number"] and child["pull_request"]["url"] == pr["html_url"]
        assert pr["head"]["ref"] == "ddl-cascade/ro-shared-ddl" and pr["base"]["ref"] == "main"
        assert [label["name"] for label in pr["labels"]] == ["shared-ddl"]
        assert [r["login"] for r in pr["requested_reviewers"]] == ["dba"]
        body = pr["body"]
        assert f"`{PREFIX}/sql/V1__init.sql` | 1 |" in body and f"`{PREFIX}/sql/V2__more.sql` | 2 |" in body
        assert "<!-- ddl-cascade delivered=" in body and len(body) < 60_000
        assert "Flyway resolves 2 migration(s), versions 1 to 2, and 1 callback(s)" in body
        assert "no naming problem" in body
        # The pull request's branch holds the delivered files on top of the child's own.
        assert setup.branch_file(name, "ddl-cascade/ro-shared-ddl", f"{PREFIX}/sql/V2__more.sql") == \
            "create table t2 (id int);\n"
        assert setup.branch_file(name, "ddl-cascade/ro-shared-ddl", "README.md") == f"# {name}\n"
        assert setup.branch_file(name, "main", f"{PREFIX}/sql/V2__more.sql") is None  # nothing pushed to main


def test_a_second_run_writes_nothing_and_an_update_moves_the_same_pull_request(setup, cli):
    setup.sync(cli)
    writes, reads = setup.forge.count("api", write=True), setup.forge.count("api", write=False)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"unchanged"}
    assert setup.forge.count("api", write=True) == writes  # no-op: no write at all
    assert setup.forge.count("api", write=False) - reads <= len(setup.names)  # and at most one read per child

    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n", "sql/V1__init.sql": None}, "V3")
    writes = setup.forge.count("api", write=True)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_updated"}
    assert setup.forge.count("api", write=True) - writes <= 3 * len(setup.names)
    for name in setup.names:
        (pr,) = setup.pulls(name)  # the same pull request, never a second one
        assert pr["state"] == "open" and children[name]["pull_request"]["number"] == pr["number"]
        assert setup.branch_file(name, pr["head"]["sha"], f"{PREFIX}/sql/V3__third.sql") is not None
        assert setup.branch_file(name, pr["head"]["sha"], f"{PREFIX}/sql/V1__init.sql") is None  # deletions arrive
        assert f"`{PREFIX}/sql/V3__third.sql` | 3 |" in pr["body"]


# Not "rebase": the delivered commits are subtree-shaped (a merge commit joins them), and GitHub refuses to rebase a
# branch with merge commits, as the local forge does.
@pytest.mark.parametrize("method", ["merge", "squash"])
def test_after_the_merge_status_is_in_sync_and_the_next_delivery_continues(setup, cli, method):
    setup.sync(cli)
    for name in setup.names:
        setup.forge.merge(OWNER, name, setup.pulls(name)[0]["number"], method)
    states = setup.status(cli)
    assert {c["state"] for c in states.values()} == {"in_sync"}
    assert {c["pull_request"]["state"] for c in states.values()} == {"merged"}
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"unchanged"}
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    for name in setup.names:
        merged, new = setup.pulls(name)
        assert merged["merged_at"] and new["state"] == "open"
        setup.forge.merge(OWNER, name, new["number"], method)
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}


def test_a_pull_request_closed_without_merging_is_reported_and_reopened_only_when_asked(setup, cli):
    setup.sync(cli)
    number = setup.pulls("billing")[0]["number"]
    setup.api("PATCH", f"/repos/{OWNER}/billing/pulls/{number}", {"state": "closed"})
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    code, children = setup.sync(cli)
    assert code == 1
    assert children["billing"]["result"] == "refused" and children["billing"]["pull_request"]["state"] == "closed"
    assert "closed without merging" in children["billing"]["error"] and "--reopen" in children["billing"]["error"]
    assert children["orders"]["result"] == "pr_updated"
    assert [p["state"] for p in setup.pulls("billing")] == ["closed"]
    code, children = setup.sync(cli, "--reopen")
    assert code == 0 and children["billing"]["result"] == "pr_updated"
    (pr,) = setup.pulls("billing")
    assert pr["state"] == "open" and setup.branch_file("billing", pr["head"]["sha"],
                                                       f"{PREFIX}/sql/V3__third.sql") is not None


def test_a_pull_request_someone_else_pushed_to_is_never_overwritten(setup, cli, tmp_path):
    setup.sync(cli)
    import subprocess

    repo = setup.forge.root / OWNER / "billing.git"
    head = subprocess.run(["git", "rev-parse", "ddl-cascade/ro-shared-ddl"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    tree = subprocess.run(["git", "rev-parse", f"{head}^{{tree}}"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    env = dict(os.environ, GIT_AUTHOR_NAME="r", GIT_AUTHOR_EMAIL="r@x", GIT_COMMITTER_NAME="r",
               GIT_COMMITTER_EMAIL="r@x")
    theirs = subprocess.run(["git", "commit-tree", tree, "-p", head, "-m", "reviewer's fix"], cwd=repo, env=env,
                            capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["git", "update-ref", "refs/heads/ddl-cascade/ro-shared-ddl", theirs], cwd=repo, check=True)
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    code, children = setup.sync(cli)
    assert code == 1 and children["billing"]["result"] == "failed"
    assert "someone else pushed" in children["billing"]["error"]
    assert setup.pulls("billing")[0]["head"]["sha"] == theirs  # their commit is still there
    assert children["orders"]["result"] == "pr_updated"


def test_one_failing_child_fails_the_run_and_the_others_are_delivered(tmp_path, local_forge, cli):
    setup = Setup(tmp_path, local_forge)
    text = setup.world.config_path.read_text() + \
        f'\n[[children]]\nname = "gone"\nurl = "{local_forge.git_url(OWNER, "gone")}"\n'
    setup.world.config_path.write_text(text)
    code, children = setup.sync(cli)
    assert code == 1 and children["gone"]["result"] == "failed"
    assert {children[n]["result"] for n in setup.names} == {"pr_opened"}


def test_rate_limit_answers_are_waited_out(setup, cli):
    setup.forge.rate_limit_next(2, "secondary", retry_after=1)
    setup.forge.rate_limit_next(1, "primary", retry_after=1)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    assert all(len(setup.pulls(n)) == 1 for n in setup.names)


def test_a_github_app_token_is_minted_and_renewed_when_it_expires_during_the_run(tmp_path, local_forge, cli):
    import threading
    import time

    key = local_forge.register_app(4242)
    table = (f'[forge]\nkind = "github"\napi_url = "{local_forge.api_url}"\napp_id = "4242"\n'
             'private_key_env = "DDLC_APP_KEY"\nwrites_per_second = 4\n')
    setup = Setup(tmp_path, local_forge, forge_table=table)
    done = threading.Event()

    def expire_after_the_first_pull_request() -> None:  # as if the token's hour ended in the middle of the run
        while not done.is_set():
            if any(r.operation == "pulls/create" for r in local_forge.requests):
                local_forge.expire_tokens()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=expire_after_the_first_pull_request)
    watcher.start()
    try:
        code, children = setup.sync(cli, env={"DDLC_APP_KEY": key})
    finally:
        done.set()
        watcher.join()
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    refused = [r for r in local_forge.requests if r.status == 401 and r.kind == "rest"]
    minted = [r for r in local_forge.requests if r.operation == "apps/create-installation-access-token"]
    assert refused and len(minted) > 1  # the expired token was refused, and a new one was minted and used
    assert all(len(setup.pulls(n)) == 1 and setup.pulls(n)[0]["labels"] for n in setup.names)


def test_a_missing_token_is_one_sentence_and_exit_2(setup, cli):
    result = cli("sync", cwd=setup.world.parent.path, env={"DDLC_FORGE_TOKEN": ""})
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "DDLC_FORGE_TOKEN" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_token_appears_in_no_output_no_argv_and_no_file(setup, cli, tmp_path):
    # Every git process is logged (its argv and environment keys) by a wrapper in front of the real git.
    real = next(p for p in os.environ["PATH"].split(os.pathsep) if (Path(p) / "git").is_file())
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "argv.log"
    (shim / "git").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {real}/git "$@"\n')
    (shim / "git").chmod((shim / "git").stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for args in (("sync",), ("sync", "--json"), ("status",), ("status", "--json")):
        result = setup.run(cli, *args, env=env)
        outputs += [result.stdout, result.stderr]
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    result = setup.run(cli, "sync", env=env)
    outputs += [result.stdout, result.stderr]
    assert "pull request" in outputs[0]
    assert all(TOKEN not in text for text in outputs)
    assert log.read_text() and TOKEN not in log.read_text()
    for path in (setup.world.parent.path / ".git").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    for path in setup.forge.root.rglob("*"):  # the children's repositories and what git wrote there
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_auto_merge_waits_for_protection_then_merges_and_merges_at_once_without_it(tmp_path, local_forge, cli):
    setup = Setup(tmp_path, local_forge, extra='auto_merge = "squash"\n')
    local_forge.protect(OWNER, "billing")  # required checks: GitHub's auto-merge waits for them
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    (billing,) = setup.pulls("billing")
    assert billing["state"] == "open" and billing["auto_merge"]["merge_method"] == "squash"
    (orders,) = setup.pulls("orders")  # no protection: GitHub refuses auto-merge, so it was merged at once
    assert orders["merged_at"] is not None
    local_forge.pass_checks(OWNER, "billing", billing["number"])
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}


def test_with_graphql_off_auto_merge_merges_through_rest(tmp_path, local_forge, cli):
    table = (f'[forge]\nkind = "github"\napi_url = "{local_forge.api_url}"\ntoken_env = "DDLC_FORGE_TOKEN"\n'
             'graphql = false\nwrites_per_second = 50\n')
    setup = Setup(tmp_path, local_forge, extra='auto_merge = "merge"\n', forge_table=table)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    assert all(setup.pulls(n)[0]["merged_at"] for n in setup.names)
    assert local_forge.count("graphql") == 0
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}


def test_a_huge_delivery_keeps_the_body_under_githubs_limit(tmp_path, local_forge, cli):
    setup = Setup(tmp_path, local_forge, names=("billing",))
    setup.world.deliver({f"sql/V{1000 + i}__a_rather_long_description_of_table_{i}.sql": f"select {i};\n"
                         for i in range(1500)}, "many")
    code, children = setup.sync(cli)
    assert code == 0
    body = setup.pulls("billing")[0]["body"]
    assert len(body) < 60_000 and "more file(s)" in body and "<!-- ddl-cascade delivered=" in body
    assert "Flyway resolves 1502 migration(s)" in body
