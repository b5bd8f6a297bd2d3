"""Bring children up to the delivery branch: plan each child, then build subtree-shaped commits and push them.

Plan, then act. For every child the run computes a `ChildPlan` from its state (see status.py): `push` (behind or
not_added), `none` (in_sync), `refuse` (drifted: nothing is pushed) or `fail` (unreachable). `--dry-run` stops
there; otherwise the plan's objects are written into the cache of children and pushed.

Commits have exactly the shapes and messages `git subtree` (git 2.39) makes, so both tools can be mixed:
- mode "squash" (like `git subtree add/pull --squash`):
    first time:  S = "Squashed '<prefix>/' content from commit <short>" (tree = delivered tree, no parent,
                 trailers git-subtree-dir / git-subtree-split), then "Merge commit '<S>' as '<prefix>'" with
                 parents (child tip, S);
    later:       S = "Squashed '<prefix>/' changes from <a>..<b>" with one "%h %s" line per delivery commit in a..b
                 and "REVERT: %h %s" lines for b..a, chained on the previous squash commit found as
                 `git subtree` finds it (find_latest_squash: `git log --grep` for the dir trailer), then
                 "Merge commit '<S>'" (what `git merge --no-ff <S>` writes) with parents (child tip, S).
- mode "merge" (like `git subtree add/pull`): first "Add '<prefix>/' from commit '<split>'" with trailers
  git-subtree-dir / -mainline / -split, parents (child tip, delivery tip); later "Merge commit '<delivery tip>'".
A child whose trailers were lost (a squash-merged pull request) gets a fresh "content from" squash, which
`git subtree pull --squash` then continues from.

The new root tree is the child's own tree with only the prefix folder replaced by the delivered tree, so the
child's other files are untouched. Objects are written straight into the cache (git.write_objects), with no process
per commit; the only processes per updated child are ls-remote, fetch and push.

Safety: the push names the tip it was built on (`--force-with-lease=refs/heads/<branch>:<old>`), so it can never
overwrite a commit it has not seen. If the child moved meanwhile, the child is re-fetched, re-planned and pushed
again, up to MAX_ATTEMPTS times. Each child is independent: one failure never stops the others, and a run killed
halfway leaves every child at its old tip or its new one; running again finishes the job.
"""

from __future__ import annotations

import enum
import heapq
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ddl_cascade import git
from ddl_cascade.config import Child, Config
from ddl_cascade.cascade.cache import Fetched, Mirror, _first_line, default_jobs
from ddl_cascade.cascade.state import ChildStatus, Delivery, State, classify, commit_tree, subtree, tree_entries

MAX_ATTEMPTS = 4
_DEFAULT_BRANCHES = ("main", "master")  # git's merge.suppressDest default: no " into <branch>" for these


