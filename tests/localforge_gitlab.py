"""A local GitLab on 127.0.0.1 for what ddl-cascade uses of it: merge requests, users, git over smart HTTP.

The GitLab twin of tests/localforge.py (whose git `http-backend` serving, request log and git plumbing it reuses):

- **git over smart HTTP** for the bare repositories under its root, at `/<full path>.git` (nested groups too:
  `/group/sub/project.git`), with GitLab's authentication: HTTP basic with any user name and a token as the password.
- **the REST API v4** under `/api/v4`: merge requests (list with `state`/`source_branch`/`order_by`/`sort`, create,
  get, update with `state_event`, `add_labels`, `reviewer_ids`, accept with merge commit or squash, and auto-merge
  while a pipeline runs) and users (`?username=`). Authentication by the `PRIVATE-TOKEN` header (or `Bearer`).
  A project id is the number or the URL-encoded full path, as on GitLab.

Every request and response is held to tests/localforge_gitlab_spec.py, a HAND-WRITTEN contract from GitLab's API docs
(no registry ships GitLab's OpenAPI description; see that module): a request GitLab would refuse is refused (400 in
GitLab's words) and recorded in `violations`, which fail the test at teardown (the `local_gitlab` fixture) unless
the test took them with `take_violations()`.

State lives in memory (merge requests, labels, users, tokens, pipelines) and in the bare repositories (branches,
merges); branch tips are always read from git. As on GitLab, a merge request whose source commits reach its target
by a push is marked merged. Faults: `rate_limit_next()` answers the next requests with GitLab's 429 and Retry-After.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import localforge_gitlab_spec
from localforge import LoggedRequest, RecordedViolation
from localforge_common import git as _git, http_backend, identity as _identity, is_ancestor as _is_ancestor, \
    read_body as _read_body, send as _send, utc_now as _now
from localforge_gitlab_spec import Violation

API_PREFIX = "/api/v4"
BOT = ("GitLab", "gitlab@localhost")


class ApiError(Exception):
    """A GitLab error answer: `status` and GitLab's body (`{"message": ...}`)."""

    def __init__(self, status: int, message: object, headers: dict | None = None, text: str | None = None) -> None:
        super().__init__(str(message))
        self.status = status
        self.body = None if text is not None else {"message": message}
        self.text = text
        self.headers = headers or {}


@dataclass
class _MergeRequest:
    iid: int
    id: int
    title: str
    description: str | None
    source: str
    target: str
    author: str
    created_at: str
    sha: str
    state: str = "opened"
    updated_at: str = ""
    merged_at: str | None = None
    closed_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    squash: bool = False
    labels: list[str] = field(default_factory=list)
    reviewers: list[int] = field(default_factory=list)
    auto_merge: dict | None = None          # {"squash": bool} while it waits for the pipeline
    seen: tuple[str, str] = ("", "")


@dataclass
class _Note:
    id: int
    iid: int                                # the merge request's
    body: str
    author: str
    created_at: str
    updated_at: str


@dataclass
class _Project:
    id: int
    path: str                               # full path: group/sub/name
    repo: Path
    default_branch: str = "main"
    mrs: dict[int, _MergeRequest] = field(default_factory=dict)
    next_iid: int = 1
    running: set[str] = field(default_factory=set)   # commits whose pipeline is running
    notes: dict[int, _Note] = field(default_factory=dict)  # merge-request notes by id, oldest first


