"""Pull-request delivery: the child's protected branch receives the shared DDL through one reviewed pull request.

A delivery (deliveries.py) for children with `delivery = "pull-request"`. `plan` is unchanged: the plan's commit is
built on the child's current base tip (so deletions and renames arrive too). Per child there is at most one open
pull request, on the branch `[children.pull_request] branch` names (default `ddl-cascade/<delivery branch>`):

- the open pull request already holds the target tree (its hidden marker says so, and its head is still the commit
  ddl-cascade pushed): nothing is written at all;
- otherwise the commit is pushed to the pull request's branch as a compare-and-swap (lease on the head the forge
  reports, or on the branch's tip from `ls-remote` when no pull request is open), then the pull request is created
  (with labels, reviewers and auto-merge as configured) or its title and body are updated;
- a pull request someone else pushed to, or that ddl-cascade did not open, is never overwritten: the child fails
  with a sentence saying so;
- a pull request closed without merging is reported (`pull_request.state = "closed"`) and left closed, unless the
  run was asked to `--reopen` it.

The marker, an HTML comment at the end of the body, holds the delivered commit, its tree and the head commit
ddl-cascade pushed. Once the pull request is merged (merge commit, squash or rebase), the child's folder holds the
delivered tree, so `status` reads it `in_sync` by tree id, and the next delivery starts from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ddl_cascade import flyway, git
from ddl_cascade.cascade.cache import ChildCache
from ddl_cascade.cascade.deliveries import Delivered
from ddl_cascade.cascade.plan import ChildPlan
from ddl_cascade.cascade.results import PullRequestInfo, Result
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.locations import tree_paths
from ddl_cascade.forge import CLOSED, OPEN, Forge, PullRequest, Repository, WriteBudget, kind_of, repository_of

BODY_LIMIT = 60_000  # GitHub refuses bodies over 65,536 characters
_MARKER = re.compile(r"<!-- ddl-cascade (?P<fields>[^>]*) -->")


@dataclass(frozen=True)
class Marker:
    """What ddl-cascade wrote into a pull request's body: the delivered commit and tree, and the head it pushed."""

    delivered: str
    tree: str
    head: str

    def render(self) -> str:
        return f"<!-- ddl-cascade delivered={self.delivered} tree={self.tree} head={self.head} -->"

    @classmethod
    def find(cls, body: str | None) -> "Marker | None":
        m = _MARKER.search(body or "")
        if m is None:
            return None
        fields = dict(f.split("=", 1) for f in m["fields"].split() if "=" in f)
        try:
            return cls(fields["delivered"], fields["tree"], fields["head"])
        except KeyError:
            return None


def info(pr: PullRequest) -> PullRequestInfo:
    return PullRequestInfo(pr.number, pr.url, pr.state, pr.age_days)


def connect(config: Config, child: Child, budget: WriteBudget) -> tuple[Forge, Repository]:
    """The forge client for a child (one per forge kind, API URL and credentials, shared by the run's children)."""
    repo = repository_of(child.url)
    if repo is None:
        raise CascadeError(f"{config.file}: child '{child.name}' delivers by pull request, but its url names no "
                           "repository on a forge (host/owner/name).")
    kind = kind_of(config.forge, repo)
    if kind == "github":
        from ddl_cascade.forge.github import GitHub

        return GitHub.shared(config, repo, budget), repo
    if kind == "gitea":
        from ddl_cascade.forge.gitea import Gitea

        return Gitea.shared(config, repo, budget), repo
    from ddl_cascade.forge.gitlab import GitLab  # python-gitlab is imported only when a GitLab child is delivered

    return GitLab.shared(config, repo, budget), repo


class PullRequestDelivery:
    """Deliver each child's plan as one pull request kept current (see the module docstring). Made for the children
    that will use it, so a missing token or an unsupported forge stops the run before anything is read or pushed."""

    name = "pull-request"

    def __init__(self, config: Config, children: list[Child], *, reopen: bool = False) -> None:
        self.config = config
        self.reopen = reopen
        self.budget = WriteBudget(config.forge.writes_per_second)
        self.forges = {child.name: connect(config, child, self.budget) for child in children}

    def git_env(self, child: Child) -> dict[str, str] | None:
        """The forge's token for git's transport to this child (fetch and push), through the environment."""
        if child.name not in self.forges:
            return None
        forge, repo = self.forges[child.name]
        return git.credentials_environ(*forge.git_credentials(repo))

    def find(self, child: Child) -> PullRequestInfo | None:
        """The child's pull request as it stands (`status`): one read."""
        forge, repo = self.forges[child.name]
        pr = forge.find(repo, child.pull_request.branch_name(self.config.source.delivery_branch), child.branch)
        return info(pr) if pr is not None else None

    def deliver(self, cache: ChildCache, plan: ChildPlan) -> Delivered:
        child = plan.child
        assert child is not None and plan.new is not None
        try:
            forge, repo = self.forges[child.name]
            branch = child.pull_request.branch_name(self.config.source.delivery_branch)
            pr = forge.find(repo, branch, child.branch)
            marker = Marker.find(pr.body) if pr is not None else None
            if pr is not None and pr.state == OPEN:
                if marker is None:
                    return Delivered(Result.FAILED, error=f"pull request #{pr.number} on branch '{branch}' was not "
                                     "opened by ddl-cascade; nothing pushed", pull_request=info(pr))
                if pr.head_sha != marker.head:
                    return Delivered(Result.FAILED, error=f"someone else pushed to branch '{branch}' of pull request "
                                     f"#{pr.number}; nothing pushed (merge or close it first)", pull_request=info(pr))
                if marker.tree == plan.target_tree:
                    return Delivered(Result.UNCHANGED, pull_request=info(pr))
            elif pr is not None and pr.state == CLOSED and not self.reopen:
                return Delivered(Result.REFUSED, error=f"pull request #{pr.number} was closed without merging; "
                                 "nothing pushed (run with --reopen to reopen it)", pull_request=info(pr))
            # Compare-and-swap on the branch: the head the forge reports for an open pull request, else its tip now.
            expected = pr.head_sha if pr is not None and pr.state == OPEN else cache.branch_tip(child, branch)
            pushed = cache.push(child, [(plan.new, f"refs/heads/{branch}", expected)])
            if not pushed.ok:
                return Delivered(Result.FAILED, error=f"branch '{branch}' not pushed: {pushed.error}")
            assert plan.target_tree is not None
            body = render_body(cache, plan, Marker(plan.target, plan.target_tree, plan.new))
            title = f"Shared DDL: {self.config.source.delivery_branch} at {plan.target[:12]}"
            settings = child.pull_request
            if pr is not None and (pr.state == OPEN or (pr.state == CLOSED and self.reopen)):
                reopened = pr.state == CLOSED
                pr = forge.update(repo, pr, title=title, body=body, reopen=reopened)
                result = Result.PR_UPDATED
            else:
                pr = forge.create(repo, branch=branch, base=child.branch, title=title, body=body,
                                  draft=settings.draft)
                forge.decorate(repo, pr, labels=settings.labels, reviewers=settings.reviewers,
                               team_reviewers=settings.team_reviewers)
                result = Result.PR_OPENED
            if settings.auto_merge != "off":
                forge.auto_merge(repo, pr, settings.auto_merge)
            return Delivered(result, pull_request=info(pr))
        except CascadeError as exc:
            return Delivered(Result.FAILED, error=str(exc))


