"""GitHub (and GitHub Enterprise) pull requests through PyGithub.

Why PyGithub: it is synchronous (the engine delivers from a thread pool), it paginates, its `GithubRetry` honours
`Retry-After`, `x-ratelimit-reset` and GitHub's "secondary rate limit" answers, and its App authentication mints
installation tokens and renews them before they expire. What it does not do, we add: one write budget for the whole
run (`WriteBudget`, thread-safe, instead of PyGithub's per-client pacing), a token revoked early (401) renewed once,
and every GitHub error turned into one sentence naming the repository.

REST covers everything; GraphQL (`[forge] graphql = true`, the default) is used for auto-merge
(`enablePullRequestAutoMerge`). With `graphql = false`, or when GitHub answers that the pull request is already
mergeable ("clean status") or that the branch has no protection, auto-merge merges at once through REST when the
pull request can merge.
"""

from __future__ import annotations

import os
import threading
from datetime import timezone
from typing import Any, Callable, TypeVar

from ddl_cascade.config import Config
from ddl_cascade.errors import CascadeError
from ddl_cascade.forge import (CLOSED, MERGED, OPEN, Access, Comment, ForgeError, PullRequest, Repository,
                               WriteBudget, pull_request_changes, shared_client, token_from_environment)
from ddl_cascade.redact import redact

T = TypeVar("T")
_GIT_USER = "x-access-token"  # what GitHub expects as the user name with a token over HTTPS
_MERGE_NOW = ("clean status", "protected branch rules not configured", "pull request is in clean status")


def api_url(config: Config, repo: Repository) -> str:
    if config.forge.api_url:
        return config.forge.api_url.rstrip("/")
    if repo.host == "github.com":
        return "https://api.github.com"
    return f"https://{repo.host}/api/v3"


