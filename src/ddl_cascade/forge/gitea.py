"""Gitea (and Forgejo) pull requests through their REST API v1, with a small client on `requests`.

Why no client library: the Python clients for Gitea on PyPI are either code generated from one Gitea version's swagger
(pinned to it), async, or thin wrappers without pull requests (py-gitea); none waits out `Retry-After`. What
delivery needs is eight requests, so they are written here (`_Client`): token authentication
(`Authorization: token X`), `Link`-header pagination, `Retry-After` (429/503 from Gitea or its reverse proxy) waited
out, the run's `WriteBudget` for every write, and every error turned into one sentence naming the repository.

How Gitea differs from GitHub, and what is done about it:

- The list of pull requests has no `head` filter (`GET /repos/{o}/{r}/pulls/{base}/{head}` exists in newer versions,
  but returns any one of several pull requests of that pair, not the newest): `find` lists the pull requests into
  the child's base branch, newest first, and takes the first whose head is the branch (one read in practice).
- Labels are given by id: the repository's labels are read once per repository and run, and a missing one is
  created (as GitHub creates a label that does not exist yet).
- Drafts are titles starting with `WIP:` (Gitea's default `WORK_IN_PROGRESS_PREFIXES`); an update keeps the prefix.
- Auto-merge is `POST …/merge {"do": method, "merge_when_checks_succeed": true}` (`do` as the swagger spells it;
  Go's JSON decoding also takes Gitea's documented `Do`): Gitea merges at once when it can
  (200) and schedules the merge otherwise (201, which its swagger does not document); a pull request that cannot be
  merged yet (405, 409) is left to a human, as on GitHub.
- Git over HTTPS takes the token as the password (any user name; the token's owner is used).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from ddl_cascade.config import Config
from ddl_cascade.forge import (CLOSED, MERGED, OPEN, Comment, ForgeError, PullRequest, Repository, WriteBudget,
                               pull_request_changes, shared_client, token_from_environment)
from ddl_cascade.redact import redact

_PAGE = 50              # Gitea's default MAX_RESPONSE_ITEMS: a larger `limit` is cut to it
_RETRIES = 6
_MAX_WAIT = 120.0       # the longest Retry-After honoured before giving up
_WIP = ("WIP:", "[WIP]")
_LABEL_COLOUR = "#ededed"
_GIT_USER = "ddl-cascade"  # Gitea reads the token from the password; the name is not checked


def api_url(config: Config, repo: Repository) -> str:
    if config.forge.api_url:
        return config.forge.api_url.rstrip("/")
    return f"https://{repo.host}/api/v1"


class _Response:
    def __init__(self, status: int, data: Any, links: dict[str, str]) -> None:
        self.status, self.data, self.links = status, data, links


class Gitea:
    """One Gitea API (URL and token), shared by every child of the run that lives there."""

    kind = "gitea"

    @classmethod
    def shared(cls, config: Config, repo: Repository, budget: WriteBudget) -> "Gitea":
        return shared_client(cls, config, api_url(config, repo), budget)

    def __init__(self, config: Config, url: str, budget: WriteBudget) -> None:
        self.url = url
        self.budget = budget
        self.timeout = max(1.0, float(config.sync.timeout))
        self._token = token_from_environment(config.forge, "gitea", str(config.file))
        self._local = threading.local()     # one requests.Session per thread (sessions are not thread-safe)
        self._labels: dict[str, dict[str, int]] = {}    # owner/name -> lower-case label name -> id
        self._lock = threading.Lock()

    def git_credentials(self, repo: Repository) -> tuple[str, str]:
        return _GIT_USER, self._token

    # -- requests ---------------------------------------------------------------------------------------------------

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.headers.update({"Authorization": f"token {self._token}", "Accept": "application/json",
                                    "User-Agent": "ddl-cascade"})
            self._local.session = session
        return session

    def _request(self, repo: Repository, what: str, method: str, path: str, *, params: dict | None = None,
                 body: dict | None = None, write: bool = False, accept: tuple[int, ...] = ()) -> _Response:
        """One API call: waits out Retry-After, takes the write budget for a write, and turns a refusal into one
        sentence (`ForgeError`) unless its status is in `accept`."""
        import requests

        url = path if path.startswith(("http://", "https://")) else self.url + path
        for attempt in range(1, _RETRIES + 1):
            if write:
                self.budget.take()
            try:
                resp = self._session().request(method, url, params=params, json=body, timeout=self.timeout)
            except requests.RequestException as exc:
                raise ForgeError(redact(f"cannot reach {self.url} to {what} for {repo.full_name}: "
                                        f"{_reason(exc)}")) from None
            wait = _retry_after(resp)
            if wait is not None and attempt < _RETRIES:
                time.sleep(wait)
                continue
            try:
                data = resp.json() if resp.content else None
            except ValueError:
                data = resp.text
            if resp.status_code < 400 or resp.status_code in accept:
                links = {link.get("rel", ""): link.get("url", "") for link in resp.links.values()}
                return _Response(resp.status_code, data, links)
            raise ForgeError(redact(f"Gitea answered {resp.status_code} for {repo.full_name} while trying to {what}: "
                                    + _message(data, resp.reason)))
        raise AssertionError("unreachable")

    def _repo_path(self, repo: Repository) -> str:
        return f"/repos/{quote(repo.owner, safe='')}/{quote(repo.name, safe='')}"

    # -- pull requests ----------------------------------------------------------------------------------------------

    @staticmethod
    def _pull(raw: dict) -> PullRequest:
        state = MERGED if raw.get("merged") else OPEN if raw.get("state") == "open" else CLOSED
        head = raw.get("head") or {}
        return PullRequest(int(raw["number"]), raw.get("html_url") or "", state, head.get("ref") or "",
                           head.get("sha") or "", raw.get("title") or "", raw.get("body") or "",
                           _time(raw.get("created_at")), None, raw)

    def find(self, repo: Repository, branch: str, base: str | None = None) -> PullRequest | None:
        what = f"find the pull request of branch '{branch}'"
        params: dict[str, Any] = {"state": "all", "limit": _PAGE}
        if base:
            params["base_branch"] = base
        url: str | None = self._repo_path(repo) + "/pulls"
        while url:
            resp = self._request(repo, what, "GET", url, params=params)
            for raw in resp.data or []:
                # Newest first (Gitea's default order): the first pull request of the branch decides, as on GitHub.
                if (raw.get("head") or {}).get("ref") == branch:
                    return self._pull(raw)
            url, params = resp.links.get("next"), None
        return None

    def create(self, repo: Repository, *, branch: str, base: str, title: str, body: str,
               draft: bool) -> PullRequest:
        payload = {"head": branch, "base": base, "title": f"{_WIP[0]} {title}" if draft else title, "body": body}
        resp = self._request(repo, "open a pull request", "POST", self._repo_path(repo) + "/pulls", body=payload,
                             write=True)
        return self._pull(resp.data)

    def update(self, repo: Repository, pr: PullRequest, *, title: str, body: str, reopen: bool = False
               ) -> PullRequest:
        wip = next((p for p in _WIP if pr.title.startswith(p)), None)
        if wip and not title.startswith(wip):
            title = f"{wip} {title}"
        changes = pull_request_changes(pr, title, body, reopen=("state", "open") if reopen else None)
        if not changes:
            return pr
        resp = self._request(repo, f"update pull request #{pr.number}", "PATCH",
                             f"{self._repo_path(repo)}/pulls/{pr.number}", body=changes, write=True)
        return self._pull(resp.data)

    def decorate(self, repo: Repository, pr: PullRequest, *, labels: tuple[str, ...], reviewers: tuple[str, ...],
                 team_reviewers: tuple[str, ...]) -> None:
        if labels:
            ids = [self._label_id(repo, name) for name in labels]
            self._request(repo, f"label pull request #{pr.number}", "POST",
                          f"{self._repo_path(repo)}/issues/{pr.number}/labels", body={"labels": ids}, write=True)
        if reviewers or team_reviewers:
            payload: dict[str, list[str]] = {}
            if reviewers:
                payload["reviewers"] = list(reviewers)
            if team_reviewers:
                payload["team_reviewers"] = list(team_reviewers)
            self._request(repo, f"request reviews on pull request #{pr.number}", "POST",
                          f"{self._repo_path(repo)}/pulls/{pr.number}/requested_reviewers", body=payload, write=True)

    def _label_id(self, repo: Repository, name: str) -> int:
        """The id of label `name` in the repository (read once per run), created when it does not exist."""
        with self._lock:
            known = self._labels.get(repo.full_name)
        if known is None:
            known = {}
            url: str | None = self._repo_path(repo) + "/labels"
            params: dict | None = {"limit": _PAGE}
            while url:
                resp = self._request(repo, "read the repository's labels", "GET", url, params=params)
                for label in resp.data or []:
                    known.setdefault(str(label["name"]).lower(), int(label["id"]))
                url, params = resp.links.get("next"), None
            with self._lock:
                self._labels[repo.full_name] = known
        if name.lower() not in known:
            resp = self._request(repo, f"create the label '{name}'", "POST", self._repo_path(repo) + "/labels",
                                 body={"name": name, "color": _LABEL_COLOUR}, write=True)
            with self._lock:
                known[name.lower()] = int(resp.data["id"])
        return known[name.lower()]

    def auto_merge(self, repo: Repository, pr: PullRequest, method: str) -> str:
        payload = {"do": method, "merge_when_checks_succeed": True, "head_commit_id": pr.head_sha}
        resp = self._request(repo, f"merge pull request #{pr.number}", "POST",
                             f"{self._repo_path(repo)}/pulls/{pr.number}/merge", body=payload, write=True,
                             accept=(405, 409))
        if resp.status == 201:
            return "auto-merge"         # scheduled: Gitea merges it once the required checks pass
        if resp.status in (405, 409):
            return "waiting"            # not mergeable yet (reviews, conflicts) or the head moved: a human's turn
        return "merged"

    # -- pull-request comments (issue comments) --------------------------------------------------------------------

    @staticmethod
    def _comment(raw: dict) -> Comment:
        return Comment(int(raw["id"]), raw.get("body") or "", raw.get("html_url") or "",
                       (raw.get("user") or {}).get("login") or "")

    def comments(self, repo: Repository, number: int) -> list[Comment]:
        """Gitea answers an issue's comments whole (the endpoint takes no page), oldest first."""
        resp = self._request(repo, f"list the comments of pull request #{number}", "GET",
                             f"{self._repo_path(repo)}/issues/{number}/comments")
        return [self._comment(raw) for raw in resp.data or []]

    def add_comment(self, repo: Repository, number: int, body: str) -> Comment:
        resp = self._request(repo, f"comment on pull request #{number}", "POST",
                             f"{self._repo_path(repo)}/issues/{number}/comments", body={"body": body}, write=True)
        return self._comment(resp.data)

    def edit_comment(self, repo: Repository, number: int, comment: Comment, body: str) -> Comment:
        resp = self._request(repo, f"edit comment {comment.id} on pull request #{number}", "PATCH",
                             f"{self._repo_path(repo)}/issues/comments/{comment.id}", body={"body": body},
                             write=True)
        return self._comment(resp.data)


def _retry_after(resp) -> float | None:
    """Seconds to wait before the same request again: Retry-After on 429/503 (Gitea's own limiter, or a proxy's)."""
    if resp.status_code not in (429, 503):
        return None
    value = resp.headers.get("Retry-After")
    if value is None:
        return 1.0 if resp.status_code == 429 else None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), _MAX_WAIT)


def _message(data: Any, reason: str | None) -> str:
    text = ""
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors")
        if errors:
            text += f" ({'; '.join(str(e) for e in errors)})"
    elif isinstance(data, str):
        text = data
    return " ".join((text or reason or "no reason given").split())


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _time(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

