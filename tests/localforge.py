"""A local forge on 127.0.0.1 that behaves like GitHub for what ddl-cascade uses, for tests and benchmarks.

No public forge is reachable from the test machines, yet the pull-request delivery must be tested against GitHub's
behaviour, not against a mock that agrees with whatever the client does. So `LocalForge` is a small GitHub:

- **git over smart HTTP** (`git http-backend`) for the bare repositories under its root, with GitHub's
  authentication: HTTP basic with any user name and a token as the password (what
  `http.extraHeader: Authorization: basic base64(x-access-token:TOKEN)` sends), or `Authorization: Bearer TOKEN`.
- **the REST API** under `/api/v3` (GitHub Enterprise's base path): repositories, pull requests (list with GitHub's
  filters and `Link` pagination, create, get, update, merge by merge commit, squash or rebase made with git plumbing
  in the bare repository), labels, review requests, issue comments on pull requests (list with `Link` pagination,
  create, get, edit; GitHub's 65,536-character limit on a body), refs, `/rate_limit`, and GitHub App installations
  and tokens.
- **a minimal GraphQL endpoint** at `/api/graphql` (tests/localforge_graphql.py): auto-merge and batched reads of
  pull requests.

Every REST request and response is held to GitHub's published OpenAPI description (tests/localforge_spec.py), so a
request the real GitHub would refuse is refused here too (422/400 in GitHub's words) and recorded in `violations`;
the `local_forge` fixture fails the test at teardown when a violation was recorded that the test did not take with
`take_violations()`. A response of the forge itself that breaks the contract is a violation too (and is still sent).

State lives in memory (pull requests, labels, tokens) and in the bare repositories (branches, merges); branch tips
are always read from git, so pushes by any means are seen. As on GitHub, a pull request whose head branch is deleted
is closed, and one whose head commits reach its base by a push is marked merged. Faults: `rate_limit_next()` answers
the next requests with GitHub's rate-limit responses; `expire_tokens()` makes every installation token fail with
401 "Bad credentials". `requests` logs every request (never a credential) so tests and benchmarks count reads and
writes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import localforge_common
import localforge_graphql
import localforge_spec
from localforge_common import git as _git, identity as _identity, is_ancestor as _is_ancestor, \
    read_body as _read_body, send as _send
from localforge_spec import Violation

DOCS = "https://docs.github.com/rest"
API_PREFIX = "/api/v3"
GRAPHQL_PATH = "/api/graphql"
RATE_LIMIT = 5000
TOKEN_LIFETIME = 3600
JWT_MAX_LIFETIME = 600
BOT_COMMITTER = ("GitHub", "noreply@github.com")
API_VERSIONS = ("2022-11-28",)     # the versions GitHub documents (docs "API versions")


@dataclass(frozen=True)
class LoggedRequest:
    """One request the forge answered: `kind` is "rest", "graphql" or "git"; `path` is below /api/v3 for REST."""

    kind: str
    method: str
    path: str
    status: int
    is_write: bool
    operation: str = ""


@dataclass(frozen=True)
class RecordedViolation:
    """A request (or a response of the forge) that GitHub's contract does not allow."""

    where: str          # "request", "response", "graphql" or "forge" (a GitHub feature the forge lacks)
    method: str
    path: str
    message: str