class GitHub:
    """One GitHub API (URL and credentials), shared by every child of the run that lives there."""

    kind = "github"

    @classmethod
    def shared(cls, config: Config, repo: Repository, budget: WriteBudget) -> "GitHub":
        return shared_client(cls, config, api_url(config, repo), budget)

    def __init__(self, config: Config, url: str, budget: WriteBudget, token: str | None = None) -> None:
        """`token`: use it (GitHub Actions' GITHUB_TOKEN for the workflow's own repository) instead of [forge]'s."""
        self.config = config
        self.url = url
        self.budget = budget
        self.graphql = config.forge.graphql
        self._lock = threading.Lock()
        self._app = None
        self._installations: dict[str, Any] = {}  # owner/name -> AppInstallationAuth
        if token is not None:
            self._token = token
        elif config.forge.app_id:
            key_env = config.forge.private_key_env or "DDL_CASCADE_APP_KEY"
            key = os.environ.get(key_env)
            if not key:
                raise CascadeError(f"{config.file}: [forge] app_id is set, but the environment variable {key_env} "
                                   "([forge] private_key_env) holding the App's private key is not set.")
            from github import Auth

            self._app = Auth.AppAuth(config.forge.app_id, key)
            self._token = None
        else:
            self._token = token_from_environment(config.forge, "github", str(config.file))
        self._clients: dict[str, Any] = {}

    # -- clients and credentials -----------------------------------------------------------------------------------

    def _auth(self, repo: Repository, renew: bool = False):
        from github import Auth, GithubIntegration

        if self._app is None:
            return Auth.Token(self._token)
        with self._lock:
            auth = self._installations.get(repo.full_name)
            if auth is None or renew:
                integration = GithubIntegration(auth=self._app, base_url=self.url)
                installation = integration.get_repo_installation(repo.owner, repo.name)
                auth = self._app.get_installation_auth(installation.id)
                self._installations[repo.full_name] = auth
                self._clients.pop(repo.full_name, None)
            return auth

    def _client(self, repo: Repository):
        from github import Github, GithubRetry

        key = repo.full_name if self._app is not None else ""
        with self._lock:
            client = self._clients.get(key)
        if client is None:
            client = Github(base_url=self.url, auth=self._auth(repo), retry=GithubRetry(total=6), per_page=100,
                            timeout=max(1, round(self.config.sync.timeout)), seconds_between_requests=None,
                            seconds_between_writes=None, lazy=True)
            with self._lock:
                self._clients[key] = client
        return client

    def git_credentials(self, repo: Repository) -> tuple[str, str]:
        if self._app is None:
            return _GIT_USER, self._token
        # An installation's auth works once a client holds it (PyGithub's withRequester). Through `_call`, so an
        # App not installed on the repository (404) is one sentence, not a traceback.
        return self._call(repo, "mint an App installation token",
                          lambda _r: (self._client(repo), (_GIT_USER, self._auth(repo).token))[1])

    def _call(self, repo: Repository, what: str, work: Callable[[Any], T], write: bool = False) -> T:
        """Run `work(repository object)`; a token revoked early is renewed once; errors become one sentence."""
        from github import BadCredentialsException, GithubException

        for attempt in (1, 2):
            if write:
                self.budget.take()
            try:
                return work(self._client(repo).get_repo(repo.full_name, lazy=True))
            except BadCredentialsException:
                if self._app is None or attempt == 2:
                    raise ForgeError(f"GitHub refused the credentials for {repo.full_name} while trying to {what}.")
                self._auth(repo, renew=True)
            except GithubException as exc:
                message = exc.data.get("message") if isinstance(exc.data, dict) else None
                errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
                detail = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors or [])
                text = f"{message or exc}" + (f" ({detail})" if detail else "")
                raise ForgeError(redact(f"GitHub answered {exc.status} for {repo.full_name} while trying to {what}: "
                                        + " ".join(text.split()))) from None
            except OSError as exc:  # connection refused, timeout, TLS
                raise ForgeError(redact(f"cannot reach {self.url} to {what} for {repo.full_name}: {exc}")) from None
        raise AssertionError("unreachable")

    def access(self, repo: Repository) -> Access:
        """What this run's credential may do in `repo` (`doctor`). An App: its installation's permissions. A token:
        the repository's `permissions` as GitHub reports them for the token's user (`push`, `pull`) and, for a classic
        token, its OAuth scopes (the `X-OAuth-Scopes` header; `repo` or `public_repo` covers pull requests)."""
        if self._app is not None:
            from github import GithubIntegration

            def installation(_r):
                found = GithubIntegration(auth=self._app, base_url=self.url).get_repo_installation(repo.owner,
                                                                                                   repo.name)
                return dict(found.permissions or {})

            granted = self._call(repo, "read the App installation's permissions", installation)
            return Access("app", None, granted.get("contents", "none"), granted.get("pull_requests", "none"))

        def token(r):
            data = r.raw_data  # one GET /repos/{owner}/{repo}
            return dict(data.get("permissions") or {}), self._client(repo).oauth_scopes

        permissions, scopes = self._call(repo, "read the repository's permissions", token)
        contents = "write" if permissions.get("push") else "read" if permissions.get("pull") else "none"
        if scopes is None:  # a fine-grained token: no scopes header; pushing implies opening pull requests
            pulls = "write" if permissions.get("push") else contents
        else:
            pulls = "write" if {"repo", "public_repo"} & set(scopes) else "none"
        return Access("token", tuple(scopes) if scopes is not None else None, contents, pulls)

    # -- pull requests ----------------------------------------------------------------------------------------------

    @staticmethod
    def _pull(raw) -> PullRequest:
        state = MERGED if raw.merged_at is not None else OPEN if raw.state == "open" else CLOSED
        created = raw.created_at if raw.created_at.tzinfo else raw.created_at.replace(tzinfo=timezone.utc)
        return PullRequest(raw.number, raw.html_url, state, raw.head.ref, raw.head.sha, raw.title or "",
                           raw.body or "", created, raw.node_id, raw)

    def find(self, repo: Repository, branch: str, base: str | None = None) -> PullRequest | None:
        def work(r):
            newest = None
            for raw in r.get_pulls(state="all", head=f"{repo.owner}:{branch}", sort="created", direction="desc"):
                if raw.head.ref != branch:
                    continue
                if raw.state == "open":
                    return self._pull(raw)
                newest = newest or raw
                break  # newest first: the first closed one decides, unless an open one comes before it
            return self._pull(newest) if newest is not None else None

        return self._call(repo, f"find the pull request of branch '{branch}'", work)

    def create(self, repo: Repository, *, branch: str, base: str, title: str, body: str,
               draft: bool) -> PullRequest:
        return self._call(repo, "open a pull request",
                          lambda r: self._pull(r.create_pull(base=base, head=branch, title=title, body=body,
                                                             draft=draft)), write=True)

    def update(self, repo: Repository, pr: PullRequest, *, title: str, body: str, reopen: bool = False
               ) -> PullRequest:
        changes = pull_request_changes(pr, title, body, reopen=("state", "open") if reopen else None)
        if not changes:
            return pr

        def work(r):
            raw = r.get_pull(pr.number)
            raw.edit(**changes)
            return self._pull(raw)

        return self._call(repo, f"update pull request #{pr.number}", work, write=True)

    def decorate(self, repo: Repository, pr: PullRequest, *, labels: tuple[str, ...], reviewers: tuple[str, ...],
                 team_reviewers: tuple[str, ...]) -> None:
        if labels:
            # `{"labels": [...]}`, the form GitHub's OpenAPI description gives (PyGithub's add_to_labels sends a bare
            # array, which the description does not allow).
            self._call(repo, f"label pull request #{pr.number}",
                       lambda r: self._client(repo).requester.requestJsonAndCheck(
                           "POST", f"{r.url}/issues/{pr.number}/labels", input={"labels": list(labels)}), write=True)
        if reviewers or team_reviewers:
            self._call(repo, f"request reviews on pull request #{pr.number}",
                       lambda r: r.get_pull(pr.number).create_review_request(
                           reviewers=list(reviewers), team_reviewers=list(team_reviewers)), write=True)

    def auto_merge(self, repo: Repository, pr: PullRequest, method: str) -> str:
        from github import GithubException

        if self.graphql:
            try:
                # Asks for the one field it needs (PyGithub's enable_automerge asks for the whole pull request).
                self._call(repo, f"turn on auto-merge for pull request #{pr.number}",
                           lambda r: self._client(repo).requester.graphql_named_mutation(
                               "enablePullRequestAutoMerge",
                               {"pullRequestId": pr.node_id, "mergeMethod": method.upper()},
                               "pullRequest { number }"), write=True)
                return "auto-merge"
            except ForgeError as exc:
                if not any(s in str(exc).lower() for s in _MERGE_NOW):
                    raise
        def work(r):
            raw = r.get_pull(pr.number)
            if raw.mergeable is not True:
                return "waiting"
            self.budget.take()
            try:
                raw.merge(merge_method=method, sha=pr.head_sha)
            except GithubException as exc:
                if exc.status in (405, 409):  # not mergeable (checks, reviews) or the head moved: a human's turn
                    return "waiting"
                raise
            return "merged"

        return self._call(repo, f"merge pull request #{pr.number}", work)

    # -- pull-request comments (issue comments) ----------------------------------------------------------------------

    @staticmethod
    def _comment(raw) -> Comment:
        return Comment(raw.id, raw.body or "", raw.html_url, raw.user.login if raw.user is not None else "")

    def comments(self, repo: Repository, number: int) -> list[Comment]:
        return self._call(repo, f"list the comments of pull request #{number}",
                          lambda r: [self._comment(c) for c in r.get_issue(number).get_comments()])

    def add_comment(self, repo: Repository, number: int, body: str) -> Comment:
        return self._call(repo, f"comment on pull request #{number}",
                          lambda r: self._comment(r.get_issue(number).create_comment(body)), write=True)

    def edit_comment(self, repo: Repository, number: int, comment: Comment, body: str) -> Comment:
        def work(r):
            raw = r.get_issue(number).get_comment(comment.id)
            raw.edit(body)
            return self._comment(raw)

        return self._call(repo, f"edit comment {comment.id} on pull request #{number}", work, write=True)
