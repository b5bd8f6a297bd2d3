"""GitLab (gitlab.com and self-managed) merge requests through python-gitlab.

Why python-gitlab: it is synchronous (the engine delivers from a thread pool), it paginates, it URL-encodes a project's
full path (`group/sub/project` becomes the project id `group%2Fsub%2Fproject`), and with `retry_transient_errors` it
waits out 429 answers (honouring `Retry-After`) and retries 5xx. What it does not do, we add: one write budget for the
whole run (`WriteBudget`), and every GitLab error turned into one sentence naming the project.

A merge request maps onto the `Forge` interface so (GitLab's REST API v4, docs "Merge requests API"):

- find: `GET /projects/:id/merge_requests?state=all&source_branch=B`, newest first; the open one wins;
- create: `POST /projects/:id/merge_requests {source_branch, target_branch, title, description}`; a draft is
  a title starting with "Draft: " (the form every GitLab version reads);
- update: `PUT /projects/:id/merge_requests/:iid {title, description, state_event: "reopen"}`; a "Draft: " prefix
  still on the merge request is kept (removing it is the reviewer's call);
- decorate: one `PUT` with `add_labels` and `reviewer_ids` (user names looked up with `GET /users?username=`);
  GitLab has no team reviewers, so `team_reviewers` fails the child with a sentence saying so;
- auto-merge: `PUT /projects/:id/merge_requests/:iid/merge {auto_merge, merge_when_pipeline_succeeds, sha[,
  squash]}`. GitLab itself merges at once when no pipeline runs and the merge request can merge, and sets
  auto-merge when one runs; both names of the flag are sent (GitLab 17.11 renamed it; older versions ignore the new
  name). Answers 405/406/409/422 (not mergeable yet, conflicts, head moved) leave it to a human: "waiting".

GitLab states: opened -> open, closed -> closed, merged -> merged (locked, a transient state, reads as open).
Git over HTTPS uses the user name `oauth2` with the token as password.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar
from urllib.parse import quote

from ddl_cascade.config import Config
from ddl_cascade.forge import (CLOSED, MERGED, OPEN, Comment, ForgeError, PullRequest, Repository, WriteBudget,
                               pull_request_changes, shared_client, token_from_environment)
from ddl_cascade.redact import redact

T = TypeVar("T")
_GIT_USER = "oauth2"  # what GitLab expects as the user name with a token over HTTPS
DRAFT = "Draft: "
_STATES = {"opened": OPEN, "locked": OPEN, "closed": CLOSED, "merged": MERGED}
_WAITING = (405, 406, 409, 422)  # not mergeable (yet), conflicts, the head moved: a human's turn


def api_url(config: Config, repo: Repository) -> str:
    if config.forge.api_url:
        return config.forge.api_url.rstrip("/")
    return f"https://{repo.host}/api/v4"


def project_id(repo: Repository) -> str:
    """The project's id in API paths: its full path (nested groups included), URL-encoded."""
    return quote(repo.full_name, safe="")


