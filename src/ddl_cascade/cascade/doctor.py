"""`doctor`: can this parent reach each child, push to it, and with which credential? One sentence per problem.

Why a command of its own: a delivery that cannot authenticate fails in the middle of a run (the seed's release job
died on "could not read Username ... terminal prompts disabled"), and the reason is rarely in git's words. `doctor`
asks each child what `sync` will ask, the same way (`git.transport`, from the cache of children, with the credential
each child's delivery gives git), and says, per child:

- **reach**: `git ls-remote` of the child's branch;
- **push**: `git push --dry-run` (the remote must agree to receive with the credential that writes; nothing is sent).
  For a push-delivered child whose branch exists, also the remote's own rules (a pre-receive hook, branch
  protection), which a dry run never reaches: an atomic push of a probe commit (a child of the tip, with the tip's
  tree) to the branch, together with a ref that can never be created beside it (`<branch>/ddl-cascade-doctor`),
  so that the remote runs its hooks on both and then, the second ref failing, moves neither (git.probe_hooks). No
  ref moves; the remote may keep the one unreferenced probe commit until its next garbage collection. A
  pull-request child is probed on its pull request's branch (a dry run that would create or move it);
- **which credential answered**: a credential in the URL, the forge's token (`[forge] token_env`) or a GitHub App's
  installation token (pull-request delivery), a credential helper (by name), an askpass program, the ssh agent or an
  ssh key, or none. Read from git's own trace2 events (git.CredentialTrace), not guessed from configuration;
- **the forge's permissions** (pull-request children on GitHub): contents and pull requests, from the App
  installation's permissions, or from the repository's `permissions` and a classic token's OAuth scopes;
- the parent's persisted `http.<url>.extraHeader` (actions/checkout without `persist-credentials: false`), which git
  sends from this clone before any credential helper is asked, so that it replaces the App token.

Nothing is printed or stored that holds a secret: git's words are redacted, a helper is named without its arguments,
an extra header by its key only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlsplit

from ddl_cascade import git
from ddl_cascade.cascade.cache import ChildCache, in_parallel
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError
from ddl_cascade.redact import redact


class Credential(str, enum.Enum):
    """Which credential git used for a child."""

    NONE = "none"  # nothing was asked for (a local path, an anonymous remote), or nothing answered
    URL = "url"  # user and password in the child's URL
    FORGE_TOKEN = "forge_token"  # `[forge] token_env` (pull-request delivery)
    APP_TOKEN = "app_token"  # a GitHub App installation token (`[forge] app_id`)
    CREDENTIAL_HELPER = "credential_helper"  # git's `credential.helper` (named in `credential_detail`)
    ASKPASS = "askpass"  # GIT_ASKPASS, core.askPass or SSH_ASKPASS
    SSH_AGENT = "ssh_agent"  # a key the ssh agent holds
    SSH_KEY = "ssh_key"  # a key file ssh read (its file name in `credential_detail`)
    SSH = "ssh"  # ssh, without saying which key (the user's own ssh command, or it failed)


@dataclass
class Problem:
    """One problem: `cause` is a stable id, `message` one sentence naming the cause and the fix."""

    cause: str
    message: str


@dataclass
class ForgeAccess:
    """What the forge says the delivery's credential may do in the child's repository."""

    forge: str  # github, gitea, gitlab
    repository: str  # owner/name
    credential: str  # token or app
    scopes: list[str] | None  # a classic token's OAuth scopes; None when the forge did not say
    contents: str | None  # write, read, none; None: not known
    pull_requests: str | None


@dataclass
class ChildAccess:
    """One child: reached, pushable, the credential that answered, the forge's permissions, its problems."""

    name: str
    url: str
    branch: str
    delivery: str
    reachable: bool
    tip: str | None  # the branch's tip; None when unreachable or absent
    push_ref: str | None  # the ref the push was probed on
    can_push: bool | None  # None: not probed (unreachable, or nothing to probe with)
    credential: Credential
    credential_detail: str | None  # the helper's name, the ssh key's file name, the token's environment variable
    forge: ForgeAccess | None
    problems: list[Problem]
    ok: bool  # no problem


@dataclass
class DoctorReport:
    """`ddl-cascade doctor --json`: each child's reach, push and credential, with every problem in one sentence."""

    ok: bool
    extra_headers: list[str]  # the `http.*.extraheader` keys git applies in the parent (never their values)
    children: list[ChildAccess]