class ApiError(Exception):
    """A GitHub error answer: `status` and the JSON body GitHub sends."""

    def __init__(self, status: int, message: str, *, errors: list | None = None, headers: dict | None = None,
                 docs: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict = {"message": message, "documentation_url": docs}
        if errors is not None:
            self.body["errors"] = errors
        if status >= 400:
            self.body["status"] = str(status)
        self.headers = headers or {}


@dataclass
class Principal:
    """Who a credential is: a user (plain token), an App installation (its bot), or an App itself (JWT)."""

    login: str
    kind: str                       # "user", "installation" or "app"
    user_type: str = "User"         # "User" or "Bot"
    owner: str | None = None        # an installation token reaches this owner's repositories only ...
    repos: frozenset[str] | None = None   # ... and, when given, only these
    app_id: str | None = None
    push: bool = True               # False: a token that may read but not write (`add_token(..., push=False)`)
    scopes: tuple[str, ...] | None = None   # a classic token's OAuth scopes (GitHub's X-OAuth-Scopes header)

    def reaches(self, owner: str, name: str) -> bool:
        if self.kind == "user":
            return True
        if self.kind != "installation" or owner != self.owner:
            return False
        return self.repos is None or name in self.repos


@dataclass
class _Token:
    principal: Principal
    expires_at: float | None        # None: never (plain tokens)
    revoked: bool = False


@dataclass
class _App:
    app_id: str
    slug: str
    public_key: object
    bot_id: int


@dataclass
class _Pull:
    number: int
    id: int
    node_id: str
    title: str
    body: str | None
    head: str
    base: str
    draft: bool
    user: Principal
    created_at: str
    updated_at: str
    head_sha: str
    base_sha: str
    state: str = "open"
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: Principal | None = None
    merge_commit_sha: str | None = None
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    checks_passed: bool = False
    auto_merge: dict | None = None
    seen: tuple[str, str] = ("", "")        # (head, base) last checked for "merged by a push"


@dataclass
class _Comment:
    id: int
    node_id: str
    issue: int
    body: str
    user: Principal
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
    labels: dict[str, dict] = field(default_factory=dict)      # lower-case name -> label
    pulls: dict[int, _Pull] = field(default_factory=dict)
    next_number: int = 1
    protected: dict[str, tuple[str, ...]] = field(default_factory=dict)   # branch -> required checks
    allow_auto_merge: bool = True
    comments: dict[int, _Comment] = field(default_factory=dict)   # issue comments by id, oldest first


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(prefix: str, *parts: object) -> str:
    raw = ":".join(str(p) for p in parts).encode()
    return prefix + "_kwDO" + base64.urlsafe_b64encode(hashlib.sha1(raw).digest()[:9]).decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def app_jwt(app_id: str | int, private_key_pem: str, *, now: float | None = None, lifetime: int = 540,
            iat_skew: int = 60) -> str:
    """An RS256 JWT for a GitHub App, as GitHub's docs make it (iat a minute in the past, exp within 10 minutes)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    now = time.time() if now is None else now
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)

    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    signing_input = enc({"alg": "RS256", "typ": "JWT"}) + "." + enc(
        {"iat": int(now) - iat_skew, "exp": int(now) + lifetime, "iss": str(app_id)})
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


class LocalForge:
    """A GitHub on 127.0.0.1 (see the module docstring). Close it with `close()` (the fixture does)."""

    def __init__(self, root: Path, *, validate_responses: bool = True) -> None:
        # Requests are always validated; responses cost about 10 ms per full pull request (jsonschema on GitHub's
        # large schemas), which a benchmark of hundreds of children may turn off.
        self.validate_responses = validate_responses
        self.spec = localforge_spec.spec()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests: list[LoggedRequest] = []
        self.violations: list[RecordedViolation] = []
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._tokens: dict[str, _Token] = {}
        self._apps: dict[str, _App] = {}
        self._installations: dict[int, tuple[str, str]] = {}     # id -> (app id, owner)
        self._faults: list[tuple[str, int]] = []
        self._ids = itertools.count(1001)
        self._users: dict[str, int] = {}
        self._rate_reset = int(time.time()) + 3600
        self._rate_used = 0
        self._mergeable: dict[tuple[str, str, str], tuple[bool, dict]] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.base_url + API_PREFIX
        self.graphql_url = self.base_url + GRAPHQL_PATH
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- set-up and inspection, for tests -------------------------------------------------------------------------

    def create_repo(self, owner: str, name: str, *, files: dict[str, str] | None = None,
                    default_branch: str = "main") -> Path:
        """A bare repository OWNER/NAME.git under root whose `default_branch` holds one commit with `files`."""
        path = self.root / owner / f"{name}.git"
        _git(None, "init", "-q", "--bare", f"--initial-branch={default_branch}", str(path))
        _git(path, "config", "http.receivepack", "true")
        entries = []
        for file_name, content in sorted((files or {"README.md": f"# {name}\n"}).items()):
            blob = _git(path, "hash-object", "-w", "--stdin", input=content.encode())
            if "/" in file_name:
                raise ValueError("create_repo takes top-level files only")
            entries.append(f"100644 blob {blob}\t{file_name}")
        tree = _git(path, "mktree", input=("\n".join(entries) + "\n").encode())
        commit = _git(path, "commit-tree", tree, "-m", "Initial commit", env=_identity(("octocat", "octocat@github.com")))
        _git(path, "update-ref", f"refs/heads/{default_branch}", commit)
        with self._lock:
            self._repos[(owner, name)] = _Repo(next(self._ids), owner, name, path, _now(), default_branch)
        return path

    def git_url(self, owner: str, name: str) -> str:
        return f"{self.base_url}/{owner}/{name}.git"

    def add_token(self, token: str, login: str = "octocat", *, push: bool = True,
                  scopes: tuple[str, ...] | None = None) -> None:
        """A plain token (a personal access token) of user `login`, reaching every repository; with `push=False`
        it may only read (GitHub answers a push with 403 and reports `permissions.push` false); `scopes`: a classic
        token's OAuth scopes, sent as `X-OAuth-Scopes` with the repository."""
        with self._lock:
            self._tokens[token] = _Token(Principal(login, "user", push=push, scopes=scopes), None)

    def add_installation_token(self, token: str, owner: str, repos: set[str] | None = None) -> None:
        """An App installation token as `actions/create-github-app-token` hands it out: it reaches `owner`'s
        repositories only, and only `repos` when given."""
        with self._lock:
            self._tokens[token] = _Token(Principal(f"app-{owner}[bot]", "installation", "Bot", owner,
                                                   frozenset(repos) if repos is not None else None), None)

    def register_app(self, app_id: str | int, slug: str | None = None) -> str:
        """A GitHub App installed on every owner; returns its private key (PEM) for signing JWTs."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        with self._lock:
            self._apps[str(app_id)] = _App(str(app_id), slug or f"app-{app_id}", key.public_key(), next(self._ids))
        return pem

    def installation_id(self, app_id: str | int, owner: str) -> int:
        with self._lock:
            for inst_id, (app, inst_owner) in self._installations.items():
                if app == str(app_id) and inst_owner == owner:
                    return inst_id
            inst_id = next(self._ids)
            self._installations[inst_id] = (str(app_id), owner)
            return inst_id

    def expire_tokens(self) -> None:
        """Every installation token minted so far now fails with 401 "Bad credentials" (as after its hour)."""
        with self._lock:
            for token in self._tokens.values():
                if token.principal.kind == "installation":
                    token.revoked = True

    def rate_limit_next(self, n: int, kind: str = "secondary", retry_after: int = 1) -> None:
        """The next `n` API requests get GitHub's rate-limit answer: "secondary" (403 with Retry-After),
        "primary" (403, x-ratelimit-remaining 0 and x-ratelimit-reset) or "429" (the same with status 429)."""
        if kind not in ("secondary", "primary", "429"):
            raise ValueError(kind)
        with self._lock:
            self._faults.extend([(kind, retry_after)] * n)

    def protect(self, owner: str, repo: str, branch: str = "main", checks: tuple[str, ...] = ("ci",)) -> None:
        """Branch protection with required status checks: PRs on `branch` are "blocked" until `pass_checks`."""
        with self._lock:
            self._repo(owner, repo).protected[branch] = tuple(checks)

    def pass_checks(self, owner: str, repo: str, number: int) -> None:
        """The required checks of a PR pass; a PR with auto-merge enabled is then merged by its method."""
        with self._lock:
            r = self._repo(owner, repo)
            pr = r.pulls[number]
            pr.checks_passed = True
            if pr.auto_merge and pr.state == "open":
                self._merge(r, pr, pr.auto_merge["merge_method"], pr.auto_merge["commit_title"] or None,
                            pr.auto_merge["commit_message"] or None, None, pr.auto_merge["by"])

    def pulls(self, owner: str, repo: str) -> list[dict]:
        """Every pull request of OWNER/REPO as GitHub's full JSON, by number."""
        with self._lock:
            r = self._repo(owner, repo)
            self._refresh(r)
            return [self._pull_json(r, pr, full=True) for _, pr in sorted(r.pulls.items())]

    def comments(self, owner: str, repo: str, number: int) -> list[dict]:
        """The issue comments on pull request `number`, oldest first, as the API shows them."""
        with self._lock:
            r = self._repos[(owner, repo)]
            return [self._comment_json(r, c) for c in r.comments.values() if c.issue == number]

    def add_comment(self, owner: str, repo: str, number: int, body: str, login: str = "reviewer") -> int:
        """A comment by someone else (a person reviewing), as if posted on GitHub's web page; its id."""
        with self._lock:
            r = self._repos[(owner, repo)]
            now = _now()
            cid = next(self._ids)
            r.comments[cid] = _Comment(cid, _node_id("IC", cid), number, body, Principal(login, "user"), now, now)
            return cid

    def merge(self, owner: str, repo: str, number: int, method: str = "merge") -> str:
        """Merge a PR as a reviewer would from the web UI; returns the merge commit (the new base tip)."""
        with self._lock:
            r = self._repo(owner, repo)
            self._refresh(r)
            return self._merge(r, r.pulls[number], method, None, None, None, Principal("reviewer", "user"))

    def take_violations(self) -> list[RecordedViolation]:
        """The violations recorded so far, which the test thereby expected (the fixture then does not fail)."""
        with self._lock:
            taken, self.violations = self.violations, []
            return taken

    def count(self, kind: str = "rest", write: bool | None = None) -> int:
        """How many requests of `kind` ("rest", "graphql", "git" or "api" for both API kinds) were answered."""
        kinds = ("rest", "graphql") if kind == "api" else (kind,)
        return sum(1 for r in self.requests if r.kind in kinds and (write is None or r.is_write == write))

    # --- HTTP dispatch -----------------------------------------------------------------------------------------------

    def _serve(self, h: "BaseHTTPRequestHandler") -> None:
        url = urlsplit(h.path)
        body = _read_body(h)
        if url.path == API_PREFIX or url.path.startswith(API_PREFIX + "/"):
            self._serve_rest(h, url.path[len(API_PREFIX):] or "/", url.query, body)
        elif url.path == GRAPHQL_PATH:
            self._serve_graphql(h, body)
        elif ".git/" in url.path or url.path.endswith(".git"):
            self._serve_git(h, url.path, url.query, body)
        else:
            _send(h, 404, {"Content-Type": "text/plain"}, b"Not Found\n")

    def _serve_rest(self, h, path: str, query: str, raw: bytes) -> None:
        method = h.command
        found = self.spec.find(method, path)
        op = found[0] if found else None
        status, body, headers = self._rest(h, method, path, query, raw, found)
        if op is not None and status != 501 and self.validate_responses:
            try:
                self.spec.check_response(op, status, body)
            except Violation as exc:
                self._violate("response", method, path, f"{op.operation_id} {status}: {exc.message}")
        with self._lock:
            self.requests.append(LoggedRequest("rest", method, path, status, method not in ("GET", "HEAD"),
                                               op.operation_id if op else ""))
        self._send_json(h, status, body, headers)

    def _rest(self, h, method, path, query, raw, found) -> tuple[int, object, dict]:
        try:
            self._fault()
            if found is None:
                self._violate("request", method, path, "no such operation in GitHub's REST API")
                raise ApiError(404, "Not Found")
            op, path_params = found
            self._check_headers(h, method, path)
            principal = self._authenticate(h.headers.get("Authorization"),
                                           jwt=op.operation_id in _JWT_OPERATIONS)
            body, has_body = None, bool(raw.strip())
            if has_body:
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._violate("request", method, path, "request body is not JSON")
                    raise ApiError(400, "Problems parsing JSON") from None
            try:
                params = self.spec.check_request(op, path_params, parse_qs(query, keep_blank_values=True), body,
                                                 has_body)
            except Violation as exc:
                self._violate("request", method, path, f"{op.operation_id}: {exc.message}")
                raise ApiError(exc.status, exc.message) from None
            handler = _HANDLERS.get(op.operation_id)
            if handler is None:
                self._violate("forge", method, path, f"{op.operation_id} is not implemented by the local forge")
                raise ApiError(501, f"{op.operation_id} is not implemented by the local forge")
            with self._lock:
                status, out, headers = handler(self, principal, params, body if body is not None else {}, query)
            return status, out, headers
        except ApiError as exc:
            return exc.status, exc.body, exc.headers

    def _send_json(self, h, status: int, body: object, headers: dict) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        with self._lock:
            self._rate_used += 1
            used = self._rate_used
        out = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(max(RATE_LIMIT - used, 0)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(self._rate_reset),
            "x-ratelimit-resource": "core",
        }
        out.update(headers)
        _send(h, status, out, data)

    def _fault(self) -> None:
        with self._lock:
            if not self._faults:
                return
            kind, retry_after = self._faults.pop(0)
        if kind == "secondary":
            raise ApiError(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                                "again. If you reach out to GitHub Support for help, please include the request ID "
                                f"{secrets.token_hex(4).upper()}:{secrets.token_hex(4).upper()}.",
                           headers={"Retry-After": str(retry_after)},
                           docs="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                                "#about-secondary-rate-limits")
        reset = int(time.time()) + retry_after
        raise ApiError(403 if kind == "primary" else 429,
                       "API rate limit exceeded for installation. If you reach out to GitHub Support for help, "
                       "please include the request ID " + secrets.token_hex(4).upper() + ".",
                       headers={"x-ratelimit-remaining": "0", "x-ratelimit-used": str(RATE_LIMIT),
                                "x-ratelimit-reset": str(reset)},
                       docs="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                            "#about-primary-rate-limits")

    def _check_headers(self, h, method: str, path: str) -> None:
        """GitHub refuses a request without User-Agent, and an API version it does not know."""
        if not h.headers.get("User-Agent"):
            self._violate("request", method, path, "no User-Agent header")
            raise ApiError(403, "Request forbidden by administrative rules. Please make sure your request has a "
                                "User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
                                "#user-agent-required). Check https://developer.github.com for other possible causes.")
        version = h.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in API_VERSIONS:
            self._violate("request", method, path, f"unsupported X-GitHub-Api-Version {version!r}")
            raise ApiError(400, f"API version '{version}' is not supported.")

    def _violate(self, where: str, method: str, path: str, message: str) -> None:
        with self._lock:
            self.violations.append(RecordedViolation(where, method, path, message))

    # --- authentication ----------------------------------------------------------------------------------------------

    def _credential(self, header: str | None) -> str | None:
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme in ("token", "bearer"):
            return value.strip()
        if scheme == "basic":
            try:
                return base64.b64decode(value.strip()).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return None
        return None

    def _authenticate(self, header: str | None, *, jwt: bool = False) -> Principal:
        credential = self._credential(header)
        if credential is None:
            raise ApiError(401, "Requires authentication")
        looks_like_jwt = credential.startswith("eyJ") and credential.count(".") == 2
        if jwt:
            if not looks_like_jwt:
                raise ApiError(401, "A JSON web token could not be decoded")
            return self._verify_jwt(credential)
        if looks_like_jwt:
            raise ApiError(403, "Resource not accessible by integration")
        return self._principal(credential)

    def _principal(self, credential: str) -> Principal:
        with self._lock:
            token = self._tokens.get(credential)
        if token is None or token.revoked or (token.expires_at is not None and token.expires_at <= time.time()):
            raise ApiError(401, "Bad credentials")
        return token.principal

    def _verify_jwt(self, token: str) -> Principal:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            head_b64, claims_b64, sig_b64 = token.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(sig_b64)
        except ValueError:
            raise ApiError(401, "A JSON web token could not be decoded") from None
        if header.get("alg") != "RS256":
            raise ApiError(401, "A JSON web token could not be decoded")
        with self._lock:
            app = self._apps.get(str(claims.get("iss")))
        if app is None:
            raise ApiError(401, "'Issuer' claim ('iss') must be an Integer" if claims.get("iss") is None
                           else "Integration not found")
        try:
            app.public_key.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(),
                                  hashes.SHA256())
        except InvalidSignature:
            raise ApiError(401, "A JSON web token could not be decoded") from None
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + 60:
            raise ApiError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the "
                                "assertion was issued.")
        if not isinstance(exp, int) or exp <= now:
            raise ApiError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future "
                                "time at which the assertion expires.")
        if exp > now + JWT_MAX_LIFETIME + 1:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
        return Principal(app.slug, "app", app_id=app.app_id)

    # --- git over smart HTTP -----------------------------------------------------------------------------------------

    def _serve_git(self, h, path: str, query: str, body: bytes) -> None:
        owner, _, rest = path.lstrip("/").partition("/")
        name = rest.partition(".git")[0]
        is_write = "git-receive-pack" in path or "service=git-receive-pack" in query
        status = self._git_request(h, owner, name, path, query, body)
        with self._lock:
            self.requests.append(LoggedRequest("git", h.command, path, status, is_write))
        if is_write and status == 200 and h.command == "POST":
            with self._lock:
                repo = self._repos.get((owner, name))
                if repo is not None:
                    self._refresh(repo)

    def _git_request(self, h, owner: str, name: str, path: str, query: str, body: bytes) -> int:
        credential = self._credential(h.headers.get("Authorization"))
        principal = None
        if credential is not None:
            try:
                principal = self._principal(credential)
            except ApiError:
                principal = None
        if principal is None:
            _send(h, 401, {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"},
                  b"Invalid username or token. Password authentication is not supported for Git operations.\n")
            return 401
        with self._lock:
            known = (owner, name) in self._repos
        if not known or not principal.reaches(owner, name):
            _send(h, 404, {"Content-Type": "text/plain"}, b"Repository not found.\n")
            return 404
        if not principal.push and ("git-receive-pack" in path or "service=git-receive-pack" in query):
            _send(h, 403, {"Content-Type": "text/plain"},
                  f"Permission to {owner}/{name}.git denied to {principal.login}.\n".encode())
            return 403
        status = localforge_common.http_backend(h, self.root, principal.login, path, query, body)
        return status

    # --- GraphQL -------------------------------------------------------------------------------------------------

    def _serve_graphql(self, h, raw: bytes) -> None:
        status, body, is_write = 200, None, False
        try:
            self._fault()
            principal = self._authenticate(h.headers.get("Authorization"))
            try:
                request = json.loads(raw)
                query = request["query"]
            except (ValueError, KeyError, TypeError):
                self._violate("graphql", "POST", GRAPHQL_PATH, "body is not {\"query\": ..., \"variables\": ...}")
                raise ApiError(400, "Problems parsing JSON") from None
            with self._lock:
                body, problems, is_write = localforge_graphql.execute(
                    self, principal, query, request.get("variables") or {})
            for problem in problems:
                self._violate("graphql", "POST", GRAPHQL_PATH, problem)
        except ApiError as exc:
            status, body = exc.status, exc.body
            self._send_json(h, status, body, exc.headers)
            with self._lock:
                self.requests.append(LoggedRequest("graphql", "POST", GRAPHQL_PATH, status, False))
            return
        with self._lock:
            self.requests.append(LoggedRequest("graphql", "POST", GRAPHQL_PATH, status, is_write))
        self._send_json(h, status, body, {"x-ratelimit-resource": "graphql"})

    # --- state -------------------------------------------------------------------------------------------------------

    def _repo(self, owner: str, name: str, principal: Principal | None = None) -> _Repo:
        repo = self._repos.get((owner, name))
        if repo is None or (principal is not None and not principal.reaches(owner, name)):
            raise ApiError(404, "Not Found")
        return repo

    def _branches(self, repo: _Repo) -> dict[str, str]:
        out = _git(repo.path, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def _refresh(self, repo: _Repo) -> None:
        """Bring open PRs up to the branches: new head tips, closed when the head branch is gone, merged when the
        head's commits reached the base by a push (both as GitHub does)."""
        if not any(pr.state == "open" for pr in repo.pulls.values()):
            return
        tips = self._branches(repo)
        for pr in repo.pulls.values():
            if pr.state != "open":
                continue
            head, base = tips.get(pr.head), tips.get(pr.base)
            if head is None:
                pr.state, pr.closed_at = "closed", _now()
                pr.updated_at = pr.closed_at
                continue
            pr.head_sha = head
            if base is not None:
                pr.base_sha = base
            if (pr.head_sha, pr.base_sha) != pr.seen:
                pr.seen = (pr.head_sha, pr.base_sha)
                if _is_ancestor(repo.path, pr.head_sha, pr.base_sha):
                    pr.state, pr.merged_at = "closed", _now()
                    pr.closed_at = pr.updated_at = pr.merged_at
                    pr.merge_commit_sha = pr.head_sha
                    pr.merged_by = Principal(repo.owner, "user")

    def _user_id(self, login: str) -> int:
        if login not in self._users:
            self._users[login] = next(self._ids)
        return self._users[login]

    def _user_json(self, login: str, user_type: str = "User") -> dict:
        base = self.base_url
        api = f"{self.api_url}/users/{login}"
        uid = self._user_id(login)
        return {
            "login": login, "id": uid, "node_id": _node_id("U", login), "avatar_url": f"{base}/avatars/{login}",
            "gravatar_id": "", "url": api, "html_url": f"{base}/{login}", "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}", "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs", "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "type": user_type, "site_admin": False,
            "user_view_type": "public",
        }

    def _principal_json(self, principal: Principal) -> dict:
        if principal.kind == "installation":
            return self._user_json(f"{principal.login}[bot]", "Bot")
        return self._user_json(principal.login, principal.user_type)

    def _repo_json(self, repo: _Repo, full: bool = False) -> dict:
        full_name = f"{repo.owner}/{repo.name}"
        api = f"{self.api_url}/repos/{full_name}"
        html = f"{self.base_url}/{full_name}"
        open_count = sum(1 for pr in repo.pulls.values() if pr.state == "open")
        out = {
            "id": repo.id, "node_id": _node_id("R", full_name), "name": repo.name, "full_name": full_name,
            "owner": self._user_json(repo.owner, "Organization"), "private": True, "html_url": html,
            "description": None, "fork": False, "url": api, "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{api}/assignees{{/user}}", "blobs_url": f"{api}/git/blobs{{/sha}}",
            "branches_url": f"{api}/branches{{/branch}}", "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "comments_url": f"{api}/comments{{/number}}", "commits_url": f"{api}/commits{{/sha}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}", "contents_url": f"{api}/contents/{{+path}}",
            "contributors_url": f"{api}/contributors", "deployments_url": f"{api}/deployments",
            "downloads_url": f"{api}/downloads", "events_url": f"{api}/events", "forks_url": f"{api}/forks",
            "git_commits_url": f"{api}/git/commits{{/sha}}", "git_refs_url": f"{api}/git/refs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}", "git_url": f"git://127.0.0.1/{full_name}.git",
            "issue_comment_url": f"{api}/issues/comments{{/number}}", "issue_events_url": f"{api}/issues/events{{/number}}",
            "issues_url": f"{api}/issues{{/number}}", "keys_url": f"{api}/keys{{/key_id}}",
            "labels_url": f"{api}/labels{{/name}}", "languages_url": f"{api}/languages", "merges_url": f"{api}/merges",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "pulls_url": f"{api}/pulls{{/number}}", "releases_url": f"{api}/releases{{/id}}",
            "ssh_url": f"git@127.0.0.1:{full_name}.git", "stargazers_url": f"{api}/stargazers",
            "statuses_url": f"{api}/statuses/{{sha}}", "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription", "tags_url": f"{api}/tags", "teams_url": f"{api}/teams",
            "trees_url": f"{api}/git/trees{{/sha}}", "clone_url": self.git_url(repo.owner, repo.name),
            "mirror_url": None, "hooks_url": f"{api}/hooks", "svn_url": html, "homepage": None, "language": None,
            "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 1,
            "default_branch": repo.default_branch, "open_issues_count": open_count, "is_template": False,
            "topics": [], "has_issues": True, "has_projects": False, "has_wiki": False, "has_pages": False,
            "has_downloads": True, "has_discussions": False, "archived": False, "disabled": False,
            "visibility": "private", "pushed_at": repo.created_at, "created_at": repo.created_at,
            "updated_at": repo.created_at, "permissions": {"admin": False, "maintain": False, "push": True,
                                                            "triage": True, "pull": True},
            "allow_rebase_merge": True, "allow_squash_merge": True, "allow_merge_commit": True,
            "allow_auto_merge": repo.allow_auto_merge, "delete_branch_on_merge": False, "allow_forking": False,
            "web_commit_signoff_required": False, "license": None, "forks": 0, "open_issues": open_count,
            "watchers": 0,
        }
        if full:
            out.update({"network_count": 0, "subscribers_count": 0, "allow_update_branch": False,
                        "use_squash_pr_title_as_default": False, "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                        "squash_merge_commit_message": "COMMIT_MESSAGES", "merge_commit_title": "MERGE_MESSAGE",
                        "merge_commit_message": "PR_TITLE"})
        return out

    def _label_json(self, repo: _Repo, name: str) -> dict:
        return repo.labels[name.lower()]

    def _ensure_label(self, repo: _Repo, name: str) -> str:
        key = name.lower()
        if key not in repo.labels:
            repo.labels[key] = {
                "id": next(self._ids), "node_id": _node_id("LA", repo.owner, repo.name, key),
                "url": f"{self.api_url}/repos/{repo.owner}/{repo.name}/labels/{name}", "name": name,
                "description": "", "color": "ededed", "default": False,
            }
        return repo.labels[key]["name"]

    def _team_json(self, repo: _Repo, slug: str) -> dict:
        api = f"{self.api_url}/orgs/{repo.owner}/teams/{slug}"
        return {
            "id": self._user_id(f"team:{repo.owner}/{slug}"), "node_id": _node_id("T", repo.owner, slug), "url": api,
            "members_url": f"{api}/members{{/member}}", "name": slug, "description": None, "permission": "pull",
            "privacy": "closed", "notification_setting": "notifications_enabled",
            "html_url": f"{self.base_url}/orgs/{repo.owner}/teams/{slug}", "repositories_url": f"{api}/repos",
            "slug": slug, "type": "organization", "parent": None,
        }

    def _stats(self, repo: _Repo, pr: _Pull) -> tuple[bool | None, dict]:
        """(mergeable, {commits, additions, deletions, changed_files}) of a PR, cached by its two tips."""
        key = (str(repo.path), pr.base_sha, pr.head_sha)
        if key not in self._mergeable:
            merged = subprocess.run(["git", "merge-tree", "--write-tree", "--no-messages", pr.base_sha, pr.head_sha],
                                    cwd=repo.path, capture_output=True, text=True)
            counts = {"commits": int(_git(repo.path, "rev-list", "--count", f"{pr.base_sha}..{pr.head_sha}")),
                      "additions": 0, "deletions": 0, "changed_files": 0}
            for line in _git(repo.path, "diff", "--numstat", f"{pr.base_sha}...{pr.head_sha}").splitlines():
                added, deleted, _ = line.split("\t", 2)
                counts["additions"] += int(added) if added.isdigit() else 0
                counts["deletions"] += int(deleted) if deleted.isdigit() else 0
                counts["changed_files"] += 1
            self._mergeable[key] = (merged.returncode == 0, counts)
        return self._mergeable[key]

    def _merge_state(self, repo: _Repo, pr: _Pull) -> tuple[bool | None, str]:
        if pr.state != "open":
            return None, "unknown"
        mergeable, _ = self._stats(repo, pr)
        if not mergeable:
            return False, "dirty"
        if pr.base in repo.protected and not pr.checks_passed:
            return True, "blocked"
        return True, "draft" if pr.draft else "clean"

    def _pull_json(self, repo: _Repo, pr: _Pull, full: bool) -> dict:
        full_name = f"{repo.owner}/{repo.name}"
        api = f"{self.api_url}/repos/{full_name}"
        url = f"{api}/pulls/{pr.number}"
        html = f"{self.base_url}/{full_name}/pull/{pr.number}"
        repo_json = self._repo_json(repo)
        owner_json = self._user_json(repo.owner, "Organization")

        def link(href: str) -> dict:
            return {"href": href}

        out = {
            "url": url, "id": pr.id, "node_id": pr.node_id, "html_url": html, "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch", "issue_url": f"{api}/issues/{pr.number}", "number": pr.number,
            "state": pr.state, "locked": False, "title": pr.title, "user": self._principal_json(pr.user),
            "body": pr.body, "labels": [self._label_json(repo, name) for name in pr.labels],
            "milestone": None, "active_lock_reason": None, "created_at": pr.created_at, "updated_at": pr.updated_at,
            "closed_at": pr.closed_at, "merged_at": pr.merged_at, "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None, "assignees": [], "requested_reviewers": [self._user_json(r) for r in pr.reviewers],
            "requested_teams": [self._team_json(repo, t) for t in pr.teams],
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}", "comments_url": f"{api}/issues/{pr.number}/comments",
            "statuses_url": f"{api}/statuses/{pr.head_sha}",
            "head": {"label": f"{repo.owner}:{pr.head}", "ref": pr.head, "sha": pr.head_sha, "user": owner_json,
                     "repo": repo_json},
            "base": {"label": f"{repo.owner}:{pr.base}", "ref": pr.base, "sha": pr.base_sha, "user": owner_json,
                     "repo": repo_json},
            "_links": {"self": link(url), "html": link(html), "issue": link(f"{api}/issues/{pr.number}"),
                       "comments": link(f"{api}/issues/{pr.number}/comments"),
                       "review_comments": link(f"{url}/comments"),
                       "review_comment": link(f"{api}/pulls/comments{{/number}}"), "commits": link(f"{url}/commits"),
                       "statuses": link(f"{api}/statuses/{pr.head_sha}")},
            "author_association": "MEMBER" if pr.user.kind == "user" else "NONE",
            "auto_merge": None if pr.auto_merge is None else {
                "enabled_by": self._principal_json(pr.auto_merge["by"]),
                "merge_method": pr.auto_merge["merge_method"], "commit_title": pr.auto_merge["commit_title"],
                "commit_message": pr.auto_merge["commit_message"]},
            "draft": pr.draft,
        }
        if full:
            mergeable, state = self._merge_state(repo, pr)
            _, counts = self._stats(repo, pr)
            out.update({"merged": pr.merged_at is not None, "mergeable": mergeable, "rebaseable": mergeable,
                        "mergeable_state": state,
                        "merged_by": None if pr.merged_by is None else self._principal_json(pr.merged_by),
                        "comments": 0, "review_comments": 0, "maintainer_can_modify": False, **counts})
        return out

    # --- merging (in the bare repository, with git plumbing) -------------------------------------------------------

    def _comment_json(self, repo: _Repo, c: _Comment) -> dict:
        api = f"{self.api_url}/repos/{repo.owner}/{repo.name}"
        reactions = {"url": f"{api}/issues/comments/{c.id}/reactions", "total_count": 0, "+1": 0, "-1": 0,
                     "laugh": 0, "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0}
        return {
            "id": c.id, "node_id": c.node_id, "url": f"{api}/issues/comments/{c.id}", "body": c.body,
            "html_url": f"{self.base_url}/{repo.owner}/{repo.name}/pull/{c.issue}#issuecomment-{c.id}",
            "user": self._principal_json(c.user), "created_at": c.created_at, "updated_at": c.updated_at,
            "issue_url": f"{api}/issues/{c.issue}",
            "author_association": "MEMBER" if c.user.kind == "user" else "NONE", "reactions": reactions,
        }

    def _merge(self, repo: _Repo, pr: _Pull, method: str, title: str | None, message: str | None,
               sha: str | None, by: Principal) -> str:
        if pr.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if sha is not None and sha != pr.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        mergeable, state = self._merge_state(repo, pr)
        if state == "blocked":
            checks = repo.protected[pr.base]
            raise ApiError(405, f"Required status check \"{checks[0]}\" is expected." if checks
                           else "Pull Request is not mergeable")
        if state == "draft":
            raise ApiError(405, "Pull Request is still a draft")
        if not mergeable:
            raise ApiError(405, "Pull Request is not mergeable")
        base, head = pr.base_sha, pr.head_sha
        login = f"{by.login}[bot]" if by.kind == "installation" else by.login
        author = (login, f"{self._user_id(login)}+{login}@users.noreply.github.com")
        env = _identity(author, BOT_COMMITTER)
        if method == "rebase":
            new = base
            for commit in _git(repo.path, "rev-list", "--reverse", "--topo-order", "--no-merges",
                               f"{base}..{head}").split():
                new = localforge_common.replay(repo.path, commit, new, BOT_COMMITTER)
                if new is None:
                    raise ApiError(405, "This branch can't be rebased")
        else:
            tree = _git(repo.path, "merge-tree", "--write-tree", "--no-messages", base, head)
            if method == "merge":
                title = title or f"Merge pull request #{pr.number} from {repo.owner}/{pr.head}"
                message = pr.title if message is None else message
                parents = ["-p", base, "-p", head]
            else:
                title = title or f"{pr.title} (#{pr.number})"
                if message is None:
                    subjects = _git(repo.path, "log", "--reverse", "--format=* %s", f"{base}..{head}")
                    message = subjects
                parents = ["-p", base]
            text = title + ("\n\n" + message if message else "") + "\n"
            new = _git(repo.path, "commit-tree", tree, *parents, input=text.encode(), env=env)
        result = subprocess.run(["git", "update-ref", f"refs/heads/{pr.base}", new, base], cwd=repo.path,
                                capture_output=True)
        if result.returncode != 0:
            raise ApiError(405, "Base branch was modified. Review and try the merge again.")
        pr.state = "closed"
        pr.merged_at = pr.closed_at = pr.updated_at = _now()
        pr.merged_by = by
        pr.merge_commit_sha = new
        pr.auto_merge = None
        pr.seen = (head, new)
        return new

    def _open_pull_for(self, repo: _Repo, head: str) -> _Pull | None:
        return next((p for p in repo.pulls.values() if p.state == "open" and p.head == head), None)


# --- REST handlers: (forge, principal, params, body, raw query) -> (status, json, headers) -----------------------------

_JWT_OPERATIONS = {"apps/get-repo-installation", "apps/create-installation-access-token", "apps/get-org-installation",
                   "apps/get-user-installation"}


def _get_repo(forge: LocalForge, who: Principal, params, body, query):
    repo = forge._repo(params["owner"], params["repo"], who)
    out = forge._repo_json(repo, full=True)
    out["permissions"]["push"] = who.push
    return 200, out, {"X-OAuth-Scopes": ", ".join(who.scopes)} if who.scopes is not None else {}


def _list_pulls(forge: LocalForge, who: Principal, params, body, query):
    repo = forge._repo(params["owner"], params["repo"], who)
    forge._refresh(repo)
    state = params.get("state", "open")
    pulls = [pr for pr in repo.pulls.values() if state == "all" or pr.state == state]
    head = params.get("head")
    if head and ":" in head:            # GitHub ignores a head filter without "owner:" (a known trap)
        owner, _, branch = head.partition(":")
        pulls = [pr for pr in pulls if owner == repo.owner and pr.head == branch]
    if params.get("base"):
        pulls = [pr for pr in pulls if pr.base == params["base"]]
    sort = params.get("sort", "created")
    direction = params.get("direction", "desc" if sort == "created" else "asc")
    key = (lambda p: p.updated_at) if sort == "updated" else (lambda p: p.number)
    pulls.sort(key=key, reverse=direction == "desc")
    chunk, headers = _page(pulls, params, query, f"{forge.api_url}/repos/{repo.owner}/{repo.name}/pulls")
    return 200, [forge._pull_json(repo, pr, full=False) for pr in chunk], headers


def _page(items: list, params, query: str, url: str) -> tuple[list, dict]:
    """One page of `items` (`per_page`, at most 100; `page`) and GitHub's `Link` header to the others."""
    per_page = min(int(params.get("per_page", 30)), 100)
    page = max(int(params.get("page", 1)), 1)
    chunk = items[(page - 1) * per_page: page * per_page]
    last = max((len(items) + per_page - 1) // per_page, 1)
    headers = {}
    links = []
    base_query = {k: v[-1] for k, v in parse_qs(query).items() if k != "page"}

    def at(n: int) -> str:
        return url + "?" + urlencode({**base_query, "page": n})

    if page > 1:
        links += [f'<{at(page - 1)}>; rel="prev"', f'<{at(1)}>; rel="first"']
    if page < last:
        links += [f'<{at(page + 1)}>; rel="next"', f'<{at(last)}>; rel="last"']
    if links:
        headers["Link"] = ", ".join(links)
    return chunk, headers


def _validation_failed(errors: list[dict], docs: str = DOCS + "/pulls/pulls") -> ApiError:
    return ApiError(422, "Validation Failed", errors=errors, docs=docs)


def _create_pull(forge: LocalForge, who: Principal, params, body, query):
    repo = forge._repo(params["owner"], params["repo"], who)
    forge._refresh(repo)
    if "issue" in body:
        raise _validation_failed([{"resource": "PullRequest", "field": "issue", "code": "invalid",
                                   "message": "converting an issue is not supported by the local forge"}])
    if not body.get("title"):
        raise _validation_failed([{"resource": "PullRequest", "field": "title", "code": "missing_field"}])
    head, base = body["head"], body["base"]
    if ":" in head:
        owner, _, head = head.partition(":")
        if owner != repo.owner:     # forks are not modelled: the head branch lives in the same repository
            raise _validation_failed([{"resource": "PullRequest", "field": "head", "code": "invalid"}])
    tips = forge._branches(repo)
    if base not in tips:
        raise _validation_failed([{"resource": "PullRequest", "field": "base", "code": "invalid"}])
    if head not in tips:
        raise _validation_failed([{"resource": "PullRequest", "field": "head", "code": "invalid"}])
    if forge._open_pull_for(repo, head) is not None:
        raise _validation_failed([{"resource": "PullRequest", "code": "custom",
                                   "message": f"A pull request already exists for {repo.owner}:{head}."}])
    if _is_ancestor(repo.path, tips[head], tips[base]):
        raise _validation_failed([{"resource": "PullRequest", "code": "custom",
                                   "message": f"No commits between {base} and {head}"}])
    now = _now()
    number = repo.next_number
    repo.next_number += 1
    pr = _Pull(number, next(forge._ids), _node_id("PR", repo.owner, repo.name, number), body["title"],
               body.get("body"), head, base, bool(body.get("draft", False)), who, now, now, tips[head], tips[base])
    repo.pulls[number] = pr
    return 201, forge._pull_json(repo, pr, full=True), {"Location": f"{forge.api_url}/repos/{repo.owner}/"
                                                                     f"{repo.name}/pulls/{number}"}


def _pull(forge: LocalForge, who: Principal, params) -> tuple[_Repo, _Pull]:
    repo = forge._repo(params["owner"], params["repo"], who)
    forge._refresh(repo)
    number = params.get("pull_number", params.get("issue_number"))
    pr = repo.pulls.get(number)
    if pr is None:
        raise ApiError(404, "Not Found")
    return repo, pr


def _get_pull(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    return 200, forge._pull_json(repo, pr, full=True), {}


def _update_pull(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    if "base" in body and body["base"] != pr.base:
        tips = forge._branches(repo)
        if body["base"] not in tips:
            raise _validation_failed([{"resource": "PullRequest", "field": "base", "code": "invalid"}])
        if pr.state == "open":
            pr.base, pr.base_sha = body["base"], tips[body["base"]]
    if "state" in body and body["state"] != pr.state:
        if pr.merged_at is not None:
            raise _validation_failed([{"resource": "PullRequest", "code": "custom",
                                       "message": "Cannot change the state of a merged pull request."}])
        if body["state"] == "closed":
            pr.state, pr.closed_at = "closed", _now()
        else:
            tips = forge._branches(repo)
            if pr.head not in tips:
                raise _validation_failed([{"resource": "PullRequest", "field": "state", "code": "invalid",
                                           "message": "state cannot be changed. The head branch was deleted."}])
            if forge._open_pull_for(repo, pr.head) is not None:
                raise _validation_failed([{"resource": "PullRequest", "code": "custom",
                                           "message": f"A pull request already exists for {repo.owner}:{pr.head}."}])
            pr.state, pr.closed_at = "open", None
            pr.head_sha = tips[pr.head]
            forge._refresh(repo)
    if "title" in body:
        pr.title = body["title"]
    if "body" in body:
        pr.body = body["body"]
    pr.updated_at = _now()
    return 200, forge._pull_json(repo, pr, full=True), {}


def _merge_pull(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    method = body.get("merge_method", "merge")
    sha = forge._merge(repo, pr, method, body.get("commit_title"), body.get("commit_message"), body.get("sha"), who)
    return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}


def _label_names(body) -> list[str]:
    items = body.get("labels", []) if isinstance(body, dict) else body
    return [item["name"] if isinstance(item, dict) else item for item in items]


def _add_labels(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    for name in _label_names(body):
        name = forge._ensure_label(repo, name)
        if name.lower() not in (n.lower() for n in pr.labels):
            pr.labels.append(name)
    pr.updated_at = _now()
    return 200, [forge._label_json(repo, name) for name in pr.labels], {}


def _set_labels(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    pr.labels = []
    return _add_labels(forge, who, params, body, query)


def _list_labels(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    return 200, [forge._label_json(repo, name) for name in pr.labels], {}


def _request_reviewers(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    author = forge._principal_json(pr.user)["login"]
    if author in body.get("reviewers", []):
        raise ApiError(422, "Review cannot be requested from pull request author.",
                       docs=DOCS + "/pulls/review-requests#request-reviewers-for-a-pull-request")
    for login in body.get("reviewers", []):
        if login not in pr.reviewers:
            pr.reviewers.append(login)
    for slug in body.get("team_reviewers", []):
        if slug not in pr.teams:
            pr.teams.append(slug)
    pr.updated_at = _now()
    return 201, forge._pull_json(repo, pr, full=False), {}


COMMENT_MAX = 65_536   # characters of a comment body GitHub accepts (422 above)


def _list_comments(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)      # only pull requests are modelled as issues
    comments = [c for c in repo.comments.values() if c.issue == pr.number
                and (not params.get("since") or c.updated_at >= params["since"])]
    chunk, headers = _page(comments, params, query,
                           f"{forge.api_url}/repos/{repo.owner}/{repo.name}/issues/{pr.number}/comments")
    return 200, [forge._comment_json(repo, c) for c in chunk], headers


def _check_comment_body(text: str) -> None:
    if len(text) > COMMENT_MAX:
        raise _validation_failed([{"resource": "IssueComment", "field": "data", "code": "unprocessable",
                                   "message": f"Body is too long (maximum is {COMMENT_MAX} characters)"}],
                                 DOCS + "/issues/comments")


def _create_comment(forge: LocalForge, who: Principal, params, body, query):
    repo, pr = _pull(forge, who, params)
    _check_comment_body(body["body"])
    now = _now()
    cid = next(forge._ids)
    repo.comments[cid] = _Comment(cid, _node_id("IC", cid), pr.number, body["body"], who, now, now)
    return 201, forge._comment_json(repo, repo.comments[cid]), {
        "Location": f"{forge.api_url}/repos/{repo.owner}/{repo.name}/issues/comments/{cid}"}


def _comment(forge: LocalForge, who: Principal, params) -> tuple[_Repo, _Comment]:
    repo = forge._repo(params["owner"], params["repo"], who)
    comment = repo.comments.get(params["comment_id"])
    if comment is None:
        raise ApiError(404, "Not Found")
    return repo, comment


def _get_comment(forge: LocalForge, who: Principal, params, body, query):
    repo, comment = _comment(forge, who, params)
    return 200, forge._comment_json(repo, comment), {}


def _update_comment(forge: LocalForge, who: Principal, params, body, query):
    repo, comment = _comment(forge, who, params)
    _check_comment_body(body["body"])
    comment.body, comment.updated_at = body["body"], _now()
    return 200, forge._comment_json(repo, comment), {}


def _get_ref(forge: LocalForge, who: Principal, params, body, query):
    repo = forge._repo(params["owner"], params["repo"], who)
    ref = params["ref"]
    if not ref.startswith("heads/"):
        raise ApiError(404, "Not Found")
    sha = forge._branches(repo).get(ref[len("heads/"):])
    if sha is None:
        raise ApiError(404, "Not Found")
    api = f"{forge.api_url}/repos/{repo.owner}/{repo.name}"
    return 200, {"ref": f"refs/{ref}", "node_id": _node_id("REF", repo.owner, repo.name, ref),
                 "url": f"{api}/git/refs/{ref}", "object": {"type": "commit", "sha": sha,
                                                            "url": f"{api}/git/commits/{sha}"}}, {}


def _rate_limit(forge: LocalForge, who: Principal, params, body, query):
    def bucket(limit: int, used: int = 0) -> dict:
        return {"limit": limit, "remaining": limit - used, "reset": forge._rate_reset, "used": used}

    core = bucket(RATE_LIMIT, min(forge._rate_used, RATE_LIMIT))
    return 200, {"resources": {"core": core, "graphql": bucket(5000), "search": bucket(30),
                               "code_search": bucket(10), "integration_manifest": bucket(5000)},
                 "rate": core}, {}


def _installation_json(forge: LocalForge, inst_id: int) -> dict:
    app_id, owner = forge._installations[inst_id]
    app = forge._apps[app_id]
    now = _now()
    return {
        "id": inst_id, "account": forge._user_json(owner, "Organization"), "repository_selection": "all",
        "access_tokens_url": f"{forge.api_url}/app/installations/{inst_id}/access_tokens",
        "repositories_url": f"{forge.api_url}/installation/repositories",
        "html_url": f"{forge.base_url}/organizations/{owner}/settings/installations/{inst_id}",
        "app_id": int(app_id) if app_id.isdigit() else app.bot_id, "app_slug": app.slug,
        "target_id": forge._user_id(owner), "target_type": "Organization",
        "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read", "issues": "write"},
        "events": [], "created_at": now, "updated_at": now, "single_file_name": None,
        "has_multiple_single_files": False, "single_file_paths": [], "suspended_by": None, "suspended_at": None,
    }


def _get_repo_installation(forge: LocalForge, who: Principal, params, body, query):
    forge._repo(params["owner"], params["repo"])
    return 200, _installation_json(forge, forge.installation_id(who.app_id, params["owner"])), {}


def _create_installation_token(forge: LocalForge, who: Principal, params, body, query):
    inst_id = params["installation_id"]
    if inst_id not in forge._installations or forge._installations[inst_id][0] != who.app_id:
        raise ApiError(404, "Not Found")
    owner = forge._installations[inst_id][1]
    repos = body.get("repositories")
    if body.get("repository_ids"):
        by_id = {r.id: r.name for (o, _), r in forge._repos.items() if o == owner}
        repos = list(repos or []) + [by_id[i] for i in body["repository_ids"] if i in by_id]
    if repos is not None:
        missing = [name for name in repos if (owner, name) not in forge._repos]
        if missing:
            raise ApiError(422, "There is at least one repository that does not exist or is not accessible to the "
                                "parent installation.")
    token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]
    expires = time.time() + TOKEN_LIFETIME
    app = forge._apps[who.app_id]
    forge._tokens[token] = _Token(Principal(app.slug, "installation", "Bot", owner,
                                            frozenset(repos) if repos is not None else None, who.app_id), expires)
    out = {"token": token, "expires_at": _iso(expires),
           "permissions": body.get("permissions") or {"contents": "write", "pull_requests": "write",
                                                       "metadata": "read", "issues": "write"},
           "repository_selection": "selected" if repos is not None else "all"}
    if repos is not None:
        out["repositories"] = [forge._repo_json(forge._repos[(owner, name)]) for name in repos]
    return 201, out, {}


_HANDLERS = {
    "repos/get": _get_repo,
    "pulls/list": _list_pulls,
    "pulls/create": _create_pull,
    "pulls/get": _get_pull,
    "pulls/update": _update_pull,
    "pulls/merge": _merge_pull,
    "issues/add-labels": _add_labels,
    "issues/set-labels": _set_labels,
    "issues/list-labels-on-issue": _list_labels,
    "pulls/request-reviewers": _request_reviewers,
    "issues/list-comments": _list_comments,
    "issues/create-comment": _create_comment,
    "issues/get-comment": _get_comment,
    "issues/update-comment": _update_comment,
    "git/get-ref": _get_ref,
    "rate-limit/get": _rate_limit,
    "apps/get-repo-installation": _get_repo_installation,
    "apps/create-installation-access-token": _create_installation_token,
}


# --- HTTP plumbing ------------------------------------------------------------------------------------------------

def _handler_for(forge: LocalForge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            try:
                forge._serve(self)
            except Exception as exc:        # a forge bug: say so to the client and to the test
                forge._violate("forge", self.command, self.path.split("?")[0], f"internal error: {exc!r}")
                _send(self, 500, {"Content-Type": "application/json"},
                      json.dumps({"message": f"local forge error: {exc!r}"}).encode())

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

        def log_message(self, *args) -> None:   # never log: request lines may come with credentials nearby
            pass

    return Handler