class LocalGitLab:
    """A GitLab on 127.0.0.1 (see the module docstring). Close it with `close()` (the fixture does)."""

    def __init__(self, root: Path) -> None:
        self.spec = localforge_gitlab_spec.Spec()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests: list[LoggedRequest] = []
        self.violations: list[RecordedViolation] = []
        self.git_users: set[str] = set()     # the user names git sent with a token
        self._lock = threading.RLock()
        self._projects: dict[str, _Project] = {}
        self._tokens: dict[str, str] = {}    # token -> username
        self._users: dict[str, int] = {}
        self._faults: list[int] = []
        self._ids = itertools.count(101)
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

    # --- set-up and inspection, for tests -------------------------------------------------------------------------

    def create_repo(self, owner: str, name: str, *, files: dict[str, str] | None = None,
                    default_branch: str = "main") -> Path:
        """A project OWNER/NAME (OWNER may be a nested group path) whose `default_branch` holds one commit."""
        path = self.root / owner / f"{name}.git"
        _git(None, "init", "-q", "--bare", f"--initial-branch={default_branch}", str(path))
        _git(path, "config", "http.receivepack", "true")
        entries = []
        for file_name, content in sorted((files or {"README.md": f"# {name}\n"}).items()):
            blob = _git(path, "hash-object", "-w", "--stdin", input=content.encode())
            entries.append(f"100644 blob {blob}\t{file_name}")
        tree = _git(path, "mktree", input=("\n".join(entries) + "\n").encode())
        commit = _git(path, "commit-tree", tree, "-m", "Initial commit", env=_identity(("root", "root@localhost")))
        _git(path, "update-ref", f"refs/heads/{default_branch}", commit)
        with self._lock:
            full = f"{owner}/{name}"
            self._projects[full] = _Project(next(self._ids), full, path, default_branch)
        return path

    def git_url(self, owner: str, name: str) -> str:
        return f"{self.base_url}/{owner}/{name}.git"

    def add_token(self, token: str, username: str = "ddl-bot") -> None:
        with self._lock:
            self._tokens[token] = username
            self._user_id(username)

    def add_user(self, username: str) -> int:
        with self._lock:
            return self._user_id(username)

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        """The next `n` API requests get GitLab's 429 "Retry later" with `Retry-After`."""
        with self._lock:
            self._faults.extend([retry_after] * n)

    def start_pipeline(self, owner: str, name: str, iid: int) -> None:
        """A pipeline runs on the merge request's head: auto-merge waits for it."""
        with self._lock:
            project = self._projects[f"{owner}/{name}"]
            project.running.add(project.mrs[iid].sha)

    def finish_pipeline(self, owner: str, name: str, iid: int) -> None:
        """The pipeline succeeds; a merge request set to auto-merge is then merged."""
        with self._lock:
            project = self._projects[f"{owner}/{name}"]
            mr = project.mrs[iid]
            project.running.discard(mr.sha)
            if mr.auto_merge is not None and mr.state == "opened":
                self._merge(project, mr, mr.auto_merge["squash"], mr.auto_merge["by"])

    def pulls(self, owner: str, name: str) -> list[dict]:
        """Every merge request of the project as GitLab's JSON, by iid."""
        with self._lock:
            project = self._projects[f"{owner}/{name}"]
            self._refresh(project)
            return [self._mr_json(project, mr) for _, mr in sorted(project.mrs.items())]

    def merge(self, owner: str, name: str, iid: int, method: str = "merge") -> str:
        """Merge as a reviewer would from the web UI ("merge" or "squash"); returns the new target tip."""
        with self._lock:
            project = self._projects[f"{owner}/{name}"]
            self._refresh(project)
            return self._merge(project, project.mrs[iid], method == "squash", "reviewer")

    def comments(self, owner: str, name: str, iid: int) -> list[dict]:
        """The notes of merge request `iid`, oldest first, as GitLab's JSON."""
        with self._lock:
            project = self._projects[f"{owner}/{name}"]
            return [self._note_json(project, n) for n in project.notes.values() if n.iid == iid]

    def add_comment(self, owner: str, name: str, iid: int, body: str, login: str = "reviewer") -> int:
        """A note by someone else, as if written on GitLab's web page; its id."""
        with self._lock:
            project = self._projects[f"{owner}/{name}"]
            nid, now = next(self._ids), _now()
            project.notes[nid] = _Note(nid, iid, body, login, now, now)
            return nid

    def take_violations(self) -> list[RecordedViolation]:
        with self._lock:
            taken, self.violations = self.violations, []
            return taken

    def count(self, kind: str = "rest", write: bool | None = None) -> int:
        kinds = ("rest",) if kind == "api" else (kind,)
        return sum(1 for r in self.requests if r.kind in kinds and (write is None or r.is_write == write))

    # --- HTTP dispatch -----------------------------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        body = _read_body(h)
        if url.path.startswith(API_PREFIX + "/"):
            self._serve_rest(h, url.path[len(API_PREFIX):], url.query, body)
        elif ".git/" in url.path:
            self._serve_git(h, url.path, url.query, body)
        else:
            _send(h, 404, {"Content-Type": "text/plain"}, b"Not Found\n")

    def _serve_rest(self, h, path: str, query: str, raw: bytes) -> None:
        method = h.command
        found = self.spec.find(method, path)
        op = found[0] if found else None
        try:
            status, body, headers = self._rest(h, method, path, query, raw, found)
            text = None
        except ApiError as exc:
            status, body, headers, text = exc.status, exc.body, exc.headers, exc.text
        if op is not None and text is None:
            try:
                self.spec.check_response(op, status, body)
            except Violation as exc:
                self._violate("response", method, path, f"{op.operation_id} {status}: {exc.message}")
        with self._lock:
            self.requests.append(LoggedRequest("rest", method, path, status, method not in ("GET", "HEAD"),
                                               op.operation_id if op else ""))
        if text is not None:
            _send(h, status, {"Content-Type": "text/plain", **headers}, text.encode())
        else:
            _send(h, status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode())

    def _rest(self, h, method, path, query, raw, found) -> tuple[int, object, dict]:
        with self._lock:
            retry_after = self._faults.pop(0) if self._faults else None
        if retry_after is not None:
            raise ApiError(429, None, headers={"Retry-After": str(retry_after)}, text="Retry later\n")
        if found is None:
            self._violate("request", method, path, "no such operation in GitLab's REST API (or a project path "
                                                   "that is not URL-encoded)")
            raise ApiError(404, "404 Not Found")
        op, params = found
        user = self._authenticate(h)
        body, has_body = None, bool(raw.strip())
        if has_body:
            if "json" not in h.headers.get("Content-Type", ""):
                self._violate("request", method, path, "body is not JSON")
            try:
                body = json.loads(raw)
            except ValueError:
                self._violate("request", method, path, "request body is not JSON")
                raise ApiError(400, "400 Bad request - body is not JSON") from None
        try:
            values = self.spec.check_request(op, parse_qs(query, keep_blank_values=True), body, has_body)
        except Violation as exc:
            self._violate("request", method, path, f"{op.operation_id}: {exc.message}")
            raise ApiError(400, f"400 Bad request - {exc.message}") from None
        with self._lock:
            return _HANDLERS[op.operation_id](self, user, params, values, body or {})

    def _authenticate(self, h) -> str:
        token = h.headers.get("PRIVATE-TOKEN")
        if token is None and h.headers.get("Authorization", "").lower().startswith("bearer "):
            token = h.headers["Authorization"][7:].strip()
        with self._lock:
            user = self._tokens.get(token or "")
        if user is None:
            raise ApiError(401, "401 Unauthorized")
        return user

    def _violate(self, where: str, method: str, path: str, message: str) -> None:
        with self._lock:
            self.violations.append(RecordedViolation(where, method, path, message))

    # --- git over smart HTTP -----------------------------------------------------------------------------------------

    def _serve_git(self, h, path: str, query: str, body: bytes) -> None:
        full = path.lstrip("/").partition(".git/")[0]
        is_write = "git-receive-pack" in path or "service=git-receive-pack" in query
        status = self._git_request(h, full, path, query, body)
        with self._lock:
            self.requests.append(LoggedRequest("git", h.command, path, status, is_write))
            if is_write and status == 200 and h.command == "POST" and full in self._projects:
                self._refresh(self._projects[full])

    def _git_request(self, h, full: str, path: str, query: str, body: bytes) -> int:
        header = h.headers.get("Authorization", "")
        user, token = "", None
        if header.lower().startswith("basic "):
            try:
                user, _, token = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        with self._lock:
            known_token = user != "" and token in self._tokens
            if known_token:
                self.git_users.add(user)
            known = full in self._projects
        if not known_token:
            _send(h, 401, {"WWW-Authenticate": 'Basic realm="GitLab"', "Content-Type": "text/plain"},
                  b"HTTP Basic: Access denied. If a password was provided for Git authentication, the password was "
                  b"incorrect or you're required to use a token instead of a password.\n")
            return 401
        if not known:
            _send(h, 404, {"Content-Type": "text/plain"},
                  b"The project you were looking for could not be found or you don't have permission to view it.\n")
            return 404
        return http_backend(h, self.root, self._tokens[token], path, query, body)

    # --- state -------------------------------------------------------------------------------------------------------

    def _project(self, raw_id: str) -> _Project:
        ident = unquote(raw_id)
        if ident.isdigit():
            project = next((p for p in self._projects.values() if p.id == int(ident)), None)
        else:
            project = self._projects.get(ident)
        if project is None:
            raise ApiError(404, "404 Project Not Found")
        return project

    def _mr(self, project: _Project, raw_iid: str) -> _MergeRequest:
        mr = project.mrs.get(int(raw_iid)) if raw_iid.isdigit() else None
        if mr is None:
            raise ApiError(404, "404 Not found")
        return mr

    def _branches(self, project: _Project) -> dict[str, str]:
        out = _git(project.repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def _refresh(self, project: _Project) -> None:
        """Open merge requests follow their source branch; one whose commits reached the target by a push is
        merged (GitLab detects it the same way)."""
        tips = self._branches(project)
        for mr in project.mrs.values():
            if mr.state != "opened" or mr.source not in tips:
                continue
            if tips[mr.source] != mr.sha:
                mr.sha, mr.auto_merge = tips[mr.source], None
            target = tips.get(mr.target)
            if target is not None and (mr.sha, target) != mr.seen:
                mr.seen = (mr.sha, target)
                if _is_ancestor(project.repo, mr.sha, target):
                    mr.state, mr.merged_at = "merged", _now()
                    mr.updated_at = mr.merged_at
                    mr.merge_commit_sha = None

    def _user_id(self, username: str) -> int:
        if username not in self._users:
            self._users[username] = next(self._ids)
        return self._users[username]

    def _user_json(self, username: str) -> dict:
        return {"id": self._user_id(username), "username": username, "name": username.title(), "state": "active",
                "locked": False, "avatar_url": None, "web_url": f"{self.base_url}/{username}"}

    def _note_json(self, project: _Project, note: _Note) -> dict:
        mr = project.mrs[note.iid]
        return {"id": note.id, "type": None, "body": note.body, "attachment": None,
                "author": self._user_json(note.author), "created_at": note.created_at,
                "updated_at": note.updated_at, "system": False, "noteable_id": mr.id,
                "noteable_type": "MergeRequest", "noteable_iid": mr.iid, "project_id": project.id,
                "resolvable": False, "confidential": False, "internal": False, "imported": False,
                "imported_from": "none"}

    def _conflicts(self, project: _Project, mr: _MergeRequest, target_sha: str | None) -> bool:
        if target_sha is None:
            return True
        return subprocess.run(["git", "merge-tree", "--write-tree", "--no-messages", target_sha, mr.sha],
                              cwd=project.repo, capture_output=True).returncode != 0

    def _merge_status(self, project: _Project, mr: _MergeRequest) -> tuple[str, str, bool]:
        """(merge_status, detailed_merge_status, has_conflicts)."""
        if mr.state != "opened":
            return "can_be_merged", "not_open", False
        conflicts = self._conflicts(project, mr, self._branches(project).get(mr.target))
        if conflicts:
            return "cannot_be_merged", "conflict", True
        if mr.title.startswith(("Draft:", "[Draft]", "(Draft)")):
            return "can_be_merged", "draft_status", False
        if mr.sha in project.running:
            return "can_be_merged", "ci_still_running", False
        return "can_be_merged", "mergeable", False

    def _mr_json(self, project: _Project, mr: _MergeRequest) -> dict:
        status, detailed, conflicts = self._merge_status(project, mr)
        tips = self._branches(project)
        base = tips.get(mr.target, mr.sha)
        return {
            "id": mr.id, "iid": mr.iid, "project_id": project.id, "title": mr.title, "description": mr.description,
            "state": mr.state, "created_at": mr.created_at, "updated_at": mr.updated_at or mr.created_at,
            "merged_at": mr.merged_at, "closed_at": mr.closed_at,
            "merged_by": self._user_json(mr.merged_by) if mr.merged_by else None,
            "merge_user": self._user_json(mr.merged_by) if mr.merged_by else None, "closed_by": None,
            "target_branch": mr.target, "source_branch": mr.source, "author": self._user_json(mr.author),
            "assignee": None, "assignees": [],
            "reviewers": [self._user_json(n) for n, i in self._users.items() if i in mr.reviewers],
            "source_project_id": project.id, "target_project_id": project.id, "labels": list(mr.labels),
            "draft": detailed == "draft_status", "work_in_progress": detailed == "draft_status",
            "merge_when_pipeline_succeeds": mr.auto_merge is not None, "merge_status": status,
            "detailed_merge_status": detailed, "sha": mr.sha, "merge_commit_sha": mr.merge_commit_sha,
            "squash_commit_sha": mr.squash_commit_sha, "squash": mr.squash, "squash_on_merge": mr.squash,
            "has_conflicts": conflicts, "web_url": f"{self.base_url}/{project.path}/-/merge_requests/{mr.iid}",
            "references": {"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{project.path}!{mr.iid}"},
            "diff_refs": {"base_sha": base, "head_sha": mr.sha, "start_sha": base},
            "head_pipeline": ({"id": 1, "sha": mr.sha, "ref": mr.source, "status": "running"}
                              if mr.sha in project.running else None),
        }

    def _merge(self, project: _Project, mr: _MergeRequest, squash: bool, by: str) -> str:
        """Merge as GitLab's "merge commit" method does, with a squash commit first when asked."""
        target = self._branches(project)[mr.target]
        env = _identity((by, f"{by}@localhost"), BOT)
        head = mr.sha
        if squash:
            base = _git(project.repo, "merge-base", target, head)
            head = _git(project.repo, "commit-tree", f"{head}^{{tree}}", "-p", base, input=(mr.title + "\n").encode(),
                        env=env)
            mr.squash_commit_sha = head
        tree = _git(project.repo, "merge-tree", "--write-tree", "--no-messages", target, head)
        message = (f"Merge branch '{mr.source}' into '{mr.target}'\n\n{mr.title}\n\n"
                   f"See merge request {project.path}!{mr.iid}\n")
        new = _git(project.repo, "commit-tree", tree, "-p", target, "-p", head, input=message.encode(), env=env)
        _git(project.repo, "update-ref", f"refs/heads/{mr.target}", new, target)
        mr.state, mr.merged_at, mr.merged_by = "merged", _now(), by
        mr.updated_at, mr.merge_commit_sha, mr.squash, mr.auto_merge = mr.merged_at, new, squash, None
        return new


# --- REST handlers: (forge, user, raw path params, typed query, body) -> (status, json, headers) -------------------

def _labels(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [item.strip() for item in items if item.strip()]


def _list(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    forge._refresh(project)
    state = query.get("state", "all")
    mrs = [mr for mr in project.mrs.values() if state == "all" or mr.state == state]
    for key, attr in (("source_branch", "source"), ("target_branch", "target")):
        if key in query:
            mrs = [mr for mr in mrs if getattr(mr, attr) == query[key]]
    order = query.get("order_by", "created_at")
    mrs.sort(key=(lambda m: m.updated_at) if order == "updated_at" else (lambda m: m.iid),
             reverse=query.get("sort", "desc") == "desc")
    per_page, page = query.get("per_page", 20), query.get("page", 1)
    chunk = mrs[(page - 1) * per_page: page * per_page]
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(mrs)),
               "X-Next-Page": str(page + 1) if page * per_page < len(mrs) else ""}
    return 200, [forge._mr_json(project, mr) for mr in chunk], headers


def _create(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    forge._refresh(project)
    tips = forge._branches(project)
    for key in ("source_branch", "target_branch"):
        if body[key] not in tips:
            raise ApiError(400, {key: ["is invalid"]})
    duplicate = next((mr for mr in project.mrs.values() if mr.state == "opened" and mr.source == body["source_branch"]
                      and mr.target == body["target_branch"]), None)
    if duplicate is not None:
        raise ApiError(409, [f"Another open merge request already exists for this source branch: !{duplicate.iid}"])
    now = _now()
    mr = _MergeRequest(project.next_iid, next(forge._ids), body["title"], body.get("description"),
                       body["source_branch"], body["target_branch"], user, now, tips[body["source_branch"]],
                       updated_at=now, squash=bool(body.get("squash", False)), labels=_labels(body.get("labels")),
                       reviewers=list(body.get("reviewer_ids", [])))
    project.mrs[mr.iid] = mr
    project.next_iid += 1
    return 201, forge._mr_json(project, mr), {}


def _get(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    forge._refresh(project)
    return 200, forge._mr_json(project, forge._mr(project, params["merge_request_iid"])), {}


def _update(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    forge._refresh(project)
    mr = forge._mr(project, params["merge_request_iid"])
    event = body.get("state_event")
    if event == "close" and mr.state == "opened":
        mr.state, mr.closed_at = "closed", _now()
    elif event == "reopen" and mr.state == "closed":
        tips = forge._branches(project)
        if mr.source not in tips:
            raise ApiError(422, "Source branch does not exist")
        mr.state, mr.closed_at, mr.sha = "opened", None, tips[mr.source]
    for key in ("title", "description", "squash"):
        if key in body:
            setattr(mr, key, body[key])
    if "labels" in body:
        mr.labels = _labels(body["labels"])
    mr.labels += [name for name in _labels(body.get("add_labels")) if name not in mr.labels]
    mr.labels = [name for name in mr.labels if name not in _labels(body.get("remove_labels"))]
    if "reviewer_ids" in body:
        mr.reviewers = list(body["reviewer_ids"])
    mr.updated_at = _now()
    return 200, forge._mr_json(project, mr), {}


def _accept(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    forge._refresh(project)
    mr = forge._mr(project, params["merge_request_iid"])
    if mr.state != "opened":
        raise ApiError(405, "405 Method Not Allowed")
    if "sha" in body and body["sha"] != mr.sha:
        raise ApiError(409, "SHA does not match HEAD of source branch: " + mr.sha)
    _, detailed, conflicts = forge._merge_status(project, mr)
    if conflicts:
        raise ApiError(406, "Branch cannot be merged")
    squash = bool(body.get("squash", mr.squash))
    if (body.get("auto_merge") or body.get("merge_when_pipeline_succeeds")) and mr.sha in project.running:
        mr.auto_merge = {"squash": squash, "by": user}
        mr.squash = squash
        return 200, forge._mr_json(project, mr), {}
    if detailed != "mergeable" and detailed != "ci_still_running":
        raise ApiError(405, "405 Method Not Allowed")
    forge._merge(project, mr, squash, user)
    return 200, forge._mr_json(project, mr), {}


def _users(forge: LocalGitLab, user: str, params, query, body):
    names = [query["username"]] if "username" in query else list(forge._users)
    return 200, [forge._user_json(n) for n in names if n in forge._users], {}


def _notes(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    mr = forge._mr(project, params["merge_request_iid"])
    notes = [n for n in project.notes.values() if n.iid == mr.iid]
    key = (lambda n: (n.updated_at, n.id)) if query.get("order_by") == "updated_at" else (lambda n: n.id)
    notes.sort(key=key, reverse=query.get("sort", "desc") == "desc")     # GitLab's default: newest first
    per_page, page = query.get("per_page", 20), query.get("page", 1)
    chunk = notes[(page - 1) * per_page: page * per_page]
    headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(notes)),
               "X-Next-Page": str(page + 1) if page * per_page < len(notes) else ""}
    return 200, [forge._note_json(project, n) for n in chunk], headers


def _create_note(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    mr = forge._mr(project, params["merge_request_iid"])
    nid, now = next(forge._ids), _now()
    project.notes[nid] = _Note(nid, mr.iid, body["body"], user, now, now)
    return 201, forge._note_json(project, project.notes[nid]), {}


def _update_note(forge: LocalGitLab, user: str, params, query, body):
    project = forge._project(params["id"])
    mr = forge._mr(project, params["merge_request_iid"])
    raw = params["note_id"]
    note = project.notes.get(int(raw)) if raw.isdigit() else None
    if note is None or note.iid != mr.iid:
        raise ApiError(404, "404 Not found")
    if note.author != user:                 # only the author edits a note's body
        raise ApiError(403, "403 Forbidden")
    note.body, note.updated_at = body["body"], _now()
    return 200, forge._note_json(project, note), {}


_HANDLERS = {
    "notes/list": _notes, "notes/create": _create_note, "notes/update": _update_note,
    "mergeRequests/list": _list, "mergeRequests/create": _create, "mergeRequests/get": _get,
    "mergeRequests/update": _update, "mergeRequests/merge": _accept, "users/list": _users,
}


def _handler_for(forge: LocalGitLab) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            try:
                forge._serve(self)
            except Exception as exc:        # a forge bug: say so to the client and to the test
                forge._violate("forge", self.command, self.path.split("?")[0], f"internal error: {exc!r}")
                _send(self, 500, {"Content-Type": "application/json"},
                      json.dumps({"message": f"local forge error: {exc!r}"}).encode())

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        def log_message(self, *args) -> None:   # never log: credentials may come nearby
            pass

    return Handler

