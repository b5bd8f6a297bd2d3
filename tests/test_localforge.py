"""The local forge (tests/localforge.py) behaves like GitHub for what ddl-cascade uses: real git over smart HTTP with
token authentication, the pull-request REST flow with merges checked in the bare repository by git, GitHub's
validation of requests (from its OpenAPI description), rate-limit answers, GitHub App tokens, and the GraphQL slice.
Requests are plain `urllib`, so nothing here depends on the client under test."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from localforge import app_jwt

TOKEN = "ghp_localforgetesttoken0000000000000000"


def api(forge, method: str, path: str, body: object = None, token: str | None = TOKEN, raw: bytes | None = None,
        url: str | None = None):
    """(status, json, headers) of one REST request."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/vnd.github+json", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url or forge.api_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as resp:
            return resp.status, json.loads(resp.read() or b"null"), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), err.headers


def graphql(forge, query: str, variables: dict | None = None, token: str = TOKEN):
    request = urllib.request.Request(forge.graphql_url, method="POST",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Authorization": f"bearer {token}"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())


def git(*args: str, cwd=None, token: str | None = TOKEN, check: bool = True) -> subprocess.CompletedProcess:
    """git with the token as `http.extraHeader` through the environment, as CI passes it (never in argv)."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader",
                   GIT_CONFIG_VALUE_0=f"Authorization: basic {basic}")
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc


def bare(path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def child(local_forge, tmp_path):
    """acme/child on the forge, a token for it, and a clone to make branches in: push(branch, {file: text})."""
    local_forge.add_token(TOKEN)
    path = local_forge.create_repo("acme", "child", files={"README.md": "hello\n", "V1__a.sql": "select 1;\n"})
    work = tmp_path / "work"
    # Branches are pushed straight to the bare repository (fast); git over HTTP has its own test above.
    git("clone", "-q", str(path), str(work), token=None)

    def push(branch: str, files: dict[str, str], start: str = "origin/main", message: str | None = None) -> str:
        git("fetch", "-q", "origin", cwd=work, token=None)
        git("checkout", "-q", "-B", branch, start, cwd=work)
        for name, text in files.items():
            (work / name).write_text(text)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", message or f"change {', '.join(files)}", cwd=work)
        git("push", "-q", "-f", "origin", f"{branch}:{branch}", cwd=work, token=None)
        git("fetch", "-q", "origin", cwd=work, token=None)
        return git("rev-parse", "HEAD", cwd=work).stdout.strip()

    push.path = path
    push.work = work
    return push


def open_pr(forge, head: str, title: str = "ddl-cascade: deliver", **extra) -> dict:
    status, pr, _ = api(forge, "POST", "/repos/acme/child/pulls",
                        {"title": title, "head": f"acme:{head}", "base": "main", "body": "delivered", **extra})
    assert status == 201, pr
    return pr


# --- git over smart HTTP -------------------------------------------------------------------------------------------

def test_git_needs_a_valid_token_for_fetch_and_push(local_forge, tmp_path):
    local_forge.add_token(TOKEN)
    local_forge.create_repo("acme", "child")
    url = local_forge.git_url("acme", "child")
    for token in (None, "ghp_wrong"):
        refused = git("ls-remote", url, token=token, check=False)
        assert refused.returncode != 0
    work = tmp_path / "c"
    git("clone", "-q", url, str(work))
    (work / "new.sql").write_text("select 2;\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "two", cwd=work)
    assert git("push", "-q", "origin", "HEAD:refs/heads/feature", cwd=work, token="ghp_wrong", check=False).returncode
    git("push", "-q", "origin", "HEAD:refs/heads/feature", cwd=work)
    assert bare(local_forge.root / "acme" / "child.git", "rev-parse", "feature") == git("rev-parse", "HEAD", cwd=work).stdout.strip()
    bearer = subprocess.run(["git", "-c", f"http.extraHeader=Authorization: Bearer {TOKEN}", "ls-remote", url],
                            capture_output=True, text=True, env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
    assert "refs/heads/feature" in bearer.stdout
    kinds = {(r.kind, r.is_write) for r in local_forge.requests}
    assert ("git", True) in kinds and ("git", False) in kinds
    assert all(TOKEN not in repr(r) for r in local_forge.requests)


# --- the pull-request flow ---------------------------------------------------------------------------------------

def test_create_list_update_label_and_request_reviews(local_forge, child):
    sha = child("ddl-cascade/update", {"V2__b.sql": "select 2;\n"})
    pr = open_pr(local_forge, "ddl-cascade/update", draft=True)
    assert (pr["number"], pr["state"], pr["draft"], pr["head"]["sha"], pr["mergeable"]) == (1, "open", True, sha, True)
    assert (pr["commits"], pr["changed_files"], pr["additions"]) == (1, 1, 1)

    status, found, _ = api(local_forge, "GET", "/repos/acme/child/pulls?head=acme:ddl-cascade/update&state=open")
    assert status == 200 and [p["number"] for p in found] == [1]
    assert api(local_forge, "GET", "/repos/acme/child/pulls?head=acme:other")[1] == []

    status, updated, _ = api(local_forge, "PATCH", "/repos/acme/child/pulls/1", {"title": "new", "body": "b2"})
    assert (status, updated["title"], updated["body"]) == (200, "new", "b2")

    status, labels, _ = api(local_forge, "POST", "/repos/acme/child/issues/1/labels", {"labels": ["ddl", "auto"]})
    assert status == 200 and [label["name"] for label in labels] == ["ddl", "auto"]
    api(local_forge, "POST", "/repos/acme/child/issues/1/labels", {"labels": ["DDL"]})
    assert [x["name"] for x in api(local_forge, "GET", "/repos/acme/child/issues/1/labels")[1]] == ["ddl", "auto"]

    status, reviewed, _ = api(local_forge, "POST", "/repos/acme/child/pulls/1/requested_reviewers",
                              {"reviewers": ["alice"], "team_reviewers": ["dba"]})
    assert status == 201
    assert [u["login"] for u in reviewed["requested_reviewers"]] == ["alice"]
    assert [t["slug"] for t in reviewed["requested_teams"]] == ["dba"]
    assert api(local_forge, "POST", "/repos/acme/child/pulls/1/requested_reviewers",
               {"reviewers": ["octocat"]})[0] == 422       # the author

    closed = api(local_forge, "PATCH", "/repos/acme/child/pulls/1", {"state": "closed"})[1]
    assert closed["state"] == "closed" and closed["closed_at"]
    assert api(local_forge, "GET", "/repos/acme/child/pulls?head=acme:ddl-cascade/update")[1] == []
    assert len(api(local_forge, "GET", "/repos/acme/child/pulls?head=acme:ddl-cascade/update&state=all")[1]) == 1
    assert api(local_forge, "PATCH", "/repos/acme/child/pulls/1", {"state": "open"})[1]["state"] == "open"


def test_duplicate_and_empty_pull_requests_get_githubs_422(local_forge, child):
    child("feature", {"V2__b.sql": "select 2;\n"})
    open_pr(local_forge, "feature")
    status, error, _ = api(local_forge, "POST", "/repos/acme/child/pulls",
                           {"title": "again", "head": "acme:feature", "base": "main"})
    assert status == 422 and error["message"] == "Validation Failed"
    assert error["errors"][0]["message"] == "A pull request already exists for acme:feature."
    git("push", "-q", "origin", "origin/main:refs/heads/empty", cwd=child.work, token=None)
    status, error, _ = api(local_forge, "POST", "/repos/acme/child/pulls",
                           {"title": "t", "head": "acme:empty", "base": "main"})
    assert status == 422 and error["errors"][0]["message"] == "No commits between main and empty"
    status, error, _ = api(local_forge, "POST", "/repos/acme/child/pulls",
                           {"title": "t", "head": "acme:nope", "base": "main"})
    assert status == 422 and error["errors"][0] == {"resource": "PullRequest", "field": "head", "code": "invalid"}


def test_list_paginates_with_link_headers_and_ignores_head_without_owner(local_forge, child):
    for i in range(5):
        child(f"b{i}", {f"V{i + 2}__x.sql": f"select {i};\n"})
        open_pr(local_forge, f"b{i}")
    status, page, headers = api(local_forge, "GET", "/repos/acme/child/pulls?per_page=2&page=2")
    assert [p["number"] for p in page] == [3, 2]          # newest first
    links = headers["Link"]
    assert 'rel="next"' in links and 'rel="prev"' in links and 'rel="last"' in links and "page=3" in links
    last = links.split(", ")[[i for i, part in enumerate(links.split(", ")) if 'rel="last"' in part][0]]
    status, page, headers = api(local_forge, "GET", "", url=last[1:last.index(">")])
    assert [p["number"] for p in page] == [1] and 'rel="next"' not in headers.get("Link", "")
    # GitHub ignores a head filter without "owner:" and answers every PR: a trap for clients.
    assert len(api(local_forge, "GET", "/repos/acme/child/pulls?head=b1")[1]) == 5


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_by_each_method_writes_githubs_history(local_forge, child, method):
    path = child.path
    child("topic", {"V2__b.sql": "select 2;\n"})
    head = child("topic", {"V3__c.sql": "select 3;\n"}, start="topic")
    base_before = bare(path, "rev-parse", "main")
    pr = open_pr(local_forge, "topic")
    status, conflict, _ = api(local_forge, "PUT", f"/repos/acme/child/pulls/{pr['number']}/merge",
                              {"merge_method": method, "sha": base_before})
    assert status == 409 and conflict["message"].startswith("Head branch was modified")
    status, result, _ = api(local_forge, "PUT", f"/repos/acme/child/pulls/{pr['number']}/merge",
                            {"merge_method": method, "sha": head})
    assert status == 200 and result["merged"] is True
    tip = bare(path, "rev-parse", "main")
    assert result["sha"] == tip
    assert bare(path, "ls-tree", "--name-only", "main").split() == ["README.md", "V1__a.sql", "V2__b.sql", "V3__c.sql"]
    parents = bare(path, "log", "-1", "--format=%P", "main").split()
    new_commits = bare(path, "rev-list", f"{base_before}..main").split()
    if method == "merge":
        assert parents == [base_before, head]
        assert bare(path, "log", "-1", "--format=%s", "main") == f"Merge pull request #{pr['number']} from acme/topic"
    elif method == "squash":
        assert parents == [base_before] and len(new_commits) == 1
        assert bare(path, "log", "-1", "--format=%s", "main") == f"ddl-cascade: deliver (#{pr['number']})"
    else:
        assert len(new_commits) == 2 and head not in new_commits
        assert bare(path, "log", "--format=%s", f"{base_before}..main").split("\n") == ["change V3__c.sql",
                                                                                        "change V2__b.sql"]
        assert bare(path, "log", "-1", "--format=%cn", "main") == "GitHub"
    merged = api(local_forge, "GET", f"/repos/acme/child/pulls/{pr['number']}")[1]
    assert (merged["state"], merged["merged"], merged["merge_commit_sha"]) == ("closed", True, tip)
    assert merged["merged_at"] and merged["merged_by"]["login"] == "octocat"
    assert api(local_forge, "PUT", f"/repos/acme/child/pulls/{pr['number']}/merge", {})[0] == 405


def test_conflicting_pr_is_not_mergeable_and_ui_merge_and_push_merges(local_forge, child):
    child("one", {"V1__a.sql": "select 10;\n"})
    child("two", {"V1__a.sql": "select 20;\n"})
    first, second = open_pr(local_forge, "one"), open_pr(local_forge, "two")
    local_forge.merge("acme", "child", first["number"], "squash")
    pr = api(local_forge, "GET", f"/repos/acme/child/pulls/{second['number']}")[1]
    assert (pr["mergeable"], pr["mergeable_state"]) == (False, "dirty")
    assert api(local_forge, "PUT", f"/repos/acme/child/pulls/{second['number']}/merge", {})[0] == 405
    # Pushing the head's commits to the base marks the PR merged; deleting a head branch closes its PR.
    sha = child("three", {"V4__d.sql": "select 4;\n"})
    third = open_pr(local_forge, "three")
    git("push", "-q", "origin", f"{sha}:refs/heads/main", cwd=child.work, token=None)
    git("push", "-q", "origin", ":two", cwd=child.work, token=None)
    by_number = {p["number"]: p for p in local_forge.pulls("acme", "child")}
    assert by_number[third["number"]]["merged"] and by_number[third["number"]]["merge_commit_sha"] == sha
    assert by_number[second["number"]]["state"] == "closed" and not by_number[second["number"]]["merged"]


def test_repository_and_ref(local_forge, child):
    status, repo, headers = api(local_forge, "GET", "/repos/acme/child")
    assert (status, repo["default_branch"], repo["clone_url"]) == (200, "main", local_forge.git_url("acme", "child"))
    assert int(headers["x-ratelimit-remaining"]) < int(headers["x-ratelimit-limit"]) and headers["x-ratelimit-reset"]
    status, ref, _ = api(local_forge, "GET", "/repos/acme/child/git/ref/heads/main")
    assert (status, ref["ref"], ref["object"]["sha"]) == (200, "refs/heads/main", bare(child.path, "rev-parse", "main"))
    assert api(local_forge, "GET", "/repos/acme/child/git/ref/heads/nope")[0] == 404
    assert api(local_forge, "GET", "/repos/acme/other")[0] == 404
    assert api(local_forge, "GET", "/repos/acme/child", token=None)[1]["message"] == "Requires authentication"
    assert api(local_forge, "GET", "/repos/acme/child", token="ghp_bad")[:2] == (
        401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
    reads, writes = local_forge.count("rest", write=False), local_forge.count("rest", write=True)
    assert (reads, writes) == (6, 0)


# --- GitHub's contract: requests GitHub would refuse fail the test -------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ({"title": "t", "base": "main"}, "\"head\" wasn't supplied."),
    ({"title": "t", "head": "acme:x", "base": "main", "draft": "yes"}, "For 'properties/draft', \"yes\" is not a boolean."),
])
def test_invalid_requests_are_refused_like_github_and_recorded(local_forge, child, body, message):
    status, error, _ = api(local_forge, "POST", "/repos/acme/child/pulls", body)
    assert status == 422 and error["message"] == "Invalid request.\n\n" + message
    [violation] = local_forge.take_violations()
    assert violation.where == "request" and message in violation.message


def test_unknown_routes_bad_parameters_and_bad_json_are_violations(local_forge, child):
    assert api(local_forge, "GET", "/repos/acme/child/pull")[0] == 404
    assert api(local_forge, "GET", "/repos/acme/child/pulls?state=merged")[0] == 422
    assert api(local_forge, "GET", "/repos/acme/child/pulls?per_page=lots")[0] == 422
    assert api(local_forge, "GET", "/repos/acme/child/pulls?user=me")[0] == 422
    assert api(local_forge, "PUT", "/repos/acme/child/pulls/1/merge", raw=b"{nope")[:2][0] == 400
    assert api(local_forge, "PUT", "/repos/acme/child/pulls/1/merge", {"merge_method": "fast-forward"})[0] == 422
    assert len(local_forge.take_violations()) == 6
    versioned = urllib.request.Request(local_forge.api_url + "/repos/acme/child", headers={
        "Authorization": f"token {TOKEN}", "X-GitHub-Api-Version": "2021-01-01"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(versioned)
    assert refused.value.code == 400
    assert len(local_forge.take_violations()) == 1
    assert api(local_forge, "DELETE", "/repos/acme/child")[0] == 501        # in GitHub's API, not in the forge
    assert [v.where for v in local_forge.take_violations()] == ["forge"]


def test_spec_loads_once_and_validates_fast(local_forge):
    import localforge_spec

    spec = localforge_spec.spec()
    assert spec is local_forge.spec and spec.version == "23.0.2"
    op, params = spec.find("GET", "/repos/acme/child/git/ref/heads/feature/x")
    assert (op.operation_id, params["ref"]) == ("git/get-ref", "heads/feature/x")
    started = time.perf_counter()
    for _ in range(200):
        spec.check_request(op, params, {}, None, False)
    assert time.perf_counter() - started < 0.5


# --- rate limits -------------------------------------------------------------------------------------------------

def test_rate_limit_injection_answers_like_github(local_forge, child):
    local_forge.rate_limit_next(1, "secondary", retry_after=7)
    local_forge.rate_limit_next(1, "primary", retry_after=30)
    local_forge.rate_limit_next(1, "429")
    status, body, headers = api(local_forge, "GET", "/repos/acme/child/pulls")
    assert status == 403 and "secondary rate limit" in body["message"] and headers["Retry-After"] == "7"
    assert int(headers["x-ratelimit-remaining"]) > 0
    status, body, headers = api(local_forge, "GET", "/repos/acme/child/pulls")
    assert status == 403 and headers["x-ratelimit-remaining"] == "0"
    assert 25 <= int(headers["x-ratelimit-reset"]) - time.time() <= 31 and "Retry-After" not in headers
    status, body, headers = api(local_forge, "GET", "/repos/acme/child/pulls")
    assert status == 429 and headers["x-ratelimit-remaining"] == "0"
    assert api(local_forge, "GET", "/repos/acme/child/pulls")[0] == 200
    assert [r.status for r in local_forge.requests if r.kind == "rest"][-4:] == [403, 403, 429, 200]


# --- GitHub App ----------------------------------------------------------------------------------------------------

def test_app_mints_installation_tokens_that_expire(local_forge, tmp_path):
    key = local_forge.register_app(4242)
    local_forge.create_repo("acme", "child")
    local_forge.create_repo("acme", "private")
    jwt = app_jwt(4242, key)
    status, inst, _ = api(local_forge, "GET", "/repos/acme/child/installation", token=jwt)
    assert status == 200 and inst["account"]["login"] == "acme" and inst["app_id"] == 4242
    status, minted, _ = api(local_forge, "POST", f"/app/installations/{inst['id']}/access_tokens",
                            {"repositories": ["child"]}, token=jwt)
    assert status == 201 and minted["token"].startswith("ghs_") and minted["expires_at"].endswith("Z")
    token = minted["token"]
    assert api(local_forge, "GET", "/repos/acme/child", token=token)[0] == 200
    assert api(local_forge, "GET", "/repos/acme/private", token=token)[0] == 404      # not in the token's scope
    git("ls-remote", local_forge.git_url("acme", "child"), token=token)
    assert git("ls-remote", local_forge.git_url("acme", "private"), token=token, check=False).returncode
    assert api(local_forge, "GET", "/repos/acme/child", token=jwt)[0] == 403          # a JWT is not a token

    local_forge.expire_tokens()
    assert api(local_forge, "GET", "/repos/acme/child", token=token)[1]["message"] == "Bad credentials"
    assert git("ls-remote", local_forge.git_url("acme", "child"), token=token, check=False).returncode
    renewed = api(local_forge, "POST", f"/app/installations/{inst['id']}/access_tokens", token=jwt)[1]["token"]
    assert api(local_forge, "GET", "/repos/acme/child", token=renewed)[0] == 200

    too_long = app_jwt(4242, key, lifetime=3600)
    other_key = local_forge.register_app(7)
    forged = app_jwt(4242, other_key)
    expired = app_jwt(4242, key, now=time.time() - 1200)
    for bad, message in [(too_long, "too far in the future"), (forged, "could not be decoded"),
                         (expired, "'Expiration time' claim"), (TOKEN, "could not be decoded")]:
        status, body, _ = api(local_forge, "GET", "/repos/acme/child/installation", token=bad)
        assert status == 401 and message in body["message"]
    assert all(minted["token"] not in repr(r) and jwt not in repr(r) for r in local_forge.requests)


# --- GraphQL -------------------------------------------------------------------------------------------------------

def test_graphql_batched_read_of_prs_by_head(local_forge, child):
    local_forge.create_repo("acme", "other")
    child("ddl", {"V2__b.sql": "select 2;\n"})
    pr = open_pr(local_forge, "ddl")
    api(local_forge, "POST", "/repos/acme/child/issues/1/labels", {"labels": ["ddl"]})
    query = """query($head: String!) {
      c: repository(owner: "acme", name: "child") { pullRequests(headRefName: $head, states: [OPEN], first: 5) {
          totalCount nodes { id number state headRefOid mergeable labels(first: 10) { nodes { name } } } } }
      o: repository(owner: "acme", name: "other") { pullRequests(headRefName: $head, first: 5) { totalCount } }
      gone: repository(owner: "acme", name: "gone") { id }
    }"""
    result = graphql(local_forge, query, {"head": "ddl"})
    [node] = result["data"]["c"]["pullRequests"]["nodes"]
    assert node == {"id": pr["node_id"], "number": 1, "state": "OPEN", "headRefOid": pr["head"]["sha"],
                    "mergeable": "MERGEABLE", "labels": {"nodes": [{"name": "ddl"}]}}
    assert result["data"]["o"]["pullRequests"]["totalCount"] == 0
    assert result["data"]["gone"] is None and result["errors"][0]["type"] == "NOT_FOUND"
    assert local_forge.requests[-1].kind == "graphql" and not local_forge.requests[-1].is_write


def test_graphql_auto_merge_as_github_allows_it(local_forge, child):
    child("ddl", {"V2__b.sql": "select 2;\n"})
    pr = open_pr(local_forge, "ddl")
    mutation = """mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH}) {
                    pullRequest { autoMergeRequest { mergeMethod } } } }"""
    refused = graphql(local_forge, mutation, {"id": pr["node_id"]})
    assert refused["errors"][0]["message"] == "Pull request Protected branch rules not configured for this branch"
    local_forge.protect("acme", "child", "main")
    assert api(local_forge, "PUT", "/repos/acme/child/pulls/1/merge", {})[1]["message"] == \
        'Required status check "ci" is expected.'
    enabled = graphql(local_forge, mutation, {"id": pr["node_id"]})
    assert enabled["data"]["enablePullRequestAutoMerge"]["pullRequest"]["autoMergeRequest"] == {"mergeMethod": "SQUASH"}
    assert api(local_forge, "GET", "/repos/acme/child/pulls/1")[1]["auto_merge"]["merge_method"] == "squash"
    assert local_forge.requests[-2].is_write
    local_forge.pass_checks("acme", "child", 1)
    merged = api(local_forge, "GET", "/repos/acme/child/pulls/1")[1]
    assert merged["merged"] and bare(child.path, "log", "-1", "--format=%s", "main") == "ddl-cascade: deliver (#1)"
    child("later", {"V3__c.sql": "select 3;\n"})
    later = open_pr(local_forge, "later")
    local_forge.pass_checks("acme", "child", later["number"])
    clean = graphql(local_forge, mutation, {"id": later["node_id"]})
    assert clean["errors"][0]["message"] == "Pull request Pull request is in clean status"


@pytest.mark.parametrize("query, message", [
    ('{ repository(owner: "acme", name: "child") { pullRequests(first: 5) { nodes { nope } } } }',
     "Field 'nope' doesn't exist on type 'PullRequest'"),
    ('{ repository(owner: "acme", name: "child") { pullRequests(headRefName: "x") { totalCount } } }',
     "You must provide a `first` or `last` value"),
    ('{ repository(owner: "acme", name: "child") { pullRequests(first: 5, states: [OPENED]) { totalCount } } }',
     "Argument 'states' on Field 'pullRequests' has an invalid value ([OPENED])"),
    ('{ repository(owner: "acme") { id } }', "Field 'repository' is missing required arguments: name"),
    ('{ repository(owner: "acme", name: "child") }', "Field must have selections"),
])
def test_graphql_queries_github_refuses_are_violations(local_forge, child, query, message):
    result = graphql(local_forge, query)
    assert "data" not in result and message in result["errors"][0]["message"]
    [violation] = local_forge.take_violations()
    assert violation.where == "graphql" and message in violation.message
