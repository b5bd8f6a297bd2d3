"""GitLab CI's environment: which merge request a pipeline runs for (the twin of actions.py for GitHub Actions).

A job learns its context from predefined variables (GitLab docs "Predefined CI/CD variables"), set in merge-request
pipelines (`$CI_PIPELINE_SOURCE == "merge_request_event"`): `CI_MERGE_REQUEST_IID` (the merge request's number in
its project), `CI_MERGE_REQUEST_PROJECT_PATH` (the project the merge request belongs to; `CI_PROJECT_PATH`, the
project the pipeline runs in, is the same one except for a fork's pipeline), `CI_API_V4_URL` (else
`CI_SERVER_URL/api/v4`), `CI_PROJECT_URL` (the base of line links), `CI_MERGE_REQUEST_PROJECT_URL` (the merge
request's page) and the head commit:
`CI_MERGE_REQUEST_SOURCE_BRANCH_SHA` in merged-results pipelines (where `CI_COMMIT_SHA` is GitLab's temporary merge
commit), else `CI_COMMIT_SHA`. The job's own `CI_JOB_TOKEN` cannot write notes: the token comes from the variable
`[forge] token_env` names (default `GITLAB_TOKEN`). Nothing else is read; a malformed variable is one sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ddl_cascade.errors import CascadeError
from ddl_cascade.forge import Repository


@dataclass(frozen=True)
class MergeRequestRun:
    """The merge request a pipeline runs for: the same fields as actions.PullRequestRun, `kind` "gitlab"."""

    repository: Repository
    number: int
    head_sha: str | None
    server_url: str
    api_url: str
    project_url: str
    merge_request_url: str
    kind: str = "gitlab"

    @property
    def blob_url(self) -> str | None:
        """`https://gitlab.example/group/project/-/blob/<head sha>/`, the base of links to the merge request's files."""
        if not self.head_sha:
            return None
        return f"{self.project_url}/-/blob/{self.head_sha}/"


def merge_request_run(env: dict[str, str] | None = None) -> MergeRequestRun | None:
    """The merge request of this pipeline; None outside GitLab CI or in a pipeline that is not a merge request's
    (no `CI_MERGE_REQUEST_IID`)."""
    env = dict(os.environ) if env is None else env
    iid = env.get("CI_MERGE_REQUEST_IID", "")
    if not iid:
        return None
    if not iid.isdigit():
        raise CascadeError(f"CI_MERGE_REQUEST_IID must be a merge request's number, not {iid!r}.")
    path = env.get("CI_MERGE_REQUEST_PROJECT_PATH") or env.get("CI_PROJECT_PATH", "")
    owner, _, name = path.strip("/").rpartition("/")
    if not owner or not name:
        raise CascadeError(f"CI_PROJECT_PATH must be group/project, not {path!r}.")
    server = env.get("CI_SERVER_URL", "").rstrip("/")
    api = (env.get("CI_API_V4_URL") or (f"{server}/api/v4" if server else "")).rstrip("/")
    if not server and api.endswith("/api/v4"):
        server = api[: -len("/api/v4")]
    if not server.startswith(("http://", "https://")):
        raise CascadeError(f"CI_SERVER_URL must be the GitLab instance's URL (https://HOST), not {server!r}.")
    project_url = (env.get("CI_PROJECT_URL") or f"{server}/{path}").rstrip("/")
    mr_project = (env.get("CI_MERGE_REQUEST_PROJECT_URL") or project_url).rstrip("/")
    sha = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA") or None
    host = server.split("://", 1)[1].split("/", 1)[0]
    return MergeRequestRun(Repository(host, owner, name), int(iid), sha, server, api, project_url,
                           f"{mr_project}/-/merge_requests/{iid}")