class GitLab:
    """One GitLab API (URL and token), shared by every child of the run that lives there."""

    kind = "gitlab"

    @classmethod
    def shared(cls, config: Config, repo: Repository, budget: WriteBudget) -> "GitLab":
        return shared_client(cls, config, api_url(config, repo), budget)

    def __init__(self, config: Config, url: str, budget: WriteBudget, token: str | None = None) -> None:
        """`token`: use it (`validate --comment` in a merge-request pipeline) instead of reading [forge]'s."""
        import gitlab

        self.url = url
        self.budget = budget
        self._token = token if token is not None else token_from_environment(config.forge, "gitlab",
                                                                               str(config.file))
        # python-gitlab appends /api/v4 to the instance's URL itself.
        base = url[: -len("/api/v4")] if url.endswith("/api/v4") else url
        self._client = gitlab.Gitlab(base, private_token=self._token, retry_transient_errors=True,
                                     timeout=max(1, round(config.sync.timeout)), per_page=100,
                                     keep_base_url=True)
        self._users: dict[str, int] = {}
        self._lock = threading.Lock()

    def git_credentials(self, repo: Repository) -> tuple[str, str]:
        return _GIT_USER, self._token

    def _call(self, repo: Repository, what: str, work: Callable[[Any], T], write: bool = False) -> T:
        """Run `work(project object)` (no request until it asks); errors become one sentence naming the project."""
        import gitlab

        if write:
            self.budget.take()
        try:
            return work(self._client.projects.get(repo.full_name, lazy=True))
        except gitlab.exceptions.GitlabAuthenticationError:
            raise ForgeError(f"GitLab refused the credentials for {repo.full_name} while trying to {what}.") from None
        except gitlab.exceptions.GitlabError as exc:
            raise ForgeError(redact(f"GitLab answered {exc.response_code} for {repo.full_name} while trying to "
                                    f"{what}: " + " ".join(_message(exc).split()))) from None
        except OSError as exc:  # connection refused, timeout, TLS (requests' errors are OSErrors)
            raise ForgeError(redact(f"cannot reach {self.url} to {what} for {repo.full_name}: {exc}")) from None

    # -- merge requests ---------------------------------------------------------------------------------------------

    @staticmethod
    def _pull(raw: dict) -> PullRequest:
        created = datetime.fromisoformat(raw["created_at"].replace("Z", "+00:00"))
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return PullRequest(raw["iid"], raw["web_url"], _STATES.get(raw["state"], CLOSED), raw["source_branch"],
                           raw.get("sha") or "", raw.get("title") or "", raw.get("description") or "", created,
                           None, raw)

    def find(self, repo: Repository, branch: str, base: str | None = None) -> PullRequest | None:
        """`base` is not needed: GitLab filters merge requests by source branch."""
        def work(project):
            found = project.mergerequests.list(state="all", source_branch=branch, order_by="created_at",
                                               sort="desc", get_all=False)
            found = [mr.asdict() for mr in found if mr.source_branch == branch]
            chosen = next((mr for mr in found if mr["state"] in ("opened", "locked")), found[0] if found else None)
            return self._pull(chosen) if chosen is not None else None

        return self._call(repo, f"find the merge request of branch '{branch}'", work)

    def create(self, repo: Repository, *, branch: str, base: str, title: str, body: str,
               draft: bool) -> PullRequest:
        data = {"source_branch": branch, "target_branch": base, "title": (DRAFT + title) if draft else title,
                "description": body}
        return self._call(repo, "open a merge request",
                          lambda p: self._pull(p.mergerequests.create(data).asdict()), write=True)

    def update(self, repo: Repository, pr: PullRequest, *, title: str, body: str, reopen: bool = False
               ) -> PullRequest:
        if pr.title.startswith(DRAFT):
            title = DRAFT + title
        changes = pull_request_changes(pr, title, body, body_key="description",
                                       reopen=("state_event", "reopen") if reopen else None)
        if not changes:
            return pr
        return self._call(repo, f"update merge request !{pr.number}",
                          lambda p: self._pull(p.mergerequests.update(pr.number, changes)), write=True)

    def decorate(self, repo: Repository, pr: PullRequest, *, labels: tuple[str, ...], reviewers: tuple[str, ...],
                 team_reviewers: tuple[str, ...]) -> None:
        if team_reviewers:
            raise ForgeError(f"merge request !{pr.number} of {repo.full_name} is open, but GitLab has no team "
                             "reviewers: list user names in `reviewers` instead of `team_reviewers`.")
        changes: dict[str, Any] = {}
        if labels:
            changes["add_labels"] = ",".join(labels)
        if reviewers:
            changes["reviewer_ids"] = [self._user_id(repo, name) for name in reviewers]
        if changes:
            self._call(repo, f"label merge request !{pr.number} and ask for reviews",
                       lambda p: p.mergerequests.update(pr.number, changes), write=True)

    def _user_id(self, repo: Repository, username: str) -> int:
        with self._lock:
            if username in self._users:
                return self._users[username]

        def work(project):
            users = self._client.users.list(username=username, get_all=False)
            if not users:
                raise ForgeError(f"cannot ask '{username}' to review the merge request of {repo.full_name}: GitLab "
                                 "knows no such user.")
            return users[0].id

        found = self._call(repo, f"look up the reviewer '{username}'", work)
        with self._lock:
            self._users[username] = found
        return found

    def auto_merge(self, repo: Repository, pr: PullRequest, method: str) -> str:
        import gitlab

        data: dict[str, Any] = {"auto_merge": True, "merge_when_pipeline_succeeds": True, "sha": pr.head_sha}
        if method == "squash":
            data["squash"] = True

        def work(project):
            path = f"/projects/{project_id(repo)}/merge_requests/{pr.number}/merge"
            try:
                raw = self._client.http_put(path, post_data=data)
            except gitlab.exceptions.GitlabHttpError as exc:
                if exc.response_code in _WAITING:
                    return "waiting"
                raise
            if raw.get("state") == "merged":
                return "merged"
            return "auto-merge"

        return self._call(repo, f"merge merge request !{pr.number}", work, write=True)

    # -- merge-request comments (notes) -----------------------------------------------------------------------------

    @staticmethod
    def _comment(raw: dict, web_url: str = "") -> Comment:
        return Comment(raw["id"], raw.get("body") or "", f"{web_url}#note_{raw['id']}" if web_url else "",
                       (raw.get("author") or {}).get("username") or "")

    def comments(self, repo: Repository, number: int) -> list[Comment]:
        """Every note a person or a bot wrote (GitLab's own `system` notes left out), oldest first, all pages."""
        def work(project):
            notes = project.mergerequests.get(number, lazy=True).notes.list(iterator=True, sort="asc",
                                                                           order_by="created_at")
            return [self._comment(n.asdict()) for n in notes if not n.asdict().get("system")]

        return self._call(repo, f"list the notes of merge request !{number}", work)

    def add_comment(self, repo: Repository, number: int, body: str) -> Comment:
        return self._call(repo, f"comment on merge request !{number}",
                          lambda p: self._comment(p.mergerequests.get(number, lazy=True).notes.create(
                              {"body": body}).asdict()), write=True)

    def edit_comment(self, repo: Repository, number: int, comment: Comment, body: str) -> Comment:
        return self._call(repo, f"edit note {comment.id} on merge request !{number}",
                          lambda p: self._comment(p.mergerequests.get(number, lazy=True).notes.update(
                              comment.id, {"body": body})), write=True)



def _message(exc) -> str:
    """GitLab's words: `{"message": "..."}`, `{"message": {"field": ["..."]}}` or `{"error": "..."}`."""
    text = exc.error_message
    if isinstance(text, dict):
        return "; ".join(f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in text.items())
    if isinstance(text, list):
        return "; ".join(map(str, text))
    return str(text or exc)
