"""GitHub Actions' environment: which pull request a workflow runs for, and its job summary file.

A workflow step learns its context from variables the runner sets (docs "Variables" and "Events that trigger
workflows"): `GITHUB_EVENT_PATH` (the webhook payload as JSON: `pull_request.number`, `pull_request.head.sha`),
`GITHUB_REPOSITORY` (owner/name), `GITHUB_SERVER_URL` (https://github.com, or a GitHub Enterprise host),
`GITHUB_API_URL` and the token in `GITHUB_TOKEN` (a workflow passes it with `env:`; the runner does not set it).
`GITHUB_STEP_SUMMARY` names a file whose Markdown becomes the job's summary page. Everything here reads those, and
nothing else; a missing or malformed one is one sentence naming it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ddl_cascade.errors import CascadeError
from ddl_cascade.forge import Repository


@dataclass(frozen=True)
class PullRequestRun:
    """The pull request a workflow runs for. `head_sha` is its head commit (what the comment's line links show)."""

    repository: Repository
    number: int
    head_sha: str | None
    server_url: str
    api_url: str
    kind: str = "github"

    @property
    def blob_url(self) -> str | None:
        """`https://github.com/o/r/blob/<head sha>/`, the base of links to the pull request's files."""
        if not self.head_sha:
            return None
        return f"{self.server_url}/{self.repository.full_name}/blob/{self.head_sha}/"


def _event(env: dict[str, str]) -> dict | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CascadeError(f"GITHUB_EVENT_PATH names {path}, which cannot be read ({exc.strerror}).") from None
    except ValueError:
        raise CascadeError(f"GITHUB_EVENT_PATH names {path}, which is not JSON.") from None
    return data if isinstance(data, dict) else None


def pull_request_run(env: dict[str, str] | None = None) -> PullRequestRun | None:
    """The pull request of this workflow run; None outside GitHub Actions or when the event is not a pull request's
    (`pull_request` and `pull_request_target` carry one)."""
    env = dict(os.environ) if env is None else env
    event = _event(env)
    pull = event.get("pull_request") if event is not None else None
    if not isinstance(pull, dict) or not isinstance(pull.get("number"), int):
        return None
    full_name = env.get("GITHUB_REPOSITORY", "")
    owner, _, name = full_name.partition("/")
    if not owner or not name:
        raise CascadeError(f"GITHUB_REPOSITORY must be owner/name, not {full_name!r}.")
    server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    api = (env.get("GITHUB_API_URL") or ("https://api.github.com" if server == "https://github.com"
                                         else f"{server}/api/v3")).rstrip("/")
    head = pull.get("head")
    sha = head.get("sha") if isinstance(head, dict) and isinstance(head.get("sha"), str) else None
    host = server.split("://", 1)[-1]
    return PullRequestRun(Repository(host, owner, name), pull["number"], sha, server, api)


def append_step_summary(markdown: str, env: dict[str, str] | None = None) -> bool:
    """Append to the job summary when running in GitHub Actions (`GITHUB_STEP_SUMMARY` set); whether it was."""
    env = dict(os.environ) if env is None else env
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(markdown)
    except OSError as exc:
        raise CascadeError(f"GITHUB_STEP_SUMMARY names {path}, which cannot be written ({exc.strerror}).") from None
    return True
