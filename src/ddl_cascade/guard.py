"""The child-side guard: refuse changes to a child's read-only folder that are not deliveries.

A change is a delivery when the folder's tree afterwards equals a **delivered tree**. The guard never compares
files or reads a state file: like `cascade/state.py` in the parent, it compares tree ids, so a folder set by
`git subtree`, by ddl-cascade or by a squash-merged pull request reads the same way. Delivered trees come from:

- the child's own history, one `git log --grep` (`git.subtree_marks`): a squash commit's tree (it is the delivered
  tree), the tree of the split an add/rejoin commit names, and the second parent of a `Merge commit '<id>'` (a
  `git subtree pull` without `--squash`, or ddl-cascade's merge mode, brings the delivery commit itself);
- the parent's delivery branch, when a parent is known (`--parent`, or `parent` in `.ddl-cascade.toml`), fetched
  into `refs/ddl-cascade/remote/<branch>` of the child: after a squash-merged delivery pull request no trailer is
  left, and only the parent can say that the tree was delivered.

Speed: the guard runs on every commit. It first asks git which paths of the folder changed (one `git diff`); most
commits change none and stop there. Only then is history read: one `git log --grep` (about 35 ms for 10,000
commits), whose answer is kept in the git directory keyed by the tip (`History`), so the next run reads only the
commits made since. Only when history does not know the tree is the parent's branch read (already fetched, else
fetched once). The prefix, when neither `--prefix` nor `.ddl-cascade.toml` names it, comes from the same history.

What counts as a change: every path under the prefix, in any letter case (a case-only rename of the folder or of a
file, or `Read-Only/x` that lands in the folder on a case-insensitive file system), with renames split into a
deletion and an addition (so renames into and out of the folder count), mode and type changes (symlinks) included.
A path whose case differs from the prefix is never part of a delivery.

With `--base REV` every commit of `REV..HEAD` is checked against its first parent: a branch whose first commit edits
the folder and whose second reverts it is refused, because the history that would be merged holds a folder no
parent delivered (squash or rewrite the branch). Trailers are trusted: the guard protects against mistakes, not
against someone forging a `git-subtree-split` trailer.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ddl_cascade import git
from ddl_cascade.errors import CascadeError, ConfigError
from ddl_cascade.redact import redact

CHILD_CONFIG = ".ddl-cascade.toml"
DEFAULT_DELIVERY_BRANCH = "ro-shared-ddl"
_KEYS = {"prefix", "parent", "delivery_branch"}


@dataclass
class RefusedChange:
    """Changes to the read-only folder that are not a delivery (`guard --json` refused[])."""

    commit: str | None  # the commit that made them (`--base`), None for the index or the work tree
    tree: str | None  # the folder's tree afterwards; None when the folder is gone
    paths: list[str] = field(default_factory=list)


@dataclass
class GuardReport:
    """What `ddl-cascade guard` checked and refused (`guard --json`)."""

    ok: bool
    mode: str  # "staged", "base" or "worktree"
    prefix: str
    prefix_from: str  # "option", ".ddl-cascade.toml" or "trailer"
    base: str | None  # the commit `--base` named
    checked_commits: int  # commits of base..HEAD (--base), else 0
    changed_paths: int  # paths of the folder changed in all that was checked
    delivered_trees: int  # delivered trees known when a change had to be judged (0 when nothing changed)
    parent: str | None  # the parent's URL, credentials redacted; None when none is known
    parent_fetched: bool  # whether the parent's delivery branch was fetched in this run
    refused: list[RefusedChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


@dataclass
class ChildSettings:
    prefix: str | None = None
    parent: str | None = None
    delivery_branch: str = DEFAULT_DELIVERY_BRANCH


def read_child_config(top: Path) -> ChildSettings:
    """`.ddl-cascade.toml` at the root of the child's work tree (optional; no `cascade.toml` is needed)."""
    path = top / CHILD_CONFIG
    if not path.is_file():
        return ChildSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))}).")
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: '{key}' must be a non-empty string.")
    return ChildSettings(_clean_prefix(data["prefix"], f"{path}: 'prefix'") if "prefix" in data else None,
                         data.get("parent"), data.get("delivery_branch", DEFAULT_DELIVERY_BRANCH))


