"""Forges: the pull requests a child's forge keeps, behind one small interface (`Forge`).

Pull-request delivery (cascade/pullrequests.py) needs only this from a forge: find the pull request of a branch, open
one, update its title and body, reopen it, label it, ask for reviews, and turn on auto-merge (or merge at once).
`validate --comment` needs a pull request's comments: list them, add one, edit one (`upsert_comment` keeps the one
comment that carries a marker current). Each
forge is one module that implements `Forge` with a well-kept client library (github.py: PyGithub), or a small client of
its own where none is well kept (gitea.py, on `requests`). A child's forge
and repository come from its URL (`repository_of`: https, ssh and scp-like forms) and `[forge]` in cascade.toml.

Credentials: the token is read from the environment variable `[forge] token_env` names (or minted from a GitHub App's
key), held in memory only, handed to git through the environment (`git_credentials`), and never printed.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

from ddl_cascade.config import Config, ForgeSettings
from ddl_cascade.errors import CascadeError

OPEN, CLOSED, MERGED = "open", "closed", "merged"


class ForgeError(CascadeError):
    """The forge refused a request or could not be reached (the message names the child and says why)."""


@dataclass(frozen=True)
class Repository:
    """A child's repository on its forge: `host`, `owner` (may hold `/` for GitLab groups) and `name`."""

    host: str
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def repository_of(url: str) -> Repository | None:
    """The forge repository of a git URL (`https://host/o/r.git`, `ssh://git@host:22/o/r.git`, `git@host:o/r.git`);
    None for a local path or a URL without an owner and a name."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git") or not parts.hostname:
            return None
        host = parts.hostname + (f":{parts.port}" if parts.port and parts.scheme in ("http", "https") else "")
        path = parts.path
    else:
        m = _SCP.match(url)
        if m is None:
            return None
        host, path = m["host"], m["path"]
    segments = [s for s in path.strip("/").removesuffix(".git").split("/") if s]
    if len(segments) < 2:
        return None
    return Repository(host, "/".join(segments[:-1]), segments[-1])


def kind_of(settings: ForgeSettings, repository: Repository) -> str:
    """`[forge] kind`, else guessed from the host: github.com is GitHub, a host starting with `gitlab.` GitLab."""
    if settings.kind:
        return settings.kind
    host = repository.host.split(":")[0].lower()
    if host == "github.com" or host.endswith(".github.com"):
        return "github"
    if host.startswith("gitlab.") or host == "gitlab.com":
        return "gitlab"
    return "gitea"


TOKEN_ENV = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}


def token_from_environment(settings: ForgeSettings, kind: str, file: str) -> str:
    name = settings.token_env or TOKEN_ENV[kind]
    value = os.environ.get(name)
    if not value:
        raise CascadeError(f"{file}: pull-request delivery needs a {kind} token in the environment variable {name} "
                           "([forge] token_env), which is not set.")
    return value


@dataclass
class PullRequest:
    """A pull (or merge) request as ddl-cascade needs it."""

    number: int
    url: str
    state: str  # open, closed (without merging) or merged
    head_branch: str
    head_sha: str
    title: str
    body: str
    created_at: datetime
    node_id: str | None = None  # GitHub's GraphQL id (auto-merge)
    raw: Any = field(default=None, repr=False, compare=False)  # the client library's object

    @property
    def age_days(self) -> int:
        return max(0, (datetime.now(timezone.utc) - self.created_at).days)


@dataclass
class Comment:
    """A comment on a pull request (GitHub's issue comment, GitLab's merge-request note, Gitea's issue comment)."""

    id: int
    body: str
    url: str
    author: str = ""


@dataclass(frozen=True)
class Access:
    """What a forge says one credential may do in one repository (`doctor`): `credential` is "token" or "app";
    `scopes` a classic token's OAuth scopes (None when the forge did not say, e.g. a fine-grained token); `contents`
    and `pull_requests` are "write", "read" or "none" (None: the forge does not say)."""

    credential: str
    scopes: tuple[str, ...] | None
    contents: str | None
    pull_requests: str | None


def pull_request_changes(pr: PullRequest, title: str, body: str, *, body_key: str = "body",
                         reopen: tuple[str, str] | None = None) -> dict[str, Any]:
    """The fields of an update that differ from `pr`: the title and the body only when they changed, and the forge's
    (field, value) that reopens it when given. Empty: no write at all."""
    changes: dict[str, Any] = {}
    if title != pr.title:
        changes["title"] = title
    if body != pr.body:
        changes[body_key] = body
    if reopen is not None:
        changes[reopen[0]] = reopen[1]
    return changes


class Forge(Protocol):
    """What pull-request delivery asks of a forge. Every write goes through the run's `WriteBudget`."""

    kind: str

    def find(self, repo: Repository, branch: str, base: str | None = None) -> PullRequest | None:
        """The pull request whose head is `branch` (into `base`, when the forge can only list by base): the open one,
        else the newest; None when there is none."""
        ...

    def create(self, repo: Repository, *, branch: str, base: str, title: str, body: str,
               draft: bool) -> PullRequest: ...

    def update(self, repo: Repository, pr: PullRequest, *, title: str, body: str, reopen: bool = False
               ) -> PullRequest: ...

    def decorate(self, repo: Repository, pr: PullRequest, *, labels: tuple[str, ...], reviewers: tuple[str, ...],
                 team_reviewers: tuple[str, ...]) -> None: ...

    def auto_merge(self, repo: Repository, pr: PullRequest, method: str) -> str:
        """Turn auto-merge on (or merge now, when the forge says the pull request can merge): what happened."""
        ...

    def git_credentials(self, repo: Repository) -> tuple[str, str]:
        """(user name, password) that git's HTTPS transport uses for this forge."""
        ...

    def comments(self, repo: Repository, number: int) -> list[Comment]:
        """Every comment on pull request `number`, oldest first (all pages)."""
        ...

    def add_comment(self, repo: Repository, number: int, body: str) -> Comment: ...

    def edit_comment(self, repo: Repository, number: int, comment: Comment, body: str) -> Comment: ...


def upsert_comment(forge: Forge, repo: Repository, number: int, marker: str, body: str) -> tuple[str, Comment]:
    """Keep one comment that opens with `marker` on pull request `number`, with `body`: ("created", …) when there was
    none, ("updated", …) when its body changed, ("unchanged", …) when it already said this (no write at all).
    `body` must open with `marker`; the oldest such comment is the one kept."""
    if not body.startswith(marker):
        raise ValueError("a kept comment opens with its marker")
    for comment in forge.comments(repo, number):
        if comment.body.startswith(marker):
            if comment.body.rstrip() == body.rstrip():  # forges may trim a trailing newline
                return "unchanged", comment
            return "updated", forge.edit_comment(repo, number, comment, body)
    return "created", forge.add_comment(repo, number, body)


class WriteBudget:
    """At most `per_second` API writes per second over the whole run, whatever the number of threads (forges punish
    bursts of writes with secondary rate limits)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()
        self.writes = 0

    def take(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
            self.writes += 1
        if start > now:
            time.sleep(start - now)


_clients: dict[tuple[type, str, int], Any] = {}
_clients_lock = threading.Lock()


def shared_client(cls: type, config: Config, url: str, budget: WriteBudget) -> Any:
    """The one client of kind `cls` for the API at `url` in this run (its write budget): every child of the run that
    lives on that forge shares it, with its connections and tokens."""
    with _clients_lock:
        key = (cls, url, id(budget))
        if key not in _clients:
            _clients[key] = cls(config, url, budget)
        return _clients[key]