class Result(str, enum.Enum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    FAILED = "failed"


class Action(str, enum.Enum):
    PUSH = "push"
    NONE = "none"
    REFUSE = "refuse"
    FAIL = "fail"


@dataclass
class NewCommit:
    id: str
    kind: str  # "squash", "merge", "add" or "reset"
    subject: str


@dataclass
class ChildPlan:
    """What one child needs; `objects` are the raw commits and trees to write before the push."""

    name: str
    state: State
    action: Action
    old_tip: str | None
    new_tip: str | None = None
    commits: list[NewCommit] = field(default_factory=list)
    behind_by: int | None = None
    changed_paths: list[str] | None = None
    error: str | None = None
    objects: list[tuple[str, bytes]] = field(default_factory=list, repr=False)


@dataclass
class ChildResult:
    """The outcome for one child (`sync --json` children[])."""

    name: str
    result: Result
    state: State  # the state the child was in before this run
    commit: str | None  # the child's tip after the run (its current tip when nothing was pushed)
    old: str | None = None  # the tip before the run
    planned: str | None = None  # with --dry-run: the tip a real run would push
    commits: list[NewCommit] = field(default_factory=list)
    behind_by: int | None = None
    changed_paths: list[str] | None = None
    error: str | None = None
    attempts: int = 0
    backup: str | None = None  # reset only: the backup branch pushed first


@dataclass
class SyncReport:
    delivery_branch: str
    delivery_tip: str
    delivered_tree: str
    dry_run: bool
    children: list[ChildResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.result in (Result.UPDATED, Result.UNCHANGED) for c in self.children)


# ---------------------------------------------------------------------------------------------------------------------
# Building subtree-shaped commits

_SQUASH_WALK_LIMIT = 500


def _split_trailers(message: str) -> tuple[str | None, str] | None:
    """(mainline, split) from a message's git-subtree trailers, read word by word as git-subtree reads them."""
    mainline = split = None
    for line in message.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "git-subtree-mainline:":
            mainline = words[1]
        elif len(words) >= 2 and words[0] == "git-subtree-split:":
            split = words[1]
    return (mainline, split) if split else None


def _commit_time(reader: git.ObjectReader, commit: str) -> int:
    answer = reader.read(commit)
    if answer is None:
        return 0
    for line in answer[2].split(b"\n"):
        if line.startswith(b"committer "):
            try:
                return int(line.rsplit(b" ", 2)[1])
            except (IndexError, ValueError):
                return 0
        if not line:
            break
    return 0


class Builder:
    """Builds the commits for one run; shared by all worker threads (only the message cache is shared state)."""

    def __init__(self, config: Config, delivery: Delivery, mirror: Mirror, when: int | None = None) -> None:
        self.config = config
        self.delivery = delivery
        self.mirror = mirror
        stamp = f"{when if when is not None else int(time.time())} +0000"
        self.identity = f"{config.author.name} <{config.author.email}> {stamp}"
        self._messages: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    # -- messages, exactly as git-subtree's squash_msg / add_msg / git merge write them -------------------------------

    def _short(self, *commits: str) -> list[str]:
        # `git rev-parse --short` takes one revision; log prints the same abbreviations for many, in order.
        return git.run_text(["log", "--no-walk=unsorted", "--format=%h", *commits], self.config.root).split()

    def squash_message(self, prefix: str, old_split: str | None, new_split: str) -> str:
        # Built under the lock: every child usually needs the same message, and the first thread's three `git log`
        # calls serve them all instead of each worker thread running its own.
        key = (prefix, old_split or "", new_split)
        with self._lock:
            if key not in self._messages:
                self._messages[key] = self._build_squash_message(prefix, old_split, new_split)
            return self._messages[key]

    def _build_squash_message(self, prefix: str, old_split: str | None, new_split: str) -> str:
        if old_split:
            old_short, new_short = self._short(old_split, new_split)
            forward = git.run(["log", "--no-show-signature", "--pretty=tformat:%h %s", f"{old_split}..{new_split}"],
                              self.config.root).decode("utf-8", "surrogateescape")
            revert = git.run(["log", "--no-show-signature", "--pretty=tformat:REVERT: %h %s",
                              f"{new_split}..{old_split}"], self.config.root).decode("utf-8", "surrogateescape")
            text = f"Squashed '{prefix}/' changes from {old_short}..{new_short}\n\n{forward}{revert}"
        else:
            (new_short,) = self._short(new_split)
            text = f"Squashed '{prefix}/' content from commit {new_short}\n"
        return text + f"\ngit-subtree-dir: {prefix}\ngit-subtree-split: {new_split}\n"

    @staticmethod
    def merge_message(commit: str, branch: str) -> str:
        # `git merge --no-ff <sha>` on a branch other than main/master appends " into <branch>".
        into = "" if branch in _DEFAULT_BRANCHES else f" into {branch}"
        return f"Merge commit '{commit}'{into}\n"

    @staticmethod
    def add_message(prefix: str, mainline: str | None, split: str) -> str:
        return (f"Add '{prefix}/' from commit '{split}'\n\ngit-subtree-dir: {prefix}\n"
                f"git-subtree-mainline: {mainline or ''}\ngit-subtree-split: {split}\n")

    # -- objects ------------------------------------------------------------------------------------------------------

    def _commit(self, objects: list, tree: str, parents: list[str], message: str) -> str:
        body = git.commit_bytes(tree, parents, self.identity, self.identity, message)
        objects.append(("commit", body))
        return git.object_id("commit", body)

    def replace_folder(self, reader: git.ObjectReader, root: str | None, prefix: str, folder: str,
                       objects: list) -> str:
        """The root tree `root` with `prefix` set to tree `folder`, everything else kept; new trees go to `objects`."""

        def rebuild(tree: str | None, parts: list[str]) -> str:
            entries = tree_entries(reader, tree) if tree else {}
            name = parts[0].encode("utf-8", "surrogateescape")
            if len(parts) == 1:
                entries[name] = ("40000", folder)
            else:
                current = entries.get(name)
                inner = current[1] if current is not None and current[0] == "40000" else None
                entries[name] = ("40000", rebuild(inner, parts[1:]))
            body = git.tree_bytes((mode, n, oid) for n, (mode, oid) in entries.items())
            objects.append(("tree", body))
            return git.object_id("tree", body)

        return rebuild(root, prefix.split("/"))

    def latest_squash(self, reader: git.ObjectReader, tip: str, prefix: str) -> tuple[str, str] | None:
        """(squash commit, split commit) as `git subtree`'s find_latest_squash reads them from the child's history.

        git runs `git log --grep="^git-subtree-dir: <dir>/*$"` and takes the first match carrying a split trailer;
        for an add/rejoin merge (it also carries a mainline trailer) the merge's second parent stands in for the
        squash commit. The same walk is done here through the ObjectReader, newest commit first as `git log`
        orders them, so the usual case (the trailer a few commits back) costs no process; a long search falls back
        to `git log` itself.
        """
        pattern = re.compile(rf"^git-subtree-dir: {re.escape(prefix)}/*$", re.M)
        heap: list[tuple[int, str]] = [(0, tip)]
        seen = {tip}
        for _ in range(_SQUASH_WALK_LIMIT):
            if not heap:
                return None
            _, commit = heapq.heappop(heap)
            answer = reader.read(commit)
            if answer is None:
                break
            headers, _, message = answer[2].partition(b"\n\n")
            text = message.decode("utf-8", "surrogateescape")
            if pattern.search(text):
                found = _split_trailers(text)
                if found is not None:
                    mainline, split = found
                    return self._squash_of(reader, commit, mainline, split)
            for line in headers.split(b"\n"):
                if line.startswith(b"parent "):
                    parent = line[7:].decode()
                    if parent not in seen:
                        seen.add(parent)
                        heapq.heappush(heap, (-_commit_time(reader, parent), parent))
        out = git.run(["log", f"--grep=^git-subtree-dir: {prefix}/*$", "--no-show-signature", "-n", "50",
                       "--pretty=format:START %H%n%B%nEND%n", tip], self.mirror.path)
        for block in out.decode("utf-8", "surrogateescape").split("START ")[1:]:
            commit, _, text = block.partition("\n")
            found = _split_trailers(text)
            if found is not None:
                return self._squash_of(reader, commit.strip(), *found)
        return None

    @staticmethod
    def _squash_of(reader: git.ObjectReader, commit: str, mainline: str | None, split: str) -> tuple[str, str] | None:
        if mainline:  # an add/rejoin merge: its second parent plays the squash commit
            parents = commit_tree(reader, commit)[1]
            if len(parents) < 2:
                return None
            commit = parents[1]
        return commit, split

    def update(self, reader: git.ObjectReader, child: Child, tip: str | None, reset_note: str | None = None
               ) -> tuple[str, list[NewCommit], list[tuple[str, bytes]]]:
        """New tip, its new commits (oldest first) and objects that set the child's prefix to the delivery tip."""
        objects: list[tuple[str, bytes]] = []
        commits: list[NewCommit] = []
        delivery_tip = self.delivery.tip
        delivered_tree = self.delivery.tip_tree
        root = commit_tree(reader, tip)[0] if tip else None
        had_folder = tip is not None and subtree(reader, root, child.prefix) is not None
        new_root = self.replace_folder(reader, root, child.prefix, delivered_tree, objects)
        mainline = [tip] if tip else []

        if child.mode == "squash":
            latest = self.latest_squash(reader, tip, child.prefix) if tip and had_folder else None
            if latest is not None and (latest[1] == delivery_tip or latest[1] not in self.delivery.tree_of):
                latest = None  # nothing to chain on: start a fresh squash, as `add --squash` would
            message = self.squash_message(child.prefix, latest[1] if latest else None, delivery_tip)
            squash = self._commit(objects, delivered_tree, [latest[0]] if latest else [], message)
            commits.append(NewCommit(squash, "squash", message.split("\n", 1)[0]))
            if reset_note:
                merge_msg = f"Reset '{child.prefix}/' to delivered commit '{delivery_tip}'\n\n{reset_note}\n"
            elif latest:
                merge_msg = self.merge_message(squash, child.branch)
            else:
                merge_msg = f"Merge commit '{squash}' as '{child.prefix}'\n"
            new = self._commit(objects, new_root, mainline + [squash], merge_msg)
            commits.append(NewCommit(new, "reset" if reset_note else "merge", merge_msg.split("\n", 1)[0]))
        else:
            if reset_note:
                message, kind = (f"Reset '{child.prefix}/' to delivered commit '{delivery_tip}'\n\n{reset_note}\n",
                                 "reset")
            elif had_folder:
                message, kind = self.merge_message(delivery_tip, child.branch), "merge"
            else:
                message, kind = self.add_message(child.prefix, tip, delivery_tip), "add"
            new = self._commit(objects, new_root, mainline + [delivery_tip], message)
            commits.append(NewCommit(new, kind, message.split("\n", 1)[0]))
        return new, commits, objects


def plan_child(builder: Builder, reader: git.ObjectReader, child: Child, status: ChildStatus) -> ChildPlan:
    """The plan for one child from its state: push when behind or not_added, refuse drift, fail when unreachable."""
    plan = ChildPlan(child.name, status.state, Action.NONE, status.tip, behind_by=status.behind_by,
                     changed_paths=status.changed_paths, error=status.error)
    if status.state is State.UNREACHABLE:
        plan.action = Action.FAIL
    elif status.state is State.DRIFTED:
        plan.action = Action.REFUSE
    elif status.state in (State.BEHIND, State.NOT_ADDED):
        plan.action = Action.PUSH
        plan.new_tip, plan.commits, plan.objects = builder.update(reader, child, status.tip)
    return plan


# ---------------------------------------------------------------------------------------------------------------------
# Pushing


@dataclass
class PushOutcome:
    ok: bool
    error: str | None = None
    up_to_date: bool = False  # the child already had these tips: nothing was sent


def push(mirror: Mirror, child: Child, refspecs: list[tuple[str, str, str | None]]) -> PushOutcome:
    """Push (new commit, ref, expected old tip or None for "must not exist") pairs as compare-and-swap updates."""
    from ddl_cascade.redact import redact

    args = ["push", "--porcelain", "--no-verify"]
    for _, ref, old in refspecs:
        args.append(f"--force-with-lease={ref}:{old or ''}")
    args += ["--end-of-options", child.url] + [f"{new}:{ref}" for new, ref, _ in refspecs]
    # From a scratch git dir: `git push` reads every local ref, and the cache holds one per child.
    with mirror.scratch() as (scratch, env):
        proc = git.run_result(["--git-dir", str(scratch), *args], mirror.path, env=env)
    # --porcelain: "<flag>\t<from>:<to>\t<summary>" per ref; "=" up to date, "!" rejected.
    flags, rejected = [], []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            flags.append(parts[0])
            if parts[0] == "!":
                rejected.append(f"{parts[1].split(':')[-1]} {parts[2]}")
    if proc.returncode == 0:
        return PushOutcome(True, up_to_date=bool(flags) and all(f == "=" for f in flags))
    stderr = redact(proc.stderr.decode("utf-8", "replace"))
    return PushOutcome(False, redact(rejected[0]) if rejected else _first_line(stderr) or "git push failed")


# ---------------------------------------------------------------------------------------------------------------------
# The run


class _Readers:
    """One ObjectReader per worker thread (a cat-file process is a single conversation)."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._local = threading.local()
        self._all: list[git.ObjectReader] = []
        self._lock = threading.Lock()

    def get(self) -> git.ObjectReader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = git.ObjectReader(self.repo)
            self._local.reader = reader
            with self._lock:
                self._all.append(reader)
        return reader

    def close(self) -> None:
        for reader in self._all:
            reader.close()


@dataclass
class Run:
    """Everything one sync (or reset) run shares across worker threads."""

    config: Config
    mirror: Mirror
    delivery: Delivery
    builder: Builder
    readers: _Readers
    dry_run: bool = False
    before_push: Callable[[Child, ChildPlan], None] | None = None

    @classmethod
    def open(cls, config: Config, dry_run: bool = False, before_push=None) -> "Run":
        delivery = Delivery.load(config)
        mirror = Mirror(config)
        return cls(config, mirror, delivery, Builder(config, delivery, mirror), _Readers(mirror.path), dry_run,
                   before_push)

    def report(self) -> SyncReport:
        return SyncReport(self.config.source.delivery_branch, self.delivery.tip, self.delivery.tip_tree, self.dry_run)


def _paths(paths: list[str] | None) -> str:
    n = len(paths or [])
    return "1 changed path" if n == 1 else f"{n} changed paths"


def after_rejection(run, child: Child, plan: ChildPlan, expected: str | None, attempts: int,
                    error: str | None) -> ChildResult | None:
    """After a rejected push: None when the child moved since we read it (a lost race: read it again and retry),
    else the final failure. Any other rejection is final, so a retry never hides a real refusal."""
    try:
        moved = run.mirror.remote_tip(child) != expected
    except git.GitError as exc:
        return result_of(plan, Result.FAILED, expected, attempts, error=_first_line(str(exc)))
    if not moved:
        return result_of(plan, Result.FAILED, expected, attempts, error=error)
    return None


def result_of(plan: ChildPlan, result: Result, commit: str | None, attempts: int, error: str | None = None,
              planned: str | None = None) -> ChildResult:
    return ChildResult(plan.name, result, plan.state, commit, old=plan.old_tip, planned=planned,
                       commits=plan.commits, behind_by=plan.behind_by, changed_paths=plan.changed_paths,
                       error=error if error is not None else plan.error, attempts=attempts)


def sync_child(run: Run, child: Child, fetched: Fetched | None = None) -> ChildResult:
    """Fetch, classify, plan and (unless dry-run) push one child, retrying when the child moves under us.

    When the cache already knows the child and that tip needs an update, the push is tried straight away on the
    cached tip: the lease makes that safe (a child that moved rejects it, and is then fetched and planned again),
    and it saves the `ls-remote` round trip per child. Any other verdict on a cached tip (in sync, drifted) is
    confirmed against the child first, since it would push nothing to prove it.
    """
    attempts = 0
    last_error = None
    plan = None
    guess = fetched is None and not run.dry_run and run.mirror.cached_tip(child) is not None
    while attempts < MAX_ATTEMPTS:
        attempts += 1
        reader = run.readers.get()
        if fetched is None and guess:
            fetched = Fetched(child, run.mirror.cached_tip(child))
        elif fetched is None:
            fetched = run.mirror.fetch_one(child, reader)
        try:
            status = classify(reader, run.delivery, child, fetched.tip, fetched.error)
            plan = plan_child(run.builder, reader, child, status)
        except Exception as exc:  # a broken child must not stop the others; say why
            return ChildResult(child.name, Result.FAILED, State.UNREACHABLE, fetched.tip, old=fetched.tip,
                               error=f"could not plan: {exc}", attempts=attempts)
        if guess:
            guess = False
            if plan.action is not Action.PUSH:
                fetched, attempts = None, attempts - 1
                continue
        if plan.action is Action.FAIL:
            return result_of(plan, Result.FAILED, None, attempts)
        if plan.action is Action.REFUSE:
            return result_of(plan, Result.REFUSED, plan.old_tip, attempts,
                             error=f"'{child.prefix}/' was edited in the child ({_paths(plan.changed_paths)}); "
                                   "nothing pushed")
        if plan.action is Action.NONE:
            return result_of(plan, Result.UNCHANGED, plan.old_tip, attempts)
        if run.dry_run:
            return result_of(plan, Result.UPDATED, plan.old_tip, attempts, planned=plan.new_tip)
        git.write_objects(run.mirror.path, plan.objects)
        if run.before_push is not None:
            run.before_push(child, plan)
        outcome = push(run.mirror, child, [(plan.new_tip, f"refs/heads/{child.branch}", plan.old_tip)])
        if outcome.ok:
            run.mirror.record(child, plan.new_tip)
            if not outcome.up_to_date:
                return result_of(plan, Result.UPDATED, plan.new_tip, attempts)
            # An earlier, interrupted run built and pushed this very commit (same content, same second): the child
            # was already in sync, and nothing was sent.
            done = result_of(plan, Result.UNCHANGED, plan.new_tip, attempts)
            done.state, done.old, done.commits, done.behind_by = State.IN_SYNC, plan.new_tip, [], None
            return done
        last_error = outcome.error
        final = after_rejection(run, child, plan, plan.old_tip, attempts, outcome.error)
        if final is not None:
            return final
        fetched = None
    assert plan is not None
    return result_of(plan, Result.FAILED, plan.old_tip, attempts,
                     error=f"the child kept moving; gave up after {attempts} attempts ({last_error})")


def sync(config: Config, names: list[str] | tuple[str, ...] = (), tag: str | None = None, dry_run: bool = False,
         jobs: int | None = None, on_child: Callable[[ChildResult], None] | None = None,
         before_push: Callable[[Child, ChildPlan], None] | None = None) -> SyncReport:
    """Bring the selected children up to the delivery branch (see the module docstring)."""
    from ddl_cascade.lock import parent_lock

    children = list({c.name: c for c in config.select(names, tag)}.values())  # each child once
    with parent_lock(config):
        run = Run.open(config, dry_run=dry_run, before_push=before_push)
        report = run.report()
        try:
            report.children = _each(run, children, jobs, lambda c: sync_child(run, c), on_child)
        finally:
            run.readers.close()
            run.mirror.flush()
            run.mirror.maintain()
    return report


def _each(run: Run, children: list[Child], jobs: int | None, work: Callable[[Child], ChildResult],
          on_child: Callable[[ChildResult], None] | None) -> list[ChildResult]:
    def guarded(child: Child) -> ChildResult:
        try:
            result = work(child)
        except Exception as exc:  # one child's failure never stops the others
            result = ChildResult(child.name, Result.FAILED, State.UNREACHABLE, None, error=str(exc) or repr(exc))
        if on_child:
            on_child(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs or default_jobs(len(children))) as pool:
        return list(pool.map(guarded, children))