def _clean_prefix(prefix: str, where: str) -> str:
    clean = prefix.strip().strip("/")
    parts = clean.split("/")
    if not clean or any(p in ("", ".", "..") for p in parts) or ".git" in {p.lower() for p in parts}:
        raise ConfigError(f"{where} must be a folder inside the repository, not '{prefix}'.")
    return clean


class _Delivered:
    """The delivered trees, gathered lazily: history first, then the parent's branch (local ref, then a fetch)."""

    def __init__(self, top: Path, history: History, prefix: str, parent: str | None, branch: str,
                 report: GuardReport) -> None:
        self.top, self.history, self.prefix, self.parent = top, history, prefix, parent
        self.branch, self.report = branch, report
        self.trees: set[str] = set()
        self._stage = 0

    def knows(self, tree: str) -> bool:
        while tree not in self.trees and self._more():
            pass
        self.report.delivered_trees = len(self.trees)
        return tree in self.trees

    def _more(self) -> bool:
        self._stage += 1
        if self._stage == 1:
            self.trees |= self.history.trees(self.prefix)
            return True
        if self.parent is None:
            return False
        ref = git.tracking_ref(self.parent, self.branch)
        if self._stage == 2:
            tip = git.rev_parse(self.top, f"{ref}^{{commit}}")
            if tip:
                self.trees |= set(git.root_trees(self.top, tip))
            return True
        if self._stage == 3:
            try:
                tip = git.fetch_tracking_branch(self.top, self.parent, self.branch)
            except git.GitError as exc:
                self.report.notes.append(f"could not fetch the parent's delivery branch '{self.branch}' from "
                                         f"{redact(self.parent)}: {git.telling_line(str(exc))}")
                return False
            self.report.parent_fetched = True
            if tip is None:
                self.report.notes.append(f"the parent {redact(self.parent)} has no branch '{self.branch}'.")
            else:
                self.trees |= set(git.root_trees(self.top, tip))
            return True
        return False


