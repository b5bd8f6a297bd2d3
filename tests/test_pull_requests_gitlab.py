"""Merge-request delivery on GitLab against the local GitLab (tests/localforge_gitlab.py), whose every request and
response is held to a hand-written GitLab contract (tests/localforge_gitlab_spec.py): the scenarios of
tests/test_pull_requests.py that apply to GitLab, with its `Setup`, plus a nested group path and GitLab's auto-merge.
The CLI runs as a user runs it, with real git over smart HTTP to the forge."""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cascade_world import PREFIX
from test_pull_requests import TOKEN, Setup

OWNER = "acme"
BRANCH = "ddl-cascade/ro-shared-ddl"


def gitlab_setup(root: Path, forge, *, owner: str = OWNER, extra: str = "", **kwargs) -> Setup:
    forge.add_user("dba")
    table = (f'[forge]\nkind = "gitlab"\napi_url = "{forge.api_url}"\ntoken_env = "DDLC_FORGE_TOKEN"\n'
             'writes_per_second = 50\n')
    return Setup(root, forge, forge_table=table, owner=owner, extra=extra, **kwargs)


def api(setup: Setup, method: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(setup.forge.api_url + path, method=method, data=json.dumps(body).encode(),
                                     headers={"PRIVATE-TOKEN": TOKEN, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())


@pytest.fixture
def setup(tmp_path, local_gitlab):
    return gitlab_setup(tmp_path, local_gitlab)


def test_first_run_opens_one_merge_request_per_child_with_labels_reviewers_and_a_useful_body(setup, cli):
    code, children = setup.sync(cli)
    assert code == 0
    for name in setup.names:
        child = children[name]
        assert child["result"] == "pr_opened" and child["pull_request"]["state"] == "open"
        (mr,) = setup.pulls(name)
        assert child["pull_request"]["number"] == mr["iid"] and child["pull_request"]["url"] == mr["web_url"]
        assert mr["source_branch"] == BRANCH and mr["target_branch"] == "main"
        assert mr["labels"] == ["shared-ddl"] and [r["username"] for r in mr["reviewers"]] == ["dba"]
        assert not mr["draft"]
        body = mr["description"]
        assert f"`{PREFIX}/sql/V1__init.sql` | 1 |" in body and "<!-- ddl-cascade delivered=" in body
        assert "Flyway resolves 2 migration(s), versions 1 to 2, and 1 callback(s)" in body
        assert setup.branch_file(name, BRANCH, f"{PREFIX}/sql/V2__more.sql") == "create table t2 (id int);\n"
        assert setup.branch_file(name, "main", f"{PREFIX}/sql/V2__more.sql") is None  # nothing pushed to main
    assert setup.forge.git_users == {"oauth2"}  # git over HTTPS: user oauth2, the token as password


def test_a_second_run_writes_nothing_and_an_update_moves_the_same_merge_request(setup, cli):
    setup.sync(cli)
    writes, reads = setup.forge.count("api", write=True), setup.forge.count("api", write=False)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"unchanged"}
    assert setup.forge.count("api", write=True) == writes  # no-op: no write at all
    assert setup.forge.count("api", write=False) - reads <= len(setup.names)  # one read per child

    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n", "sql/V1__init.sql": None}, "V3")
    writes = setup.forge.count("api", write=True)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_updated"}
    assert setup.forge.count("api", write=True) - writes == len(setup.names)  # one PUT each
    for name in setup.names:
        (mr,) = setup.pulls(name)  # the same merge request, never a second one
        assert mr["state"] == "opened" and children[name]["pull_request"]["number"] == mr["iid"]
        assert setup.branch_file(name, mr["sha"], f"{PREFIX}/sql/V3__third.sql") is not None
        assert setup.branch_file(name, mr["sha"], f"{PREFIX}/sql/V1__init.sql") is None  # deletions arrive
        assert f"`{PREFIX}/sql/V3__third.sql` | 3 |" in mr["description"]


@pytest.mark.parametrize("method", ["merge", "squash"])
def test_after_the_merge_status_is_in_sync_and_the_next_delivery_continues(setup, cli, method):
    setup.sync(cli)
    for name in setup.names:
        setup.forge.merge(OWNER, name, setup.pulls(name)[0]["iid"], method)
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
        assert merged["state"] == "merged" and new["state"] == "opened"
        setup.forge.merge(OWNER, name, new["iid"], method)
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}


def test_a_merge_request_closed_without_merging_is_reported_and_reopened_only_when_asked(setup, cli):
    setup.sync(cli)
    iid = setup.pulls("billing")[0]["iid"]
    api(setup, "PUT", f"/projects/{OWNER}%2Fbilling/merge_requests/{iid}", {"state_event": "close"})
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    code, children = setup.sync(cli)
    assert code == 1
    assert children["billing"]["result"] == "refused" and children["billing"]["pull_request"]["state"] == "closed"
    assert "closed without merging" in children["billing"]["error"] and "--reopen" in children["billing"]["error"]
    assert children["orders"]["result"] == "pr_updated"
    assert [m["state"] for m in setup.pulls("billing")] == ["closed"]
    code, children = setup.sync(cli, "--reopen")
    assert code == 0 and children["billing"]["result"] == "pr_updated"
    (mr,) = setup.pulls("billing")
    assert mr["state"] == "opened" and setup.branch_file("billing", mr["sha"], f"{PREFIX}/sql/V3__third.sql")


