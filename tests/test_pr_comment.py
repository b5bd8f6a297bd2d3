"""One pull-request comment kept current: `validate --format markdown`, `validate --comment` against the local GitHub
(tests/localforge.py, held to GitHub's OpenAPI description) in a simulated Actions environment, and the job summary
`validate` and `status` append to `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from cascade_world import make_world
from test_validate_cli import CLEAN, SOURCE, deliver, make_parent

from ddl_cascade.render.validate import LIMIT, MARKER, Links, markdown
from ddl_cascade.validate.model import Finding, Severity

BLOB = "https://github.example/acme/app/blob/abc123/"
DOCS = "https://github.com/ddl-cascade/ddl-cascade/blob/main/docs/"
LINKS = Links(BLOB, DOCS)
TOKEN = "ghp_localSecretToken0123456789"


def f(path: str, line: int = 1, rule: str = "sql/syntax", severity: Severity = Severity.ERROR,
      message: str = "syntax error at or near \")\"", hint: str = "") -> Finding:
    return Finding(rule, severity, f"{SOURCE}/{path}", line, 3 if line else 0, message, hint)


# --- the Markdown --------------------------------------------------------------------------------------------------

def test_markdown_verdict_table_changed_files_and_links():
    findings = [f("sql/V3__new.sql", 2), f("sql/V3__new.sql", 5, "lint/drop-table", Severity.WARNING, "DROP TABLE t",
                                          "rename it first"),
                f("sql/V1__old.sql", 1, "lint/truncate", Severity.WARNING),
                Finding("child/unreachable", Severity.WARNING, "cascade.toml", 0, 0, "child a: no answer", "")]
    out = markdown(findings, 4, changed=[f"{SOURCE}/sql/V3__new.sql"], source=SOURCE, links=LINKS)
    lines = out.splitlines()
    assert lines[0] == MARKER
    assert lines[1].startswith("### ❌ **ddl-cascade validate failed**: 1 error, 3 warnings in 4 files checked")
    assert "| Delivered history | ✅ passed | 0 | 0 |" in out and "| Risky DDL (lint) | ⚠️ warnings | 0 | 2 |" in out
    assert out.index("| check |") < out.index("#### Findings")
    # only the changed file and the finding outside the source folder are listed; the other is counted
    assert "V3__new.sql" in out and "V1__old.sql" not in out and "cascade.toml" in out
    assert "1 finding in files this pull request does not change" in out
    assert f"[line 2:3]({BLOB}{SOURCE}/sql/V3__new.sql#L2)" in out
    assert f"[`{SOURCE}/sql/V3__new.sql`]({BLOB}{SOURCE}/sql/V3__new.sql)" in out
    assert f"[`lint/drop-table`]({DOCS}lint-rules.md#lintdrop-table)" in out
    assert f"[`sql/syntax`]({DOCS}validate.md#rules)" in out
    assert "↳ rename it first" in out

    plain = markdown(findings, 4, changed=None, source=SOURCE, links=Links(None, DOCS))
    assert "V1__old.sql" in plain and "](https://github.example" not in plain and "line 2:3:" in plain


def test_markdown_passing_collapsed_and_inert():
    assert "✅ **ddl-cascade validate passed**: no findings" in markdown([], 3, changed=[], source=SOURCE,
                                                                        links=LINKS)
    many = [f("sql/V3__x.sql", n, "lint/drop-table", Severity.WARNING, f"<img src=x> @octocat **{n}** | x")
            for n in range(1, 9)]
    out = markdown(many, 1, changed=None, source=SOURCE, links=LINKS, notes=["the folder sql2 does not exist"])
    assert "⚠️ **ddl-cascade validate passed** with 8 warnings" in out
    assert "<details><summary>3 more in this file</summary>" in out and out.count("</details>") == 2
    assert out.index("line 5:3") < out.index("3 more in this file") < out.index("line 6:3")
    assert "<img" not in out and "&lt;img src=x&gt;" in out and "@octocat" not in out and "\\*\\*1\\*\\*" in out
    assert "<details><summary>Not checked</summary>" in out


def test_markdown_stays_under_the_limit():
    huge = [f(f"sql/V{n}__x.sql", line, message="m" * 400, hint="h" * 300) for n in range(300) for line in (1, 2)]
    out = markdown(huge, 300, changed=None, source=SOURCE, links=LINKS)
    assert len(out) < LIMIT and out.startswith(MARKER + "\n")
    listed = out.count("\n- ❌")
    assert 0 < listed < len(huge)
    assert f"**{len(huge) - listed} more findings not listed**" in out
    assert out.count("<details>") == out.count("</details>")
    assert "600 errors" in out.splitlines()[1]  # the verdict counts every finding
    one = markdown([f("sql/V1__x.sql", message="x" * 200_000)], 1, changed=None, source=SOURCE, links=LINKS)
    assert len(one) < 3_000 and "…" in one


def test_format_markdown_end_to_end(make_repo, cli, tmp_path):
    repo = make_parent(make_repo, CLEAN)
    deliver(repo)
    repo.write({f"{SOURCE}/sql/V1__create_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
                f"{SOURCE}/sql/V3__bad.sql": "CREATE TABLE t (id int,);\n"})
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = cli("validate", "--format", "markdown", cwd=repo.path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 1, result
    assert result.stdout.startswith(MARKER + "\n### ❌")
    assert "V3__bad.sql" in result.stdout and "`history/modified`" in result.stdout
    text = summary.read_text()
    assert text.startswith("earlier step\n### ❌ **ddl-cascade validate failed**: 2 errors")
    assert "| check | result |" in text and "V3__bad" not in text
    cli("validate", "--json", cwd=repo.path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text().count("ddl-cascade validate failed") == 2  # appended, never overwritten


# --- --comment against the local GitHub ----------------------------------------------------------------------------

def _open_pull(forge) -> int:
    bare = forge.create_repo("acme", "app")
    tree = subprocess.run(["git", "rev-parse", "main^{tree}"], cwd=bare, capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit-tree", tree, "-p", "main",
                             "-m", "change"], cwd=bare, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "update-ref", "refs/heads/feature", commit], cwd=bare, check=True)
    request = urllib.request.Request(
        forge.api_url + "/repos/acme/app/pulls", method="POST",
        data=json.dumps({"title": "feature", "head": "feature", "base": "main"}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": "test", "Accept": "application/vnd.github+json"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())["number"]


def _actions_env(forge, tmp_path, event: dict | None) -> dict[str, str]:
    env = {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_REPOSITORY": "acme/app", "GITHUB_TOKEN": TOKEN,
           "GITHUB_SERVER_URL": forge.base_url, "GITHUB_API_URL": forge.api_url}
    if event is not None:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        env["GITHUB_EVENT_PATH"] = str(path)
    return env


def test_comment_created_then_left_then_edited(make_repo, cli, local_forge, tmp_path):
    local_forge.add_token(TOKEN, "ci-bot")
    number = _open_pull(local_forge)
    other = local_forge.add_comment("acme", "app", number, "Looks good to me")
    for n in range(110):  # ours lands on the second page of 100: it must still be found
        local_forge.add_comment("acme", "app", number, f"note {n}")
    # a finding that quotes the token (here through a file name): the comment must still not carry it
    repo = make_parent(make_repo, {**CLEAN, "sql/V3__bad.sql": "CREATE TABLE t (id int,);\n",
                                   f"sql/V5__{TOKEN}.sql": "CREATE TABLE x (id int,);\n"})
    env = _actions_env(local_forge, tmp_path, {"pull_request": {"number": number, "head": {"sha": "f" * 40}}})

    def run():
        writes = local_forge.count("rest", write=True)
        result = cli("validate", "--comment", "--format", "github", cwd=repo.path, env=env)
        assert result.code == 1 and "Traceback" not in result.stderr, result
        return result, local_forge.count("rest", write=True) - writes

    def ours() -> list[dict]:
        return [c for c in local_forge.comments("acme", "app", number) if c["body"].startswith(MARKER)]

    result, writes = run()
    assert writes == 1 and "comment created" in result.stderr and "::error file=" in result.stdout
    (first,) = ours()
    assert "V3__bad.sql" in first["body"] and f"{local_forge.base_url}/acme/app/blob/{'f' * 40}/" in first["body"]
    assert TOKEN not in first["body"] and "V5__***.sql" in first["body"]

    result, writes = run()  # the same findings: nothing is written
    assert writes == 0 and "comment unchanged" in result.stderr

    repo.write({f"{SOURCE}/sql/V4__worse.sql": "CREATE TABLE u (id int,);\n"})
    result, writes = run()
    assert writes == 1 and "comment updated" in result.stderr
    (edited,) = ours()
    assert edited["id"] == first["id"] and "V4__worse.sql" in edited["body"] and "3 errors" in edited["body"]
    by_id = {c["id"]: c for c in local_forge.comments("acme", "app", number)}
    assert len(by_id) == 112 and by_id[other]["body"] == "Looks good to me"


def test_comment_outside_a_pull_request_is_refused(make_repo, cli, local_forge, tmp_path):
    repo = make_parent(make_repo, CLEAN)
    for event in (None, {"ref": "refs/heads/main", "after": "0" * 40}):
        result = cli("validate", "--comment", cwd=repo.path, env=_actions_env(local_forge, tmp_path, event))
        assert result.code == 2 and "Traceback" not in result.stderr, result
        assert "pull_request" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert local_forge.count("rest") == 0


# --- status's job summary ------------------------------------------------------------------------------------------

def test_status_step_summary(tmp_path, cli):
    world = make_world(tmp_path, {"synced": "squash", "fresh": "squash"})
    from ddl_cascade.cascade.commands import sync

    assert sync(world.config(), ["synced"]).ok
    summary = tmp_path / "summary.md"
    result = cli("status", "--config", str(world.config_path), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 1, result
    text = summary.read_text()
    assert text.startswith("### ❌ ddl-cascade status: 1 of 2 children not in sync")
    assert "| in_sync | 1 |" in text and "| not_added | 1 |" in text
    assert "| `fresh` | not_added | no read-only folder yet |" in text and "`synced`" not in text


# --- the same kept comment on GitLab (merge-request notes) and Gitea (issue comments) -------------------------------

def _branch_with_a_commit(bare) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=bare, capture_output=True, text=True, check=True).stdout.strip()

    commit = git("-c", "user.name=t", "-c", "user.email=t@x", "commit-tree", git("rev-parse", "main^{tree}"),
                 "-p", "main", "-m", "change")
    git("update-ref", "refs/heads/feature", commit)


def _post(url: str, body: dict, headers: dict) -> dict:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                     headers={**headers, "Content-Type": "application/json", "User-Agent": "test"})
    with urllib.request.urlopen(request) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("kind", ["gitlab", "gitea"])
def test_upsert_comment_on_gitlab_and_gitea(kind, request, tmp_path, monkeypatch):
    from ddl_cascade.config import load
    from ddl_cascade.forge import Repository, WriteBudget, upsert_comment

    forge = request.getfixturevalue(f"local_{kind}")
    forge.add_token(TOKEN)
    _branch_with_a_commit(forge.create_repo("acme", "app"))
    if kind == "gitlab":
        from ddl_cascade.forge.gitlab import GitLab as Client

        number = _post(f"{forge.api_url}/projects/acme%2Fapp/merge_requests",
                       {"source_branch": "feature", "target_branch": "main", "title": "feature"},
                       {"PRIVATE-TOKEN": TOKEN})["iid"]
    else:
        from ddl_cascade.forge.gitea import Gitea as Client

        number = _post(f"{forge.api_url}/repos/acme/app/pulls", {"head": "feature", "base": "main",
                                                                 "title": "feature"},
                       {"Authorization": f"token {TOKEN}"})["number"]
    other = forge.add_comment("acme", "app", number, "Looks good to me")
    (tmp_path / "cascade.toml").write_text(f'[source]\npath = "{SOURCE}"\n[forge]\nkind = "{kind}"\n'
                                           f'api_url = "{forge.api_url}"\ntoken_env = "DDLC_FORGE_TOKEN"\n')
    monkeypatch.setenv("DDLC_FORGE_TOKEN", TOKEN)
    client = Client(load(tmp_path / "cascade.toml"), forge.api_url, WriteBudget(50))
    repo = Repository("127.0.0.1", "acme", "app")

    writes = forge.count("rest", write=True)
    assert upsert_comment(client, repo, number, MARKER, MARKER + "\none\n")[0] == "created"
    assert upsert_comment(client, repo, number, MARKER, MARKER + "\none\n")[0] == "unchanged"
    what, kept = upsert_comment(client, repo, number, MARKER, MARKER + "\ntwo\n")
    assert what == "updated" and forge.count("rest", write=True) - writes == 2
    bodies = {c["id"]: c["body"] for c in forge.comments("acme", "app", number)}
    assert bodies == {other: "Looks good to me", kept.id: MARKER + "\ntwo\n"}


# --- --comment in a simulated GitLab CI merge-request pipeline, against the local GitLab ----------------------------

GITLAB_TOKEN = "glpat-localSecretToken0123"


def _gitlab_env(forge, iid: int | None, sha: str = "e" * 40) -> dict[str, str]:
    """The predefined variables of a GitLab CI job (a merge-request pipeline's when `iid` is given), and the token."""
    env = {"GITLAB_CI": "true", "CI": "true", "CI_SERVER_URL": forge.base_url, "CI_API_V4_URL": forge.api_url,
           "CI_PROJECT_PATH": "acme/app", "CI_PROJECT_URL": f"{forge.base_url}/acme/app", "CI_COMMIT_SHA": sha,
           "CI_JOB_TOKEN": "job-token-cannot-write-notes", "GITLAB_TOKEN": GITLAB_TOKEN}
    if iid is not None:
        env |= {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": str(iid),
                "CI_MERGE_REQUEST_PROJECT_PATH": "acme/app",
                "CI_MERGE_REQUEST_PROJECT_URL": f"{forge.base_url}/acme/app"}
    else:
        env["CI_PIPELINE_SOURCE"] = "push"
    return env


def test_gitlab_note_created_then_left_then_edited(make_repo, cli, local_gitlab):
    local_gitlab.add_token(GITLAB_TOKEN, "project_7_bot")
    _branch_with_a_commit(local_gitlab.create_repo("acme", "app"))
    iid = _post(f"{local_gitlab.api_url}/projects/acme%2Fapp/merge_requests",
                {"source_branch": "feature", "target_branch": "main", "title": "feature"},
                {"PRIVATE-TOKEN": GITLAB_TOKEN})["iid"]
    other = local_gitlab.add_comment("acme", "app", iid, "Looks good to me")
    repo = make_parent(make_repo, {**CLEAN, "sql/V3__bad.sql": "CREATE TABLE t (id int,);\n",
                                   f"sql/V5__{GITLAB_TOKEN}.sql": "CREATE TABLE x (id int,);\n"})
    env = _gitlab_env(local_gitlab, iid)

    def run():
        writes = local_gitlab.count("rest", write=True)
        result = cli("validate", "--format", "markdown", "--comment", cwd=repo.path, env=env)
        assert result.code == 1 and "Traceback" not in result.stderr, result
        assert GITLAB_TOKEN not in result.stdout + result.stderr
        return result, local_gitlab.count("rest", write=True) - writes

    def ours() -> list[dict]:
        return [c for c in local_gitlab.comments("acme", "app", iid) if c["body"].startswith(MARKER)]

    result, writes = run()
    assert writes == 1, result
    assert f"merge request !{iid}: note created: {local_gitlab.base_url}/acme/app/-/merge_requests/{iid}#note_" \
        in result.stderr, result
    assert result.stdout.startswith(MARKER + "\n### ❌")
    (first,) = ours()
    assert first["body"].rstrip() == result.stdout.rstrip()
    assert f"]({local_gitlab.base_url}/acme/app/-/blob/{'e' * 40}/{SOURCE}/sql/V3__bad.sql#L1)" in first["body"]
    assert GITLAB_TOKEN not in first["body"] and "V5__***.sql" in first["body"]

    result, writes = run()  # the same findings: nothing is written
    assert writes == 0 and "note unchanged" in result.stderr

    repo.write({f"{SOURCE}/sql/V4__worse.sql": "CREATE TABLE u (id int,);\n"})
    result, writes = run()
    assert writes == 1 and "note updated" in result.stderr
    (edited,) = ours()
    assert edited["id"] == first["id"] and "V4__worse.sql" in edited["body"] and "3 errors" in edited["body"]
    assert {c["id"]: c["body"] for c in local_gitlab.comments("acme", "app", iid)}[other] == "Looks good to me"


def test_gitlab_comment_outside_a_merge_request_or_without_a_token_is_refused(make_repo, cli, local_gitlab):
    repo = make_parent(make_repo, CLEAN)
    result = cli("validate", "--comment", cwd=repo.path, env=_gitlab_env(local_gitlab, None))
    assert result.code == 2 and "Traceback" not in result.stderr, result
    assert "CI_MERGE_REQUEST_IID" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    no_token = {**_gitlab_env(local_gitlab, 1), "GITLAB_TOKEN": ""}
    result = cli("validate", "--comment", cwd=repo.path, env=no_token)
    assert result.code == 2 and "GITLAB_TOKEN" in result.stderr and "api scope" in result.stderr, result
    assert "job-token" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert local_gitlab.count("rest") == 0