class History:
    """The delivery marks of HEAD's history (`git.subtree_marks`), kept in `<git dir>/ddl-cascade/guard-history.json`
    keyed by the tip they were read at: the next run reads only the commits made since (`HEAD ^<that tip>`), so a
    hook on every commit never walks the whole history twice. Marks of a tip that is no longer an ancestor stay:
    a tree delivered once was delivered, whichever branch held it."""

    _VERSION = 1

    def __init__(self, repo: Path, tip: str | None, merging: str | None = None) -> None:
        self.repo, self.tip, self.merging = repo, tip, merging
        self._marks: list[git.SubtreeMark] | None = None

    def marks(self) -> list[git.SubtreeMark]:
        if self._marks is None:
            self._marks = self._read() if self.tip else []
            if self.merging:  # a merge being concluded (`git commit` after a conflict): what it brings, uncached
                self._marks += git.subtree_marks(self.repo, self.merging, hide=self.tip)
        return self._marks

    def _read(self) -> list[git.SubtreeMark]:
        assert self.tip is not None
        path = self._path()
        cached_tip, cached = None, []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == self._VERSION:
                cached_tip, cached = data["tip"], [git.SubtreeMark(*row) for row in data["marks"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if cached_tip == self.tip:
            return cached
        try:
            new = git.subtree_marks(self.repo, self.tip, hide=cached_tip)
        except git.GitError:  # the cached tip is gone (gc after a rewrite): read everything again
            new, cached = git.subtree_marks(self.repo, self.tip), []
        seen = {m.commit for m in new}
        marks = new + [m for m in cached if m.commit not in seen]
        rows = [[m.commit, m.tree, m.parents, m.dir, m.split, m.mainline] for m in marks]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}")
            temporary.write_text(json.dumps({"version": self._VERSION, "tip": self.tip, "marks": rows}),
                                 encoding="utf-8")
            temporary.replace(path)
        except OSError:  # a read-only git directory: no cache, same answer
            pass
        return marks

    def _path(self) -> Path:
        return git.common_dir(self.repo) / "ddl-cascade" / "guard-history.json"

    def newest_dir(self) -> str | None:
        """The `git-subtree-dir` of the newest delivery that names one."""
        return next((m.dir for m in self.marks() if m.dir and m.split), None)

    def trees(self, prefix: str) -> set[str]:
        """The delivered trees the marks name for folder `prefix` (see the module docstring)."""
        trees: set[str] = set()
        lookups: list[str] = []
        for mark in self.marks():
            if mark.split:
                if mark.dir is not None and mark.dir != prefix:
                    continue
                if mark.mainline is None and len(mark.parents) <= 1:
                    trees.add(mark.tree)  # a squash commit: its tree is the delivered tree
                lookups.append(mark.split)  # the split itself, when this repository has it (add, rejoin)
            elif len(mark.parents) == 2:
                lookups.append(mark.parents[1])  # `Merge commit '<delivered commit>'`
        if lookups:
            objects = git.Objects(self.repo)
            try:
                trees |= {t for t in objects.trees_of(lookups) if t}
            finally:
                objects.close()
        return trees


def guard(repo: Path, *, staged: bool = False, base: str | None = None, prefix: str | None = None,
          parent: str | None = None, index_file: str | None = None) -> GuardReport:
    """Check the index (`staged`), the commits of `base..HEAD` (`base`), or the work tree against HEAD."""
    if staged and base is not None:
        raise CascadeError("give --staged or --base, not both.")
    top = git.toplevel(repo)
    if top is None:
        raise CascadeError(f"{repo} is not inside a git work tree; run guard in the child repository.")
    settings = read_child_config(top)
    head = git.rev_parse(top, "HEAD^{commit}")
    # Concluding a merge (`git pull` with a conflict, `git merge --no-commit`) runs the pre-commit hook with the
    # incoming deliveries only in MERGE_HEAD's history.
    history = History(top, head, git.rev_parse(top, "MERGE_HEAD^{commit}") if staged and head else None)
    if prefix is not None:
        prefix, prefix_from = _clean_prefix(prefix, "--prefix"), "option"
    elif settings.prefix:
        prefix, prefix_from = settings.prefix, CHILD_CONFIG
    else:
        prefix = history.newest_dir()
        prefix_from = "trailer"
        if not prefix:
            raise CascadeError(f"no read-only folder known: give --prefix, or 'prefix' in {CHILD_CONFIG}, or deliver "
                               f"once (no commit of HEAD carries a git-subtree-dir trailer).")
    parent = parent or settings.parent
    mode = "staged" if staged else "base" if base is not None else "worktree"
    base_commit = None
    if base is not None:
        base_commit = git.rev_parse(top, f"{base}^{{commit}}")
        if base_commit is None:
            raise CascadeError(f"--base '{base}' names no commit in {top}.")
        if head is None:
            raise CascadeError(f"--base needs a HEAD commit, and {top} has none yet.")
    report = GuardReport(True, mode, prefix, prefix_from, base_commit, 0, 0, 0,
                         redact(parent) if parent else None, False)
    delivered = _Delivered(top, history, prefix, parent, settings.delivery_branch, report)

    if base_commit is not None:
        commits = git.commits_with_parents(top, base_commit, head)
        report.checked_commits = len(commits)
        changed = git.folder_paths_by_commit(top, commits, prefix)
        if changed:
            order = [c for c, _ in reversed(commits) if c in changed]  # oldest first
            objects = git.Objects(top)
            try:
                found = objects.paths_in(order, prefix)
            finally:
                objects.close()
            after = dict(zip(order, [a[0] if a and a[1] == "tree" else None for a in found]))
            for commit in order:
                _judge(report, delivered, prefix, commit, after[commit], changed[commit])
    else:
        old = head or git.EMPTY_TREE
        if staged:
            index = index_file or _hook_index()
            _judge_index(report, delivered, top, prefix, old, index)
        else:
            copy = git.common_dir(top) / "ddl-cascade" / f"guard-index.{os.getpid()}"
            copy.parent.mkdir(parents=True, exist_ok=True)
            source = git.index_path(top)
            try:
                if source.is_file():
                    copy.write_bytes(source.read_bytes())
                git.stage_folder(top, prefix, str(copy))
                _judge_index(report, delivered, top, prefix, old, str(copy))
            finally:
                copy.unlink(missing_ok=True)
    report.ok = not report.refused
    if not report.ok and git.shallow_commits(top):
        report.notes.append("this clone is shallow, so deliveries older than its history are unknown here: fetch "
                            "the whole history (actions/checkout: fetch-depth: 0) or name the parent (--parent).")
    return report


def _hook_index() -> str | None:
    """The index a running `git commit` hands its hooks (`git commit -a` and `git commit PATH` stage into a
    temporary index, named by GIT_INDEX_FILE relative to the hook's working directory)."""
    index = os.environ.get("GIT_INDEX_FILE")
    return os.path.abspath(index) if index else None


def _judge_index(report: GuardReport, delivered: _Delivered, top: Path, prefix: str, old: str,
                 index: str | None) -> None:
    paths = git.staged_folder_paths(top, old, prefix, index)
    if paths:
        _judge(report, delivered, prefix, None, git.index_folder_tree(top, prefix, index), paths)


def _judge(report: GuardReport, delivered: _Delivered, prefix: str, commit: str | None, tree: str | None,
           paths: list[str]) -> None:
    report.changed_paths += len(paths)
    other_case = any(not (p == prefix or p.startswith(prefix + "/")) for p in paths)
    if tree is not None and not other_case and delivered.knows(tree):
        return
    report.refused.append(RefusedChange(commit, tree, sorted(paths)))


def summary(report: GuardReport) -> str:
    """The text `guard` prints: nothing to say when all is well, else the refused paths and what to do."""
    if report.ok:
        if report.changed_paths:
            return f"ddl-cascade guard: {report.prefix}/ changed to a delivered tree."
        return ""
    lines = [f"ddl-cascade guard: {report.prefix}/ is read-only: it is delivered from the parent repository, and "
             f"these changes leave it at a tree no delivery made:"]
    for change in report.refused:
        where = f"commit {change.commit[:12]}" if change.commit else \
            "staged" if report.mode == "staged" else "work tree"
        lines += [f"  {where}: {path}" for path in change.paths]
    if report.mode == "base":
        lines.append("Change these files in the parent repository instead, and drop these commits from the branch "
                     "(rebase or squash it).")
    elif report.mode == "staged":
        lines.append(f"Change these files in the parent repository instead; unstage them with "
                     f"'git restore --staged --worktree -- {report.prefix}'.")
    else:
        lines.append(f"Change these files in the parent repository instead; undo them with "
                     f"'git restore --staged --worktree -- {report.prefix}' (and remove new files).")
    return "\n".join(lines)


HOOK_MARKER = "# installed by: ddl-cascade guard install"


@dataclass
class HookInstall:
    path: str
    replaced: bool  # a hook that ddl-cascade did not write was there (only with --force)


def install_hook(repo: Path, *, force: bool = False, python: str | None = None) -> HookInstall:
    """Write the `pre-commit` hook that runs `guard --staged`; refuse to replace a hook ddl-cascade did not write,
    unless `force`. `python`: the interpreter to fall back on when `ddl-cascade` is not on the hook's PATH."""
    import shlex
    import sys

    top = git.toplevel(repo)
    if top is None:
        raise CascadeError(f"{repo} is not inside a git work tree; run 'guard install' in the child repository.")
    path = git.hook_path(top, "pre-commit")
    replaced = False
    if path.exists():
        text = path.read_text(encoding="utf-8", errors="replace")
        if HOOK_MARKER not in text:
            if not force:
                raise CascadeError(f"{path} exists and was not written by ddl-cascade; add "
                                   f"'ddl-cascade guard --staged' to it yourself, or replace it with --force.")
            replaced = True
    interpreter = shlex.quote(python or sys.executable)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f"{HOOK_MARKER}\n"
        "# Refuses commits that change the read-only folder to a tree no delivery made (docs/guard.md).\n"
        "if command -v ddl-cascade >/dev/null 2>&1; then\n"
        "    exec ddl-cascade guard --staged\n"
        "fi\n"
        f"exec {interpreter} -m ddl_cascade guard --staged\n",
        encoding="utf-8")
    path.chmod(0o755)
    return HookInstall(str(path), replaced)