# -- the body ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    change: str  # added, changed, removed
    path: str
    version: str | None
    checksum: int | None


def changes(cache: ChildCache, old_tree: str | None, new_tree: str, encoding: str) -> tuple[list[Change], str]:
    """The files of the read-only folder that the delivery adds, changes or removes, with Flyway's view of each; and
    one line saying what Flyway resolves in the delivered folder (the migrations' names, versions and duplicates,
    as `validate` checks them)."""
    with git.ObjectReader(cache.path) as reader:
        before = tree_paths(reader, old_tree) if old_tree else {}
        after = tree_paths(reader, new_tree)
        summary = _resolution_summary(cache.config, after)
        out: list[Change] = []
        for path in sorted(set(before) | set(after)):
            if before.get(path) == after.get(path):
                continue
            kind = "added" if path not in before else "removed" if path not in after else "changed"
            version, checksum = None, None
            try:
                name = flyway.parse_name(path.rsplit("/", 1)[-1])
                version = name.version.text if name.version is not None else None
            except flyway.FlywayError:
                name = None
            if name is not None and path in after:
                blob = reader.read(after[path])
                try:
                    checksum = flyway.checksum_bytes(blob[2], encoding) if blob else None
                except flyway.FlywayError:
                    checksum = None
            out.append(Change(kind, path, version, checksum))
    return out, summary


def _resolution_summary(config: Config, paths: dict[str, str]) -> str:
    sql, callbacks = config.flyway.sql_paths, config.flyway.callback_paths

    def under(folders: tuple[str, ...]) -> dict[str, list[str]]:
        return {f: [p[len(f) + 1:] for p in paths if p.startswith(f + "/")] for f in folders}

    resolution = flyway.resolve(under(sql), callback_locations=under(callbacks))
    versions = [m.version for m in resolution.migrations if m.version is not None]
    line = (f"Flyway resolves {len(resolution.migrations)} migration(s)"
            + (f", versions {min(versions).text} to {max(versions).text}" if versions else "")
            + f", and {len(resolution.callbacks)} callback(s) in the delivered folder")
    if not resolution.problems:
        return line + "; no naming problem, no duplicate version."
    shown = "; ".join(p.message.splitlines()[0] for p in resolution.problems[:5])
    more = f" (and {len(resolution.problems) - 5} more)" if len(resolution.problems) > 5 else ""
    return line + f"; {len(resolution.problems)} problem(s): {shown}{more}."


def render_body(cache: ChildCache, plan: ChildPlan, marker: Marker) -> str:
    assert plan.child is not None and plan.target_tree is not None
    found, summary = changes(cache, plan.tree, plan.target_tree, cache.config.flyway.encoding)
    prefix = plan.child.prefix.rstrip("/")
    head = [
        f"ddl-cascade delivers the shared DDL of `{cache.config.source.delivery_branch}` at `{plan.target}` "
        f"(tree `{plan.target_tree}`) into `{prefix}/`.",
        "",
        f"Validation: {summary}",
        "",
        f"**{len(found)} file(s) change** in the read-only folder. Merge this pull request as it is: any edit to "
        f"`{prefix}/` would be reported as drift.",
        "",
        "| change | file | Flyway version | checksum |",
        "|---|---|---|---|",
    ]
    tail = ["", marker.render()]
    rows, size = [], sum(len(line) + 1 for line in head + tail) + 200
    for i, c in enumerate(found):
        row = (f"| {c.change} | `{prefix}/{c.path}` | {c.version or '—'} | "
               f"{c.checksum if c.checksum is not None else '—'} |")
        if size + len(row) + 1 > BODY_LIMIT:
            rows.append(f"| … | and {len(found) - i} more file(s) | | |")
            break
        rows.append(row)
        size += len(row) + 1
    return "\n".join(head + rows + tail)
