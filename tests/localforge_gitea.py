"""A local Gitea on 127.0.0.1 for what ddl-cascade uses, for tests: the Gitea twin of tests/localforge.py (GitHub).

- **git over smart HTTP** (`git http-backend`, tests/localforge_common.py) for the bare repositories under its root,
  with Gitea's authentication: HTTP basic with the token as the password (any user name) or as the user name, or
  `Authorization: token X`.
- **the REST API** under `/api/v1`: repositories, pull requests (listed newest first with Gitea's filters, `limit`
  cut to 50 and `Link`/`X-Total-Count` pagination; created, read, edited, merged by `merge`, `squash` or `rebase` with
  git plumbing in the bare repository, or scheduled by `merge_when_checks_succeed`), labels (listed, created, added
  to a pull request by id) and review requests.

Every request and response is held to Gitea's published swagger description (tests/localforge_gitea_spec.py): a
request Gitea's contract does not allow gets a 422 and is recorded in `violations`, and the `local_gitea` fixture
fails the test at teardown unless the test took it with `take_violations()`. A response of the forge itself that
breaks the contract is a violation too.

What Gitea does and this forge models: a second open pull request for the same head and base is 409; a pull request
with nothing to merge is 422; reopening needs the head branch; a title starting with `WIP:` or `[WIP]` is a draft
and cannot be merged (405); a protected base branch with required checks refuses a merge (405) until
`pass_checks`, and `merge_when_checks_succeed` then schedules it (201) and merges it when the checks pass; a
`head_commit_id` that is not the head is 409; a pull request whose head reached its base by a push is marked merged.
Not modelled: forks, organisations and teams (a team reviewer is accepted as a name), Gitea's rebase of branches
holding merge commits (refused here with 409, as it cannot be replayed commit by commit). Faults: `rate_limit_next`
answers 429 with `Retry-After` (Gitea's own limiter, or a reverse proxy's).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import localforge_common as common
import localforge_gitea_spec
from localforge_gitea_spec import Violation

API_PREFIX = "/api/v1"
MAX_PAGE = 50                           # Gitea's [api] MAX_RESPONSE_ITEMS default
DEFAULT_PAGE = 30                       # [api] DEFAULT_PAGING_NUM
COMMITTER = ("Gitea", "noreply@gitea.local")
WIP_PREFIXES = ("WIP:", "[WIP]")


@dataclass(frozen=True)
class LoggedRequest:
    kind: str           # "rest" or "git"
    method: str
    path: str
    status: int
    is_write: bool
    operation: str = ""


@dataclass(frozen=True)
class RecordedViolation:
    where: str          # "request", "response" or "forge"
    method: str
    path: str
    message: str


class ApiError(Exception):
    """A Gitea error answer: `{"message": …, "url": …}`."""

    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "url": "http://127.0.0.1/api/swagger"}
        self.headers = headers or {}


@dataclass
class _Pull:
    number: int
    id: int
    title: str
    body: str
    head: str
    base: str
    user: str
    created_at: str
    updated_at: str
    head_sha: str
    base_sha: str
    state: str = "open"
    merged: bool = False
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    labels: list[int] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    checks_passed: bool = False
    scheduled: dict | None = None           # a merge waiting for the checks
    seen: tuple[str, str] = ("", "")


@dataclass
class _Comment:
    id: int
    issue: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class _Repo:
    id: int
    owner: str
    name: str
    path: Path
    created_at: str
    default_branch: str = "main"
    labels: dict[int, dict] = field(default_factory=dict)
    pulls: dict[int, _Pull] = field(default_factory=dict)
    next_number: int = 1
    protected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    comments: dict[int, _Comment] = field(default_factory=dict)     # issue comments by id, oldest first


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LocalGitea:
    """A Gitea on 127.0.0.1 (see the module docstring). Close it with `close()` (the fixture does)."""

    def __init__(self, root: Path) -> None:
        self.spec = localforge_gitea_spec.spec()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests: list[LoggedRequest] = []
        self.violations: list[RecordedViolation] = []
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._tokens: dict[str, str] = {}       # token -> login
        self._users: dict[str, int] = {}
        self._ids = itertools.count(101)
        self._faults: list[int] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.base_url + API_PREFIX
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- set-up and inspection, for tests ----------------------------------------------------------------------------

    def create_repo(self, owner: str, name: str, *, files: dict[str, str] | None = None,
                    default_branch: str = "main") -> Path:
        path = self.root / owner / f"{name}.git"
        common.git(None, "init", "-q", "--bare", f"--initial-branch={default_branch}", str(path))
        common.git(path, "config", "http.receivepack", "true")
        entries = []
        for file_name, content in sorted((files or {"README.md": f"# {name}\n"}).items()):
            blob = common.git(path, "hash-object", "-w", "--stdin", input=content.encode())
            entries.append(f"100644 blob {blob}\t{file_name}")
        tree = common.git(path, "mktree", input=("\n".join(entries) + "\n").encode())
        commit = common.git(path, "commit-tree", tree, "-m", "Initial commit",
                            env=common.identity((owner, f"{owner}@gitea.local")))
        common.git(path, "update-ref", f"refs/heads/{default_branch}", commit)
        with self._lock:
            self._user_id(owner)
            self._repos[(owner, name)] = _Repo(next(self._ids), owner, name, path, _now(), default_branch)
        return path

    def git_url(self, owner: str, name: str) -> str:
        return f"{self.base_url}/{owner}/{name}.git"

    def add_token(self, token: str, login: str = "gitea-bot") -> None:
        with self._lock:
            self._tokens[token] = login
            self._user_id(login)

    def add_user(self, login: str) -> None:
        with self._lock:
            self._user_id(login)

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        """The next `n` API requests are answered 429 with `Retry-After: retry_after`."""
        with self._lock:
            self._faults.extend([retry_after] * n)

    def protect(self, owner: str, repo: str, branch: str = "main", checks: tuple[str, ...] = ("ci",)) -> None:
        with self._lock:
            self._repo(owner, repo).protected[branch] = tuple(checks)

    def pass_checks(self, owner: str, repo: str, number: int) -> None:
        """The required checks pass; a scheduled merge is then carried out (as Gitea's auto-merge queue does)."""
        with self._lock:
            r = self._repo(owner, repo)
            pr = r.pulls[number]
            pr.checks_passed = True
            if pr.scheduled and pr.state == "open":
                self._merge(r, pr, pr.scheduled["do"], pr.scheduled["by"])

    def pulls(self, owner: str, repo: str) -> list[dict]:
        """Every pull request of OWNER/REPO as Gitea's JSON, by number."""
        with self._lock:
            r = self._repo(owner, repo)
            self._refresh(r)
            return [self._pull_json(r, pr) for _, pr in sorted(r.pulls.items())]

    def comments(self, owner: str, repo: str, number: int) -> list[dict]:
        """The comments on pull request `number`, oldest first, as Gitea's JSON."""
        with self._lock:
            r = self._repo(owner, repo)
            return [self._comment_json(r, c) for c in r.comments.values() if c.issue == number]

    def add_comment(self, owner: str, repo: str, number: int, body: str, login: str = "reviewer") -> int:
        """A comment by someone else, as if written on Gitea's web page; its id."""
        with self._lock:
            r = self._repo(owner, repo)
            cid, now = next(self._ids), _now()
            r.comments[cid] = _Comment(cid, number, body, login, now, now)
            return cid

    def merge(self, owner: str, repo: str, number: int, method: str = "merge") -> str:
        """Merge a pull request as a reviewer would from the web UI; returns the new base tip."""
        with self._lock:
            r = self._repo(owner, repo)
            self._refresh(r)
            return self._merge(r, r.pulls[number], method, "reviewer")

    def take_violations(self) -> list[RecordedViolation]:
        with self._lock:
            taken, self.violations = self.violations, []
            return taken

    def count(self, kind: str = "rest", write: bool | None = None) -> int:
        kinds = ("rest",) if kind in ("rest", "api") else (kind,)
        return sum(1 for r in self.requests if r.kind in kinds and (write is None or r.is_write == write))

    # --- HTTP dispatch -------------------------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        body = common.read_body(h)
        if url.path.startswith(API_PREFIX + "/"):
            self._serve_rest(h, url.path[len(API_PREFIX):], url.query, body)
        elif ".git/" in url.path or url.path.endswith(".git"):
            self._serve_git(h, url.path, url.query, body)
        else:
            common.send(h, 404, {"Content-Type": "text/plain"}, b"Not Found\n")

    def _serve_rest(self, h, path: str, query: str, raw: bytes) -> None:
        method = h.command
        found = self.spec.find(method, path)
        op = found[0] if found else None
        status, body, headers = self._rest(h, method, path, query, raw, found)
        if op is not None and status != 501:
            try:
                self.spec.check_response(op, status, body)
            except Violation as exc:
                self._violate("response", method, path, f"{op.operation_id} {status}: {exc.message}")
        with self._lock:
            self.requests.append(LoggedRequest("rest", method, path, status, method not in ("GET", "HEAD"),
                                               op.operation_id if op else ""))
        data = b"" if body is None else json.dumps(body).encode()
        out = {"Content-Type": "application/json;charset=utf-8"} if body is not None else {}
        out.update(headers)
        common.send(h, status, out, data)

    def _rest(self, h, method, path, query, raw, found) -> tuple[int, object, dict]:
        try:
            with self._lock:
                fault = self._faults.pop(0) if self._faults else None
            if fault is not None:
                raise ApiError(429, "rate limit exceeded", {"Retry-After": str(fault)})
            if found is None:
                self._violate("request", method, path, "no such operation in Gitea's API")
                raise ApiError(404, "Not Found")
            op, path_params = found
            login = self._authenticate(h.headers.get("Authorization"))
            body, has_body = None, bool(raw.strip())
            if has_body:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._violate("request", method, path, "request body is not JSON")
                    raise ApiError(422, "invalid JSON") from None
            try:
                params = self.spec.check_request(op, path_params, parse_qs(query, keep_blank_values=True), body,
                                                 has_body)
            except Violation as exc:
                self._violate("request", method, path, f"{op.operation_id}: {exc.message}")
                raise ApiError(exc.status, exc.message) from None
            handler = _HANDLERS.get(op.operation_id)
            if handler is None:
                self._violate("forge", method, path, f"{op.operation_id} is not implemented by the local Gitea")
                raise ApiError(501, f"{op.operation_id} is not implemented by the local Gitea")
            with self._lock:
                return handler(self, login, params, body if body is not None else {}, query)
        except ApiError as exc:
            return exc.status, exc.body, exc.headers

    def _violate(self, where: str, method: str, path: str, message: str) -> None:
        with self._lock:
            self.violations.append(RecordedViolation(where, method, path, message))

    # --- authentication --------------------------------------------------------------------------------------------

    def _credential(self, header: str | None) -> list[str]:
        """The strings that may be the token: Gitea reads `token X`, `Bearer X`, and basic's password or user."""
        if not header:
            return []
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer"):
            return [value.strip()]
        if scheme.lower() == "basic":
            import base64

            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return []
            return [password, user]
        return []

    def _authenticate(self, header: str | None) -> str:
        with self._lock:
            for candidate in self._credential(header):
                if candidate in self._tokens:
                    return self._tokens[candidate]
        if header:
            raise ApiError(401, "user does not exist [uid: 0, name: ]")
        raise ApiError(401, "token is required")

    # --- git over smart HTTP -----------------------------------------------------------------------------------------

    def _serve_git(self, h, path: str, query: str, body: bytes) -> None:
        owner, _, rest = path.lstrip("/").partition("/")
        name = rest.partition(".git")[0]
        is_write = "git-receive-pack" in path or "service=git-receive-pack" in query
        try:
            login = self._authenticate(h.headers.get("Authorization"))
        except ApiError:
            common.send(h, 401, {"WWW-Authenticate": 'Basic realm="Gitea"', "Content-Type": "text/plain"},
                        b"Unauthorized\n")
            status = 401
        else:
            with self._lock:
                known = (owner, name) in self._repos
            if not known:
                common.send(h, 404, {"Content-Type": "text/plain"}, b"Repository not found\n")
                status = 404
            else:
                status = common.http_backend(h, self.root, login, path, query, body)
        with self._lock:
            self.requests.append(LoggedRequest("git", h.command, path, status, is_write))
            if is_write and status == 200 and h.command == "POST" and (owner, name) in self._repos:
                self._refresh(self._repos[(owner, name)])

    # --- state -----------------------------------------------------------------------------------------------------

    def _repo(self, owner: str, name: str) -> _Repo:
        repo = self._repos.get((owner, name))
        if repo is None:
            raise ApiError(404, "The target couldn't be found.")
        return repo

    def _branches(self, repo: _Repo) -> dict[str, str]:
        out = common.git(repo.path, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def _refresh(self, repo: _Repo) -> None:
        """Open pull requests follow their branches: a new head tip; merged when the head reached the base by a
        push (Gitea's "manually merged" detection). Gitea leaves a pull request whose head branch is gone open."""
        if not any(pr.state == "open" for pr in repo.pulls.values()):
            return
        tips = self._branches(repo)
        for pr in repo.pulls.values():
            head, base = tips.get(pr.head), tips.get(pr.base)
            if pr.state != "open" or head is None:
                continue
            pr.head_sha = head
            if base is not None:
                pr.base_sha = base
            if (pr.head_sha, pr.base_sha) != pr.seen:
                pr.seen = (pr.head_sha, pr.base_sha)
                if common.is_ancestor(repo.path, pr.head_sha, pr.base_sha):
                    pr.state, pr.merged = "closed", True
                    pr.merged_at = pr.closed_at = pr.updated_at = _now()
                    pr.merge_commit_sha, pr.merged_by = pr.head_sha, repo.owner

    def _user_id(self, login: str) -> int:
        if login not in self._users:
            self._users[login] = next(self._ids)
        return self._users[login]

    def _user_json(self, login: str) -> dict:
        return {"id": self._user_id(login), "login": login, "login_name": "", "source_id": 0, "full_name": "",
                "email": f"{login}@noreply.gitea.local", "avatar_url": f"{self.base_url}/avatars/{login}",
                "html_url": f"{self.base_url}/{login}", "language": "", "is_admin": False,
                "last_login": "0001-01-01T00:00:00Z", "created": "2024-01-01T00:00:00Z", "restricted": False,
                "active": False, "prohibit_login": False, "location": "", "website": "", "description": "",
                "visibility": "public", "followers_count": 0, "following_count": 0, "starred_repos_count": 0,
                "username": login}

    def _repo_json(self, repo: _Repo) -> dict:
        full_name = f"{repo.owner}/{repo.name}"
        return {
            "id": repo.id, "owner": self._user_json(repo.owner), "name": repo.name, "full_name": full_name,
            "description": "", "empty": False, "private": True, "fork": False, "template": False, "parent": None,
            "mirror": False, "size": 1, "language": "",
            "languages_url": f"{self.api_url}/repos/{full_name}/languages",
            "html_url": f"{self.base_url}/{full_name}", "url": f"{self.api_url}/repos/{full_name}", "link": "",
            "ssh_url": f"git@127.0.0.1:{full_name}.git", "clone_url": self.git_url(repo.owner, repo.name),
            "original_url": "", "website": "", "stars_count": 0, "forks_count": 0, "watchers_count": 0,
            "open_issues_count": 0, "open_pr_counter": sum(1 for p in repo.pulls.values() if p.state == "open"),
            "release_counter": 0, "default_branch": repo.default_branch, "archived": False,
            "created_at": repo.created_at, "updated_at": repo.created_at, "archived_at": "1970-01-01T00:00:00Z",
            "has_issues": True, "has_wiki": False, "has_pull_requests": True, "has_projects": False,
            "has_releases": True, "has_packages": False, "has_actions": False, "ignore_whitespace_conflicts": False,
            "allow_merge_commits": True, "allow_rebase": True, "allow_rebase_explicit": True,
            "allow_squash_merge": True, "allow_fast_forward_only_merge": True, "allow_rebase_update": True,
            "default_delete_branch_after_merge": False, "default_merge_style": "merge",
            "default_allow_maintainer_edit": False, "avatar_url": "", "internal": False, "mirror_interval": "",
            "object_format_name": "sha1", "mirror_updated": "0001-01-01T00:00:00Z", "topics": None, "licenses": None,
        }

    def _label_json(self, repo: _Repo, label_id: int) -> dict:
        return repo.labels[label_id]

    def _pull_json(self, repo: _Repo, pr: _Pull) -> dict:
        full_name = f"{repo.owner}/{repo.name}"
        html = f"{self.base_url}/{full_name}/pulls/{pr.number}"
        repo_json = self._repo_json(repo)
        mergeable = pr.state == "open" and subprocess.run(
            ["git", "merge-tree", "--write-tree", "--no-messages", pr.base_sha, pr.head_sha], cwd=repo.path,
            capture_output=True).returncode == 0

        def branch(ref: str, sha: str) -> dict:
            return {"label": ref, "ref": ref, "sha": sha, "repo_id": repo.id, "repo": repo_json}

        return {
            "id": pr.id, "url": html, "number": pr.number, "user": self._user_json(pr.user), "title": pr.title,
            "body": pr.body, "labels": [self._label_json(repo, i) for i in pr.labels], "milestone": None,
            "assignee": None, "assignees": None, "requested_reviewers": [self._user_json(r) for r in pr.reviewers],
            "requested_reviewers_teams": [], "state": pr.state, "draft": pr.title.startswith(WIP_PREFIXES),
            "is_locked": False, "comments": 0, "review_comments": 0, "additions": 0, "deletions": 0,
            "changed_files": 0, "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
            "mergeable": mergeable, "merged": pr.merged, "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "merged_by": self._user_json(pr.merged_by) if pr.merged_by else None, "allow_maintainer_edit": False,
            "base": branch(pr.base, pr.base_sha), "head": branch(pr.head, pr.head_sha), "merge_base": pr.base_sha,
            "due_date": None, "created_at": pr.created_at, "updated_at": pr.updated_at, "closed_at": pr.closed_at,
            "pin_order": 0,
        }

    # --- merging -----------------------------------------------------------------------------------------------------

    def _merge(self, repo: _Repo, pr: _Pull, method: str, by: str) -> str:
        base, head = pr.base_sha, pr.head_sha
        env = common.identity((by, f"{by}@noreply.gitea.local"), COMMITTER)
        if method in ("rebase", "rebase-merge", "fast-forward-only"):
            commits = common.git(repo.path, "rev-list", "--reverse", "--topo-order", f"{base}..{head}").split()
            if common.git(repo.path, "rev-list", "--merges", f"{base}..{head}"):
                raise ApiError(409, "rebase failed because of conflict")
            if method == "fast-forward-only":
                if not common.is_ancestor(repo.path, base, head):
                    raise ApiError(409, "merge failed because of conflict")
                new = head
            else:
                new = base
                for commit in commits:
                    replayed = common.replay(repo.path, commit, new, COMMITTER)
                    if replayed is None:
                        raise ApiError(409, "rebase failed because of conflict")
                    new = replayed
                if method == "rebase-merge":
                    tree = common.git(repo.path, "rev-parse", f"{new}^{{tree}}")
                    text = f"Merge pull request '{pr.title}' (#{pr.number}) from {pr.head} into {pr.base}\n"
                    new = common.git(repo.path, "commit-tree", tree, "-p", base, "-p", new, input=text.encode(),
                                     env=env)
        else:
            merged = subprocess.run(["git", "merge-tree", "--write-tree", "--no-messages", base, head],
                                    cwd=repo.path, capture_output=True, text=True)
            if merged.returncode != 0:
                raise ApiError(409, "merge failed because of conflict")
            tree = merged.stdout.split()[0]
            if method == "merge":
                text = f"Merge pull request '{pr.title}' (#{pr.number}) from {pr.head} into {pr.base}\n"
                parents = ["-p", base, "-p", head]
            else:           # squash: the pull request's title, then each commit's subject (Gitea's default)
                subjects = common.git(repo.path, "log", "--reverse", "--format=* %s", f"{base}..{head}")
                text = f"{pr.title} (#{pr.number})\n\n{subjects}\n"
                parents = ["-p", base]
            new = common.git(repo.path, "commit-tree", tree, *parents, input=text.encode(), env=env)
        if subprocess.run(["git", "update-ref", f"refs/heads/{pr.base}", new, base], cwd=repo.path,
                          capture_output=True).returncode != 0:
            raise ApiError(409, "merge push out of date")
        pr.state, pr.merged = "closed", True
        pr.merged_at = pr.closed_at = pr.updated_at = _now()
        pr.merged_by, pr.merge_commit_sha, pr.scheduled = by, new, None
        pr.seen = (head, new)
        return new

    def _comment_json(self, repo: _Repo, c: _Comment) -> dict:
        html = f"{self.base_url}/{repo.owner}/{repo.name}/pulls/{c.issue}"
        return {"id": c.id, "html_url": f"{html}#issuecomment-{c.id}", "pull_request_url": html,
                "issue_url": "", "user": self._user_json(c.user), "original_author": "", "original_author_id": 0,
                "body": c.body, "assets": [], "created_at": c.created_at, "updated_at": c.updated_at}

    def _open_pull_for(self, repo: _Repo, head: str, base: str) -> _Pull | None:
        return next((p for p in repo.pulls.values() if p.state == "open" and p.head == head and p.base == base),
                    None)


# --- REST handlers: (forge, login, params, body, raw query) -> (status, json, headers) -----------------------------

def _page(forge: LocalGitea, items: list, params: dict, query: str, path: str) -> tuple[list, dict]:
    limit = min(int(params.get("limit") or DEFAULT_PAGE), MAX_PAGE) or DEFAULT_PAGE
    page = max(int(params.get("page", 1)), 1)
    last = max((len(items) + limit - 1) // limit, 1)
    base_query = {k: v[-1] for k, v in parse_qs(query).items() if k != "page"}

    def at(n: int) -> str:
        return forge.api_url + path + "?" + urlencode({**base_query, "page": n})

    links = []
    if page < last:
        links += [f'<{at(page + 1)}>; rel="next"', f'<{at(last)}>; rel="last"']
    if page > 1:
        links += [f'<{at(1)}>; rel="first"', f'<{at(page - 1)}>; rel="prev"']
    headers = {"X-Total-Count": str(len(items))}
    if links:
        headers["Link"] = ",".join(links)
    return items[(page - 1) * limit: page * limit], headers


def _get_repo(forge: LocalGitea, login, params, body, query):
    return 200, forge._repo_json(forge._repo(params["owner"], params["repo"])), {}


def _list_pulls(forge: LocalGitea, login, params, body, query):
    repo = forge._repo(params["owner"], params["repo"])
    forge._refresh(repo)
    state = params.get("state", "open")
    pulls = [pr for pr in repo.pulls.values() if state == "all" or pr.state == state]
    if params.get("base_branch"):
        pulls = [pr for pr in pulls if pr.base == params["base_branch"]]
    if params.get("poster"):
        pulls = [pr for pr in pulls if pr.user == params["poster"]]
    sort = params.get("sort")
    if sort == "oldest":
        pulls.sort(key=lambda p: p.number)
    elif sort in ("recentupdate", "leastupdate"):
        pulls.sort(key=lambda p: (p.updated_at, p.number), reverse=sort == "recentupdate")
    else:                   # Gitea's default: newest first
        pulls.sort(key=lambda p: p.number, reverse=True)
    chunk, headers = _page(forge, pulls, params, query, f"/repos/{repo.owner}/{repo.name}/pulls")
    return 200, [forge._pull_json(repo, pr) for pr in chunk], headers


def _create_pull(forge: LocalGitea, login, params, body, query):
    repo = forge._repo(params["owner"], params["repo"])
    forge._refresh(repo)
    if not body.get("title"):
        raise ApiError(422, "[Title]: Required")
    head, base = body.get("head", ""), body.get("base", "")
    if ":" in head:
        owner, _, head = head.partition(":")
        if owner != repo.owner:     # forks are not modelled
            raise ApiError(404, "The target couldn't be found.")
    tips = forge._branches(repo)
    if base not in tips or head not in tips:
        raise ApiError(404, "The target couldn't be found.")
    existing = forge._open_pull_for(repo, head, base)
    if existing is not None:
        raise ApiError(409, f"pull request already exists for these targets [id: {existing.id}, issue_id: "
                            f"{existing.id}, head_repo_id: {repo.id}, base_repo_id: {repo.id}, head_branch: {head}, "
                            f"base_branch: {base}]")
    if common.is_ancestor(repo.path, tips[head], tips[base]):
        raise ApiError(422, "There are no changes between the head and the base")
    for label_id in body.get("labels") or []:
        if label_id not in repo.labels:
            raise ApiError(422, f"label does not exist [label_id: {label_id}]")
    now = _now()
    pr = _Pull(repo.next_number, next(forge._ids), body["title"], body.get("body", ""), head, base, login, now, now,
               tips[head], tips[base], labels=list(body.get("labels") or []))
    repo.next_number += 1
    repo.pulls[pr.number] = pr
    return 201, forge._pull_json(repo, pr), {}


def _pull(forge: LocalGitea, params) -> tuple[_Repo, _Pull]:
    repo = forge._repo(params["owner"], params["repo"])
    forge._refresh(repo)
    pr = repo.pulls.get(params["index"])
    if pr is None:
        raise ApiError(404, "The target couldn't be found.")
    return repo, pr


def _get_pull(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)
    return 200, forge._pull_json(repo, pr), {}


def _edit_pull(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)
    if "state" in body and body["state"] not in ("open", "closed"):
        raise ApiError(422, f"unknown state {body['state']!r}")
    if "state" in body and body["state"] != pr.state:
        if pr.merged:
            raise ApiError(412, "cannot change state of this pull request, it was already merged")
        if body["state"] == "closed":
            pr.state, pr.closed_at = "closed", _now()
        else:
            tips = forge._branches(repo)
            if pr.head not in tips:
                raise ApiError(422, "cannot reopen: the head branch does not exist")
            if forge._open_pull_for(repo, pr.head, pr.base) is not None:
                raise ApiError(409, "a pull request for these targets is already open")
            pr.state, pr.closed_at, pr.head_sha = "open", None, tips[pr.head]
            forge._refresh(repo)
    if "title" in body:
        pr.title = body["title"]
    if "body" in body:
        pr.body = body["body"]
    pr.updated_at = _now()
    return 201, forge._pull_json(repo, pr), {}


def _merge_pull(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)
    do = body["do"]
    if pr.merged:
        raise ApiError(405, "PR already merged")
    if pr.state != "open":
        raise ApiError(404, "The target couldn't be found.")
    if pr.title.startswith(WIP_PREFIXES):
        raise ApiError(405, "Work in progress PRs cannot be merged")
    if body.get("head_commit_id") and body["head_commit_id"] != pr.head_sha:
        raise ApiError(409, "head out of date")
    if pr.base in repo.protected and not pr.checks_passed:
        if body.get("merge_when_checks_succeed"):
            if pr.scheduled is not None:
                raise ApiError(409, "pull request is already scheduled to auto merge when checks succeed")
            pr.scheduled = {"do": do, "by": login}
            return 201, None, {}
        raise ApiError(405, "Not all required status checks successful")
    forge._merge(repo, pr, do, login)
    return 200, None, {}


def _list_labels(forge: LocalGitea, login, params, body, query):
    repo = forge._repo(params["owner"], params["repo"])
    items = [repo.labels[i] for i in sorted(repo.labels)]
    chunk, headers = _page(forge, items, params, query, f"/repos/{repo.owner}/{repo.name}/labels")
    return 200, chunk, headers


def _create_label(forge: LocalGitea, login, params, body, query):
    repo = forge._repo(params["owner"], params["repo"])
    import re

    color = str(body.get("color", "")).lstrip("#")
    if not body.get("name") or not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise ApiError(422, "[Name or Color]: Required, or not a colour like #00aabb")
    label_id = next(forge._ids)
    repo.labels[label_id] = {"id": label_id, "name": body["name"], "exclusive": False, "is_archived": False,
                             "color": color.lower(), "description": body.get("description", ""),
                             "url": f"{forge.api_url}/repos/{repo.owner}/{repo.name}/labels/{label_id}"}
    return 201, repo.labels[label_id], {}


def _add_labels(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)
    by_name = {label["name"]: i for i, label in repo.labels.items()}
    for item in body.get("labels") or []:
        label_id = by_name.get(item) if isinstance(item, str) else item
        if label_id not in repo.labels:
            raise ApiError(422, f"label does not exist [label_id: {item}]")
        if label_id not in pr.labels:
            pr.labels.append(label_id)
    pr.updated_at = _now()
    return 200, [forge._label_json(repo, i) for i in pr.labels], {}


def _request_reviewers(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)
    out = []
    for name in body.get("reviewers") or []:
        if name not in forge._users:
            raise ApiError(422, f"user does not exist [uid: 0, name: {name}]")
        if name == pr.user:
            raise ApiError(422, "doer can't be reviewer")
        if name not in pr.reviewers:
            pr.reviewers.append(name)
        out.append({"id": next(forge._ids), "user": forge._user_json(name), "team": None, "state": "REQUEST_REVIEW",
                    "body": "", "commit_id": pr.head_sha, "stale": False, "official": False, "dismissed": False,
                    "comments_count": 0, "submitted_at": _now(), "updated_at": _now(),
                    "html_url": f"{forge.base_url}/{repo.owner}/{repo.name}/pulls/{pr.number}",
                    "pull_request_url": f"{forge.base_url}/{repo.owner}/{repo.name}/pulls/{pr.number}"})
    for team in body.get("team_reviewers") or []:
        if team not in pr.teams:
            pr.teams.append(team)
    pr.updated_at = _now()
    return 201, out, {}


def _list_comments(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)         # Gitea lists an issue's comments whole: no pages
    return 200, [forge._comment_json(repo, c) for c in repo.comments.values() if c.issue == pr.number], {}


def _create_comment(forge: LocalGitea, login, params, body, query):
    repo, pr = _pull(forge, params)
    if not body.get("body"):
        raise ApiError(422, "[Body]: Required")
    cid, now = next(forge._ids), _now()
    repo.comments[cid] = _Comment(cid, pr.number, body["body"], login, now, now)
    return 201, forge._comment_json(repo, repo.comments[cid]), {}


def _edit_comment(forge: LocalGitea, login, params, body, query):
    repo = forge._repo(params["owner"], params["repo"])
    comment = repo.comments.get(params["id"])
    if comment is None:
        raise ApiError(404, "The target couldn't be found.")
    if comment.user != login:               # Gitea lets only the poster (or an admin) edit a comment
        raise ApiError(403, "user should have permission to edit comment")
    comment.body, comment.updated_at = body.get("body", ""), _now()
    return 200, forge._comment_json(repo, comment), {}


_HANDLERS = {
    "issueGetComments": _list_comments,
    "issueCreateComment": _create_comment,
    "issueEditComment": _edit_comment,
    "repoGet": _get_repo,
    "repoListPullRequests": _list_pulls,
    "repoCreatePullRequest": _create_pull,
    "repoGetPullRequest": _get_pull,
    "repoEditPullRequest": _edit_pull,
    "repoMergePullRequest": _merge_pull,
    "issueListLabels": _list_labels,
    "issueCreateLabel": _create_label,
    "issueAddLabel": _add_labels,
    "repoCreatePullReviewRequests": _request_reviewers,
}


def _handler_for(forge: LocalGitea) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            try:
                forge._serve(self)
            except Exception as exc:        # a forge bug: say so to the client and to the test
                forge._violate("forge", self.command, self.path.split("?")[0], f"internal error: {exc!r}")
                common.send(self, 500, {"Content-Type": "application/json"},
                            json.dumps({"message": f"local Gitea error: {exc!r}"}).encode())

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        def log_message(self, *args) -> None:
            pass

    return Handler