# ---------------------------------------------------------------------------------------------------------------------


def _host(url: str) -> str:
    if "://" in url:
        parts = urlsplit(url)
        return parts.hostname or url
    return url.split(":", 1)[0].rpartition("@")[2]


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _header_applies(key: str, url: str) -> bool:
    """Whether `http.<prefix>.extraheader` (or plain `http.extraheader`) applies to `url`, as git's urlmatch does
    for the usual forms: same scheme and host, the path a prefix."""
    prefix = key[len("http."):-len(".extraheader")] if key.lower() != "http.extraheader" else ""
    if not prefix:
        return _is_http(url)
    want, have = urlsplit(prefix), urlsplit(git.split_credentials(url)[0])
    return (want.scheme.lower() == have.scheme.lower() and (want.hostname or "") == (have.hostname or "")
            and (want.port == have.port) and have.path.startswith(want.path.rstrip("/")))


class Doctor:
    """Probe the children of one parent (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.cache = ChildCache(config)
        self.timeout = config.sync.timeout
        self.headers = git.extra_headers(config.root)
        self._env: dict[str, Mapping[str, str] | None] = {}
        self.cache.git_env = lambda child: self._env.get(child.name)

    def check(self, children: list[Child], jobs: int | None = None) -> DoctorReport:
        from ddl_cascade.lock import parent_lock

        with parent_lock(self.config):  # the probes fetch into the cache of children, as a sync would
            self.cache.repair()
            try:
                found = in_parallel(self.child, children, jobs)
            finally:
                self.cache.flush()
            self.cache.maintain()
        return DoctorReport(all(c.ok for c in found), [key for _, key in self.headers], found)

    # -- one child -----------------------------------------------------------------------------------------------

    def child(self, child: Child) -> ChildAccess:
        url = child.url
        problems: list[Problem] = []
        credential, detail, forge_access = self._given(child, problems)
        read, tip = git.probe_read(self.cache.path, url, child.branch, env=self._env.get(child.name),
                                   timeout=self.timeout)
        access = ChildAccess(child.name, url, child.branch, child.delivery, read.ok, tip, None, None, Credential.NONE,
                             None, forge_access, problems, False)
        access.credential, access.credential_detail = self._answered(child, read.trace, credential, detail)
        if not read.ok:
            problems.append(self._explain(child, "read", read, access.credential))
        else:
            if tip is None and not child.create_branch:
                problems.append(Problem("missing_branch", f"{child.name} has no branch '{child.branch}': create it, or "
                                        "set create_branch = true for this child in cascade.toml."))
            push = self._push(child, tip, access)
            if push is not None and (push.trace.asked or push.trace.ssh):  # the credential that writes
                access.credential, access.credential_detail = self._answered(child, push.trace, credential, detail)
        for scope, key in self.headers:
            if _header_applies(key, url):
                instead = "any credential helper" if credential is Credential.NONE else f"the {_words(credential)}"
                problems.append(Problem("extra_header", f"{key} is set in the parent's {scope} git config "
                                        "(actions/checkout persists its token so), and git sends that header from this "
                                        f"clone instead of {instead}: check out with `persist-credentials: false`, or "
                                        "unset the key."))
        access.ok = not problems
        return access

    def _given(self, child: Child, problems: list[Problem]) -> tuple[Credential, str | None, ForgeAccess | None]:
        """The credential ddl-cascade itself hands git for this child (the environment `sync` gives its transport),
        and the forge's word on what it may do."""
        if git.split_credentials(child.url)[1] is not None:
            return Credential.URL, None, None
        if child.delivery != "pull-request":
            return Credential.NONE, None, None
        from ddl_cascade.cascade.pullrequests import connect
        from ddl_cascade.forge import TOKEN_ENV, WriteBudget, kind_of, repository_of

        app = bool(self.config.forge.app_id)
        kind = Credential.APP_TOKEN if app else Credential.FORGE_TOKEN
        repo = repository_of(child.url)
        forge_kind = kind_of(self.config.forge, repo) if repo is not None else "github"
        detail = f"[forge] app_id {self.config.forge.app_id}" if app else \
            (self.config.forge.token_env or TOKEN_ENV.get(forge_kind, "GITHUB_TOKEN"))
        try:
            forge, repo = connect(self.config, child, WriteBudget(self.config.forge.writes_per_second))
            self._env[child.name] = git.credentials_environ(*forge.git_credentials(repo))
        except CascadeError as exc:
            problems.append(Problem("forge_credential", redact(f"{child.name} is delivered by pull request, but "
                                                               f"{str(exc).rstrip('.')}: fix that first.")))
            return kind, detail, None
        access = None
        probe = getattr(forge, "access", None)
        if probe is not None:
            try:
                said = probe(repo)
            except CascadeError as exc:
                problems.append(Problem("forge_permissions", redact(f"{str(exc).rstrip('.')}: give the "
                                                                    f"{_words(kind)} access to {repo.full_name}.")))
            else:
                access = ForgeAccess(forge.kind, repo.full_name, said.credential,
                                     list(said.scopes) if said.scopes is not None else None, said.contents,
                                     said.pull_requests)
                levels = (("contents", said.contents), ("pull requests", said.pull_requests))
                lacking = [what for what, level in levels if level not in (None, "write")]
                if lacking:
                    fix = ("give the App `contents: write` and `pull-requests: write` (and install it on "
                           f"{repo.full_name})") if app else \
                        ("use a token with write access to the repository (a classic token needs the `repo` scope; a "
                         "fine-grained one `Contents` and `Pull requests`: read and write)")
                    granted = ", ".join(f"{what}: {level}" for what, level in levels)
                    problems.append(Problem("forge_permissions", f"the {_words(kind)} may not write "
                                            f"{' and '.join(lacking)} in {repo.full_name} ({granted}): {fix}."))
        return kind, detail, access

    def _push(self, child: Child, tip: str | None, access: ChildAccess) -> git.Probe | None:
        """Probe the push a delivery would make; fills `access.push_ref` and `can_push`, adds problems."""
        pull_request = child.delivery == "pull-request"
        ref = f"refs/heads/{child.pull_request.branch_name(self.config.source.delivery_branch)}" if pull_request \
            else f"refs/heads/{child.branch}"
        fetched = self.cache.fetch_one(child) if tip is not None else None
        if fetched is not None and fetched.error:
            access.problems.append(Problem("fetch", redact(f"{child.name} answered ls-remote but its branch could not "
                                                           f"be fetched ({fetched.error}): run `ddl-cascade status "
                                                           f"{child.name}` to see more.")))
            return None
        source = fetched.tip if fetched is not None and fetched.tip else self.cache.delivery_tip()
        if source is None:
            return None  # nothing to offer yet: the child's branch is absent and nothing was published
        access.push_ref = ref
        env = self._env.get(child.name)
        with self.cache.scratch() as (scratch, scratch_env):
            both = {**scratch_env, **(env or {})}
            probe, refused = git.probe_push(scratch, child.url, source, ref, env=both, timeout=self.timeout)
            if not probe.ok or refused:
                access.can_push = False
                access.problems.append(self._explain(child, "push", probe, access.credential, refused))
                return probe
            access.can_push = True
            if pull_request or fetched is None or not fetched.tip:
                return probe
            hooks, refused = git.probe_hooks(scratch, child.url, self._probe_commit(fetched.tip), child.branch,
                                             env=both, timeout=self.timeout)
        if refused:
            access.can_push = False
            access.problems.append(Problem("branch_protected", redact(
                f"{child.name}'s branch '{child.branch}' refuses pushes ({refused}): deliver to it by pull request "
                "(delivery = \"pull-request\" for this child in cascade.toml), or let the identity that pushes "
                "bypass the rule.")))
        elif not hooks.ok and not hooks.stdout.strip():  # the probe itself failed (transport): say so
            access.can_push = False
            access.problems.append(self._explain(child, "push", hooks, access.credential))
        return probe

    def _probe_commit(self, tip: str) -> str:
        objects = git.Objects(self.cache.path)
        try:
            tree = objects.tree_of(tip) or git.EMPTY_TREE
        finally:
            objects.close()
        who = "ddl-cascade doctor <doctor@ddl-cascade.invalid> 0 +0000"
        body = git.commit_bytes(tree, [tip], who, who, "ddl-cascade doctor: push probe (never written to a ref)\n")
        return git.write_objects(self.cache.path, [("commit", body)])[0]

    # -- words ----------------------------------------------------------------------------------------------------

    def _answered(self, child: Child, trace: git.CredentialTrace, given: Credential, detail: str | None
                  ) -> tuple[Credential, str | None]:
        """Which credential answered, from git's trace (see git.CredentialTrace)."""
        if trace.ssh:
            if trace.ssh_key is not None:
                how, name = trace.ssh_key
                return (Credential.SSH_AGENT, name) if how == "agent" else (Credential.SSH_KEY, name)
            return Credential.SSH, None
        if trace.answered == git.OWN_HELPER:
            return given, detail
        if trace.answered == git.ASKPASS:
            return Credential.ASKPASS, None
        if trace.answered is not None:
            return Credential.CREDENTIAL_HELPER, trace.answered
        return Credential.NONE, None

    def _explain(self, child: Child, stage: str, probe: git.Probe, given: Credential,
                 refused: str | None = None) -> Problem:
        """One sentence for a failed probe: the cause in plain words, then the fix."""
        said = f"{probe.said}\n{probe.error or ''}\n{refused or ''}"
        low = said.lower()
        host = _host(child.url)
        what = "read" if stage == "read" else "push to"
        trace = probe.trace
        if "terminal prompts disabled" in low or "could not read username" in low or "could not read password" in low:
            asked = (f"the credential helper(s) {', '.join(repr(h) for h in trace.asked)} had none"
                     if trace.asked else "no credential helper is configured for it")
            return Problem("no_credential", f"git has no credential for https to {host} ({asked}, and prompts are "
                           "off): set [forge] token_env to a token's environment variable (pull-request delivery), "
                           "use a GitHub App ([forge] app_id), or configure a credential helper that knows the host.")
        if trace.refused or "authentication failed" in low or "invalid username or" in low:
            who = f"credential helper '{trace.answered}'" if trace.answered not in (None, git.OWN_HELPER) \
                else _words(given)
            return Problem("credential_refused", f"{host} refused the credential from the {who} to {what} "
                           f"{child.name}: renew it (a new token or password), or remove the stale one.")
        if "host key verification failed" in low or "no matching host key" in low:
            return Problem("ssh_host_key", f"ssh does not trust {host}'s host key: add it to ~/.ssh/known_hosts "
                           f"(ssh-keyscan {host}, after checking its fingerprint) and run again.")
        if "permission denied (publickey" in low or "permission denied, please try again" in low:
            return Problem("ssh_permission_denied", f"{host} accepted no ssh key to {what} {child.name}: load the "
                           "deploy key into the ssh agent (ssh-add) or name it in core.sshCommand (ssh -i KEY), and "
                           "give that key write access to the repository.")
        if stage == "push" and ("403" in said or "permission to" in low or "denied" in low
                                or "access denied" in low or "not allowed" in low):
            return Problem("no_write", redact(f"the {_words(given)} may read {child.name} but not push to it "
                           f"({telling(probe, refused)}): give it write access (a token with `contents: write`, a "
                           "deploy key with write access)"
                           + ("." if child.delivery == "pull-request" else ", or deliver by pull request.")))
        if "not found" in low or "does not appear to be a git repository" in low or "does not exist" in low:
            return Problem("not_found", redact(f"{child.name} was not found at {child.url} "
                           f"({telling(probe, refused)}): check the url, and that the {_words(given)} reaches that "
                           "repository."))
        if refused:
            return Problem("push_refused", redact(f"{child.name} refuses a push to {refused}: "
                                                  f"{telling(probe, refused)}; fix that rule or deliver by pull "
                                                  "request."))
        cause = "unreachable" if stage == "read" else "push_failed"
        return Problem(cause, redact(f"cannot {what} {child.name} ({telling(probe, refused)}): check the url, the "
                                     "network and the remote, then run again."))


def telling(probe: git.Probe, refused: str | None = None) -> str:
    return (refused or probe.error or "git failed").rstrip(".")


def _words(credential: Credential) -> str:
    return {
        Credential.URL: "credential in the url",
        Credential.FORGE_TOKEN: "forge token",
        Credential.APP_TOKEN: "App token",
        Credential.CREDENTIAL_HELPER: "credential helper",
        Credential.ASKPASS: "askpass program",
    }.get(credential, "credential git was given")


def doctor(config: Config, names: list[str] | tuple[str, ...] = (), jobs: int | None = None,
           on_child: Callable[[ChildAccess], None] | None = None) -> DoctorReport:
    """Probe the named children (all when none are)."""
    children = config.select(list(names))
    report = Doctor(config).check(children, jobs)
    if on_child:
        for child in report.children:
            on_child(child)
    return report