def test_one_failing_child_fails_the_run_and_the_others_are_delivered(tmp_path, local_gitlab, cli):
    setup = gitlab_setup(tmp_path, local_gitlab)
    text = setup.world.config_path.read_text() + \
        f'\n[[children]]\nname = "gone"\nurl = "{local_gitlab.git_url(OWNER, "gone")}"\n'
    setup.world.config_path.write_text(text)
    code, children = setup.sync(cli)
    assert code == 1 and children["gone"]["result"] == "failed"
    assert {children[n]["result"] for n in setup.names} == {"pr_opened"}


def test_an_unknown_reviewer_fails_the_child_with_one_sentence_naming_the_project(tmp_path, local_gitlab, cli):
    setup = gitlab_setup(tmp_path, local_gitlab, names=("billing",))
    text = setup.world.config_path.read_text().replace('reviewers = ["dba"]', 'reviewers = ["nobody"]')
    setup.world.config_path.write_text(text)
    code, children = setup.sync(cli)
    assert code == 1 and children["billing"]["result"] == "failed"
    assert "'nobody'" in children["billing"]["error"] and f"{OWNER}/billing" in children["billing"]["error"]


def test_a_nested_group_path_and_gitlabs_429_answers(tmp_path, local_gitlab, cli):
    setup = gitlab_setup(tmp_path, local_gitlab, owner="platform/db/shared")
    local_gitlab.rate_limit_next(2, retry_after=1)
    code, children = setup.sync(cli)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    assert [r.status for r in local_gitlab.requests if r.kind == "rest"][:2] == [429, 429]
    for name in setup.names:
        (mr,) = setup.pulls(name)
        assert mr["references"]["full"] == f"platform/db/shared/{name}!{mr['iid']}"
    assert all("%2F" in r.path for r in local_gitlab.requests if r.kind == "rest" and "/projects/" in r.path)
    setup.forge.merge("platform/db/shared", "billing", 1)
    assert setup.status(cli)["billing"]["state"] == "in_sync"


def test_auto_merge_waits_for_a_running_pipeline_and_merges_at_once_without_one(tmp_path, local_gitlab, cli):
    setup = gitlab_setup(tmp_path, local_gitlab, extra='auto_merge = "squash"\ndraft = false\n')
    code, children = setup.sync(cli)  # no pipeline anywhere: GitLab merges at once (squash commit + merge commit)
    assert code == 0 and {c["result"] for c in children.values()} == {"pr_opened"}
    assert all(setup.pulls(n)[0]["state"] == "merged" and setup.pulls(n)[0]["squash_commit_sha"]
               for n in setup.names)
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}

    # A pipeline runs on the pushed head of billing: GitLab sets auto-merge and merges when it succeeds.
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    original = local_gitlab._merge_status

    def with_pipeline(project, mr):  # every new head starts a pipeline, as a project's .gitlab-ci.yml would
        if project.path.endswith("/billing") and mr.state == "opened":
            project.running.add(mr.sha)
        return original(project, mr)

    local_gitlab._merge_status = with_pipeline
    code, children = setup.sync(cli)
    local_gitlab._merge_status = original
    assert code == 0
    waiting = setup.pulls("billing")[-1]
    assert waiting["state"] == "opened" and waiting["merge_when_pipeline_succeeds"]
    assert setup.pulls("orders")[-1]["state"] == "merged"
    local_gitlab.finish_pipeline(OWNER, "billing", waiting["iid"])
    assert {c["state"] for c in setup.status(cli).values()} == {"in_sync"}


def test_a_draft_keeps_its_prefix_across_updates(tmp_path, local_gitlab, cli):
    setup = gitlab_setup(tmp_path, local_gitlab, names=("billing",), extra="draft = true\n")
    setup.sync(cli)
    (mr,) = setup.pulls("billing")
    assert mr["title"].startswith("Draft: ") and mr["draft"]
    setup.world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    code, children = setup.sync(cli)
    assert code == 0 and children["billing"]["result"] == "pr_updated"
    (mr,) = setup.pulls("billing")
    assert mr["title"].startswith("Draft: ") and mr["title"].endswith(children["billing"]["target"][:12])


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
    assert "merge_requests" in outputs[0]  # the text names each merge request's URL
    assert all(TOKEN not in text for text in outputs)
    assert log.read_text() and TOKEN not in log.read_text()
    for folder in (setup.world.parent.path / ".git", setup.forge.root):
        for path in folder.rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("method, path, body, words", [
    ("POST", "/projects/acme%2Fbilling/merge_requests",  # GitHub's "body" is GitLab's "description"
     {"source_branch": "main", "target_branch": "main", "title": "x", "body": "y"}, "'body' was unexpected"),
    ("GET", "/projects/acme/billing/merge_requests", None, "not URL-encoded"),  # a raw project path is a 404
    ("GET", "/projects/acme%2Fbilling/merge_requests?state=open", None, "state is invalid"),  # GitLab says "opened"
    ("PUT", "/projects/acme%2Fbilling/merge_requests/1/merge", {"merge_method": "squash"}, "'merge_method'"),
    ("PUT", "/projects/acme%2Fbilling/merge_requests/1", {}, "at least one parameter"),
])
def test_the_local_gitlab_refuses_what_gitlab_refuses(local_gitlab, method, path, body, words):
    local_gitlab.add_token(TOKEN)
    local_gitlab.create_repo(OWNER, "billing")
    request = urllib.request.Request(local_gitlab.api_url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"PRIVATE-TOKEN": TOKEN, "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code in (400, 404)
    (violation,) = local_gitlab.take_violations()
    assert words in violation.message
