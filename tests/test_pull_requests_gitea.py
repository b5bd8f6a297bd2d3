"""Pull-request delivery on Gitea / Forgejo: the scenarios of tests/test_pull_requests.py (GitHub), against the local
Gitea (tests/localforge_gitea.py) whose every request and response is held to Gitea's published swagger description.
The `Setup` helper is the GitHub tests' own, given Gitea's `[forge]` table; what differs is how each forge shows a
pull request (Gitea: `merged`, labels by id, `requested_reviewers`)."""

from __future__ import annotations

import json
import os
import stat
import urllib.request
from pathlib import Path

import pytest

from cascade_world import PREFIX
from test_pull_requests import OWNER, Setup

TOKEN = "0123456789abcdef0123456789abcdefgitea000"
BRANCH = "ddl-cascade/ro-shared-ddl"


class GiteaSetup(Setup):
    def __init__(self, root: Path, forge, names: tuple[str, ...] = ("billing", "orders"), extra: str = "") -> None:
        forge.add_user("dba")
        table = (f'[forge]\nkind = "gitea"\napi_url = "{forge.api_url}"\ntoken_env = "DDLC_FORGE_TOKEN"\n'
                 'writes_per_second = 50\n')
        super().__init__(root, forge, names, extra, forge_table=table, token=TOKEN)

    def api(self, method: str, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.forge.api_url + path, method=method, data=json.dumps(body).encode(),
                                         headers={"Authorization": f"token {TOKEN}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as resp:
            return json.loads(resp.read())


@pytest.fixture
def setup(tmp_path, local_gitea):
    return GiteaSetup(tmp_path, local_gitea)


def test_first_run_opens_one_pull_request_per_child_with_labels_reviewers_and_a_useful_body(setup, cli):
    code, children = setup.sync(cli)
    assert code == 0
    for name in setup.names:
        child = children[name]
        assert child["result"] == "pr_opened" and child["pull_request"]["state"] == "open"
        (pr,) = setup.pulls(name)
        assert child["pull_request"]["number"] == pr["number"] and child["pull_request"]["url"] == pr["html_url"]
        assert pr["head"]["ref"] == BRANCH and pr["base"]["ref"] == "main" and not pr["draft"]
        assert [label["name"] for label in pr["labels"]] == ["shared-ddl"]
        assert [r["login"] for r in pr["requested_reviewers"]] == ["dba"]
        body = pr["body"]
        assert f"`{PREFIX}/sql/V1__init.sql` | 1 |" in body and f"`{PREFIX}/sql/V2__more.sql` | 2 |" in body
        assert "<!-- ddl-cascade delivered=" in body and "no naming problem" in body
        assert setup.branch_file(name, BRANCH, f"{PREFIX}/sql/V2__more.sql") == "create table t2 (id int);\n"
        assert setup.branch_file(name, BRANCH, "README.md") == f"# {name}\n"
        assert setup.branch_file(name, "main", f"{PREFIX}/sql/V2__more.sql") is None
    # The label was created once per repository, then given by id.
    creates = [r for r in setup.forge.requests if r.operation == "issueCreateLabel"]
    assert len(creates) == len(setup.names)


def test_a_second_run_writes_nothing_and_an_update_moves_the_same_pull_request(setup, cli):
    setup.sync(cli)
    writes, reads = setup.forge.count("api", write=True), setup.forge.count("api", write=False)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"unchanged"}
    assert setup.forge.count("api", write=True) == writes
    assert setup.forge.count("api", write=False) - reads <= len(setup.names)

    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n", "sql/V1__init.sql": None}, "V3")
    writes = setup.forge.count("api", write=True)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_updated"}
    assert setup.forge.count("api", write=True) - writes == len(setup.names)   # one edit each
    for name in setup.names:
        (pr,) = setup.pulls(name)
        assert pr["state"] == "open" and children[name]["pull_request"]["number"] == pr["number"]
        assert setup.branch_file(name, pr["head"]["sha"], f"{PREFIX}/sql/V3__third.sql") is not None
        assert setup.branch_file(name, pr["head"]["sha"], f"{PREFIX}/sql/V1__init.sql") is None
        assert f"`{PREFIX}/sql/V3__third.sql` | 3 |" in pr["body"]


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
        assert merged["merged"] and new["state"] == "open"
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
    assert "--reopen" in children["billing"]["error"] and children["orders"]["result"] == "pr_updated"
    assert [p["state"] for p in setup.pulls("billing")] == ["closed"]
    code, children = setup.sync(cli, "--reopen")
    assert code == 0 and children["billing"]["result"] == "pr_updated"
    (pr,) = setup.pulls("billing")
    assert pr["state"] == "open" and setup.branch_file("billing", pr["head"]["sha"],
                                                       f"{PREFIX}/sql/V3__third.sql") is not None


def test_one_failing_child_fails_the_run_and_the_others_are_delivered(tmp_path, local_gitea, cli):
    setup = GiteaSetup(tmp_path, local_gitea)
    text = setup.world.config_path.read_text() + \
        f'\n[[children]]\nname = "gone"\nurl = "{local_gitea.git_url(OWNER, "gone")}"\n'
    setup.world.config_path.write_text(text)
    code, children = setup.sync(cli)
    assert code == 1 and children["gone"]["result"] == "failed"
    assert {children[n]["result"] for n in setup.names} == {"pr_opened"}


def test_retry_after_is_waited_out_and_a_refusal_is_one_sentence_naming_the_repository(setup, cli):
    setup.forge.rate_limit_next(2, retry_after=1)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    assert all(len(setup.pulls(n)) == 1 for n in setup.names)
    # A reviewer Gitea does not know: the child fails with Gitea's reason, in one line naming the repository.
    setup.world.config_path.write_text(setup.world.config_path.read_text().replace('["dba"]', '["nobody"]'))
    for name in setup.names:
        setup.forge.merge(OWNER, name, setup.pulls(name)[0]["number"], "merge")
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    code, children = setup.sync(cli)
    assert code == 1
    error = children["billing"]["error"]
    assert "Gitea answered 422 for acme/billing" in error and "nobody" in error and "\n" not in error


def test_auto_merge_is_scheduled_behind_required_checks_and_merges_at_once_without_them(tmp_path, local_gitea, cli):
    setup = GiteaSetup(tmp_path, local_gitea, extra='auto_merge = "squash"\n')
    local_gitea.protect(OWNER, "billing")
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    (billing,) = setup.pulls("billing")
    assert billing["state"] == "open"
    (orders,) = setup.pulls("orders")
    assert orders["merged"]
    local_gitea.pass_checks(OWNER, "billing", billing["number"])
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}


def test_the_token_appears_in_no_output_no_argv_and_no_file(setup, cli, tmp_path):
    real = next(p for p in os.environ["PATH"].split(os.pathsep) if (Path(p) / "git").is_file())
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "argv.log"
    (shim / "git").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {real}/git "$@"\n')
    (shim / "git").chmod((shim / "git").stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for args in (("sync",), ("status", "--json")):
        result = setup.run(cli, *args, env=env)
        outputs += [result.stdout, result.stderr]
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    result = setup.run(cli, "sync", "--json", env=env)
    outputs += [result.stdout, result.stderr]
    assert "pull request" in outputs[0]
    assert all(TOKEN not in text for text in outputs)
    assert log.read_text() and TOKEN not in log.read_text()
    for root in (setup.world.parent.path / ".git", setup.forge.root):
        for path in root.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path
